//! Shipments, their label documents and their tracking events.
//!
//! A booking is written in three steps so no transaction stays open across the carrier call:
//! the intent (a `pending` row naming the node that makes the call, which any node's sweep
//! settles if that node dies), the call (outside the store), then the outcome.

use chrono::{DateTime, FixedOffset, Utc};
use waybill_core::ids::{
    CarrierAccountId, ChannelConnectionId, LocationId, OrderId, ShipmentId, TenantId, TrackingEventId,
};
use waybill_core::{BookingState, Mode, NdrReason, Page, ScanSource, Scope, Shipment, TrackingEvent, TrackingStatus};

use crate::db::{Backend, Tx};
use crate::{Result, Store, StoreError, args, json, named, now_ms, parse};

/// One scan to record, already mapped to Waybill's taxonomy and placed in time.
#[derive(Debug, Clone)]
pub struct NewScan {
    /// Equal keys are the same scan: the carrier's event id, or a digest of its contents.
    pub dedupe_key: String,
    pub code: String,
    pub status: TrackingStatus,
    pub reason_code: Option<String>,
    pub ndr_reason: Option<NdrReason>,
    pub description: String,
    pub location: Option<String>,
    /// The carrier's own time.
    pub occurred_at: DateTime<FixedOffset>,
    /// Where the scan sits in the history (see `waybill_core::tracking::place`).
    pub placed_at: DateTime<Utc>,
    pub source: ScanSource,
    pub raw: serde_json::Value,
}

/// Which shipments a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShipmentFilter {
    pub booking_state: Option<BookingState>,
}

#[derive(sqlx::FromRow)]
struct ShipmentRow {
    id: String,
    tenant_id: String,
    mode: String,
    order_id: Option<String>,
    channel_connection_id: Option<String>,
    location_id: Option<String>,
    carrier_account_id: String,
    carrier: String,
    service: String,
    booking_state: String,
    status: String,
    progress: i64,
    last_scan_at: Option<i64>,
    ndr_reason: Option<String>,
    tracking_number: Option<String>,
    carrier_shipment_id: Option<String>,
    ship_from: String,
    ship_to: String,
    parcels: String,
    lines: Option<String>,
    cod: Option<String>,
    charge: Option<String>,
    edd: Option<String>,
    routing: Option<String>,
    simulate: Option<String>,
    is_return: i64,
    reference: Option<String>,
    error: Option<String>,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(ShipmentRow {
    id,
    tenant_id,
    mode,
    order_id,
    channel_connection_id,
    location_id,
    carrier_account_id,
    carrier,
    service,
    booking_state,
    status,
    progress,
    last_scan_at,
    ndr_reason,
    tracking_number,
    carrier_shipment_id,
    ship_from,
    ship_to,
    parcels,
    lines,
    cod,
    charge,
    edd,
    routing,
    simulate,
    is_return,
    reference,
    error,
    created_at,
    updated_at
});

/// The columns a [`ShipmentRow`] reads, for `SELECT` and `RETURNING` alike.
macro_rules! shipment_columns {
    () => {
        "id, tenant_id, mode, order_id, channel_connection_id, location_id, carrier_account_id, carrier, service, booking_state, \
         status, progress, last_scan_at, ndr_reason, tracking_number, carrier_shipment_id, ship_from, ship_to, parcels, lines, cod, charge, edd, \
         routing, simulate, is_return, reference, error, created_at, updated_at"
    };
}

macro_rules! shipment_select {
    ($($rest:literal)*) => {
        concat!("SELECT ", shipment_columns!(), " FROM shipments ", $($rest),*)
    };
}

fn opt<T: serde::de::DeserializeOwned>(text: Option<String>, what: &str) -> Result<Option<T>> {
    text.map(|t| parse(&t, what)).transpose()
}

impl ShipmentRow {
    fn into_record(self) -> Result<Shipment> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("shipment {}: {what}", self.id));
        Ok(Shipment {
            id: ShipmentId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            mode: named(&self.mode, Mode::parse, "shipment mode")?,
            order_id: self
                .order_id
                .as_deref()
                .map(|o| OrderId::parse(o).ok_or_else(|| corrupt("order")))
                .transpose()?,
            channel_connection_id: self
                .channel_connection_id
                .as_deref()
                .map(|c| ChannelConnectionId::parse(c).ok_or_else(|| corrupt("channel connection")))
                .transpose()?,
            location_id: self
                .location_id
                .as_deref()
                .map(|l| LocationId::parse(l).ok_or_else(|| corrupt("location")))
                .transpose()?,
            carrier_account_id: CarrierAccountId::parse(&self.carrier_account_id).ok_or_else(|| corrupt("account"))?,
            booking_state: named(&self.booking_state, BookingState::parse, "booking state")?,
            status: named(&self.status, TrackingStatus::parse, "shipment status")?,
            progress: u8::try_from(self.progress).map_err(|_| corrupt("progress"))?,
            ndr_reason: self.ndr_reason.as_deref().map(|r| named(r, NdrReason::parse, "ndr reason")).transpose()?,
            edd: self.edd.as_deref().map(|d| d.parse().map_err(|_| corrupt("edd"))).transpose()?,
            ship_from: parse(&self.ship_from, "ship_from")?,
            ship_to: parse(&self.ship_to, "ship_to")?,
            parcels: parse(&self.parcels, "parcels")?,
            lines: opt(self.lines, "lines")?.unwrap_or_default(),
            cod: opt(self.cod, "cod")?,
            charge: opt(self.charge, "charge")?,
            routing: opt(self.routing, "routing")?,
            error: opt(self.error, "error")?,
            carrier: self.carrier,
            service: self.service,
            last_scan_at: self.last_scan_at,
            tracking_number: self.tracking_number,
            carrier_shipment_id: self.carrier_shipment_id,
            simulate: self.simulate,
            is_return: self.is_return != 0,
            reference: self.reference,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    code: String,
    status: String,
    reason_code: Option<String>,
    ndr_reason: Option<String>,
    description: String,
    location: Option<String>,
    occurred_at: String,
    occurred_ms: i64,
    source: String,
    received_at: i64,
}
crate::sqlite_row!(EventRow {
    id,
    code,
    status,
    reason_code,
    ndr_reason,
    description,
    location,
    occurred_at,
    occurred_ms,
    source,
    received_at
});

impl EventRow {
    fn into_record(self) -> Result<TrackingEvent> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("tracking event {}: {what}", self.id));
        Ok(TrackingEvent {
            id: TrackingEventId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            status: named(&self.status, TrackingStatus::parse, "scan status")?,
            ndr_reason: self.ndr_reason.as_deref().map(|r| named(r, NdrReason::parse, "ndr reason")).transpose()?,
            occurred_at: DateTime::parse_from_rfc3339(&self.occurred_at).map_err(|_| corrupt("occurred_at"))?,
            placed_at: DateTime::from_timestamp_millis(self.occurred_ms).ok_or_else(|| corrupt("occurred_ms"))?,
            source: named(&self.source, ScanSource::parse, "scan source")?,
            code: self.code,
            reason_code: self.reason_code,
            description: self.description,
            location: self.location,
            received_at: self.received_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    bytes: Vec<u8>,
}
crate::sqlite_row!(DocumentRow { bytes });

#[derive(sqlx::FromRow)]
struct PendingRow {
    id: String,
    tenant_id: String,
    mode: String,
}
crate::sqlite_row!(PendingRow { id, tenant_id, mode });

impl Store {
    pub async fn shipment(&self, scope: &Scope, id: &ShipmentId) -> Result<Shipment> {
        let row: ShipmentRow = self
            .pool
            .fetch_optional(
                shipment_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// Every shipment of the scope with this tracking number, newest first. Accounts of
    /// carriers that hand out numbers themselves never share one; generic accounts may.
    pub async fn shipments_by_tracking_number(&self, scope: &Scope, tracking_number: &str) -> Result<Vec<Shipment>> {
        let rows: Vec<ShipmentRow> = self
            .pool
            .fetch_all(
                shipment_select!(
                    "WHERE tenant_id = $1 AND mode = $2 AND tracking_number = $3 ORDER BY id DESC LIMIT 20"
                ),
                args![scope.tenant.as_str(), scope.mode.as_str(), tracking_number],
            )
            .await?;
        rows.into_iter().map(ShipmentRow::into_record).collect()
    }

    /// The shipment booked on `account` under `tracking_number`, if any.
    pub async fn shipment_for_account(
        &self,
        scope: &Scope,
        account: &CarrierAccountId,
        tracking_number: &str,
    ) -> Result<Option<Shipment>> {
        let row: Option<ShipmentRow> = self
            .pool
            .fetch_optional(
                shipment_select!(
                    "WHERE carrier_account_id = $1 AND tracking_number = $2 AND tenant_id = $3 AND mode = $4"
                ),
                args![account.as_str(), tracking_number, scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        row.map(ShipmentRow::into_record).transpose()
    }

    pub async fn list_shipments(
        &self,
        scope: &Scope,
        filter: ShipmentFilter,
        after: Option<&ShipmentId>,
        limit: u32,
    ) -> Result<Page<Shipment>> {
        let after = after.map_or("", |a| a.as_str());
        let limit_plus = i64::from(limit) + 1;
        let rows: Vec<ShipmentRow> = match filter.booking_state {
            None => {
                self.pool
                    .fetch_all(
                        shipment_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                        args![scope.tenant.as_str(), scope.mode.as_str(), after, limit_plus],
                    )
                    .await?
            }
            Some(state) => {
                self.pool
                    .fetch_all(
                        shipment_select!(
                            "WHERE tenant_id = $1 AND mode = $2 AND booking_state = $3 AND id > $4 ORDER BY id LIMIT $5"
                        ),
                        args![scope.tenant.as_str(), scope.mode.as_str(), state.as_str(), after, limit_plus],
                    )
                    .await?
            }
        };
        let items = rows.into_iter().map(ShipmentRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |s: &Shipment| s.id.to_string()))
    }

    pub async fn shipments_for_order(&self, scope: &Scope, order: &OrderId) -> Result<Vec<Shipment>> {
        let rows: Vec<ShipmentRow> = self
            .pool
            .fetch_all(
                shipment_select!("WHERE tenant_id = $1 AND mode = $2 AND order_id = $3 ORDER BY id"),
                args![scope.tenant.as_str(), scope.mode.as_str(), order.as_str()],
            )
            .await?;
        rows.into_iter().map(ShipmentRow::into_record).collect()
    }

    /// The shipment's scans in the order they happened (placed time).
    pub async fn tracking_events(&self, scope: &Scope, shipment: &ShipmentId) -> Result<Vec<TrackingEvent>> {
        let rows: Vec<EventRow> = self
            .pool
            .fetch_all(
                "SELECT id, code, status, reason_code, ndr_reason, description, location, occurred_at, occurred_ms, \
                 source, received_at FROM tracking_events WHERE shipment_id = $1 AND tenant_id = $2 \
                 AND EXISTS (SELECT 1 FROM shipments s WHERE s.id = $3 AND s.tenant_id = $4 AND s.mode = $5) \
                 ORDER BY occurred_ms, id",
                args![
                    shipment.as_str(),
                    scope.tenant.as_str(),
                    shipment.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str()
                ],
            )
            .await?;
        rows.into_iter().map(EventRow::into_record).collect()
    }

    pub async fn document(&self, scope: &Scope, shipment: &ShipmentId, format: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<DocumentRow> = self
            .pool
            .fetch_optional(
                "SELECT d.bytes FROM shipment_documents d JOIN shipments s ON s.id = d.shipment_id \
                 WHERE d.shipment_id = $1 AND d.format = $2 AND s.tenant_id = $3 AND d.tenant_id = s.tenant_id AND s.mode = $4",
                args![shipment.as_str(), format, scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        Ok(row.map(|r| r.bytes))
    }

    /// Bookings still pending whose outcome nobody is recording: started before `cutoff`
    /// (epoch ms), by a node that has not beaten its heart since `alive_since` (it died), or by
    /// an earlier run of a node that has restarted since. Oldest first, at most `limit`.
    pub async fn orphaned_bookings(
        &self,
        cutoff: i64,
        alive_since: i64,
        limit: u32,
    ) -> Result<Vec<(Scope, ShipmentId)>> {
        let rows: Vec<PendingRow> = self
            .pool
            .fetch_all(
                "SELECT s.id, s.tenant_id, s.mode FROM shipments s LEFT JOIN nodes n ON n.id = s.node_id \
                 WHERE s.booking_state = 'pending' AND (s.created_at < $1 OR n.id IS NULL OR n.heartbeat_at < $2 \
                 OR n.started_at > s.created_at) ORDER BY s.created_at LIMIT $3",
                args![cutoff, alive_since, i64::from(limit)],
            )
            .await?;
        rows.into_iter()
            .map(|r| match (TenantId::parse(&r.tenant_id), Mode::parse(&r.mode), ShipmentId::parse(&r.id)) {
                (Some(t), Some(m), Some(s)) => Ok((Scope::new(t, m), s)),
                _ => Err(StoreError::Corrupt(format!("shipment {}", r.id))),
            })
            .collect()
    }
}

impl Tx {
    /// Up to `limit` shipments booked on `account` that wait for their pickup and are on no
    /// manifest yet, oldest first: what an end-of-day close takes.
    pub async fn manifest_candidates(
        &mut self,
        scope: &Scope,
        account: &CarrierAccountId,
        limit: u32,
    ) -> Result<Vec<Shipment>> {
        let rows: Vec<ShipmentRow> = self
            .fetch_all(
                shipment_select!(
                    "WHERE carrier_account_id = $1 AND booking_state = 'booked' AND status = 'info_received' "
                    "AND tenant_id = $2 AND mode = $3 AND is_return = 0 AND tracking_number IS NOT NULL "
                    "AND NOT EXISTS (SELECT 1 FROM manifest_shipments m WHERE m.shipment_id = shipments.id) "
                    "ORDER BY id LIMIT $4"
                ),
                args![account.as_str(), scope.tenant.as_str(), scope.mode.as_str(), i64::from(limit)],
            )
            .await?;
        rows.into_iter().map(ShipmentRow::into_record).collect()
    }

    /// The order's shipments, read in this transaction (after [`Tx::lock_order`], so a booking
    /// of another part of the same order waits for this one).
    pub async fn shipments_for_order(&mut self, scope: &Scope, order: &OrderId) -> Result<Vec<Shipment>> {
        let rows: Vec<ShipmentRow> = self
            .fetch_all(
                shipment_select!("WHERE tenant_id = $1 AND mode = $2 AND order_id = $3 ORDER BY id"),
                args![scope.tenant.as_str(), scope.mode.as_str(), order.as_str()],
            )
            .await?;
        rows.into_iter().map(ShipmentRow::into_record).collect()
    }

    /// Writes a new shipment (a booking's intent), naming the node that makes the call.
    pub async fn insert_shipment(&mut self, s: &Shipment, node: &str) -> Result<()> {
        self.execute(
            "INSERT INTO shipments (id, tenant_id, mode, order_id, carrier_account_id, carrier, service, booking_state, status, \
             progress, ship_from, ship_to, parcels, cod, simulate, is_return, reference, created_at, updated_at, node_id, \
             channel_connection_id, location_id, lines) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
            args![
                s.id.as_str(),
                s.tenant_id.as_str(),
                s.mode.as_str(),
                s.order_id.as_ref().map(|o| o.as_str()),
                s.carrier_account_id.as_str(),
                &s.carrier,
                &s.service,
                s.booking_state.as_str(),
                s.status.as_str(),
                i64::from(s.progress),
                json(&s.ship_from),
                json(&s.ship_to),
                json(&s.parcels),
                s.cod.as_ref().map(json),
                s.simulate.clone(),
                i64::from(s.is_return),
                s.reference.clone(),
                s.created_at,
                s.updated_at,
                node,
                s.channel_connection_id.as_ref().map(|c| c.as_str()),
                s.location_id.as_ref().map(|l| l.as_str()),
                (!s.lines.is_empty()).then(|| json(&s.lines))
            ],
        )
        .await?;
        Ok(())
    }

    /// The shipment, locked for this transaction on PostgreSQL (SQLite's `BEGIN IMMEDIATE`
    /// already holds the only write lock).
    pub async fn lock_shipment(&mut self, scope: &Scope, id: &ShipmentId) -> Result<Shipment> {
        let a = args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()];
        let row: Option<ShipmentRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(shipment_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"), a).await?
            }
            Backend::Postgres => {
                self.fetch_optional(shipment_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3 FOR UPDATE"), a)
                    .await?
            }
        };
        row.ok_or(StoreError::NotFound)?.into_record()
    }

    /// The shipment booked on `account` under `tracking_number` (how pushes find theirs), locked.
    pub async fn lock_shipment_for_account(
        &mut self,
        account: &CarrierAccountId,
        tracking_number: &str,
    ) -> Result<Option<Shipment>> {
        let a = args![account.as_str(), tracking_number];
        let row: Option<ShipmentRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(shipment_select!("WHERE carrier_account_id = $1 AND tracking_number = $2"), a)
                    .await?
            }
            Backend::Postgres => {
                self.fetch_optional(
                    shipment_select!("WHERE carrier_account_id = $1 AND tracking_number = $2 FOR UPDATE"),
                    a,
                )
                .await?
            }
        };
        row.map(ShipmentRow::into_record).transpose()
    }

    /// Writes every field of a shipment that changes after its intent was recorded.
    pub async fn update_shipment(&mut self, s: &Shipment) -> Result<()> {
        self.execute(
            "UPDATE shipments SET booking_state = $1, status = $2, progress = $3, last_scan_at = $4, ndr_reason = $5, \
             tracking_number = $6, carrier_shipment_id = $7, service = $8, charge = $9, edd = $10, routing = $11, \
             error = $12, updated_at = $13 WHERE id = $14 AND tenant_id = $15 AND mode = $16",
            args![
                s.booking_state.as_str(),
                s.status.as_str(),
                i64::from(s.progress),
                s.last_scan_at,
                s.ndr_reason.map(|r| r.as_str()),
                s.tracking_number.clone(),
                s.carrier_shipment_id.clone(),
                &s.service,
                s.charge.as_ref().map(json),
                s.edd.map(|d| d.to_string()),
                s.routing.as_ref().map(json),
                s.error.as_ref().map(json),
                s.updated_at,
                s.id.as_str(),
                s.tenant_id.as_str(),
                s.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }

    /// Writes what a change after booking changed: the delivery address, the cash to collect and
    /// the parcels.
    pub async fn update_shipment_details(&mut self, s: &Shipment) -> Result<()> {
        self.execute(
            "UPDATE shipments SET ship_to = $1, cod = $2, parcels = $3, updated_at = $4 \
             WHERE id = $5 AND tenant_id = $6 AND mode = $7",
            args![
                json(&s.ship_to),
                s.cod.as_ref().map(json),
                json(&s.parcels),
                s.updated_at,
                s.id.as_str(),
                s.tenant_id.as_str(),
                s.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }

    /// Records a confirmed booking's fields (not its tracking position, which scans may have
    /// moved already) in one statement, unless it is booked already; the shipment as written,
    /// or `None` when another recording won the race.
    pub async fn record_booking(&mut self, s: &Shipment) -> Result<Option<Shipment>> {
        let rows: Vec<ShipmentRow> = self
            .fetch_all(
                concat!(
                    "UPDATE shipments SET booking_state = $1, tracking_number = $2, carrier_shipment_id = $3, service = $4, \
                     charge = $5, edd = $6, routing = $7, error = NULL, updated_at = $8 \
                     WHERE id = $9 AND tenant_id = $10 AND mode = $11 AND booking_state <> $12 RETURNING ",
                    shipment_columns!()
                ),
                args![
                    BookingState::Booked.as_str(),
                    s.tracking_number.clone(),
                    s.carrier_shipment_id.clone(),
                    &s.service,
                    s.charge.as_ref().map(json),
                    s.edd.map(|d| d.to_string()),
                    s.routing.as_ref().map(json),
                    s.updated_at,
                    s.id.as_str(),
                    s.tenant_id.as_str(),
                    s.mode.as_str(),
                    BookingState::Booked.as_str()
                ],
            )
            .await?;
        rows.into_iter().next().map(ShipmentRow::into_record).transpose()
    }

    /// Records a scan on `shipment`; `None` when it was recorded before (same key).
    pub async fn insert_scan(
        &mut self,
        shipment: &Shipment,
        scan: &NewScan,
        received_at: i64,
    ) -> Result<Option<TrackingEvent>> {
        let id = TrackingEventId::generate();
        // Written only under a shipment of this tenant and mode, so a record from elsewhere
        // can take no scan slot of another shipment.
        let inserted = self
            .execute(
                "INSERT INTO tracking_events (id, tenant_id, shipment_id, dedupe_key, code, status, reason_code, ndr_reason, \
                 description, location, occurred_at, occurred_ms, source, raw, received_at) \
                 SELECT $1, s.tenant_id, s.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM shipments s \
                 WHERE s.id = $14 AND s.tenant_id = $15 AND s.mode = $16 \
                 ON CONFLICT (shipment_id, dedupe_key) DO NOTHING",
                args![
                    id.as_str(),
                    &scan.dedupe_key,
                    &scan.code,
                    scan.status.as_str(),
                    scan.reason_code.clone(),
                    scan.ndr_reason.map(|r| r.as_str()),
                    &scan.description,
                    scan.location.clone(),
                    scan.occurred_at.to_rfc3339(),
                    scan.placed_at.timestamp_millis(),
                    scan.source.as_str(),
                    scan.raw.to_string(),
                    received_at,
                    shipment.id.as_str(),
                    shipment.tenant_id.as_str(),
                    shipment.mode.as_str()
                ],
            )
            .await?;
        Ok((inserted == 1).then(|| TrackingEvent {
            id,
            code: scan.code.clone(),
            status: scan.status,
            reason_code: scan.reason_code.clone(),
            ndr_reason: scan.ndr_reason,
            description: scan.description.clone(),
            location: scan.location.clone(),
            occurred_at: scan.occurred_at,
            placed_at: DateTime::from_timestamp_millis(scan.placed_at.timestamp_millis()).unwrap_or(scan.placed_at),
            source: scan.source,
            received_at,
        }))
    }

    /// Every scan recorded on the shipment, in placed order (to replay its state).
    pub async fn scans(&mut self, shipment: &Shipment) -> Result<Vec<TrackingEvent>> {
        let rows: Vec<EventRow> = self
            .fetch_all(
                "SELECT id, code, status, reason_code, ndr_reason, description, location, occurred_at, occurred_ms, \
                 source, received_at FROM tracking_events WHERE shipment_id = $1 AND tenant_id = $2 ORDER BY occurred_ms, id",
                args![shipment.id.as_str(), shipment.tenant_id.as_str()],
            )
            .await?;
        rows.into_iter().map(EventRow::into_record).collect()
    }

    /// Keeps a label document. The first one stored wins, so a label never changes once
    /// served; returns whether this one was stored. Written only under a shipment of this
    /// tenant and mode, so no other can take its slot.
    pub async fn insert_document(&mut self, shipment: &Shipment, format: &str, bytes: &[u8]) -> Result<bool> {
        let n = self
            .execute(
                "INSERT INTO shipment_documents (shipment_id, format, tenant_id, bytes, created_at) \
                 SELECT s.id, $1, s.tenant_id, $2, $3 FROM shipments s WHERE s.id = $4 AND s.tenant_id = $5 AND s.mode = $6 \
                 ON CONFLICT (shipment_id, format) DO NOTHING",
                args![
                    format,
                    bytes.to_vec(),
                    now_ms(),
                    shipment.id.as_str(),
                    shipment.tenant_id.as_str(),
                    shipment.mode.as_str()
                ],
            )
            .await?;
        Ok(n == 1)
    }
}
