//! Locations: creating and reading them, and the sender of a booking that names none.

use waybill_core::api::requests::LocationCreate;
use waybill_core::error::Problems;
use waybill_core::ids::{LocationId, OrderId};
use waybill_core::location::Location;
use waybill_core::{Address, Invalid, Order, Page, Scope};
use waybill_store::{StoreError, now_ms};

use crate::error::Found;
use crate::{Engine, EngineError};

impl Engine {
    pub async fn create_location(&self, scope: &Scope, body: LocationCreate) -> Result<Location, EngineError> {
        let problems = body.problems();
        if !problems.is_empty() {
            return Err(Invalid(problems).into());
        }
        let now = now_ms();
        let location = Location {
            id: LocationId::generate(),
            tenant_id: scope.tenant.clone(),
            mode: scope.mode,
            name: body.name,
            address: body.address.normalized(),
            is_default: body.default,
            created_at: now,
            updated_at: now,
        };
        let mut uow = self.begin().await?;
        uow.tx.insert_location(&location).await?;
        uow.commit(self).await?;
        Ok(location)
    }

    pub async fn location(&self, scope: &Scope, id: &LocationId) -> Result<Location, EngineError> {
        self.store().location(scope, id).await.found(|| format!("location {id}"))
    }

    pub async fn list_locations(
        &self,
        scope: &Scope,
        after: Option<&LocationId>,
        limit: u32,
    ) -> Result<Page<Location>, EngineError> {
        Ok(self.store().list_locations(scope, after, limit).await?)
    }

    /// Checks that a location a request names exists in the scope (a problem at `at` if not).
    pub(crate) async fn check_location(
        &self,
        scope: &Scope,
        id: &LocationId,
        at: &str,
        problems: &mut Problems,
    ) -> Result<Option<Location>, EngineError> {
        match self.store().location(scope, id).await {
            Ok(l) => Ok(Some(l)),
            Err(StoreError::NotFound) => {
                problems.add(at, format!("no location `{id}` for this key"));
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A booking's sender: its `ship_from`, else the location it names, else its order's
    /// channel connection's location, else the scope's default location.
    pub(crate) async fn sender(
        &self,
        scope: &Scope,
        ship_from: Option<Address>,
        location: Option<&LocationId>,
        order: Option<&Order>,
        problems: &mut Problems,
    ) -> Result<Option<(Address, Option<LocationId>)>, EngineError> {
        let of = |l: Location| (l.address, Some(l.id));
        match (ship_from, location) {
            (Some(_), Some(_)) => {
                problems.add("/location_id", "give ship_from or location_id, not both");
                Ok(None)
            }
            (Some(address), None) => {
                problems.extend(address.problems("/ship_from"));
                Ok(Some((address, None)))
            }
            (None, Some(id)) => Ok(self.check_location(scope, id, "/location_id", problems).await?.map(of)),
            (None, None) => {
                if let Some(location) =
                    self.connection_location(scope, order.map(|o| (&o.id, &o.connection_id))).await?
                {
                    return Ok(Some(of(location)));
                }
                match self.store().default_location(scope).await? {
                    Some(l) => Ok(Some(of(l))),
                    None => {
                        problems.add(
                            "/ship_from",
                            "required: give ship_from or location_id, or make a location the default (POST /v1/locations)",
                        );
                        Ok(None)
                    }
                }
            }
        }
    }

    /// The location of the channel connection an order came through, when it names one.
    async fn connection_location(
        &self,
        scope: &Scope,
        order: Option<(&OrderId, &Option<waybill_core::ids::ChannelConnectionId>)>,
    ) -> Result<Option<Location>, EngineError> {
        let Some((_, Some(connection))) = order else { return Ok(None) };
        let connection = match self.store().channel_connection(scope, connection).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(id) = connection.settings.location_id else { return Ok(None) };
        match self.store().location(scope, &id).await {
            Ok(l) => Ok(Some(l)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
