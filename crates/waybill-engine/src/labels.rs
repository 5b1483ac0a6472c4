//! Label documents: the carrier's own when it sent one, else Waybill's, rendered with the
//! booking when it names a format (`options.label_format`), otherwise on first request, and
//! kept, so a label never changes once printed.

use waybill_core::ids::ShipmentId;
use waybill_core::units::display_grams;
use waybill_core::{BookingState, Event, Scope, Shipment};
use waybill_labels::{LabelAddress, LabelFormat, LabelSpec};

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
    /// The carrier and service names printed on the shipment's label.
    pub(crate) async fn label_names(&self, shipment: &Shipment) -> Result<(String, String), EngineError> {
        if let Some(configured) = self.generic_label_names(shipment).await? {
            return Ok(configured);
        }
        Ok(match self.carriers().get(&shipment.carrier) {
            Some(c) => {
                let info = c.info();
                let service = info
                    .services
                    .iter()
                    .find(|s| s.code == shipment.service)
                    .map_or(shipment.service.as_str(), |s| s.name);
                (info.name.to_owned(), service.to_owned())
            }
            None => (shipment.carrier.clone(), shipment.service.clone()),
        })
    }

    /// The carrier's name as customers see it: a generic account's own name, else the carrier's.
    pub(crate) async fn carrier_name(&self, shipment: &Shipment) -> Result<String, EngineError> {
        Ok(self.label_names(shipment).await?.0)
    }

    /// Waybill's own label for a shipment that has its tracking number.
    pub(crate) async fn render_label(&self, shipment: &Shipment, format: LabelFormat) -> Result<Vec<u8>, EngineError> {
        let (carrier_name, service_name) = self.label_names(shipment).await?;
        let spec = label_spec(shipment, &carrier_name, &service_name)
            .ok_or_else(|| EngineError::Conflict(format!("shipment {} has no tracking number", shipment.id)))?;
        if format == LabelFormat::Zpl {
            // Tens of microseconds: cheaper than a hop to the blocking pool.
            return Ok(self.inner.labels.render(&spec, format)?);
        }
        let labels = self.clone();
        tokio::task::spawn_blocking(move || labels.inner.labels.render(&spec, format))
            .await
            .map_err(|e| EngineError::Internal(format!("label rendering stopped: {e}")))?
            .map_err(Into::into)
    }

    /// The label a booking asked for (`options.label_format`) unless the carrier sent one in
    /// that format, to be stored with the booking. A render failure is logged, not fatal:
    /// the booking stands and the label is rendered on its first fetch instead.
    pub(crate) async fn booking_label(
        &self,
        booked: &Shipment,
        format: Option<LabelFormat>,
        documents: &mut Vec<(&'static str, Vec<u8>)>,
    ) {
        let Some(format) = format.filter(|f| !documents.iter().any(|(kind, _)| *kind == f.extension())) else {
            return;
        };
        match self.render_label(booked, format).await {
            Ok(bytes) => documents.push((format.extension(), bytes)),
            Err(e) => {
                tracing::warn!(shipment = %booked.id, error = %e, "cannot render the label at booking; it is rendered when first fetched")
            }
        }
    }

    /// The label of a booked shipment in `format`; rendered and kept on its first fetch.
    pub async fn label(&self, scope: &Scope, id: &ShipmentId, format: LabelFormat) -> Result<Vec<u8>, EngineError> {
        let key = format.extension();
        if let Some(bytes) = self.store().document(scope, id, key).await? {
            return Ok(bytes);
        }
        let shipment = self.shipment(scope, id).await?;
        if shipment.booking_state != BookingState::Booked {
            return Err(EngineError::Conflict(format!("shipment {id} has no label: it is not booked")));
        }
        let bytes = self.render_label(&shipment, format).await?;
        let mut uow = self.begin().await?;
        if uow.tx.insert_document(&shipment, key, &bytes).await? {
            uow.emit(scope, Event::ShipmentDocumentStored { shipment_id: id.clone(), format: key.to_owned() });
            uow.commit(self).await?;
            return Ok(bytes);
        }
        drop(uow);
        // Another request stored this format first: serve that one, so a label never changes.
        self.store()
            .document(scope, id, key)
            .await?
            .ok_or_else(|| EngineError::Internal(format!("label of {id} vanished")))
    }
}
