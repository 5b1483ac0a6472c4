//! Tenant isolation: everything tenant A writes (orders, carrier accounts and their secrets,
//! shipments, tracking events, label documents, idempotency keys) is visible to A and is
//! `NotFound` or absent for tenant B, whichever lookup or list B uses, and B's writes
//! addressed at A's records change nothing.

mod common;

use common::*;
use waybill_core::TrackingStatus;
use waybill_store::{BookingError, StoreError};

#[tokio::test]
async fn one_tenants_records_are_invisible_to_another() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let b = store.create_tenant("bolt").await.must(l).id;

        let order = store.create_order(&a, new_order("shopify", "1001")).await.must(l);
        let account = store.create_carrier_account(&a, new_account("cred-a")).await.must(l);
        let shipment = booked_shipment(l, &store, &a, &account.id, Some(&order.id), "TRK-A-1").await;
        let scans = vec![scan("e1", TrackingStatus::PickedUp, "2031-05-01T08:00:00+03:00")];
        store.apply_scans(&a, &shipment.id, scans, |_, _| vec![]).await.must(l);
        store.put_document(&a, &shipment.id, "pdf", b"%PDF-A".to_vec()).await.must(l);

        // A sees everything it wrote (so the checks on B below are not vacuous).
        assert_eq!(store.order(&a, &order.id).await.must(l).id, order.id, "[{l}] A reads its order");
        assert_eq!(store.carrier_account(&a, &account.id).await.must(l), account, "[{l}] A reads its account");
        assert_eq!(store.account_secrets(&a, &account.id).await.must(l), secrets("cred-a"), "[{l}] A's secrets");
        assert_eq!(store.shipment(&a, &shipment.id).await.must(l).id, shipment.id, "[{l}] A reads its shipment");
        assert_eq!(
            store.shipment_by_tracking_number(&a, "TRK-A-1").await.must(l).id,
            shipment.id,
            "[{l}] A finds its shipment by tracking number"
        );
        assert_eq!(store.tracking_events(&a, &shipment.id).await.must(l).len(), 1, "[{l}] A's events");
        assert_eq!(
            store.document(&a, &shipment.id, "pdf").await.must(l).as_deref(),
            Some(&b"%PDF-A"[..]),
            "[{l}] A's document"
        );
        assert_eq!(store.list_orders(&a, None, 50).await.must(l).items.len(), 1, "[{l}] A lists its order");
        assert_eq!(store.list_shipments(&a, None, 50).await.must(l).items.len(), 1, "[{l}] A lists its shipment");
        assert_eq!(store.list_carrier_accounts(&a, None, 50).await.must(l).items.len(), 1, "[{l}] A's accounts");
        assert_eq!(store.shipments_for_order(&a, &order.id).await.must(l).len(), 1, "[{l}] A's order shipments");

        // B sees none of it.
        assert!(matches!(store.order(&b, &order.id).await, Err(StoreError::NotFound)), "[{l}] B reads A's order");
        assert!(
            matches!(store.carrier_account(&b, &account.id).await, Err(StoreError::NotFound)),
            "[{l}] B reads A's carrier account"
        );
        assert!(
            matches!(store.account_secrets(&b, &account.id).await, Err(StoreError::NotFound)),
            "[{l}] B reads A's account secrets"
        );
        assert!(
            matches!(store.shipment(&b, &shipment.id).await, Err(StoreError::NotFound)),
            "[{l}] B reads A's shipment"
        );
        assert!(
            matches!(store.shipment_by_tracking_number(&b, "TRK-A-1").await, Err(StoreError::NotFound)),
            "[{l}] B finds A's shipment by tracking number"
        );
        assert!(store.tracking_events(&b, &shipment.id).await.must(l).is_empty(), "[{l}] B reads A's events");
        assert_eq!(store.document(&b, &shipment.id, "pdf").await.must(l), None, "[{l}] B reads A's document");
        let orders = store.list_orders(&b, None, 50).await.must(l);
        assert!(orders.items.is_empty() && orders.next_after.is_none(), "[{l}] B lists A's orders");
        let shipments = store.list_shipments(&b, None, 50).await.must(l);
        assert!(shipments.items.is_empty() && shipments.next_after.is_none(), "[{l}] B lists A's shipments");
        let accounts = store.list_carrier_accounts(&b, None, 50).await.must(l);
        assert!(accounts.items.is_empty() && accounts.next_after.is_none(), "[{l}] B lists A's accounts");
        assert!(store.shipments_for_order(&b, &order.id).await.must(l).is_empty(), "[{l}] B's order shipments");

        // B's writes addressed at A's records fail and leave them as they were.
        let before = store.shipment(&a, &shipment.id).await.must(l);
        let scans = vec![scan("e-b", TrackingStatus::Delivered, "2031-05-02T08:00:00+03:00")];
        assert!(
            matches!(store.apply_scans(&b, &shipment.id, scans, |_, _| vec![]).await, Err(StoreError::NotFound)),
            "[{l}] B scans A's shipment"
        );
        assert!(
            matches!(store.record_booking(&b, &shipment.id, booked("TRK-B"), vec![]).await, Err(StoreError::NotFound)),
            "[{l}] B books A's shipment"
        );
        let error = BookingError { code: "X".into(), message: "no".into() };
        assert!(
            matches!(store.record_booking_failure(&b, &shipment.id, error).await, Err(StoreError::NotFound)),
            "[{l}] B fails A's booking"
        );
        assert!(
            matches!(store.put_document(&b, &shipment.id, "pdf", b"evil".to_vec()).await, Err(StoreError::NotFound)),
            "[{l}] B overwrites A's document"
        );
        assert!(!store.close_order(&b, &order.id).await.must(l), "[{l}] B closes A's order");
        assert_eq!(store.shipment(&a, &shipment.id).await.must(l), before, "[{l}] A's shipment unchanged");
        assert_eq!(store.tracking_events(&a, &shipment.id).await.must(l).len(), 1, "[{l}] A's events unchanged");
        assert_eq!(
            store.document(&a, &shipment.id, "pdf").await.must(l).as_deref(),
            Some(&b"%PDF-A"[..]),
            "[{l}] A's document unchanged"
        );

        // The same external order id and tracking number are B's own business.
        let b_order = store.create_order(&b, new_order("shopify", "1001")).await.must(l);
        assert_ne!(b_order.id, order.id, "[{l}] B's order is its own");
        let b_account = store.create_carrier_account(&b, new_account("cred-b")).await.must(l);
        let b_shipment = booked_shipment(l, &store, &b, &b_account.id, Some(&b_order.id), "TRK-B-1").await;
        assert_eq!(
            store.list_orders(&a, None, 50).await.must(l).items.iter().map(|o| &o.id).collect::<Vec<_>>(),
            vec![&order.id],
            "[{l}] A still lists only its order"
        );
        assert!(
            matches!(store.shipment(&a, &b_shipment.id).await, Err(StoreError::NotFound)),
            "[{l}] A reads B's shipment"
        );
    }
}

/// `put_document` checks the tenant only when reading back: tenant B can write a document
/// under tenant A's shipment id before A does, and A can then never store that label (its
/// insert is dropped as a duplicate and its read-back is `NotFound`).
#[tokio::test]
async fn another_tenant_cannot_claim_a_document_slot() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let b = store.create_tenant("bolt").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred-a")).await.must(l);
        let shipment = booked_shipment(l, &store, &a, &account.id, None, "TRK-A-1").await;

        let by_b = store.put_document(&b, &shipment.id, "pdf", b"evil".to_vec()).await;
        let by_a = store.put_document(&a, &shipment.id, "pdf", b"%PDF-A".to_vec()).await;
        let a_reads = store.document(&a, &shipment.id, "pdf").await.must(l);
        assert!(
            matches!(by_b, Err(StoreError::NotFound))
                && matches!(&by_a, Ok(bytes) if bytes == b"%PDF-A")
                && a_reads.as_deref() == Some(&b"%PDF-A"[..]),
            "[{l}] B's put under A's shipment gave {by_b:?} (want NotFound); A's own put then gave {by_a:?} \
             (want Ok(b\"%PDF-A\")); A reads {a_reads:?}"
        );
    }
}
