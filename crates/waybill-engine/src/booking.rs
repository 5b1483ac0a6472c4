//! Carrier accounts, booking, reconciling an unknown booking, and cancelling.

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;
use waybill_carriers::{
    Account, BookedRef, Booking, BookingRequest, Carrier, CarrierDocument, CarrierError, Rate, RateRequest,
};
use waybill_core::error::Problems;
use waybill_core::ids::{CarrierAccountId, OrderId, ShipmentId, TenantId};
use waybill_core::{Address, Invalid, Mode, Money, Parcel, TrackingStatus};
use waybill_store::{
    AccountSecrets, BookedFields, BookingError, BookingState, CarrierAccount, NewCarrierAccount, NewJob, NewScan,
    NewShipment, ScanSource, Shipment, now_ms,
};

use waybill_labels::LabelFormat;

use crate::jobs::{RECONCILE_BOOKING, SUBSCRIBE, TRACK};
use crate::{Engine, EngineError};

pub struct NewAccountInput {
    pub carrier: String,
    pub mode: Mode,
    pub description: Option<String>,
    pub base_url: Option<String>,
    pub credentials: serde_json::Value,
}

/// A booking as the API asks for it, already checked for shape.
pub struct BookInput {
    pub id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub carrier_account_id: CarrierAccountId,
    pub service: String,
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

pub(crate) fn shipment_job(kind: &'static str, id: &ShipmentId, run_at: i64, max_attempts: u32) -> NewJob {
    NewJob {
        kind,
        payload: json!({ "shipment_id": id }),
        run_at,
        unique_key: Some(format!("{kind}:{id}")),
        max_attempts,
    }
}

impl Engine {
    pub async fn create_carrier_account(
        &self,
        tenant: &TenantId,
        input: NewAccountInput,
    ) -> Result<CarrierAccount, EngineError> {
        self.create_carrier_account_with_settings(tenant, input, None).await
    }

    /// Creates an account; `settings` describe a carrier without an API (`generic` only).
    pub async fn create_carrier_account_with_settings(
        &self,
        tenant: &TenantId,
        input: NewAccountInput,
        settings: Option<serde_json::Value>,
    ) -> Result<CarrierAccount, EngineError> {
        let Some(carrier) = self.carriers().get(&input.carrier) else {
            let known: Vec<_> = self.carriers().iter().map(|c| c.info().slug).collect();
            return Err(Invalid::one(
                "/carrier",
                format!("unknown carrier `{}`; known: {}", input.carrier, known.join(", ")),
            )
            .into());
        };
        let mut problems = Problems::new();
        if let Err(errors) = carrier.check_credentials(&input.credentials) {
            problems.extend(errors);
        }
        let configured = crate::generic::check_settings(&input.carrier, settings.as_ref(), &mut problems);
        let default_url = match input.mode {
            Mode::Test => carrier.info().test_base_url,
            Mode::Live => carrier.info().live_base_url,
        };
        match &input.base_url {
            Some(url)
                if !(url.starts_with("http://") || url.starts_with("https://"))
                    || reqwest::Url::parse(url).is_err() =>
            {
                problems.add("/base_url", "must be an absolute http:// or https:// URL")
            }
            None if default_url.is_none() && input.carrier != waybill_carriers::generic::SLUG => problems
                .add("/base_url", format!("{} has no public host: give the base_url to reach it", input.carrier)),
            _ => {}
        }
        problems.finish(())?;
        let push_secret: String = rand::rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect();
        let new = NewCarrierAccount {
            carrier: input.carrier,
            mode: input.mode,
            description: input.description,
            base_url: input.base_url,
            secrets: AccountSecrets { credentials: input.credentials, push_secret },
        };
        Ok(match configured {
            Some((settings, next_number)) => {
                self.store().create_configured_carrier_account(tenant, new, settings, next_number).await?
            }
            None => self.store().create_carrier_account(tenant, new).await?,
        })
    }

    /// The adapter and call context for an account, with its credentials opened.
    pub(crate) async fn account(
        &self,
        tenant: &TenantId,
        id: &CarrierAccountId,
    ) -> Result<(CarrierAccount, AccountSecrets, std::sync::Arc<dyn Carrier>), EngineError> {
        let (account, secrets) = match self.cached_account(id) {
            Some(found) => found,
            None => {
                let account = self
                    .store()
                    .carrier_account(tenant, id)
                    .await
                    .map_err(|_| EngineError::NotFound(format!("carrier account {id}")))?;
                let secrets = self.store().account_secrets(tenant, id).await?;
                self.cache_account(&account, &secrets);
                (account, secrets)
            }
        };
        // The cache is keyed by account alone; the tenant check is what keeps it tenant-safe.
        if &account.tenant_id != tenant {
            return Err(EngineError::NotFound(format!("carrier account {id}")));
        }
        let carrier = self.carriers().get(&account.carrier).cloned().ok_or_else(|| {
            EngineError::Conflict(format!("carrier `{}` is not available in this build", account.carrier))
        })?;
        Ok((account, secrets, carrier))
    }

    pub(crate) fn cached_account(&self, id: &CarrierAccountId) -> Option<(CarrierAccount, AccountSecrets)> {
        self.inner.accounts.read().unwrap_or_else(|e| e.into_inner()).get(id).map(|entry| (**entry).clone())
    }

    pub(crate) fn cache_account(&self, account: &CarrierAccount, secrets: &AccountSecrets) {
        let entry = std::sync::Arc::new((account.clone(), secrets.clone()));
        self.inner.accounts.write().unwrap_or_else(|e| e.into_inner()).insert(account.id.clone(), entry);
    }

    /// What a carrier call needs to act for `account`.
    pub fn call_context<'a>(
        &self,
        account: &'a CarrierAccount,
        secrets: &'a AccountSecrets,
        carrier: &dyn Carrier,
    ) -> Account<'a> {
        Account {
            id: &account.id,
            mode: account.mode,
            base_url: self.base_url(account, carrier),
            credentials: &secrets.credentials,
        }
    }

    /// Where to reach the carrier for this account: its override, else the carrier's host for its mode.
    pub fn base_url<'a>(&self, account: &'a CarrierAccount, carrier: &dyn Carrier) -> &'a str {
        let info = carrier.info();
        account
            .base_url
            .as_deref()
            .or(match account.mode {
                Mode::Test => info.test_base_url,
                Mode::Live => info.live_base_url,
            })
            .unwrap_or_default()
    }

    /// Prices and transit times from one of the tenant's carrier accounts.
    pub async fn rates(
        &self,
        tenant: &TenantId,
        account_id: &CarrierAccountId,
        request: &RateRequest,
    ) -> Result<(CarrierAccount, Vec<Rate>), EngineError> {
        let (account, secrets, carrier) = self.account(tenant, account_id).await.map_err(|e| match e {
            EngineError::NotFound(_) => {
                Invalid::one("/carrier_account_id", format!("no carrier account `{account_id}`")).into()
            }
            other => other,
        })?;
        let rates = carrier.rate(&self.call_context(&account, &secrets, carrier.as_ref()), request).await?;
        Ok((account, rates))
    }

    /// Books a shipment: records the intent, asks the carrier, records the outcome.
    pub async fn book(&self, tenant: &TenantId, input: BookInput) -> Result<Shipment, EngineError> {
        let (account, secrets, carrier) =
            self.account(tenant, &input.carrier_account_id).await.map_err(|e| match e {
                EngineError::NotFound(_) => {
                    Invalid::one("/carrier_account_id", format!("no carrier account `{}`", input.carrier_account_id))
                        .into()
                }
                other => other,
            })?;
        if account.carrier == waybill_carriers::generic::SLUG {
            return self.book_generic(tenant, input, &account).await;
        }
        let mut problems = Problems::new();
        if input.tracking_number.is_some() {
            problems.add("/tracking_number", format!("{} gives the tracking number itself", account.carrier));
        }
        if !carrier.info().services.iter().any(|s| s.code == input.service) {
            let known: Vec<_> = carrier.info().services.iter().map(|s| s.code).collect();
            problems.add(
                "/service",
                format!(
                    "`{}` is not a {} service; choose one of: {}",
                    input.service,
                    account.carrier,
                    known.join(", ")
                ),
            );
        }
        if input.cod.is_some() && !carrier.info().capabilities.cash_on_delivery {
            problems.add("/cod", format!("{} does not collect cash on delivery", account.carrier));
        }
        problems.finish(())?;

        let id = input.id.clone();
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
        let pending = NewShipment {
            id: id.clone(),
            order_id: input.order_id,
            carrier_account_id: account.id.clone(),
            carrier: account.carrier.clone(),
            service: input.service,
            ship_from: input.ship_from,
            ship_to: input.ship_to,
            parcels: input.parcels,
            cod: input.cod,
            simulate: input.simulate,
            is_return: input.is_return,
            reference: input.reference,
        };
        let pending = self.store().create_pending_shipment(tenant, pending).await?;

        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        let capabilities = &carrier.info().capabilities;
        let answer = if capabilities.push && capabilities.push_at_booking {
            carrier.book_subscribed(&ctx, &request, &self.push_target(&account, &secrets)).await
        } else {
            carrier.book(&ctx, &request).await
        };
        match answer {
            Ok(booking) => self.record_booked(&pending, carrier.as_ref(), booking, input.label_format).await,
            Err(CarrierError::Unknown { message, .. }) => {
                tracing::warn!(shipment = %id, %message, "booking outcome unknown; reconciling");
                let reconcile = shipment_job(RECONCILE_BOOKING, &id, now_ms() + 2_000, 20);
                Ok(self.store().record_booking_unknown(tenant, &id, reconcile).await?)
            }
            Err(e) => {
                let error = BookingError {
                    code: e.carrier_code().unwrap_or("CARRIER_ERROR").to_owned(),
                    message: e.to_string(),
                };
                self.store().record_booking_failure(tenant, &id, error).await?;
                Err(e.into())
            }
        }
    }

    /// Records a booking the carrier confirmed, with its tracking jobs: a subscription to the
    /// carrier's pushes (only for carriers that push and were not subscribed by the booking
    /// itself; its payload names the account and number, so it needs no read) and the first
    /// poll.
    pub(crate) async fn record_booked(
        &self,
        pending: &Shipment,
        carrier: &dyn Carrier,
        booking: Booking,
        label_format: Option<LabelFormat>,
    ) -> Result<Shipment, EngineError> {
        let (tenant, id, account_id) = (&pending.tenant_id, &pending.id, &pending.carrier_account_id);
        let now = now_ms();
        let mut jobs = Vec::with_capacity(2);
        let capabilities = &carrier.info().capabilities;
        if capabilities.push && !capabilities.push_at_booking {
            jobs.push(NewJob {
                payload: json!({
                    "shipment_id": id,
                    "carrier_account_id": account_id,
                    "tracking_number": booking.tracking_number,
                }),
                ..shipment_job(SUBSCRIBE, id, now, 10)
            });
        }
        jobs.push(shipment_job(TRACK, id, now + self.poll_delay(TrackingStatus::InfoReceived), 50));
        let mut documents = one_document_per_format(id, booking.documents);
        let as_booked = Shipment {
            tracking_number: Some(booking.tracking_number.clone()),
            service: booking.service.clone(),
            routing: booking.routing.clone(),
            booking_state: BookingState::Booked,
            ..pending.clone()
        };
        self.booking_label(tenant, &as_booked, label_format, &mut documents).await;
        let booked = BookedFields {
            tracking_number: booking.tracking_number,
            carrier_shipment_id: booking.carrier_shipment_id,
            service: booking.service,
            charge: booking.charge,
            edd: booking.edd,
            routing: booking.routing,
            documents,
        };
        let shipment = self.store().record_booking(tenant, id, booked, jobs).await?;
        self.inner.jobs_queued.notify_waiters();
        Ok(shipment)
    }

    /// Queues a reconcile for every booking left pending longer than `booking_watchdog` (its
    /// node died between asking the carrier and recording the answer). Each worker runs this
    /// now and then; the job's unique key keeps nodes from queueing it twice.
    pub(crate) async fn sweep_pending_bookings(&self) -> Result<usize, EngineError> {
        let cutoff = now_ms() - self.config().booking_watchdog.as_millis() as i64;
        let stale = self.store().pending_bookings_before(cutoff, 100).await?;
        for (tenant, id) in &stale {
            tracing::warn!(shipment = %id, "booking outcome never recorded; reconciling");
            self.store().enqueue(Some(tenant), vec![shipment_job(RECONCILE_BOOKING, id, now_ms(), 20)]).await?;
        }
        if !stale.is_empty() {
            self.inner.jobs_queued.notify_waiters();
        }
        Ok(stale.len())
    }

    /// Settles a booking whose answer was lost: the carrier is asked whether it holds one
    /// under our reference. Only if it has none is the shipment marked failed, so the
    /// merchant can book again; it is never re-sent here.
    pub(crate) async fn reconcile_booking(&self, tenant: &TenantId, id: &ShipmentId) -> Result<(), EngineError> {
        let shipment = self.store().shipment(tenant, id).await?;
        if !matches!(shipment.booking_state, BookingState::Pending | BookingState::Unknown) {
            return Ok(());
        }
        let (account, secrets, carrier) = self.account(tenant, &shipment.carrier_account_id).await?;
        if account.carrier == waybill_carriers::generic::SLUG {
            // Nothing left Waybill: the number it took is skipped, and booking again is safe.
            let error = BookingError {
                code: "NOT_BOOKED".into(),
                message: "the booking was interrupted before it was recorded; it is safe to book again".into(),
            };
            self.store().record_booking_failure(tenant, id, error).await?;
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
            self.store().record_booking_needs_attention(tenant, id, error).await?;
            return Ok(());
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
                self.store().record_booking_failure(tenant, id, error).await?;
            }
        }
        Ok(())
    }

    /// Voids a booking at the carrier while it still allows that.
    pub async fn cancel(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, EngineError> {
        let shipment =
            self.store().shipment(tenant, id).await.map_err(|_| EngineError::NotFound(format!("shipment {id}")))?;
        if shipment.status == TrackingStatus::Cancelled {
            return Ok(shipment);
        }
        let (Some(tracking_number), BookingState::Booked) =
            (shipment.tracking_number.as_deref(), shipment.booking_state)
        else {
            return Err(EngineError::Conflict(format!(
                "shipment {id} is not booked (booking state `{}`)",
                shipment.booking_state.as_str()
            )));
        };
        // A generic carrier's first scan is the merchant saying the parcel has left.
        let scanned = shipment.carrier == waybill_carriers::generic::SLUG && shipment.last_scan_at.is_some();
        if shipment.status.is_final() || shipment.progress >= 1 || scanned {
            return Err(EngineError::Conflict(format!(
                "shipment {id} is already `{}`; a moving parcel is returned, not cancelled",
                shipment.status.as_str()
            )));
        }
        let (account, secrets, carrier) = self.account(tenant, &shipment.carrier_account_id).await?;
        if !carrier.info().capabilities.cancel {
            return Err(CarrierError::Unsupported {
                carrier: carrier.info().slug,
                operation: "cancellation through its API: ask the carrier to void the booking",
            }
            .into());
        }
        let ctx = self.call_context(&account, &secrets, carrier.as_ref());
        let booked = BookedRef {
            tracking_number,
            carrier_shipment_id: shipment.carrier_shipment_id.as_deref().unwrap_or(tracking_number),
        };
        carrier.cancel(&ctx, &booked).await?;
        let scan = NewScan {
            dedupe_key: "api:cancelled".into(),
            code: "CANCELLED".into(),
            status: TrackingStatus::Cancelled,
            reason_code: None,
            ndr_reason: None,
            description: "Booking cancelled with the carrier".into(),
            location: None,
            occurred_at: chrono::Utc::now().fixed_offset(),
            source: ScanSource::Api,
            raw: json!({}),
        };
        let outcome = self.store().apply_scans(tenant, id, vec![scan], |_, _| vec![]).await?;
        Ok(outcome.shipment)
    }
}
