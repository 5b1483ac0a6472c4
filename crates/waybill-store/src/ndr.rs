//! NDR cases (one per shipment) and each scope's NDR settings.

use waybill_core::ids::{CarrierAccountId, NdrCaseId, ShipmentId, TenantId};
use waybill_core::ndr::{NdrRecord, NdrSettings, NdrState};
use waybill_core::{Mode, Page, Scope};

use crate::db::{Backend, Tx};
use crate::{Result, Store, StoreError, args, json, named, parse};

#[derive(sqlx::FromRow)]
struct NdrRow {
    id: String,
    tenant_id: String,
    mode: String,
    shipment_id: String,
    carrier_account_id: String,
    record: String,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(NdrRow { id, tenant_id, mode, shipment_id, carrier_account_id, record, created_at, updated_at });

macro_rules! ndr_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, mode, shipment_id, carrier_account_id, record, created_at, updated_at FROM ndr_cases ",
            $rest
        )
    };
}

/// What a stored case keeps in its `record` column (the rest has columns of its own).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    carrier: String,
    tracking_number: Option<String>,
    case: waybill_core::ndr::NdrCase,
    allowed_actions: Vec<waybill_core::ndr::NdrActionKind>,
}

impl NdrRow {
    fn into_record(self) -> Result<NdrRecord> {
        let corrupt = || StoreError::Corrupt(format!("NDR case {}", self.id));
        let stored: Stored = parse(&self.record, "NDR case")?;
        Ok(NdrRecord {
            id: NdrCaseId::parse(&self.id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "NDR case mode")?,
            shipment_id: ShipmentId::parse(&self.shipment_id).ok_or_else(corrupt)?,
            carrier_account_id: CarrierAccountId::parse(&self.carrier_account_id).ok_or_else(corrupt)?,
            carrier: stored.carrier,
            tracking_number: stored.tracking_number,
            case: stored.case,
            allowed_actions: stored.allowed_actions,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn record_json(r: &NdrRecord) -> String {
    json(&Stored {
        carrier: r.carrier.clone(),
        tracking_number: r.tracking_number.clone(),
        case: r.case.clone(),
        allowed_actions: r.allowed_actions.clone(),
    })
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    settings: String,
}
crate::sqlite_row!(SettingsRow { settings });

/// The purpose sealed into the tokens of customers' NDR links.
const NDR_LINK: &str = "ndr";

impl Store {
    /// The token of a shipment's NDR link for its customer: the tenant, the mode, the shipment.
    pub fn ndr_token(&self, scope: &Scope, shipment: &ShipmentId) -> String {
        self.sealer
            .seal_token(NDR_LINK, &format!("{}\n{}\n{}", scope.tenant.as_str(), scope.mode.as_str(), shipment.as_str()))
    }

    /// What an NDR link's token names; `None` when it is not one this deployment made.
    pub fn open_ndr_token(&self, token: &str) -> Option<(Scope, ShipmentId)> {
        let text = self.sealer.open_token(NDR_LINK, token)?;
        let mut parts = text.splitn(3, '\n');
        let tenant = TenantId::parse(parts.next()?)?;
        let mode = Mode::parse(parts.next()?)?;
        Some((Scope::new(tenant, mode), ShipmentId::parse(parts.next()?)?))
    }

    pub async fn ndr_case(&self, scope: &Scope, id: &NdrCaseId) -> Result<NdrRecord> {
        let row: NdrRow = self
            .pool
            .fetch_optional(
                ndr_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The case of a shipment, if it ever failed a delivery.
    pub async fn ndr_case_of_shipment(&self, scope: &Scope, shipment: &ShipmentId) -> Result<Option<NdrRecord>> {
        let row: Option<NdrRow> = self
            .pool
            .fetch_optional(
                ndr_select!("WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3"),
                args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        row.map(NdrRow::into_record).transpose()
    }

    /// The scope's cases, oldest first, only those in `states` when given.
    pub async fn list_ndr_cases(
        &self,
        scope: &Scope,
        states: &[NdrState],
        after: Option<&NdrCaseId>,
        limit: u32,
    ) -> Result<Page<NdrRecord>> {
        let rows: Vec<NdrRow> = if states.is_empty() {
            self.pool
                .fetch_all(
                    ndr_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                    crate::page_args(scope, after.map(|a| a.as_str()), limit),
                )
                .await?
        } else {
            // The states as one comma-joined value: the same statement serves any subset.
            let mut a = crate::page_args(scope, after.map(|a| a.as_str()), limit);
            let joined = format!(",{},", states.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","));
            a.extend(args![joined]);
            self.pool
                .fetch_all(
                    ndr_select!(
                        "WHERE tenant_id = $1 AND mode = $2 AND id > $3 \
                         AND $5 LIKE '%,' || state || ',%' ORDER BY id LIMIT $4"
                    ),
                    a,
                )
                .await?
        };
        let items = rows.into_iter().map(NdrRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |r: &NdrRecord| r.id.to_string()))
    }

    /// The scope's NDR rules (the defaults until a tenant sets its own).
    pub async fn ndr_settings(&self, scope: &Scope) -> Result<NdrSettings> {
        let row: Option<SettingsRow> = self
            .pool
            .fetch_optional(
                "SELECT settings FROM ndr_settings WHERE tenant_id = $1 AND mode = $2",
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        Ok(row.map(|r| parse(&r.settings, "NDR settings")).transpose()?.unwrap_or_default())
    }
}

impl Tx {
    /// The case of a shipment, locked for this transaction on PostgreSQL (SQLite's
    /// `BEGIN IMMEDIATE` already holds the only write lock).
    pub async fn lock_ndr_case_of_shipment(
        &mut self,
        scope: &Scope,
        shipment: &ShipmentId,
    ) -> Result<Option<NdrRecord>> {
        let a = args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()];
        let row: Option<NdrRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(ndr_select!("WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3"), a).await?
            }
            Backend::Postgres => {
                self.fetch_optional(
                    ndr_select!("WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3 FOR UPDATE"),
                    a,
                )
                .await?
            }
        };
        row.map(NdrRow::into_record).transpose()
    }

    /// A case, locked as [`Self::lock_ndr_case_of_shipment`] locks it.
    pub async fn lock_ndr_case(&mut self, scope: &Scope, id: &NdrCaseId) -> Result<NdrRecord> {
        let a = args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()];
        let row: Option<NdrRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(ndr_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"), a).await?
            }
            Backend::Postgres => {
                self.fetch_optional(ndr_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3 FOR UPDATE"), a).await?
            }
        };
        row.ok_or(StoreError::NotFound)?.into_record()
    }

    pub async fn insert_ndr_case(&mut self, r: &NdrRecord) -> Result<()> {
        self.execute(
            "INSERT INTO ndr_cases (id, tenant_id, mode, shipment_id, carrier_account_id, state, deadline_at, record, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                r.id.as_str(),
                r.tenant_id.as_str(),
                r.mode.as_str(),
                r.shipment_id.as_str(),
                r.carrier_account_id.as_str(),
                r.case.state.as_str(),
                r.case.deadline_at,
                record_json(r),
                r.created_at,
                r.updated_at
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn update_ndr_case(&mut self, r: &NdrRecord) -> Result<()> {
        let changed = self
            .execute(
                "UPDATE ndr_cases SET state = $1, deadline_at = $2, record = $3, updated_at = $4 \
                 WHERE id = $5 AND tenant_id = $6 AND mode = $7",
                args![
                    r.case.state.as_str(),
                    r.case.deadline_at,
                    record_json(r),
                    r.updated_at,
                    r.id.as_str(),
                    r.tenant_id.as_str(),
                    r.mode.as_str()
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn put_ndr_settings(&mut self, scope: &Scope, settings: &NdrSettings, now: i64) -> Result<()> {
        self.execute(
            "INSERT INTO ndr_settings (tenant_id, mode, settings, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, mode) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            args![scope.tenant.as_str(), scope.mode.as_str(), json(settings), now],
        )
        .await?;
        Ok(())
    }
}
