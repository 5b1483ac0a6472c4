//! Scans through the engine: recorded once, placed in time, the status the fold of all of
//! them in order, and a status change an event.

use chrono::{Duration as TimeDelta, Utc};
use waybill_carriers::Scan;
use waybill_core::ids::ShipmentId;
use waybill_core::{NdrReason, TrackingStatus};

use crate::common::{Harness, harnesses};

/// A scan `minutes` from now (negative: in the past) with `code` as its event id.
pub fn scan(code: &str, status: TrackingStatus, minutes: i64) -> Scan {
    Scan {
        event_id: Some(code.to_owned()),
        code: code.to_owned(),
        status,
        reason_code: None,
        ndr_reason: (status == TrackingStatus::DeliveryFailed).then_some(NdrReason::CustomerUnavailable),
        description: status.as_str().replace('_', " "),
        location: Some("İzmir".into()),
        occurred_at: (Utc::now() + TimeDelta::minutes(minutes)).fixed_offset(),
        raw: serde_json::json!({ "code": code }),
    }
}

async fn booked(h: &Harness) -> (ShipmentId, String) {
    let input = h.engine.check_booking(&h.scope, h.booking(None, None)).await.unwrap();
    let shipment = h.engine.book(&h.scope, ShipmentId::generate(), input).await.unwrap();
    (shipment.id, shipment.tracking_number.unwrap())
}

#[tokio::test]
async fn a_scan_stamped_ahead_of_its_receipt_cannot_freeze_the_status() {
    for h in harnesses().await {
        let b = h.backend;
        let (id, tn) = booked(&h).await;
        // The carrier's clock runs an hour ahead for this one scan.
        h.fake.set_scans(
            &tn,
            vec![scan("PU", TrackingStatus::PickedUp, -30), scan("OD", TrackingStatus::OutForDelivery, 60)],
        );
        h.engine.track_now(&h.scope, &id).await.unwrap();
        // The failed attempt happens after Waybill received the skewed scan.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        h.fake.set_scans(
            &tn,
            vec![
                scan("PU", TrackingStatus::PickedUp, -30),
                scan("OD", TrackingStatus::OutForDelivery, 60),
                scan("UD", TrackingStatus::DeliveryFailed, 0),
            ],
        );
        let shipment = h.engine.track_now(&h.scope, &id).await.unwrap();
        assert_eq!(shipment.status, TrackingStatus::DeliveryFailed, "[{b}] the failed delivery shows");
        assert_eq!(shipment.ndr_reason, Some(NdrReason::CustomerUnavailable), "[{b}]");
        let events = h.store.tracking_events(&h.scope, &id).await.unwrap();
        let od = events.iter().find(|e| e.code == "OD").unwrap();
        assert!(od.placed().clock_ahead_by().is_some(), "[{b}] the skewed scan is flagged");
        assert!(od.placed_at < od.occurred_at.to_utc(), "[{b}] placed at its receipt, its own time kept");
    }
}

#[tokio::test]
async fn late_scans_are_replayed_into_place_and_duplicates_change_nothing() {
    for h in harnesses().await {
        let b = h.backend;
        let (id, tn) = booked(&h).await;
        h.fake.set_scans(&tn, vec![scan("IT", TrackingStatus::InTransit, -10)]);
        h.engine.track_now(&h.scope, &id).await.unwrap();
        // A failed attempt and the return to the hub arrive after the hub scan they precede.
        h.fake.set_scans(
            &tn,
            vec![
                scan("IT", TrackingStatus::InTransit, -10),
                scan("OD", TrackingStatus::OutForDelivery, -40),
                scan("UD", TrackingStatus::DeliveryFailed, -30),
            ],
        );
        let shipment = h.engine.track_now(&h.scope, &id).await.unwrap();
        assert_eq!(shipment.status, TrackingStatus::InTransit, "[{b}] back at the hub after the failed attempt");
        let changes = h.event_kinds(id.as_str()).await.iter().filter(|k| **k == "shipment.status_changed").count();
        let again = h.engine.track_now(&h.scope, &id).await.unwrap();
        assert_eq!(again.status, shipment.status, "[{b}]");
        let after = h.event_kinds(id.as_str()).await.iter().filter(|k| **k == "shipment.status_changed").count();
        assert_eq!(after, changes, "[{b}] a repeated pull emits nothing");
        assert_eq!(h.store.tracking_events(&h.scope, &id).await.unwrap().len(), 3, "[{b}] each scan once");
    }
}

#[tokio::test]
async fn a_report_of_scans_is_all_or_nothing() {
    use waybill_engine::ReportedScan;
    for h in harnesses().await {
        let b = h.backend;
        let account = serde_json::json!({
            "carrier": "generic", "mode": "test", "credentials": {},
            "settings": {"name": "Yerel Kargo", "services": [{"code": "std", "name": "Standart"}],
                         "tracking_numbers": {"range": {"prefix": "YK", "first": 1, "last": 999, "width": 6}},
                         "tracking_url": "https://example.com/t/{tracking_number}"}
        });
        let (account, _) =
            h.engine.create_carrier_account(&h.scope, serde_json::from_value(account).unwrap()).await.unwrap();
        let mut numbers = Vec::new();
        for _ in 0..2 {
            let mut body = h.booking(None, None);
            body.carrier_account_id = account.id.clone();
            let input = h.engine.check_booking(&h.scope, body).await.unwrap();
            let shipment = h.engine.book(&h.scope, ShipmentId::generate(), input).await.unwrap();
            numbers.push((shipment.id, shipment.tracking_number.unwrap()));
        }
        // Recording the second shipment's scan fails: the first shipment's must not stay.
        h.break_writes("fail_scan", "INSERT", "tracking_events", &format!("NEW.shipment_id = '{}'", numbers[1].0))
            .await;
        let report = |n: usize| ReportedScan {
            at: format!("/events/{n}"),
            tracking_number: numbers[n].1.clone(),
            status: "picked_up".into(),
            occurred_at: (Utc::now() - TimeDelta::minutes(5)).to_rfc3339(),
            location: None,
            description: None,
            code: None,
            ndr_reason: None,
        };
        let failed = h.engine.report_scans(&h.scope, &account.id, vec![report(0), report(1)]).await;
        assert!(failed.is_err(), "[{b}]");
        for (id, _) in &numbers {
            assert!(h.store.tracking_events(&h.scope, id).await.unwrap().is_empty(), "[{b}] nothing recorded for {id}");
            assert_eq!(h.store.shipment(&h.scope, id).await.unwrap().status, TrackingStatus::InfoReceived, "[{b}]");
        }
        h.mend_writes("fail_scan", "tracking_events").await;
        let done = h.engine.report_scans(&h.scope, &account.id, vec![report(0), report(1)]).await.unwrap();
        assert_eq!((done.received, done.applied), (2, 2), "[{b}]");
    }
}

/// A poll that finds a parcel past its estimated delivery date emits `shipment.delayed` once,
/// which tells the customer (the `exception` milestone); later polls add nothing.
#[tokio::test]
async fn a_parcel_past_its_edd_is_reported_delayed_once() {
    for h in harnesses().await {
        let b = h.backend;
        let settings = serde_json::from_value(serde_json::json!({"triggers": {"exception": {"email": true}}})).unwrap();
        h.engine.update_notification_settings(&h.scope, settings).await.unwrap();
        let (id, tn) = booked(&h).await;
        h.fake.set_scans(&tn, vec![scan("PU", TrackingStatus::PickedUp, -60)]);
        let due_now = "UPDATE jobs SET run_at = 0 WHERE kind = 'track'";
        h.sql(due_now).await;
        h.worker.drain().await.unwrap();
        assert!(!h.event_kinds(id.as_str()).await.contains(&"shipment.delayed"), "[{b}] on time so far");

        let two_days_ago = (Utc::now() - TimeDelta::days(2)).date_naive();
        h.sql(&format!("UPDATE shipments SET edd = '{two_days_ago}' WHERE id = '{id}'")).await;
        for _ in 0..2 {
            h.sql(due_now).await;
            h.worker.drain().await.unwrap();
        }
        let kinds = h.event_kinds(id.as_str()).await;
        assert_eq!(kinds.iter().filter(|k| **k == "shipment.delayed").count(), 1, "[{b}] {kinds:?}");
        let messages = h.store.shipment_notifications(&h.scope, &id).await.unwrap();
        assert!(
            messages.iter().any(|n| n.milestone == waybill_core::Milestone::Exception),
            "[{b}] the customer hears of it: {messages:?}"
        );
    }
}
