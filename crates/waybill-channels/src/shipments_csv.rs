//! Shipments as the rows of a CSV file, for `waybill export shipments`.

use waybill_core::Shipment;

/// The columns, in order.
pub const COLUMNS: &[&str] = &[
    "id",
    "order_id",
    "reference",
    "carrier",
    "carrier_account_id",
    "service",
    "tracking_number",
    "booking_state",
    "status",
    "is_return",
    "ship_to_name",
    "ship_to_city",
    "ship_to_postal_code",
    "ship_to_country",
    "parcels",
    "weight_g",
    "cod_amount",
    "cod_currency",
    "charge_amount",
    "charge_currency",
    "edd",
    "created_at",
    "updated_at",
];

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// One shipment's row, in [`COLUMNS`] order.
pub fn shipment_row(s: &Shipment) -> Vec<String> {
    let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
    vec![
        s.id.to_string(),
        text(s.order_id.as_ref().map(|o| o.as_str())),
        text(s.reference.as_deref()),
        s.carrier.clone(),
        s.carrier_account_id.to_string(),
        s.service.clone(),
        text(s.tracking_number.as_deref()),
        s.booking_state.as_str().to_owned(),
        s.status.as_str().to_owned(),
        s.is_return.to_string(),
        s.ship_to.name.clone(),
        s.ship_to.city.clone(),
        s.ship_to.postal_code.clone(),
        s.ship_to.country.clone(),
        s.parcels.len().to_string(),
        s.parcels.iter().map(|p| p.weight_g).sum::<u64>().to_string(),
        s.cod.as_ref().map(|m| m.amount.to_string()).unwrap_or_default(),
        s.cod.as_ref().map(|m| m.currency.code().to_owned()).unwrap_or_default(),
        s.charge.as_ref().map(|m| m.amount.to_string()).unwrap_or_default(),
        s.charge.as_ref().map(|m| m.currency.code().to_owned()).unwrap_or_default(),
        s.edd.map(|d| d.to_string()).unwrap_or_default(),
        time(s.created_at),
        time(s.updated_at),
    ]
}
