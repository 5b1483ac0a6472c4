//! Taking in scans, pulled by the `track` job, pushed by the carrier or reported by the
//! merchant, through one path: each scan is placed in time (a carrier time ahead of its
//! receipt is clamped to the receipt), recorded once, and the shipment's status is the fold
//! of all its scans in placed order.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use waybill_carriers::{PushError, PushRequest, PushTarget, Scan};
use waybill_core::account::CarrierAccount;
use waybill_core::ids::{CarrierAccountId, ShipmentId};
use waybill_core::tracking::place;
use waybill_core::{Event, ScanSource, Scope, Shipment, TrackingEvent, TrackingState, TrackingStatus};
use waybill_store::{AccountSecrets, NewScan, StoreError, now_ms};

use crate::jobs::Next;
use crate::orders::follow_order;
use crate::uow::UnitOfWork;
use crate::{Engine, EngineError};

/// What a push request amounted to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PushReceipt {
    pub scans: usize,
    pub recorded: usize,
    /// Scans for tracking numbers this account never booked (kept out, logged).
    pub unknown: usize,
    /// Recorded scans whose carrier time was ahead of their receipt (placed at the receipt).
    pub clock_skewed: usize,
}

/// What recording scans on one shipment did.
#[derive(Debug, Clone)]
pub(crate) struct ScanOutcome {
    pub shipment: Shipment,
    /// Scans that were new (the rest were duplicates).
    pub fresh: Vec<TrackingEvent>,
}

impl ScanOutcome {
    /// New scans whose carrier time was ahead of their receipt beyond the tolerance.
    pub fn clock_skewed(&self) -> impl Iterator<Item = &TrackingEvent> {
        self.fresh.iter().filter(|e| e.placed().clock_ahead_by().is_some())
    }
}

fn to_new_scan(scan: Scan, source: ScanSource, received: DateTime<Utc>) -> NewScan {
    let dedupe_key = scan.event_id.clone().unwrap_or_else(|| {
        // Without a carrier event id, the same code at the same time and place is the same scan.
        let mut h = Sha256::new();
        for part in [
            scan.code.as_str(),
            &scan.occurred_at.to_rfc3339(),
            scan.reason_code.as_deref().unwrap_or(""),
            scan.location.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    });
    let placed = place(scan.status, scan.occurred_at.to_utc(), received);
    NewScan {
        dedupe_key,
        code: scan.code,
        status: scan.status,
        reason_code: scan.reason_code,
        ndr_reason: scan.ndr_reason,
        description: scan.description,
        location: scan.location,
        occurred_at: scan.occurred_at,
        placed_at: placed.at,
        source,
        raw: scan.raw,
    }
}

/// Records `scans` on the locked `shipment` and moves it (and its order) within `uow`.
async fn apply_scans(
    uow: &mut UnitOfWork,
    mut shipment: Shipment,
    scans: Vec<Scan>,
    source: ScanSource,
) -> Result<ScanOutcome, EngineError> {
    let received = now_ms();
    let received_at = DateTime::from_timestamp_millis(received).unwrap_or_else(Utc::now);
    let mut fresh = Vec::new();
    for scan in scans {
        if let Some(recorded) = uow.tx.insert_scan(&shipment, &to_new_scan(scan, source, received_at), received).await?
        {
            fresh.push(recorded);
        }
    }
    if fresh.is_empty() {
        return Ok(ScanOutcome { shipment, fresh });
    }
    if shipment.status.is_final() {
        uow.emit(&shipment.scope(), Event::TrackerUpdated { shipment: shipment.clone(), scans: fresh.clone() });
        return Ok(ScanOutcome { shipment, fresh });
    }
    let previous = shipment.status;
    let state = shipment.tracking_state();
    let next = if fresh.iter().all(|e| state.extends_to(e.placed_at)) {
        state.extend(fresh.iter().map(TrackingEvent::placed))
    } else {
        // A scan landed before ones already applied: the status is the fold of all of them.
        TrackingState::replay(uow.tx.scans(&shipment).await?.iter().map(TrackingEvent::placed))
    };
    let failed = fresh.iter().filter(|e| e.status == TrackingStatus::DeliveryFailed).max_by_key(|e| e.placed_at);
    shipment.ndr_reason = failed.and_then(|e| e.ndr_reason).or(shipment.ndr_reason);
    shipment.set_tracking_state(next);
    shipment.updated_at = received;
    uow.tx.update_shipment(&shipment).await?;
    if shipment.status != previous {
        tracing::info!(shipment = %shipment.id, from = previous.as_str(), to = shipment.status.as_str(), "shipment status moved");
        follow_order(uow, &shipment).await?;
        let scope = shipment.scope();
        uow.emit(
            &scope,
            Event::ShipmentStatusChanged { shipment: shipment.clone(), from: previous, scans: fresh.clone() },
        );
    }
    uow.emit(&shipment.scope(), Event::TrackerUpdated { shipment: shipment.clone(), scans: fresh.clone() });
    Ok(ScanOutcome { shipment, fresh })
}

impl Engine {
    /// How long until the next poll of a shipment at `status`: busy stages more often.
    pub(crate) fn poll_delay(&self, status: TrackingStatus) -> i64 {
        let base = self.config().poll_interval.as_millis() as i64;
        match status {
            TrackingStatus::OutForDelivery
            | TrackingStatus::DeliveryFailed
            | TrackingStatus::AvailableForPickup
            | TrackingStatus::Exception => base,
            TrackingStatus::InTransit => base * 2,
            _ => base * 4,
        }
    }

    /// Records scans on one shipment in one unit of work.
    pub(crate) async fn record_scans(
        &self,
        scope: &Scope,
        id: &ShipmentId,
        scans: Vec<Scan>,
        source: ScanSource,
    ) -> Result<ScanOutcome, EngineError> {
        let mut uow = self.begin().await?;
        let shipment = uow.tx.lock_shipment(scope, id).await?;
        let outcome = apply_scans(&mut uow, shipment, scans, source).await?;
        uow.commit(self).await?;
        Ok(outcome)
    }

    /// Records scans on several shipments all or nothing: one unit of work for all of them.
    pub(crate) async fn record_scans_of_many(
        &self,
        scope: &Scope,
        scans: Vec<(ShipmentId, Vec<Scan>)>,
        source: ScanSource,
    ) -> Result<Vec<ScanOutcome>, EngineError> {
        let mut uow = self.begin().await?;
        let mut outcomes = Vec::with_capacity(scans.len());
        for (id, scans) in scans {
            let shipment = uow.tx.lock_shipment(scope, &id).await?;
            outcomes.push(apply_scans(&mut uow, shipment, scans, source).await?);
        }
        uow.commit(self).await?;
        Ok(outcomes)
    }

    /// Pulls the carrier's scans for a shipment. Returns the shipment after them.
    pub async fn track_now(&self, scope: &Scope, id: &ShipmentId) -> Result<Shipment, EngineError> {
        let shipment = self.store().shipment(scope, id).await?;
        let Some(tracking_number) = shipment.tracking_number.as_deref() else { return Ok(shipment) };
        let (account, secrets, carrier) = self.account(scope, &shipment.carrier_account_id).await?;
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        let scans = carrier.track(&ctx, tracking_number).await?;
        Ok(self.record_scans(scope, id, scans, ScanSource::Pull).await?.shipment)
    }

    /// The `track` job: one poll, then the next one scheduled until a final status.
    pub(crate) async fn track_job(&self, scope: &Scope, id: &ShipmentId) -> Result<Next, EngineError> {
        let shipment = self.track_now(scope, id).await?;
        self.notice_delay(scope, &shipment).await?;
        let age = now_ms() - shipment.created_at;
        if shipment.status.is_final() || age > self.config().tracking_max_age.as_millis() as i64 {
            return Ok(Next::Done);
        }
        Ok(Next::RunAgainAt(now_ms() + self.poll_delay(shipment.status)))
    }

    /// Emits `shipment.delayed` once, the first time a poll finds the shipment past its EDD
    /// (a day counts as passed once it has ended in UTC).
    async fn notice_delay(&self, scope: &Scope, shipment: &Shipment) -> Result<(), EngineError> {
        if !shipment.is_overdue(Utc::now().date_naive()) {
            return Ok(());
        }
        let events = self.store().events_about(scope, shipment.id.as_str()).await?;
        if events.iter().any(|e| matches!(e.event, Event::ShipmentDelayed { .. })) {
            return Ok(());
        }
        let mut uow = self.begin().await?;
        uow.emit(scope, Event::ShipmentDelayed { shipment: shipment.clone() });
        uow.commit(self).await
    }

    /// Where this account's carrier pushes scans, and the secret it signs them with.
    pub(crate) fn push_target(&self, account: &CarrierAccount, secrets: &AccountSecrets) -> PushTarget {
        PushTarget { url: self.push_url(account), secret: secrets.push_secret.clone() }
    }

    /// Asks the carrier to push this shipment's scans to us.
    pub(crate) async fn subscribe(&self, scope: &Scope, id: &ShipmentId) -> Result<(), EngineError> {
        let shipment = self.store().shipment(scope, id).await?;
        let Some(tracking_number) = shipment.tracking_number.as_deref() else { return Ok(()) };
        if shipment.status.is_final() {
            return Ok(());
        }
        self.subscribe_tracking(scope, &shipment.carrier_account_id, tracking_number).await
    }

    /// Asks the carrier of `account` to push the scans of `tracking_number` to us.
    pub(crate) async fn subscribe_tracking(
        &self,
        scope: &Scope,
        account: &CarrierAccountId,
        tracking_number: &str,
    ) -> Result<(), EngineError> {
        let (account, secrets, carrier) = self.account(scope, account).await?;
        if !carrier.info().capabilities.push {
            return Ok(());
        }
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        carrier.subscribe(&ctx, tracking_number, &self.push_target(&account, &secrets)).await?;
        Ok(())
    }

    /// Takes in a carrier's push: checks its signature with the account's secret, then records
    /// each scan on the shipment it belongs to. An unknown account, another carrier's slug, a
    /// carrier that does not push and a bad signature are all refused alike, so the endpoint
    /// tells a stranger nothing about which accounts exist.
    pub async fn ingest_push(
        &self,
        carrier_slug: &str,
        account_id: &CarrierAccountId,
        push: &PushRequest<'_>,
    ) -> Result<PushReceipt, EngineError> {
        let refused = |why: &str| {
            tracing::warn!(carrier = carrier_slug, account = %account_id, why, "push refused");
            EngineError::PushRefused
        };
        let account = match self.store().carrier_account_for_push(account_id).await {
            Ok(account) => account,
            Err(StoreError::NotFound) => return Err(refused("no such account")),
            Err(e) => return Err(e.into()),
        };
        let carrier = match self.carriers().get(carrier_slug) {
            Some(c) if account.carrier == carrier_slug && c.info().capabilities.push => c.clone(),
            _ => return Err(refused("the account is not of this carrier, or it does not push")),
        };
        let secrets = self.secrets_of(&account).await?;
        let pushed = match carrier.parse_push(&secrets.push_secret, push) {
            Ok(pushed) => pushed,
            Err(PushError::BadSignature(why)) => return Err(refused(&why)),
            Err(e) => return Err(e.into()),
        };
        let mut receipt = PushReceipt { scans: pushed.len(), ..Default::default() };
        for p in pushed {
            let mut uow = self.begin().await?;
            let Some(shipment) = uow.tx.lock_shipment_for_account(&account.id, &p.tracking_number).await? else {
                tracing::warn!(carrier = carrier_slug, account = %account.id, tracking_number = %p.tracking_number, "push for an unknown tracking number");
                receipt.unknown += 1;
                continue;
            };
            let outcome = apply_scans(&mut uow, shipment, vec![p.scan], ScanSource::Push).await?;
            uow.commit(self).await?;
            receipt.recorded += outcome.fresh.len();
            receipt.clock_skewed += outcome.clock_skewed().count();
        }
        Ok(receipt)
    }
}
