//! Orders: they read back as written, a repeated (channel, external id) within a scope is a
//! conflict naming the first order that writes nothing (but not across tenants, modes or
//! channels), a locked order's status is written back, and lists page by id with a cursor that
//! visits every record exactly once.

mod common;

use std::collections::HashSet;

use common::*;
use waybill_core::{OrderStatus, Scope};
use waybill_store::{ShipmentFilter, StoreError};

#[tokio::test]
async fn duplicate_external_ids_conflict_within_a_scope_only() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = Scope::test(tenant(l, &store, "bolt").await);
        let a_live = Scope::live(a.tenant.clone());

        let first = create_order(l, &store, &a, "shopify", "1001").await;
        assert_eq!(store.order(&a, &first.id).await.must(l), first, "[{l}] the order reads back as written");

        // The duplicate is refused inside the transaction, and the rest of that transaction
        // can still be committed: the refused insert wrote nothing.
        let dup = order(&a, "shopify", "1001");
        let mut tx = store.begin().await.must(l);
        match tx.insert_order(&dup).await {
            Err(StoreError::Conflict(existing)) => {
                assert_eq!(existing, first.id.to_string(), "[{l}] the conflict names the first order")
            }
            other => panic!("[{l}] duplicate order: expected a conflict, got {other:?}"),
        }
        let other_channel = order(&a, "woocommerce", "1001");
        tx.insert_order(&other_channel).await.must(l);
        tx.commit().await.must(l);
        assert!(
            matches!(store.order(&a, &dup.id).await, Err(StoreError::NotFound)),
            "[{l}] the refused duplicate was not written"
        );
        assert_eq!(
            store.list_orders(&a, None, 10).await.must(l).items.iter().map(|o| &o.id).collect::<Vec<_>>(),
            vec![&first.id, &other_channel.id],
            "[{l}] the first order and another channel's 1001, nothing else"
        );

        let other_tenant = create_order(l, &store, &b, "shopify", "1001").await;
        assert_eq!(store.order(&b, &other_tenant.id).await.must(l), other_tenant, "[{l}] B's order reads back");
        let other_mode = create_order(l, &store, &a_live, "shopify", "1001").await;
        assert_eq!(store.order(&a_live, &other_mode.id).await.must(l), other_mode, "[{l}] A's live 1001 is its own");
        assert_eq!(store.order(&a, &first.id).await.must(l), first, "[{l}] A's test order untouched");
    }
}

#[tokio::test]
async fn a_locked_orders_status_is_written_back() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::live(tenant(l, &store, "acme").await);
        let created = create_order(l, &store, &a, "shopify", "1001").await;

        let mut tx = store.begin().await.must(l);
        let mut locked = tx.lock_order(&a, &created.id).await.must(l);
        assert_eq!(locked, created, "[{l}] the locked order is the stored one");
        locked.status = OrderStatus::Shipped;
        locked.updated_at = created.updated_at + 5;
        tx.update_order_status(&locked).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(store.order(&a, &created.id).await.must(l), locked, "[{l}] status and time written");

        // A transaction dropped without commit leaves the order as it was.
        let mut tx = store.begin().await.must(l);
        let mut moved = tx.lock_order(&a, &created.id).await.must(l);
        moved.status = OrderStatus::Cancelled;
        tx.update_order_status(&moved).await.must(l);
        drop(tx);
        assert_eq!(store.order(&a, &created.id).await.must(l), locked, "[{l}] the dropped change is gone");

        let mut tx = store.begin().await.must(l);
        let missing = tx.lock_order(&a, &waybill_core::ids::OrderId::generate()).await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "[{l}] locking an unknown order: {missing:?}");
    }
}

#[tokio::test]
async fn what_a_channel_changes_on_an_order_is_written_back() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let created = create_order(l, &store, &a, "amazon", "171-0000001-0000001").await;

        let mut tx = store.begin().await.must(l);
        let mut changed = tx.lock_channel_order(&a, "amazon", "171-0000001-0000001").await.must(l).expect("the order");
        changed.status = OrderStatus::Cancelled;
        changed.locale = Some("tr-TR".into());
        changed.number = Some("#1001".into());
        changed.channel_updated_at = Some(created.updated_at + 7);
        changed.updated_at = created.updated_at + 9;
        changed.assigned_shipping = Some(waybill_core::channel::AssignedShipping {
            carrier_code: Some("TEXMP".into()),
            carrier_name: "Trendyol Express".into(),
            tracking_number: "7330012345678901234567".into(),
            tracking_url: None,
        });
        tx.update_channel_order(&changed).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(store.order(&a, &created.id).await.must(l), changed, "[{l}] every field the channel changes");
    }
}

#[tokio::test]
async fn list_orders_pages_through_every_order_once_in_id_order() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = Scope::test(tenant(l, &store, "bolt").await);
        let a_live = Scope::live(a.tenant.clone());
        let mut created = Vec::new();
        for i in 0..25 {
            created.push(create_order(l, &store, &a, "shopify", &format!("#{i}")).await.id);
            if i % 5 == 0 {
                // Interleaved orders of another tenant, and of A's other mode, must not show up
                // or disturb the cursor.
                create_order(l, &store, &b, "shopify", &format!("#{i}")).await;
                create_order(l, &store, &a_live, "shopify", &format!("#{i}")).await;
            }
        }
        let mut expected = created.clone();
        expected.sort();

        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut after: Option<waybill_core::ids::OrderId> = None;
        loop {
            let page = store.list_orders(&a, after.as_ref(), 10).await.must(l);
            sizes.push(page.items.len());
            assert!(page.items.iter().all(|o| o.scope() == a), "[{l}] only A's test orders");
            seen.extend(page.items.iter().map(|o| o.id.clone()));
            match page.next_after {
                Some(next) => {
                    assert_eq!(
                        Some(next.as_str()),
                        page.items.last().map(|o| o.id.as_str()),
                        "[{l}] the cursor is the last id of the page"
                    );
                    after = Some(waybill_core::ids::OrderId::parse(&next).expect("the cursor is an order id"));
                }
                None => break,
            }
            assert!(sizes.len() < 10, "[{l}] paging does not end: {sizes:?}");
        }
        assert_eq!(sizes, vec![10, 10, 5], "[{l}] page sizes");
        assert_eq!(seen, expected, "[{l}] every order once, in id order");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25, "[{l}] no order twice");

        // A page that ends exactly at the last order says there is nothing more.
        let exact = store.list_orders(&a, Some(&expected[14]), 10).await.must(l);
        assert_eq!(exact.items.len(), 10, "[{l}] last full page");
        assert_eq!(exact.next_after, None, "[{l}] no cursor after the last order");
        let past = store.list_orders(&a, Some(&expected[24]), 10).await.must(l);
        assert!(past.items.is_empty() && past.next_after.is_none(), "[{l}] nothing after the last order");
        assert_eq!(store.list_orders(&a_live, None, 50).await.must(l).items.len(), 5, "[{l}] A's live orders");
    }
}

#[tokio::test]
async fn carrier_accounts_shipments_and_pickups_page_the_same_way() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let mut accounts = Vec::new();
        for i in 0..3 {
            accounts.push(create_account(l, &store, &a, &format!("c{i}")).await);
        }
        let mut shipments = Vec::new();
        for i in 0..3 {
            shipments.push(booked_shipment(l, &store, &accounts[0], None, &format!("T{i}")).await.id);
        }
        let pending = pending_shipment(&accounts[0], None);
        insert_pending(l, &store, &pending, NODE).await;
        let mut pickups = Vec::new();
        for _ in 0..3 {
            let p = pickup(&accounts[1], &shipments[..1]);
            insert_pickup(l, &store, &p).await;
            pickups.push(p.id);
        }
        let ids = |v: &[waybill_core::account::CarrierAccount]| v.iter().map(|x| x.id.clone()).collect::<Vec<_>>();

        let first = store.list_carrier_accounts(&a, None, 2).await.must(l);
        assert_eq!(ids(&first.items), ids(&accounts[..2]), "[{l}] first page of accounts");
        let after = first.next_after.as_deref().and_then(waybill_core::ids::CarrierAccountId::parse);
        let rest = store.list_carrier_accounts(&a, after.as_ref(), 2).await.must(l);
        assert_eq!(ids(&rest.items), ids(&accounts[2..]), "[{l}] accounts");
        assert_eq!(rest.next_after, None, "[{l}] accounts end");

        let all = ShipmentFilter::default();
        let first = store.list_shipments(&a, all, None, 2).await.must(l);
        assert_eq!(first.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&shipments[0], &shipments[1]], "[{l}]");
        let after = first.next_after.as_deref().and_then(waybill_core::ids::ShipmentId::parse);
        let rest = store.list_shipments(&a, all, after.as_ref(), 2).await.must(l);
        assert_eq!(rest.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&shipments[2], &pending.id], "[{l}]");
        assert_eq!(rest.next_after, None, "[{l}] shipments end");

        // The booking-state filter pages over its own rows only.
        let booked = ShipmentFilter { booking_state: Some(waybill_core::BookingState::Booked) };
        let first = store.list_shipments(&a, booked, None, 2).await.must(l);
        assert_eq!(first.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&shipments[0], &shipments[1]], "[{l}]");
        let after = first.next_after.as_deref().and_then(waybill_core::ids::ShipmentId::parse);
        let rest = store.list_shipments(&a, booked, after.as_ref(), 2).await.must(l);
        assert_eq!(rest.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&shipments[2]], "[{l}] booked only");
        assert_eq!(rest.next_after, None, "[{l}] booked shipments end");
        let pending_only = ShipmentFilter { booking_state: Some(waybill_core::BookingState::Pending) };
        let page = store.list_shipments(&a, pending_only, None, 10).await.must(l);
        assert_eq!(page.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&pending.id], "[{l}] pending only");

        let first = store.list_pickups(&a, None, 2).await.must(l);
        assert_eq!(first.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&pickups[0], &pickups[1]], "[{l}]");
        let after = first.next_after.as_deref().and_then(waybill_core::ids::PickupId::parse);
        let rest = store.list_pickups(&a, after.as_ref(), 2).await.must(l);
        assert_eq!(rest.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&pickups[2]], "[{l}] pickups");
        assert_eq!(rest.next_after, None, "[{l}] pickups end");
    }
}
