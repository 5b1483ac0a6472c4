//! The public pages: `waybill_web`'s tracking page, unsubscribe page, customers' NDR page,
//! order cancellation page and information page over the engine, and
//! the stored logos they show (`/t/assets/{slug}/logo`), served from here so a page fetches
//! nothing elsewhere.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use waybill_core::Language;
use waybill_core::branding::Branding;
use waybill_engine::cancellations::{CustomerOrder, CustomerStanding};
use waybill_engine::information::CustomerInformation;
use waybill_engine::ndr::CustomerNdr;
use waybill_engine::notify::Unsubscribe;
use waybill_engine::{Engine, EngineError, PublicParcel, PublicTracking};
use waybill_web::{
    Brand, BrandLink, CancelLookup, CancelPage, CancelSource, CancelStanding, CustomerRequest, InfoLookup, InfoPage,
    InfoSource, Lookup, NdrLookup, NdrPage, NdrSource, PageEvent, PersonalDetails, RateLimits, TrackingPage,
    TrackingSource, UnsubscribeSource, Unsubscribing,
};

/// The tracking page, the unsubscribe page, the NDR page, the cancellation page, the
/// information page and the logos; mount at the root.
pub fn router(engine: Engine, limits: RateLimits) -> Router {
    let logos = Router::new().route("/t/assets/{slug}/logo", get(logo)).with_state(engine.clone());
    waybill_web::router(EngineSource(engine.clone()), limits)
        .merge(waybill_web::unsubscribe_router(EngineSource(engine.clone()), limits.lookups))
        .merge(waybill_web::ndr_router(EngineSource(engine.clone()), limits.lookups))
        .merge(waybill_web::cancel_router(EngineSource(engine.clone()), limits.lookups))
        .merge(waybill_web::info_router(EngineSource(engine), limits.lookups))
        .merge(logos)
}

#[derive(Clone)]
struct EngineSource(Engine);

impl TrackingSource for EngineSource {
    fn lookup(
        &self,
        tenant: Option<&str>,
        tracking_number: &str,
        proof: Option<&str>,
        _lang: Language,
    ) -> impl Future<Output = Lookup> + Send {
        let engine = self.0.clone();
        let (tenant, number, proof) = (tenant.map(str::to_owned), tracking_number.to_owned(), proof.map(str::to_owned));
        async move {
            match engine.public_tracking(tenant.as_deref(), &number, proof.as_deref()).await {
                Ok(PublicTracking::Found(parcel)) => Lookup::Found(page(*parcel)),
                Ok(PublicTracking::NotFound { branding }) => Lookup::NotFound { brand: branding.map(brand) },
                Err(e) => {
                    // The page has no error state of its own; the visitor may try again.
                    tracing::error!(error = %e, "tracking page lookup failed");
                    Lookup::NotFound { brand: None }
                }
            }
        }
    }
}

impl UnsubscribeSource for EngineSource {
    fn find(&self, token: &str) -> impl Future<Output = Unsubscribing> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move { unsubscribing(engine.unsubscribe_target(&token).await) }
    }

    fn confirm(&self, token: &str) -> impl Future<Output = Unsubscribing> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move { unsubscribing(engine.unsubscribe(&token).await) }
    }
}

impl NdrSource for EngineSource {
    fn find(&self, token: &str) -> impl Future<Output = NdrLookup> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move { ndr_lookup(engine.customer_ndr(&token).await, None) }
    }

    fn act(&self, token: &str, request: CustomerRequest) -> impl Future<Output = NdrLookup> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move {
            let done = match request {
                CustomerRequest::Action(action) => engine.customer_ndr_action(&token, action).await,
                CustomerRequest::Dispute { statement } => engine.customer_ndr_dispute(&token, &statement).await,
            };
            match done {
                // Refused: the page as it stands, with what was wrong.
                Err(EngineError::Invalid(invalid)) => ndr_lookup(engine.customer_ndr(&token).await, Some(invalid.0)),
                other => ndr_lookup(other, None),
            }
        }
    }
}

impl CancelSource for EngineSource {
    fn find(&self, token: &str) -> impl Future<Output = CancelLookup> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move { cancel_lookup(engine.customer_order(&token).await, false) }
    }

    fn cancel(&self, token: &str, reason: Option<String>) -> impl Future<Output = CancelLookup> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move {
            match engine.customer_cancel(&token, reason.as_deref()).await {
                Err(EngineError::Invalid(_)) => cancel_lookup(engine.customer_order(&token).await, true),
                other => cancel_lookup(other, false),
            }
        }
    }
}

fn cancel_lookup(found: Result<Option<CustomerOrder>, EngineError>, refused: bool) -> CancelLookup {
    let order = match found {
        Ok(Some(order)) => order,
        Ok(None) => return CancelLookup::Unknown,
        Err(e) => {
            tracing::error!(error = %e, "cancellation page failed");
            return CancelLookup::Unavailable;
        }
    };
    let page = CancelPage {
        lang: Language::default(),
        form_action: String::new(),
        brand: brand(order.branding),
        order_language: order.locale.as_deref().and_then(Language::of_locale),
        order_number: order.number,
        items: order.items,
        standing: match order.standing {
            CustomerStanding::Cancellable => CancelStanding::Cancellable,
            CustomerStanding::Cancelled => CancelStanding::Cancelled,
            CustomerStanding::TooLate => CancelStanding::TooLate,
            CustomerStanding::NotOffered => CancelStanding::NotOffered,
        },
    };
    if refused { CancelLookup::ReasonRefused(page) } else { CancelLookup::Found(page) }
}

impl InfoSource for EngineSource {
    fn find(&self, token: &str) -> impl Future<Output = InfoLookup> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move { info_lookup(engine.customer_information(&token).await, false) }
    }

    fn answer(&self, token: &str, value: String) -> impl Future<Output = InfoLookup> + Send {
        let (engine, token) = (self.0.clone(), token.to_owned());
        async move {
            match engine.customer_resolve(&token, &value).await {
                Err(EngineError::Invalid(_)) => info_lookup(engine.customer_information(&token).await, true),
                other => info_lookup(other, false),
            }
        }
    }
}

fn info_lookup(found: Result<Option<CustomerInformation>, EngineError>, refused: bool) -> InfoLookup {
    let info = match found {
        Ok(Some(info)) => info,
        Ok(None) => return InfoLookup::Unknown,
        Err(e) => {
            tracing::error!(error = %e, "information page failed");
            return InfoLookup::Unavailable;
        }
    };
    let page = InfoPage {
        lang: Language::default(),
        form_action: String::new(),
        order_language: info
            .locale
            .as_deref()
            .and_then(Language::of_locale)
            .or_else(|| Language::of_country(&info.country)),
        brand: brand(info.branding),
        order_number: info.order_number,
        field: info.request.field,
        state: info.request.state,
    };
    if refused { InfoLookup::ValueRefused(page) } else { InfoLookup::Found(page) }
}

fn ndr_lookup(
    found: Result<Option<CustomerNdr>, EngineError>,
    errors: Option<Vec<waybill_core::FieldError>>,
) -> NdrLookup {
    match (found, errors) {
        (Ok(Some(c)), None) => NdrLookup::Found(ndr_page(c)),
        (Ok(Some(c)), Some(errors)) => NdrLookup::Refused { page: ndr_page(c), errors },
        (Ok(None), _) => NdrLookup::Unknown,
        (Err(e), _) => {
            tracing::error!(error = %e, "NDR page failed");
            NdrLookup::Unavailable
        }
    }
}

fn ndr_page(c: CustomerNdr) -> NdrPage {
    let latest = c.record.case.attempt().clone();
    NdrPage {
        lang: Language::default(),
        form_action: String::new(),
        brand: brand(c.branding),
        tracking_number: c.tracking_number,
        tracking_url: c.tracking_url,
        state: c.record.case.state,
        reason: latest.reason,
        attempt: latest.number,
        allowed: c.record.allowed_actions,
        requested: latest.action.map(|a| a.action.kind()),
        deadline: c.deadline,
        earliest_date: c.earliest_date,
        latest_date: c.latest_date,
        disputed: latest.disputed.is_some(),
    }
}

fn unsubscribing(found: Result<Option<Unsubscribe>, EngineError>) -> Unsubscribing {
    match found {
        Ok(Some(u)) => Unsubscribing::Found { brand: brand(u.branding), channel: u.channel, recipient: u.recipient },
        Ok(None) => Unsubscribing::Unknown,
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe link failed");
            Unsubscribing::Unavailable
        }
    }
}

fn brand(b: Branding) -> Brand {
    Brand {
        logo_src: b.logo_path(),
        store_name: b.store_name,
        primary_color: b.primary_color,
        accent_color: b.accent_color,
        support_email: b.support_email,
        links: b.links.into_iter().map(|l| BrandLink { label: l.label, url: l.url }).collect(),
        default_language: b.default_language,
    }
}

fn page(p: PublicParcel) -> TrackingPage {
    let events = p
        .events
        .into_iter()
        .map(|e| PageEvent {
            at: e.occurred_at,
            status: e.status,
            description: Some(e.description).filter(|d| !d.trim().is_empty()),
            city: e.location.filter(|l| !l.trim().is_empty()),
        })
        .collect();
    TrackingPage {
        lang: Language::default(),
        brand: brand(p.branding),
        tracking_number: p.shipment.tracking_number.unwrap_or_default(),
        carrier_name: p.carrier_name,
        carrier_tracking_url: p.tracking_url,
        status: p.shipment.status,
        edd: p.shipment.edd,
        events,
        ndr_reason: p.shipment.ndr_reason,
        personal: p.recipient.map(|r| PersonalDetails { name: r.name, address_lines: r.address_lines, items: r.items }),
        proof_failed: p.proof_failed,
        form_action: String::new(),
        ndr_url: p.ndr_path,
        cancel_url: p.cancel_path,
        information_url: p.information_path,
    }
}

async fn logo(State(engine): State<Engine>, Path(slug): Path<String>) -> Response {
    match engine.brand_logo(&slug).await {
        Ok(Some((bytes, content_type))) => {
            let content_type =
                HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            let headers = [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ];
            (headers, bytes).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "logo read failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
