//! End-of-day manifests: closing a carrier account's day. The manifest and its entries are
//! written in one transaction (each shipment on one manifest at most), with the job that tells
//! the carrier where it has a close call; that job retries while the carrier is down and
//! records its answer once. The printed manifest (PDF) and its CSV are made from the entries.

use serde::{Deserialize, Serialize};
use waybill_carriers::{CarrierError, ManifestRequest};
use waybill_core::api::requests::ManifestCreate;
use waybill_core::ids::{ManifestId, ShipmentId};
use waybill_core::manifest::{CloseOutcome, Manifest, ManifestEntry, ManifestStatus};
use waybill_core::units::display_grams;
use waybill_core::{Event, Page, Scope};
use waybill_labels::{ManifestRow, ManifestSpec, ManifestSums};
use waybill_store::now_ms;

use crate::error::Found;
use crate::jobs::{Job, JobContext, Next, Registry};
use crate::{Engine, EngineError};

/// Most parcels one manifest lists; the rest wait for the next close.
pub const MAX_MANIFEST_ENTRIES: u32 = 5000;

/// Tell the carrier about a manifest's close.
#[derive(Serialize, Deserialize)]
pub struct CloseManifest {
    pub manifest_id: ManifestId,
}

impl Job for CloseManifest {
    const KIND: &'static str = "close_manifest";
    const MAX_ATTEMPTS: u32 = 12;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.manifest_id))
    }
}

pub(crate) fn register(r: &mut Registry) {
    r.register(|engine: Engine, ctx: JobContext, job: CloseManifest| async move {
        let scope = ctx.scope.clone().ok_or_else(|| EngineError::Internal("a manifest job without a scope".into()))?;
        let last_attempt = ctx.attempt >= i64::from(CloseManifest::MAX_ATTEMPTS);
        engine.close_manifest_at_carrier(&scope, &job.manifest_id, last_attempt).await.map(|_| Next::Done)
    });
}

/// A manifest's printable forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    Pdf,
    Csv,
}

impl ManifestFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "pdf" => Some(Self::Pdf),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Csv => "csv",
        }
    }
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

fn destination(e: &ManifestEntry) -> String {
    format!("{} {}, {}", e.postal_code, e.city, e.country)
}

impl Engine {
    /// Closes the day on a carrier account: every shipment booked there that waits for its
    /// pickup and is on no manifest yet goes on a new one. Nothing waiting is a conflict.
    pub async fn create_manifest(
        &self,
        scope: &Scope,
        id: ManifestId,
        body: ManifestCreate,
    ) -> Result<Manifest, EngineError> {
        let (account, _, carrier) = self.named_account(scope, &body.carrier_account_id).await?;
        let carrier_close = carrier.info().capabilities.manifest;
        let now = now_ms();
        let mut uow = self.begin().await?;
        let candidates = uow.tx.manifest_candidates(scope, &account.id, MAX_MANIFEST_ENTRIES).await?;
        let manifest = Manifest {
            id,
            tenant_id: scope.tenant.clone(),
            mode: scope.mode,
            carrier_account_id: account.id.clone(),
            carrier: account.carrier.clone(),
            status: if carrier_close { ManifestStatus::Closing } else { ManifestStatus::Closed },
            carrier_close,
            carrier_reference: None,
            entries: candidates.iter().filter_map(|s| ManifestEntry::of(s, &account.id)).collect(),
            error: None,
            created_at: now,
            updated_at: now,
            closed_at: (!carrier_close).then_some(now),
        };
        let written = uow.tx.insert_manifest(&manifest).await?;
        if written.entries.is_empty() {
            drop(uow);
            return Err(EngineError::Conflict(format!(
                "nothing to manifest on {}: every parcel booked there that waits for its pickup is on a manifest \
                 already",
                account.id
            )));
        }
        uow.emit(scope, Event::ManifestCreated { manifest: written.clone() });
        if carrier_close {
            uow.enqueue(Some(scope), &CloseManifest { manifest_id: written.id.clone() }, now);
        } else {
            uow.emit(scope, Event::ManifestClosed { manifest: written.clone() });
        }
        uow.commit(self).await?;
        tracing::info!(manifest = %written.id, parcels = written.entries.len(), "manifest made");
        Ok(written)
    }

    /// Sends a refused close to the carrier again; its parcels stay as they were.
    pub async fn retry_manifest(&self, scope: &Scope, id: &ManifestId) -> Result<Manifest, EngineError> {
        let now = now_ms();
        let mut uow = self.begin().await?;
        let mut manifest = uow.tx.lock_manifest(scope, id).await.found(|| format!("manifest {id}"))?;
        manifest.retry(now).map_err(|e| EngineError::Conflict(e.to_string()))?;
        uow.tx.update_manifest(&manifest).await?;
        uow.enqueue(Some(scope), &CloseManifest { manifest_id: id.clone() }, now);
        uow.commit(self).await?;
        Ok(manifest)
    }

    /// Asks the carrier to close a `closing` manifest and records its answer once. A carrier
    /// that is down is asked again (the job's retries) until `last_attempt`, which records
    /// the close as failed so a person sees it.
    async fn close_manifest_at_carrier(
        &self,
        scope: &Scope,
        id: &ManifestId,
        last_attempt: bool,
    ) -> Result<(), EngineError> {
        let manifest = self.manifest(scope, id).await?;
        if manifest.status != ManifestStatus::Closing {
            return Ok(());
        }
        let (account, secrets, carrier) = self.account(scope, &manifest.carrier_account_id).await?;
        let request = ManifestRequest {
            reference: manifest.id.to_string(),
            date: self.sender_day(scope, &manifest).await?,
            tracking_numbers: manifest.entries.iter().map(|e| e.tracking_number.clone()).collect(),
        };
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        let outcome = match carrier.close_manifest(&ctx, &request).await {
            Ok(closed) => CloseOutcome::Closed { carrier_reference: closed.reference },
            Err(e) if (e.is_transient() || matches!(e, CarrierError::Unknown { .. })) && !last_attempt => {
                return Err(e.into());
            }
            Err(e) => CloseOutcome::Refused {
                code: e.carrier_code().unwrap_or("CARRIER_ERROR").to_owned(),
                message: e.to_string(),
            },
        };
        let mut uow = self.begin().await?;
        let mut manifest = uow.tx.lock_manifest(scope, id).await?;
        if manifest.settle(outcome, now_ms()).is_err() {
            return Ok(()); // settled by another run meanwhile
        }
        uow.tx.update_manifest(&manifest).await?;
        let event = match manifest.status {
            ManifestStatus::Closed => Event::ManifestClosed { manifest: manifest.clone() },
            _ => {
                tracing::warn!(manifest = %id, error = ?manifest.error, "the carrier did not close a manifest");
                Event::ManifestFailed { manifest: manifest.clone() }
            }
        };
        uow.emit(scope, event);
        uow.commit(self).await
    }

    /// The day the manifest was made, at its sender (the first parcel's), as carriers close
    /// days in the shipper's time.
    async fn sender_day(&self, scope: &Scope, manifest: &Manifest) -> Result<chrono::NaiveDate, EngineError> {
        let made = chrono::DateTime::from_timestamp_millis(manifest.created_at).unwrap_or_default();
        let first: Option<&ShipmentId> = manifest.entries.first().map(|e| &e.shipment_id);
        let zone = match first {
            Some(id) => crate::notify::zone_of(&self.store().shipment(scope, id).await?.ship_from.country),
            None => None,
        };
        Ok(zone.map_or_else(|| made.date_naive(), |tz| made.with_timezone(&tz).date_naive()))
    }

    pub async fn manifest(&self, scope: &Scope, id: &ManifestId) -> Result<Manifest, EngineError> {
        self.store().manifest(scope, id).await.found(|| format!("manifest {id}"))
    }

    /// The scope's manifests, oldest first.
    pub async fn list_manifests(
        &self,
        scope: &Scope,
        after: Option<&ManifestId>,
        limit: u32,
    ) -> Result<Page<Manifest>, EngineError> {
        Ok(self.store().list_manifests(scope, after, limit).await?)
    }

    /// The manifest printed (PDF) or as a spreadsheet (CSV).
    pub async fn manifest_document(
        &self,
        scope: &Scope,
        id: &ManifestId,
        format: ManifestFormat,
    ) -> Result<Vec<u8>, EngineError> {
        let manifest = self.manifest(scope, id).await?;
        match format {
            ManifestFormat::Csv => manifest_csv(&manifest),
            ManifestFormat::Pdf => {
                let account = self.store().carrier_account(scope, &manifest.carrier_account_id).await?;
                let carrier_name =
                    self.carriers().get(&manifest.carrier).map_or(manifest.carrier.as_str(), |c| c.info().name);
                let totals = manifest.totals();
                let spec = ManifestSpec {
                    manifest_id: manifest.id.to_string(),
                    carrier_name: carrier_name.to_owned(),
                    account: account.description.unwrap_or_else(|| account.id.to_string()),
                    created: time(manifest.created_at),
                    carrier_reference: manifest.carrier_reference.clone(),
                    rows: manifest
                        .entries
                        .iter()
                        .map(|e| ManifestRow {
                            tracking_number: e.tracking_number.clone(),
                            reference: e.reference.clone(),
                            consignee: e.consignee.clone(),
                            destination: destination(e),
                            parcels: e.parcels,
                            weight: display_grams(e.weight_g),
                            cod: e.cod.map(|m| m.to_string()),
                        })
                        .collect(),
                    totals: ManifestSums {
                        shipments: totals.shipments,
                        parcels: totals.parcels,
                        weight: display_grams(totals.weight_g),
                        cod: totals.cod.iter().map(ToString::to_string).collect(),
                    },
                };
                Ok(self.inner.labels.render_manifest(&spec)?)
            }
        }
    }
}

/// Text a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
/// gets a leading apostrophe: names and references come from customers and channels.
fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}").into() } else { text.into() }
}

/// One row per parcel line, with a header; amounts as plain decimals with their currency.
fn manifest_csv(manifest: &Manifest) -> Result<Vec<u8>, EngineError> {
    let fail = |e: csv::Error| EngineError::Internal(format!("cannot write manifest {}: {e}", manifest.id));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "manifest_id",
        "line",
        "tracking_number",
        "shipment_id",
        "order_id",
        "reference",
        "service",
        "consignee",
        "postal_code",
        "city",
        "country",
        "parcels",
        "weight_g",
        "cod_amount",
        "cod_currency",
    ])
    .map_err(fail)?;
    for (i, e) in manifest.entries.iter().enumerate() {
        out.write_record([
            manifest.id.as_str(),
            &(i + 1).to_string(),
            &e.tracking_number,
            e.shipment_id.as_str(),
            e.order_id.as_ref().map_or("", |o| o.as_str()),
            &cell(e.reference.as_deref().unwrap_or_default()),
            &e.service,
            &cell(&e.consignee),
            &cell(&e.postal_code),
            &cell(&e.city),
            &e.country,
            &e.parcels.to_string(),
            &e.weight_g.to_string(),
            &e.cod.map(|m| m.amount.to_string()).unwrap_or_default(),
            e.cod.map_or("", |m| m.currency.code()),
        ])
        .map_err(fail)?;
    }
    out.into_inner().map_err(|e| EngineError::Internal(format!("cannot write manifest {}: {e}", manifest.id)))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn text_a_spreadsheet_would_run_is_quoted() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("Ayşe Yılmaz"), "Ayşe Yılmaz");
    }
}
