//! Tenants' branding (set through the API, logo fetched once and kept) and what the public
//! tracking page may show about a parcel: its journey to anyone with the number, the
//! recipient's details only to a visitor who proves they are the recipient.

use std::time::Duration;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use waybill_core::branding::{self, Branding, BrandingUpdate, MAX_LOGO_BYTES};
use waybill_core::error::Problems;
use waybill_core::ids::TenantId;
use waybill_core::{Address, Invalid, Mode, Scope, Shipment, TrackingEvent};
use waybill_store::{LogoChange, StoreError, now_ms};

use crate::{Engine, EngineError};

/// How long fetching a `logo_url` may take.
const LOGO_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the public tracking page shows about one parcel.
#[derive(Debug, Clone)]
pub struct PublicParcel {
    /// The branding of the tenant that shipped it.
    pub branding: Branding,
    pub shipment: Shipment,
    pub carrier_name: String,
    /// The carrier's own tracking page, when known.
    pub tracking_url: Option<String>,
    pub events: Vec<TrackingEvent>,
    /// Only when the visitor's proof matched.
    pub recipient: Option<Recipient>,
    /// A proof was given and did not match.
    pub proof_failed: bool,
    /// The recipient's NDR page (`/n/{token}`), while a failed delivery waits for their choice;
    /// only with the proof.
    pub ndr_path: Option<String>,
    /// The order's cancellation page (`/c/{token}`), while its customer may cancel it; only
    /// with the proof.
    pub cancel_path: Option<String>,
    /// The page that asks for the detail the carrier needs (`/i/{token}`), while a request is
    /// open; only with the proof.
    pub information_path: Option<String>,
}

/// What only the recipient may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub name: String,
    pub address_lines: Vec<String>,
    /// Item name (or SKU) and quantity, from the shipment's order.
    pub items: Vec<(String, u32)>,
}

/// The public tracking page's answer.
#[derive(Debug, Clone)]
pub enum PublicTracking {
    Found(Box<PublicParcel>),
    /// Unknown, ambiguous, or not the named tenant's: all look alike, with the branding of the
    /// tenant the URL names (if it names one that exists).
    NotFound {
        branding: Option<Branding>,
    },
}

impl Engine {
    /// The tenant's branding, or the defaults when it never saved one.
    pub async fn branding(&self, scope: &Scope) -> Result<Branding, EngineError> {
        self.branding_of(&scope.tenant).await
    }

    pub(crate) async fn branding_of(&self, tenant: &TenantId) -> Result<Branding, EngineError> {
        if let Some(saved) = self.store().branding(tenant).await? {
            return Ok(saved);
        }
        let tenant = self.store().tenant(tenant).await?;
        Ok(Branding::defaults(tenant.id, &tenant.name))
    }

    /// The branding whose slug this is: a saved one, or the defaults of the tenant whose
    /// default slug it is.
    async fn branding_by_slug(&self, slug: &str) -> Result<Option<Branding>, EngineError> {
        if let Some(saved) = self.store().branding_by_slug(slug).await? {
            return Ok(Some(saved));
        }
        let Some(tenant) = branding::tenant_of_default_slug(slug) else { return Ok(None) };
        match self.store().tenant(&tenant).await {
            Ok(_) => self.branding_of(&tenant).await.map(Some),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Saves the tenant's branding, all or nothing: every field is checked (and a `logo_url`
    /// fetched) before anything is written.
    pub async fn update_branding(&self, scope: &Scope, body: BrandingUpdate) -> Result<Branding, EngineError> {
        let mut problems = Problems::new();
        problems.extend(body.problems());
        let own_default = branding::default_slug(&scope.tenant);
        if body.slug.starts_with("ten-") && body.slug != own_default {
            problems.add("/slug", "slugs starting with `ten-` are kept for tenants' default slugs");
        }
        problems.finish(())?;

        let logo = match (&body.logo, &body.logo_url) {
            (Some(encoded), _) => {
                let bytes = BASE64_STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| Invalid::one("/logo", "the logo must be base64 (standard alphabet, padded)"))?;
                let content_type = branding::check_logo(&bytes).map_err(|p| Invalid::one("/logo", p))?;
                Some((bytes, content_type))
            }
            (None, Some(url)) => {
                let bytes = self.fetch_logo(scope.mode, url).await.map_err(|p| Invalid::one("/logo_url", p))?;
                let content_type = branding::check_logo(&bytes).map_err(|p| Invalid::one("/logo_url", p))?;
                Some((bytes, content_type))
            }
            (None, None) => None,
        };
        let change = match &logo {
            Some((bytes, content_type)) => LogoChange::Set(bytes, content_type),
            None if body.remove_logo => LogoChange::Remove,
            None => LogoChange::Keep,
        };
        let saved = Branding {
            tenant_id: scope.tenant.clone(),
            slug: body.slug,
            store_name: body.store_name,
            primary_color: body.primary_color.unwrap_or_else(|| branding::DEFAULT_PRIMARY_COLOR.into()),
            accent_color: body.accent_color.unwrap_or_else(|| branding::DEFAULT_ACCENT_COLOR.into()),
            support_email: body.support_email.filter(|e| !e.trim().is_empty()),
            links: body.links,
            default_language: body.default_language.unwrap_or_default(),
            has_logo: false,
            updated_at: now_ms(),
        };
        let mut uow = self.begin().await?;
        match uow.tx.upsert_branding(&saved, change).await {
            Err(StoreError::Conflict(_)) => {
                return Err(Invalid::one("/slug", "another store has this slug; choose another").into());
            }
            other => other?,
        }
        uow.commit(self).await?;
        self.branding_of(&scope.tenant).await
    }

    /// Fetches a logo once, through the outbound policy (guarded in live mode, which also
    /// wants https), refusing an answer past [`MAX_LOGO_BYTES`].
    async fn fetch_logo(&self, mode: Mode, url: &str) -> Result<Vec<u8>, String> {
        let live = mode == Mode::Live;
        if live && !url.to_ascii_lowercase().starts_with("https://") {
            return Err("a live logo URL must be https".into());
        }
        let response =
            self.inner.outbound.client(live).get(url).timeout(LOGO_FETCH_TIMEOUT).send().await.map_err(|e| {
                match waybill_outbound::refused_reason(&e) {
                    Some(why) => format!("refused by the outbound policy: {why}"),
                    None => "the logo could not be fetched".to_owned(),
                }
            })?;
        if !response.status().is_success() {
            return Err(format!("the logo URL answered {}", response.status().as_u16()));
        }
        waybill_outbound::read_limited(response, MAX_LOGO_BYTES).await.map_err(|e| match e {
            waybill_outbound::ReadError::TooLarge { .. } => {
                format!("the logo must be at most {} KB", MAX_LOGO_BYTES / 1024)
            }
            waybill_outbound::ReadError::Body(_) => "the logo could not be read".to_owned(),
        })
    }

    /// The branded tracking page of a number: what customers and channels are sent.
    pub(crate) fn tracking_page_url(&self, brand_slug: &str, tracking_number: &str) -> String {
        format!("{}/t/{brand_slug}/{tracking_number}", self.config().public_url.trim_end_matches('/'))
    }

    /// The page a channel shows its customer for a shipment: Waybill's branded tracking page.
    pub(crate) async fn customer_tracking_url(
        &self,
        shipment: &Shipment,
        tracking_number: &str,
    ) -> Result<String, EngineError> {
        let brand = self.branding_of(&shipment.tenant_id).await?;
        Ok(self.tracking_page_url(&brand.slug, tracking_number))
    }

    /// The logo saved under a slug, with its content type.
    pub async fn brand_logo(&self, slug: &str) -> Result<Option<(Vec<u8>, String)>, EngineError> {
        Ok(self.store().branding_logo(slug).await?)
    }

    /// The parcel with `tracking_number`, for the public page: within the tenant of
    /// `tenant_slug`, or across tenants (and modes) when the number belongs to one shipment
    /// only. `proof` (the destination postcode, or the last four digits of the recipient's
    /// phone) unlocks the recipient's details.
    pub async fn public_tracking(
        &self,
        tenant_slug: Option<&str>,
        tracking_number: &str,
        proof: Option<&str>,
    ) -> Result<PublicTracking, EngineError> {
        let named = match tenant_slug {
            Some(slug) => match self.branding_by_slug(slug).await? {
                Some(b) => Some(b),
                None => return Ok(PublicTracking::NotFound { branding: None }),
            },
            None => None,
        };
        let matches = self.store().shipments_numbered(tracking_number, named.as_ref().map(|b| &b.tenant_id), 2).await?;
        let [(id, scope)] = matches.as_slice() else {
            return Ok(PublicTracking::NotFound { branding: named });
        };
        let shipment = self.store().shipment(scope, id).await?;
        let branding = match named {
            Some(b) => b,
            None => self.branding_of(&scope.tenant).await?,
        };
        let recipient = match proof {
            Some(p) if proof_matches(&shipment.ship_to, p) => Some(self.recipient(&shipment).await?),
            _ => None,
        };
        let ndr_path = match recipient {
            Some(_) => self
                .store()
                .ndr_case_of_shipment(scope, id)
                .await?
                .filter(|c| c.case.state == waybill_core::ndr::NdrState::AwaitingAction)
                .map(|_| self.ndr_page_path(scope, id)),
            None => None,
        };
        let cancel_path = match (&recipient, &shipment.order_id) {
            (Some(_), Some(order)) => self.customer_cancel_offer(scope, order).await?,
            _ => None,
        };
        let information_path = match &recipient {
            Some(_) => self
                .store()
                .information_requests_of_shipment(scope, id)
                .await?
                .into_iter()
                .rfind(|r| r.state == waybill_core::information::InfoState::Open)
                .map(|r| self.information_page_path(scope, &r.id)),
            None => None,
        };
        let carrier_name = self.carrier_name(&shipment).await?;
        let details = self.details_of(shipment, true).await?;
        Ok(PublicTracking::Found(Box::new(PublicParcel {
            branding,
            shipment: details.shipment,
            carrier_name,
            tracking_url: details.tracking_url,
            events: details.events.unwrap_or_default(),
            proof_failed: proof.is_some() && recipient.is_none(),
            recipient,
            ndr_path,
            cancel_path,
            information_path,
        })))
    }

    async fn recipient(&self, shipment: &Shipment) -> Result<Recipient, EngineError> {
        let items = match &shipment.order_id {
            Some(order) => self
                .store()
                .order(&shipment.scope(), order)
                .await?
                .line_items
                .into_iter()
                .map(|i| (i.name.unwrap_or(i.sku), i.quantity))
                .collect(),
            None => vec![],
        };
        let to = &shipment.ship_to;
        let place = [to.postal_code.trim(), to.city.trim()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
        let address_lines = [Some(to.street1.clone()), to.street2.clone(), Some(place.join(" ")), to.state.clone()]
            .into_iter()
            .flatten()
            .chain([to.country.clone()])
            .filter(|l| !l.trim().is_empty())
            .collect();
        Ok(Recipient { name: to.name.clone(), address_lines, items })
    }
}

/// Whether `proof` is the destination's postcode (case and spaces aside) or the last four
/// digits of the recipient's phone.
fn proof_matches(ship_to: &Address, proof: &str) -> bool {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect::<String>();
    let given = squash(proof);
    if given.is_empty() {
        return false;
    }
    if given == squash(&ship_to.postal_code) {
        return true;
    }
    let digits: String = ship_to.phone.iter().flat_map(|p| p.chars()).filter(char::is_ascii_digit).collect();
    given.len() == 4 && given.bytes().all(|b| b.is_ascii_digit()) && digits.len() >= 4 && digits.ends_with(&given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postcode_or_the_phone_ending_proves_the_recipient() {
        let to =
            Address { postal_code: "SW1A 1AA".into(), phone: Some("+44 20 7946 0958".into()), ..Address::default() };
        for good in ["SW1A 1AA", "sw1a1aa", " Sw1A 1aA ", "0958"] {
            assert!(proof_matches(&to, good), "{good}");
        }
        for bad in ["", "  ", "SW1A", "958", "20 7946 0958", "0959", "x958"] {
            assert!(!proof_matches(&to, bad), "{bad}");
        }
        let no_phone = Address { postal_code: String::new(), ..Address::default() };
        assert!(!proof_matches(&no_phone, "1234"));
    }
}
