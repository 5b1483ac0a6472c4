//! Merchant webhooks: endpoints, the fan-out of each public event to the endpoints that want
//! it, and delivery as the Standard Webhooks specification has it (see `waybill_notify::webhook`).
//!
//! Every public event is stored once and, in the transaction that emits it, fans out to one
//! message per endpoint that wants it ([`fan_out`]), each delivered by its own
//! [`DeliverWebhook`] job; a tenant without endpoints pays one indexed read per commit. A
//! message waits for the messages about the same object still pending to the same endpoint, so
//! a receiver sees one shipment's events in order. A failed attempt is retried on
//! `waybill_core::webhook::RETRY_SCHEDULE` (over three days); an endpoint failing for
//! `DISABLE_AFTER_MS` is disabled, and a `webhook_endpoint.disabled` event tells the merchant.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use waybill_core::api::requests::{Redeliver, WebhookCreate};
use waybill_core::api::time;
use waybill_core::api::views::{NdrCaseView, OrderView, PickupView, RedeliveredMessage, ShipmentView};
use waybill_core::error::Problems;
use waybill_core::ids::{EventId, WebhookDeliveryId, WebhookEndpointId, WebhookMessageId};
use waybill_core::webhook::{
    WebhookDelivery, WebhookEndpoint, WebhookMessage, WebhookMessageState, WebhookState, retry_delay, should_disable,
};
use waybill_core::{Event, Mode, Page, Scope, Shipment};
use waybill_notify::webhook::{self as signing, Delivery};
use waybill_store::{NewEvent, NewJob, StoredEvent, Tx, now_ms};

use crate::error::Found;
use crate::jobs::{Job, JobContext, Next};
use crate::uow::UnitOfWork;
use crate::{Engine, EngineError};

/// Delivers one message; reschedules itself on the retry schedule.
#[derive(Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub message_id: WebhookMessageId,
}

impl Job for DeliverWebhook {
    const KIND: &'static str = "deliver_webhook";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.message_id))
    }
}

/// A message waiting behind another looks again this long after the other's next attempt.
const WAIT_BEHIND_MS: i64 = 1_000;

impl Engine {
    /// Registers an endpoint in the key's scope; returns it with its secret, shown only now.
    pub async fn create_webhook(
        &self,
        scope: &Scope,
        body: WebhookCreate,
    ) -> Result<(WebhookEndpoint, String), EngineError> {
        let mut problems = Problems::new();
        problems.extend(body.problems());
        problems.finish(())?;
        if let Err(detail) = self.check_webhook_destination(scope.mode, &body.url).await {
            let mut problems = Problems::new();
            problems.add("/url", detail);
            problems.finish(())?;
        }
        let now = now_ms();
        let endpoint = WebhookEndpoint {
            id: WebhookEndpointId::generate(),
            tenant_id: scope.tenant.clone(),
            mode: scope.mode,
            url: body.url,
            description: body.description,
            events: body.events,
            state: WebhookState::Enabled,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        let secret = signing::generate_secret();
        let mut uow = self.begin().await?;
        uow.tx.insert_webhook_endpoint(&endpoint, self.store().seal_webhook_secret(&secret)).await?;
        uow.commit(self).await?;
        Ok((endpoint, secret))
    }

    /// Live endpoints must be https and public unless the operator allows private ones
    /// (`--allow-private-webhooks`); test endpoints may be anything http(s), for local receivers.
    async fn check_webhook_destination(&self, mode: Mode, url: &str) -> Result<(), String> {
        if mode == Mode::Test || self.config().allow_private_webhooks {
            return Ok(());
        }
        if !url.to_ascii_lowercase().starts_with("https://") {
            return Err("a live webhook URL must be https".into());
        }
        self.inner.outbound.check_destination(url).await.map_err(|refused| refused.to_string())
    }

    pub async fn webhook(&self, scope: &Scope, id: &WebhookEndpointId) -> Result<WebhookEndpoint, EngineError> {
        self.store().webhook_endpoint(scope, id).await.found(|| format!("webhook endpoint {id}"))
    }

    pub async fn list_webhooks(
        &self,
        scope: &Scope,
        after: Option<&WebhookEndpointId>,
        limit: u32,
    ) -> Result<Page<WebhookEndpoint>, EngineError> {
        Ok(self.store().list_webhook_endpoints(scope, after, limit).await?)
    }

    /// Deletes an endpoint; its pending messages are given up, its delivery log is kept.
    pub async fn delete_webhook(&self, scope: &Scope, id: &WebhookEndpointId) -> Result<(), EngineError> {
        let now = now_ms();
        let mut uow = self.begin().await?;
        if !uow.tx.delete_webhook_endpoint(scope, id, now).await? {
            return Err(EngineError::NotFound(format!("webhook endpoint {id}")));
        }
        uow.tx.fail_pending_webhook_messages(id, "the endpoint was deleted", now).await?;
        uow.commit(self).await
    }

    /// An endpoint's delivery log, oldest first.
    pub async fn webhook_deliveries(
        &self,
        scope: &Scope,
        id: &WebhookEndpointId,
        after: Option<&WebhookDeliveryId>,
        limit: u32,
    ) -> Result<Page<WebhookDelivery>, EngineError> {
        self.webhook(scope, id).await?;
        Ok(self.store().webhook_deliveries(scope, id, after, limit).await?)
    }

    /// Sends a stored event again, as a new message with the same `webhook-id`, to one endpoint
    /// or to every enabled endpoint that wants its type.
    pub async fn redeliver(
        &self,
        scope: &Scope,
        event_id: &EventId,
        body: Redeliver,
    ) -> Result<Vec<RedeliveredMessage>, EngineError> {
        let event = self.store().event(scope, event_id).await.found(|| format!("event {event_id}"))?;
        let kind = event.event.kind();
        if !Event::is_public(kind) {
            return Err(EngineError::NotFound(format!("event {event_id}")));
        }
        let endpoints = match &body.endpoint_id {
            Some(id) => {
                let endpoint = self.webhook(scope, id).await?;
                if endpoint.state != WebhookState::Enabled {
                    return Err(EngineError::Conflict(format!("webhook endpoint {id} is disabled")));
                }
                vec![endpoint]
            }
            None => self.store().webhook_endpoints_wanting(scope, kind).await?,
        };
        // Read before the transaction: a transaction holding a connection while it waits for
        // another from the pool can run PostgreSQL's pool dry under load.
        let mut replays = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let replay = self.store().webhook_last_replay(&endpoint.id, event_id).await?.map_or(0, |r| r + 1);
            replays.push((endpoint, replay));
        }
        let mut uow = self.begin().await?;
        let mut queued = Vec::new();
        for (endpoint, replay) in replays {
            if let Some(id) = queue_message(&mut uow, &event, &endpoint, replay).await? {
                queued.push(RedeliveredMessage { endpoint_id: endpoint.id, message_id: id });
            }
        }
        uow.commit(self).await?;
        Ok(queued)
    }

    /// The `deliver_webhook` job: one attempt, recorded in the delivery log.
    async fn deliver_webhook(&self, scope: &Scope, id: &WebhookMessageId) -> Result<Next, EngineError> {
        let mut message = self.store().webhook_message(scope, id).await?;
        if message.state != WebhookMessageState::Pending {
            return Ok(Next::Done);
        }
        let endpoint = match self.store().webhook_endpoint(scope, &message.endpoint_id).await {
            Ok(e) if e.state == WebhookState::Enabled => e,
            Ok(_) | Err(waybill_store::StoreError::NotFound) => {
                return self.give_up_message(message, "the endpoint is disabled or deleted").await;
            }
            Err(e) => return Err(e.into()),
        };
        let now = now_ms();
        if let Some(at) = message.next_attempt_at.filter(|at| *at > now) {
            return Ok(Next::RunAgainAt(at));
        }
        if let Some(ahead) = self.store().webhook_message_ahead(&message).await? {
            let at = ahead.next_attempt_at.unwrap_or(now).max(now) + WAIT_BEHIND_MS;
            return Ok(Next::RunAgainAt(at));
        }
        // A message woken by the one ahead of it can have a run still in flight: one sends.
        let until = now + signing::TIMEOUT.as_millis() as i64 * 2;
        if !self.store().claim_webhook_message(&message.id, now, until).await? {
            return Ok(Next::RunAgainAt(until + WAIT_BEHIND_MS));
        }
        let event = self.store().event(scope, &message.event_id).await?;
        let body = serde_json::to_vec(&self.webhook_payload(&event).await?).expect("payloads serialize");
        let secret = self.store().webhook_secret(scope, &endpoint.id).await?;
        let restricted = scope.mode == Mode::Live && !self.config().allow_private_webhooks;
        let delivery = Delivery {
            url: &endpoint.url,
            id: message.event_id.as_str(),
            secret: &secret,
            body: &body,
            timestamp: now_ms() / 1000,
        };
        let outcome = signing::send(&self.inner.outbound, restricted, &delivery).await;
        let now = now_ms();
        message.attempts += 1;
        message.updated_at = now;
        let log = WebhookDelivery {
            id: WebhookDeliveryId::generate(),
            endpoint_id: endpoint.id.clone(),
            message_id: message.id.clone(),
            event_id: message.event_id.clone(),
            event_type: message.event_type.clone(),
            attempt: message.attempts,
            status_code: outcome.as_ref().ok().map(|a| a.status),
            latency_ms: match &outcome {
                Ok(a) => a.latency_ms,
                Err(e) => e.latency_ms,
            },
            excerpt: outcome.as_ref().ok().map(|a| a.excerpt.clone()),
            error: match &outcome {
                Ok(a) if !a.accepted() => Some(format!("answered HTTP {}", a.status)),
                Ok(_) => None,
                Err(e) => Some(e.reason.clone()),
            },
            succeeded: outcome.as_ref().is_ok_and(|a| a.accepted()),
            created_at: now,
        };
        let mut endpoint = endpoint;
        // The next message in line, read before the transaction (which must not wait on the
        // pool for a second connection); one queued meanwhile finds this one settled itself.
        let behind = self.store().webhook_message_behind(&message).await?;
        let mut uow = self.begin().await?;
        uow.tx.insert_webhook_delivery(scope, &log).await?;
        let next = if log.succeeded {
            message.state = WebhookMessageState::Delivered;
            message.next_attempt_at = None;
            message.last_error = None;
            if endpoint.failing_since.is_some() {
                endpoint.failing_since = None;
                endpoint.updated_at = now;
                uow.tx.update_webhook_endpoint_health(&endpoint).await?;
            }
            Next::Done
        } else {
            message.last_error = log.error.clone();
            let since = *endpoint.failing_since.get_or_insert(now);
            endpoint.updated_at = now;
            if should_disable(Some(since), now) {
                let reason = format!(
                    "every delivery failed for {} days (last: {})",
                    (now - since) / 86_400_000,
                    log.error.as_deref().unwrap_or("no answer")
                );
                endpoint.state = WebhookState::Disabled;
                endpoint.disabled_reason = Some(reason.clone());
                message.state = WebhookMessageState::Failed;
                message.next_attempt_at = None;
                uow.tx.update_webhook_endpoint_health(&endpoint).await?;
                uow.tx.update_webhook_message(&message).await?;
                uow.tx.fail_pending_webhook_messages(&endpoint.id, "the endpoint was disabled", now).await?;
                tracing::warn!(endpoint = %endpoint.id, url = %endpoint.url, "webhook endpoint disabled after failing for days");
                uow.emit(
                    scope,
                    Event::WebhookEndpointDisabled {
                        endpoint_id: endpoint.id.clone(),
                        url: endpoint.url.clone(),
                        reason,
                    },
                );
                uow.commit(self).await?;
                return Ok(Next::Done);
            }
            uow.tx.update_webhook_endpoint_health(&endpoint).await?;
            match retry_delay(message.attempts) {
                Some(wait) => {
                    message.next_attempt_at = Some(now + wait);
                    Next::RunAgainAt(now + wait)
                }
                None => {
                    message.state = WebhookMessageState::Failed;
                    message.next_attempt_at = None;
                    Next::Done
                }
            }
        };
        uow.tx.update_webhook_message(&message).await?;
        if message.state != WebhookMessageState::Pending {
            wake(&mut uow, &message, behind, now);
        }
        uow.commit(self).await?;
        Ok(next)
    }

    async fn give_up_message(&self, mut message: WebhookMessage, reason: &str) -> Result<Next, EngineError> {
        let now = now_ms();
        message.state = WebhookMessageState::Failed;
        message.next_attempt_at = None;
        message.last_error = Some(reason.to_owned());
        message.updated_at = now;
        let behind = self.store().webhook_message_behind(&message).await?;
        let mut uow = self.begin().await?;
        uow.tx.update_webhook_message(&message).await?;
        wake(&mut uow, &message, behind, now);
        uow.commit(self).await?;
        Ok(Next::Done)
    }

    /// The body of a delivery: `{id, type, timestamp, mode, data}`, where `data` holds the
    /// objects in the shapes the API shows them.
    pub async fn webhook_payload(&self, stored: &StoredEvent) -> Result<Value, EngineError> {
        let data = match &stored.event {
            Event::OrderCreated { order } | Event::OrderClosed { order } => {
                json!({"order": OrderView::from(order.clone())})
            }
            Event::OrderStatusChanged { order, from } => {
                json!({"order": OrderView::from(order.clone()), "previous_status": from})
            }
            Event::InformationRequested { request, .. }
            | Event::InformationResolved { request }
            | Event::InformationWithdrawn { request } => json!({
                "information_request": waybill_core::api::views::InformationRequestView::from(request.clone()),
            }),
            Event::OrderCancelled { order, cancellation } => json!({
                "order": OrderView::from(order.clone()),
                "cancellation": waybill_core::api::views::OrderCancellationView::from(cancellation.clone()),
            }),
            Event::ChannelUpdateFailed { shipment, connection_id, reason } => json!({
                "shipment": self.shipment_view(shipment).await?,
                "connection_id": connection_id,
                "reason": reason,
            }),
            Event::StockChanged { level, reason } => json!({
                "level": waybill_core::api::views::StockLevelView::from(level.clone()),
                "reason": reason,
            }),
            Event::OrderUpdated { order, changes } => {
                json!({"order": OrderView::from(order.clone()), "changes": changes})
            }
            Event::OrderUpdateHeld { order, changes, import_id } => json!({
                "order": OrderView::from(order.clone()),
                "changes": changes,
                "import_id": import_id,
            }),
            Event::ShipmentBooked { shipment }
            | Event::ShipmentBookingFailed { shipment }
            | Event::ShipmentBookingUnknown { shipment }
            | Event::ShipmentDelayed { shipment } => json!({"shipment": self.shipment_view(shipment).await?}),
            Event::ShipmentStatusChanged { shipment, from, scans } => json!({
                "shipment": self.shipment_view(shipment).await?,
                "previous_status": from,
                "scans": scans.iter().cloned().map(waybill_core::api::views::EventView::from).collect::<Vec<_>>(),
            }),
            Event::TrackerUpdated { shipment, scans } => json!({
                "shipment": self.shipment_view(shipment).await?,
                "scans": scans.iter().cloned().map(waybill_core::api::views::EventView::from).collect::<Vec<_>>(),
            }),
            Event::PickupScheduled { pickup }
            | Event::PickupFailed { pickup }
            | Event::PickupUnknown { pickup }
            | Event::PickupCancelled { pickup } => json!({"pickup": PickupView::from(pickup.clone())}),
            Event::RtoRequested { shipment, request } => json!({
                "shipment": self.shipment_view(shipment).await?,
                "request": waybill_core::api::views::RtoRequestView::from(request.clone()),
            }),
            Event::ShipmentChanged { shipment, change } => json!({
                "shipment": self.shipment_view(shipment).await?,
                "change": waybill_core::api::views::ShipmentChangeView::from(change.clone()),
            }),
            Event::ManifestCreated { manifest }
            | Event::ManifestClosed { manifest }
            | Event::ManifestFailed { manifest } => {
                json!({"manifest": waybill_core::api::views::ManifestView::from(manifest.clone())})
            }
            Event::RtoAcknowledged { shipment, receipt } => json!({
                "shipment": self.shipment_view(shipment).await?,
                "receipt": waybill_core::api::views::RtoReceiptView::from(receipt.clone()),
            }),
            Event::NdrOpened { ndr }
            | Event::NdrAttemptFailed { ndr }
            | Event::NdrActionRequested { ndr }
            | Event::NdrClosed { ndr } => json!({"ndr": NdrCaseView::from(ndr.clone())}),
            Event::NdrInstructionRefused { ndr, reason } => {
                json!({"ndr": NdrCaseView::from(ndr.clone()), "reason": reason})
            }
            Event::WebhookEndpointDisabled { endpoint_id, url, reason } => {
                json!({"endpoint_id": endpoint_id, "url": url, "reason": reason})
            }
            Event::CarrierAccountCreated { .. } | Event::ShipmentDocumentStored { .. } => {
                return Err(EngineError::Internal(format!("`{}` events are not delivered", stored.event.kind())));
            }
        };
        Ok(json!({
            "id": stored.id,
            "type": stored.event.kind(),
            "timestamp": time(stored.created_at),
            "mode": stored.scope.mode,
            "data": data,
        }))
    }

    async fn shipment_view(&self, shipment: &Shipment) -> Result<ShipmentView, EngineError> {
        Ok(ShipmentView::from(self.details_of(shipment.clone(), false).await?))
    }
}

/// Runs `behind`, the next message in `message`'s line, now that `message` is settled.
fn wake(uow: &mut UnitOfWork, message: &WebhookMessage, behind: Option<WebhookMessageId>, now: i64) {
    if let Some(next) = behind {
        uow.enqueue_replacing(Some(&message.scope), &DeliverWebhook { message_id: next }, now);
    }
}

/// A message of `event` to `endpoint`, not yet written.
fn new_message(id: &EventId, scope: &Scope, event: &Event, endpoint: &WebhookEndpoint, replay: i64) -> WebhookMessage {
    let now = now_ms();
    WebhookMessage {
        id: WebhookMessageId::generate(),
        scope: scope.clone(),
        endpoint_id: endpoint.id.clone(),
        event_id: id.clone(),
        event_type: event.kind().to_owned(),
        subject_id: event.subject().to_owned(),
        replay,
        state: WebhookMessageState::Pending,
        attempts: 0,
        next_attempt_at: Some(now),
        last_error: None,
        created_at: now,
        updated_at: now,
    }
}

/// Writes a message of `event` to `endpoint` with its delivery job; `None` when it exists.
async fn queue_message(
    uow: &mut UnitOfWork,
    event: &StoredEvent,
    endpoint: &WebhookEndpoint,
    replay: i64,
) -> Result<Option<WebhookMessageId>, EngineError> {
    let message = new_message(&event.id, &event.scope, &event.event, endpoint, replay);
    if !uow.tx.insert_webhook_message(&message).await? {
        return Ok(None);
    }
    uow.enqueue(Some(&event.scope), &DeliverWebhook { message_id: message.id.clone() }, message.created_at);
    Ok(Some(message.id))
}

/// Fans the public events a unit of work emits out to the endpoints that want them, in its
/// transaction: one message and one delivery job per endpoint and event.
pub(crate) async fn fan_out(tx: &mut Tx, events: &[NewEvent]) -> Result<Vec<NewJob>, EngineError> {
    let mut jobs = Vec::new();
    let mut endpoints: Vec<(Scope, Vec<WebhookEndpoint>)> = Vec::new();
    for e in events.iter().filter(|e| Event::is_public(e.event.kind())) {
        let i = match endpoints.iter().position(|(scope, _)| *scope == e.scope) {
            Some(i) => i,
            None => {
                endpoints.push((e.scope.clone(), tx.enabled_webhook_endpoints(&e.scope).await?));
                endpoints.len() - 1
            }
        };
        for endpoint in endpoints[i].1.iter().filter(|ep| ep.wants(e.event.kind())) {
            let message = new_message(&e.id, &e.scope, &e.event, endpoint, 0);
            if tx.insert_webhook_message(&message).await? {
                jobs.push(DeliverWebhook { message_id: message.id }.to_new(Some(&e.scope), message.created_at));
            }
        }
    }
    Ok(jobs)
}

/// The webhook jobs' handlers.
pub(crate) fn register(registry: &mut crate::jobs::Registry) {
    registry.register(|engine: Engine, ctx: JobContext, job: DeliverWebhook| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a webhook job without a scope".into()))?;
        engine.deliver_webhook(&scope, &job.message_id).await
    });
}
