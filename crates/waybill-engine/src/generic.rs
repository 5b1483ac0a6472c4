//! Generic (no-API) carrier accounts: the tenant describes the carrier, Waybill hands out or
//! checks tracking numbers, books locally (intent → number → outcome, as for any carrier) and
//! takes the scans the merchant reports.

use std::collections::BTreeMap;

use chrono::DateTime;
use sha2::{Digest, Sha256};
use waybill_carriers::Scan;
use waybill_carriers::generic::{SLUG, Settings, TrackingNumbers};
use waybill_core::account::CarrierAccount;
use waybill_core::api::time;
use waybill_core::api::views::ClockSkewView;
use waybill_core::error::Problems;
use waybill_core::ids::{CarrierAccountId, ShipmentId};
use waybill_core::text;
use waybill_core::{BookingState, Event, Invalid, NdrReason, ScanSource, Scope, Shipment, TrackingStatus};

use crate::booking::BookInput;
use crate::error::Found;
use crate::orders::follow_order;
use crate::{Engine, EngineError};

/// Most scans one report may carry; bigger files are split by the merchant.
pub const MAX_REPORTED_SCANS: usize = 10_000;

/// Checks `settings` for an account of `carrier`; for a generic one, returns them as stored
/// with the range's first number.
pub(crate) fn check_settings(
    carrier: &str,
    settings: Option<&serde_json::Value>,
    problems: &mut Problems,
) -> Option<(serde_json::Value, Option<i64>)> {
    if carrier != SLUG {
        if settings.is_some_and(|s| !s.is_null()) {
            problems.add("/settings", format!("settings are only for generic carriers; {carrier} takes none"));
        }
        return None;
    }
    match Settings::parse(settings) {
        Ok(s) => {
            let first = match &s.tracking_numbers {
                TrackingNumbers::Range(r) => Some(r.first as i64),
                TrackingNumbers::Pattern(_) => None,
            };
            Some((serde_json::to_value(&s).expect("settings serialize"), first))
        }
        Err(errors) => {
            problems.extend(errors);
            None
        }
    }
}

/// The settings of a generic account (`None` for accounts of other carriers).
fn settings_of(account: &CarrierAccount) -> Result<Option<Settings>, EngineError> {
    if account.carrier != SLUG {
        return Ok(None);
    }
    let value = account.settings.clone().unwrap_or_default();
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| EngineError::Internal(format!("carrier account {} has unreadable settings: {e}", account.id)))
}

/// One scan as the merchant reported it, before it is checked.
#[derive(Debug, Clone)]
pub struct ReportedScan {
    /// Where the scan sits in the request (`/events/0`, `/rows/3`): problems point below it.
    pub at: String,
    pub tracking_number: String,
    pub status: String,
    /// RFC 3339 with an offset.
    pub occurred_at: String,
    pub location: Option<String>,
    pub description: Option<String>,
    pub code: Option<String>,
    pub ndr_reason: Option<String>,
}

/// What a report of scans amounted to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub received: usize,
    pub applied: usize,
    /// Scans already recorded (the same row sent again).
    pub duplicates: usize,
    /// Applied scans whose time was ahead of their receipt: placed at the receipt instead.
    pub clock_skewed: Vec<ClockSkewView>,
}

fn optional(value: &Option<String>, at: &str, key: &str, rule: text::Rule, problems: &mut Problems) -> Option<String> {
    let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
    if let Some(e) = rule.check(&format!("{at}/{key}"), value) {
        problems.extend(vec![e]);
    }
    Some(value.to_owned())
}

/// Checks one reported scan; `None` when it has problems (added to `problems`).
fn check_scan(r: &ReportedScan, problems: &mut Problems) -> Option<Scan> {
    let mut own = Problems::new();
    let status = TrackingStatus::parse(r.status.trim());
    if let Some(e) = text::TRACKING_NUMBER.check(&format!("{}/tracking_number", r.at), &r.tracking_number) {
        own.extend(vec![e]);
    }
    if status.is_none() {
        let known: Vec<_> = TrackingStatus::ALL.iter().map(|s| s.as_str()).collect();
        own.add(format!("{}/status", r.at), format!("unknown status `{}`; use one of: {}", r.status, known.join(", ")));
    }
    let occurred_at = DateTime::parse_from_rfc3339(r.occurred_at.trim()).ok();
    if occurred_at.is_none() {
        own.add(
            format!("{}/occurred_at", r.at),
            format!("`{}` is not an RFC 3339 time with an offset (e.g. 2025-03-01T14:05:00+03:00)", r.occurred_at),
        );
    }
    let ndr_reason = match r.ndr_reason.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(reason) => match NdrReason::parse(reason) {
            Some(_) if status != Some(TrackingStatus::DeliveryFailed) => {
                own.add(format!("{}/ndr_reason", r.at), "only a `delivery_failed` scan has an NDR reason");
                None
            }
            Some(reason) => Some(reason),
            None => {
                let known: Vec<_> = NdrReason::ALL.iter().map(|s| s.as_str()).collect();
                own.add(
                    format!("{}/ndr_reason", r.at),
                    format!("unknown NDR reason `{reason}`; use one of: {}", known.join(", ")),
                );
                None
            }
        },
    };
    let location = optional(&r.location, &r.at, "location", text::INSTRUCTIONS, &mut own);
    let description = optional(&r.description, &r.at, "description", text::DESCRIPTION, &mut own);
    let code = optional(&r.code, &r.at, "code", text::SERVICE, &mut own);
    let failed = own.finish(()).err();
    if let Some(Invalid(errors)) = failed {
        problems.extend(errors);
        return None;
    }
    let (status, occurred_at) = (status?, occurred_at?);
    // The same row sent again is the same scan, whatever request or file carried it.
    let mut h = Sha256::new();
    for part in [
        r.tracking_number.as_str(),
        status.as_str(),
        &occurred_at.to_rfc3339(),
        location.as_deref().unwrap_or(""),
        description.as_deref().unwrap_or(""),
        code.as_deref().unwrap_or(""),
        ndr_reason.map_or("", |n| n.as_str()),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let raw = serde_json::json!({
        "tracking_number": r.tracking_number, "status": status.as_str(), "occurred_at": r.occurred_at.trim(),
        "location": location, "description": description, "code": code, "ndr_reason": ndr_reason.map(|n| n.as_str()),
    });
    Some(Scan {
        event_id: Some(format!("merchant:{}", hex::encode(h.finalize()))),
        code: code.unwrap_or_else(|| status.as_str().to_owned()),
        status,
        reason_code: None,
        ndr_reason,
        description: description.unwrap_or_else(|| status.as_str().replace('_', " ")),
        location,
        occurred_at,
        raw,
    })
}

impl Engine {
    /// Books with a generic account: the number comes from its range or from the merchant,
    /// then the shipment is recorded booked at once (nothing leaves Waybill).
    pub(crate) async fn book_generic(
        &self,
        scope: &Scope,
        id: ShipmentId,
        input: BookInput,
        account: &CarrierAccount,
    ) -> Result<Shipment, EngineError> {
        let settings = settings_of(account)?.expect("a generic account");
        let mut problems = Problems::new();
        if settings.service(&input.service).is_none() {
            let known: Vec<_> = settings.services.iter().map(|s| s.code.as_str()).collect();
            problems.add(
                "/service",
                format!(
                    "`{}` is not a service of {}; choose one of: {}",
                    input.service,
                    settings.name,
                    known.join(", ")
                ),
            );
        }
        match (&settings.tracking_numbers, &input.tracking_number) {
            (TrackingNumbers::Pattern(pattern), None) => problems.add(
                "/tracking_number",
                format!("this account takes the merchant's tracking numbers: give one matching `{pattern}`"),
            ),
            (_, Some(number)) => {
                if let Err(e) = settings.check_tracking_number(number) {
                    problems.add("/tracking_number", e);
                }
            }
            (TrackingNumbers::Range(_), None) => {}
        }
        problems.finish(())?;
        let tracking_number = match (&settings.tracking_numbers, input.tracking_number.clone()) {
            (TrackingNumbers::Range(range), _) => {
                let taken = self.store().take_tracking_number(scope, &account.id, range.last as i64).await?;
                let n = taken.ok_or_else(|| {
                    EngineError::Conflict(format!(
                        "the tracking number range of carrier account {} is used up (last {}); \
                         create an account with a new range",
                        account.id,
                        range.tracking_number(range.last)
                    ))
                })?;
                range.tracking_number(n as u64)
            }
            (TrackingNumbers::Pattern(_), number) => {
                let number = number.expect("checked above");
                self.refuse_used_number(scope, account, &number).await?;
                number
            }
        };

        let label_format = input.label_format;
        let service = input.service.clone();
        let mut shipment = self.pending_shipment(scope, id, input, &account.carrier);
        shipment.tracking_number = Some(tracking_number.clone());
        shipment.carrier_shipment_id = Some(tracking_number.clone());
        shipment.service = service;
        shipment.booking_state = BookingState::Booked;
        let mut documents = vec![];
        self.booking_label(&shipment, label_format, &mut documents).await;
        // Intent and outcome in one unit of work: no carrier is called. No jobs follow: there
        // is nothing to subscribe to or pull; the merchant reports the scans.
        let written = async {
            let mut uow = self.begin().await?;
            crate::booking::insert_intent(&mut uow, &shipment, &self.config().node).await?;
            uow.tx.update_shipment(&shipment).await?;
            for (format, bytes) in &documents {
                uow.tx.insert_document(&shipment, format, bytes).await?;
            }
            follow_order(&mut uow, &shipment).await?;
            uow.emit(scope, Event::ShipmentBooked { shipment: shipment.clone() });
            uow.commit(self).await
        }
        .await;
        match written {
            Ok(()) => Ok(shipment),
            Err(e) => {
                // Two bookings raced for one merchant number: the unique index let one through,
                // and the other fails at whichever write meets it first.
                self.refuse_used_number(scope, account, &tracking_number).await?;
                Err(e)
            }
        }
    }

    /// A conflict when another shipment of the account already has `tracking_number`.
    async fn refuse_used_number(
        &self,
        scope: &Scope,
        account: &CarrierAccount,
        tracking_number: &str,
    ) -> Result<(), EngineError> {
        match self.store().shipment_for_account(scope, &account.id, tracking_number).await? {
            Some(other) => Err(EngineError::Conflict(format!(
                "tracking number {tracking_number} is already used by shipment {} on carrier account {}",
                other.id, account.id
            ))),
            None => Ok(()),
        }
    }

    /// The carrier and service names a generic account prints on its labels.
    pub(crate) async fn generic_label_names(
        &self,
        shipment: &Shipment,
    ) -> Result<Option<(String, String)>, EngineError> {
        if shipment.carrier != SLUG {
            return Ok(None);
        }
        let account = self.store().carrier_account(&shipment.scope(), &shipment.carrier_account_id).await?;
        Ok(settings_of(&account)?.map(|s| {
            let service = s.service(&shipment.service).map_or_else(|| shipment.service.clone(), |c| c.name.clone());
            (s.name, service)
        }))
    }

    /// The carrier's tracking page for a booked shipment of a generic account.
    pub(crate) async fn tracking_url(&self, shipment: &Shipment) -> Result<Option<String>, EngineError> {
        let Some(tracking_number) = shipment.tracking_number.as_deref().filter(|_| shipment.carrier == SLUG) else {
            return Ok(None);
        };
        let account = self.store().carrier_account(&shipment.scope(), &shipment.carrier_account_id).await?;
        Ok(settings_of(&account)?.map(|s| s.tracking_url_for(tracking_number)))
    }

    /// Records scans the merchant reports for shipments of a generic account. All or nothing:
    /// every scan is checked first, one bad field refuses the whole report, and every shipment
    /// is moved in one unit of work. A scan sent again (same content) is counted as a duplicate
    /// and changes nothing.
    pub async fn report_scans(
        &self,
        scope: &Scope,
        account_id: &CarrierAccountId,
        reported: Vec<ReportedScan>,
    ) -> Result<ScanReport, EngineError> {
        let account =
            self.store().carrier_account(scope, account_id).await.found(|| format!("carrier account {account_id}"))?;
        if account.carrier != SLUG {
            return Err(EngineError::Conflict(format!(
                "carrier account {account_id} is a {} account: its scans come from the carrier; \
                 only generic accounts take reported scans",
                account.carrier
            )));
        }
        if reported.len() > MAX_REPORTED_SCANS {
            return Err(
                Invalid::one("", format!("at most {MAX_REPORTED_SCANS} scans per request; split the rest")).into()
            );
        }
        let mut problems = Problems::new();
        let mut by_shipment: BTreeMap<ShipmentId, Vec<Scan>> = BTreeMap::new();
        let mut clock_skewed = Vec::new();
        let now = chrono::Utc::now();
        let mut shipments: BTreeMap<String, Option<ShipmentId>> = BTreeMap::new();
        for r in &reported {
            let number = r.tracking_number.trim();
            let shipment = match shipments.get(number) {
                Some(found) => found.clone(),
                None => {
                    let found = self.store().shipment_for_account(scope, &account.id, number).await?.map(|s| s.id);
                    shipments.insert(number.to_owned(), found.clone());
                    found
                }
            };
            if shipment.is_none() {
                problems.add(
                    format!("{}/tracking_number", r.at),
                    format!("no shipment of carrier account {account_id} has tracking number `{number}`"),
                );
            }
            let scan = check_scan(&ReportedScan { tracking_number: number.to_owned(), ..r.clone() }, &mut problems);
            if let (Some(id), Some(scan)) = (shipment, scan) {
                let placed = waybill_core::tracking::place(scan.status, scan.occurred_at.to_utc(), now);
                if placed.clock_ahead_by().is_some() {
                    clock_skewed.push(ClockSkewView {
                        at: r.at.clone(),
                        occurred_at: scan.occurred_at.to_rfc3339(),
                        placed_at: time(placed.at.timestamp_millis()),
                    });
                }
                by_shipment.entry(id).or_default().push(scan);
            }
        }
        problems.finish(())?;
        let outcomes =
            self.record_scans_of_many(scope, by_shipment.into_iter().collect(), ScanSource::Merchant).await?;
        let mut report = ScanReport { received: reported.len(), clock_skewed, ..Default::default() };
        report.applied = outcomes.iter().map(|o| o.fresh.len()).sum();
        report.duplicates = report.received - report.applied;
        Ok(report)
    }
}
