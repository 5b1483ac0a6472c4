//! Stored events: one row per fact, written in the transaction of the change it describes.
//! Consumers are not told through this table: each gets a job of its own, written alongside.

use waybill_core::ids::{EventId, TenantId};
use waybill_core::{Event, Mode, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, json, named, now_ms, parse};

/// An event to write, in the scope of the change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: EventId,
    pub scope: Scope,
    pub event: Event,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: EventId,
    pub scope: Scope,
    pub event: Event,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    tenant_id: String,
    mode: String,
    payload: String,
    created_at: i64,
}
crate::sqlite_row!(EventRow { id, tenant_id, mode, payload, created_at });

impl EventRow {
    fn into_record(self) -> Result<StoredEvent> {
        let corrupt = || StoreError::Corrupt(format!("event {}", self.id));
        Ok(StoredEvent {
            id: EventId::parse(&self.id).ok_or_else(corrupt)?,
            scope: Scope::new(
                TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
                named(&self.mode, Mode::parse, "event mode")?,
            ),
            event: parse(&self.payload, "event payload")?,
            created_at: self.created_at,
        })
    }
}

impl Store {
    /// One stored event of the scope.
    pub async fn event(&self, scope: &Scope, id: &EventId) -> Result<StoredEvent> {
        let row: EventRow = self
            .pool
            .fetch_optional(
                "SELECT id, tenant_id, mode, payload, created_at FROM events WHERE id = $1 AND tenant_id = $2 AND mode = $3",
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The events about one object (`ord_…`, `shp_…`), oldest first.
    pub async fn events_about(&self, scope: &Scope, subject: &str) -> Result<Vec<StoredEvent>> {
        let rows: Vec<EventRow> = self
            .pool
            .fetch_all(
                "SELECT id, tenant_id, mode, payload, created_at FROM events \
                 WHERE tenant_id = $1 AND subject_id = $2 AND mode = $3 ORDER BY id",
                args![scope.tenant.as_str(), subject, scope.mode.as_str()],
            )
            .await?;
        rows.into_iter().map(EventRow::into_record).collect()
    }
}

impl Tx {
    pub async fn insert_event(&mut self, e: &NewEvent) -> Result<()> {
        self.execute(
            "INSERT INTO events (id, tenant_id, mode, kind, subject_id, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                e.id.as_str(),
                e.scope.tenant.as_str(),
                e.scope.mode.as_str(),
                e.event.kind(),
                e.event.subject(),
                json(&e.event),
                now_ms()
            ],
        )
        .await?;
        Ok(())
    }
}
