//! Sales channels: connections; orders in (the channel's webhooks and the periodic sync, both
//! kept as imports and read by a job); fulfilment and the parcel's progress back (the
//! `channel_updates` consumer).
//!
//! A webhook is answered as soon as its payload and import job are committed, so the channel
//! never waits on our reading it. Each import is read on its own: one payload that cannot be
//! read fails alone, with its reason, and never holds up the orders behind it. An older payload
//! never wins over a newer one already applied (the channel's own change time decides), so
//! webhooks and syncs may arrive in any order and any number of times.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use waybill_channels::{
    Channel, ChannelError, Channels, Connection, Fulfilment, Posted, Progress, SYNC_TOPIC, WebhookRequest,
};
use waybill_core::api::requests::ChannelConnectionCreate;
use waybill_core::cancellation::CancelledBy;
use waybill_core::channel::{ChannelConnection, ChannelImport, ChannelOrder, ImportDecision, ImportStatus, decide};
use waybill_core::error::Problems;
use waybill_core::ids::{ChannelConnectionId, ChannelImportId, EventId, OrderId, ShipmentId};
use waybill_core::{BookingState, Event, Order, OrderStatus, Page, ScanSource, Scope, Shipment, TrackingStatus};
use waybill_store::{ChannelFulfilment, NewChannelImport, NewJob, StoreError, now_ms};

use crate::error::Found;
use crate::jobs::{Job, JobContext, Next, Registry};
use crate::{Engine, EngineError};

/// Read one stored channel payload into an order.
#[derive(Serialize, Deserialize)]
pub struct ImportChannelOrder {
    pub import_id: ChannelImportId,
}

impl Job for ImportChannelOrder {
    const KIND: &'static str = "import_channel_order";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.import_id))
    }
}

/// Periodic, per connection: fetch the orders changed since the last sync.
#[derive(Serialize, Deserialize)]
pub struct SyncChannel {
    pub connection_id: ChannelConnectionId,
}

impl Job for SyncChannel {
    const KIND: &'static str = "sync_channel";
    const MAX_ATTEMPTS: u32 = u32::MAX;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.connection_id))
    }
}

/// Per connection whose channel reads a notification queue (Amazon's SQS): receive its
/// messages and keep the orders they name, again and again while the connection imports.
#[derive(Serialize, Deserialize)]
pub struct ReadChannelQueue {
    pub connection_id: ChannelConnectionId,
}

impl Job for ReadChannelQueue {
    const KIND: &'static str = "read_channel_queue";
    const MAX_ATTEMPTS: u32 = u32::MAX;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.connection_id))
    }
}

/// Bring a shipment's channel up to date: its fulfilment, then the parcel's newest step.
#[derive(Serialize, Deserialize)]
pub struct UpdateChannel {
    pub shipment_id: ShipmentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for UpdateChannel {
    const KIND: &'static str = "update_channel";
    const MAX_ATTEMPTS: u32 = 25;
    const RERUN_IF_RUNNING: bool = true;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.shipment_id))
    }
}

/// The `channel_updates` consumer: shipments of channel orders, whenever they are booked or move.
pub(crate) fn wants(event: &Event) -> bool {
    match event {
        Event::ShipmentBooked { shipment }
        | Event::ShipmentStatusChanged { shipment, .. }
        | Event::ShipmentDelayed { shipment } => shipment.channel_connection_id.is_some() && !shipment.is_return,
        _ => false,
    }
}

pub(crate) fn job(scope: &Scope, id: &EventId, event: &Event) -> NewJob {
    let shipment = match event {
        Event::ShipmentBooked { shipment }
        | Event::ShipmentStatusChanged { shipment, .. }
        | Event::ShipmentDelayed { shipment } => shipment,
        _ => unreachable!("only shipment events are wanted"),
    };
    UpdateChannel { shipment_id: shipment.id.clone(), event_id: Some(id.clone()) }.to_new(Some(scope), now_ms())
}

pub(crate) fn register(r: &mut Registry) {
    r.register(|engine: Engine, ctx: JobContext, job: ImportChannelOrder| async move {
        let scope = job_scope(&ctx)?;
        engine.import_channel_order(&scope, &job.import_id).await.map(|_| Next::Done)
    });
    r.register(|engine: Engine, ctx: JobContext, job: SyncChannel| async move {
        let scope = job_scope(&ctx)?;
        engine.sync_channel(&scope, &job.connection_id).await
    });
    r.register(|engine: Engine, ctx: JobContext, job: ReadChannelQueue| async move {
        let scope = job_scope(&ctx)?;
        engine.read_channel_queue(&scope, &job.connection_id).await
    });
    r.register(|engine: Engine, ctx: JobContext, job: UpdateChannel| async move {
        let scope = job_scope(&ctx)?;
        engine.update_channel(&scope, &job.shipment_id).await
    });
}

fn job_scope(ctx: &JobContext) -> Result<Scope, EngineError> {
    ctx.scope.clone().ok_or_else(|| EngineError::Internal("a channel job without a scope".into()))
}

/// Keeps orders fetched from the channel (by the sync or from its queue), each with its import
/// job; returns how many were new. Keyed by the order and its change time, so a change fetched
/// twice, by either way, is kept once.
async fn keep_fetched(
    uow: &mut crate::uow::UnitOfWork,
    scope: &Scope,
    id: &ChannelConnectionId,
    channel: &dyn Channel,
    payloads: Vec<Vec<u8>>,
) -> Result<usize, EngineError> {
    let mut kept = 0;
    for payload in payloads {
        let delivery_key =
            channel.read_order(SYNC_TOPIC, &payload).ok().map(|o| format!("sync:{}:{}", o.external_id, o.updated_at));
        let new = NewChannelImport {
            id: ChannelImportId::generate(),
            connection_id: id.clone(),
            topic: SYNC_TOPIC.into(),
            delivery_key,
            payload,
            status: ImportStatus::Pending,
            reason: None,
        };
        if uow.tx.insert_channel_import(scope, &new).await? {
            uow.enqueue(Some(scope), &ImportChannelOrder { import_id: new.id }, now_ms());
            kept += 1;
        }
    }
    Ok(kept)
}

/// What a call for `connection` needs: its mode, its host and its opened `credentials`.
pub(crate) fn calling<'a>(connection: &'a ChannelConnection, credentials: &'a serde_json::Value) -> Connection<'a> {
    Connection { mode: connection.mode, base_url: connection.base_url.as_deref(), credentials }
}

/// A channel's refusal or outage in a job: waiting out a rate limit is not a failed attempt.
pub(crate) fn in_job(e: ChannelError) -> Result<Next, EngineError> {
    match e.retry_after() {
        Some(wait) => Ok(Next::RunAgainAt(now_ms() + wait.as_millis() as i64)),
        None => Err(EngineError::Channel(e)),
    }
}

impl Engine {
    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    pub(crate) fn channel_of(&self, connection: &ChannelConnection) -> Result<Arc<dyn Channel>, EngineError> {
        self.channels().get(&connection.channel).cloned().ok_or_else(|| {
            EngineError::Internal(format!(
                "channel `{}` of connection {} is not in this build",
                connection.channel, connection.id
            ))
        })
    }

    /// Where a connection's channel sends its webhooks.
    pub fn channel_webhook_url(&self, connection: &ChannelConnection) -> Option<String> {
        let takes_webhooks = self.channels().get(&connection.channel).is_some_and(|c| c.info().supports.order_webhooks);
        takes_webhooks.then(|| {
            format!(
                "{}/v1/hooks/channels/{}/{}",
                self.config().public_url.trim_end_matches('/'),
                connection.channel,
                connection.id
            )
        })
    }

    /// Connects a sales channel: the credentials are checked against the channel's schema,
    /// then with the channel itself (a cheap "who am I" call), then sealed. Returns the
    /// connection and the account the channel named.
    pub async fn create_channel_connection(
        &self,
        scope: &Scope,
        body: ChannelConnectionCreate,
    ) -> Result<(ChannelConnection, String), EngineError> {
        let mut problems = Problems::new();
        problems.extend(body.problems());
        let Some(channel) = self.channels().get(&body.channel).cloned() else {
            let known: Vec<_> = self.channels().iter().map(|c| c.info().slug).collect();
            problems.add("/channel", format!("unknown channel `{}`; known: {}", body.channel, known.join(", ")));
            return Err(problems.finish(()).expect_err("a problem was just added").into());
        };
        if let Err(errors) = channel.check_credentials(&body.credentials) {
            problems.extend(errors);
        }
        if body.mode != scope.mode {
            problems.add(
                "/mode",
                format!(
                    "a {} key connects {} channels only; use a wb_{}_… key for a {} connection",
                    scope.mode.as_str(),
                    scope.mode.as_str(),
                    body.mode.as_str(),
                    body.mode.as_str()
                ),
            );
        }
        match (&body.base_url, channel.info().site_is_base_url) {
            (Some(url), true) => self.check_site_url(url, body.mode, &mut problems).await,
            (Some(url), false) => self.check_base_url(url, body.mode, &mut problems).await,
            (None, true) => problems.add(
                "/base_url",
                format!(
                    "{} has no host of its own: give your store's address (https://shop.example)",
                    channel.info().name
                ),
            ),
            (None, false) => {}
        }
        if let Some(id) = &body.settings.location_id {
            self.check_location(scope, id, "/settings/location_id", &mut problems).await?;
        }
        if channel.info().site_is_base_url {
            // Such a channel's order ids are numbered per site: two sites would share them.
            let existing = self.store().list_channel_connections(scope, None, 100).await?;
            if existing.items.iter().any(|c| c.channel == body.channel) {
                problems.add(
                    "/channel",
                    format!(
                        "this {} key already has a {} connection; its order ids are only unique within one site, so \
                         one site per tenant and mode can be connected (delete the other first)",
                        scope.mode.as_str(),
                        channel.info().name
                    ),
                );
            }
        }
        problems.finish(())?;
        let connection_call =
            Connection { mode: body.mode, base_url: body.base_url.as_deref(), credentials: &body.credentials };
        let verified_as = channel.verify(&connection_call).await.map_err(|e| match e {
            ChannelError::Auth { message, .. } | ChannelError::NotFound { what: message, .. } => {
                waybill_core::Invalid::one(
                    "/credentials",
                    format!("{} refused these credentials: {message}", channel.info().name),
                )
                .into()
            }
            other => EngineError::Channel(other),
        })?;
        let now = now_ms();
        let connection = ChannelConnection {
            id: ChannelConnectionId::generate(),
            tenant_id: scope.tenant.clone(),
            mode: body.mode,
            channel: body.channel,
            name: body.name,
            base_url: body.base_url,
            settings: body.settings,
            sync_cursor: None,
            created_at: now,
            updated_at: now,
        };
        let sealed = self.store().seal_channel_credentials(&body.credentials);
        let mut uow = self.begin().await?;
        uow.tx.insert_channel_connection(&connection, sealed).await?;
        if connection.settings.auto_import {
            uow.enqueue(Some(scope), &SyncChannel { connection_id: connection.id.clone() }, now);
            if channel.info().supports.order_queue {
                uow.enqueue(Some(scope), &ReadChannelQueue { connection_id: connection.id.clone() }, now);
            }
        }
        uow.commit(self).await?;
        tracing::info!(connection = %connection.id, channel = %connection.channel, "channel connected");
        Ok((connection, verified_as))
    }

    /// Problems with a store's own site as a connection's `base_url`: any address in test mode
    /// (tests and the demo run stores on 127.0.0.1); a public https address in live mode.
    async fn check_site_url(&self, url: &str, mode: waybill_core::Mode, problems: &mut Problems) {
        let parsed = reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        let Some(parsed) = parsed.filter(|u| u.host_str().is_some()) else {
            problems.add("/base_url", "must be the store's address: an absolute https:// URL");
            return;
        };
        if mode == waybill_core::Mode::Test {
            return;
        }
        if parsed.scheme() != "https" {
            problems.add("/base_url", "a live store's address must use https://: its API keys travel with every call");
        } else if let Err(refused) = self.inner.outbound.check_destination(url).await {
            problems.add("/base_url", refused.to_string());
        }
    }

    pub async fn channel_connection(
        &self,
        scope: &Scope,
        id: &ChannelConnectionId,
    ) -> Result<ChannelConnection, EngineError> {
        self.store().channel_connection(scope, id).await.found(|| format!("channel connection {id}"))
    }

    pub async fn list_channel_connections(
        &self,
        scope: &Scope,
        after: Option<&ChannelConnectionId>,
        limit: u32,
    ) -> Result<Page<ChannelConnection>, EngineError> {
        Ok(self.store().list_channel_connections(scope, after, limit).await?)
    }

    /// Disconnects a channel: its credentials are destroyed; its orders and imports stay, and
    /// its queued work ends quietly.
    pub async fn delete_channel_connection(&self, scope: &Scope, id: &ChannelConnectionId) -> Result<(), EngineError> {
        let mut uow = self.begin().await?;
        if !uow.tx.delete_channel_connection(scope, id).await? {
            return Err(EngineError::NotFound(format!("channel connection {id}")));
        }
        uow.commit(self).await?;
        Ok(())
    }

    /// Asks for a sync of the connection now (as well as on its schedule).
    pub async fn sync_channel_now(&self, scope: &Scope, id: &ChannelConnectionId) -> Result<(), EngineError> {
        self.channel_connection(scope, id).await?;
        let mut uow = self.begin().await?;
        uow.enqueue_replacing(Some(scope), &SyncChannel { connection_id: id.clone() }, now_ms());
        uow.commit(self).await
    }

    /// Takes a channel's webhook call: checks it comes from the channel, keeps the payload with
    /// the job that reads it, and returns. A call not signed for the connection (or for a
    /// connection that does not exist) is refused without a word about which.
    pub async fn receive_channel_webhook(
        &self,
        channel_slug: &str,
        connection_id: &ChannelConnectionId,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), EngineError> {
        let connection = match self.store().channel_connection_for_hook(connection_id).await {
            Ok(c) if c.channel == channel_slug => c,
            Ok(_) | Err(StoreError::NotFound) => return Err(EngineError::HookRefused),
            Err(e) => return Err(e.into()),
        };
        let channel = self.channel_of(&connection)?;
        let scope = connection.scope();
        let credentials = self.store().channel_credentials(&scope, &connection.id).await?;
        let inbound = channel.verify_webhook(&credentials, &WebhookRequest { headers, body }).map_err(|refused| {
            tracing::warn!(connection = %connection.id, reason = %refused, "channel webhook refused");
            EngineError::HookRefused
        })?;
        if !inbound.is_order {
            tracing::debug!(connection = %connection.id, topic = %inbound.topic, "channel webhook of another topic acknowledged");
            return Ok(());
        }
        let (status, reason) = if connection.settings.auto_import {
            (ImportStatus::Pending, None)
        } else {
            (ImportStatus::Skipped, Some("the connection does not import orders by itself (auto_import is off)".into()))
        };
        let new = NewChannelImport {
            id: ChannelImportId::generate(),
            connection_id: connection.id.clone(),
            topic: inbound.topic,
            delivery_key: inbound.delivery_id.map(|d| format!("webhook:{d}")),
            payload: body.to_vec(),
            status,
            reason,
        };
        let mut uow = self.begin().await?;
        let kept = uow.tx.insert_channel_import(&scope, &new).await?;
        if kept && status == ImportStatus::Pending {
            uow.enqueue(Some(&scope), &ImportChannelOrder { import_id: new.id.clone() }, now_ms());
        }
        uow.commit(self).await
    }

    /// Fetches one page of the orders changed since the connection's cursor, keeps each with
    /// its import job and moves the cursor, all in one unit of work: a crash before it commits
    /// fetches the page again, after it never loses one.
    pub(crate) async fn sync_channel(&self, scope: &Scope, id: &ChannelConnectionId) -> Result<Next, EngineError> {
        let connection = match self.store().channel_connection(scope, id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(Next::Done),
            Err(e) => return Err(e.into()),
        };
        let channel = self.channel_of(&connection)?;
        let credentials = self.store().channel_credentials(scope, id).await?;
        let call = calling(&connection, &credentials);
        let page = match channel.orders_since(&call, connection.sync_cursor.as_deref()).await {
            Ok(page) => page,
            Err(e) => return in_job(e),
        };
        let mut uow = self.begin().await?;
        let kept = keep_fetched(&mut uow, scope, id, channel.as_ref(), page.orders).await?;
        uow.tx.set_sync_cursor(scope, id, &page.cursor).await?;
        uow.commit(self).await?;
        if kept > 0 {
            tracing::info!(connection = %id, orders = kept, "channel sync found changed orders");
        }
        let wait = if page.more { 0 } else { i64::from(connection.settings.sync_interval_seconds) * 1000 };
        if !connection.settings.auto_import && !page.more {
            return Ok(Next::Done);
        }
        Ok(Next::RunAgainAt(now_ms() + wait))
    }

    /// Receives the connection's queue once: keeps the orders its messages name, each with its
    /// import job, then deletes the messages. A crash between the two shows the messages again
    /// later, and their orders are recognised as repeats.
    pub(crate) async fn read_channel_queue(
        &self,
        scope: &Scope,
        id: &ChannelConnectionId,
    ) -> Result<Next, EngineError> {
        let connection = match self.store().channel_connection(scope, id).await {
            Ok(c) if c.settings.auto_import => c,
            Ok(_) | Err(StoreError::NotFound) => return Ok(Next::Done),
            Err(e) => return Err(e.into()),
        };
        let channel = self.channel_of(&connection)?;
        let credentials = self.store().channel_credentials(scope, id).await?;
        let call = calling(&connection, &credentials);
        let queued = match channel.receive_queued(&call).await {
            Ok(Some(queued)) => queued,
            Ok(None) => return Ok(Next::Done),
            Err(e) => return in_job(e),
        };
        let mut uow = self.begin().await?;
        let kept = keep_fetched(&mut uow, scope, id, channel.as_ref(), queued.orders).await?;
        uow.commit(self).await?;
        if kept > 0 {
            tracing::info!(connection = %id, orders = kept, "the channel's queue named changed orders");
        }
        if let Err(e) = channel.ack_queued(&call, &queued.receipts).await {
            tracing::warn!(connection = %id, error = %e, "queue messages not deleted; their orders will come again as repeats");
        }
        Ok(Next::RunAgainAt(now_ms() + if queued.more { 0 } else { 1_000 }))
    }

    /// Reads a kept payload and applies it to the order it names (see [`decide`]).
    pub(crate) async fn import_channel_order(&self, scope: &Scope, id: &ChannelImportId) -> Result<(), EngineError> {
        let import = match self.store().channel_import(scope, id).await {
            Ok(i) if i.status == ImportStatus::Pending => i,
            Ok(_) | Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let connection = match self.store().channel_connection(scope, &import.connection_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                return self
                    .settle_import(
                        scope,
                        &import,
                        ImportStatus::Skipped,
                        Some("the connection was removed".into()),
                        None,
                        None,
                    )
                    .await;
            }
            Err(e) => return Err(e.into()),
        };
        let channel = self.channel_of(&connection)?;
        let payload = self.store().channel_import_payload(scope, id).await?;
        let incoming = match channel.read_order(&import.topic, &payload) {
            Ok(o) => o,
            Err(e) => {
                return self.settle_import(scope, &import, ImportStatus::Failed, Some(e.to_string()), None, None).await;
            }
        };
        let external_id = incoming.external_id.clone();
        let parts = match incoming.parts() {
            Ok(parts) => parts,
            Err(problems) => {
                let existing = self.store().order_by_external_id(scope, &connection.channel, &external_id).await?;
                let (status, reason) = match (&existing, &incoming.not_ours) {
                    (None, Some(why)) => (ImportStatus::Skipped, why.clone()),
                    _ => (
                        ImportStatus::Failed,
                        problems.iter().map(|p| format!("{}: {}", p.pointer, p.detail)).collect::<Vec<_>>().join("; "),
                    ),
                };
                let order = existing.as_ref().map(|o| &o.id);
                return self.settle_import(scope, &import, status, Some(reason), Some(&external_id), order).await;
            }
        };
        let info = channel.info();
        // Before the import is settled: a crash in between reads it again, and a scan recorded
        // twice is one scan.
        self.record_channel_carrier_scan(scope, &connection.channel, info.name, &incoming).await?;
        let ready = incoming.is_ready(&connection.settings.ready_statuses, &info.default_ready_statuses);
        let mut uow = self.begin().await?;
        let existing = uow.tx.lock_channel_order(scope, &connection.channel, &external_id).await?;
        if existing.is_none()
            && let Some(why) = &incoming.not_ours
        {
            drop(uow);
            let why = Some(why.clone());
            return self.settle_import(scope, &import, ImportStatus::Skipped, why, Some(&external_id), None).await;
        }
        let now = now_ms();
        let decision = decide(existing.as_ref(), &incoming, &parts, ready);
        let (status, reason, order_id) = match decision {
            ImportDecision::Create => {
                let order = Order {
                    id: OrderId::generate(),
                    tenant_id: scope.tenant.clone(),
                    mode: scope.mode,
                    channel: connection.channel.clone(),
                    external_id: external_id.clone(),
                    status: if ready { OrderStatus::Ready } else { OrderStatus::Open },
                    currency: parts.currency,
                    payment: parts.payment,
                    ship_to: parts.ship_to,
                    line_items: parts.line_items,
                    locale: parts.locale,
                    connection_id: Some(connection.id.clone()),
                    number: incoming.number.clone(),
                    channel_updated_at: Some(incoming.updated_at),
                    assigned_shipping: parts.assigned_shipping,
                    created_at: now,
                    updated_at: now,
                };
                match uow.tx.insert_order(&order).await {
                    Ok(()) => {}
                    // Another import of the same order created it first: read this one again,
                    // against that order.
                    Err(StoreError::Conflict(_)) => {
                        return Err(EngineError::Unavailable(StoreError::Conflict(format!("order {external_id}"))));
                    }
                    Err(e) => return Err(e.into()),
                }
                let id = order.id.clone();
                uow.emit(scope, Event::OrderCreated { order });
                (ImportStatus::Imported, None, Some(id))
            }
            ImportDecision::Update(changes) => {
                let mut order = existing.expect("an update has an order");
                let from = order.status;
                order.status = if ready { OrderStatus::Ready } else { OrderStatus::Open };
                order.currency = parts.currency;
                order.payment = parts.payment;
                order.ship_to = parts.ship_to;
                order.line_items = parts.line_items;
                order.locale = parts.locale;
                order.assigned_shipping = parts.assigned_shipping;
                order.number = incoming.number.clone();
                order.channel_updated_at = Some(incoming.updated_at);
                order.updated_at = now;
                uow.tx.update_channel_order(&order).await?;
                if order.status != from {
                    uow.emit(scope, Event::OrderStatusChanged { order: order.clone(), from });
                }
                let id = order.id.clone();
                let changes = changes.iter().map(|c| (*c).to_owned()).collect();
                uow.emit(scope, Event::OrderUpdated { order, changes });
                (ImportStatus::Imported, None, Some(id))
            }
            ImportDecision::Cancel => {
                let mut order = existing.expect("a cancellation has an order");
                order.channel_updated_at = Some(incoming.updated_at);
                uow.tx.update_channel_order(&order).await?;
                let id = order.id.clone();
                crate::cancellations::record_cancellation(&mut uow, scope, order, CancelledBy::Channel, None).await?;
                (ImportStatus::Imported, Some("cancelled in the channel".into()), Some(id))
            }
            ImportDecision::Hold(changes) => {
                let mut order = existing.expect("a held change has an order");
                // The change is recorded (not applied); its time is, so a repeat is not held again.
                order.channel_updated_at = Some(incoming.updated_at);
                uow.tx.update_channel_order(&order).await?;
                let reason = format!(
                    "the order is `{}` already: {} changed in the channel and was not applied",
                    order.status.as_str(),
                    changes.join(", ")
                );
                let id = order.id.clone();
                let changes = changes.iter().map(|c| (*c).to_owned()).collect();
                uow.emit(scope, Event::OrderUpdateHeld { order, changes, import_id: import.id.clone() });
                (ImportStatus::Held, Some(reason), Some(id))
            }
            ImportDecision::Unchanged => (ImportStatus::Unchanged, None, existing.map(|o| o.id)),
            ImportDecision::Skip(why) => (ImportStatus::Skipped, Some(why.to_owned()), None),
        };
        uow.tx.settle_channel_import(scope, &import.id, status, reason, Some(&external_id), order_id.as_ref()).await?;
        uow.commit(self).await?;
        tracing::debug!(import = %import.id, order = ?order_id, status = status.as_str(), "channel order read");
        Ok(())
    }

    /// A step of a parcel the channel's own carrier contract carries (Trendyol's marketplace
    /// shipping), as a scan on the order's shipment booked with that tracking number on a
    /// generic account. Nothing when no such shipment exists.
    async fn record_channel_carrier_scan(
        &self,
        scope: &Scope,
        channel: &str,
        channel_name: &str,
        incoming: &ChannelOrder,
    ) -> Result<(), EngineError> {
        let (Some(status), Some(assigned)) = (incoming.carrier_status, &incoming.assigned) else { return Ok(()) };
        let Some(order) = self.store().order_by_external_id(scope, channel, &incoming.external_id).await? else {
            return Ok(());
        };
        let shipments = self.store().shipments_for_order(scope, &order.id).await?;
        let Some(shipment) = shipments.iter().find(|s| {
            s.carrier == waybill_carriers::generic::SLUG
                && s.booking_state == BookingState::Booked
                && s.tracking_number.as_deref() == Some(assigned.tracking_number.as_str())
        }) else {
            return Ok(());
        };
        let occurred_at = chrono::DateTime::from_timestamp_millis(incoming.updated_at)
            .unwrap_or_else(chrono::Utc::now)
            .fixed_offset();
        let scan = waybill_carriers::Scan {
            event_id: Some(format!("{channel}:{}:{}", incoming.status, incoming.updated_at)),
            code: incoming.status.clone(),
            status,
            reason_code: None,
            ndr_reason: None,
            description: format!("{channel_name}: {}", incoming.status),
            location: None,
            occurred_at,
            raw: serde_json::json!({"channel": channel, "status": incoming.status}),
        };
        self.record_scans_of_many(scope, vec![(shipment.id.clone(), vec![scan])], ScanSource::Channel).await?;
        Ok(())
    }

    async fn settle_import(
        &self,
        scope: &Scope,
        import: &ChannelImport,
        status: ImportStatus,
        reason: Option<String>,
        external_id: Option<&str>,
        order: Option<&OrderId>,
    ) -> Result<(), EngineError> {
        if status == ImportStatus::Failed {
            tracing::warn!(import = %import.id, reason = reason.as_deref().unwrap_or_default(), "channel order could not be imported");
        }
        let mut uow = self.begin().await?;
        uow.tx.settle_channel_import(scope, &import.id, status, reason, external_id, order).await?;
        uow.commit(self).await
    }

    pub async fn channel_import(
        &self,
        scope: &Scope,
        id: &ChannelImportId,
    ) -> Result<(ChannelImport, Vec<u8>), EngineError> {
        let import = self.store().channel_import(scope, id).await.found(|| format!("channel import {id}"))?;
        let payload = self.store().channel_import_payload(scope, id).await?;
        Ok((import, payload))
    }

    pub async fn list_channel_imports(
        &self,
        scope: &Scope,
        status: Option<ImportStatus>,
        after: Option<&ChannelImportId>,
        limit: u32,
    ) -> Result<Page<ChannelImport>, EngineError> {
        Ok(self.store().list_channel_imports(scope, status, after, limit).await?)
    }

    /// Reads a failed import again (after the merchant fixed what its reason says).
    pub async fn retry_channel_import(
        &self,
        scope: &Scope,
        id: &ChannelImportId,
    ) -> Result<ChannelImport, EngineError> {
        let import = self.store().channel_import(scope, id).await.found(|| format!("channel import {id}"))?;
        let mut uow = self.begin().await?;
        if !uow.tx.retry_channel_import(scope, id).await? {
            return Err(EngineError::Conflict(format!(
                "channel import {id} is `{}`; only failed imports are read again",
                import.status.as_str()
            )));
        }
        uow.enqueue_replacing(Some(scope), &ImportChannelOrder { import_id: id.clone() }, now_ms());
        uow.commit(self).await?;
        Ok(ChannelImport { status: ImportStatus::Pending, reason: None, ..import })
    }

    /// Brings a shipment's channel up to date: creates the fulfilment once the shipment is
    /// booked, then shows the parcel's newest step. Both are looked up at the channel before
    /// they are sent, so a retry after a lost answer never sends them twice.
    pub(crate) async fn update_channel(&self, scope: &Scope, id: &ShipmentId) -> Result<Next, EngineError> {
        let shipment = self.store().shipment(scope, id).await?;
        let Some(connection_id) = &shipment.channel_connection_id else { return Ok(Next::Done) };
        let connection = match self.store().channel_connection(scope, connection_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(Next::Done),
            Err(e) => return Err(e.into()),
        };
        let (Some(order_id), Some(tracking_number)) = (&shipment.order_id, &shipment.tracking_number) else {
            return Ok(Next::Done);
        };
        if !connection.settings.push_fulfilment || shipment.booking_state != BookingState::Booked {
            return Ok(Next::Done);
        }
        let order = self.store().order(scope, order_id).await?;
        let channel = self.channel_of(&connection)?;
        let credentials = self.store().channel_credentials(scope, connection_id).await?;
        let call = calling(&connection, &credentials);
        let mut record = self.store().channel_fulfilment(scope, id).await?.unwrap_or(ChannelFulfilment {
            shipment_id: id.clone(),
            connection_id: connection_id.clone(),
            fulfilment_ref: None,
            shown_step: None,
        });
        if record.shown_step.as_deref() == Some(REFUSED) {
            return Ok(Next::Done);
        }
        let fulfilment_ref = match &record.fulfilment_ref {
            Some(r) => r.clone(),
            None => {
                if shipment.status == TrackingStatus::Cancelled {
                    return Ok(Next::Done);
                }
                let carrier_name = self.carrier_name(&shipment).await?;
                let tracking_url = self.customer_tracking_url(&shipment, tracking_number).await?;
                let lines: Vec<(String, u32)> = shipment.lines.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
                let fulfilment = Fulfilment {
                    order_id: &order.external_id,
                    tracking_number,
                    tracking_url: Some(&tracking_url),
                    carrier_name: &carrier_name,
                    lines: &lines,
                    notify_customer: connection.settings.notify_customer,
                };
                let made = match channel.fulfil(&call, &fulfilment).await {
                    Ok(r) => r,
                    Err(e) => return self.channel_refused(scope, &shipment, &mut record, REFUSED, e).await,
                };
                record.fulfilment_ref = Some(made.clone());
                self.store().record_channel_fulfilment(scope, &record).await?;
                tracing::info!(shipment = %id, fulfilment = %made, "fulfilment sent to the channel");
                made
            }
        };
        // A cancelled booking withdraws its fulfilment where the channel can (its lines are open
        // to fulfil again); elsewhere the channel is shown the step like any other.
        if shipment.status == TrackingStatus::Cancelled && record.shown_step.as_deref() != Some(CANCELLED) {
            match channel.cancel_fulfilment(&call, &fulfilment_ref).await {
                Ok(Posted::Sent | Posted::AlreadyThere) => {
                    record.shown_step = Some(CANCELLED.to_owned());
                    self.store().record_channel_fulfilment(scope, &record).await?;
                    return Ok(Next::Done);
                }
                Ok(Posted::NoSuchStep) => {}
                Err(e) => return self.channel_refused(scope, &shipment, &mut record, CANCELLED, e).await,
            }
        }
        let delayed = shipment.is_overdue(chrono::Utc::now().date_naive());
        let step = step_key(shipment.status, delayed);
        if record.shown_step.as_deref() == Some(step.as_str()) || shipment.status == TrackingStatus::InfoReceived {
            return Ok(Next::Done);
        }
        let last = self.last_scan(&shipment, shipment.status).await?;
        let progress = Progress {
            status: shipment.status,
            happened_at: last.as_ref().map_or_else(|| chrono::Utc::now().fixed_offset(), |s| s.occurred_at),
            city: last.as_ref().and_then(|s| s.location.as_deref()),
            edd: shipment.edd,
            delayed,
        };
        match channel.post_progress(&call, &fulfilment_ref, &progress).await {
            Ok(Posted::Sent | Posted::AlreadyThere | Posted::NoSuchStep) => {}
            Err(e) => return self.channel_refused(scope, &shipment, &mut record, &step, e).await,
        }
        record.shown_step = Some(step);
        self.store().record_channel_fulfilment(scope, &record).await?;
        Ok(Next::Done)
    }

    /// A channel's answer to a shipment's update: an outage is retried; a refusal for good is
    /// recorded as the step the channel stands at (`shown`: so it is not sent again) and told
    /// as a `channel.update_failed` event.
    async fn channel_refused(
        &self,
        scope: &Scope,
        shipment: &Shipment,
        record: &mut ChannelFulfilment,
        shown: &str,
        e: ChannelError,
    ) -> Result<Next, EngineError> {
        if e.is_transient() || e.retry_after().is_some() {
            return in_job(e);
        }
        tracing::warn!(shipment = %shipment.id, error = %e, "the channel refused the shipment's update");
        record.shown_step = Some(shown.to_owned());
        self.store().record_channel_fulfilment(scope, record).await?;
        let mut uow = self.begin().await?;
        let event = Event::ChannelUpdateFailed {
            shipment: shipment.clone(),
            connection_id: record.connection_id.clone(),
            reason: e.to_string(),
        };
        uow.emit(scope, event);
        uow.commit(self).await?;
        Ok(Next::Done)
    }

    /// The newest scan with `status`, for the time and place a step happened.
    async fn last_scan(
        &self,
        shipment: &Shipment,
        status: TrackingStatus,
    ) -> Result<Option<waybill_core::TrackingEvent>, EngineError> {
        if shipment.last_scan_at.is_none() {
            return Ok(None);
        }
        let scans = self.store().tracking_events(&shipment.scope(), &shipment.id).await?;
        Ok(scans.into_iter().rev().find(|s| s.status == status))
    }
}

/// What a shipment's channel record says when the channel refused its fulfilment for good.
const REFUSED: &str = "refused";
/// The step a cancelled shipment's channel record ends at (`TrackingStatus::Cancelled`).
const CANCELLED: &str = "cancelled";

/// What a channel shows for a status: the status, or `delayed` while an overdue parcel moves.
fn step_key(status: TrackingStatus, delayed: bool) -> String {
    if delayed && !status.is_final() { "delayed".to_owned() } else { status.as_str().to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overdue_parcel_shows_delayed_until_it_ends() {
        assert_eq!(step_key(TrackingStatus::InTransit, true), "delayed");
        assert_eq!(step_key(TrackingStatus::InTransit, false), "in_transit");
        assert_eq!(step_key(TrackingStatus::Delivered, true), "delivered");
    }

    #[test]
    fn only_outbound_shipments_of_channel_orders_go_back_to_the_channel() {
        let mut shipment: Shipment = serde_json::from_value(serde_json::json!({
            "id": ShipmentId::generate(), "tenant_id": waybill_core::ids::TenantId::generate(), "mode": "test",
            "order_id": null, "carrier_account_id": waybill_core::ids::CarrierAccountId::generate(),
            "carrier": "sandbox", "service": "standard", "booking_state": "booked", "status": "info_received",
            "progress": 0, "last_scan_at": null, "ndr_reason": null, "tracking_number": "WB1",
            "carrier_shipment_id": null, "ship_from": {"name": "A", "street1": "B", "city": "C", "country": "TR"},
            "ship_to": {"name": "A", "street1": "B", "city": "C", "country": "TR"}, "parcels": [], "cod": null,
            "charge": null, "edd": null, "routing": null, "simulate": null, "is_return": false, "reference": null,
            "error": null, "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        assert!(!wants(&Event::ShipmentBooked { shipment: shipment.clone() }), "an API order's shipment");
        shipment.channel_connection_id = Some(ChannelConnectionId::generate());
        assert!(wants(&Event::ShipmentBooked { shipment: shipment.clone() }));
        shipment.is_return = true;
        assert!(!wants(&Event::ShipmentBooked { shipment }), "a customer return");
    }
}
