//! Booking through the engine: every outcome recorded with its events and jobs in one unit of
//! work, and no outcome (a refusal, a lost answer, a database failure at any write of the
//! path) ever makes the carrier book twice.

use std::time::Duration;

use waybill_core::ids::ShipmentId;
use waybill_core::{BookingState, OrderStatus};
use waybill_engine::EngineError;

use crate::common::{Answer, harnesses};

#[tokio::test]
async fn a_booking_moves_its_order_and_emits_its_events_with_its_jobs() {
    for h in harnesses().await {
        let b = h.backend;
        let order = h.engine.create_order(&h.scope, h.order("1001")).await.unwrap();
        let input = h.engine.check_booking(&h.scope, h.booking(Some(order.id.as_str()), None)).await.unwrap();
        assert_eq!(input.cod.map(|c| c.amount.to_string()), Some("100.00".into()), "[{b}] the order's COD is used");
        let id = ShipmentId::generate();
        let shipment = h.engine.book(&h.scope, id.clone(), input).await.unwrap();
        assert_eq!(shipment.booking_state, BookingState::Booked, "[{b}]");
        assert_eq!(shipment.tracking_number.as_deref(), Some("FAKE000001"), "[{b}]");
        assert_eq!(h.fake.book_calls(), 1, "[{b}]");
        assert_eq!(h.engine.order(&h.scope, &order.id).await.unwrap().status, OrderStatus::Shipped, "[{b}]");
        assert_eq!(h.event_kinds(order.id.as_str()).await, ["order.created", "order.status_changed"], "[{b}]");
        assert_eq!(h.event_kinds(id.as_str()).await, ["shipment.booked"], "[{b}]");
        assert_eq!(
            h.queued().await,
            [("follow_information".to_owned(), 1), ("notify_customer".to_owned(), 1), ("track".to_owned(), 1)],
            "[{b}] the first poll, the customer's \"shipped\" message and the look for the order's refused \
             bookings it answers are queued with the booking"
        );
    }
}

#[tokio::test]
async fn a_refusal_is_a_failed_booking_and_leaves_the_order_open() {
    for h in harnesses().await {
        let b = h.backend;
        let order = h.engine.create_order(&h.scope, h.order("1002")).await.unwrap();
        h.fake.answer_next(&[Answer::Refuse]);
        let input = h.engine.check_booking(&h.scope, h.booking(Some(order.id.as_str()), None)).await.unwrap();
        let id = ShipmentId::generate();
        let e = h.engine.book(&h.scope, id.clone(), input).await.unwrap_err();
        assert!(e.is_carrier_refusal(), "[{b}] {e}");
        let shipment = h.store.shipment(&h.scope, &id).await.unwrap();
        assert_eq!(shipment.booking_state, BookingState::Failed, "[{b}]");
        assert_eq!(shipment.error.unwrap().code, "BAD_ZIP", "[{b}] the carrier's code is kept");
        assert_eq!(h.event_kinds(id.as_str()).await, ["shipment.booking_failed"], "[{b}]");
        assert_eq!(h.engine.order(&h.scope, &order.id).await.unwrap().status, OrderStatus::Open, "[{b}]");
    }
}

#[tokio::test]
async fn a_carrier_that_is_down_leaves_nothing_to_reconcile_and_may_be_asked_again() {
    for h in harnesses().await {
        let b = h.backend;
        h.fake.answer_next(&[Answer::Down]);
        let input = h.engine.check_booking(&h.scope, h.booking(None, None)).await.unwrap();
        let e = h.engine.book(&h.scope, ShipmentId::generate(), input.clone()).await.unwrap_err();
        assert!(matches!(e, EngineError::Carrier(ref c) if c.is_transient()) && !e.is_carrier_refusal(), "[{b}] {e}");
        let again = h.engine.book(&h.scope, ShipmentId::generate(), input).await.unwrap();
        assert_eq!(again.booking_state, BookingState::Booked, "[{b}]");
        assert_eq!(h.fake.state.lock().unwrap().bookings.len(), 1, "[{b}] one booking at the carrier");
    }
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_by_asking_never_by_booking_again() {
    for h in harnesses().await {
        let b = h.backend;
        h.fake.answer_next(&[Answer::Lose]);
        let input = h.engine.check_booking(&h.scope, h.booking(None, None)).await.unwrap();
        let id = ShipmentId::generate();
        let shipment = h.engine.book(&h.scope, id.clone(), input).await.unwrap();
        assert_eq!(shipment.booking_state, BookingState::Unknown, "[{b}]");
        assert_eq!(h.queued().await, [("reconcile_booking".to_owned(), 1)], "[{b}]");
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        h.worker.drain().await.unwrap();
        let settled = h.store.shipment(&h.scope, &id).await.unwrap();
        assert_eq!(settled.booking_state, BookingState::Booked, "[{b}]");
        assert_eq!(h.fake.book_calls(), 1, "[{b}] the carrier was asked to book once");
        assert_eq!(
            h.event_kinds(id.as_str()).await,
            ["shipment.booking_unknown", "shipment.booked"],
            "[{b}] both facts are events"
        );
    }
}

/// The fault that booked twice: the carrier booked, then the database write that records it
/// failed, and the idempotency key was released for a retry that booked again. Each write of
/// the path is broken in turn with a real database error.
#[tokio::test]
async fn a_database_failure_at_any_write_of_a_booking_never_books_twice() {
    for h in harnesses().await {
        let b = h.backend;
        // Before the call: the intent cannot be written, so the carrier is never asked.
        h.break_writes("fail_intent", "INSERT", "shipments", "NEW.booking_state = 'pending'").await;
        let input = h.engine.check_booking(&h.scope, h.booking(None, Some("zpl"))).await.unwrap();
        let before = h.engine.book(&h.scope, ShipmentId::generate(), input.clone()).await.unwrap_err();
        assert!(!before.is_carrier_refusal(), "[{b}] {before}");
        assert_eq!(h.fake.book_calls(), 0, "[{b}] nothing reached the carrier");
        h.mend_writes("fail_intent", "shipments").await;

        // After the call (recording the booking), and while recording its label: the answer is
        // `unknown`, and the reconcile books nothing more.
        for (name, event, table, when) in [
            ("fail_booked", "UPDATE", "shipments", "NEW.booking_state = 'booked'"),
            ("fail_label", "INSERT", "shipment_documents", "NEW.format = 'zpl'"),
        ] {
            h.break_writes(name, event, table, when).await;
            let id = ShipmentId::generate();
            let calls = h.fake.book_calls();
            let shipment = h.engine.book(&h.scope, id.clone(), input.clone()).await.unwrap();
            assert_eq!(shipment.booking_state, BookingState::Unknown, "[{b}] {name}: answered unknown");
            assert_eq!(h.fake.book_calls(), calls + 1, "[{b}] {name}");
            // A reconcile while the write still fails books nothing and settles nothing wrongly…
            tokio::time::sleep(Duration::from_millis(2_100)).await;
            h.worker.drain().await.unwrap();
            let state = h.store.shipment(&h.scope, &id).await.unwrap().booking_state;
            assert!(matches!(state, BookingState::Unknown | BookingState::Booked), "[{b}] {name}: {state:?}");
            // …and once the database recovers, the carrier's booking is recorded.
            h.mend_writes(name, table).await;
            tokio::time::sleep(Duration::from_millis(2_100)).await;
            h.worker.drain().await.unwrap();
            let settled = h.store.shipment(&h.scope, &id).await.unwrap();
            assert_eq!(settled.booking_state, BookingState::Booked, "[{b}] {name}: {settled:?}");
            assert_eq!(h.fake.book_calls(), calls + 1, "[{b}] {name}: the carrier booked once");
            assert_eq!(h.fake.bookings_for(id.as_str()), 1, "[{b}] {name}");
        }
    }
}

#[tokio::test]
async fn a_delivered_order_is_closed_by_the_consumer_of_its_event() {
    for h in harnesses().await {
        let b = h.backend;
        let order = h.engine.create_order(&h.scope, h.order("1003")).await.unwrap();
        let input = h.engine.check_booking(&h.scope, h.booking(Some(order.id.as_str()), None)).await.unwrap();
        let shipment = h.engine.book(&h.scope, ShipmentId::generate(), input).await.unwrap();
        let tn = shipment.tracking_number.clone().unwrap();
        h.fake.set_scans(&tn, vec![crate::tracking::scan("DL", waybill_core::TrackingStatus::Delivered, 0)]);
        h.engine.track_now(&h.scope, &shipment.id).await.unwrap();
        assert_eq!(h.engine.order(&h.scope, &order.id).await.unwrap().status, OrderStatus::Delivered, "[{b}]");
        h.worker.drain().await.unwrap();
        assert_eq!(h.engine.order(&h.scope, &order.id).await.unwrap().status, OrderStatus::Closed, "[{b}]");
        assert_eq!(
            h.event_kinds(order.id.as_str()).await,
            ["order.created", "order.status_changed", "order.status_changed", "order.status_changed", "order.closed"],
            "[{b}] open → shipped → delivered → closed, and the closing said so"
        );
    }
}

#[tokio::test]
async fn a_close_order_job_queued_before_modes_existed_still_runs() {
    for h in harnesses().await {
        let b = h.backend;
        let order = h.engine.create_order(&h.scope, h.order("1004")).await.unwrap();
        let input = h.engine.check_booking(&h.scope, h.booking(Some(order.id.as_str()), None)).await.unwrap();
        let shipment = h.engine.book(&h.scope, ShipmentId::generate(), input).await.unwrap();
        let tn = shipment.tracking_number.clone().unwrap();
        h.fake.set_scans(&tn, vec![crate::tracking::scan("DL", waybill_core::TrackingStatus::Delivered, 0)]);
        h.engine.track_now(&h.scope, &shipment.id).await.unwrap();
        // Replace the queued consumer job with one as the first version wrote it.
        h.sql("DELETE FROM jobs WHERE kind = 'close_order'").await;
        h.sql(&format!(
            "INSERT INTO jobs (id, tenant_id, kind, payload, unique_key, run_at, attempts, max_attempts, state, created_at, \
             updated_at) VALUES ('job_legacy', '{}', 'close_order', '{{\"order_id\":\"{}\"}}', 'close_order:{}', 0, 0, 10, \
             'queued', 0, 0)",
            h.scope.tenant, order.id, order.id
        ))
        .await;
        h.worker.drain().await.unwrap();
        assert_eq!(h.engine.order(&h.scope, &order.id).await.unwrap().status, OrderStatus::Closed, "[{b}]");
    }
}

/// Accounts are cached with their opened credentials; an account changed elsewhere (another
/// node, a future edit API) is read afresh, because the cache is only used while the account's
/// `updated_at` is unchanged.
#[tokio::test]
async fn a_changed_account_is_never_served_stale_from_the_cache() {
    for h in harnesses().await {
        let b = h.backend;
        let input = h.engine.check_booking(&h.scope, h.booking(None, None)).await.unwrap();
        h.engine.book(&h.scope, ShipmentId::generate(), input).await.unwrap();
        assert_eq!(h.fake.state.lock().unwrap().last_credentials["api_key"], "k", "[{b}]");
        let secrets = waybill_store::AccountSecrets {
            credentials: serde_json::json!({"api_key": "rotated"}),
            push_secret: "p".into(),
        };
        let sealed = h.store.seal_secrets(&secrets);
        h.sql(&format!(
            "UPDATE carrier_accounts SET sealed_secrets = '{sealed}', updated_at = updated_at + 1 WHERE id = '{}'",
            h.account
        ))
        .await;
        let input = h.engine.check_booking(&h.scope, h.booking(None, None)).await.unwrap();
        h.engine.book(&h.scope, ShipmentId::generate(), input).await.unwrap();
        assert_eq!(h.fake.state.lock().unwrap().last_credentials["api_key"], "rotated", "[{b}] not the cached ones");
    }
}
