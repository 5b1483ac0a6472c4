//! Pickups as the store keeps them: written `requested`, read back as written, settled once
//! (the first outcome stays), and a scheduled date from the carrier replaces the asked one.

mod common;

use common::*;
use waybill_core::Scope;
use waybill_core::pickup::{PickupError, PickupOutcome, PickupStatus};
use waybill_store::StoreError;

#[tokio::test]
async fn a_pickup_is_settled_once_and_keeps_its_first_outcome() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::live(tenant(l, &store, "acme").await);
        let account = create_account(l, &store, &a, "cred").await;
        let shipment = booked_shipment(l, &store, &account, None, "TRK-1").await;

        let scheduled = pickup(&account, std::slice::from_ref(&shipment.id));
        insert_pickup(l, &store, &scheduled).await;
        assert_eq!(store.pickup(&a, &scheduled.id).await.must(l), scheduled, "[{l}] reads back as written");

        let date = chrono::NaiveDate::from_ymd_opt(2031, 5, 7).expect("date");
        let outcome = PickupOutcome::Scheduled {
            confirmation_number: "PU-123".to_owned(),
            date: Some(date),
            charge: Some(money("15.00")),
            note: Some("Courier arrives after 10:00".to_owned()),
        };
        let mut tx = store.begin().await.must(l);
        let settled = tx.settle_pickup(&a, &scheduled.id, outcome.clone()).await.must(l).expect("settled");
        tx.commit().await.must(l);
        assert_eq!(settled.status, PickupStatus::Scheduled, "[{l}] scheduled");
        assert_eq!(settled.confirmation_number.as_deref(), Some("PU-123"), "[{l}] confirmation");
        assert_eq!(settled.date, date, "[{l}] the carrier's date replaces the asked one");
        assert_eq!(settled.charge, Some(money("15.00")), "[{l}] charge");
        assert_eq!(settled.note.as_deref(), Some("Courier arrives after 10:00"), "[{l}] note");
        assert_eq!(settled.error, None, "[{l}] no error");
        assert_eq!(
            (&settled.shipment_ids, settled.ready_time, settled.created_at),
            (&scheduled.shipment_ids, scheduled.ready_time, scheduled.created_at),
            "[{l}] the request's fields are kept"
        );
        assert_eq!(store.pickup(&a, &scheduled.id).await.must(l), settled, "[{l}] reads back as settled");

        // A second outcome (a late answer, a retry) changes nothing.
        let late = PickupOutcome::Failed(PickupError { code: "LATE".into(), message: "too late".into() });
        let mut tx = store.begin().await.must(l);
        assert_eq!(tx.settle_pickup(&a, &scheduled.id, late).await.must(l), None, "[{l}] settled already");
        assert_eq!(tx.settle_pickup(&a, &scheduled.id, outcome).await.must(l), None, "[{l}] even the same outcome");
        tx.commit().await.must(l);
        assert_eq!(store.pickup(&a, &scheduled.id).await.must(l), settled, "[{l}] the first outcome stays");

        // Refused and lost answers keep their reason; a scheduled answer without a date keeps the asked one.
        let error = PickupError { code: "NO_SERVICE".into(), message: "not served".into() };
        for (outcome, status) in [
            (PickupOutcome::Failed(error.clone()), PickupStatus::Failed),
            (PickupOutcome::Unknown(error.clone()), PickupStatus::Unknown),
        ] {
            let p = pickup(&account, &[]);
            insert_pickup(l, &store, &p).await;
            let mut tx = store.begin().await.must(l);
            let settled = tx.settle_pickup(&a, &p.id, outcome).await.must(l).expect("settled");
            tx.commit().await.must(l);
            assert_eq!((settled.status, settled.error.as_ref()), (status, Some(&error)), "[{l}] {status:?}");
            assert_eq!(settled.confirmation_number, None, "[{l}] no confirmation");
            assert_eq!(store.pickup(&a, &p.id).await.must(l), settled, "[{l}] {status:?} reads back");
        }
        let p = pickup(&account, &[]);
        insert_pickup(l, &store, &p).await;
        let undated =
            PickupOutcome::Scheduled { confirmation_number: "PU-9".into(), date: None, charge: None, note: None };
        let mut tx = store.begin().await.must(l);
        let settled = tx.settle_pickup(&a, &p.id, undated).await.must(l).expect("settled");
        tx.commit().await.must(l);
        assert_eq!((settled.status, settled.date), (PickupStatus::Scheduled, p.date), "[{l}] the asked date stays");

        // An outcome written in a dropped transaction is not kept.
        let p = pickup(&account, &[]);
        insert_pickup(l, &store, &p).await;
        let mut tx = store.begin().await.must(l);
        tx.settle_pickup(&a, &p.id, PickupOutcome::Unknown(error)).await.must(l).expect("settled in the tx");
        drop(tx);
        assert_eq!(store.pickup(&a, &p.id).await.must(l), p, "[{l}] still requested");

        let unknown = waybill_core::ids::PickupId::generate();
        assert!(matches!(store.pickup(&a, &unknown).await, Err(StoreError::NotFound)), "[{l}] unknown pickup");
    }
}
