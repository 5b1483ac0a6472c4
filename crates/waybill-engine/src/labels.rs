//! Label documents: the carrier's own when it sent one, else Waybill's, rendered on first
//! request and kept, so a label never changes once printed.

use waybill_core::ids::{ShipmentId, TenantId};
use waybill_core::units::display_grams;
use waybill_labels::{LabelAddress, LabelFormat, LabelSpec};
use waybill_store::{BookingState, Shipment};

use crate::{Engine, EngineError};

fn label_address(a: &waybill_core::Address) -> LabelAddress {
    let city_line = match &a.state {
        Some(state) if !state.trim().is_empty() => format!("{} {} {}", a.postal_code, a.city, state),
        _ => format!("{} {}", a.postal_code, a.city),
    };
    LabelAddress {
        name: a.name.clone(),
        company: a.company.clone(),
        lines: std::iter::once(a.street1.clone()).chain(a.street2.clone()).collect(),
        city_line: city_line.trim().to_owned(),
        country: a.country.clone(),
        phone: a.phone.clone(),
    }
}

/// The label's content, from the booked shipment alone.
pub fn label_spec(shipment: &Shipment, carrier_name: &str, service_name: &str) -> Option<LabelSpec> {
    let tracking_number = shipment.tracking_number.clone()?;
    let routing = shipment.routing.clone().map_or_else(
        || waybill_labels::Routing {
            sort_code: String::new(),
            origin_hub: String::new(),
            destination_hub: String::new(),
            route: String::new(),
        },
        |r| waybill_labels::Routing {
            sort_code: r.sort_code,
            origin_hub: r.origin_hub,
            destination_hub: r.destination_hub,
            route: r.route,
        },
    );
    let grams: u64 = shipment.parcels.iter().map(|p| p.weight_g).sum();
    Some(LabelSpec {
        carrier_name: carrier_name.to_owned(),
        service_name: service_name.to_owned(),
        tracking_number,
        ship_from: label_address(&shipment.ship_from),
        ship_to: label_address(&shipment.ship_to),
        weight: display_grams(grams),
        piece: format!("1/{}", shipment.parcels.len()),
        cod: shipment.cod.map(|m| format!("COD {m}")),
        reference: shipment.reference.clone(),
        ship_date: chrono::DateTime::from_timestamp_millis(shipment.created_at)
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default(),
        routing,
    })
}

impl Engine {
    /// The label of a booked shipment in `format`.
    pub async fn label(&self, tenant: &TenantId, id: &ShipmentId, format: LabelFormat) -> Result<Vec<u8>, EngineError> {
        let key = format.extension();
        if let Some(bytes) = self.store().document(tenant, id, key).await? {
            return Ok(bytes);
        }
        let shipment =
            self.store().shipment(tenant, id).await.map_err(|_| EngineError::NotFound(format!("shipment {id}")))?;
        if shipment.booking_state != BookingState::Booked {
            return Err(EngineError::Conflict(format!("shipment {id} has no label: it is not booked")));
        }
        let (carrier_name, service_name) = match self.carriers().get(&shipment.carrier) {
            Some(c) => {
                let info = c.info();
                let service = info
                    .services
                    .iter()
                    .find(|s| s.code == shipment.service)
                    .map_or(shipment.service.as_str(), |s| s.name);
                (info.name, service.to_owned())
            }
            None => (shipment.carrier.as_str(), shipment.service.clone()),
        };
        let configured = self.generic_label_names(tenant, &shipment).await?;
        let (carrier_name, service_name) = match &configured {
            Some((carrier, service)) => (carrier.as_str(), service.clone()),
            None => (carrier_name, service_name),
        };
        let spec = label_spec(&shipment, carrier_name, &service_name)
            .ok_or_else(|| EngineError::Conflict(format!("shipment {id} has no tracking number")))?;
        let labels = self.clone();
        let bytes = tokio::task::spawn_blocking(move || labels.inner.labels.render(&spec, format))
            .await
            .map_err(|e| EngineError::Conflict(format!("label rendering stopped: {e}")))??;
        Ok(self.store().put_document(tenant, id, key, bytes).await?)
    }
}
