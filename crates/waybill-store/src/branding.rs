//! Each tenant's branding (one row, shared by both modes) with its logo bytes, and the
//! cross-tenant lookup of a tracking number the public page starts from.

use waybill_core::branding::{BrandLink, Branding};
use waybill_core::ids::{ShipmentId, TenantId};
use waybill_core::{Language, Mode, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, named, parse};

#[derive(sqlx::FromRow)]
struct BrandingRow {
    tenant_id: String,
    slug: String,
    store_name: String,
    has_logo: i64,
    primary_color: String,
    accent_color: String,
    support_email: Option<String>,
    links: String,
    default_language: String,
    updated_at: i64,
}
crate::sqlite_row!(BrandingRow {
    tenant_id,
    slug,
    store_name,
    has_logo,
    primary_color,
    accent_color,
    support_email,
    links,
    default_language,
    updated_at
});

macro_rules! branding_select {
    ($rest:literal) => {
        concat!(
            "SELECT tenant_id, slug, store_name, CAST(CASE WHEN logo IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_logo, \
             primary_color, accent_color, support_email, links, default_language, updated_at FROM branding WHERE ",
            $rest
        )
    };
}

impl BrandingRow {
    fn into_record(self) -> Result<Branding> {
        let links: Vec<BrandLink> = parse(&self.links, "branding links")?;
        Ok(Branding {
            tenant_id: TenantId::parse(&self.tenant_id)
                .ok_or_else(|| StoreError::Corrupt(format!("branding of {}", self.tenant_id)))?,
            slug: self.slug,
            store_name: self.store_name,
            primary_color: self.primary_color,
            accent_color: self.accent_color,
            support_email: self.support_email,
            links,
            default_language: named(&self.default_language, Language::parse, "branding language")?,
            has_logo: self.has_logo != 0,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LogoRow {
    logo: Vec<u8>,
    logo_content_type: String,
}
crate::sqlite_row!(LogoRow { logo, logo_content_type });

#[derive(sqlx::FromRow)]
struct NumberRow {
    id: String,
    tenant_id: String,
    mode: String,
}
crate::sqlite_row!(NumberRow { id, tenant_id, mode });

#[derive(sqlx::FromRow)]
struct SlugRow {
    slug: String,
}
crate::sqlite_row!(SlugRow { slug });

/// How a stored logo changes with an upsert.
#[derive(Debug, Clone, Copy)]
pub enum LogoChange<'a> {
    Keep,
    Remove,
    /// The bytes and their content type.
    Set(&'a [u8], &'a str),
}

impl Store {
    /// The tenant's saved branding, if it saved one.
    pub async fn branding(&self, tenant: &TenantId) -> Result<Option<Branding>> {
        let row: Option<BrandingRow> =
            self.pool.fetch_optional(branding_select!("tenant_id = $1"), args![tenant.as_str()]).await?;
        row.map(BrandingRow::into_record).transpose()
    }

    /// The saved branding that has this slug.
    pub async fn branding_by_slug(&self, slug: &str) -> Result<Option<Branding>> {
        let row: Option<BrandingRow> = self.pool.fetch_optional(branding_select!("slug = $1"), args![slug]).await?;
        row.map(BrandingRow::into_record).transpose()
    }

    /// The logo saved under this slug, with its content type.
    pub async fn branding_logo(&self, slug: &str) -> Result<Option<(Vec<u8>, String)>> {
        let row: Option<LogoRow> = self
            .pool
            .fetch_optional(
                "SELECT logo, logo_content_type FROM branding WHERE slug = $1 AND logo IS NOT NULL \
                 AND logo_content_type IS NOT NULL",
                args![slug],
            )
            .await?;
        Ok(row.map(|r| (r.logo, r.logo_content_type)))
    }

    /// The shipments (of any mode) with `tracking_number`, of `tenant` or of every tenant,
    /// as their ids and scopes: at most `limit`, oldest first. The public tracking page reads
    /// the one it shows through its scope.
    pub async fn shipments_numbered(
        &self,
        tracking_number: &str,
        tenant: Option<&TenantId>,
        limit: i64,
    ) -> Result<Vec<(ShipmentId, Scope)>> {
        let rows: Vec<NumberRow> = match tenant {
            Some(t) => {
                self.pool
                    .fetch_all(
                        "SELECT id, tenant_id, mode FROM shipments WHERE tracking_number = $1 AND tenant_id = $2 \
                         ORDER BY id LIMIT $3",
                        args![tracking_number, t.as_str(), limit],
                    )
                    .await?
            }
            None => {
                self.pool
                    .fetch_all(
                        "SELECT id, tenant_id, mode FROM shipments WHERE tracking_number = $1 ORDER BY id LIMIT $2",
                        args![tracking_number, limit],
                    )
                    .await?
            }
        };
        rows.into_iter()
            .map(|r| {
                let corrupt = || StoreError::Corrupt(format!("shipment {}", r.id));
                let id = ShipmentId::parse(&r.id).ok_or_else(corrupt)?;
                let tenant = TenantId::parse(&r.tenant_id).ok_or_else(corrupt)?;
                Ok((id, Scope::new(tenant, named(&r.mode, Mode::parse, "shipment mode")?)))
            })
            .collect()
    }
}

impl Tx {
    /// Writes the tenant's branding over any saved before, changing the logo as `logo` says.
    /// A slug another tenant holds is a [`StoreError::Conflict`] (and nothing is written).
    pub async fn upsert_branding(&mut self, b: &Branding, logo: LogoChange<'_>) -> Result<()> {
        let taken: Option<SlugRow> = self
            .fetch_optional(
                "SELECT slug FROM branding WHERE slug = $1 AND tenant_id <> $2",
                args![&b.slug, b.tenant_id.as_str()],
            )
            .await?;
        if let Some(taken) = taken {
            return Err(StoreError::Conflict(format!("slug {}", taken.slug)));
        }
        let written = self
            .execute(
                "INSERT INTO branding (tenant_id, slug, store_name, primary_color, accent_color, support_email, links, \
                 default_language, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (tenant_id) DO UPDATE SET slug = excluded.slug, store_name = excluded.store_name, \
                 primary_color = excluded.primary_color, accent_color = excluded.accent_color, \
                 support_email = excluded.support_email, links = excluded.links, \
                 default_language = excluded.default_language, updated_at = excluded.updated_at",
                args![
                    b.tenant_id.as_str(),
                    &b.slug,
                    &b.store_name,
                    &b.primary_color,
                    &b.accent_color,
                    b.support_email.clone(),
                    crate::json(&b.links),
                    b.default_language.as_str(),
                    b.updated_at
                ],
            )
            .await;
        match written {
            Err(e) if e.is_unique_violation() => return Err(StoreError::Conflict(format!("slug {}", b.slug))),
            other => other?,
        };
        match logo {
            LogoChange::Keep => {}
            LogoChange::Remove => {
                self.execute(
                    "UPDATE branding SET logo = NULL, logo_content_type = NULL WHERE tenant_id = $1",
                    args![b.tenant_id.as_str()],
                )
                .await?;
            }
            LogoChange::Set(bytes, content_type) => {
                self.execute(
                    "UPDATE branding SET logo = $1, logo_content_type = $2 WHERE tenant_id = $3",
                    args![bytes.to_vec(), content_type, b.tenant_id.as_str()],
                )
                .await?;
            }
        }
        Ok(())
    }
}
