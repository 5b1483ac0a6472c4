//! Stock out to the sales channels: the `channel_stock` consumer of `inventory.changed`.
//!
//! A change to a SKU queues a job a second later, keyed by location and SKU, so a burst of
//! changes is one job that reads the final number. That job marks the SKU for every connection
//! that ships from the location and takes stock, and queues one job per connection, which sends
//! what is marked in the channel's batches. A SKU the channel does not have is recorded as
//! `unknown` and not sent again until its stock changes.

use serde::{Deserialize, Serialize};
use waybill_channels::{StockItem, StockOutcome};
use waybill_core::ids::{ChannelConnectionId, EventId, LocationId};
use waybill_core::{Event, Scope};
use waybill_store::{NewJob, StoreError, now_ms};

use crate::jobs::{Job, JobContext, Next, Registry};
use crate::{Engine, EngineError};

/// How long a change waits for the changes that follow it.
const COALESCE_MS: i64 = 1_000;
/// SKUs sent per run of a connection's job.
const PER_RUN: u32 = 500;

/// Mark a SKU's new number for the connections that ship from its location.
#[derive(Serialize, Deserialize)]
pub struct MarkStock {
    pub location_id: LocationId,
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for MarkStock {
    const KIND: &'static str = "mark_stock";
    const RERUN_IF_RUNNING: bool = true;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.location_id, self.sku))
    }
}

/// Send a connection's marked SKUs to its channel.
#[derive(Serialize, Deserialize)]
pub struct PushStock {
    pub connection_id: ChannelConnectionId,
}

impl Job for PushStock {
    const KIND: &'static str = "push_stock";
    const MAX_ATTEMPTS: u32 = 25;
    const RERUN_IF_RUNNING: bool = true;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.connection_id))
    }
}

pub(crate) fn wants(event: &Event) -> bool {
    matches!(event, Event::StockChanged { .. })
}

pub(crate) fn job(scope: &Scope, id: &EventId, event: &Event) -> NewJob {
    let Event::StockChanged { level, .. } = event else { unreachable!("only inventory.changed is wanted") };
    MarkStock { location_id: level.location_id.clone(), sku: level.sku.clone(), event_id: Some(id.clone()) }
        .to_new(Some(scope), now_ms() + COALESCE_MS)
}

pub(crate) fn register(r: &mut Registry) {
    r.register(|engine: Engine, ctx: JobContext, job: MarkStock| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a stock job without a scope".into()))?;
        engine.mark_stock(&scope, &job.location_id, &job.sku).await.map(|_| Next::Done)
    });
    r.register(|engine: Engine, ctx: JobContext, job: PushStock| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a stock job without a scope".into()))?;
        engine.push_stock(&scope, &job.connection_id).await
    });
}

impl Engine {
    async fn mark_stock(&self, scope: &Scope, location: &LocationId, sku: &str) -> Result<(), EngineError> {
        let available = self.store().stock_level(scope, location, sku).await?.map_or(0, |l| l.available().max(0));
        let default = self.store().default_location(scope).await?.map(|l| l.id);
        let connections = self.store().list_channel_connections(scope, None, 100).await?.items;
        let takers: Vec<_> = connections
            .into_iter()
            .filter(|c| c.settings.push_stock)
            .filter(|c| self.channels().get(&c.channel).is_some_and(|ch| ch.info().supports.inventory))
            .filter(|c| c.settings.location_id.as_ref().or(default.as_ref()) == Some(location))
            .collect();
        if takers.is_empty() {
            return Ok(());
        }
        let mut uow = self.begin().await?;
        for c in &takers {
            uow.tx.mark_channel_stock(scope, &c.id, sku, available).await?;
            uow.enqueue(Some(scope), &PushStock { connection_id: c.id.clone() }, now_ms() + COALESCE_MS);
        }
        uow.commit(self).await
    }

    async fn push_stock(&self, scope: &Scope, id: &ChannelConnectionId) -> Result<Next, EngineError> {
        let connection = match self.store().channel_connection(scope, id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(Next::Done),
            Err(e) => return Err(e.into()),
        };
        let channel = self.channel_of(&connection)?;
        let pending = self.store().pending_channel_stock(scope, id, PER_RUN).await?;
        if pending.is_empty() {
            return Ok(Next::Done);
        }
        let credentials = self.store().channel_credentials(scope, id).await?;
        let call = crate::channels::calling(&connection, &credentials);
        let items: Vec<StockItem<'_>> =
            pending.iter().map(|p| StockItem { sku: &p.sku, available: p.quantity }).collect();
        let outcomes = match channel.push_stock(&call, &items).await {
            Ok(o) => o,
            Err(e) => return crate::channels::in_job(e),
        };
        let mut unknown = 0;
        for (item, outcome) in pending.iter().zip(outcomes) {
            match outcome {
                StockOutcome::Set => {
                    self.store().settle_channel_stock(scope, id, &item.sku, item.quantity, "sent", None).await?;
                }
                StockOutcome::UnknownSku(reason) => {
                    unknown += 1;
                    self.store()
                        .settle_channel_stock(scope, id, &item.sku, item.quantity, "unknown", Some(&reason))
                        .await?;
                }
            }
        }
        if unknown > 0 {
            tracing::warn!(connection = %id, unknown, "SKUs the channel does not have; see GET /v1/channel-connections/{{id}}/stock?state=unknown");
        }
        if pending.len() as u32 == PER_RUN {
            return Ok(Next::RunAgainAt(now_ms()));
        }
        Ok(Next::Done)
    }
}
