//! Asking a carrier about an address or a postcode, and booking a courier pickup.
//!
//! A pickup is recorded before the carrier is asked and settled once with its answer. A lost
//! answer leaves it `unknown` for a person to check: asking again could send a second courier.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime};
use waybill_carriers::{AddressCheck, Capabilities, Carrier, CarrierError, PickupRequest, Serviceability};
use waybill_core::error::Problems;
use waybill_core::ids::{CarrierAccountId, PickupId, ShipmentId, TenantId};
use waybill_core::{Address, Invalid, Parcel};
use waybill_store::{
    AccountSecrets, BookingState, CarrierAccount, NewPickup, Page, Pickup, PickupError, PickupOutcome, StoreError,
};

use crate::{Engine, EngineError};

/// A pickup as the API asks for it, already checked for shape.
pub struct PickupInput {
    pub id: PickupId,
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

/// One operation a carrier may or may not offer, as its capability flag and in words.
struct Operation {
    offered: fn(&Capabilities) -> bool,
    name: &'static str,
}

const ADDRESS_VALIDATION: Operation = Operation { offered: |c| c.address_validation, name: "address validation" };
const SERVICEABILITY: Operation = Operation { offered: |c| c.serviceability, name: "serviceability checks" };
const PICKUPS: Operation = Operation { offered: |c| c.pickup, name: "pickups" };

impl Engine {
    /// The tenant's account and its adapter, if the carrier offers `operation`; otherwise a
    /// problem at `/carrier_account_id`.
    async fn account_offering(
        &self,
        tenant: &TenantId,
        id: &CarrierAccountId,
        operation: Operation,
    ) -> Result<(CarrierAccount, AccountSecrets, Arc<dyn Carrier>), EngineError> {
        let (account, secrets, carrier) = self.account(tenant, id).await.map_err(|e| match e {
            EngineError::NotFound(_) => {
                Invalid::one("/carrier_account_id", format!("no carrier account `{id}`")).into()
            }
            other => other,
        })?;
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
    pub async fn validate_address(
        &self,
        tenant: &TenantId,
        account_id: &CarrierAccountId,
        address: &Address,
    ) -> Result<AddressCheck, EngineError> {
        let (account, secrets, carrier) = self.account_offering(tenant, account_id, ADDRESS_VALIDATION).await?;
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        Ok(carrier.validate_address(&ctx, address).await?)
    }

    /// What the carrier offers at a postcode.
    pub async fn serviceability(
        &self,
        tenant: &TenantId,
        account_id: &CarrierAccountId,
        country: &str,
        postal_code: &str,
    ) -> Result<Serviceability, EngineError> {
        let (account, secrets, carrier) = self.account_offering(tenant, account_id, SERVICEABILITY).await?;
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        Ok(carrier.serviceability(&ctx, country, postal_code).await?)
    }

    /// Books a courier: records the pickup as `requested`, asks the carrier once, records the
    /// outcome. A refusal is recorded and returned as the error; a lost answer is `unknown`.
    pub async fn schedule_pickup(&self, tenant: &TenantId, input: PickupInput) -> Result<Pickup, EngineError> {
        let (account, secrets, carrier) = self.account_offering(tenant, &input.carrier_account_id, PICKUPS).await?;
        let mut problems = Problems::new();
        let mut tracking_numbers = Vec::new();
        let mut shipment_parcels = Vec::new();
        for (i, id) in input.shipment_ids.iter().enumerate() {
            let pointer = format!("/shipment_ids/{i}");
            match self.store().shipment(tenant, id).await {
                Ok(s) if s.carrier_account_id != account.id => {
                    problems.add(pointer, format!("shipment {id} was booked on another carrier account"))
                }
                Ok(s) => match (s.booking_state, s.tracking_number) {
                    (BookingState::Booked, Some(tracking_number)) => {
                        tracking_numbers.push(tracking_number);
                        shipment_parcels.extend(s.parcels);
                    }
                    (state, _) => problems
                        .add(pointer, format!("shipment {id} is not booked (booking state `{}`)", state.as_str())),
                },
                Err(StoreError::NotFound) => problems.add(pointer, format!("no shipment `{id}`")),
                Err(e) => return Err(e.into()),
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
        if input.parcels.is_empty() && input.shipment_ids.is_empty() {
            problems.add("/parcels", "give at least one parcel or shipment id");
        }
        problems.finish(())?;
        let parcels = if input.parcels.is_empty() { shipment_parcels } else { input.parcels };

        let request = PickupRequest {
            reference: input.id.to_string(),
            address: input.address.clone(),
            date: input.date,
            ready_time: input.ready_time,
            close_time: input.close_time,
            parcels: parcels.clone(),
            tracking_numbers,
            service: input.service.clone(),
            instructions: input.instructions.clone(),
        };
        let id = input.id.clone();
        let new = NewPickup {
            id: input.id,
            carrier_account_id: account.id.clone(),
            carrier: account.carrier.clone(),
            date: input.date,
            ready_time: input.ready_time,
            close_time: input.close_time,
            address: input.address,
            parcels,
            shipment_ids: input.shipment_ids,
            service: input.service,
            instructions: input.instructions,
        };
        self.store().create_pickup(tenant, new).await?;

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
                self.store().record_pickup_outcome(tenant, &id, PickupOutcome::Failed(error)).await?;
                return Err(e.into());
            }
        };
        Ok(self.store().record_pickup_outcome(tenant, &id, outcome).await?)
    }

    pub async fn pickup(&self, tenant: &TenantId, id: &PickupId) -> Result<Pickup, EngineError> {
        self.store().pickup(tenant, id).await.map_err(|e| match e {
            StoreError::NotFound => EngineError::NotFound(format!("pickup {id}")),
            other => other.into(),
        })
    }

    /// The tenant's pickups, oldest first.
    pub async fn list_pickups(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<Pickup>, EngineError> {
        Ok(self.store().list_pickups(tenant, after, limit).await?)
    }
}
