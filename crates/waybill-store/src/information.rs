//! Carriers' information requests (one open per shipment) and the sealed tokens of the
//! customers' links to answer them.

use waybill_core::ids::{InformationRequestId, OrderId, ShipmentId, TenantId, TrackingEventId};
use waybill_core::information::{InfoField, InfoSource, InfoState, InformationRequest};
use waybill_core::{Mode, Page, Scope};

use crate::db::{Backend, Tx};
use crate::{Result, Store, StoreError, args, json, named, parse};

#[derive(sqlx::FromRow)]
struct InfoRow {
    id: String,
    tenant_id: String,
    mode: String,
    shipment_id: String,
    order_id: Option<String>,
    field: String,
    source: String,
    scan_id: Option<String>,
    carrier_code: String,
    carrier_message: String,
    state: String,
    raised_at: i64,
    resolution: Option<String>,
    withdrawn: Option<String>,
    closed_at: Option<i64>,
}
crate::sqlite_row!(InfoRow {
    id,
    tenant_id,
    mode,
    shipment_id,
    order_id,
    field,
    source,
    scan_id,
    carrier_code,
    carrier_message,
    state,
    raised_at,
    resolution,
    withdrawn,
    closed_at
});

macro_rules! info_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, mode, shipment_id, order_id, field, source, scan_id, carrier_code, carrier_message, \
             state, raised_at, resolution, withdrawn, closed_at FROM information_requests ",
            $rest
        )
    };
}

impl InfoRow {
    fn into_record(self) -> Result<InformationRequest> {
        let corrupt = || StoreError::Corrupt(format!("information request {}", self.id));
        Ok(InformationRequest {
            id: InformationRequestId::parse(&self.id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "information request mode")?,
            shipment_id: ShipmentId::parse(&self.shipment_id).ok_or_else(corrupt)?,
            order_id: self.order_id.as_deref().map(|o| OrderId::parse(o).ok_or_else(corrupt)).transpose()?,
            field: named(&self.field, InfoField::parse, "information field")?,
            source: named(&self.source, InfoSource::parse, "information source")?,
            scan_id: self.scan_id.as_deref().map(|i| TrackingEventId::parse(i).ok_or_else(corrupt)).transpose()?,
            carrier_code: self.carrier_code,
            carrier_message: self.carrier_message,
            state: named(&self.state, InfoState::parse, "information request state")?,
            raised_at: self.raised_at,
            resolution: self.resolution.map(|r| parse(&r, "information resolution")).transpose()?,
            withdrawn: self.withdrawn,
            closed_at: self.closed_at,
        })
    }
}

/// The purpose sealed into the tokens of customers' information links.
const INFO_LINK: &str = "info";

impl Store {
    pub async fn information_request(&self, scope: &Scope, id: &InformationRequestId) -> Result<InformationRequest> {
        let row: InfoRow = self
            .pool
            .fetch_optional(
                info_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// A shipment's requests, oldest first.
    pub async fn information_requests_of_shipment(
        &self,
        scope: &Scope,
        shipment: &ShipmentId,
    ) -> Result<Vec<InformationRequest>> {
        let rows: Vec<InfoRow> = self
            .pool
            .fetch_all(
                info_select!("WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3 ORDER BY id"),
                args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        rows.into_iter().map(InfoRow::into_record).collect()
    }

    /// The scope's requests, oldest first, in `state` when given.
    pub async fn list_information_requests(
        &self,
        scope: &Scope,
        state: Option<InfoState>,
        after: Option<&InformationRequestId>,
        limit: u32,
    ) -> Result<Page<InformationRequest>> {
        let mut a = crate::page_args(scope, after.map(|a| a.as_str()), limit);
        let rows: Vec<InfoRow> = match state {
            None => {
                self.pool
                    .fetch_all(info_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"), a)
                    .await?
            }
            Some(state) => {
                a.extend(args![state.as_str()]);
                self.pool
                    .fetch_all(
                        info_select!(
                            "WHERE tenant_id = $1 AND mode = $2 AND id > $3 AND state = $5 ORDER BY id LIMIT $4"
                        ),
                        a,
                    )
                    .await?
            }
        };
        let items = rows.into_iter().map(InfoRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |r: &InformationRequest| r.id.to_string()))
    }

    /// The token of a request's link for its customer: the tenant, the mode, the request.
    pub fn information_token(&self, scope: &Scope, id: &InformationRequestId) -> String {
        self.sealer
            .seal_token(INFO_LINK, &format!("{}\n{}\n{}", scope.tenant.as_str(), scope.mode.as_str(), id.as_str()))
    }

    /// What an information link's token names; `None` when it is not one this deployment made.
    pub fn open_information_token(&self, token: &str) -> Option<(Scope, InformationRequestId)> {
        let text = self.sealer.open_token(INFO_LINK, token)?;
        let mut parts = text.splitn(3, '\n');
        let tenant = TenantId::parse(parts.next()?)?;
        let mode = Mode::parse(parts.next()?)?;
        Some((Scope::new(tenant, mode), InformationRequestId::parse(parts.next()?)?))
    }
}

impl Tx {
    /// Records a new request unless its shipment has an open one; the open request as it
    /// stands, and whether it is this one.
    pub async fn open_information_request(&mut self, r: &InformationRequest) -> Result<(InformationRequest, bool)> {
        let inserted = self
            .execute(
                "INSERT INTO information_requests (id, tenant_id, mode, shipment_id, order_id, field, source, \
                 scan_id, carrier_code, carrier_message, state, raised_at, resolution, withdrawn, closed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, NULL) \
                 ON CONFLICT (shipment_id) WHERE state = 'open' DO NOTHING",
                args![
                    r.id.as_str(),
                    r.tenant_id.as_str(),
                    r.mode.as_str(),
                    r.shipment_id.as_str(),
                    r.order_id.as_ref().map(|o| o.as_str()),
                    r.field.as_str(),
                    r.source.as_str(),
                    r.scan_id.as_ref().map(|i| i.as_str()),
                    r.carrier_code.as_str(),
                    r.carrier_message.as_str(),
                    r.state.as_str(),
                    r.raised_at
                ],
            )
            .await?;
        let scope = Scope::new(r.tenant_id.clone(), r.mode);
        let open = self.lock_open_information_request(&scope, &r.shipment_id).await?.ok_or(StoreError::NotFound)?;
        Ok((open, inserted == 1))
    }

    /// The shipment's open request, locked for this transaction on PostgreSQL.
    pub async fn lock_open_information_request(
        &mut self,
        scope: &Scope,
        shipment: &ShipmentId,
    ) -> Result<Option<InformationRequest>> {
        let a = args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()];
        let row: Option<InfoRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(
                    info_select!("WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3 AND state = 'open'"),
                    a,
                )
                .await?
            }
            Backend::Postgres => {
                self.fetch_optional(
                    info_select!(
                        "WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3 AND state = 'open' FOR UPDATE"
                    ),
                    a,
                )
                .await?
            }
        };
        row.map(InfoRow::into_record).transpose()
    }

    /// The request, locked for this transaction on PostgreSQL.
    pub async fn lock_information_request(
        &mut self,
        scope: &Scope,
        id: &InformationRequestId,
    ) -> Result<InformationRequest> {
        let a = args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()];
        let row: Option<InfoRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(info_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"), a).await?
            }
            Backend::Postgres => {
                self.fetch_optional(info_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3 FOR UPDATE"), a)
                    .await?
            }
        };
        row.ok_or(StoreError::NotFound)?.into_record()
    }

    /// Writes a request's closing (resolved or withdrawn).
    pub async fn close_information_request(&mut self, r: &InformationRequest) -> Result<()> {
        self.execute(
            "UPDATE information_requests SET state = $1, resolution = $2, withdrawn = $3, closed_at = $4 \
             WHERE id = $5 AND tenant_id = $6 AND mode = $7",
            args![
                r.state.as_str(),
                r.resolution.as_ref().map(json),
                r.withdrawn.as_deref(),
                r.closed_at,
                r.id.as_str(),
                r.tenant_id.as_str(),
                r.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }
}
