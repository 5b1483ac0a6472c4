//! Isolation by scope: everything written in one scope (tenant A in test mode) — orders,
//! carrier accounts and their secrets, shipments, tracking events, label documents, pickups,
//! events, idempotency keys, a generic account's number counter — is visible in that scope and
//! `NotFound` or absent in every other: another tenant's, and A's own live mode alike,
//! whichever lookup or list is used; writes from another scope change nothing of A's.

mod common;

use common::*;
use waybill_core::account::CarrierAccount;
use waybill_core::pickup::{PickupError, PickupOutcome, PickupStatus};
use waybill_core::{OrderStatus, Scope, Shipment, TrackingStatus};
use waybill_store::{IdemBegin, ShipmentFilter, StoreError};

/// The scopes that must not see A-test's objects, named for the messages.
fn others(a: &Scope, b: &waybill_core::ids::TenantId) -> Vec<(&'static str, Scope)> {
    vec![
        ("A's live mode", Scope::live(a.tenant.clone())),
        ("tenant B (test)", Scope::test(b.clone())),
        ("tenant B (live)", Scope::live(b.clone())),
    ]
}

#[tokio::test]
async fn one_scopes_records_are_invisible_to_every_other_scope() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = tenant(l, &store, "bolt").await;

        let order = create_order(l, &store, &a, "shopify", "1001").await;
        let account = create_account(l, &store, &a, "cred-a").await;
        let mut generic = new_account(&a, "cred-g");
        generic.account.carrier = "generic".to_owned();
        generic.next_number = Some(1000);
        let generic = insert_account(l, &store, &generic).await;
        let shipment = booked_shipment(l, &store, &account, Some(&order.id), "TRK-A-1").await;
        let pickup = pickup(&account, std::slice::from_ref(&shipment.id));
        insert_pickup(l, &store, &pickup).await;
        let event = order_created(&order);
        insert_event(l, &store, &event).await;
        let mut tx = store.begin().await.must(l);
        let scan = scan("e1", TrackingStatus::PickedUp, "2031-05-01T08:00:00+03:00");
        tx.insert_scan(&shipment, &scan, 1).await.must(l).expect("scan recorded");
        assert!(tx.insert_document(&shipment, "pdf", b"%PDF-A").await.must(l), "[{l}] A's label");
        tx.commit().await.must(l);
        let started = store.idempotency_begin(&a, "key-1", "create_shipment", b"{}", "shp_a", "n1").await.must(l);
        assert!(matches!(started, IdemBegin::Started), "[{l}] A's key starts");
        let all = ShipmentFilter::default();
        let booked = ShipmentFilter { booking_state: Some(waybill_core::BookingState::Booked) };

        // A sees everything it wrote (so the checks on the other scopes are not vacuous).
        assert_eq!(store.order(&a, &order.id).await.must(l), order, "[{l}] A reads its order");
        assert_eq!(store.list_orders(&a, None, 50).await.must(l).items, vec![order.clone()], "[{l}] A lists it");
        assert_eq!(store.carrier_account(&a, &account.id).await.must(l), account, "[{l}] A reads its account");
        assert_eq!(store.account_secrets(&a, &account.id).await.must(l), secrets("cred-a"), "[{l}] A's secrets");
        assert_eq!(store.list_carrier_accounts(&a, None, 50).await.must(l).items.len(), 2, "[{l}] A's accounts");
        assert_eq!(store.shipment(&a, &shipment.id).await.must(l), shipment, "[{l}] A reads its shipment");
        assert_eq!(store.shipments_by_tracking_number(&a, "TRK-A-1").await.must(l).len(), 1, "[{l}] by number");
        assert!(store.shipment_for_account(&a, &account.id, "TRK-A-1").await.must(l).is_some(), "[{l}] by account");
        assert_eq!(store.list_shipments(&a, all, None, 50).await.must(l).items.len(), 1, "[{l}] A lists it");
        assert_eq!(store.list_shipments(&a, booked, None, 50).await.must(l).items.len(), 1, "[{l}] as booked");
        assert_eq!(store.shipments_for_order(&a, &order.id).await.must(l).len(), 1, "[{l}] A's order shipments");
        assert_eq!(store.tracking_events(&a, &shipment.id).await.must(l).len(), 1, "[{l}] A's events");
        assert_eq!(
            store.document(&a, &shipment.id, "pdf").await.must(l).as_deref(),
            Some(&b"%PDF-A"[..]),
            "[{l}] A's document"
        );
        assert_eq!(store.pickup(&a, &pickup.id).await.must(l), pickup, "[{l}] A reads its pickup");
        assert_eq!(store.list_pickups(&a, None, 50).await.must(l).items.len(), 1, "[{l}] A lists it");
        assert_eq!(store.event(&a, &event.id).await.must(l).event, event.event, "[{l}] A reads its event");
        assert_eq!(store.events_about(&a, order.id.as_str()).await.must(l).len(), 1, "[{l}] A's order events");
        assert_eq!(store.idempotency_get(&a, "key-1").await.must(l).resource_id.as_deref(), Some("shp_a"), "[{l}]");

        for (who, other) in others(&a, &b) {
            let m = format!("[{l}] {who}");
            assert!(matches!(store.order(&other, &order.id).await, Err(StoreError::NotFound)), "{m} reads A's order");
            let orders = store.list_orders(&other, None, 50).await.must(l);
            assert!(orders.items.is_empty() && orders.next_after.is_none(), "{m} lists A's orders");
            assert!(
                matches!(store.carrier_account(&other, &account.id).await, Err(StoreError::NotFound)),
                "{m} reads A's carrier account"
            );
            assert!(
                matches!(store.account_secrets(&other, &account.id).await, Err(StoreError::NotFound)),
                "{m} reads A's account secrets"
            );
            let accounts = store.list_carrier_accounts(&other, None, 50).await.must(l);
            assert!(accounts.items.is_empty() && accounts.next_after.is_none(), "{m} lists A's accounts");
            assert!(
                matches!(store.shipment(&other, &shipment.id).await, Err(StoreError::NotFound)),
                "{m} reads A's shipment"
            );
            assert!(
                store.shipments_by_tracking_number(&other, "TRK-A-1").await.must(l).is_empty(),
                "{m} finds A's shipment by tracking number"
            );
            assert_eq!(
                store.shipment_for_account(&other, &account.id, "TRK-A-1").await.must(l),
                None,
                "{m} finds A's shipment by account"
            );
            for filter in [all, booked] {
                let shipments = store.list_shipments(&other, filter, None, 50).await.must(l);
                assert!(shipments.items.is_empty() && shipments.next_after.is_none(), "{m} lists A's shipments");
            }
            assert!(store.shipments_for_order(&other, &order.id).await.must(l).is_empty(), "{m} A's order shipments");
            assert!(store.tracking_events(&other, &shipment.id).await.must(l).is_empty(), "{m} reads A's scans");
            assert_eq!(store.document(&other, &shipment.id, "pdf").await.must(l), None, "{m} reads A's document");
            assert!(matches!(store.pickup(&other, &pickup.id).await, Err(StoreError::NotFound)), "{m} A's pickup");
            let pickups = store.list_pickups(&other, None, 50).await.must(l);
            assert!(pickups.items.is_empty() && pickups.next_after.is_none(), "{m} lists A's pickups");
            assert!(matches!(store.event(&other, &event.id).await, Err(StoreError::NotFound)), "{m} A's event");
            assert!(store.events_about(&other, order.id.as_str()).await.must(l).is_empty(), "{m} A's order events");
            assert!(
                matches!(store.idempotency_get(&other, "key-1").await, Err(StoreError::NotFound)),
                "{m} reads A's idempotency key"
            );
            assert_eq!(
                store.take_tracking_number(&other, &generic.id, 2000).await.must(l),
                None,
                "{m} takes a number of A's generic account"
            );

            // Transactions of another scope cannot lock A's records either.
            let mut tx = store.begin().await.must(l);
            assert!(matches!(tx.lock_order(&other, &order.id).await, Err(StoreError::NotFound)), "{m} locks the order");
            assert!(
                matches!(tx.lock_shipment(&other, &shipment.id).await, Err(StoreError::NotFound)),
                "{m} locks the shipment"
            );
            let outcome = PickupOutcome::Failed(PickupError { code: "X".into(), message: "no".into() });
            assert_eq!(tx.settle_pickup(&other, &pickup.id, outcome).await.must(l), None, "{m} settles the pickup");
            tx.commit().await.must(l);
        }
        assert_eq!(store.pickup(&a, &pickup.id).await.must(l).status, PickupStatus::Requested, "[{l}] unsettled");
        assert_eq!(store.take_tracking_number(&a, &generic.id, 2000).await.must(l), Some(1000), "[{l}] counter kept");
    }
}

/// The same key string in A-test, A-live and B is three different keys: each starts once,
/// and finishing or releasing one leaves the others as they were.
#[tokio::test]
async fn an_idempotency_key_belongs_to_one_scope() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = tenant(l, &store, "bolt").await;
        let begin = |scope: Scope, resource: &'static str| {
            let store = store.clone();
            async move { store.idempotency_begin(&scope, "same-key", "create_shipment", b"{}", resource, "n1").await }
        };
        assert!(matches!(begin(a.clone(), "shp_a").await.must(l), IdemBegin::Started), "[{l}] A-test starts");
        for (who, other) in others(&a, &b) {
            assert!(
                matches!(begin(other.clone(), "shp_other").await.must(l), IdemBegin::Started),
                "[{l}] {who}'s same key is its own and starts"
            );
            store.idempotency_finish(&other, "same-key", 201, "other's answer").await.must(l);
        }
        let mine = store.idempotency_get(&a, "same-key").await.must(l);
        assert_eq!(
            (mine.state.as_str(), mine.resource_id.as_deref(), mine.response_body),
            ("in_progress", Some("shp_a"), None),
            "[{l}] the other scopes' answers are not A-test's"
        );
        match begin(a.clone(), "shp_again").await.must(l) {
            IdemBegin::Seen(record) => assert_eq!(record.resource_id.as_deref(), Some("shp_a"), "[{l}] A's own"),
            IdemBegin::Started => panic!("[{l}] A-test's key started twice"),
        }

        store.idempotency_finish(&a, "same-key", 200, "A's answer").await.must(l);
        let live = Scope::live(a.tenant.clone());
        store.idempotency_release(&live, "same-key").await.must(l);
        let mine = store.idempotency_get(&a, "same-key").await.must(l);
        assert_eq!(mine.response_body.as_deref(), Some("A's answer"), "[{l}] A-test's answer is its own");
        assert!(
            matches!(store.idempotency_get(&live, "same-key").await, Err(StoreError::NotFound)),
            "[{l}] only A-live's key was released"
        );
        let b_test = store.idempotency_get(&Scope::test(b.clone()), "same-key").await.must(l);
        assert_eq!(b_test.response_body.as_deref(), Some("other's answer"), "[{l}] B's key untouched");
    }
}

/// Writes that carry a record of the wrong scope (a forged or stale record: A's ids with
/// another scope's tenant or mode) change nothing of A's.
#[tokio::test]
async fn writes_through_a_record_of_another_scope_change_nothing() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = tenant(l, &store, "bolt").await;
        let order = create_order(l, &store, &a, "shopify", "1001").await;
        let account = create_account(l, &store, &a, "cred-a").await;
        let shipment = booked_shipment(l, &store, &account, Some(&order.id), "TRK-A-1").await;

        for (who, other) in others(&a, &b) {
            let m = format!("[{l}] {who}");
            let mut tx = store.begin().await.must(l);
            let moved = waybill_core::Order {
                tenant_id: other.tenant.clone(),
                mode: other.mode,
                status: OrderStatus::Cancelled,
                ..order.clone()
            };
            tx.update_order_status(&moved).await.must(l);
            let forged = Shipment {
                tenant_id: other.tenant.clone(),
                mode: other.mode,
                status: TrackingStatus::Delivered,
                ..shipment.clone()
            };
            tx.update_shipment(&forged).await.must(l);
            tx.commit().await.must(l);
            assert_eq!(store.order(&a, &order.id).await.must(l), order, "{m} moves A's order");
            assert_eq!(store.shipment(&a, &shipment.id).await.must(l), shipment, "{m} moves A's shipment");
        }
    }
}

/// Label slots: a document can only be stored under a shipment of the scope it is stored
/// for, so no other tenant or mode can take a shipment's slot before it (and then have the
/// owner's own label dropped as a duplicate, or served in its place).
///
/// The store used to check this (`put_document` inserted only `FROM shipments WHERE id = … AND
/// tenant_id = …`); `Tx::insert_document` now trusts the `Shipment` it is handed and writes
/// its tenant next to any shipment id.
#[tokio::test]
async fn another_scope_cannot_take_a_document_slot() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = tenant(l, &store, "bolt").await;
        let account = create_account(l, &store, &a, "cred-a").await;
        let shipment = booked_shipment(l, &store, &account, None, "TRK-A-1").await;

        let mut taken = Vec::new();
        for (i, (who, other)) in others(&a, &b).into_iter().enumerate() {
            // Each scope tries a slot (format) of its own, which A then stores its label in.
            let format = format!("pdf-{i}");
            let forged = Shipment { tenant_id: other.tenant.clone(), mode: other.mode, ..shipment.clone() };
            let mut tx = store.begin().await.must(l);
            let stored = tx.insert_document(&forged, &format, b"evil").await;
            tx.commit().await.must(l);
            let mut tx = store.begin().await.must(l);
            let own = tx.insert_document(&shipment, &format, b"%PDF-A").await.must(l);
            tx.commit().await.must(l);
            let reads = store.document(&a, &shipment.id, &format).await.must(l);
            let theirs = store.document(&other, &shipment.id, &format).await.must(l);
            let show = |bytes: &Option<Vec<u8>>| bytes.as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
            if !(matches!(stored, Ok(false) | Err(_)) && own && reads.as_deref() == Some(&b"%PDF-A"[..])) {
                taken.push(format!(
                    "{who}'s insert under A's shipment gave {stored:?} (want Ok(false) or an error); A's own insert \
                     then stored: {own} (want true); A reads {:?}; {who} reads {:?}",
                    show(&reads),
                    show(&theirs)
                ));
            }
        }
        assert!(taken.is_empty(), "[{l}] other scopes took A's document slots:\n{}", taken.join("\n"));
    }
}

/// A carrier account's scope is its own: reading it back in its scope gives the same record,
/// and the account of another mode (same tenant, same carrier) is a different account.
#[tokio::test]
async fn accounts_of_both_modes_of_one_tenant_stay_apart() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let tenant = tenant(l, &store, "acme").await;
        let (test, live) = (Scope::test(tenant.clone()), Scope::live(tenant));
        let t: CarrierAccount = create_account(l, &store, &test, "cred-test").await;
        let v: CarrierAccount = create_account(l, &store, &live, "cred-live").await;
        assert_eq!(store.list_carrier_accounts(&test, None, 10).await.must(l).items, vec![t.clone()], "[{l}] test");
        assert_eq!(store.list_carrier_accounts(&live, None, 10).await.must(l).items, vec![v.clone()], "[{l}] live");
        assert_eq!(store.account_secrets(&test, &t.id).await.must(l), secrets("cred-test"), "[{l}] test secrets");
        assert_eq!(store.account_secrets(&live, &v.id).await.must(l), secrets("cred-live"), "[{l}] live secrets");
        assert!(matches!(store.account_secrets(&live, &t.id).await, Err(StoreError::NotFound)), "[{l}] crossed");
        assert!(matches!(store.account_secrets(&test, &v.id).await, Err(StoreError::NotFound)), "[{l}] crossed");
    }
}

/// Scans: a scan can only be recorded on a shipment of the scope it is recorded for. A scan
/// recorded through a record of another scope must neither show in A's history (A's live mode
/// writing into A's test shipment) nor take A's dedupe key (so A's own scan is then dropped as
/// a repeat). Same cause as the document slots: `Tx::insert_scan` trusts its `Shipment`.
#[tokio::test]
async fn another_scope_cannot_record_scans_on_a_shipment() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = tenant(l, &store, "bolt").await;
        let account = create_account(l, &store, &a, "cred-a").await;
        let shipment = booked_shipment(l, &store, &account, None, "TRK-A-1").await;

        let mut wrong = Vec::new();
        for (i, (who, other)) in others(&a, &b).into_iter().enumerate() {
            let key = format!("k{i}");
            let forged = Shipment { tenant_id: other.tenant.clone(), mode: other.mode, ..shipment.clone() };
            let mut tx = store.begin().await.must(l);
            let recorded =
                tx.insert_scan(&forged, &scan(&key, TrackingStatus::Delivered, "2031-05-02T08:00:00Z"), 1).await;
            tx.commit().await.must(l);
            let history = store.tracking_events(&a, &shipment.id).await.must(l);
            let leaked = history.iter().any(|e| e.code == key);
            let mut tx = store.begin().await.must(l);
            let own =
                tx.insert_scan(&shipment, &scan(&key, TrackingStatus::InTransit, "2031-05-01T08:00:00Z"), 2).await;
            tx.commit().await.must(l);
            let own = own.must(l).is_some();
            if !matches!(recorded, Ok(None) | Err(_)) || leaked || !own {
                wrong.push(format!(
                    "{who}'s scan on A's shipment gave {:?} (want Ok(None) or an error); it shows in A's history: \
                     {leaked}; A's own scan with key {key} then recorded: {own} (want true)",
                    recorded.map(|e| e.map(|e| e.code))
                ));
            }
        }
        assert!(wrong.is_empty(), "[{l}] other scopes wrote scans on A's shipment:\n{}", wrong.join("\n"));
    }
}
