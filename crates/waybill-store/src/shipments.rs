//! Shipments, their label documents and their tracking events.
//!
//! A booking is written in three steps so no transaction stays open across the carrier call:
//! the intent (a `pending` row, which the engine's sweep reconciles if this process dies),
//! the call (outside the store), then the outcome.

use chrono::{DateTime, FixedOffset, NaiveDate};
use waybill_core::ids::{CarrierAccountId, OrderId, ShipmentId, TenantId, TrackingEventId};
use waybill_core::{Money, NdrReason, OrderStatus, Routing, TrackingState, TrackingStatus};

use crate::db::{Backend, Tx};
use crate::jobs::insert_jobs;
use crate::{
    BookingError, BookingState, NewJob, NewShipment, Page, Result, ScanSource, Shipment, Store, StoreError,
    TrackingEvent, args, json, now_ms, parse,
};

/// What a successful booking adds to the shipment.
#[derive(Debug, Clone)]
pub struct BookedFields {
    pub tracking_number: String,
    pub carrier_shipment_id: String,
    pub service: String,
    pub charge: Option<Money>,
    pub edd: Option<NaiveDate>,
    pub routing: Option<Routing>,
    /// Label documents by format (`pdf`, `zpl`, `png`), kept in the same transaction as the
    /// booking so a booked shipment never lacks the label it was booked with.
    pub documents: Vec<(&'static str, Vec<u8>)>,
}

/// One scan to record, already mapped to Waybill's taxonomy.
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
    pub occurred_at: DateTime<FixedOffset>,
    pub source: ScanSource,
    pub raw: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub shipment: Shipment,
    /// Scans that were new (the rest were duplicates).
    pub recorded: usize,
    pub previous_status: TrackingStatus,
}

#[derive(sqlx::FromRow)]
struct ShipmentRow {
    id: String,
    tenant_id: String,
    order_id: Option<String>,
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
    order_id,
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

macro_rules! shipment_columns {
    () => {
        "id, tenant_id, order_id, carrier_account_id, carrier, service, booking_state, status, progress, last_scan_at, \
         ndr_reason, tracking_number, carrier_shipment_id, ship_from, ship_to, parcels, cod, charge, edd, routing, simulate, \
         is_return, reference, error, created_at, updated_at"
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
            order_id: self
                .order_id
                .as_deref()
                .map(|o| OrderId::parse(o).ok_or_else(|| corrupt("order")))
                .transpose()?,
            carrier_account_id: CarrierAccountId::parse(&self.carrier_account_id).ok_or_else(|| corrupt("account"))?,
            booking_state: BookingState::parse(&self.booking_state).ok_or_else(|| corrupt("booking state"))?,
            status: TrackingStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            progress: u8::try_from(self.progress).map_err(|_| corrupt("progress"))?,
            ndr_reason: self
                .ndr_reason
                .as_deref()
                .map(|r| NdrReason::parse(r).ok_or_else(|| corrupt("ndr reason")))
                .transpose()?,
            edd: self.edd.as_deref().map(|d| d.parse().map_err(|_| corrupt("edd"))).transpose()?,
            ship_from: parse(&self.ship_from, "ship_from")?,
            ship_to: parse(&self.ship_to, "ship_to")?,
            parcels: parse(&self.parcels, "parcels")?,
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
    source,
    received_at
});

impl EventRow {
    fn into_record(self) -> Result<TrackingEvent> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("tracking event {}: {what}", self.id));
        Ok(TrackingEvent {
            id: TrackingEventId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            status: TrackingStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            ndr_reason: self
                .ndr_reason
                .as_deref()
                .map(|r| NdrReason::parse(r).ok_or_else(|| corrupt("ndr reason")))
                .transpose()?,
            occurred_at: DateTime::parse_from_rfc3339(&self.occurred_at).map_err(|_| corrupt("occurred_at"))?,
            source: ScanSource::parse(&self.source).ok_or_else(|| corrupt("source"))?,
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
struct OrderStatusRow {
    status: String,
}
crate::sqlite_row!(OrderStatusRow { status });

/// The shipment row, locked for this transaction on PostgreSQL (SQLite's `BEGIN IMMEDIATE`
/// already holds the only write lock).
async fn lock_shipment(tx: &mut Tx, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment> {
    let a = args![id.as_str(), tenant.as_str()];
    let row: Option<ShipmentRow> = match tx.backend() {
        Backend::Sqlite => tx.fetch_optional(shipment_select!("WHERE id = $1 AND tenant_id = $2"), a).await?,
        Backend::Postgres => {
            tx.fetch_optional(shipment_select!("WHERE id = $1 AND tenant_id = $2 FOR UPDATE"), a).await?
        }
    };
    row.ok_or(StoreError::NotFound)?.into_record()
}

/// Moves the shipment's order along with the shipment's new status.
async fn follow_order(tx: &mut Tx, shipment: &Shipment) -> Result<()> {
    let Some(order_id) = &shipment.order_id else { return Ok(()) };
    let a = args![order_id.as_str(), shipment.tenant_id.as_str()];
    let row: Option<OrderStatusRow> = match tx.backend() {
        Backend::Sqlite => tx.fetch_optional("SELECT status FROM orders WHERE id = $1 AND tenant_id = $2", a).await?,
        Backend::Postgres => {
            tx.fetch_optional("SELECT status FROM orders WHERE id = $1 AND tenant_id = $2 FOR UPDATE", a).await?
        }
    };
    let Some(current) = row.and_then(|r| OrderStatus::parse(&r.status)) else { return Ok(()) };
    let next = current.after_shipment(shipment.status);
    if next != current {
        tx.execute(
            "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND tenant_id = $4",
            args![next.as_str(), now_ms(), order_id.as_str(), shipment.tenant_id.as_str()],
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// Records the intent to book. Should the outcome never be recorded (a crash mid-call),
    /// [`Store::pending_bookings_before`] finds it for the engine's sweep to settle.
    pub async fn create_pending_shipment(&self, tenant: &TenantId, new: NewShipment) -> Result<Shipment> {
        let now = now_ms();
        let shipment = Shipment {
            id: new.id,
            tenant_id: tenant.clone(),
            order_id: new.order_id,
            carrier_account_id: new.carrier_account_id,
            carrier: new.carrier,
            service: new.service,
            booking_state: BookingState::Pending,
            status: TrackingStatus::InfoReceived,
            progress: 0,
            last_scan_at: None,
            ndr_reason: None,
            tracking_number: None,
            carrier_shipment_id: None,
            ship_from: new.ship_from,
            ship_to: new.ship_to,
            parcels: new.parcels,
            cod: new.cod,
            charge: None,
            edd: None,
            routing: None,
            simulate: new.simulate,
            is_return: new.is_return,
            reference: new.reference,
            error: None,
            created_at: now,
            updated_at: now,
        };
        self.pool
            .execute(
            "INSERT INTO shipments (id, tenant_id, order_id, carrier_account_id, carrier, service, booking_state, status, progress, \
             ship_from, ship_to, parcels, cod, simulate, is_return, reference, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            args![
                shipment.id.as_str(),
                tenant.as_str(),
                shipment.order_id.as_ref().map(|o| o.as_str()),
                shipment.carrier_account_id.as_str(),
                &shipment.carrier,
                &shipment.service,
                BookingState::Pending.as_str(),
                shipment.status.as_str(),
                0i64,
                json(&shipment.ship_from),
                json(&shipment.ship_to),
                json(&shipment.parcels),
                shipment.cod.as_ref().map(json),
                shipment.simulate.clone(),
                i64::from(shipment.is_return),
                shipment.reference.clone(),
                now,
                now
            ],
        )
        .await?;
        Ok(shipment)
    }

    /// Bookings still pending that were started before `cutoff` (epoch ms): their outcome was
    /// never recorded, so the engine reconciles them. Oldest first, at most `limit`.
    pub async fn pending_bookings_before(&self, cutoff: i64, limit: u32) -> Result<Vec<(TenantId, ShipmentId)>> {
        #[derive(sqlx::FromRow)]
        struct Pending {
            id: String,
            tenant_id: String,
        }
        crate::sqlite_row!(Pending { id, tenant_id });
        let rows: Vec<Pending> = self
            .pool
            .fetch_all(
                "SELECT id, tenant_id FROM shipments WHERE booking_state = 'pending' AND created_at < $1 \
                 ORDER BY created_at LIMIT $2",
                args![cutoff, i64::from(limit)],
            )
            .await?;
        rows.into_iter()
            .map(|r| match (TenantId::parse(&r.tenant_id), ShipmentId::parse(&r.id)) {
                (Some(t), Some(s)) => Ok((t, s)),
                _ => Err(StoreError::Corrupt(format!("shipment {}", r.id))),
            })
            .collect()
    }

    /// Records a booking the carrier confirmed, with the jobs it causes. A shipment already
    /// booked (a reconcile won the race) is returned unchanged.
    pub async fn record_booking(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        booked: BookedFields,
        jobs: Vec<NewJob>,
    ) -> Result<Shipment> {
        let mut tx = self.pool.begin().await?;
        // One statement updates and reads back; the guard on booking_state makes a second
        // recording (a reconcile that lost the race) change nothing.
        let updated: Option<ShipmentRow> = tx
            .fetch_optional(
                concat!(
                    "UPDATE shipments SET booking_state = $1, tracking_number = $2, carrier_shipment_id = $3, service = $4, \
                     charge = $5, edd = $6, routing = $7, error = NULL, updated_at = $8 \
                     WHERE id = $9 AND tenant_id = $10 AND booking_state <> $11 RETURNING ",
                    shipment_columns!()
                ),
                args![
                    BookingState::Booked.as_str(),
                    &booked.tracking_number,
                    &booked.carrier_shipment_id,
                    &booked.service,
                    booked.charge.as_ref().map(json),
                    booked.edd.map(|d| d.to_string()),
                    booked.routing.as_ref().map(json),
                    now_ms(),
                    id.as_str(),
                    tenant.as_str(),
                    BookingState::Booked.as_str()
                ],
            )
            .await?;
        let Some(row) = updated else {
            drop(tx);
            return self.shipment(tenant, id).await;
        };
        let shipment = row.into_record()?;
        follow_order(&mut tx, &shipment).await?;
        insert_jobs(&mut tx, Some(tenant), jobs).await?;
        for (format, bytes) in booked.documents {
            tx.execute(
                "INSERT INTO shipment_documents (shipment_id, format, tenant_id, bytes, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shipment_id, format) DO NOTHING",
                args![id.as_str(), format, tenant.as_str(), bytes, now_ms()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(shipment)
    }

    /// Records that the booking did not happen (the carrier refused, or says it has none).
    pub async fn record_booking_failure(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        error: BookingError,
    ) -> Result<Shipment> {
        let mut tx = self.pool.begin().await?;
        let mut shipment = lock_shipment(&mut tx, tenant, id).await?;
        if shipment.booking_state == BookingState::Booked {
            return Ok(shipment);
        }
        let now = now_ms();
        tx.execute(
            "UPDATE shipments SET booking_state = $1, error = $2, updated_at = $3 WHERE id = $4 AND tenant_id = $5",
            args![BookingState::Failed.as_str(), json(&error), now, id.as_str(), tenant.as_str()],
        )
        .await?;
        tx.commit().await?;
        shipment.booking_state = BookingState::Failed;
        shipment.error = Some(error);
        shipment.updated_at = now;
        Ok(shipment)
    }

    /// Records that the carrier was asked and did not answer; `reconcile` settles it.
    pub async fn record_booking_unknown(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        reconcile: NewJob,
    ) -> Result<Shipment> {
        let mut tx = self.pool.begin().await?;
        let mut shipment = lock_shipment(&mut tx, tenant, id).await?;
        if shipment.booking_state != BookingState::Pending {
            return Ok(shipment);
        }
        let now = now_ms();
        tx.execute(
            "UPDATE shipments SET booking_state = $1, updated_at = $2 WHERE id = $3 AND tenant_id = $4",
            args![BookingState::Unknown.as_str(), now, id.as_str(), tenant.as_str()],
        )
        .await?;
        if let Some(key) = &reconcile.unique_key {
            tx.execute("DELETE FROM jobs WHERE unique_key = $1", args![key.as_str()]).await?;
        }
        insert_jobs(&mut tx, Some(tenant), vec![reconcile]).await?;
        tx.commit().await?;
        shipment.booking_state = BookingState::Unknown;
        shipment.updated_at = now;
        Ok(shipment)
    }

    /// Leaves a booking whose outcome cannot be settled automatically as `unknown`, with the
    /// reason for a person to read. Does nothing to a booking already settled.
    pub async fn record_booking_needs_attention(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        error: BookingError,
    ) -> Result<()> {
        self.pool
            .execute(
                "UPDATE shipments SET booking_state = $1, error = $2, updated_at = $3 \
                 WHERE id = $4 AND tenant_id = $5 AND booking_state IN ($6, $7)",
                args![
                    BookingState::Unknown.as_str(),
                    json(&error),
                    now_ms(),
                    id.as_str(),
                    tenant.as_str(),
                    BookingState::Pending.as_str(),
                    BookingState::Unknown.as_str()
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn shipment(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment> {
        let row: ShipmentRow = self
            .pool
            .fetch_optional(shipment_select!("WHERE id = $1 AND tenant_id = $2"), args![id.as_str(), tenant.as_str()])
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The newest shipment of this tenant with this tracking number.
    pub async fn shipment_by_tracking_number(&self, tenant: &TenantId, tracking_number: &str) -> Result<Shipment> {
        let row: ShipmentRow = self
            .pool
            .fetch_optional(
                shipment_select!("WHERE tenant_id = $1 AND tracking_number = $2 ORDER BY id DESC LIMIT 1"),
                args![tenant.as_str(), tracking_number],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The shipment booked on `account` under `tracking_number` (how pushes find theirs).
    pub async fn shipment_for_account(&self, account: &CarrierAccountId, tracking_number: &str) -> Result<Shipment> {
        let row: ShipmentRow = self
            .pool
            .fetch_optional(
                shipment_select!("WHERE carrier_account_id = $1 AND tracking_number = $2"),
                args![account.as_str(), tracking_number],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    pub async fn list_shipments(&self, tenant: &TenantId, after: Option<&str>, limit: u32) -> Result<Page<Shipment>> {
        let rows: Vec<ShipmentRow> = self
            .pool
            .fetch_all(
                shipment_select!("WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"),
                args![tenant.as_str(), after.unwrap_or(""), i64::from(limit) + 1],
            )
            .await?;
        crate::page(rows.into_iter().map(ShipmentRow::into_record).collect::<Result<_>>()?, limit, |s: &Shipment| {
            s.id.to_string()
        })
    }

    pub async fn shipments_for_order(&self, tenant: &TenantId, order: &OrderId) -> Result<Vec<Shipment>> {
        let rows: Vec<ShipmentRow> = self
            .pool
            .fetch_all(
                shipment_select!("WHERE tenant_id = $1 AND order_id = $2 ORDER BY id"),
                args![tenant.as_str(), order.as_str()],
            )
            .await?;
        rows.into_iter().map(ShipmentRow::into_record).collect()
    }

    /// The shipment's scans in carrier-time order.
    pub async fn tracking_events(&self, tenant: &TenantId, shipment: &ShipmentId) -> Result<Vec<TrackingEvent>> {
        let rows: Vec<EventRow> = self
            .pool
            .fetch_all(
                "SELECT id, code, status, reason_code, ndr_reason, description, location, occurred_at, source, received_at \
                 FROM tracking_events WHERE shipment_id = $1 AND tenant_id = $2 ORDER BY occurred_ms, id",
                args![shipment.as_str(), tenant.as_str()],
            )
            .await?;
        rows.into_iter().map(EventRow::into_record).collect()
    }

    /// Records new scans (duplicates are dropped by their key), moves the shipment and its
    /// order, and queues whatever `follow_ups` asks for the new state, all in one transaction.
    pub async fn apply_scans(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        scans: Vec<NewScan>,
        follow_ups: impl FnOnce(&Shipment, TrackingStatus) -> Vec<NewJob> + Send,
    ) -> Result<ScanOutcome> {
        let mut tx = self.pool.begin().await?;
        let shipment = lock_shipment(&mut tx, tenant, id).await?;
        apply_locked(tx, shipment, scans, follow_ups).await
    }

    /// [`Store::apply_scans`] for the shipment booked on `account` under `tracking_number`
    /// (how pushes find theirs), found inside the same transaction.
    pub async fn apply_pushed_scans(
        &self,
        account: &CarrierAccountId,
        tracking_number: &str,
        scans: Vec<NewScan>,
        follow_ups: impl FnOnce(&Shipment, TrackingStatus) -> Vec<NewJob> + Send,
    ) -> Result<ScanOutcome> {
        let mut tx = self.pool.begin().await?;
        let a = args![account.as_str(), tracking_number];
        let row: Option<ShipmentRow> = match tx.backend() {
            Backend::Sqlite => {
                tx.fetch_optional(shipment_select!("WHERE carrier_account_id = $1 AND tracking_number = $2"), a).await?
            }
            Backend::Postgres => {
                tx.fetch_optional(
                    shipment_select!("WHERE carrier_account_id = $1 AND tracking_number = $2 FOR UPDATE"),
                    a,
                )
                .await?
            }
        };
        let shipment = row.ok_or(StoreError::NotFound)?.into_record()?;
        apply_locked(tx, shipment, scans, follow_ups).await
    }

    pub async fn document(&self, tenant: &TenantId, shipment: &ShipmentId, format: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<DocumentRow> = self
            .pool
            .fetch_optional(
                "SELECT bytes FROM shipment_documents WHERE shipment_id = $1 AND format = $2 AND tenant_id = $3",
                args![shipment.as_str(), format, tenant.as_str()],
            )
            .await?;
        Ok(row.map(|r| r.bytes))
    }

    /// Keeps a label document. The first one stored wins, so a label never changes once served.
    pub async fn put_document(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        format: &str,
        bytes: Vec<u8>,
    ) -> Result<Vec<u8>> {
        self.pool
            .execute(
                // Inserted only under a shipment of this tenant, so no tenant can take another's slot.
                "INSERT INTO shipment_documents (shipment_id, format, tenant_id, bytes, created_at) \
                 SELECT id, $1, tenant_id, $2, $3 FROM shipments WHERE id = $4 AND tenant_id = $5 \
                 ON CONFLICT (shipment_id, format) DO NOTHING",
                args![format, bytes, now_ms(), shipment.as_str(), tenant.as_str()],
            )
            .await?;
        self.document(tenant, shipment, format).await?.ok_or(StoreError::NotFound)
    }
}

/// The body of [`Store::apply_scans`] once the shipment's row is locked in `tx`.
async fn apply_locked(
    mut tx: Tx,
    mut shipment: Shipment,
    scans: Vec<NewScan>,
    follow_ups: impl FnOnce(&Shipment, TrackingStatus) -> Vec<NewJob> + Send,
) -> Result<ScanOutcome> {
    let tenant = &shipment.tenant_id.clone();
    let id = &shipment.id.clone();
    let previous_status = shipment.status;
    let now = now_ms();
    let mut fresh = Vec::new();
    for scan in scans {
        let inserted = tx
            .execute(
                "INSERT INTO tracking_events (id, tenant_id, shipment_id, dedupe_key, code, status, reason_code, ndr_reason, \
                 description, location, occurred_at, occurred_ms, source, raw, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (shipment_id, dedupe_key) DO NOTHING",
                args![
                    TrackingEventId::generate().as_str(),
                    tenant.as_str(),
                    id.as_str(),
                    &scan.dedupe_key,
                    &scan.code,
                    scan.status.as_str(),
                    scan.reason_code.clone(),
                    scan.ndr_reason.map(|r| r.as_str()),
                    &scan.description,
                    scan.location.clone(),
                    scan.occurred_at.to_rfc3339(),
                    scan.occurred_at.timestamp_millis(),
                    scan.source.as_str(),
                    scan.raw.to_string(),
                    now
                ],
            )
            .await?;
        if inserted == 1 {
            fresh.push(scan);
        }
    }
    let recorded = fresh.len();
    if recorded > 0 {
        let state = TrackingState {
            status: shipment.status,
            progress: shipment.progress,
            last_scan_at: shipment.last_scan_at.and_then(chrono::DateTime::from_timestamp_millis),
        };
        let next = state.apply_all(fresh.iter().map(|s| (s.status, s.occurred_at.to_utc())));
        let ndr = fresh
            .iter()
            .filter(|s| s.status == TrackingStatus::DeliveryFailed)
            .max_by_key(|s| s.occurred_at)
            .and_then(|s| s.ndr_reason)
            .or(shipment.ndr_reason);
        shipment.status = next.status;
        shipment.progress = next.progress;
        shipment.last_scan_at = next.last_scan_at.map(|t| t.timestamp_millis());
        shipment.ndr_reason = ndr;
        shipment.updated_at = now;
        tx.execute(
            "UPDATE shipments SET status = $1, progress = $2, last_scan_at = $3, ndr_reason = $4, updated_at = $5 \
             WHERE id = $6 AND tenant_id = $7",
            args![
                shipment.status.as_str(),
                i64::from(shipment.progress),
                shipment.last_scan_at,
                shipment.ndr_reason.map(|r| r.as_str()),
                now,
                id.as_str(),
                tenant.as_str()
            ],
        )
        .await?;
        if shipment.status != previous_status {
            follow_order(&mut tx, &shipment).await?;
            insert_jobs(&mut tx, Some(tenant), follow_ups(&shipment, previous_status)).await?;
        }
    }
    tx.commit().await?;
    Ok(ScanOutcome { shipment, recorded, previous_status })
}
