//! End-of-day manifests and the shipments each one holds (one manifest per shipment at most).

use waybill_core::ids::{CarrierAccountId, ManifestId, TenantId};
use waybill_core::manifest::{Manifest, ManifestStatus};
use waybill_core::{Mode, Page, Scope};

use crate::db::{Backend, Tx};
use crate::{Result, Store, StoreError, args, json, named, parse};

#[derive(sqlx::FromRow)]
struct ManifestRow {
    id: String,
    tenant_id: String,
    mode: String,
    carrier_account_id: String,
    carrier: String,
    status: String,
    carrier_close: i64,
    carrier_reference: Option<String>,
    entries: String,
    error: Option<String>,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
}
crate::sqlite_row!(ManifestRow {
    id,
    tenant_id,
    mode,
    carrier_account_id,
    carrier,
    status,
    carrier_close,
    carrier_reference,
    entries,
    error,
    created_at,
    updated_at,
    closed_at
});

macro_rules! manifest_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, mode, carrier_account_id, carrier, status, carrier_close, carrier_reference, \
             entries, error, created_at, updated_at, closed_at FROM manifests ",
            $rest
        )
    };
}

impl ManifestRow {
    fn into_record(self) -> Result<Manifest> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("manifest {}: {what}", self.id));
        Ok(Manifest {
            id: ManifestId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            mode: named(&self.mode, Mode::parse, "manifest mode")?,
            carrier_account_id: CarrierAccountId::parse(&self.carrier_account_id)
                .ok_or_else(|| corrupt("carrier account"))?,
            status: named(&self.status, ManifestStatus::parse, "manifest status")?,
            carrier_close: self.carrier_close != 0,
            entries: parse(&self.entries, "manifest entries")?,
            error: self.error.as_deref().map(|e| parse(e, "manifest error")).transpose()?,
            carrier: self.carrier,
            carrier_reference: self.carrier_reference,
            created_at: self.created_at,
            updated_at: self.updated_at,
            closed_at: self.closed_at,
        })
    }
}

impl Store {
    pub async fn manifest(&self, scope: &Scope, id: &ManifestId) -> Result<Manifest> {
        let row: ManifestRow = self
            .pool
            .fetch_optional(
                manifest_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The scope's manifests, oldest first.
    pub async fn list_manifests(
        &self,
        scope: &Scope,
        after: Option<&ManifestId>,
        limit: u32,
    ) -> Result<Page<Manifest>> {
        let rows: Vec<ManifestRow> = self
            .pool
            .fetch_all(
                manifest_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                crate::page_args(scope, after.map(|a| a.as_str()), limit),
            )
            .await?;
        let items = rows.into_iter().map(ManifestRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |m: &Manifest| m.id.to_string()))
    }
}

impl Tx {
    /// Writes a new manifest with those of its entries no other manifest holds yet (a close
    /// made at the same moment may have taken some); the manifest as written.
    pub async fn insert_manifest(&mut self, m: &Manifest) -> Result<Manifest> {
        self.execute(
            "INSERT INTO manifests (id, tenant_id, mode, carrier_account_id, carrier, status, carrier_close, \
             carrier_reference, entries, error, created_at, updated_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '[]', $9, $10, $11, $12)",
            args![
                m.id.as_str(),
                m.tenant_id.as_str(),
                m.mode.as_str(),
                m.carrier_account_id.as_str(),
                &m.carrier,
                m.status.as_str(),
                i64::from(m.carrier_close),
                m.carrier_reference.clone(),
                m.error.as_ref().map(json),
                m.created_at,
                m.updated_at,
                m.closed_at
            ],
        )
        .await?;
        let mut written = m.clone();
        written.entries.clear();
        for entry in &m.entries {
            let claimed = self
                .execute(
                    "INSERT INTO manifest_shipments (shipment_id, manifest_id) VALUES ($1, $2) \
                     ON CONFLICT (shipment_id) DO NOTHING",
                    args![entry.shipment_id.as_str(), m.id.as_str()],
                )
                .await?;
            if claimed == 1 {
                written.entries.push(entry.clone());
            }
        }
        self.execute("UPDATE manifests SET entries = $1 WHERE id = $2", args![json(&written.entries), m.id.as_str()])
            .await?;
        Ok(written)
    }

    /// A manifest, locked until the transaction ends on PostgreSQL (SQLite has one writer).
    pub async fn lock_manifest(&mut self, scope: &Scope, id: &ManifestId) -> Result<Manifest> {
        let a = args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()];
        let row: Option<ManifestRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(manifest_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"), a).await?
            }
            Backend::Postgres => {
                self.fetch_optional(manifest_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3 FOR UPDATE"), a)
                    .await?
            }
        };
        row.ok_or(StoreError::NotFound)?.into_record()
    }

    /// Writes a manifest's status and the carrier's answer (its entries never change).
    pub async fn update_manifest(&mut self, m: &Manifest) -> Result<()> {
        self.execute(
            "UPDATE manifests SET status = $1, carrier_reference = $2, error = $3, updated_at = $4, closed_at = $5 \
             WHERE id = $6 AND tenant_id = $7 AND mode = $8",
            args![
                m.status.as_str(),
                m.carrier_reference.clone(),
                m.error.as_ref().map(json),
                m.updated_at,
                m.closed_at,
                m.id.as_str(),
                m.tenant_id.as_str(),
                m.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }
}
