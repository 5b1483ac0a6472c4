//! Taking in scans, pulled by the `track` job or pushed by the carrier, through one path.

use serde_json::json;
use sha2::{Digest, Sha256};
use waybill_carriers::{PushRequest, PushTarget, Scan};
use waybill_core::TrackingStatus;
use waybill_core::ids::{CarrierAccountId, ShipmentId, TenantId};
use waybill_store::{
    AccountSecrets, CarrierAccount, NewJob, NewScan, ScanOutcome, ScanSource, Shipment, StoreError, now_ms,
};

use crate::jobs::CLOSE_ORDER;
use crate::{Engine, EngineError};

/// What a push request amounted to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PushReceipt {
    pub scans: usize,
    pub recorded: usize,
    /// Scans for tracking numbers this account never booked (kept out, logged).
    pub unknown: usize,
}

fn to_new_scan(scan: Scan, source: ScanSource) -> NewScan {
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
    NewScan {
        dedupe_key,
        code: scan.code,
        status: scan.status,
        reason_code: scan.reason_code,
        ndr_reason: scan.ndr_reason,
        description: scan.description,
        location: scan.location,
        occurred_at: scan.occurred_at,
        source,
        raw: scan.raw,
    }
}

/// Jobs a status change causes: a delivered order is closed by its own job.
fn follow_ups(shipment: &Shipment, _previous: TrackingStatus) -> Vec<NewJob> {
    match (&shipment.order_id, shipment.status) {
        (Some(order), TrackingStatus::Delivered) => vec![NewJob {
            kind: CLOSE_ORDER,
            payload: json!({ "order_id": order }),
            run_at: now_ms(),
            unique_key: Some(format!("{CLOSE_ORDER}:{order}")),
            max_attempts: 10,
        }],
        _ => vec![],
    }
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

    pub(crate) async fn record_scans(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        scans: Vec<Scan>,
        source: ScanSource,
    ) -> Result<ScanOutcome, EngineError> {
        let scans = scans.into_iter().map(|s| to_new_scan(s, source)).collect();
        let outcome = self.store().apply_scans(tenant, id, scans, follow_ups).await?;
        self.scans_recorded(&outcome);
        Ok(outcome)
    }

    /// Logs a status move and wakes the workers for the jobs it queued.
    fn scans_recorded(&self, outcome: &ScanOutcome) {
        if outcome.shipment.status != outcome.previous_status {
            tracing::info!(shipment = %outcome.shipment.id, from = outcome.previous_status.as_str(), to = outcome.shipment.status.as_str(), "shipment status moved");
            self.inner.jobs_queued.notify_waiters();
        }
    }

    /// Pulls the carrier's scans for a shipment. Returns the shipment after them.
    pub async fn track_now(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, EngineError> {
        let shipment = self.store().shipment(tenant, id).await?;
        let Some(tracking_number) = shipment.tracking_number.as_deref() else { return Ok(shipment) };
        let (account, secrets, carrier) = self.account(tenant, &shipment.carrier_account_id).await?;
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        let scans = carrier.track(&ctx, tracking_number).await?;
        Ok(self.record_scans(tenant, id, scans, ScanSource::Pull).await?.shipment)
    }

    /// Where this account's carrier pushes scans, and the secret it signs them with.
    pub(crate) fn push_target(&self, account: &CarrierAccount, secrets: &AccountSecrets) -> PushTarget {
        PushTarget { url: self.push_url(account), secret: secrets.push_secret.clone() }
    }

    /// The URL this account's carrier pushes scans to.
    pub fn push_url(&self, account: &CarrierAccount) -> String {
        format!(
            "{}/v1/hooks/carriers/{}/{}",
            self.config().public_url.trim_end_matches('/'),
            account.carrier,
            account.id
        )
    }

    /// Asks the carrier to push this shipment's scans to us.
    pub(crate) async fn subscribe(&self, tenant: &TenantId, id: &ShipmentId) -> Result<(), EngineError> {
        let shipment = self.store().shipment(tenant, id).await?;
        let Some(tracking_number) = shipment.tracking_number.as_deref() else { return Ok(()) };
        if shipment.status.is_final() {
            return Ok(());
        }
        self.subscribe_tracking(tenant, &shipment.carrier_account_id, tracking_number).await
    }

    /// Asks the carrier of `account` to push the scans of `tracking_number` to us.
    pub(crate) async fn subscribe_tracking(
        &self,
        tenant: &TenantId,
        account: &CarrierAccountId,
        tracking_number: &str,
    ) -> Result<(), EngineError> {
        let (account, secrets, carrier) = self.account(tenant, account).await?;
        if !carrier.info().capabilities.push {
            return Ok(());
        }
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        carrier.subscribe(&ctx, tracking_number, &self.push_target(&account, &secrets)).await?;
        Ok(())
    }

    /// Takes in a carrier's push: checks its signature with the account's secret, then records
    /// each scan on the shipment it belongs to.
    pub async fn ingest_push(
        &self,
        carrier_slug: &str,
        account_id: &CarrierAccountId,
        push: &PushRequest<'_>,
    ) -> Result<PushReceipt, EngineError> {
        let (account, secrets) = match self.cached_account(account_id) {
            Some(found) => found,
            None => match self.store().carrier_account_for_push(account_id).await {
                Ok((account, secrets)) => {
                    self.cache_account(&account, &secrets);
                    (account, secrets)
                }
                Err(StoreError::NotFound) => {
                    return Err(EngineError::NotFound(format!("carrier account {account_id}")));
                }
                Err(e) => return Err(e.into()),
            },
        };
        if account.carrier != carrier_slug {
            return Err(EngineError::NotFound(format!("{carrier_slug} account {account_id}")));
        }
        let carrier = self
            .carriers()
            .get(carrier_slug)
            .ok_or_else(|| EngineError::NotFound(format!("carrier {carrier_slug}")))?;
        let pushed = carrier.parse_push(&secrets.push_secret, push)?;
        let mut receipt = PushReceipt { scans: pushed.len(), ..Default::default() };
        for p in pushed {
            let scans = vec![to_new_scan(p.scan, ScanSource::Push)];
            match self.store().apply_pushed_scans(&account.id, &p.tracking_number, scans, follow_ups).await {
                Ok(outcome) => {
                    self.scans_recorded(&outcome);
                    receipt.recorded += outcome.recorded;
                }
                Err(StoreError::NotFound) => {
                    tracing::warn!(carrier = carrier_slug, account = %account.id, tracking_number = %p.tracking_number, "push for an unknown tracking number");
                    receipt.unknown += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(receipt)
    }
}
