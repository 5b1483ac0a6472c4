//! The HTML face of Waybill: public pages for end customers.
//!
//! [`router`] serves the branded tracking page under `/t/…`, [`unsubscribe_router`] the page
//! behind the unsubscribe link of every email (`/u/…`), [`ndr_router`] the page where a
//! customer chooses what happens after a failed delivery (`/n/…`), [`cancel_router`] the page
//! where a customer cancels an order not yet dispatched (`/c/…`) and [`info_router`] the page
//! that asks for the one detail a carrier needs (`/i/…`). None knows a database: a
//! [`TrackingSource`] gives the page data and decides who may see what, an
//! [`UnsubscribeSource`] reads and records what a link stops, an [`NdrSource`] reads a case and
//! records the customer's choice, a [`CancelSource`] and an [`InfoSource`] read an order or a
//! request and record the customer's cancellation or answer.

pub mod cancel;
pub mod info;
mod link;
pub mod ndr;
pub mod tracking;

use std::convert::Infallible;
use std::future::Future;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, FromRequestParts, OriginalUri, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use waybill_core::{Language, MessageChannel};

pub use cancel::{CancelLookup, CancelPage, CancelSource, CancelStanding, cancel_router};
pub use info::{InfoLookup, InfoPage, InfoSource, info_router};
pub use ndr::{CustomerRequest, NdrLookup, NdrPage, NdrSource, ndr_router};
pub use tracking::{Brand, BrandLink, PageEvent, PersonalDetails, TrackingPage};

/// Where the page data comes from (the server implements it over the engine).
pub trait TrackingSource: Clone + Send + Sync + 'static {
    /// The page data for `tracking_number`, within one tenant when `tenant` is Some (the
    /// tenant-specific URL `/t/{tenant_slug}/{number}`), else across tenants (only if the number
    /// is unique; the implementer decides). `proof` is what the visitor typed, if anything; the
    /// implementer checks it and fills `personal` only when it matches, else sets `proof_failed`.
    /// The router sets the page's `lang` and `form_action` itself.
    fn lookup(
        &self,
        tenant: Option<&str>,
        tracking_number: &str,
        proof: Option<&str>,
        lang: Language,
    ) -> impl Future<Output = Lookup> + Send;
}

/// What an unsubscribe link stops (the server implements it over the engine).
pub trait UnsubscribeSource: Clone + Send + Sync + 'static {
    /// What the link with `token` stops, without recording anything.
    fn find(&self, token: &str) -> impl Future<Output = Unsubscribing> + Send;
    /// Records the opt-out the link names; doing it again changes nothing.
    fn confirm(&self, token: &str) -> impl Future<Output = Unsubscribing> + Send;
}

/// The answer of an [`UnsubscribeSource`].
#[derive(Debug, Clone)]
pub enum Unsubscribing {
    Found {
        brand: Brand,
        channel: MessageChannel,
        /// Masked, as the store's message log shows it.
        recipient: String,
    },
    /// Not a link this deployment made.
    Unknown,
    /// The choice could not be read or recorded now.
    Unavailable,
}

/// The answer of a [`TrackingSource`].
// One per request, moved once: the size of `Found` costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(TrackingPage),
    /// Unknown, or not to be shown here (another tenant's): both must look the same, so give
    /// the same `brand` for both (the URL's tenant's, or none).
    NotFound {
        brand: Option<Brand>,
    },
}

/// How often one client may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Page views, per client address.
    pub lookups: Limit,
    /// Proof attempts, per client address and tracking number (each also counts as a lookup).
    pub proofs: Limit,
}

impl Default for RateLimits {
    /// 60 page views a minute with bursts of 30; 10 proof attempts per 10 minutes.
    fn default() -> Self {
        RateLimits {
            lookups: Limit { burst: 30, replenish_every: Duration::from_secs(1) },
            proofs: Limit { burst: 10, replenish_every: Duration::from_secs(60) },
        }
    }
}

/// A token bucket: `burst` requests at once, then one more each `replenish_every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub replenish_every: Duration,
}

impl Limit {
    fn quota(self) -> Quota {
        // A zero period can replenish no faster than governor allows: as good as no limit.
        let quota = Quota::with_period(self.replenish_every).unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX));
        quota.allow_burst(NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN))
    }
}

/// Routes: `GET /t?number=` (the search box, redirects), `GET|POST /t/{number}` and
/// `GET|POST /t/{tenant}/{number}` (POST carries the form field `proof`). Mount it at the root.
/// Clients are told apart by `ConnectInfo<SocketAddr>` (serve with
/// `into_make_service_with_connect_info`); without it every client shares one budget.
pub fn router<S: TrackingSource>(source: S, limits: RateLimits) -> Router {
    let shared = Arc::new(Shared {
        source,
        lookups: RateLimiter::keyed(limits.lookups.quota()),
        proofs: RateLimiter::keyed(limits.proofs.quota()),
    });
    Router::new()
        .route("/t", get(search::<S>))
        .route("/t/{number}", get(page_get::<S>).post(page_post::<S>))
        .route("/t/{tenant}/{number}", get(page_get::<S>).post(page_post::<S>))
        .layer(DefaultBodyLimit::max(1024))
        .layer(axum::middleware::map_response(page_headers))
        .with_state(shared)
}

/// `GET /u/{token}` asks whether to stop; `POST /u/{token}` records it, from the page's button or
/// from a mail client's one-click unsubscribe (RFC 8058, body `List-Unsubscribe=One-Click`).
/// Each client may ask `limit` often. Mount it at the root.
pub fn unsubscribe_router<U: UnsubscribeSource>(source: U, limit: Limit) -> Router {
    let shared = Arc::new(UnsubscribeShared { source, asks: RateLimiter::keyed(limit.quota()) });
    Router::new()
        .route("/u/{token}", get(unsubscribe::<U>).post(unsubscribe::<U>))
        .layer(DefaultBodyLimit::max(1024))
        .layer(axum::middleware::map_response(page_headers))
        .with_state(shared)
}

struct UnsubscribeShared<U> {
    source: U,
    asks: DefaultKeyedRateLimiter<IpAddr>,
}

/// Tokens are base64url; anything else, or of an impossible length, is not one.
fn valid_token(token: &str) -> bool {
    (32..=1024).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// GET asks (the page's form posts back here), POST records.
async fn unsubscribe<U: UnsubscribeSource>(
    State(shared): State<Arc<UnsubscribeShared<U>>>,
    Client(ip): Client,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(token): Path<String>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let lang = choose_language(&query.map(|q| q.0).unwrap_or_default(), &headers);
    if let Err(wait) = check(&shared.asks, &ip) {
        return rate_limited(lang, wait);
    }
    if !valid_token(&token) {
        return unsubscribe_answer(lang, Unsubscribing::Unknown, None);
    }
    if method == Method::POST {
        return unsubscribe_answer(lang, shared.source.confirm(&token).await, None);
    }
    let action = format!("{}?lang={}", uri.path(), lang.as_str());
    unsubscribe_answer(lang, shared.source.find(&token).await, Some(&action))
}

/// The page for `outcome`: the question (with its form posting to `ask`) or the confirmation.
fn unsubscribe_answer(lang: Language, outcome: Unsubscribing, ask: Option<&str>) -> Response {
    match outcome {
        Unsubscribing::Found { brand, channel, recipient } => {
            Html(tracking::render_unsubscribe(lang, &brand, channel.as_str(), &recipient, ask)).into_response()
        }
        Unsubscribing::Unknown => {
            (StatusCode::NOT_FOUND, Html(tracking::render_unsubscribe_unknown(lang))).into_response()
        }
        Unsubscribing::Unavailable => {
            let retry_after = [(header::RETRY_AFTER, "60")];
            (StatusCode::SERVICE_UNAVAILABLE, retry_after, Html(tracking::render_unsubscribe_unavailable(lang)))
                .into_response()
        }
    }
}

struct Shared<S> {
    source: S,
    lookups: DefaultKeyedRateLimiter<IpAddr>,
    proofs: DefaultKeyedRateLimiter<(IpAddr, Option<String>, String)>,
}

/// Where the not-found page's search box sends its `number`.
const SEARCH_PATH: &str = "/t";

/// Keyed limiters keep one entry per client; past this many, forget those back to a full bucket.
const MAX_TRACKED_CLIENTS: usize = 10_000;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // Pages may carry personal details: never stored by a browser or a proxy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The rate-limit key of a client: its address, or its /64 for IPv6 (one subscriber's share).
struct Client(IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Client(match ip {
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & (u128::MAX << 64))),
            },
            Some(v4) => v4,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }))
    }
}

type Pairs = Vec<(String, String)>;

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `?lang=` wins, then `Accept-Language`, then English.
fn choose_language(query: &[(String, String)], headers: &HeaderMap) -> Language {
    asked_language(query, headers).unwrap_or_default()
}

/// The language the visitor asked for (`?lang=`, else `Accept-Language`), if Waybill speaks it.
fn asked_language(query: &[(String, String)], headers: &HeaderMap) -> Option<Language> {
    param(query, "lang").and_then(Language::of_locale).or_else(|| {
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Language::from_accept_language)
    })
}

/// 1–64 characters of `[A-Za-z0-9_-]`: tracking numbers and tenant slugs alike.
fn valid_segment(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check<K: Clone + Hash + Eq>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), Duration> {
    let outcome = limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(limiter.clock().now()));
    if limiter.len() > MAX_TRACKED_CLIENTS {
        limiter.retain_recent();
    }
    outcome
}

fn rate_limited(lang: Language, wait: Duration) -> Response {
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let retry_after = [(header::RETRY_AFTER, seconds.to_string())];
    (StatusCode::TOO_MANY_REQUESTS, retry_after, Html(tracking::render_rate_limited(lang))).into_response()
}

fn not_found(lang: Language, brand: Option<&Brand>) -> Response {
    (StatusCode::NOT_FOUND, Html(tracking::render_not_found(lang, brand, SEARCH_PATH))).into_response()
}

async fn search<S: TrackingSource>(
    State(shared): State<Arc<Shared<S>>>,
    Client(ip): Client,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let query = query.map(|q| q.0).unwrap_or_default();
    let lang = choose_language(&query, &headers);
    if let Err(wait) = check(&shared.lookups, &ip) {
        return rate_limited(lang, wait);
    }
    match param(&query, "number").map(str::trim).filter(|n| valid_segment(n)) {
        Some(number) => {
            let lang_suffix = param(&query, "lang").map(|_| format!("?lang={}", lang.as_str())).unwrap_or_default();
            Redirect::to(&format!("{SEARCH_PATH}/{number}{lang_suffix}")).into_response()
        }
        None => not_found(lang, None),
    }
}

/// What a page request asks for, before any check.
struct PageRequest {
    ip: IpAddr,
    /// What the visitor asked for; a store's page falls back to the store's language.
    asked: Option<Language>,
    /// `asked`, else English: for answers that belong to no store.
    lang: Language,
    path: String,
    params: Pairs,
}

impl PageRequest {
    fn new(
        ip: IpAddr,
        uri: &OriginalUri,
        headers: &HeaderMap,
        path: Result<Path<Pairs>, PathRejection>,
        query: Result<Query<Pairs>, QueryRejection>,
    ) -> Self {
        let query = query.map(|q| q.0).unwrap_or_default();
        let asked = asked_language(&query, headers);
        PageRequest {
            ip,
            asked,
            lang: asked.unwrap_or_default(),
            path: uri.path().to_owned(),
            params: path.map(|p| p.0).unwrap_or_default(),
        }
    }

    /// The tenant (when the URL names one) and the number, when both are well-formed.
    fn target(&self) -> Option<(Option<String>, String)> {
        let number = param(&self.params, "number").filter(|n| valid_segment(n))?;
        let tenant = match param(&self.params, "tenant") {
            Some(t) if valid_segment(t) => Some(t.to_owned()),
            Some(_) => return None,
            None => None,
        };
        Some((tenant, number.to_owned()))
    }
}

async fn page_get<S: TrackingSource>(
    State(shared): State<Arc<Shared<S>>>,
    Client(ip): Client,
    uri: OriginalUri,
    headers: HeaderMap,
    path: Result<Path<Pairs>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let request = PageRequest::new(ip, &uri, &headers, path, query);
    if let Err(wait) = check(&shared.lookups, &request.ip) {
        return rate_limited(request.lang, wait);
    }
    let Some((tenant, number)) = request.target() else {
        return not_found(request.lang, None);
    };
    show(&shared, &request, tenant, number, None).await
}

async fn page_post<S: TrackingSource>(
    State(shared): State<Arc<Shared<S>>>,
    Client(ip): Client,
    uri: OriginalUri,
    headers: HeaderMap,
    path: Result<Path<Pairs>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let request = PageRequest::new(ip, &uri, &headers, path, query);
    if let Err(wait) = check(&shared.lookups, &request.ip) {
        return rate_limited(request.lang, wait);
    }
    let Some((tenant, number)) = request.target() else {
        return not_found(request.lang, None);
    };
    if let Err(wait) = check(&shared.proofs, &(request.ip, tenant.clone(), number.clone())) {
        return rate_limited(request.lang, wait);
    }
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => {
            return (rejection.status(), Html(tracking::render_bad_form(request.lang))).into_response();
        }
    };
    let proof = param(&form, "proof").map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
    show(&shared, &request, tenant, number, proof).await
}

async fn show<S: TrackingSource>(
    shared: &Shared<S>,
    request: &PageRequest,
    tenant: Option<String>,
    number: String,
    proof: Option<String>,
) -> Response {
    match shared.source.lookup(tenant.as_deref(), &number, proof.as_deref(), request.lang).await {
        Lookup::Found(mut page) => {
            page.lang = request.asked.unwrap_or(page.brand.default_language);
            page.form_action = format!("{}?lang={}", request.path, page.lang.as_str());
            // Without a proof there is nothing that could have unlocked the details.
            if proof.is_none() {
                page.personal = None;
                page.proof_failed = false;
                page.ndr_url = None;
            }
            Html(tracking::render_tracking(&page)).into_response()
        }
        Lookup::NotFound { brand } => {
            let lang = request.asked.or(brand.as_ref().map(|b| b.default_language)).unwrap_or_default();
            not_found(lang, brand.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use chrono::{NaiveDate, TimeZone};
    use tower::ServiceExt;
    use waybill_core::TrackingStatus;

    use super::*;

    /// Tenant, number, proof and language of one lookup.
    type Call = (Option<String>, String, Option<String>, Language);

    /// `WB123` belongs to tenant `acme` (proof `75011`), `WB999` to `globex`.
    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<Mutex<Vec<Call>>>,
        /// Misbehaves by filling personal details even without a proof.
        leaky: bool,
    }

    pub(crate) fn brand(name: &str) -> Brand {
        Brand {
            store_name: name.into(),
            logo_src: None,
            primary_color: "#222222".into(),
            accent_color: "#0055aa".into(),
            support_email: None,
            links: vec![],
            // globex writes to its customers in Turkish.
            default_language: if name == "globex" { Language::Tr } else { Language::En },
        }
    }

    impl TrackingSource for Fake {
        fn lookup(
            &self,
            tenant: Option<&str>,
            tracking_number: &str,
            proof: Option<&str>,
            lang: Language,
        ) -> impl Future<Output = Lookup> + Send {
            self.calls.lock().unwrap().push((
                tenant.map(str::to_owned),
                tracking_number.to_owned(),
                proof.map(str::to_owned),
                lang,
            ));
            let owner = match tracking_number {
                "WB123" => Some("acme"),
                "WB999" => Some("globex"),
                _ => None,
            };
            let answer = match owner {
                Some(owner) if tenant.is_none_or(|t| t == owner) => {
                    let unlocked = proof == Some("75011") || self.leaky;
                    Lookup::Found(TrackingPage {
                        lang: Language::En,
                        brand: brand(owner),
                        tracking_number: tracking_number.into(),
                        carrier_name: "Sandbox".into(),
                        carrier_tracking_url: None,
                        status: TrackingStatus::InTransit,
                        edd: NaiveDate::from_ymd_opt(2026, 12, 7),
                        events: vec![PageEvent {
                            at: chrono::FixedOffset::east_opt(3600)
                                .unwrap()
                                .with_ymd_and_hms(2026, 12, 6, 14, 5, 0)
                                .unwrap(),
                            status: TrackingStatus::InTransit,
                            description: None,
                            city: Some("Lyon".into()),
                        }],
                        ndr_reason: None,
                        personal: unlocked.then(|| PersonalDetails {
                            name: "Jane Recipient".into(),
                            address_lines: vec!["12 Rue des Lilas".into()],
                            items: vec![("Blue mug".into(), 1)],
                        }),
                        proof_failed: proof.is_some() && !unlocked,
                        form_action: String::new(),
                        // Given whatever the proof: the router and the page decide whether it shows.
                        ndr_url: Some(NDR_URL.into()),
                        cancel_url: None,
                        information_url: None,
                    })
                }
                _ => Lookup::NotFound { brand: tenant.map(brand) },
            };
            async move { answer }
        }
    }

    const NDR_URL: &str = "/n/GOODxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

    fn app(source: Fake) -> Router {
        router(source, RateLimits::default())
    }

    pub(crate) fn get(uri: &str) -> Request<Body> {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    pub(crate) fn post(uri: &str, body: &str) -> Request<Body> {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    pub(crate) fn from_ip(mut request: Request<Body>, last: u8) -> Request<Body> {
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 0, 2, last], 40000))));
        request
    }

    pub(crate) async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, String::from_utf8(body.to_vec()).unwrap())
    }

    pub(crate) fn assert_page_headers(headers: &HeaderMap) {
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    }

    #[tokio::test]
    async fn a_page_shows_progress_but_no_personal_data() {
        let fake = Fake::default();
        let (status, headers, body) = send(&app(fake.clone()), get("/t/WB123")).await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        assert!(body.contains("On its way") && body.contains("Lyon"));
        assert!(!body.contains("Jane Recipient") && !body.contains("Rue des Lilas"));
        assert!(body.contains(r#"action="&#x2f;t&#x2f;WB123?lang=en""#));
        assert_eq!(fake.calls.lock().unwrap()[0], (None, "WB123".into(), None, Language::En));
    }

    #[tokio::test]
    async fn the_tenant_url_asks_within_the_tenant() {
        let fake = Fake::default();
        let (status, _, body) = send(&app(fake.clone()), get("/t/acme/WB123")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(r#"action="&#x2f;t&#x2f;acme&#x2f;WB123?lang=en""#));
        assert_eq!(fake.calls.lock().unwrap()[0].0.as_deref(), Some("acme"));
    }

    #[tokio::test]
    async fn the_right_proof_unlocks_the_details_and_a_wrong_one_says_so() {
        let app = app(Fake::default());
        let (status, headers, body) = send(&app, post("/t/acme/WB123?lang=fr", "proof=+75011+")).await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        assert!(body.contains("Jane Recipient") && body.contains("12 Rue des Lilas") && body.contains("1 × Blue mug"));
        assert!(body.contains(r#"<html lang="fr">"#));

        let (status, _, body) = send(&app, post("/t/acme/WB123", "proof=12345")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!body.contains("Jane Recipient"));
        assert!(body.contains(r#"id="proof-error""#) && body.contains(r#"aria-invalid="true""#));
    }

    #[tokio::test]
    async fn details_never_show_without_a_proof_even_if_the_source_fills_them() {
        let app = app(Fake { leaky: true, ..Fake::default() });
        for request in [get("/t/WB123"), post("/t/WB123", "proof="), post("/t/WB123", "other=1")] {
            let (status, _, body) = send(&app, request).await;
            assert_eq!(status, StatusCode::OK);
            assert!(!body.contains("Jane Recipient") && !body.contains("proof-error"));
        }
    }

    #[tokio::test]
    async fn only_the_recipient_is_offered_the_choice_after_a_failed_delivery() {
        let link = r#"<a href="&#x2f;n&#x2f;GOODxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx?lang=fr">"#;
        let honest = app(Fake::default());
        let (_, _, body) = send(&honest, post("/t/acme/WB123?lang=fr", "proof=75011")).await;
        assert!(body.contains(link) && body.contains("Votre livraison a échoué — choisissez la suite à donner"));
        let leaky = app(Fake { leaky: true, ..Fake::default() });
        let wrong_proof = (&honest, post("/t/WB123?lang=fr", "proof=1"));
        for (app, request) in
            [(&leaky, get("/t/WB123?lang=fr")), (&leaky, post("/t/WB123?lang=fr", "proof=")), wrong_proof]
        {
            let (status, _, body) = send(app, request).await;
            assert_eq!(status, StatusCode::OK);
            assert!(!body.contains("&#x2f;n&#x2f;") && !body.contains("choisissez la suite"), "{body}");
        }
    }

    #[tokio::test]
    async fn unknown_and_foreign_numbers_look_the_same() {
        let app = app(Fake::default());
        let pairs = [
            (get("/t/acme/WB999"), get("/t/acme/NOSUCH")),
            (post("/t/acme/WB999", "proof=75011"), post("/t/acme/NOSUCH", "proof=75011")),
            (get("/t/WB404"), get("/t/bad.number")),
        ];
        for (foreign, unknown) in pairs {
            let foreign = send(&app, foreign).await;
            let unknown = send(&app, unknown).await;
            assert_eq!(foreign.0, StatusCode::NOT_FOUND);
            assert_page_headers(&foreign.1);
            assert_eq!(foreign, unknown);
        }
        let (_, _, body) = send(&app, get("/t/acme/WB999")).await;
        assert!(!body.contains("WB999") && body.contains("We could not find this tracking number"));
    }

    #[tokio::test]
    async fn malformed_numbers_never_reach_the_source() {
        let fake = Fake::default();
        let app = app(fake.clone());
        let long = "A".repeat(65);
        for uri in
            ["/t/bad%20number", "/t/a.b", "/t/%C3%A9", &format!("/t/{long}"), "/t/ac%2Fme/WB123", "/t/a%00/WB123"]
        {
            let (status, headers, body) = send(&app, get(uri)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert_page_headers(&headers);
            assert!(body.contains("We could not find"));
        }
        assert!(fake.calls.lock().unwrap().is_empty());
        let (status, _, _) = send(&app, get(&format!("/t/{}", "A".repeat(64)))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(fake.calls.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_query_language_wins_then_the_browser_language() {
        let fake = Fake::default();
        let app = app(fake.clone());
        let korean_browser = |uri: &str| {
            Request::get(uri).header(header::ACCEPT_LANGUAGE, "ko-KR,ko;q=0.9,en;q=0.5").body(Body::empty()).unwrap()
        };
        let (_, _, body) = send(&app, korean_browser("/t/WB123?lang=tr")).await;
        assert!(body.contains(r#"<html lang="tr">"#) && body.contains("Yolda"));
        let (_, _, body) = send(&app, korean_browser("/t/WB123")).await;
        assert!(body.contains(r#"<html lang="ko">"#) && body.contains("배송 중"));
        let (_, _, body) = send(&app, get("/t/WB123?lang=xx")).await;
        assert!(body.contains(r#"<html lang="en">"#));
        let langs: Vec<Language> = fake.calls.lock().unwrap().iter().map(|c| c.3).collect();
        assert_eq!(langs, [Language::Tr, Language::Ko, Language::En]);
        // Asked for nothing Waybill speaks: the store's own language.
        let (_, _, body) = send(&app, get("/t/WB999?lang=xx")).await;
        assert!(body.contains(r#"<html lang="tr">"#) && body.contains("Yolda"), "{body}");
        let (_, _, body) = send(&app, korean_browser("/t/WB999")).await;
        assert!(body.contains(r#"<html lang="ko">"#), "the visitor's language still wins");
    }

    #[tokio::test]
    async fn the_search_box_redirects_to_the_page() {
        let app = app(Fake::default());
        let (status, headers, _) = send(&app, get("/t?number=+WB123+")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/t/WB123");
        let (_, headers, _) = send(&app, get("/t?lang=ko&number=WB123")).await;
        assert_eq!(headers[header::LOCATION], "/t/WB123?lang=ko");
        for uri in ["/t?number=", "/t", "/t?number=a%2Fb", "/t?number=%3Cscript%3E"] {
            let (status, headers, body) = send(&app, get(uri)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert_page_headers(&headers);
            assert!(!body.contains("<script>"));
        }
    }

    #[tokio::test]
    async fn too_many_lookups_from_one_client_are_refused() {
        let hour = Duration::from_secs(3600);
        let limits = RateLimits { lookups: Limit { burst: 2, replenish_every: hour }, ..RateLimits::default() };
        let app = router(Fake::default(), limits);
        for _ in 0..2 {
            assert_eq!(send(&app, from_ip(get("/t/WB123"), 1)).await.0, StatusCode::OK);
        }
        let (status, headers, body) = send(&app, from_ip(get("/t/WB123?lang=fr"), 1)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_page_headers(&headers);
        let retry: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((3500..=3600).contains(&retry), "{retry}");
        assert!(body.contains("Trop de demandes"));
        assert_eq!(send(&app, from_ip(get("/t?number=WB123"), 1)).await.0, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(send(&app, from_ip(get("/t/WB123"), 2)).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn proof_attempts_are_limited_per_client_and_number() {
        let hour = Duration::from_secs(3600);
        let limits = RateLimits { proofs: Limit { burst: 2, replenish_every: hour }, ..RateLimits::default() };
        let fake = Fake::default();
        let app = router(fake.clone(), limits);
        for _ in 0..2 {
            assert_eq!(send(&app, from_ip(post("/t/WB123", "proof=1"), 1)).await.0, StatusCode::OK);
        }
        let (status, headers, _) = send(&app, from_ip(post("/t/WB123", "proof=75011"), 1)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(headers.contains_key(header::RETRY_AFTER));
        assert_eq!(fake.calls.lock().unwrap().len(), 2);
        assert_eq!(send(&app, from_ip(post("/t/WB999", "proof=1"), 1)).await.0, StatusCode::OK);
        assert_eq!(send(&app, from_ip(post("/t/WB123", "proof=1"), 2)).await.0, StatusCode::OK);
        assert_eq!(send(&app, from_ip(get("/t/WB123"), 1)).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn ipv6_clients_share_their_slash_64() {
        let hour = Duration::from_secs(3600);
        let limits = RateLimits { lookups: Limit { burst: 1, replenish_every: hour }, ..RateLimits::default() };
        let app = router(Fake::default(), limits);
        let from = |addr: &str| {
            let mut request = get("/t/WB123");
            request.extensions_mut().insert(ConnectInfo(SocketAddr::new(addr.parse().unwrap(), 1)));
            request
        };
        assert_eq!(send(&app, from("2001:db8:1:2::1")).await.0, StatusCode::OK);
        assert_eq!(send(&app, from("2001:db8:1:2::ffff")).await.0, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(send(&app, from("2001:db8:1:3::1")).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn an_oversized_or_foreign_form_is_refused_with_a_page() {
        let fake = Fake::default();
        let app = app(fake.clone());
        let big = format!("proof={}", "1".repeat(2048));
        let (status, headers, body) = send(&app, post("/t/WB123", &big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_page_headers(&headers);
        assert!(body.contains("The form could not be read"));
        let json =
            Request::post("/t/WB123").header(header::CONTENT_TYPE, "application/json").body(Body::from("{}")).unwrap();
        let (status, headers, _) = send(&app, json).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_page_headers(&headers);
        assert!(fake.calls.lock().unwrap().is_empty());
    }

    /// `GOOD…` tokens name `a•••@example.com` at acme; `DOWN…` cannot be recorded now.
    #[derive(Clone, Default)]
    struct FakeOptOuts {
        confirmed: Arc<Mutex<Vec<String>>>,
    }

    impl FakeOptOuts {
        fn answer(token: &str) -> Unsubscribing {
            if token.starts_with("GOOD") {
                Unsubscribing::Found {
                    brand: brand("acme"),
                    channel: MessageChannel::Email,
                    recipient: "a•••@example.com".into(),
                }
            } else if token.starts_with("DOWN") {
                Unsubscribing::Unavailable
            } else {
                Unsubscribing::Unknown
            }
        }
    }

    impl UnsubscribeSource for FakeOptOuts {
        fn find(&self, token: &str) -> impl Future<Output = Unsubscribing> + Send {
            let answer = Self::answer(token);
            async move { answer }
        }

        fn confirm(&self, token: &str) -> impl Future<Output = Unsubscribing> + Send {
            self.confirmed.lock().unwrap().push(token.to_owned());
            let answer = Self::answer(token);
            async move { answer }
        }
    }

    #[tokio::test]
    async fn an_unsubscribe_link_asks_then_records_once_confirmed() {
        let source = FakeOptOuts::default();
        let app = unsubscribe_router(source.clone(), RateLimits::default().lookups);
        let good = format!("/u/GOOD{}", "x".repeat(40));
        let (status, headers, body) = send(&app, get(&format!("{good}?lang=fr"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        assert!(body.contains("Ne plus recevoir les e-mails de suivi de acme") && body.contains("a•••@example.com"));
        assert!(body.contains(r#"<form method="post""#), "{body}");
        assert!(source.confirmed.lock().unwrap().is_empty(), "looking records nothing");

        // A mail client's one-click POST (RFC 8058) and the page's button alike.
        let (status, _, body) = send(&app, post(&good, "List-Unsubscribe=One-Click")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("acme will send no more delivery emails to a•••@example.com") && !body.contains("<form"));
        assert_eq!(source.confirmed.lock().unwrap().len(), 1);

        let (status, _, body) = send(&app, post(&format!("/u/NOPE{}", "x".repeat(40)), "")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("This link does not work"));
        let (status, headers, _) = send(&app, post(&format!("/u/DOWN{}", "x".repeat(40)), "")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "never says done when it is not");
        assert_eq!(headers[header::RETRY_AFTER], "60");
        for malformed in ["/u/short", "/u/GOOD%3Cscript%3E0123456789012345678901234567890"] {
            let (status, _, _) = send(&app, post(malformed, "")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{malformed}");
        }
        assert_eq!(source.confirmed.lock().unwrap().len(), 3, "malformed tokens never reach the source");
    }
}
