//! Sales channels: connections (credentials sealed before they are written), the payloads
//! channels send (kept for support until read, with what became of them), and what each
//! shipment has shown its channel.

use waybill_core::channel::{ChannelConnection, ChannelImport, ImportStatus};
use waybill_core::ids::{ChannelConnectionId, ChannelImportId, OrderId, ShipmentId, TenantId};
use waybill_core::{Mode, Page, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, named, now_ms, parse};

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: String,
    tenant_id: String,
    mode: String,
    channel: String,
    name: String,
    base_url: Option<String>,
    settings: String,
    sync_cursor: Option<String>,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(ConnectionRow {
    id,
    tenant_id,
    mode,
    channel,
    name,
    base_url,
    settings,
    sync_cursor,
    created_at,
    updated_at
});

macro_rules! connection_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, mode, channel, name, base_url, settings, sync_cursor, created_at, updated_at \
             FROM channel_connections ",
            $rest
        )
    };
}

impl ConnectionRow {
    fn into_record(self) -> Result<ChannelConnection> {
        let corrupt = || StoreError::Corrupt(format!("channel connection {}", self.id));
        Ok(ChannelConnection {
            id: ChannelConnectionId::parse(&self.id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "connection mode")?,
            settings: parse(&self.settings, "connection settings")?,
            channel: self.channel,
            name: self.name,
            base_url: self.base_url,
            sync_cursor: self.sync_cursor,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: String,
    connection_id: String,
    topic: String,
    external_id: Option<String>,
    status: String,
    reason: Option<String>,
    order_id: Option<String>,
    received_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(ImportRow {
    id,
    connection_id,
    topic,
    external_id,
    status,
    reason,
    order_id,
    received_at,
    updated_at
});

macro_rules! import_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, connection_id, topic, external_id, status, reason, order_id, received_at, updated_at \
             FROM channel_imports ",
            $rest
        )
    };
}

impl ImportRow {
    fn into_record(self) -> Result<ChannelImport> {
        let corrupt = || StoreError::Corrupt(format!("channel import {}", self.id));
        Ok(ChannelImport {
            id: ChannelImportId::parse(&self.id).ok_or_else(corrupt)?,
            connection_id: ChannelConnectionId::parse(&self.connection_id).ok_or_else(corrupt)?,
            status: named(&self.status, ImportStatus::parse, "import status")?,
            order_id: self.order_id.map(|o| OrderId::parse(&o).ok_or_else(corrupt)).transpose()?,
            topic: self.topic,
            external_id: self.external_id,
            reason: self.reason,
            received_at: self.received_at,
            updated_at: self.updated_at,
        })
    }
}

/// A payload to keep until the import job reads it.
#[derive(Debug, Clone)]
pub struct NewChannelImport {
    pub id: ChannelImportId,
    pub connection_id: ChannelConnectionId,
    pub topic: String,
    /// The channel's delivery id (or a sync's order and change time): a repeat is dropped.
    pub delivery_key: Option<String>,
    pub payload: Vec<u8>,
    /// Known up front for a payload that is not imported (`skipped`), else `pending`.
    pub status: ImportStatus,
    pub reason: Option<String>,
}

/// What a shipment has shown its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFulfilment {
    pub shipment_id: ShipmentId,
    pub connection_id: ChannelConnectionId,
    /// The channel's id of the fulfilment, once it exists.
    pub fulfilment_ref: Option<String>,
    /// The newest progress step the channel shows (a tracking status, or `delayed`).
    pub shown_step: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FulfilmentRow {
    shipment_id: String,
    connection_id: String,
    fulfilment_ref: Option<String>,
    shown_status: Option<String>,
}
crate::sqlite_row!(FulfilmentRow { shipment_id, connection_id, fulfilment_ref, shown_status });

#[derive(sqlx::FromRow)]
struct SealedRow {
    sealed_credentials: String,
}
crate::sqlite_row!(SealedRow { sealed_credentials });

#[derive(sqlx::FromRow)]
struct PayloadRow {
    payload: Vec<u8>,
}
crate::sqlite_row!(PayloadRow { payload });

impl Store {
    /// Seals a connection's credentials for [`Tx::insert_channel_connection`].
    pub fn seal_channel_credentials(&self, credentials: &serde_json::Value) -> String {
        self.sealer.seal(crate::json(credentials).as_bytes())
    }

    pub async fn channel_connection(&self, scope: &Scope, id: &ChannelConnectionId) -> Result<ChannelConnection> {
        let row: ConnectionRow = self
            .pool
            .fetch_optional(
                connection_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// A connection found by id alone: only for the channel's webhooks, whose URL names the
    /// connection and whose signature (checked with its credentials) proves the sender.
    pub async fn channel_connection_for_hook(&self, id: &ChannelConnectionId) -> Result<ChannelConnection> {
        let row: ConnectionRow = self
            .pool
            .fetch_optional(connection_select!("WHERE id = $1"), args![id.as_str()])
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The connection's opened credentials.
    pub async fn channel_credentials(&self, scope: &Scope, id: &ChannelConnectionId) -> Result<serde_json::Value> {
        let row: SealedRow = self
            .pool
            .fetch_optional(
                "SELECT sealed_credentials FROM channel_connections WHERE id = $1 AND tenant_id = $2 AND mode = $3",
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let plain = self.sealer.open(&row.sealed_credentials)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(format!("channel credentials: {e}")))
    }

    pub async fn list_channel_connections(
        &self,
        scope: &Scope,
        after: Option<&ChannelConnectionId>,
        limit: u32,
    ) -> Result<Page<ChannelConnection>> {
        let rows: Vec<ConnectionRow> = self
            .pool
            .fetch_all(
                connection_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                crate::page_args(scope, after.map(|a| a.as_str()), limit),
            )
            .await?;
        let items = rows.into_iter().map(ConnectionRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |c: &ChannelConnection| c.id.to_string()))
    }

    pub async fn channel_import(&self, scope: &Scope, id: &ChannelImportId) -> Result<ChannelImport> {
        let row: ImportRow = self
            .pool
            .fetch_optional(
                import_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The payload as the channel sent it.
    pub async fn channel_import_payload(&self, scope: &Scope, id: &ChannelImportId) -> Result<Vec<u8>> {
        let row: PayloadRow = self
            .pool
            .fetch_optional(
                "SELECT payload FROM channel_imports WHERE id = $1 AND tenant_id = $2 AND mode = $3",
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.payload)
    }

    /// Imports newest first, optionally only those in `status`.
    pub async fn list_channel_imports(
        &self,
        scope: &Scope,
        status: Option<ImportStatus>,
        before: Option<&ChannelImportId>,
        limit: u32,
    ) -> Result<Page<ChannelImport>> {
        // Newest first: the key runs down from the page's last id (or from above every id: ids
        // are `chi_` and lower-case ULID characters, all below `z`).
        let before = before.map_or("chi_z".to_owned(), |b| b.to_string());
        let rows: Vec<ImportRow> = match status {
            Some(status) => {
                self.pool
                    .fetch_all(
                        import_select!(
                            "WHERE tenant_id = $1 AND mode = $2 AND status = $3 AND id < $4 ORDER BY id DESC LIMIT $5"
                        ),
                        args![
                            scope.tenant.as_str(),
                            scope.mode.as_str(),
                            status.as_str(),
                            before,
                            i64::from(limit) + 1
                        ],
                    )
                    .await?
            }
            None => {
                self.pool
                    .fetch_all(
                        import_select!("WHERE tenant_id = $1 AND mode = $2 AND id < $3 ORDER BY id DESC LIMIT $4"),
                        args![scope.tenant.as_str(), scope.mode.as_str(), before, i64::from(limit) + 1],
                    )
                    .await?
            }
        };
        let items = rows.into_iter().map(ImportRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |i: &ChannelImport| i.id.to_string()))
    }

    pub async fn channel_fulfilment(&self, scope: &Scope, shipment: &ShipmentId) -> Result<Option<ChannelFulfilment>> {
        let row: Option<FulfilmentRow> = self
            .pool
            .fetch_optional(
                "SELECT shipment_id, connection_id, fulfilment_ref, shown_status FROM channel_fulfilments \
                 WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3",
                args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        row.map(|r| {
            let corrupt = || StoreError::Corrupt(format!("channel fulfilment of {}", r.shipment_id));
            Ok(ChannelFulfilment {
                shipment_id: ShipmentId::parse(&r.shipment_id).ok_or_else(corrupt)?,
                connection_id: ChannelConnectionId::parse(&r.connection_id).ok_or_else(corrupt)?,
                fulfilment_ref: r.fulfilment_ref,
                shown_step: r.shown_status,
            })
        })
        .transpose()
    }

    /// Records what a shipment now shows its channel (written after the channel's answer).
    pub async fn record_channel_fulfilment(&self, scope: &Scope, f: &ChannelFulfilment) -> Result<()> {
        self.pool
            .execute(
                "INSERT INTO channel_fulfilments (shipment_id, tenant_id, mode, connection_id, fulfilment_ref, shown_status, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shipment_id) DO UPDATE SET \
                 fulfilment_ref = excluded.fulfilment_ref, shown_status = excluded.shown_status, updated_at = excluded.updated_at",
                args![
                    f.shipment_id.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    f.connection_id.as_str(),
                    f.fulfilment_ref.clone(),
                    f.shown_step.clone(),
                    now_ms()
                ],
            )
            .await?;
        Ok(())
    }
}

/// What a connection is to be told (or was told) of a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStock {
    pub sku: String,
    pub quantity: i64,
    /// `pending`, `sent` or `unknown`.
    pub state: String,
    pub reason: Option<String>,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct ChannelStockRow {
    sku: String,
    quantity: i64,
    state: String,
    reason: Option<String>,
    updated_at: i64,
}
crate::sqlite_row!(ChannelStockRow { sku, quantity, state, reason, updated_at });

impl Store {
    /// Up to `limit` SKUs waiting to be sent to the connection, by SKU.
    pub async fn pending_channel_stock(
        &self,
        scope: &Scope,
        connection: &ChannelConnectionId,
        limit: u32,
    ) -> Result<Vec<ChannelStock>> {
        self.channel_stock(scope, connection, Some("pending"), None, limit).await.map(|p| p.items)
    }

    /// The connection's SKUs (in `state` only, when given), by SKU.
    pub async fn channel_stock(
        &self,
        scope: &Scope,
        connection: &ChannelConnectionId,
        state: Option<&str>,
        after_sku: Option<&str>,
        limit: u32,
    ) -> Result<Page<ChannelStock>> {
        let rows: Vec<ChannelStockRow> = self
            .pool
            .fetch_all(
                "SELECT sku, quantity, state, reason, updated_at FROM channel_stock WHERE connection_id = $1 \
                 AND tenant_id = $2 AND mode = $3 AND ($4 = '' OR state = $4) AND sku > $5 ORDER BY sku LIMIT $6",
                args![
                    connection.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    state.unwrap_or(""),
                    after_sku.unwrap_or(""),
                    i64::from(limit) + 1
                ],
            )
            .await?;
        let items = rows
            .into_iter()
            .map(|r| ChannelStock {
                sku: r.sku,
                quantity: r.quantity,
                state: r.state,
                reason: r.reason,
                updated_at: r.updated_at,
            })
            .collect();
        Ok(crate::page(items, limit, |s: &ChannelStock| s.sku.clone()))
    }

    /// Records what the channel made of a SKU sent with `quantity`; a SKU whose number changed
    /// since it was read stays pending (its new number goes next).
    pub async fn settle_channel_stock(
        &self,
        scope: &Scope,
        connection: &ChannelConnectionId,
        sku: &str,
        quantity: i64,
        state: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        self.pool
            .execute(
                "UPDATE channel_stock SET state = $1, reason = $2, updated_at = $3 WHERE connection_id = $4 \
                 AND tenant_id = $5 AND mode = $6 AND sku = $7 AND quantity = $8 AND state = 'pending'",
                args![
                    state,
                    reason,
                    now_ms(),
                    connection.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    sku,
                    quantity
                ],
            )
            .await?;
        Ok(())
    }
}

impl Tx {
    /// Marks a SKU's new number to be sent to a connection (a SKU the channel did not know is
    /// tried again: its stock changed).
    pub async fn mark_channel_stock(
        &mut self,
        scope: &Scope,
        connection: &ChannelConnectionId,
        sku: &str,
        quantity: i64,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO channel_stock (connection_id, sku, tenant_id, mode, quantity, state, reason, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', NULL, $6) ON CONFLICT (connection_id, sku) DO UPDATE SET \
             quantity = excluded.quantity, state = 'pending', reason = NULL, updated_at = excluded.updated_at",
            args![connection.as_str(), sku, scope.tenant.as_str(), scope.mode.as_str(), quantity, now_ms()],
        )
        .await?;
        Ok(())
    }

    /// Writes a new connection with its sealed credentials (see [`Store::seal_channel_credentials`]).
    pub async fn insert_channel_connection(&mut self, c: &ChannelConnection, sealed: String) -> Result<()> {
        self.execute(
            "INSERT INTO channel_connections (id, tenant_id, mode, channel, name, base_url, settings, sealed_credentials, \
             sync_cursor, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                c.id.as_str(),
                c.tenant_id.as_str(),
                c.mode.as_str(),
                &c.channel,
                &c.name,
                c.base_url.clone(),
                crate::json(&c.settings),
                sealed,
                c.sync_cursor.clone(),
                c.created_at,
                c.updated_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Removes a connection and its sealed credentials; `false` when there was none.
    pub async fn delete_channel_connection(&mut self, scope: &Scope, id: &ChannelConnectionId) -> Result<bool> {
        let n = self
            .execute(
                "DELETE FROM channel_connections WHERE id = $1 AND tenant_id = $2 AND mode = $3",
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Where the next sync starts, written with the payloads the last one fetched.
    pub async fn set_sync_cursor(&mut self, scope: &Scope, id: &ChannelConnectionId, cursor: &str) -> Result<()> {
        self.execute(
            "UPDATE channel_connections SET sync_cursor = $1 WHERE id = $2 AND tenant_id = $3 AND mode = $4",
            args![cursor, id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
        )
        .await?;
        Ok(())
    }

    /// Keeps a payload; `false` (and nothing written) when its delivery key was seen before.
    pub async fn insert_channel_import(&mut self, scope: &Scope, new: &NewChannelImport) -> Result<bool> {
        let now = now_ms();
        let n = self
            .execute(
                "INSERT INTO channel_imports (id, tenant_id, mode, connection_id, topic, delivery_key, payload, status, reason, \
                 received_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (connection_id, delivery_key) DO NOTHING",
                args![
                    new.id.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    new.connection_id.as_str(),
                    &new.topic,
                    new.delivery_key.clone(),
                    new.payload.clone(),
                    new.status.as_str(),
                    new.reason.clone(),
                    now
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// Records what became of a payload.
    pub async fn settle_channel_import(
        &mut self,
        scope: &Scope,
        id: &ChannelImportId,
        status: ImportStatus,
        reason: Option<String>,
        external_id: Option<&str>,
        order_id: Option<&OrderId>,
    ) -> Result<()> {
        self.execute(
            "UPDATE channel_imports SET status = $1, reason = $2, external_id = COALESCE($3, external_id), \
             order_id = COALESCE($4, order_id), updated_at = $5 WHERE id = $6 AND tenant_id = $7 AND mode = $8",
            args![
                status.as_str(),
                reason,
                external_id,
                order_id.map(|o| o.as_str()),
                now_ms(),
                id.as_str(),
                scope.tenant.as_str(),
                scope.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }

    /// Puts a failed import back to be read again; `false` when it is not a failed one.
    pub async fn retry_channel_import(&mut self, scope: &Scope, id: &ChannelImportId) -> Result<bool> {
        let n = self
            .execute(
                "UPDATE channel_imports SET status = 'pending', reason = NULL, updated_at = $1 \
                 WHERE id = $2 AND tenant_id = $3 AND mode = $4 AND status = 'failed'",
                args![now_ms(), id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        Ok(n == 1)
    }
}
