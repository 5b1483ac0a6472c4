//! `sandbox`: the Waybill carrier simulator (`waybill sim`), spoken to over HTTP exactly like
//! a real carrier. Follows the simulator's API as documented in the `waybill-sim` crate.
//!
//! Auth is an `X-Api-Key` header. Pushes are signed `sha256=<hex HMAC-SHA256(secret,
//! "<X-Sim-Timestamp>.<body>")>` in `X-Sim-Signature`. The carrier renders no label of its
//! own: Waybill prints one from the routing data the booking returns.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate};
use hmac::{KeyInit, Mac};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use waybill_core::{Address, Mode, Money, NdrReason, Parcel, Routing, TrackingStatus};

use crate::http::{CarrierFault, Repeatable, read_answer, send};
use crate::model::*;
use crate::{Carrier, CarrierError};

const SLUG: &str = "sandbox";

/// Simulator event code → normalized status.
const STATUSES: &[(&str, TrackingStatus)] = &[
    ("BK", TrackingStatus::InfoReceived),
    ("PU", TrackingStatus::PickedUp),
    ("DP", TrackingStatus::InTransit),
    ("AR", TrackingStatus::InTransit),
    ("OD", TrackingStatus::OutForDelivery),
    ("UD", TrackingStatus::DeliveryFailed),
    ("DL", TrackingStatus::Delivered),
    ("HP", TrackingStatus::AvailableForPickup),
    ("EX", TrackingStatus::Exception),
    ("RT", TrackingStatus::ReturnToOrigin),
    ("RI", TrackingStatus::ReturnToOrigin),
    ("RD", TrackingStatus::Returned),
    ("CX", TrackingStatus::Cancelled),
    ("LS", TrackingStatus::Exception),
];

/// Simulator `UD` reason code → NDR reason.
const NDR_REASONS: &[(&str, NdrReason)] = &[
    ("CNA", NdrReason::CustomerUnavailable),
    ("ADR", NdrReason::AddressIssue),
    ("REF", NdrReason::Refused),
    ("COD", NdrReason::CodNotReady),
    ("CLS", NdrReason::PremisesClosed),
    ("RSC", NdrReason::RescheduledByCustomer),
    ("OOS", NdrReason::OutOfServiceArea),
];

/// A code the tables do not know is kept and logged, and read as `in_transit`: the state
/// machine never lets that move a shipment backwards, and nothing is dropped.
const UNKNOWN_CODE_STATUS: TrackingStatus = TrackingStatus::InTransit;

const SERVICES: &[(&str, &str)] = &[("express", "Express"), ("standard", "Standard"), ("economy", "Economy")];

/// Journeys the simulator can play in test mode.
pub const SCENARIOS: &[&str] = &["delivered", "ndr_then_delivered", "rto", "lost", "exception"];

/// Pushes older than this are refused, so a captured push cannot be replayed much later.
const PUSH_MAX_AGE_SECS: u64 = 300;

pub struct Sandbox {
    http: reqwest::Client,
    info: CarrierInfo,
}

impl Sandbox {
    pub fn new(http: reqwest::Client) -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "Waybill Sandbox",
            services: SERVICES.iter().map(|(code, name)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: true,
                find_booking: true,
                cash_on_delivery: true,
                address_validation: false,
                pickup: false,
                serviceability: false,
                returns: false,
            },
            credentials: CredentialSchema {
                fields: vec![CredentialField {
                    name: "api_key",
                    description: "Any non-empty key; it partitions the simulator's data",
                    required: true,
                }],
            },
            test_base_url: None,
            live_base_url: None,
            carrier_label_formats: vec![],
        };
        Self { http, info }
    }

    fn request(&self, account: &Account<'_>, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let key = account.credentials.get("api_key").and_then(Value::as_str).unwrap_or_default();
        self.http.request(method, format!("{}{path}", account.base_url.trim_end_matches('/'))).header("X-Api-Key", key)
    }
}

pub fn status_for(code: &str) -> Option<TrackingStatus> {
    STATUSES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

pub fn ndr_reason_for(code: &str) -> Option<NdrReason> {
    NDR_REASONS.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
}

#[derive(Serialize)]
struct SimAddress<'a> {
    name: &'a str,
    company: Option<&'a str>,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    street1: &'a str,
    street2: Option<&'a str>,
    city: &'a str,
    state: Option<&'a str>,
    postal_code: &'a str,
    country: &'a str,
}

impl<'a> From<&'a Address> for SimAddress<'a> {
    fn from(a: &'a Address) -> Self {
        Self {
            name: &a.name,
            company: a.company.as_deref(),
            phone: a.phone.as_deref(),
            email: a.email.as_deref(),
            street1: &a.street1,
            street2: a.street2.as_deref(),
            city: &a.city,
            state: a.state.as_deref(),
            postal_code: &a.postal_code,
            country: &a.country,
        }
    }
}

#[derive(Serialize)]
struct SimParcel {
    weight_g: u64,
    length_mm: Option<u64>,
    width_mm: Option<u64>,
    height_mm: Option<u64>,
}

fn sim_parcels(parcels: &[Parcel]) -> Vec<SimParcel> {
    parcels
        .iter()
        .map(|p| SimParcel {
            weight_g: p.weight_g,
            length_mm: p.dimensions_mm.map(|d| d.length),
            width_mm: p.dimensions_mm.map(|d| d.width),
            height_mm: p.dimensions_mm.map(|d| d.height),
        })
        .collect()
}

#[derive(Deserialize)]
struct SimMoney {
    amount: String,
    currency: String,
}

impl SimMoney {
    fn to_money(&self) -> Result<Money, CarrierError> {
        let amount = Decimal::from_str(&self.amount)
            .map_err(|_| protocol(format!("charge amount `{}` is not a decimal", self.amount)))?;
        let currency = self.currency.parse().map_err(protocol)?;
        Ok(Money::new(amount, currency))
    }
}

#[derive(Deserialize)]
struct SimShipment {
    awb: String,
    shipment_id: String,
    service: String,
    charge: SimMoney,
    edd: Option<NaiveDate>,
    routing: Routing,
}

impl SimShipment {
    fn into_booking(self) -> Result<Booking, CarrierError> {
        Ok(Booking {
            charge: Some(self.charge.to_money()?),
            tracking_number: self.awb,
            carrier_shipment_id: self.shipment_id,
            service: self.service,
            edd: self.edd,
            routing: Some(self.routing),
            documents: vec![],
        })
    }
}

#[derive(Deserialize)]
struct SimErrorBody {
    error: SimError,
}

#[derive(Deserialize)]
struct SimError {
    code: String,
    message: String,
    field: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct SimEvent {
    event_id: String,
    code: String,
    description: String,
    location: Option<String>,
    timestamp: DateTime<FixedOffset>,
    reason_code: Option<String>,
}

fn protocol(message: impl Into<String>) -> CarrierError {
    CarrierError::Protocol { carrier: SLUG, message: message.into() }
}

/// Reads a simulator answer; its error bodies are `{"error": {"code", "message", "field"}}`.
async fn read<T: for<'de> Deserialize<'de>>(
    response: reqwest::Response,
    what: &str,
    repeatable: Repeatable,
) -> Result<T, CarrierError> {
    read_answer(SLUG, response, what, repeatable, |_, body| {
        serde_json::from_slice::<SimErrorBody>(body).ok().map(|b| CarrierFault {
            code: b.error.code,
            message: b.error.message,
            field: b.error.field,
        })
    })
    .await
}

fn scan_from(event: SimEvent) -> Scan {
    let status = status_for(&event.code).unwrap_or_else(|| {
        tracing::warn!(carrier = SLUG, code = %event.code, "unknown carrier status code, read as in_transit");
        UNKNOWN_CODE_STATUS
    });
    let ndr_reason = (status == TrackingStatus::DeliveryFailed).then(|| {
        event.reason_code.as_deref().and_then(ndr_reason_for).unwrap_or_else(|| {
            tracing::warn!(carrier = SLUG, reason = ?event.reason_code, "unknown failed-delivery reason, read as other");
            NdrReason::Other
        })
    });
    Scan {
        raw: serde_json::to_value(&event).unwrap_or(Value::Null),
        event_id: Some(event.event_id),
        code: event.code,
        status,
        reason_code: event.reason_code,
        ndr_reason,
        description: event.description,
        location: event.location,
        occurred_at: event.timestamp,
    }
}

#[async_trait::async_trait]
impl Carrier for Sandbox {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        #[derive(Deserialize)]
        struct Rates {
            rates: Vec<SimRate>,
        }
        #[derive(Deserialize)]
        struct SimRate {
            service: String,
            charge: SimMoney,
            transit_days: Option<u32>,
        }
        let body = serde_json::json!({
            "shipper": SimAddress::from(&request.ship_from),
            "consignee": SimAddress::from(&request.ship_to),
            "parcels": sim_parcels(&request.parcels),
        });
        let req = self.request(account, reqwest::Method::POST, "/api/v1/rates").json(&body);
        let rates: Rates = read(send(SLUG, req, Repeatable::Yes).await?, "rates", Repeatable::Yes).await?;
        rates
            .rates
            .into_iter()
            .map(|r| Ok(Rate { charge: r.charge.to_money()?, service: r.service, transit_days: r.transit_days }))
            .collect()
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        let scenario = match (&request.simulate, account.mode) {
            (Some(s), Mode::Test) => Some(s.as_str()),
            _ => None,
        };
        let body = serde_json::json!({
            "reference": request.reference,
            "service": request.service,
            "shipper": SimAddress::from(&request.ship_from),
            "consignee": SimAddress::from(&request.ship_to),
            "parcels": sim_parcels(&request.parcels),
            "cod": request.cod.map(|m| serde_json::json!({"amount": m.amount.to_string(), "currency": m.currency.code()})),
            "scenario": scenario,
        });
        let req = self.request(account, reqwest::Method::POST, "/api/v1/shipments").json(&body);
        let shipment: SimShipment = read(send(SLUG, req, Repeatable::No).await?, "shipment", Repeatable::No).await?;
        shipment.into_booking()
    }

    async fn find_booking(&self, account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        #[derive(Deserialize)]
        struct Found {
            shipments: Vec<SimShipment>,
        }
        let req = self.request(account, reqwest::Method::GET, "/api/v1/shipments").query(&[("reference", reference)]);
        let found: Found = read(send(SLUG, req, Repeatable::Yes).await?, "shipment search", Repeatable::Yes).await?;
        found.shipments.into_iter().next().map(SimShipment::into_booking).transpose()
    }

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let path = format!("/api/v1/shipments/{}/cancel", booking.tracking_number);
        // Cancelling twice is harmless at this carrier, so a timeout may be retried.
        let req = self.request(account, reqwest::Method::POST, &path);
        read::<Value>(
            send(SLUG, req, Repeatable::Yes).await?,
            &format!("shipment {}", booking.tracking_number),
            Repeatable::Yes,
        )
        .await?;
        Ok(())
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        #[derive(Deserialize)]
        struct Tracking {
            events: Vec<SimEvent>,
        }
        let req = self.request(account, reqwest::Method::GET, &format!("/api/v1/tracking/{tracking_number}"));
        let tracking: Tracking = read(
            send(SLUG, req, Repeatable::Yes).await?,
            &format!("tracking number {tracking_number}"),
            Repeatable::Yes,
        )
        .await?;
        Ok(tracking.events.into_iter().map(scan_from).collect())
    }

    async fn subscribe(
        &self,
        account: &Account<'_>,
        tracking_number: &str,
        target: &PushTarget,
    ) -> Result<(), CarrierError> {
        let body = serde_json::json!({"awb": tracking_number, "url": target.url, "secret": target.secret});
        let req = self.request(account, reqwest::Method::POST, "/api/v1/subscriptions").json(&body);
        read::<Value>(
            send(SLUG, req, Repeatable::Yes).await?,
            &format!("tracking number {tracking_number}"),
            Repeatable::Yes,
        )
        .await?;
        Ok(())
    }

    fn parse_push(&self, secret: &str, push: &PushRequest<'_>) -> Result<Vec<PushedScan>, PushError> {
        let timestamp = push
            .header("x-sim-timestamp")
            .ok_or_else(|| PushError::BadSignature("X-Sim-Timestamp is missing".into()))?;
        let signature = push
            .header("x-sim-signature")
            .ok_or_else(|| PushError::BadSignature("X-Sim-Signature is missing".into()))?;
        let given = signature
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| PushError::BadSignature("X-Sim-Signature is not `sha256=<hex>`".into()))?;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(push.body);
        mac.verify_slice(&given).map_err(|_| PushError::BadSignature("signature does not match".into()))?;
        let sent =
            timestamp.parse::<i64>().map_err(|_| PushError::BadSignature("X-Sim-Timestamp is not a number".into()))?;
        if chrono::Utc::now().timestamp().abs_diff(sent) > PUSH_MAX_AGE_SECS {
            return Err(PushError::BadSignature(format!(
                "X-Sim-Timestamp is more than {PUSH_MAX_AGE_SECS} s away from now"
            )));
        }

        #[derive(Deserialize)]
        struct Pushed {
            awb: String,
            event: SimEvent,
        }
        let pushed: Pushed = serde_json::from_slice(push.body).map_err(|e| PushError::Malformed(e.to_string()))?;
        Ok(vec![PushedScan { tracking_number: pushed.awb, scan: scan_from(pushed.event) }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_simulator_code_maps_and_failures_carry_a_reason() {
        for code in ["BK", "PU", "DP", "AR", "OD", "UD", "DL", "HP", "EX", "RT", "RI", "RD", "CX", "LS"] {
            assert!(status_for(code).is_some(), "{code} has no mapping");
        }
        let ev = |code: &str, reason: Option<&str>| SimEvent {
            event_id: "e".into(),
            code: code.into(),
            description: "d".into(),
            location: None,
            timestamp: DateTime::parse_from_rfc3339("2026-11-21T10:00:00+03:00").unwrap(),
            reason_code: reason.map(Into::into),
        };
        assert_eq!(scan_from(ev("UD", Some("CNA"))).ndr_reason, Some(NdrReason::CustomerUnavailable));
        assert_eq!(scan_from(ev("UD", Some("ZZZ"))).ndr_reason, Some(NdrReason::Other));
        let unknown = scan_from(ev("QQ", None));
        assert_eq!(
            (unknown.status, unknown.code.as_str()),
            (TrackingStatus::InTransit, "QQ"),
            "unknown codes are kept, not dropped"
        );
        assert_eq!(scan_from(ev("DL", None)).ndr_reason, None);
    }
}
