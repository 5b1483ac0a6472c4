//! Shipments as the store keeps them (the booking workflow, the status machine and the order
//! following its shipment live in the engine and are tested there): a shipment written as an
//! intent, locked and updated reads back equal; the sweep's query finds the bookings nobody is
//! settling; scans are deduplicated per shipment and come back in placed order; label documents
//! keep the first bytes stored; pushes find their shipment by account and tracking number.

mod common;

use std::time::Duration;

use chrono::DateTime;
use common::*;
use waybill_core::ids::{CarrierAccountId, ShipmentId};
use waybill_core::{BookingError, BookingState, NdrReason, Scope, TrackingStatus};
use waybill_store::{ShipmentFilter, StoreError, now_ms};

#[tokio::test]
async fn a_shipment_reads_back_as_written_through_intent_lock_and_update() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::live(tenant(l, &store, "acme").await);
        let account = create_account(l, &store, &a, "cred").await;
        let order = create_order(l, &store, &a, "shopify", "1001").await;

        let pending = pending_shipment(&account, Some(&order.id));
        insert_pending(l, &store, &pending, NODE).await;
        assert_eq!(store.shipment(&a, &pending.id).await.must(l), pending, "[{l}] the intent reads back as written");
        assert_eq!(store.shipments_for_order(&a, &order.id).await.must(l), vec![pending.clone()], "[{l}] by order");

        // The booking's outcome: every field that changes after the intent is written.
        let mut tx = store.begin().await.must(l);
        let locked = tx.lock_shipment(&a, &pending.id).await.must(l);
        assert_eq!(locked, pending, "[{l}] the locked shipment is the stored one");
        let booked = as_booked(&locked, "TRK-1");
        tx.update_shipment(&booked).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(store.shipment(&a, &pending.id).await.must(l), booked, "[{l}] the booking reads back as written");
        assert_eq!(
            store.shipments_by_tracking_number(&a, "TRK-1").await.must(l),
            vec![booked.clone()],
            "[{l}] by tracking number"
        );
        assert_eq!(
            store.shipment_for_account(&a, &account.id, "TRK-1").await.must(l),
            Some(booked.clone()),
            "[{l}] by account and tracking number"
        );
        assert_eq!(store.shipment_for_account(&a, &account.id, "TRK-2").await.must(l), None, "[{l}] unknown number");

        // Tracking fields, including an NDR reason, round-trip too.
        let mut tx = store.begin().await.must(l);
        let mut moving = tx.lock_shipment(&a, &pending.id).await.must(l);
        moving.status = TrackingStatus::DeliveryFailed;
        moving.progress = 3;
        moving.ndr_reason = Some(NdrReason::CustomerUnavailable);
        moving.last_scan_at = Some(at("2031-05-01T15:00:00+03:00").timestamp_millis());
        moving.updated_at += 1;
        tx.update_shipment(&moving).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(store.shipment(&a, &pending.id).await.must(l), moving, "[{l}] tracking fields written");

        // A failed booking keeps the carrier's refusal, and every optional intent field survives.
        let mut other = pending_shipment(&account, None);
        other.cod = Some(money("249.90"));
        other.simulate = Some("refuse".to_owned());
        other.is_return = true;
        other.reference = None;
        insert_pending(l, &store, &other, "node-other").await;
        assert_eq!(store.shipment(&a, &other.id).await.must(l), other, "[{l}] optional fields read back");
        let failed = waybill_core::Shipment {
            booking_state: BookingState::Failed,
            error: Some(BookingError { code: "BAD_POSTCODE".into(), message: "postcode not served".into() }),
            updated_at: other.updated_at + 1,
            ..other.clone()
        };
        let mut tx = store.begin().await.must(l);
        tx.update_shipment(&failed).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(store.shipment(&a, &other.id).await.must(l), failed, "[{l}] the failure reads back as written");

        // An update dropped with its transaction leaves the shipment as it was.
        let mut tx = store.begin().await.must(l);
        let mut lost = tx.lock_shipment(&a, &other.id).await.must(l);
        lost.booking_state = BookingState::Booked;
        tx.update_shipment(&lost).await.must(l);
        drop(tx);
        assert_eq!(store.shipment(&a, &other.id).await.must(l), failed, "[{l}] the dropped update is gone");

        // One account never has two shipments under one tracking number.
        let mut tx = store.begin().await.must(l);
        let twin = waybill_core::Shipment { tracking_number: Some("TRK-1".to_owned()), ..failed.clone() };
        assert!(tx.update_shipment(&twin).await.is_err(), "[{l}] a tracking number taken on the account");
        drop(tx);
        assert_eq!(store.shipment(&a, &other.id).await.must(l), failed, "[{l}] nothing changed");

        let missing = ShipmentId::generate();
        assert!(matches!(store.shipment(&a, &missing).await, Err(StoreError::NotFound)), "[{l}] unknown id");
        let mut tx = store.begin().await.must(l);
        assert!(matches!(tx.lock_shipment(&a, &missing).await, Err(StoreError::NotFound)), "[{l}] lock unknown id");
    }
}

/// The sweep's query: pending bookings whose node is gone (never beat its heart, or not since
/// `alive_since`), whose node restarted after the booking was made, or that are older than the
/// cutoff whoever made them; never a live node's fresh booking, nor a settled one.
#[tokio::test]
async fn orphaned_bookings_are_those_of_dead_or_restarted_nodes_or_past_the_cutoff() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = Scope::live(tenant(l, &store, "bolt").await);
        let a_account = create_account(l, &store, &a, "cred-a").await;
        let b_account = create_account(l, &store, &b, "cred-b").await;
        let now = now_ms();

        // "stale" beat its heart, then went silent; the others beat theirs after `alive_since`.
        store.heartbeat("stale", now - 600_000).await.must(l);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let alive_since = now_ms();
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.heartbeat("alive", now - 600_000).await.must(l);
        store.heartbeat("restarted", now - 600_000).await.must(l);
        let cutoff = now - 60_000;

        let booking = |account, node: &'static str, created_at: i64| {
            let mut s = pending_shipment(account, None);
            s.created_at = created_at;
            s.updated_at = created_at;
            (s, node)
        };
        let fresh_alive = booking(&a_account, "alive", now - 1_000);
        let old_alive = booking(&b_account, "alive", now - 120_000);
        let of_stale = booking(&a_account, "stale", now - 2_000);
        let of_unknown = booking(&b_account, "never-seen", now - 3_000);
        let before_restart = booking(&a_account, "restarted", now - 4_000);
        // Made by the run that starts (below) at `now`.
        let after_restart = booking(&a_account, "restarted", now + 1);
        let booked_of_dead = booking(&a_account, "never-seen", now - 200_000);
        for (s, node) in
            [&fresh_alive, &old_alive, &of_stale, &of_unknown, &before_restart, &after_restart, &booked_of_dead]
        {
            insert_pending(l, &store, s, node).await;
        }
        let mut tx = store.begin().await.must(l);
        tx.update_shipment(&as_booked(&booked_of_dead.0, "TRK-DONE")).await.must(l);
        tx.commit().await.must(l);

        let expected = |rows: &[&(waybill_core::Shipment, &str)]| {
            rows.iter().map(|(s, _)| (s.scope(), s.id.clone())).collect::<Vec<_>>()
        };
        assert_eq!(
            store.orphaned_bookings(cutoff, alive_since, 10).await.must(l),
            expected(&[&old_alive, &of_unknown, &of_stale]),
            "[{l}] oldest first, each with its own scope; none of the live nodes' fresh bookings"
        );

        // "restarted" starts again: the bookings its earlier run left pending are orphaned, not
        // the ones its new run makes.
        store.heartbeat("restarted", now).await.must(l);
        let found = store.orphaned_bookings(cutoff, alive_since, 10).await.must(l);
        assert_eq!(
            found,
            expected(&[&old_alive, &before_restart, &of_unknown, &of_stale]),
            "[{l}] after the restart (fresh of alive: {}, after restart: {})",
            fresh_alive.0.id,
            after_restart.0.id
        );
        assert_eq!(
            store.orphaned_bookings(cutoff, alive_since, 2).await.must(l),
            expected(&[&old_alive, &before_restart]),
            "[{l}] at most `limit`"
        );

        // The nodes' own view: who is alive, since when.
        assert_eq!(store.node_started("alive", alive_since).await.must(l), Some(now - 600_000), "[{l}] alive");
        assert_eq!(store.node_started("restarted", alive_since).await.must(l), Some(now), "[{l}] its new run");
        assert_eq!(store.node_started("stale", alive_since).await.must(l), None, "[{l}] silent since");
        assert_eq!(store.node_started("never-seen", 0).await.must(l), None, "[{l}] never seen");

        // A node that stops says so: its bookings are orphaned at once. Silent nodes are forgotten.
        store.forget_node("alive", alive_since).await.must(l);
        assert_eq!(store.node_started("alive", 0).await.must(l), None, "[{l}] forgotten");
        assert_eq!(store.node_started("stale", 0).await.must(l), None, "[{l}] silent before, forgotten too");
        assert_eq!(store.node_started("restarted", 0).await.must(l), Some(now), "[{l}] a live node is kept");
        assert_eq!(
            store.orphaned_bookings(cutoff, alive_since, 10).await.must(l),
            expected(&[&old_alive, &before_restart, &of_unknown, &of_stale, &fresh_alive]),
            "[{l}] the stopped node's fresh booking is orphaned now"
        );
    }
}

#[tokio::test]
async fn scans_are_recorded_once_per_key_and_come_back_in_placed_order() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let account = create_account(l, &store, &a, "cred").await;
        let shipment = booked_shipment(l, &store, &account, None, "TRK-1").await;
        let twin = booked_shipment(l, &store, &account, None, "TRK-2").await;

        // A batch out of carrier-time order; e0's carrier clock was ahead, so it is placed at the
        // time it was received, before the others' carrier times.
        let mut ahead = scan("e0-ahead", TrackingStatus::InfoReceived, "2031-05-01T12:00:00+03:00");
        ahead.placed_at = at("2031-05-01T04:00:00Z").to_utc();
        let mut failed = scan("e4-failed", TrackingStatus::DeliveryFailed, "2031-05-01T15:00:00+03:00");
        failed.ndr_reason = Some(NdrReason::CustomerUnavailable);
        failed.reason_code = Some("NA".to_owned());
        let batch = vec![
            scan("e3-transit", TrackingStatus::InTransit, "2031-05-01T12:00:00+03:00"),
            failed,
            scan("e1-pickup", TrackingStatus::PickedUp, "2031-05-01T08:00:00+03:00"),
            ahead,
            scan("e2-transit", TrackingStatus::InTransit, "2031-05-01T07:30:00Z"),
        ];
        let received = now_ms();
        let mut tx = store.begin().await.must(l);
        let mut recorded = Vec::new();
        for s in &batch {
            recorded.push(tx.insert_scan(&shipment, s, received).await.must(l).expect("a new scan is recorded"));
        }
        // The same key again in the same transaction is not recorded twice.
        assert_eq!(tx.insert_scan(&shipment, &batch[0], received).await.must(l), None, "[{l}] repeat in the tx");
        let order = ["e0-ahead", "e1-pickup", "e2-transit", "e3-transit", "e4-failed"];
        let in_tx = tx.scans(&shipment).await.must(l);
        assert_eq!(in_tx.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), order, "[{l}] placed order in the tx");
        tx.commit().await.must(l);

        let events = store.tracking_events(&a, &shipment.id).await.must(l);
        assert_eq!(events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), order, "[{l}] events in placed order");
        let mut by_placed = recorded.clone();
        by_placed.sort_by_key(|e| e.placed_at);
        assert_eq!(events, by_placed, "[{l}] the events read back as insert_scan returned them");
        assert_eq!(events, in_tx, "[{l}] and as the transaction saw them");
        let e0 = &events[0];
        assert_eq!(e0.occurred_at, at("2031-05-01T12:00:00+03:00"), "[{l}] the carrier's own time is kept");
        assert_eq!(e0.occurred_at.offset().local_minus_utc(), 3 * 3600, "[{l}] with its offset");
        assert_eq!(e0.placed_at, at("2031-05-01T04:00:00Z").to_utc(), "[{l}] the placed time is kept apart");
        assert_eq!(events[2].occurred_at.offset().local_minus_utc(), 0, "[{l}] a UTC offset is kept too");
        assert_eq!(events[1].location.as_deref(), Some("Istanbul Hub"), "[{l}] location");
        assert_eq!(events[1].status, TrackingStatus::PickedUp, "[{l}] status");
        assert_eq!(events[1].received_at, received, "[{l}] received at");
        assert_eq!(events[4].ndr_reason, Some(NdrReason::CustomerUnavailable), "[{l}] NDR reason");
        assert_eq!(events[4].reason_code.as_deref(), Some("NA"), "[{l}] reason code");

        // The whole batch again, in a later transaction: nothing new.
        let mut tx = store.begin().await.must(l);
        for s in &batch {
            assert_eq!(tx.insert_scan(&shipment, s, now_ms()).await.must(l), None, "[{l}] {} repeated", s.code);
        }
        // Dedupe keys are per shipment: the same key on another shipment is that shipment's own.
        let on_twin = tx.insert_scan(&twin, &batch[0], now_ms()).await.must(l);
        assert!(on_twin.is_some(), "[{l}] the same key on another shipment is recorded");
        tx.commit().await.must(l);
        assert_eq!(store.tracking_events(&a, &shipment.id).await.must(l), events, "[{l}] history unchanged");
        assert_eq!(store.tracking_events(&a, &twin.id).await.must(l).len(), 1, "[{l}] the other shipment's scan");

        // Placed times that tie are ordered by event id (recording order), stably.
        let mut tx = store.begin().await.must(l);
        let tie_a = scan("tie-a", TrackingStatus::InTransit, "2031-05-03T10:00:00+03:00");
        let tie_b = scan("tie-b", TrackingStatus::InTransit, "2031-05-03T07:00:00Z");
        tx.insert_scan(&twin, &tie_b, now_ms()).await.must(l).expect("tie b");
        tx.insert_scan(&twin, &tie_a, now_ms()).await.must(l).expect("tie a");
        tx.commit().await.must(l);
        let twin_events = store.tracking_events(&a, &twin.id).await.must(l);
        assert_eq!(
            twin_events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
            ["e3-transit", "tie-b", "tie-a"],
            "[{l}] ties in recording order"
        );
        assert_eq!(
            twin_events[1].placed_at,
            DateTime::from_timestamp_millis(at("2031-05-03T07:00:00Z").timestamp_millis()).unwrap(),
            "[{l}] placed time"
        );
    }
}

#[tokio::test]
async fn the_first_document_stored_wins() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let account = create_account(l, &store, &a, "cred").await;
        let shipment = booked_shipment(l, &store, &account, None, "TRK-1").await;
        let id = &shipment.id;
        assert_eq!(store.document(&a, id, "pdf").await.must(l), None, "[{l}] no document yet");

        // A document written in a transaction that is dropped does not take the slot.
        let mut tx = store.begin().await.must(l);
        assert!(tx.insert_document(&shipment, "pdf", b"%PDF-dropped").await.must(l), "[{l}] stored in the tx");
        drop(tx);
        assert_eq!(store.document(&a, id, "pdf").await.must(l), None, "[{l}] the dropped document is gone");

        let mut tx = store.begin().await.must(l);
        assert!(tx.insert_document(&shipment, "pdf", b"%PDF-first").await.must(l), "[{l}] the first is stored");
        assert!(!tx.insert_document(&shipment, "pdf", b"%PDF-second").await.must(l), "[{l}] not the second");
        tx.commit().await.must(l);
        let mut tx = store.begin().await.must(l);
        assert!(!tx.insert_document(&shipment, "pdf", b"%PDF-third").await.must(l), "[{l}] nor a later one");
        tx.commit().await.must(l);
        assert_eq!(store.document(&a, id, "pdf").await.must(l).as_deref(), Some(&b"%PDF-first"[..]), "[{l}] kept");

        // Formats are separate documents; bytes survive exactly (including non-UTF-8).
        let zpl = vec![0u8, 255, 10, 13, 0x80, b'^', b'X', b'A'];
        let mut tx = store.begin().await.must(l);
        assert!(tx.insert_document(&shipment, "zpl", &zpl).await.must(l), "[{l}] zpl stored");
        tx.commit().await.must(l);
        assert_eq!(store.document(&a, id, "zpl").await.must(l), Some(zpl), "[{l}] zpl reads back");
        assert_eq!(store.document(&a, id, "png").await.must(l), None, "[{l}] no png");
    }
}

#[tokio::test]
async fn pushes_find_their_shipment_by_account_and_tracking_number() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::live(tenant(l, &store, "acme").await);
        let account = create_account(l, &store, &a, "cred").await;
        let other = create_account(l, &store, &a, "cred-2").await;
        let shipment = booked_shipment(l, &store, &account, None, "TRK-P").await;
        let on_other = booked_shipment(l, &store, &other, None, "TRK-Q").await;

        // A push names only the account and the number; the shipment brings its scope.
        let mut tx = store.begin().await.must(l);
        let found = tx.lock_shipment_for_account(&account.id, "TRK-P").await.must(l);
        assert_eq!(found.as_ref(), Some(&shipment), "[{l}] the pushed shipment");
        let found = found.expect("found");
        assert_eq!(found.scope(), a, "[{l}] in its own scope");
        let pushed = scan("p1", TrackingStatus::PickedUp, "2031-05-01T08:00:00+03:00");
        assert!(tx.insert_scan(&found, &pushed, now_ms()).await.must(l).is_some(), "[{l}] the push is recorded");
        assert_eq!(tx.lock_shipment_for_account(&other.id, "TRK-P").await.must(l), None, "[{l}] another account");
        assert_eq!(tx.lock_shipment_for_account(&account.id, "TRK-Q").await.must(l), None, "[{l}] its number");
        assert_eq!(tx.lock_shipment_for_account(&account.id, "TRK-NONE").await.must(l), None, "[{l}] unknown");
        let unknown = CarrierAccountId::generate();
        assert_eq!(tx.lock_shipment_for_account(&unknown, "TRK-P").await.must(l), None, "[{l}] unknown account");
        tx.commit().await.must(l);

        let events = store.tracking_events(&a, &shipment.id).await.must(l);
        assert_eq!(events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), ["p1"], "[{l}] one event kept");
        assert!(store.tracking_events(&a, &on_other.id).await.must(l).is_empty(), "[{l}] none on the other");
        let filter = ShipmentFilter::default();
        assert_eq!(store.list_shipments(&a, filter, None, 10).await.must(l).items.len(), 2, "[{l}] both listed");
    }
}
