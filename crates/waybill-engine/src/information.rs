//! Information requests: a carrier asks for one field of a delivery address, by refusing a
//! booking over it (opened with the refusal, in `booking.rs`) or by a scan (the `information`
//! consumer, which also withdraws a request once its shipment ends). The fix is checked like
//! any address and sent back: the refused booking is booked again, or the booked shipment is
//! changed at the carrier or voided and booked again before pickup (`changes.rs`). The rules
//! are `waybill_core::information`'s.

use serde::{Deserialize, Serialize};
use waybill_core::api::requests::ShipmentPatch;
use waybill_core::change::Target;
use waybill_core::ids::{EventId, InformationRequestId, ShipmentId};
use waybill_core::information::{
    InfoActor, InfoMethod, InfoResolution, InfoSource, InfoState, InformationRequest, MAX_BOOKING_ATTEMPTS,
    booking_attempt, covers, fix, is_booking_attempt,
};
use waybill_core::{BookingState, Event, Invalid, Page, Scope, Shipment, TrackingEvent, TrackingStatus};
use waybill_store::{NewJob, now_ms};

use crate::error::Found;
use crate::jobs::{Job, JobContext, Next, Registry};
use crate::{Engine, EngineError};

/// Open a request for what a shipment's new scans ask, or withdraw its request once it ends.
#[derive(Serialize, Deserialize)]
pub struct FollowInformation {
    pub shipment_id: ShipmentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for FollowInformation {
    const KIND: &'static str = "follow_information";
    const RERUN_IF_RUNNING: bool = true;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.shipment_id))
    }
}

/// New exception scans (which may ask for something), shipments that ended, and an order's
/// new booking (which may answer its refused one by other means).
pub(crate) fn wants(event: &Event) -> bool {
    match event {
        Event::TrackerUpdated { shipment, scans } => {
            !shipment.is_return
                && (scans.iter().any(|s| s.status == TrackingStatus::Exception) || shipment.status.is_final())
        }
        Event::ShipmentBooked { shipment } => !shipment.is_return && shipment.order_id.is_some(),
        _ => false,
    }
}

pub(crate) fn job(scope: &Scope, id: &EventId, event: &Event) -> NewJob {
    let (Event::TrackerUpdated { shipment, .. } | Event::ShipmentBooked { shipment }) = event else {
        unreachable!("only tracker.updated and shipment.booked are wanted")
    };
    FollowInformation { shipment_id: shipment.id.clone(), event_id: Some(id.clone()) }.to_new(Some(scope), now_ms())
}

pub(crate) fn register(r: &mut Registry) {
    r.register(|engine: Engine, ctx: JobContext, job: FollowInformation| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("an information job without a scope".into()))?;
        engine.follow_information(&scope, &job.shipment_id).await.map(|_| Next::Done)
    });
}

impl Engine {
    /// Opens a request for the latest scan of `shipment` that asks for a field (once per scan),
    /// or withdraws its open request once it has ended.
    async fn follow_information(&self, scope: &Scope, id: &ShipmentId) -> Result<(), EngineError> {
        let shipment = self.store().shipment(scope, id).await?;
        if shipment.booking_state == BookingState::Booked {
            self.withdraw_answered_elsewhere(scope, &shipment).await?;
        }
        if shipment.status.is_final() {
            return self
                .withdraw_information(scope, &shipment, &format!("the shipment is {}", shipment.status.as_str()))
                .await;
        }
        let Some(carrier) = self.carriers().get(&shipment.carrier).cloned() else { return Ok(()) };
        let events = self.store().tracking_events(scope, id).await?;
        let Some((scan, field)) = events
            .iter()
            .rev()
            .filter(|e| e.status == TrackingStatus::Exception)
            .find_map(|e| carrier.info_needed(&e.code, e.reason_code.as_deref()).map(|f| (e, f)))
        else {
            return Ok(());
        };
        let known = self.store().information_requests_of_shipment(scope, id).await?;
        if known.iter().any(|r| r.scan_id.as_ref() == Some(&scan.id)) {
            return Ok(());
        }
        let request = InformationRequest::open(
            scope.tenant.clone(),
            scope.mode,
            shipment.id.clone(),
            shipment.order_id.clone(),
            field,
            InfoSource::CarrierScan,
            Some(scan.id.clone()),
            &scan_code(scan),
            &scan.description,
            now_ms(),
        );
        let mut uow = self.begin().await?;
        let (request, fresh) = uow.tx.open_information_request(&request).await?;
        if fresh {
            tracing::info!(shipment = %id, request = %request.id, field = request.field.as_str(), "the carrier asks for information");
            uow.emit(scope, Event::InformationRequested { shipment, request });
            uow.commit(self).await?;
        }
        Ok(())
    }

    /// Withdraws the open requests of `booked`'s order's refused bookings whose lines it
    /// carries: the merchant booked the order again without answering them. Not the request
    /// whose own fix booked it (that one is being resolved).
    async fn withdraw_answered_elsewhere(&self, scope: &Scope, booked: &Shipment) -> Result<(), EngineError> {
        let Some(order) = &booked.order_id else { return Ok(()) };
        for refused in self.store().shipments_for_order(scope, order).await? {
            if refused.booking_state != BookingState::Failed || !covers(&booked.lines, &refused.lines) {
                continue;
            }
            let open = self.store().information_requests_of_shipment(scope, &refused.id).await?;
            let Some(request) = open.iter().find(|r| r.state == InfoState::Open) else { continue };
            if is_booking_attempt(&request.id, &booked.id) {
                continue;
            }
            let why = format!("the order was booked again as shipment {}", booked.id);
            self.withdraw_information(scope, &refused, &why).await?;
        }
        Ok(())
    }

    /// Withdraws `shipment`'s open request, if it has one.
    pub(crate) async fn withdraw_information(
        &self,
        scope: &Scope,
        shipment: &Shipment,
        why: &str,
    ) -> Result<(), EngineError> {
        let mut uow = self.begin().await?;
        let Some(mut request) = uow.tx.lock_open_information_request(scope, &shipment.id).await? else {
            return Ok(());
        };
        if request.withdraw(why, now_ms()).is_ok() {
            uow.tx.close_information_request(&request).await?;
            uow.emit(scope, Event::InformationWithdrawn { request });
            uow.commit(self).await?;
        }
        Ok(())
    }

    pub async fn information_request(
        &self,
        scope: &Scope,
        id: &InformationRequestId,
    ) -> Result<InformationRequest, EngineError> {
        self.store().information_request(scope, id).await.found(|| format!("information request {id}"))
    }

    pub async fn list_information_requests(
        &self,
        scope: &Scope,
        state: Option<InfoState>,
        after: Option<&InformationRequestId>,
        limit: u32,
    ) -> Result<Page<InformationRequest>, EngineError> {
        Ok(self.store().list_information_requests(scope, state, after, limit).await?)
    }

    /// Answers a request with `value` for its field (`by` the merchant or the customer): checked
    /// like an address, then sent to the carrier; a refusal, or a carrier that cannot take it
    /// now, leaves the request open and changes nothing.
    pub async fn resolve_information(
        &self,
        scope: &Scope,
        id: &InformationRequestId,
        value: &str,
        by: InfoActor,
    ) -> Result<InformationRequest, EngineError> {
        let request = self.information_request(scope, id).await?;
        request.check_open().map_err(|e| EngineError::Conflict(e.to_string()))?;
        let shipment = self.store().shipment(scope, &request.shipment_id).await?;
        let fixed = fix(request.field, &shipment.ship_to, value).map_err(Invalid)?;
        let (method, new_shipment_id, note) = match request.source {
            InfoSource::BookingRefusal => {
                if shipment.booking_state != BookingState::Failed {
                    return Err(EngineError::Conflict(format!(
                        "shipment {} is `{}` now; change it with PATCH /v1/shipments/{}",
                        shipment.id,
                        shipment.booking_state.as_str(),
                        shipment.id
                    )));
                }
                let replacement = match self.next_booking_attempt(scope, &request.id).await? {
                    Attempt::Book(replacement) => replacement,
                    // An earlier sending booked it and stopped before closing the request.
                    Attempt::Booked(booked) => {
                        return self
                            .close_resolved(scope, id, &fixed, by, (InfoMethod::BookedAgain, Some(booked), None))
                            .await;
                    }
                };
                let target = Target { ship_to: fixed.clone(), ..Target::of(&shipment) };
                let input = self.check_booking(scope, crate::changes::rebooking(&shipment, target)).await?;
                match self.book(scope, replacement.clone(), input).await {
                    Ok(_) => (InfoMethod::BookedAgain, Some(replacement), None),
                    // Refused again: the new shipment keeps the carrier's words (and, for a
                    // field, its own request).
                    Err(EngineError::Carrier(e)) if !e.is_transient() => (
                        InfoMethod::BookedAgain,
                        Some(replacement),
                        Some(format!("booking again with the fix was refused: {e}")),
                    ),
                    Err(e) => return Err(e),
                }
            }
            InfoSource::CarrierScan => {
                let patch = ShipmentPatch { ship_to: Some(fixed.clone()), cod: None, parcels: None };
                let changed =
                    self.change_shipment_into(scope, &shipment.id, patch, booking_attempt(&request.id, 0)).await?;
                let method = match changed.change.method {
                    waybill_core::change::ChangeMethod::CarrierUpdate => InfoMethod::CarrierUpdate,
                    waybill_core::change::ChangeMethod::Rebooked => InfoMethod::Rebooked,
                };
                (method, changed.change.replacement_shipment_id, changed.change.note)
            }
        };
        self.close_resolved(scope, id, &fixed, by, (method, new_shipment_id, note)).await
    }

    /// Where the fix of a refused booking stands: the next shipment id to book it under, or
    /// the shipment an earlier sending booked. An attempt that failed booked nothing (refused,
    /// or the carrier never reached), so the next one may book; one still being settled with
    /// the carrier is waited for.
    async fn next_booking_attempt(&self, scope: &Scope, id: &InformationRequestId) -> Result<Attempt, EngineError> {
        for n in 0..MAX_BOOKING_ATTEMPTS {
            let candidate = booking_attempt(id, n);
            match self.store().shipment(scope, &candidate).await {
                Err(waybill_store::StoreError::NotFound) => return Ok(Attempt::Book(candidate)),
                Ok(tried) if tried.booking_state == BookingState::Failed => continue,
                Ok(tried) if tried.booking_state == BookingState::Booked => return Ok(Attempt::Booked(tried.id)),
                Ok(_) => {
                    return Err(EngineError::Conflict(format!(
                        "the fix's booking {candidate} is being settled with the carrier; send the fix again in a minute"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Conflict(format!(
            "the fix of {id} failed to book {MAX_BOOKING_ATTEMPTS} times; book the order by hand"
        )))
    }

    /// Records the request's answer (`how`: method, new shipment, note), once, with the order's
    /// address fixed while the order is not finished.
    async fn close_resolved(
        &self,
        scope: &Scope,
        id: &InformationRequestId,
        fixed: &waybill_core::Address,
        by: InfoActor,
        how: (InfoMethod, Option<ShipmentId>, Option<String>),
    ) -> Result<InformationRequest, EngineError> {
        let (method, new_shipment_id, note) = how;
        let mut uow = self.begin().await?;
        let mut request = uow.tx.lock_information_request(scope, id).await?;
        let resolution =
            InfoResolution { by, value: request.field.value_in(fixed), method, new_shipment_id, note, at: now_ms() };
        request.resolve(resolution).map_err(|e| EngineError::Conflict(e.to_string()))?;
        uow.tx.close_information_request(&request).await?;
        if let Some(order_id) = &request.order_id {
            let mut order = uow.tx.lock_order(scope, order_id).await?;
            if order.status.can_cancel() && order.status != waybill_core::OrderStatus::Cancelled {
                order.ship_to = request.field.apply(&order.ship_to, &request.field.value_in(fixed));
                order.updated_at = now_ms();
                uow.tx.update_channel_order(&order).await?;
            }
        }
        uow.emit(scope, Event::InformationResolved { request: request.clone() });
        uow.commit(self).await?;
        tracing::info!(request = %id, method = method.as_str(), "information request resolved");
        Ok(request)
    }
}

/// Where the fix of a refused booking stands (`Engine::next_booking_attempt`).
enum Attempt {
    Book(ShipmentId),
    Booked(ShipmentId),
}

/// A request as its customer sees it on their page.
pub struct CustomerInformation {
    pub branding: waybill_core::branding::Branding,
    /// The number the customer knows (the channel's, else the order's own reference), when the
    /// shipment has an order.
    pub order_number: Option<String>,
    pub request: InformationRequest,
    /// The order's language, when it has one; else the delivery country's.
    pub locale: Option<String>,
    pub country: String,
}

impl Engine {
    /// The path of a request's page for its customer (`/i/{token}`).
    pub(crate) fn information_page_path(&self, scope: &Scope, id: &InformationRequestId) -> String {
        format!("/i/{}", self.store().information_token(scope, id))
    }

    /// The request a link names; `None` when the token is not one of ours.
    pub async fn customer_information(&self, token: &str) -> Result<Option<CustomerInformation>, EngineError> {
        let Some((scope, id)) = self.store().open_information_token(token) else { return Ok(None) };
        let request = match self.store().information_request(&scope, &id).await {
            Ok(r) => r,
            Err(waybill_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let shipment = self.store().shipment(&scope, &request.shipment_id).await?;
        let order = match &request.order_id {
            Some(order) => Some(self.store().order(&scope, order).await?),
            None => None,
        };
        Ok(Some(CustomerInformation {
            branding: self.branding_of(&scope.tenant).await?,
            order_number: order.as_ref().map(|o| o.number.clone().unwrap_or_else(|| o.external_id.clone())),
            locale: order.and_then(|o| o.locale),
            country: shipment.ship_to.country,
            request,
        }))
    }

    /// The customer answers the request a link names; the page after it. A value that does not
    /// pass is `Invalid` (the page shows why); a closed request is shown as it stands.
    pub async fn customer_resolve(&self, token: &str, value: &str) -> Result<Option<CustomerInformation>, EngineError> {
        let Some((scope, id)) = self.store().open_information_token(token) else { return Ok(None) };
        match self.resolve_information(&scope, &id, value, InfoActor::Customer).await {
            Ok(_) | Err(EngineError::Conflict(_)) => self.customer_information(token).await,
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A scan's code as the request keeps it: `EX/PHN`.
fn scan_code(scan: &TrackingEvent) -> String {
    match &scan.reason_code {
        Some(reason) => format!("{}/{reason}", scan.code),
        None => scan.code.clone(),
    }
}
