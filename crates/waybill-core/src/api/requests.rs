//! What API requests carry, and the checks on them that need no I/O. Every string field has a
//! `maxLength` in the OpenAPI document and a rule in [`crate::text`].

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use crate::address::Address;
use crate::channel::ConnectionSettings;
use crate::error::{FieldError, Invalid, Problems};
use crate::ids::{CarrierAccountId, LocationId, OrderId, ShipmentId};
use crate::money::{Currency, Money};
use crate::order::{LineItem, Payment, ShipmentLine, order_problems};
use crate::parcel::{Parcel, ParcelInput};
use crate::scope::Mode;
use crate::text;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "external_id": "1001", "currency": "TRY",
    "line_items": [{"sku": "TSHIRT-M", "name": "Tişört", "quantity": 2, "unit_price": "249.95"}],
    "ship_to": {"name": "Şükrü Çağlayan", "street1": "Bağdat Caddesi No: 12", "city": "İstanbul",
                "postal_code": "34710", "country": "TR", "phone": "+90 532 123 45 67"},
    "payment": {"method": "cod", "amount": "499.90"}
})))]
pub struct OrderCreate {
    /// The order's id in the channel it came from (e.g. the shop's order number).
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub external_id: String,
    /// Where the order came from (letters, digits and `- _ . :`); `api` when not given.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 50))]
    pub channel: Option<String>,
    pub currency: Currency,
    pub line_items: Vec<LineItem>,
    pub ship_to: Address,
    pub payment: Payment,
    /// The customer's language as a BCP 47 tag (`tr`, `fr-CA`, `ko-KR`): messages and the
    /// tracking page use it when Waybill speaks it, else the ship-to country's language.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 35))]
    pub locale: Option<String>,
}

impl OrderCreate {
    /// Every problem with the order, each with its pointer.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        out.extend(text::EXTERNAL_ID.check("/external_id", &self.external_id));
        if let Some(channel) = &self.channel {
            out.extend(text::CHANNEL.check("/channel", channel));
        }
        out.extend(order_problems(&self.line_items, &self.payment, self.currency));
        out.extend(self.ship_to.problems("/ship_to"));
        if self.locale.as_deref().is_some_and(|l| !is_language_tag(l)) {
            out.push(FieldError::new("/locale", "a language tag such as `tr`, `fr-CA` or `ko-KR`"));
        }
        out
    }
}

/// A BCP 47 tag of the common shape: a 2–3 letter language, then subtags of 2–8 letters or digits.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let language = parts.next().unwrap_or_default();
    tag.len() <= 35
        && (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentOptions {
    /// Test mode only: the journey the sandbox carrier plays
    /// (`delivered`, `ndr_then_delivered`, `ndr`, `rto`, `lost`, `exception`, `info`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub simulate: Option<String>,
    /// `pdf`, `zpl` or `png`: render the label with the booking and keep it with the booked
    /// shipment, so the first `GET …/label` in this format is a plain read. Other formats are
    /// rendered when first fetched. A label the carrier sends in this format is used as is.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8))]
    pub label_format: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz", "service": "express",
    "ship_from": {"name": "Demo Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
    "ship_to": {"name": "Ayşe Yılmaz", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"},
    "parcels": [{"weight": {"value": 1.2, "unit": "kg"}}],
    "reference": "1001",
    "options": {"simulate": "delivered", "label_format": "zpl"}
})))]
pub struct ShipmentCreate {
    /// Book for this order: its address, COD amount and reference are used unless given here.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    pub carrier_account_id: CarrierAccountId,
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub service: String,
    /// The sender; without it, the location `location_id` names, else the order's channel
    /// connection's location, else the default location.
    #[serde(default)]
    pub ship_from: Option<Address>,
    /// Ship from this location (instead of giving `ship_from`).
    #[serde(default)]
    pub location_id: Option<LocationId>,
    /// Required without `order_id`.
    #[serde(default)]
    pub ship_to: Option<Address>,
    pub parcels: Vec<ParcelInput>,
    /// Cash to collect on delivery; defaults to the order's COD amount.
    #[serde(default)]
    pub cod: Option<Money>,
    /// Printed on the label and sent to the carrier (letters A–Z, digits, spaces and
    /// `- _ . / # :`); defaults to the order's external id.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub reference: Option<String>,
    /// A customer return: `ship_from` is the customer and `ship_to` the merchant. Carriers
    /// with a return product (`capabilities.returns`) book it through that product.
    #[serde(default)]
    pub is_return: bool,
    /// Generic carrier accounts with a `pattern` only: the merchant's own tracking number
    /// (e.g. from a pre-printed label). Other accounts get theirs from the carrier.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub tracking_number: Option<String>,
    /// With `order_id`: the SKUs and quantities in this parcel, for an order shipped in parts.
    /// Without it, everything of the order that no other shipment holds.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub lines: Vec<ShipmentLine>,
    #[serde(default)]
    pub options: ShipmentOptions,
}

/// Checks parcels and converts them to grams and millimetres.
pub fn resolve_parcels(parcels: &[ParcelInput], problems: &mut Problems) -> Vec<Parcel> {
    if parcels.is_empty() {
        problems.add("/parcels", "at least one parcel is required");
    }
    let mut out = Vec::with_capacity(parcels.len());
    for (i, p) in parcels.iter().enumerate() {
        match p.resolve(&format!("/parcels/{i}")) {
            Ok(p) => out.push(p),
            Err(errors) => problems.extend(errors),
        }
    }
    out
}

impl ShipmentCreate {
    /// The checks that need neither the order nor the carrier, added to `problems`.
    pub fn shape_problems(&self, problems: &mut Problems) {
        problems.extend(text::SERVICE.check("/service", &self.service).into_iter().collect());
        if let Some(reference) = &self.reference {
            problems.extend(text::REFERENCE.check("/reference", reference).into_iter().collect());
        }
        if let Some(number) = &self.tracking_number {
            problems.extend(text::TRACKING_NUMBER.check("/tracking_number", number).into_iter().collect());
        }
        if let Some(cod) = &self.cod
            && let Err(e) = cod.check("/cod")
        {
            problems.extend(vec![e]);
        }
        if !self.lines.is_empty() && self.order_id.is_none() {
            problems.add("/lines", "lines name parts of an order: give its order_id too");
        }
        if self.lines.len() > 500 {
            problems.add("/lines", "at most 500 lines");
        }
        for (i, line) in self.lines.iter().enumerate() {
            problems.extend(text::SKU.check(&format!("/lines/{i}/sku"), &line.sku).into_iter().collect());
        }
    }
}

/// A count: what is on hand of a SKU at a location.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"location_id": "loc_01jd3xk8w3v6a8g0n6r1c5e2qz", "sku": "TSHIRT-M", "on_hand": 120})))]
pub struct StockSet {
    /// The default location when absent.
    #[serde(default)]
    pub location_id: Option<LocationId>,
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub sku: String,
    pub on_hand: i64,
}

/// A change by a person: received, damaged, found, lost.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"sku": "TSHIRT-M", "delta": -2, "reason": "damaged in the warehouse"})))]
pub struct StockAdjust {
    /// The default location when absent.
    #[serde(default)]
    pub location_id: Option<LocationId>,
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub sku: String,
    /// Added to what is on hand (negative takes away).
    pub delta: i64,
    /// Why, in words a colleague will understand later.
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub reason: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "Ankara depo", "default": true,
    "address": {"name": "Kargo Dükkânı", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100",
                "country": "TR", "phone": "+90 312 000 00 00"}
})))]
pub struct LocationCreate {
    /// A name for people (`Ankara depo`).
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
    /// Where parcels leave from (the sender printed on labels).
    pub address: Address,
    /// Make it the default sender (the former default stops being one).
    #[serde(default)]
    pub default: bool,
}

impl LocationCreate {
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        out.extend(text::NAME.check("/name", &self.name));
        out.extend(self.address.problems("/address"));
        out
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "channel": "shopify", "name": "Acme on Shopify", "mode": "live",
    "credentials": {"shop": "acme", "access_token": "shpat_…", "client_secret": "…"},
    "settings": {"auto_import": true, "notify_customer": true}
})))]
pub struct ChannelConnectionCreate {
    /// A channel slug from `GET /v1/channels`.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub channel: String,
    /// A name for people (`Acme on Shopify`).
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
    /// `live` needs a live API key; a test key creates test connections only.
    pub mode: Mode,
    /// Overrides the channel's host (see the channel's `base_url_replaces`). Live connections
    /// may set it only where the operator allows it, and never to a private address.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub base_url: Option<String>,
    /// The channel's credential fields (see its `credentials` schema). Never shown again.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credentials: serde_json::Value,
    #[serde(default)]
    pub settings: ConnectionSettings,
}

impl ChannelConnectionCreate {
    /// Problems with the connection's own fields (the credentials are the channel's to check).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        out.extend(text::SERVICE.check("/channel", &self.channel));
        out.extend(text::NAME.check("/name", &self.name));
        if let Some(url) = &self.base_url {
            out.extend(text::URL.check("/base_url", url));
        }
        out.extend(self.settings.problems("/settings"));
        out
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "carrier": "sandbox", "mode": "test", "description": "Sandbox", "base_url": "http://127.0.0.1:8090",
    "credentials": {"api_key": "demo"}
})))]
pub struct CarrierAccountCreate {
    /// A carrier slug from `GET /v1/carriers`.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub carrier: String,
    /// `live` needs a live API key; a test key creates test accounts only.
    pub mode: Mode,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub description: Option<String>,
    /// Overrides the carrier's host (required for carriers without a public one, like
    /// `sandbox`). Live accounts may set it only where the operator allows it, and never to a
    /// private, loopback, link-local or metadata address.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub base_url: Option<String>,
    /// The carrier's credential fields (see its `credentials` schema). Never shown again.
    /// Generic carriers take none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credentials: serde_json::Value,
    /// Generic carriers only: `name`, `services` (`[{code, name}]`), `tracking_numbers`
    /// (`{"pattern": "<regex>"}` or `{"range": {prefix, first, last, suffix, width}}`) and
    /// `tracking_url` (with `{tracking_number}`). Not secret: shown back on the account.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub settings: Option<serde_json::Value>,
}

impl CarrierAccountCreate {
    /// Problems with the account's own text fields.
    pub fn text_problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        out.extend(text::SERVICE.check("/carrier", &self.carrier));
        if let Some(d) = &self.description {
            out.extend(text::INSTRUCTIONS.optional().check("/description", d));
        }
        if let Some(url) = &self.base_url {
            out.extend(text::URL.check("/base_url", url));
        }
        out
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz",
    "ship_from": {"name": "Demo Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
    "ship_to": {"name": "Ayşe Yılmaz", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"},
    "parcels": [{"weight": {"value": 1.2, "unit": "kg"}}]
})))]
pub struct RateCreate {
    pub carrier_account_id: CarrierAccountId,
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<ParcelInput>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz",
    "address": {"name": "Ayşe Yılmaz", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"}
})))]
pub struct AddressValidate {
    pub carrier_account_id: CarrierAccountId,
    pub address: Address,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz",
    "address": {"name": "Demo Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
    "date": "2030-01-15", "ready_time": "10:00", "close_time": "17:00",
    "parcels": [{"weight": {"value": 2, "unit": "kg"}}],
    "instructions": "Ring the bell"
})))]
pub struct PickupCreate {
    pub carrier_account_id: CarrierAccountId,
    /// Where the courier collects.
    pub address: Address,
    /// The day, `YYYY-MM-DD`, local to the address.
    #[cfg_attr(feature = "openapi", schema(max_length = 10))]
    pub date: String,
    /// `HH:MM` from which the parcels are ready.
    #[cfg_attr(feature = "openapi", schema(max_length = 5))]
    pub ready_time: String,
    /// `HH:MM` by which the courier must have come.
    #[cfg_attr(feature = "openapi", schema(max_length = 5))]
    pub close_time: String,
    /// Defaults to the parcels of `shipment_ids`.
    #[serde(default)]
    pub parcels: Vec<ParcelInput>,
    /// Booked shipments (on the same carrier account) to hand over.
    #[serde(default)]
    pub shipment_ids: Vec<ShipmentId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub service: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub instructions: Option<String>,
}

/// A pickup request once its shape is checked.
#[derive(Debug, Clone)]
pub struct CheckedPickup {
    pub carrier_account_id: CarrierAccountId,
    pub address: Address,
    pub date: NaiveDate,
    pub ready_time: NaiveTime,
    pub close_time: NaiveTime,
    /// When empty, the parcels of `shipment_ids` are collected.
    pub parcels: Vec<Parcel>,
    pub shipment_ids: Vec<ShipmentId>,
    pub service: Option<String>,
    pub instructions: Option<String>,
}

impl PickupCreate {
    /// Checks the request; `earliest` is the first day a pickup may be asked for.
    pub fn check(self, earliest: NaiveDate) -> Result<CheckedPickup, Invalid> {
        let mut problems = Problems::new();
        problems.extend(self.address.problems("/address"));
        let date = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d").ok();
        match date {
            None => problems.add("/date", format!("`{}` is not a date as YYYY-MM-DD", self.date)),
            Some(d) if d < earliest => problems.add("/date", format!("{d} is in the past")),
            Some(_) => {}
        }
        let clock = |problems: &mut Problems, pointer: &str, text: &str| {
            let parsed = NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
            if parsed.is_none() {
                problems.add(pointer, format!("`{text}` is not a time as HH:MM"));
            }
            parsed
        };
        let ready = clock(&mut problems, "/ready_time", &self.ready_time);
        let close = clock(&mut problems, "/close_time", &self.close_time);
        if let (Some(r), Some(c)) = (ready, close)
            && c <= r
        {
            problems.add("/close_time", "close_time must be after ready_time");
        }
        let parcels: Vec<Parcel> = self
            .parcels
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.resolve(&format!("/parcels/{i}")).map_err(|e| problems.extend(e)).ok())
            .collect();
        if self.parcels.is_empty() && self.shipment_ids.is_empty() {
            problems.add("/parcels", "give at least one parcel or shipment id");
        }
        if let Some(service) = &self.service {
            problems.extend(text::SERVICE.check("/service", service).into_iter().collect());
        }
        if let Some(instructions) = &self.instructions {
            problems.extend(text::INSTRUCTIONS.optional().check("/instructions", instructions).into_iter().collect());
        }
        problems.finish(())?;
        let (Some(date), Some(ready_time), Some(close_time)) = (date, ready, close) else {
            unreachable!("every unreadable field is a problem above")
        };
        Ok(CheckedPickup {
            carrier_account_id: self.carrier_account_id,
            address: self.address.normalized(),
            date,
            ready_time,
            close_time,
            parcels,
            shipment_ids: self.shipment_ids,
            service: self.service,
            instructions: self.instructions,
        })
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz",
    "events": [{"status": "picked_up", "occurred_at": "2030-01-15T14:05:00+03:00", "location": "Ankara"}]
})))]
pub struct ScanEventsCreate {
    /// The generic carrier account the shipment was booked with.
    pub carrier_account_id: CarrierAccountId,
    pub events: Vec<ScanEventInput>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanEventInput {
    /// A normalized status: `info_received`, `picked_up`, `in_transit`, `out_for_delivery`,
    /// `delivery_failed`, `available_for_pickup`, `delivered`, `return_to_origin`, `returned`,
    /// `exception`, `cancelled`.
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub status: String,
    /// RFC 3339 with the offset where it happened, e.g. `2025-03-01T14:05:00+03:00`. A time
    /// ahead of when Waybill receives the scan is placed at its receipt (and reported).
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub occurred_at: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub location: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
    /// The carrier's own code for the scan, if it has one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: Option<String>,
    /// With `delivery_failed` only: why (`customer_unavailable`, `address_issue`, `refused`, …).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub ndr_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pickup() -> serde_json::Value {
        serde_json::json!({
            "carrier_account_id": CarrierAccountId::generate(),
            "address": {"name": "Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
            "date": "2030-01-15", "ready_time": "10:00", "close_time": "09:00",
            "parcels": [{"weight": {"value": 0, "unit": "kg"}}],
        })
    }

    #[test]
    fn pickup_problems_point_at_each_field() {
        let p: PickupCreate = serde_json::from_value(pickup()).unwrap();
        let earliest = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        let pointers: Vec<_> = p.check(earliest).unwrap_err().0.into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, ["/close_time", "/parcels/0/weight/value"]);
    }

    #[test]
    fn order_text_fields_are_limited() {
        let order: OrderCreate = serde_json::from_value(serde_json::json!({
            "external_id": "a\u{0}b", "channel": "my shop", "currency": "TRY",
            "line_items": [{"sku": "X".repeat(101), "quantity": 1, "unit_price": "1"}],
            "ship_to": {"name": "A", "street1": "B", "city": "C", "postal_code": "34710", "country": "TR"},
            "payment": {"method": "prepaid"}
        }))
        .unwrap();
        let pointers: Vec<_> = order.problems().into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, ["/external_id", "/channel", "/line_items/0/sku"]);
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "url": "https://shop.example/hooks/waybill",
    "events": ["shipment.booked", "shipment.status_changed", "order.closed"],
    "description": "OMS"
})))]
pub struct WebhookCreate {
    /// Where deliveries are POSTed: https (http only in test mode). Live endpoints never reach
    /// private, loopback, link-local or metadata addresses unless the operator allows it.
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub url: String,
    /// The event types to deliver (see the `Webhook events` section of the README).
    #[cfg_attr(feature = "openapi", schema(max_items = 64, value_type = Vec<EventTypeName>))]
    pub events: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub description: Option<String>,
}

/// An event type's name (`shipment.booked`), in the OpenAPI document.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, max_length = 64, example = "shipment.booked")]
pub struct EventTypeName(pub String);

impl WebhookCreate {
    /// Problems that need no network: the URL's form, the event types, the description.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out: Vec<FieldError> = text::URL.check("/url", &self.url).into_iter().collect();
        if out.is_empty() {
            out.extend(crate::webhook::url_problems(&self.url));
        }
        if self.events.len() > 64 {
            out.push(FieldError::new("/events", "name at most 64 event types"));
        } else {
            for (i, e) in self.events.iter().enumerate() {
                out.extend(text::SERVICE.check(&format!("/events/{i}"), e));
            }
            if out.iter().all(|p| !p.pointer.starts_with("/events")) {
                out.extend(crate::webhook::event_type_problems(&self.events));
            }
        }
        if let Some(d) = &self.description {
            out.extend(text::INSTRUCTIONS.optional().check("/description", d));
        }
        out
    }
}

/// Which endpoints get an event again.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({})))]
pub struct Redeliver {
    /// Only this endpoint; without it, every enabled endpoint that wants the event's type.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 40))]
    pub endpoint_id: Option<crate::ids::WebhookEndpointId>,
}

/// `PUT /v1/ndr-settings`: fields left out keep their value.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"window_minutes": 720, "default_action": "rto"})))]
pub struct NdrSettingsUpdate {
    /// Minutes a case waits for an action before the default is taken (0 to 10080; 0: at once).
    #[serde(default)]
    pub window_minutes: Option<u32>,
    /// `reattempt` or `rto`.
    #[serde(default)]
    pub default_action: Option<crate::ndr::NdrActionKind>,
}

/// `POST /v1/ndr/{id}/dispute`: the customer says the latest attempt never happened.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"statement": "I was home all afternoon; nobody rang."})))]
pub struct NdrDispute {
    /// In the customer's words.
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub statement: String,
}

/// `POST /v1/shipments/{id}/rto/acknowledge`: what came back.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"condition": "restockable", "note": "Box dented, contents fine"})))]
pub struct RtoAcknowledge {
    /// `restockable` puts the shipment's lines back into stock; `damaged` writes them off.
    pub condition: crate::rto::GoodsCondition,
    /// What the warehouse saw, for the record.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub note: Option<String>,
}

/// `POST /v1/manifests`: close the day on one carrier account.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz"})))]
pub struct ManifestCreate {
    /// Every shipment booked on this account that waits for its pickup and is on no manifest
    /// yet goes on the new one.
    pub carrier_account_id: CarrierAccountId,
}

/// `PATCH /v1/shipments/{id}`: what to change on a booked shipment. Fields left out keep their
/// value.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "ship_to": {"name": "Ayşe Yılmaz", "phone": "+90 555 999 88 77", "street1": "İnönü Sk. 5 D:3", "city": "İzmir",
        "postal_code": "35210", "country": "TR"}
})))]
pub struct ShipmentPatch {
    /// The whole delivery address as it should be.
    #[serde(default)]
    pub ship_to: Option<Address>,
    /// The cash to collect, in the shipment's COD currency.
    #[serde(default)]
    pub cod: Option<Money>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub parcels: Option<Vec<ParcelInput>>,
}

/// `POST /v1/information-requests/{id}/resolve`: the corrected value of the field the carrier
/// asked for.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"value": "34710"})))]
pub struct InformationResolve {
    /// Checked as that field of an address is.
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub value: String,
}

/// `POST /v1/orders/{id}/cancel`: cancel an order. Bookings not yet picked up are voided at
/// the carrier; parcels on their way are asked back.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "Customer ordered the wrong size"})))]
pub struct OrderCancel {
    /// Why, for the record.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub reason: Option<String>,
}

/// `PUT /v1/cancellation-settings`: whether customers may cancel their own orders.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"customers_may_cancel": true})))]
pub struct CancellationSettingsUpdate {
    /// When on, an order's cancellation page (`/c/…`) lets its customer cancel it until a
    /// parcel has left, and messages and the tracking page link to it.
    pub customers_may_cancel: bool,
}

/// `POST /v1/shipments/{id}/rto`: bring a moving parcel back.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "Order cancelled by the customer after dispatch"})))]
pub struct RtoRequestCreate {
    /// Why, for the record and the carrier's contact.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub reason: Option<String>,
}

/// `PUT /v1/carrier-accounts/{id}/holidays`: the account's whole calendar of days the carrier
/// does not deliver on; it replaces the one before.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"holidays": [
    {"date": "2026-12-25", "name": "Christmas Day"}, {"date": "2027-01-01", "name": "New Year's Day"}
]})))]
pub struct HolidaysPut {
    #[cfg_attr(feature = "openapi", schema(max_items = 400))]
    pub holidays: Vec<crate::account::Holiday>,
}
