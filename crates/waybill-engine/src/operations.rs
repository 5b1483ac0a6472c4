//! Asking a carrier about an address or a postcode, and booking a courier pickup.
//!
//! A pickup is recorded before the carrier is asked and settled once with its answer. A lost
//! answer leaves it `unknown` for a person to check: asking again could send a second courier.

use std::sync::Arc;

use waybill_carriers::{AddressCheck, Capabilities, Carrier, CarrierError, PickupRequest, Serviceability};
use waybill_core::account::CarrierAccount;
use waybill_core::api::requests::{AddressValidate, CheckedPickup};
use waybill_core::error::Problems;
use waybill_core::ids::{CarrierAccountId, PickupId};
use waybill_core::pickup::{Pickup, PickupError, PickupOutcome, PickupStatus};
use waybill_core::{BookingState, Event, Invalid, Page, Scope};
use waybill_store::{AccountSecrets, now_ms};

use crate::error::Found;
use crate::{Engine, EngineError};

/// One operation a carrier may or may not offer, as its capability flag and in words.
struct Operation {
    offered: fn(&Capabilities) -> bool,
    name: &'static str,
}

const ADDRESS_VALIDATION: Operation = Operation { offered: |c| c.address_validation, name: "address validation" };
const SERVICEABILITY: Operation = Operation { offered: |c| c.serviceability, name: "serviceability checks" };
const PICKUPS: Operation = Operation { offered: |c| c.pickup, name: "pickups" };

impl Engine {
    /// The scope's account and its adapter, if the carrier offers `operation`; otherwise a
    /// problem at `/carrier_account_id`.
    async fn account_offering(
        &self,
        scope: &Scope,
        id: &CarrierAccountId,
        operation: Operation,
    ) -> Result<(CarrierAccount, AccountSecrets, Arc<dyn Carrier>), EngineError> {
        let (account, secrets, carrier) = self.named_account(scope, id).await?;
        if !(operation.offered)(&carrier.info().capabilities) {
            return Err(Invalid::one(
                "/carrier_account_id",
                format!("{} does not offer {}", account.carrier, operation.name),
            )
            .into());
        }
        Ok((account, secrets, carrier))
    }

    /// The carrier's verdict on an address, with its corrections.
    pub async fn validate_address(&self, scope: &Scope, body: AddressValidate) -> Result<AddressCheck, EngineError> {
        let problems = body.address.problems("/address");
        if !problems.is_empty() {
            return Err(Invalid(problems).into());
        }
        let address = body.address.normalized();
        let (account, secrets, carrier) =
            self.account_offering(scope, &body.carrier_account_id, ADDRESS_VALIDATION).await?;
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        Ok(carrier.validate_address(&ctx, &address).await?)
    }

    /// What the carrier offers at a postcode.
    pub async fn serviceability(
        &self,
        scope: &Scope,
        account_id: &CarrierAccountId,
        country: &str,
        postal_code: &str,
    ) -> Result<Serviceability, EngineError> {
        let (account, secrets, carrier) = self.account_offering(scope, account_id, SERVICEABILITY).await?;
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        Ok(carrier.serviceability(&ctx, country, postal_code).await?)
    }

    /// Checks a pickup against the account and the shipments it names, without writing.
    pub async fn check_pickup(&self, scope: &Scope, input: &CheckedPickup) -> Result<(), EngineError> {
        let (account, _, carrier) = self.account_offering(scope, &input.carrier_account_id, PICKUPS).await?;
        let mut problems = Problems::new();
        for (i, id) in input.shipment_ids.iter().enumerate() {
            let pointer = format!("/shipment_ids/{i}");
            match self.store().shipment(scope, id).await.found(|| format!("shipment {id}")) {
                Ok(s) if s.carrier_account_id != account.id => {
                    problems.add(pointer, format!("shipment {id} was booked on another carrier account"))
                }
                Ok(s) if s.booking_state != BookingState::Booked || s.tracking_number.is_none() => problems.add(
                    pointer,
                    format!("shipment {id} is not booked (booking state `{}`)", s.booking_state.as_str()),
                ),
                Ok(_) => {}
                Err(EngineError::NotFound(_)) => problems.add(pointer, format!("no shipment `{id}`")),
                Err(e) => return Err(e),
            }
        }
        if let Some(service) = &input.service
            && !carrier.info().services.iter().any(|s| s.code == service)
        {
            let known: Vec<_> = carrier.info().services.iter().map(|s| s.code).collect();
            problems.add(
                "/service",
                format!("`{service}` is not a {} service; choose one of: {}", account.carrier, known.join(", ")),
            );
        }
        Ok(problems.finish(())?)
    }

    /// Books a courier as pickup `id`: records it as `requested`, asks the carrier once,
    /// records the outcome. A refusal is recorded and returned as the error; a lost answer is
    /// `unknown`.
    pub async fn schedule_pickup(
        &self,
        scope: &Scope,
        id: PickupId,
        input: CheckedPickup,
    ) -> Result<Pickup, EngineError> {
        self.check_pickup(scope, &input).await?;
        let (account, secrets, carrier) = self.account_offering(scope, &input.carrier_account_id, PICKUPS).await?;
        let mut tracking_numbers = Vec::new();
        let mut shipment_parcels = Vec::new();
        for id in &input.shipment_ids {
            let s = self.store().shipment(scope, id).await?;
            tracking_numbers.extend(s.tracking_number);
            shipment_parcels.extend(s.parcels);
        }
        let parcels = if input.parcels.is_empty() { shipment_parcels } else { input.parcels };
        let request = PickupRequest {
            reference: id.to_string(),
            address: input.address.clone(),
            date: input.date,
            ready_time: input.ready_time,
            close_time: input.close_time,
            parcels: parcels.clone(),
            tracking_numbers,
            service: input.service.clone(),
            instructions: input.instructions.clone(),
        };
        let now = now_ms();
        let requested = Pickup {
            id: id.clone(),
            tenant_id: scope.tenant.clone(),
            mode: scope.mode,
            carrier_account_id: account.id.clone(),
            carrier: account.carrier.clone(),
            status: PickupStatus::Requested,
            confirmation_number: None,
            date: input.date,
            ready_time: input.ready_time,
            close_time: input.close_time,
            address: input.address,
            parcels,
            shipment_ids: input.shipment_ids,
            service: input.service,
            instructions: input.instructions,
            charge: None,
            note: None,
            error: None,
            created_at: now,
            updated_at: now,
        };
        let mut uow = self.begin().await?;
        uow.tx.insert_pickup(&requested).await?;
        uow.commit(self).await?;

        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        let outcome = match carrier.schedule_pickup(&ctx, &request).await {
            Ok(p) => PickupOutcome::Scheduled {
                confirmation_number: p.confirmation_number,
                date: p.date,
                charge: p.charge,
                note: p.note,
            },
            Err(CarrierError::Unknown { message, .. }) => {
                tracing::warn!(pickup = %id, %message, "pickup outcome unknown; left for the merchant to check");
                PickupOutcome::Unknown(PickupError {
                    code: "NEEDS_ATTENTION".into(),
                    message: format!(
                        "{} did not answer this pickup request; it may have been booked. Check with the carrier \
                         (reference {id}) before asking again: a repeat could send a second courier",
                        account.carrier
                    ),
                })
            }
            Err(e) => {
                let error = PickupError {
                    code: e.carrier_code().unwrap_or("CARRIER_ERROR").to_owned(),
                    message: e.to_string(),
                };
                if let Err(record) = self.settle_pickup(scope, &id, PickupOutcome::Failed(error)).await {
                    tracing::error!(pickup = %id, error = %record, "cannot record a refused pickup");
                }
                return Err(e.into());
            }
        };
        match self.settle_pickup(scope, &id, outcome).await {
            Ok(pickup) => Ok(pickup),
            Err(e) => {
                // The carrier may have booked a courier: the answer is `unknown`, never an error
                // that invites a second request.
                tracing::error!(pickup = %id, error = %e, "cannot record a pickup's outcome");
                Ok(Pickup { status: PickupStatus::Unknown, ..requested })
            }
        }
    }

    /// Moves a `requested` pickup to its outcome, with its event; a pickup settled already
    /// keeps its first outcome.
    async fn settle_pickup(&self, scope: &Scope, id: &PickupId, outcome: PickupOutcome) -> Result<Pickup, EngineError> {
        let mut uow = self.begin().await?;
        let Some(pickup) = uow.tx.settle_pickup(scope, id, outcome).await? else {
            drop(uow);
            return Ok(self.store().pickup(scope, id).await?);
        };
        let event = match pickup.status {
            PickupStatus::Scheduled => Event::PickupScheduled { pickup: pickup.clone() },
            PickupStatus::Failed => Event::PickupFailed { pickup: pickup.clone() },
            PickupStatus::Requested | PickupStatus::Unknown => Event::PickupUnknown { pickup: pickup.clone() },
            PickupStatus::Cancelled => {
                return Err(EngineError::Internal(format!("pickup {id} was settled as cancelled")));
            }
        };
        uow.emit(scope, event);
        uow.commit(self).await?;
        Ok(pickup)
    }

    /// A pickup whose request died before its outcome was recorded (its node crashed): it may
    /// have reached the carrier, so it is settled as `unknown`, never asked again.
    pub async fn settle_abandoned_pickup(&self, scope: &Scope, id: &PickupId) -> Result<Pickup, EngineError> {
        let pickup = self.store().pickup(scope, id).await.found(|| format!("pickup {id}"))?;
        if pickup.status != PickupStatus::Requested {
            return Ok(pickup);
        }
        let error = PickupError {
            code: "NEEDS_ATTENTION".into(),
            message: format!(
                "the request for this pickup was interrupted; check with {} (reference {id}) before asking again",
                pickup.carrier
            ),
        };
        self.settle_pickup(scope, id, PickupOutcome::Unknown(error)).await
    }

    /// Calls a scheduled pickup off at the carrier, then records it `cancelled`. Calling it
    /// off again answers the cancelled pickup; a pickup that is not `scheduled`, or a carrier
    /// that cannot cancel through its API or refuses, is a conflict and changes nothing.
    pub async fn cancel_pickup(&self, scope: &Scope, id: &PickupId) -> Result<Pickup, EngineError> {
        let pickup = self.store().pickup(scope, id).await.found(|| format!("pickup {id}"))?;
        match pickup.status {
            PickupStatus::Cancelled => return Ok(pickup),
            PickupStatus::Scheduled => {}
            other => {
                return Err(EngineError::Conflict(format!(
                    "only a scheduled pickup can be cancelled; this one is `{}`",
                    other.as_str()
                )));
            }
        }
        let (account, secrets, carrier) = self.account(scope, &pickup.carrier_account_id).await?;
        let confirmation = pickup.confirmation_number.as_deref().unwrap_or_default();
        if !carrier.info().capabilities.pickup_cancel {
            return Err(EngineError::Conflict(format!(
                "{} cannot cancel pickups through its API: call the carrier with confirmation {confirmation}",
                carrier.info().name
            )));
        }
        // The carrier first: a pickup is recorded cancelled only once the courier was called off.
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        carrier.cancel_pickup(&ctx, confirmation).await?;
        let mut uow = self.begin().await?;
        let Some(cancelled) = uow.tx.cancel_pickup(scope, id).await? else {
            drop(uow);
            return Ok(self.store().pickup(scope, id).await?);
        };
        uow.emit(scope, Event::PickupCancelled { pickup: cancelled.clone() });
        uow.commit(self).await?;
        tracing::info!(pickup = %id, "pickup cancelled at the carrier");
        Ok(cancelled)
    }

    pub async fn pickup(&self, scope: &Scope, id: &PickupId) -> Result<Pickup, EngineError> {
        self.store().pickup(scope, id).await.found(|| format!("pickup {id}"))
    }

    /// The scope's pickups, oldest first.
    pub async fn list_pickups(
        &self,
        scope: &Scope,
        after: Option<&PickupId>,
        limit: u32,
    ) -> Result<Page<Pickup>, EngineError> {
        Ok(self.store().list_pickups(scope, after, limit).await?)
    }
}
