//! Booking: checking a request (with what its order provides), recording the intent, asking
//! the carrier, recording the outcome; settling a booking whose outcome was lost; cancelling.
//!
//! Once the carrier may have been asked, a booking is never an error: if the outcome cannot be
//! recorded (the carrier timed out, or the database failed after the carrier booked) it is
//! answered `unknown` and settled by asking the carrier ([`Carrier::find_booking`]), never by
//! booking again.

use waybill_carriers::{BookedRef, Booking, BookingRequest, Carrier, CarrierDocument, CarrierError, Rate, RateRequest};
use waybill_core::account::CarrierAccount;
use waybill_core::api::requests::{RateCreate, ShipmentCreate, resolve_parcels};
use waybill_core::error::Problems;
use waybill_core::ids::{CarrierAccountId, ChannelConnectionId, LocationId, OrderId, ShipmentId};
use waybill_core::information::{InfoField, InfoSource, InformationRequest};
use waybill_core::order::{ShipmentLine, lines_left, shipment_line_problems};
use waybill_core::{
    Address, BookingError, BookingState, Event, Invalid, Mode, Money, Order, Parcel, Payment, Scope, Shipment,
    TrackingStatus,
};
use waybill_labels::LabelFormat;
use waybill_store::now_ms;

use crate::error::Found;
use crate::jobs::{ReconcileBooking, Subscribe, Track};
use crate::orders::follow_order;
use crate::uow::UnitOfWork;
use crate::{Engine, EngineError};

/// A booking request once it is checked and filled in from its order; nothing written yet.
#[derive(Debug, Clone)]
pub struct BookInput {
    pub order_id: Option<OrderId>,
    /// The channel connection of the order, if it came from one.
    pub channel_connection_id: Option<ChannelConnectionId>,
    /// The location the sender is, if the booking shipped from one.
    pub location_id: Option<LocationId>,
    pub carrier_account_id: CarrierAccountId,
    pub service: String,
    /// The order's SKUs and quantities this shipment holds.
    pub lines: Vec<ShipmentLine>,
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<Parcel>,
    pub cod: Option<Money>,
    pub simulate: Option<String>,
    /// A return from the customer (`ship_from`) to the merchant (`ship_to`).
    pub is_return: bool,
    pub reference: Option<String>,
    /// The merchant's own tracking number: only for generic accounts with a pattern.
    pub tracking_number: Option<String>,
    /// Render Waybill's label in this format with the booking and store it in the same
    /// transaction, unless the carrier sends its own in that format.
    pub label_format: Option<LabelFormat>,
    /// The account as the check read it (so booking does not read it again).
    account: CarrierAccount,
}

/// A label is one document per format. Carriers answer a multi-parcel booking with one label
/// per parcel: ZPL labels are joined into one print job (each keeps its own `^XA…^XZ`); for
/// other formats only the first is kept, and the rest are logged.
fn one_document_per_format(id: &ShipmentId, documents: Vec<CarrierDocument>) -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for doc in documents {
        match out.iter_mut().find(|(format, _)| *format == doc.format) {
            None => out.push((doc.format, doc.bytes)),
            Some((_, bytes)) if doc.format == "zpl" => {
                if !bytes.ends_with(b"\n") {
                    bytes.push(b'\n');
                }
                bytes.extend(doc.bytes);
            }
            Some(_) => {
                tracing::warn!(shipment = %id, format = doc.format, "the carrier sent more than one label in this format; only the first is kept")
            }
        }
    }
    out
}

/// What of the order no active shipment holds: shipments being booked or booked, not
/// cancelled, not failed, not customer returns.
pub(crate) fn lines_left_of(order: &Order, shipments: &[Shipment]) -> Vec<ShipmentLine> {
    let held: Vec<&[ShipmentLine]> = shipments.iter().filter(|s| holds_lines(s)).map(|s| s.lines.as_slice()).collect();
    lines_left(&order.line_items, &held)
}

/// Whether a shipment holds its lines of the order.
pub(crate) fn holds_lines(s: &Shipment) -> bool {
    !s.is_return && s.booking_state != BookingState::Failed && s.status != TrackingStatus::Cancelled
}

/// Writes a booking's intent. For an order shipped in parts, its lines are checked again with
/// the order locked, so two bookings of the same lines at once cannot both be written.
pub(crate) async fn insert_intent(uow: &mut UnitOfWork, shipment: &Shipment, node: &str) -> Result<(), EngineError> {
    if let Some(order_id) = shipment.order_id.as_ref().filter(|_| !shipment.is_return && !shipment.lines.is_empty()) {
        let scope = shipment.scope();
        let order = uow.tx.lock_order(&scope, order_id).await?;
        let others = uow.tx.shipments_for_order(&scope, order_id).await?;
        let left = lines_left_of(&order, &others);
        let problems = shipment_line_problems(&shipment.lines, &left);
        if !problems.is_empty() {
            return Err(EngineError::Conflict(format!(
                "another booking took lines of order {order_id} meanwhile: {}",
                problems.iter().map(|p| p.detail.as_str()).collect::<Vec<_>>().join("; ")
            )));
        }
    }
    uow.tx.insert_shipment(shipment, node).await?;
    Ok(())
}

/// The tracking number a label is checked with before the carrier gives the real one.
const PLACEHOLDER_TRACKING_NUMBER: &str = "0000000000000000000000";

/// How the carrier knows a booked shipment: its tracking number, and the carrier's own id (the
/// tracking number where it gave none). `None` until the carrier gave a tracking number.
pub(crate) fn booked_ref(shipment: &Shipment) -> Option<BookedRef<'_>> {
    let tracking_number = shipment.tracking_number.as_deref()?;
    Some(BookedRef {
        tracking_number,
        carrier_shipment_id: shipment.carrier_shipment_id.as_deref().unwrap_or(tracking_number),
    })
}

impl Engine {
    /// Checks a booking request and fills in what its order provides, without writing
    /// anything: every problem at once, with its pointer.
    pub async fn check_booking(&self, scope: &Scope, mut body: ShipmentCreate) -> Result<BookInput, EngineError> {
        let mut problems = Problems::new();
        let order = match &body.order_id {
            Some(order_id) => {
                let order = self.store().order(scope, order_id).await.found(|| format!("order {order_id}"))?;
                if !order.status.can_ship_more() {
                    return Err(EngineError::Conflict(format!(
                        "order {order_id} is `{}`; only open or ready orders (or one shipped in part) can be booked",
                        order.status.as_str()
                    )));
                }
                Some(order)
            }
            None => None,
        };
        body.shape_problems(&mut problems);
        let lines = match &order {
            Some(o) if !body.is_return => {
                let shipments = self.store().shipments_for_order(scope, &o.id).await?;
                let left = lines_left_of(o, &shipments);
                if left.is_empty() {
                    return Err(EngineError::Conflict(format!(
                        "every line of order {} is in a shipment already; cancel one to book its lines again",
                        o.id
                    )));
                }
                if body.lines.is_empty() {
                    left
                } else {
                    problems.extend(shipment_line_problems(&body.lines, &left));
                    body.lines.clone()
                }
            }
            _ => body.lines.clone(),
        };
        let sender =
            self.sender(scope, body.ship_from.take(), body.location_id.as_ref(), order.as_ref(), &mut problems).await?;
        let ship_to = match (body.ship_to, &order) {
            (Some(a), _) => {
                problems.extend(a.problems("/ship_to"));
                Some(a)
            }
            (None, Some(o)) => Some(o.ship_to.clone()),
            (None, None) => {
                problems.add("/ship_to", "ship_to is required when no order_id is given");
                None
            }
        };
        let parcels = resolve_parcels(&body.parcels, &mut problems);
        let cod = body.cod.or_else(|| {
            order.as_ref().and_then(|o| match o.payment {
                Payment::Cod { .. } => o.payment.cod(o.currency),
                Payment::Prepaid => None,
            })
        });
        match (&body.options.simulate, scope.mode) {
            (Some(s), Mode::Test) if !waybill_carriers::sandbox::SCENARIOS.contains(&s.as_str()) => problems.add(
                "/options/simulate",
                format!("unknown scenario `{s}`; choose one of: {}", waybill_carriers::sandbox::SCENARIOS.join(", ")),
            ),
            (Some(_), Mode::Live) => problems.add("/options/simulate", "scenarios can only be chosen with a test key"),
            _ => {}
        }
        let label_format = match body.options.label_format.as_deref() {
            None => None,
            Some(f) => {
                let parsed = LabelFormat::parse(f);
                if parsed.is_none() {
                    problems.add("/options/label_format", format!("unknown label format `{f}`; use pdf, zpl or png"));
                }
                parsed
            }
        };
        let account = match self.named_account(scope, &body.carrier_account_id).await {
            Ok((account, _, carrier)) => Some((account, carrier)),
            Err(EngineError::Invalid(Invalid(errors))) => {
                problems.extend(errors);
                None
            }
            Err(e) => return Err(e),
        };
        if let Some((account, carrier)) = &account
            && account.carrier != waybill_carriers::generic::SLUG
        {
            if body.tracking_number.is_some() {
                problems.add("/tracking_number", format!("{} gives the tracking number itself", account.carrier));
            }
            if !carrier.info().services.iter().any(|s| s.code == body.service) {
                let known: Vec<_> = carrier.info().services.iter().map(|s| s.code).collect();
                problems.add(
                    "/service",
                    format!(
                        "`{}` is not a {} service; choose one of: {}",
                        body.service,
                        account.carrier,
                        known.join(", ")
                    ),
                );
            }
            if cod.is_some() && !carrier.info().capabilities.cash_on_delivery {
                problems.add("/cod", format!("{} does not collect cash on delivery", account.carrier));
            }
        }
        // A marketplace that booked the parcel itself (Trendyol): a generic account prints
        // the label with the marketplace's own tracking number.
        if body.tracking_number.is_none()
            && let Some((account, _)) = &account
            && account.carrier == waybill_carriers::generic::SLUG
            && let Some(assigned) = order.as_ref().and_then(|o| o.assigned_shipping.as_ref())
        {
            body.tracking_number = Some(assigned.tracking_number.clone());
        }
        problems.finish(())?;
        let (account, _) = account.expect("a missing account is a problem above");
        let sender = sender.expect("a missing sender is a problem above");
        let carrier = account.carrier.clone();
        let input = BookInput {
            order_id: body.order_id,
            channel_connection_id: order.as_ref().and_then(|o| o.connection_id.clone()),
            carrier_account_id: body.carrier_account_id,
            service: body.service,
            lines,
            ship_from: sender.0.normalized(),
            location_id: sender.1,
            ship_to: ship_to.expect("checked above").normalized(),
            parcels,
            cod,
            simulate: body.options.simulate,
            is_return: body.is_return,
            reference: body.reference.or_else(|| order.map(|o| o.external_id)),
            tracking_number: body.tracking_number.map(|n| n.trim().to_owned()),
            label_format,
            account,
        };
        self.check_label(scope, &input, &carrier).await?;
        Ok(input)
    }

    /// Refuses a booking whose label could never be printed (a merchant's tracking number too
    /// long for a scannable barcode, text that overflows the label's QR code), before the
    /// carrier is asked. Carriers' own numbers are checked with a typical one in their place.
    async fn check_label(&self, scope: &Scope, input: &BookInput, carrier: &str) -> Result<(), EngineError> {
        let mut draft = self.pending_shipment(scope, ShipmentId::generate(), input.clone(), carrier);
        draft.tracking_number =
            Some(input.tracking_number.clone().unwrap_or_else(|| PLACEHOLDER_TRACKING_NUMBER.into()));
        let (carrier_name, service_name) = self.label_names(&draft).await?;
        let spec = crate::labels::label_spec(&draft, &carrier_name, &service_name).expect("the draft has a number");
        self.inner.labels.check(&spec).map_err(|e| {
            use waybill_labels::LabelError as L;
            let pointer = match e {
                L::EmptyTrackingNumber | L::UnencodableTrackingNumber(_) | L::TrackingNumberTooLong { .. } => {
                    "/tracking_number"
                }
                L::QrPayloadTooLong { .. } => "/ship_to",
                _ => "",
            };
            Invalid::one(pointer, format!("the label could not be printed: {e}")).into()
        })
    }

    /// The shipment a booking starts as: pending, nothing scanned.
    pub(crate) fn pending_shipment(&self, scope: &Scope, id: ShipmentId, input: BookInput, carrier: &str) -> Shipment {
        let now = now_ms();
        Shipment {
            id,
            tenant_id: scope.tenant.clone(),
            mode: scope.mode,
            order_id: input.order_id,
            channel_connection_id: input.channel_connection_id,
            location_id: input.location_id,
            carrier_account_id: input.carrier_account_id,
            carrier: carrier.to_owned(),
            service: input.service,
            lines: input.lines,
            booking_state: BookingState::Pending,
            status: TrackingStatus::InfoReceived,
            progress: 0,
            last_scan_at: None,
            ndr_reason: None,
            tracking_number: None,
            carrier_shipment_id: None,
            ship_from: input.ship_from,
            ship_to: input.ship_to,
            parcels: input.parcels,
            cod: input.cod,
            charge: None,
            edd: None,
            routing: None,
            simulate: input.simulate,
            is_return: input.is_return,
            reference: input.reference,
            error: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Prices and transit times from one of the tenant's carrier accounts.
    pub async fn rates(
        &self,
        scope: &Scope,
        body: RateCreate,
    ) -> Result<(CarrierAccountId, String, Vec<Rate>), EngineError> {
        let mut problems = Problems::new();
        problems.extend(body.ship_from.problems("/ship_from"));
        problems.extend(body.ship_to.problems("/ship_to"));
        let parcels = resolve_parcels(&body.parcels, &mut problems);
        problems.finish(())?;
        let (account, secrets, carrier) = self.named_account(scope, &body.carrier_account_id).await?;
        let request = RateRequest { ship_from: body.ship_from, ship_to: body.ship_to, parcels };
        let rates = carrier.rate(&self.call_context(&account, &secrets, carrier.as_ref()), &request).await?;
        Ok((account.id, account.carrier, rates))
    }

    /// Books a checked request as shipment `id`: records the intent, asks the carrier, records
    /// the outcome. An error means no carrier booked (or the carrier refused).
    pub async fn book(&self, scope: &Scope, id: ShipmentId, input: BookInput) -> Result<Shipment, EngineError> {
        let account = input.account.clone();
        let secrets = self.secrets_of(&account).await?;
        let carrier = self.carriers().get(&account.carrier).cloned().ok_or_else(|| {
            EngineError::Internal(format!(
                "carrier `{}` of account {} is not in this build",
                account.carrier, account.id
            ))
        })?;
        if account.carrier == waybill_carriers::generic::SLUG {
            return self.book_generic(scope, id, input, &account).await;
        }
        let label_format = input.label_format;
        let request = BookingRequest {
            reference: id.to_string(),
            service: input.service.clone(),
            ship_from: input.ship_from.clone(),
            ship_to: input.ship_to.clone(),
            parcels: input.parcels.clone(),
            cod: input.cod,
            simulate: input.simulate.clone(),
            is_return: input.is_return,
        };
        let pending = self.pending_shipment(scope, id, input, &account.carrier);
        let mut uow = self.begin().await?;
        insert_intent(&mut uow, &pending, &self.config().node).await?;
        uow.commit(self).await?;

        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        let capabilities = &carrier.info().capabilities;
        let answer = if capabilities.push && capabilities.push_at_booking {
            carrier.book_subscribed(&ctx, &request, &self.push_target(&account, &secrets)).await
        } else {
            carrier.book(&ctx, &request).await
        };
        match answer {
            Ok(booking) => Ok(self.settle_booked(&pending, carrier.as_ref(), booking, label_format).await),
            Err(CarrierError::Unknown { message, .. }) => {
                tracing::warn!(shipment = %pending.id, %message, "booking outcome unknown; reconciling");
                Ok(self.settle_unknown(&pending).await)
            }
            Err(e) => {
                let error = BookingError {
                    code: e.carrier_code().unwrap_or("CARRIER_ERROR").to_owned(),
                    message: e.to_string(),
                };
                let asked = match &e {
                    CarrierError::Rejected { field: Some(field), .. } => InfoField::of_pointer(field),
                    _ => None,
                };
                if let Err(record) = self.record_failed_asking(&pending, error, asked).await {
                    // Nothing was booked; the sweep finds the pending row and settles it.
                    tracing::error!(shipment = %pending.id, error = %record, "cannot record a refused booking");
                }
                Err(e.into())
            }
        }
    }

    /// Records a booking the carrier made; if that cannot be written, the booking is left
    /// `unknown` for reconciliation. Never fails: the answer is the booking or `unknown`.
    async fn settle_booked(
        &self,
        pending: &Shipment,
        carrier: &dyn Carrier,
        booking: Booking,
        label_format: Option<LabelFormat>,
    ) -> Shipment {
        match self.record_booked(pending, carrier, booking, label_format).await {
            Ok(shipment) => shipment,
            Err(e) => {
                tracing::error!(shipment = %pending.id, error = %e, "the carrier booked but the booking cannot be recorded; reconciling");
                self.settle_unknown(pending).await
            }
        }
    }

    /// Leaves a booking `unknown` with a reconcile queued; if even that cannot be written, the
    /// answer still says `unknown` and the pending row is settled by the sweep.
    async fn settle_unknown(&self, pending: &Shipment) -> Shipment {
        match self.record_unknown(pending).await {
            Ok(shipment) => shipment,
            Err(e) => {
                tracing::error!(shipment = %pending.id, error = %e, "cannot record an unknown booking; the sweep settles it");
                Shipment { booking_state: BookingState::Unknown, ..pending.clone() }
            }
        }
    }

    /// Records a booking the carrier confirmed, with its label documents, its order's move,
    /// the `shipment.booked` event and its tracking jobs: a subscription to the carrier's
    /// pushes (only for carriers that push and were not subscribed by the booking itself) and
    /// the first poll. A shipment already booked (a reconcile won the race) is returned as is.
    pub(crate) async fn record_booked(
        &self,
        pending: &Shipment,
        carrier: &dyn Carrier,
        booking: Booking,
        label_format: Option<LabelFormat>,
    ) -> Result<Shipment, EngineError> {
        let id = &pending.id;
        let mut documents = one_document_per_format(id, booking.documents);
        let as_booked = Shipment {
            tracking_number: Some(booking.tracking_number.clone()),
            carrier_shipment_id: Some(booking.carrier_shipment_id.clone()),
            service: booking.service.clone(),
            charge: booking.charge,
            edd: booking.edd,
            routing: booking.routing.clone(),
            booking_state: BookingState::Booked,
            error: None,
            ..pending.clone()
        };
        self.booking_label(&as_booked, label_format, &mut documents).await;

        let scope = pending.scope();
        let mut uow = self.begin().await?;
        // One statement writes the booking and reads the shipment back (with whatever scans
        // moved it meanwhile); a shipment booked already (a reconcile won the race) is kept.
        let Some(shipment) = uow.tx.record_booking(&Shipment { updated_at: now_ms(), ..as_booked }).await? else {
            drop(uow);
            return Ok(self.store().shipment(&scope, id).await?);
        };
        for (format, bytes) in &documents {
            uow.tx.insert_document(&shipment, format, bytes).await?;
        }
        follow_order(&mut uow, &shipment).await?;
        let now = now_ms();
        let capabilities = &carrier.info().capabilities;
        if capabilities.push && !capabilities.push_at_booking {
            let subscribe = Subscribe {
                shipment_id: id.clone(),
                carrier_account_id: Some(shipment.carrier_account_id.clone()),
                tracking_number: shipment.tracking_number.clone(),
            };
            uow.enqueue(Some(&scope), &subscribe, now);
        }
        uow.enqueue(
            Some(&scope),
            &Track { shipment_id: id.clone() },
            now + self.poll_delay(TrackingStatus::InfoReceived),
        );
        uow.emit(&scope, Event::ShipmentBooked { shipment: shipment.clone() });
        uow.commit(self).await?;
        Ok(shipment)
    }

    /// Records that the carrier was asked and its answer is not known, and queues the reconcile.
    async fn record_unknown(&self, pending: &Shipment) -> Result<Shipment, EngineError> {
        let scope = pending.scope();
        let mut uow = self.begin().await?;
        let mut shipment = uow.tx.lock_shipment(&scope, &pending.id).await?;
        if !matches!(shipment.booking_state, BookingState::Pending | BookingState::Unknown) {
            return Ok(shipment);
        }
        shipment.booking_state = BookingState::Unknown;
        shipment.updated_at = now_ms();
        uow.tx.update_shipment(&shipment).await?;
        let reconcile = ReconcileBooking { shipment_id: shipment.id.clone() };
        uow.enqueue_replacing(Some(&scope), &reconcile, now_ms() + 2_000);
        uow.emit(&scope, Event::ShipmentBookingUnknown { shipment: shipment.clone() });
        uow.commit(self).await?;
        Ok(shipment)
    }

    /// Records that the booking did not happen (the carrier refused, or says it has none).
    pub(crate) async fn record_failed(&self, pending: &Shipment, error: BookingError) -> Result<Shipment, EngineError> {
        self.record_failed_asking(pending, error, None).await
    }

    /// Records a refused booking; when the carrier refused it over a field of the delivery
    /// address (`asked`), an information request for that field opens with it.
    async fn record_failed_asking(
        &self,
        pending: &Shipment,
        error: BookingError,
        asked: Option<InfoField>,
    ) -> Result<Shipment, EngineError> {
        let scope = pending.scope();
        let mut uow = self.begin().await?;
        let mut shipment = uow.tx.lock_shipment(&scope, &pending.id).await?;
        if shipment.booking_state == BookingState::Booked {
            return Ok(shipment);
        }
        shipment.booking_state = BookingState::Failed;
        shipment.error = Some(error.clone());
        shipment.updated_at = now_ms();
        uow.tx.update_shipment(&shipment).await?;
        uow.emit(&scope, Event::ShipmentBookingFailed { shipment: shipment.clone() });
        if let Some(field) = asked {
            let request = InformationRequest::open(
                scope.tenant.clone(),
                scope.mode,
                shipment.id.clone(),
                shipment.order_id.clone(),
                field,
                InfoSource::BookingRefusal,
                None,
                &error.code,
                &error.message,
                shipment.updated_at,
            );
            let (request, fresh) = uow.tx.open_information_request(&request).await?;
            if fresh {
                uow.emit(&scope, Event::InformationRequested { shipment: shipment.clone(), request });
            }
        }
        uow.commit(self).await?;
        Ok(shipment)
    }

    /// Leaves a booking whose outcome cannot be settled automatically as `unknown`, with the
    /// reason for a person to read (no reconcile is queued).
    async fn record_needs_attention(&self, pending: &Shipment, error: BookingError) -> Result<(), EngineError> {
        let scope = pending.scope();
        let mut uow = self.begin().await?;
        let mut shipment = uow.tx.lock_shipment(&scope, &pending.id).await?;
        if !matches!(shipment.booking_state, BookingState::Pending | BookingState::Unknown) {
            return Ok(());
        }
        shipment.booking_state = BookingState::Unknown;
        shipment.error = Some(error);
        shipment.updated_at = now_ms();
        uow.tx.update_shipment(&shipment).await?;
        uow.emit(&scope, Event::ShipmentBookingUnknown { shipment });
        uow.commit(self).await
    }

    /// Queues a reconcile for every booking no live node is recording: those a dead node (or
    /// this node's previous run) left pending, and any pending longer than `booking_watchdog`.
    pub(crate) async fn sweep_orphaned_bookings(&self) -> Result<usize, EngineError> {
        let now = now_ms();
        let cutoff = now - self.config().booking_watchdog.as_millis() as i64;
        let alive_since = now - self.config().node_timeout.as_millis() as i64;
        let orphaned = self.store().orphaned_bookings(cutoff, alive_since, 100).await?;
        if orphaned.is_empty() {
            return Ok(0);
        }
        let mut uow = self.begin().await?;
        for (scope, id) in &orphaned {
            tracing::warn!(shipment = %id, "booking outcome never recorded; reconciling");
            uow.enqueue(Some(scope), &ReconcileBooking { shipment_id: id.clone() }, now);
        }
        uow.commit(self).await?;
        Ok(orphaned.len())
    }

    /// Settles a booking whose answer was lost: the carrier is asked whether it holds one
    /// under our reference. Only if it has none is the shipment marked failed, so the
    /// merchant can book again; it is never re-sent here.
    pub(crate) async fn reconcile_booking(&self, scope: &Scope, id: &ShipmentId) -> Result<(), EngineError> {
        let shipment = self.store().shipment(scope, id).await?;
        if !matches!(shipment.booking_state, BookingState::Pending | BookingState::Unknown) {
            return Ok(());
        }
        let (account, secrets, carrier) = self.account(scope, &shipment.carrier_account_id).await?;
        if account.carrier == waybill_carriers::generic::SLUG {
            // Nothing left Waybill: the number it took is skipped, and booking again is safe.
            let error = BookingError {
                code: "NOT_BOOKED".into(),
                message: "the booking was interrupted before it was recorded; it is safe to book again".into(),
            };
            self.record_failed(&shipment, error).await?;
            return Ok(());
        }
        if !carrier.info().capabilities.find_booking {
            tracing::warn!(shipment = %id, carrier = %account.carrier, "booking outcome unknown and the carrier cannot be asked");
            let error = BookingError {
                code: "NEEDS_ATTENTION".into(),
                message: format!(
                    "{} did not answer this booking and offers no way to look it up: check with the carrier \
                     (reference {id}) before booking again",
                    account.carrier
                ),
            };
            return self.record_needs_attention(&shipment, error).await;
        }
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        match carrier.find_booking(&ctx, id.as_str()).await? {
            Some(booking) => {
                tracing::info!(shipment = %id, tracking_number = %booking.tracking_number, "reconciled: the carrier had the booking");
                // The booking's label format was not kept; its label renders on first fetch.
                self.record_booked(&shipment, carrier.as_ref(), booking, None).await?;
            }
            None => {
                tracing::info!(shipment = %id, "reconciled: the carrier has no booking");
                let error = BookingError {
                    code: "NOT_BOOKED".into(),
                    message: "the carrier never received this booking; it is safe to book again".into(),
                };
                self.record_failed(&shipment, error).await?;
            }
        }
        Ok(())
    }

    /// Voids a booking at the carrier while it still allows that.
    pub async fn cancel(&self, scope: &Scope, id: &ShipmentId) -> Result<Shipment, EngineError> {
        let shipment = self.shipment(scope, id).await?;
        if shipment.status == TrackingStatus::Cancelled {
            return Ok(shipment);
        }
        let (Some(booked), BookingState::Booked) = (booked_ref(&shipment), shipment.booking_state) else {
            return Err(EngineError::Conflict(format!(
                "shipment {id} is not booked (booking state `{}`)",
                shipment.booking_state.as_str()
            )));
        };
        // A generic carrier's first scan is the merchant saying the parcel has left.
        let scanned = shipment.carrier == waybill_carriers::generic::SLUG && shipment.last_scan_at.is_some();
        if shipment.status.is_final() || shipment.progress >= 1 || scanned {
            return Err(EngineError::Conflict(format!(
                "shipment {id} is already `{}`; a moving parcel is brought back, not cancelled: \
                 POST /v1/shipments/{id}/rto",
                shipment.status.as_str()
            )));
        }
        let (account, secrets, carrier) = self.account(scope, &shipment.carrier_account_id).await?;
        if !carrier.info().capabilities.cancel {
            return Err(CarrierError::Unsupported {
                carrier: carrier.info().slug,
                operation: "cancellation through its API: ask the carrier to void the booking",
            }
            .into());
        }
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        carrier.cancel(&ctx, &booked).await?;
        let scan = waybill_carriers::Scan {
            event_id: Some("api:cancelled".into()),
            code: "CANCELLED".into(),
            status: TrackingStatus::Cancelled,
            reason_code: None,
            ndr_reason: None,
            description: "Booking cancelled with the carrier".into(),
            location: None,
            occurred_at: chrono::Utc::now().fixed_offset(),
            raw: serde_json::json!({}),
        };
        let outcome = self.record_scans(scope, id, vec![scan], waybill_core::ScanSource::Api).await?;
        Ok(outcome.shipment)
    }
}
