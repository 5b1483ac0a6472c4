//! Shipments: the three booking steps (intent found by the pending sweep, the outcome, and the
//! repeats a reconcile race produces), tracking scans (dedupe, out-of-order batches, late
//! scans, the order following the shipment, follow-up jobs only on a change), and label
//! documents (kept with the booking or later; the first bytes stored win).

mod common;

use common::*;
use waybill_core::ids::ShipmentId;
use waybill_core::{NdrReason, OrderStatus, TrackingStatus};
use waybill_store::{BookingError, BookingState, StoreError, now_ms};

#[tokio::test]
async fn booking_records_the_outcome_moves_the_order_and_swaps_the_jobs() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred")).await.must(l);
        let order = store.create_order(&a, new_order("shopify", "1001")).await.must(l);

        let id = ShipmentId::generate();
        let pending = store.create_pending_shipment(&a, new_shipment(&id, &account.id, Some(&order.id))).await.must(l);
        assert_eq!(pending.booking_state, BookingState::Pending, "[{l}] intent is pending");
        assert_eq!(pending.status, TrackingStatus::InfoReceived, "[{l}] intent status");
        assert_eq!(pending.tracking_number, None, "[{l}] no tracking number yet");
        assert_eq!(store.shipment(&a, &id).await.must(l), pending, "[{l}] the intent reads back as returned");
        assert_eq!(
            store.pending_bookings_before(now_ms() + 1, 10).await.must(l),
            vec![(a.clone(), id.clone())],
            "[{l}] the sweep finds the intent"
        );
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::Open, "[{l}] order not moved yet");

        let follow = vec![
            job("subscribe_tracking", Some(format!("subscribe:{id}")), now_ms()),
            job("track", Some(format!("track:{id}")), now_ms() + 60_000),
        ];
        let mut with_label = booked("TRK-1");
        with_label.documents = vec![("zpl", b"^XA first ^XZ".to_vec())];
        let shipment = store.record_booking(&a, &id, with_label, follow).await.must(l);
        assert_eq!(shipment.booking_state, BookingState::Booked, "[{l}] booked");
        assert_eq!(
            store.document(&a, &id, "zpl").await.must(l).as_deref(),
            Some(&b"^XA first ^XZ"[..]),
            "[{l}] the label is kept with the booking"
        );
        assert_eq!(shipment.tracking_number.as_deref(), Some("TRK-1"), "[{l}] tracking number");
        assert_eq!(shipment.carrier_shipment_id.as_deref(), Some("cs-TRK-1"), "[{l}] carrier shipment id");
        assert_eq!(shipment.service, "express", "[{l}] the carrier's service replaces the asked one");
        assert_eq!(shipment.charge, Some(money("87.50")), "[{l}] charge");
        assert_eq!(shipment.edd, Some("2031-05-04".parse().unwrap()), "[{l}] edd");
        assert_eq!(shipment.routing, booked("TRK-1").routing, "[{l}] routing");
        assert_eq!(shipment.error, None, "[{l}] no error");
        assert_eq!(shipment.created_at, pending.created_at, "[{l}] created_at kept");
        assert_eq!(store.shipment(&a, &id).await.must(l), shipment, "[{l}] the booking reads back as returned");
        assert_eq!(store.shipment_by_tracking_number(&a, "TRK-1").await.must(l), shipment, "[{l}] by tracking no.");
        assert_eq!(store.shipment_for_account(&account.id, "TRK-1").await.must(l), shipment, "[{l}] by account");
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::Shipped, "[{l}] order shipped");
        assert_eq!(
            store.queued_jobs().await.must(l),
            vec![("subscribe_tracking".to_owned(), 1), ("track".to_owned(), 1)],
            "[{l}] the booking's jobs are queued"
        );

        // A repeat (a reconcile won the race) changes nothing and queues nothing.
        let mut again = booked("TRK-OTHER");
        again.service = "economy".to_owned();
        again.documents = vec![("zpl", b"^XA second ^XZ".to_vec()), ("pdf", b"%PDF second".to_vec())];
        let extra = vec![job("should_not_queue", None, now_ms())];
        let repeat = store.record_booking(&a, &id, again, extra).await.must(l);
        assert_eq!(repeat, shipment, "[{l}] a second booking returns the first unchanged");
        assert_eq!(store.shipment(&a, &id).await.must(l), shipment, "[{l}] stored booking unchanged");
        assert!(
            matches!(store.shipment_by_tracking_number(&a, "TRK-OTHER").await, Err(StoreError::NotFound)),
            "[{l}] the repeat's tracking number was not written"
        );
        assert_eq!(queued(&store, "should_not_queue").await, 0, "[{l}] the repeat's jobs were not queued");
        assert_eq!(
            store.document(&a, &id, "zpl").await.must(l).as_deref(),
            Some(&b"^XA first ^XZ"[..]),
            "[{l}] the repeat's label did not replace the first"
        );
        assert_eq!(store.document(&a, &id, "pdf").await.must(l), None, "[{l}] nor was the repeat's PDF kept");

        // A failure recorded after the booking does not un-book it.
        let error = BookingError { code: "TIMEOUT".into(), message: "late answer".into() };
        let failed = store.record_booking_failure(&a, &id, error).await.must(l);
        assert_eq!(failed, shipment, "[{l}] failure after booking returns the booking");
        assert_eq!(store.shipment(&a, &id).await.must(l), shipment, "[{l}] still booked");
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::Shipped, "[{l}] order still shipped");
        assert_eq!(queued(&store, "subscribe_tracking").await, 1, "[{l}] the booking's jobs survive");
        assert_eq!(queued(&store, "track").await, 1, "[{l}] the booking's jobs survive");
    }
}

#[tokio::test]
async fn a_refused_booking_is_failed_and_stays_failed_unless_booked() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred")).await.must(l);
        let order = store.create_order(&a, new_order("shopify", "1001")).await.must(l);
        let id = ShipmentId::generate();
        store.create_pending_shipment(&a, new_shipment(&id, &account.id, Some(&order.id))).await.must(l);

        let error = BookingError { code: "BAD_POSTCODE".into(), message: "postcode not served".into() };
        let failed = store.record_booking_failure(&a, &id, error.clone()).await.must(l);
        assert_eq!(failed.booking_state, BookingState::Failed, "[{l}] failed");
        assert_eq!(failed.error, Some(error), "[{l}] the carrier's refusal is kept");
        assert_eq!(store.shipment(&a, &id).await.must(l), failed, "[{l}] the failure reads back as returned");
        assert!(
            store.pending_bookings_before(now_ms() + 1, 10).await.must(l).is_empty(),
            "[{l}] nothing left to sweep"
        );
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::Open, "[{l}] order stays open");
    }
}

#[tokio::test]
async fn an_unsettled_booking_is_left_unknown_with_a_reason_but_a_settled_one_is_kept() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred")).await.must(l);
        let id = ShipmentId::generate();
        store.create_pending_shipment(&a, new_shipment(&id, &account.id, None)).await.must(l);
        let error = BookingError { code: "NEEDS_ATTENTION".into(), message: "check with the carrier".into() };
        store.record_booking_needs_attention(&a, &id, error.clone()).await.must(l);
        let unknown = store.shipment(&a, &id).await.must(l);
        assert_eq!((unknown.booking_state, unknown.error), (BookingState::Unknown, Some(error.clone())), "[{l}]");

        let settled = ShipmentId::generate();
        store.create_pending_shipment(&a, new_shipment(&settled, &account.id, None)).await.must(l);
        store.record_booking(&a, &settled, booked("1Z1"), vec![]).await.must(l);
        store.record_booking_needs_attention(&a, &settled, error).await.must(l);
        let kept = store.shipment(&a, &settled).await.must(l);
        assert_eq!(
            (kept.booking_state, kept.error),
            (BookingState::Booked, None),
            "[{l}] a booked shipment is not touched"
        );
    }
}

#[tokio::test]
async fn scans_are_deduplicated_ordered_and_move_shipment_and_order_forward() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred")).await.must(l);
        let order = store.create_order(&a, new_order("shopify", "1001")).await.must(l);
        let shipment = booked_shipment(l, &store, &a, &account.id, Some(&order.id), "TRK-1").await;
        let id = shipment.id.clone();
        let notify = |s: &waybill_store::Shipment, _: TrackingStatus| {
            vec![job("notify", Some(format!("n:{}", s.status.as_str())), 0)]
        };

        // A batch out of carrier-time order ends where carrier time says.
        let batch = vec![
            scan("e3-transit", TrackingStatus::InTransit, "2031-05-01T12:00:00+03:00"),
            scan("e1-pickup", TrackingStatus::PickedUp, "2031-05-01T08:00:00+03:00"),
            scan("e2-transit", TrackingStatus::InTransit, "2031-05-01T07:30:00Z"),
        ];
        let mut calls = Vec::new();
        let outcome = store
            .apply_scans(&a, &id, batch.clone(), |s, prev| {
                calls.push((s.status, prev));
                notify(s, prev)
            })
            .await
            .must(l);
        assert_eq!(outcome.recorded, 3, "[{l}] three new scans");
        assert_eq!(outcome.previous_status, TrackingStatus::InfoReceived, "[{l}] previous status");
        assert_eq!(outcome.shipment.status, TrackingStatus::InTransit, "[{l}] status after the batch");
        assert_eq!(outcome.shipment.progress, 2, "[{l}] progress after the batch");
        assert_eq!(
            outcome.shipment.last_scan_at,
            Some(at("2031-05-01T12:00:00+03:00").timestamp_millis()),
            "[{l}] the newest scan time"
        );
        assert_eq!(calls, vec![(TrackingStatus::InTransit, TrackingStatus::InfoReceived)], "[{l}] follow-ups asked");
        assert_eq!(queued(&store, "notify").await, 1, "[{l}] the follow-up job is queued");
        assert_eq!(store.shipment(&a, &id).await.must(l), outcome.shipment, "[{l}] stored as returned");
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::InTransit, "[{l}] order in transit");

        // The same batch again records nothing and changes nothing.
        let mut called = false;
        let repeat = store
            .apply_scans(&a, &id, batch, |_, _| {
                called = true;
                vec![job("notify", None, 0)]
            })
            .await
            .must(l);
        assert_eq!(repeat.recorded, 0, "[{l}] duplicates are dropped");
        assert_eq!(repeat.shipment, outcome.shipment, "[{l}] duplicates change nothing");
        assert!(!called, "[{l}] no follow-ups without a change");
        assert_eq!(store.tracking_events(&a, &id).await.must(l).len(), 3, "[{l}] event count unchanged");
        assert_eq!(queued(&store, "notify").await, 1, "[{l}] no new jobs");

        // A new scan that does not change the status queues nothing.
        let mut called = false;
        let same = store
            .apply_scans(
                &a,
                &id,
                vec![scan("e4-transit", TrackingStatus::InTransit, "2031-05-01T13:00:00+03:00")],
                |_, _| {
                    called = true;
                    vec![job("notify", None, 0)]
                },
            )
            .await
            .must(l);
        assert_eq!(same.recorded, 1, "[{l}] the new scan is kept");
        assert_eq!(same.shipment.status, TrackingStatus::InTransit, "[{l}] status unchanged");
        assert!(!called, "[{l}] no follow-ups when the status did not change");
        assert_eq!(queued(&store, "notify").await, 1, "[{l}] no new jobs");

        // Delivered: the order follows and the follow-ups run once.
        let mut calls = Vec::new();
        let delivered = store
            .apply_scans(
                &a,
                &id,
                vec![scan("e6-delivered", TrackingStatus::Delivered, "2031-05-02T10:00:00+03:00")],
                |s, prev| {
                    calls.push((s.status, prev));
                    notify(s, prev)
                },
            )
            .await
            .must(l);
        assert_eq!(delivered.shipment.status, TrackingStatus::Delivered, "[{l}] delivered");
        assert_eq!(delivered.previous_status, TrackingStatus::InTransit, "[{l}] previous status");
        assert_eq!(calls, vec![(TrackingStatus::Delivered, TrackingStatus::InTransit)], "[{l}] follow-ups asked");
        assert_eq!(queued(&store, "notify").await, 2, "[{l}] the delivery's follow-up is queued");
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::Delivered, "[{l}] order delivered");

        // A late, older scan after delivery is recorded but moves nothing.
        let mut called = false;
        let late = store
            .apply_scans(
                &a,
                &id,
                vec![scan("e5-ofd", TrackingStatus::OutForDelivery, "2031-05-02T08:00:00+03:00")],
                |_, _| {
                    called = true;
                    vec![job("notify", None, 0)]
                },
            )
            .await
            .must(l);
        assert_eq!(late.recorded, 1, "[{l}] the late scan is kept in the history");
        assert_eq!(late.shipment.status, TrackingStatus::Delivered, "[{l}] a late scan does not undo delivery");
        assert_eq!(late.shipment.last_scan_at, delivered.shipment.last_scan_at, "[{l}] newest scan time kept");
        assert!(!called, "[{l}] no follow-ups for a late scan");
        assert_eq!(queued(&store, "notify").await, 2, "[{l}] no new jobs");
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::Delivered, "[{l}] order delivered");
        assert_eq!(store.shipment(&a, &id).await.must(l).status, TrackingStatus::Delivered, "[{l}] stored status");

        // The history is in carrier-time order, offsets kept.
        let events = store.tracking_events(&a, &id).await.must(l);
        assert_eq!(
            events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
            vec!["e1-pickup", "e2-transit", "e3-transit", "e4-transit", "e5-ofd", "e6-delivered"],
            "[{l}] events in carrier-time order"
        );
        assert_eq!(events[0].occurred_at, at("2031-05-01T08:00:00+03:00"), "[{l}] time");
        assert_eq!(events[0].occurred_at.offset().local_minus_utc(), 3 * 3600, "[{l}] offset kept");
        assert_eq!(events[0].status, TrackingStatus::PickedUp, "[{l}] status kept");
        assert_eq!(events[0].location.as_deref(), Some("Istanbul Hub"), "[{l}] location kept");
        assert_eq!(events[1].occurred_at, at("2031-05-01T07:30:00Z"), "[{l}] time");
        assert_eq!(events[1].occurred_at.offset().local_minus_utc(), 0, "[{l}] offset kept");

        // A delivered order closes once.
        assert!(store.close_order(&a, &order.id).await.must(l), "[{l}] delivered order closes");
        assert!(!store.close_order(&a, &order.id).await.must(l), "[{l}] closes only once");
        assert_eq!(store.order(&a, &order.id).await.must(l).status, OrderStatus::Closed, "[{l}] order closed");
    }
}

#[tokio::test]
async fn a_failed_delivery_keeps_its_reason() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred")).await.must(l);
        let shipment = booked_shipment(l, &store, &a, &account.id, None, "TRK-1").await;
        let mut failed = scan("f1", TrackingStatus::DeliveryFailed, "2031-05-01T15:00:00+03:00");
        failed.ndr_reason = Some(NdrReason::CustomerUnavailable);
        failed.reason_code = Some("NA".to_owned());
        let batch = vec![scan("o1", TrackingStatus::OutForDelivery, "2031-05-01T09:00:00+03:00"), failed];
        let outcome = store.apply_scans(&a, &shipment.id, batch, |_, _| vec![]).await.must(l);
        assert_eq!(outcome.shipment.status, TrackingStatus::DeliveryFailed, "[{l}] status");
        assert_eq!(outcome.shipment.ndr_reason, Some(NdrReason::CustomerUnavailable), "[{l}] reason");
        let stored = store.shipment(&a, &shipment.id).await.must(l);
        assert_eq!(stored.ndr_reason, Some(NdrReason::CustomerUnavailable), "[{l}] reason stored");
        let events = store.tracking_events(&a, &shipment.id).await.must(l);
        assert_eq!(events[1].ndr_reason, Some(NdrReason::CustomerUnavailable), "[{l}] event reason");
        assert_eq!(events[1].reason_code.as_deref(), Some("NA"), "[{l}] event reason code");
    }
}

#[tokio::test]
async fn the_first_document_stored_wins() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred")).await.must(l);
        let shipment = booked_shipment(l, &store, &a, &account.id, None, "TRK-1").await;
        let id = &shipment.id;

        assert_eq!(store.document(&a, id, "pdf").await.must(l), None, "[{l}] no document yet");
        let first = store.put_document(&a, id, "pdf", b"%PDF-first".to_vec()).await.must(l);
        assert_eq!(first, b"%PDF-first", "[{l}] the stored bytes come back");
        let second = store.put_document(&a, id, "pdf", b"%PDF-second".to_vec()).await.must(l);
        assert_eq!(second, b"%PDF-first", "[{l}] a second put returns the first bytes");
        assert_eq!(store.document(&a, id, "pdf").await.must(l).as_deref(), Some(&b"%PDF-first"[..]), "[{l}] kept");

        // Formats are separate documents; bytes survive exactly (including non-UTF-8).
        let zpl = vec![0u8, 255, 10, 13, 0x80, b'^', b'X', b'A'];
        assert_eq!(store.put_document(&a, id, "zpl", zpl.clone()).await.must(l), zpl, "[{l}] zpl stored");
        assert_eq!(store.document(&a, id, "zpl").await.must(l), Some(zpl), "[{l}] zpl reads back");
        assert_eq!(store.document(&a, id, "png").await.must(l), None, "[{l}] no png");
    }
}

#[tokio::test]
async fn pushed_scans_find_their_shipment_by_account_and_tracking_number() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = store.create_tenant("acme").await.must(l).id;
        let account = store.create_carrier_account(&a, new_account("cred")).await.must(l);
        let other = store.create_carrier_account(&a, new_account("cred-2")).await.must(l);
        let shipment = booked_shipment(l, &store, &a, &account.id, None, "TRK-P").await;

        let pushed = vec![scan("p1", TrackingStatus::PickedUp, "2031-05-01T08:00:00+03:00")];
        let outcome = store.apply_pushed_scans(&account.id, "TRK-P", pushed.clone(), |_, _| vec![]).await.must(l);
        assert_eq!((outcome.shipment.id.clone(), outcome.recorded), (shipment.id.clone(), 1), "[{l}] applied");
        assert_eq!(outcome.shipment.status, TrackingStatus::PickedUp, "[{l}] moved");
        assert_eq!(store.shipment(&a, &shipment.id).await.must(l), outcome.shipment, "[{l}] stored as returned");
        let again = store.apply_pushed_scans(&account.id, "TRK-P", pushed.clone(), |_, _| vec![]).await.must(l);
        assert_eq!(again.recorded, 0, "[{l}] a repeated push records nothing");

        assert!(
            matches!(
                store.apply_pushed_scans(&other.id, "TRK-P", pushed.clone(), |_, _| vec![]).await,
                Err(StoreError::NotFound)
            ),
            "[{l}] another account's push does not reach the shipment"
        );
        assert!(
            matches!(
                store.apply_pushed_scans(&account.id, "TRK-NONE", pushed, |_, _| vec![]).await,
                Err(StoreError::NotFound)
            ),
            "[{l}] an unknown tracking number"
        );
        assert_eq!(store.tracking_events(&a, &shipment.id).await.must(l).len(), 1, "[{l}] one event kept");
    }
}
