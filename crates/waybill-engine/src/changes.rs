//! Changes after booking: the recipient's details, the cash to collect or the parcels of a
//! booked shipment. Core's `change::plan` decides how: the carrier's update call, or (before
//! pickup) voiding the booking and booking the shipment again. Each change is kept in the
//! shipment's audit trail and told as `shipment.changed`.

use waybill_carriers::ShipmentUpdate;
use waybill_core::api::requests::{ShipmentCreate, ShipmentOptions, ShipmentPatch, resolve_parcels};
use waybill_core::change::{self, ChangeMethod, ChangeRefusal, ChangedField, ShipmentChange, Target};
use waybill_core::error::Problems;
use waybill_core::ids::{ShipmentChangeId, ShipmentId};
use waybill_core::parcel::{Parcel, ParcelInput};
use waybill_core::{Event, Invalid, Scope, Shipment};
use waybill_store::now_ms;

use crate::{Engine, EngineError};

/// What a change did, and the shipment that now carries the parcel.
#[derive(Debug, Clone)]
pub struct Changed {
    pub change: ShipmentChange,
    pub shipment: Shipment,
}

/// A parcel as the booking API takes it, in grams and millimetres.
fn parcel_input(p: &Parcel) -> ParcelInput {
    let mut v = serde_json::json!({"weight": {"value": p.weight_g, "unit": "g"}});
    if let Some(d) = p.dimensions_mm {
        v["dimensions"] = serde_json::json!({"length": d.length, "width": d.width, "height": d.height, "unit": "mm"});
    }
    serde_json::from_value(v).expect("grams and millimetres are a valid parcel")
}

/// The booking of `shipment` again (same order, lines, account, service and sender) with
/// `target`'s recipient, cash and parcels.
pub(crate) fn rebooking(shipment: &Shipment, target: Target) -> ShipmentCreate {
    ShipmentCreate {
        order_id: shipment.order_id.clone(),
        carrier_account_id: shipment.carrier_account_id.clone(),
        service: shipment.service.clone(),
        ship_from: shipment.location_id.is_none().then(|| shipment.ship_from.clone()),
        location_id: shipment.location_id.clone(),
        ship_to: Some(target.ship_to),
        parcels: target.parcels.iter().map(parcel_input).collect(),
        cod: target.cod,
        reference: shipment.reference.clone(),
        is_return: shipment.is_return,
        tracking_number: None,
        lines: shipment.lines.clone(),
        options: ShipmentOptions { simulate: shipment.simulate.clone(), label_format: None },
    }
}

/// The target of `patch` on `shipment`, with a pointer per problem.
fn target(shipment: &Shipment, patch: ShipmentPatch) -> Result<Target, EngineError> {
    let mut problems = Problems::new();
    let mut target = Target::of(shipment);
    if let Some(address) = patch.ship_to {
        problems.extend(address.problems("/ship_to"));
        target.ship_to = address.normalized();
    }
    if let Some(cod) = patch.cod {
        if let Err(e) = cod.check("/cod") {
            problems.extend(vec![e]);
        }
        match shipment.cod {
            None => problems.add("/cod", "the shipment is prepaid; cash on delivery cannot be added after booking"),
            Some(booked) if booked.currency != cod.currency => problems
                .add("/cod/currency", format!("the shipment collects {}; give the amount in it", booked.currency)),
            Some(_) => {}
        }
        target.cod = Some(cod);
    }
    if let Some(parcels) = patch.parcels {
        target.parcels = resolve_parcels(&parcels, &mut problems);
    }
    Ok(problems.finish(target)?)
}

impl Engine {
    /// Changes a booked shipment as `patch` asks, the way core's plan allows; a refusal changes
    /// nothing. A rebooking voids the booking first, then books a new shipment for the same
    /// order and lines: if the carrier refuses the new booking, the old one stays voided and
    /// the change says so (the order can be booked again).
    pub async fn change_shipment(
        &self,
        scope: &Scope,
        id: &ShipmentId,
        patch: ShipmentPatch,
    ) -> Result<Changed, EngineError> {
        self.change_shipment_into(scope, id, patch, ShipmentId::generate()).await
    }

    /// [`Engine::change_shipment`], booking a rebooked shipment as `replacement`: a caller that
    /// must never book twice for one decision names the replacement once (its insert then
    /// refuses a second booking).
    pub(crate) async fn change_shipment_into(
        &self,
        scope: &Scope,
        id: &ShipmentId,
        patch: ShipmentPatch,
        replacement: ShipmentId,
    ) -> Result<Changed, EngineError> {
        let shipment = self.shipment(scope, id).await?;
        let target = target(&shipment, patch)?;
        let fields = change::changed_fields(&shipment, &target);
        let (account, secrets, carrier) = self.account(scope, &shipment.carrier_account_id).await?;
        let method = change::plan(&shipment, &fields, carrier.updatable()).map_err(|refusal| match refusal {
            ChangeRefusal::NothingChanged => Invalid::one("", refusal.to_string()).into(),
            other => EngineError::Conflict(other.to_string()),
        })?;
        let values = change::values(&shipment, &target, &fields);
        let change = ShipmentChange {
            id: ShipmentChangeId::generate(),
            tenant_id: scope.tenant.clone(),
            mode: scope.mode,
            shipment_id: shipment.id.clone(),
            fields: fields.clone(),
            values,
            method,
            replacement_shipment_id: None,
            note: None,
            created_at: now_ms(),
        };
        match method {
            ChangeMethod::CarrierUpdate => {
                let booked = crate::booking::booked_ref(&shipment)
                    .ok_or_else(|| EngineError::Conflict(format!("shipment {id} has no tracking number")))?;
                let update = ShipmentUpdate {
                    ship_to: fields.contains(&ChangedField::Recipient).then(|| target.ship_to.clone()),
                    cod: fields.contains(&ChangedField::Cod).then_some(target.cod).flatten(),
                    parcels: fields.contains(&ChangedField::Parcels).then(|| target.parcels.clone()),
                };
                let ctx = self.call_context(&account, &secrets, carrier.as_ref());
                carrier.update_shipment(&ctx, &booked, &update).await?;
                let mut uow = self.begin().await?;
                let mut changed = uow.tx.lock_shipment(scope, id).await?;
                changed.ship_to = target.ship_to;
                changed.cod = target.cod;
                changed.parcels = target.parcels;
                changed.updated_at = change.created_at;
                uow.tx.update_shipment_details(&changed).await?;
                uow.tx.insert_shipment_change(&change).await?;
                uow.emit(scope, Event::ShipmentChanged { shipment: changed.clone(), change: change.clone() });
                uow.commit(self).await?;
                tracing::info!(shipment = %id, change = %change.id, "shipment changed at the carrier");
                Ok(Changed { change, shipment: changed })
            }
            ChangeMethod::Rebooked => {
                if !carrier.info().capabilities.cancel {
                    return Err(EngineError::Conflict(format!(
                        "{} takes none of these changes through its API and cannot void the booking: ask the carrier",
                        carrier.info().name
                    )));
                }
                self.rebook(scope, shipment, target, change, replacement).await
            }
        }
    }

    /// Voids `shipment` and books it again as `replacement` with `target`'s fields, then
    /// records `change`.
    async fn rebook(
        &self,
        scope: &Scope,
        shipment: Shipment,
        target: Target,
        mut change: ShipmentChange,
        replacement: ShipmentId,
    ) -> Result<Changed, EngineError> {
        let request = rebooking(&shipment, target);
        let cancelled = self.cancel(scope, &shipment.id).await?;
        let booked = match self.check_booking(scope, request).await {
            Ok(input) => self.book(scope, replacement.clone(), input).await,
            Err(e) => Err(e),
        };
        let now_on = match &booked {
            Ok(new) => new.clone(),
            Err(e) => {
                change.note =
                    Some(format!("the booking was voided, but booking it again failed: {e}; book the shipment again"));
                match self.store().shipment(scope, &replacement).await {
                    Ok(failed) => failed,
                    Err(_) => cancelled.clone(),
                }
            }
        };
        if now_on.id == replacement {
            change.replacement_shipment_id = Some(replacement);
        }
        let mut uow = self.begin().await?;
        uow.tx.insert_shipment_change(&change).await?;
        uow.emit(scope, Event::ShipmentChanged { shipment: cancelled, change: change.clone() });
        uow.commit(self).await?;
        tracing::info!(shipment = %shipment.id, change = %change.id, replacement = ?change.replacement_shipment_id,
            "shipment voided and booked again");
        Ok(Changed { change, shipment: now_on })
    }

    /// A shipment's changes (and the one that booked it in another's place), oldest first.
    pub async fn shipment_changes(&self, scope: &Scope, id: &ShipmentId) -> Result<Vec<ShipmentChange>, EngineError> {
        self.shipment(scope, id).await?;
        Ok(self.store().shipment_changes(scope, id).await?)
    }
}
