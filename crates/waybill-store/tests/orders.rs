//! Orders: they read back as written, a repeated (channel, external id) within a tenant is a
//! conflict naming the first order (but not across tenants or channels), and lists page by
//! id with a cursor that visits every record exactly once.

mod common;

use std::collections::HashSet;

use common::*;
use waybill_core::OrderStatus;
use waybill_store::StoreError;

#[tokio::test]
async fn duplicate_external_ids_conflict_within_a_tenant_only() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let b = store.create_tenant("bolt").await.must(l).id;

        let first = store.create_order(&a, new_order("shopify", "1001")).await.must(l);
        assert_eq!(first.status, OrderStatus::Open, "[{l}] a new order is open");
        assert_eq!(first.tenant_id, a, "[{l}] tenant");
        assert_eq!(store.order(&a, &first.id).await.must(l), first, "[{l}] the order reads back as written");

        match store.create_order(&a, new_order("shopify", "1001")).await {
            Err(StoreError::Conflict(existing)) => {
                assert_eq!(existing, first.id.to_string(), "[{l}] the conflict names the first order")
            }
            other => panic!("[{l}] duplicate order: expected a conflict, got {other:?}"),
        }
        assert_eq!(store.list_orders(&a, None, 10).await.must(l).items.len(), 1, "[{l}] no second order was written");

        let other_channel = store.create_order(&a, new_order("woocommerce", "1001")).await.must(l);
        assert_ne!(other_channel.id, first.id, "[{l}] another channel's 1001 is another order");
        let other_tenant = store.create_order(&b, new_order("shopify", "1001")).await.must(l);
        assert_ne!(other_tenant.id, first.id, "[{l}] another tenant's shopify 1001 is another order");
        assert_eq!(store.order(&b, &other_tenant.id).await.must(l), other_tenant, "[{l}] B's order reads back");
    }
}

#[tokio::test]
async fn list_orders_pages_through_every_order_once_in_id_order() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let b = store.create_tenant("bolt").await.must(l).id;
        let mut created = Vec::new();
        for i in 0..25 {
            created.push(store.create_order(&a, new_order("shopify", &format!("#{i}"))).await.must(l).id);
            if i % 5 == 0 {
                // Interleaved orders of another tenant must not show up or disturb the cursor.
                store.create_order(&b, new_order("shopify", &format!("#{i}"))).await.must(l);
            }
        }
        let mut expected = created.clone();
        expected.sort();

        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list_orders(&a, after.as_deref(), 10).await.must(l);
            sizes.push(page.items.len());
            assert!(page.items.iter().all(|o| o.tenant_id == a), "[{l}] only A's orders");
            seen.extend(page.items.iter().map(|o| o.id.clone()));
            match page.next_after {
                Some(next) => {
                    assert_eq!(
                        Some(next.as_str()),
                        page.items.last().map(|o| o.id.as_str()),
                        "[{l}] the cursor is the last id of the page"
                    );
                    after = Some(next);
                }
                None => break,
            }
            assert!(sizes.len() < 10, "[{l}] paging does not end: {sizes:?}");
        }
        assert_eq!(sizes, vec![10, 10, 5], "[{l}] page sizes");
        assert_eq!(seen, expected, "[{l}] every order once, in id order");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25, "[{l}] no order twice");

        // A page that ends exactly at the last order says there is nothing more.
        let exact = store.list_orders(&a, Some(expected[14].as_str()), 10).await.must(l);
        assert_eq!(exact.items.len(), 10, "[{l}] last full page");
        assert_eq!(exact.next_after, None, "[{l}] no cursor after the last order");
        let past = store.list_orders(&a, Some(expected[24].as_str()), 10).await.must(l);
        assert!(past.items.is_empty() && past.next_after.is_none(), "[{l}] nothing after the last order");
    }
}

#[tokio::test]
async fn carrier_accounts_and_shipments_page_the_same_way() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let mut accounts = Vec::new();
        for i in 0..3 {
            accounts.push(store.create_carrier_account(&a, new_account(&format!("c{i}"))).await.must(l).id);
        }
        let mut shipments = Vec::new();
        for i in 0..3 {
            shipments.push(booked_shipment(l, &store, &a, &accounts[0], None, &format!("T{i}")).await.id);
        }

        let first = store.list_carrier_accounts(&a, None, 2).await.must(l);
        assert_eq!(first.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&accounts[0], &accounts[1]], "[{l}]");
        let rest = store.list_carrier_accounts(&a, first.next_after.as_deref(), 2).await.must(l);
        assert_eq!(rest.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&accounts[2]], "[{l}] accounts");
        assert_eq!(rest.next_after, None, "[{l}] accounts end");

        let first = store.list_shipments(&a, None, 2).await.must(l);
        assert_eq!(first.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&shipments[0], &shipments[1]], "[{l}]");
        let rest = store.list_shipments(&a, first.next_after.as_deref(), 2).await.must(l);
        assert_eq!(rest.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&shipments[2]], "[{l}] shipments");
        assert_eq!(rest.next_after, None, "[{l}] shipments end");
    }
}
