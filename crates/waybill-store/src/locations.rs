//! Locations: warehouses and stores that ship, one of them the scope's default sender.

use waybill_core::ids::{LocationId, TenantId};
use waybill_core::location::Location;
use waybill_core::{Mode, Page, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, json, named, parse};

#[derive(sqlx::FromRow)]
struct LocationRow {
    id: String,
    tenant_id: String,
    mode: String,
    name: String,
    address: String,
    is_default: i64,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(LocationRow { id, tenant_id, mode, name, address, is_default, created_at, updated_at });

macro_rules! location_select {
    ($rest:literal) => {
        concat!("SELECT id, tenant_id, mode, name, address, is_default, created_at, updated_at FROM locations ", $rest)
    };
}

impl LocationRow {
    fn into_record(self) -> Result<Location> {
        let corrupt = || StoreError::Corrupt(format!("location {}", self.id));
        Ok(Location {
            id: LocationId::parse(&self.id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "location mode")?,
            address: parse(&self.address, "location address")?,
            name: self.name,
            is_default: self.is_default != 0,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl Store {
    pub async fn location(&self, scope: &Scope, id: &LocationId) -> Result<Location> {
        let row: LocationRow = self
            .pool
            .fetch_optional(
                location_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The scope's default location, if it has one.
    pub async fn default_location(&self, scope: &Scope) -> Result<Option<Location>> {
        let row: Option<LocationRow> = self
            .pool
            .fetch_optional(
                location_select!("WHERE tenant_id = $1 AND mode = $2 AND is_default = 1 ORDER BY id LIMIT 1"),
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        row.map(LocationRow::into_record).transpose()
    }

    pub async fn list_locations(
        &self,
        scope: &Scope,
        after: Option<&LocationId>,
        limit: u32,
    ) -> Result<Page<Location>> {
        let rows: Vec<LocationRow> = self
            .pool
            .fetch_all(
                location_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                crate::page_args(scope, after.map(|a| a.as_str()), limit),
            )
            .await?;
        let items = rows.into_iter().map(LocationRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |l: &Location| l.id.to_string()))
    }
}

impl Tx {
    /// Writes a new location; a default one takes the flag from the scope's former default.
    pub async fn insert_location(&mut self, l: &Location) -> Result<()> {
        if l.is_default {
            self.execute(
                "UPDATE locations SET is_default = 0, updated_at = $1 WHERE tenant_id = $2 AND mode = $3 AND is_default = 1",
                args![l.created_at, l.tenant_id.as_str(), l.mode.as_str()],
            )
            .await?;
        }
        self.execute(
            "INSERT INTO locations (id, tenant_id, mode, name, address, is_default, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                l.id.as_str(),
                l.tenant_id.as_str(),
                l.mode.as_str(),
                &l.name,
                json(&l.address),
                i64::from(l.is_default),
                l.created_at,
                l.updated_at
            ],
        )
        .await?;
        Ok(())
    }
}
