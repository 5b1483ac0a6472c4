//! The page behind an information request's link (`/i/…`): the carrier asks for one detail
//! of the delivery address, and the page asks the customer for exactly that, once.
//!
//! An [`InfoSource`] reads the request and sends the answer; the page only reads the form, so
//! the value is checked once, where the request is, as the API checks it.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use minijinja::context;
use waybill_core::Language;
use waybill_core::information::{InfoField, InfoState};

use crate::link::{Visit, admit};
use crate::tracking::{self, Brand, text};
use crate::{Client, Limit, Pairs, page_headers, param};

/// Where the page's request comes from, and where the answer goes (the server implements it
/// over the engine).
pub trait InfoSource: Clone + Send + Sync + 'static {
    /// The request behind a link token as its customer sees it.
    fn find(&self, token: &str) -> impl Future<Output = InfoLookup> + Send;
    /// Sends the customer's value; the page after it (or the refusal).
    fn answer(&self, token: &str, value: String) -> impl Future<Output = InfoLookup> + Send;
}

/// The answer of an [`InfoSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoLookup {
    Found(InfoPage),
    /// The value does not pass the field's checks: the page again, saying so.
    ValueRefused(InfoPage),
    /// Not a link this deployment made: 404 page.
    Unknown,
    /// Cannot be read or sent now: 503 with Retry-After 60.
    Unavailable,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoPage {
    /// Set by the router: the visitor's language, else the order's or the store's.
    pub lang: Language,
    /// Set by the router: where the form posts to.
    pub form_action: String,
    pub brand: Brand,
    pub order_language: Option<Language>,
    pub order_number: Option<String>,
    pub field: InfoField,
    pub state: InfoState,
}

/// Routes `GET /i/{token}` (the page) and `POST /i/{token}` (its form). Each client may ask
/// `limit` often. Mount it at the root.
pub fn info_router<I: InfoSource>(source: I, limit: Limit) -> Router {
    let shared = Arc::new(Shared { source, asks: RateLimiter::keyed(limit.quota()) });
    Router::new()
        .route("/i/{token}", get(page_get::<I>).post(page_post::<I>))
        // A 200-character street in Hangul, percent-encoded (up to 9 bytes a character).
        .layer(DefaultBodyLimit::max(4 * 1024))
        .layer(axum::middleware::map_response(page_headers))
        .with_state(shared)
}

struct Shared<I> {
    source: I,
    asks: DefaultKeyedRateLimiter<IpAddr>,
}

async fn page_get<I: InfoSource>(
    State(shared): State<Arc<Shared<I>>>,
    Client(ip): Client,
    uri: OriginalUri,
    headers: HeaderMap,
    token: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (visit, token) = match admit(&shared.asks, ip, &uri, &headers, token, query) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    respond(&visit, shared.source.find(&token).await, None)
}

async fn page_post<I: InfoSource>(
    State(shared): State<Arc<Shared<I>>>,
    Client(ip): Client,
    uri: OriginalUri,
    headers: HeaderMap,
    token: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (visit, token) = match admit(&shared.asks, ip, &uri, &headers, token, query) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let value = match form {
        Ok(Form(form)) => param(&form, "value").unwrap_or_default().trim().to_owned(),
        Err(rejection) => {
            return (rejection.status(), Html(tracking::render_bad_form(visit.lang()))).into_response();
        }
    };
    let answer = shared.source.answer(&token, value.clone()).await;
    respond(&visit, answer, Some(&value))
}

/// The response for `lookup`; `typed` is the value sent, refilled when it was refused.
fn respond(visit: &Visit, lookup: InfoLookup, typed: Option<&str>) -> Response {
    let (mut page, refused) = match lookup {
        InfoLookup::Found(page) => (page, false),
        InfoLookup::ValueRefused(page) => (page, true),
        InfoLookup::Unknown => return visit.unknown(),
        InfoLookup::Unavailable => return visit.unavailable(),
    };
    (page.lang, page.form_action) = visit.settle(page.order_language.unwrap_or(page.brand.default_language));
    if refused {
        (StatusCode::UNPROCESSABLE_ENTITY, Html(render_info(&page, typed))).into_response()
    } else {
        Html(render_info(&page, None)).into_response()
    }
}

/// How the field's input is filled in by a browser: its type and autocomplete token.
fn input_of(field: InfoField) -> (&'static str, &'static str) {
    match field {
        InfoField::PostalCode => ("text", "postal-code"),
        InfoField::Phone => ("tel", "tel"),
        InfoField::Street => ("text", "address-line1"),
        InfoField::City => ("text", "address-level2"),
        InfoField::Name => ("text", "name"),
    }
}

/// The page; with `refused_value`, the form again with that value and why it was refused.
fn render_info(page: &InfoPage, refused_value: Option<&str>) -> String {
    let lang = page.lang;
    let field = page.field.as_str();
    let (heading, body, tone) = match page.state {
        InfoState::Open => ("info-open-heading", "info-open-body", "problem"),
        InfoState::Resolved => ("info-done-heading", "info-done-body", "delivered"),
        InfoState::Withdrawn => ("info-closed-heading", "info-closed-body", ""),
    };
    let (input_type, autocomplete) = input_of(page.field);
    let page_ctx = context! {
        heading => text(lang, heading),
        body => text(lang, body),
        tone => tone,
        number => &page.order_number,
        open => page.state == InfoState::Open,
        label => text(lang, &format!("info-label-{field}")),
        input_type => input_type,
        autocomplete => autocomplete,
        form_action => &page.form_action,
        error => refused_value.map(|_| text(lang, &format!("info-error-{field}"))),
        typed => refused_value.unwrap_or_default(),
    };
    tracking::render("info.html", lang, Some(&page.brand), page_ctx)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::http::header;

    use super::*;
    use crate::tests::{assert_page_headers, brand, get, post, send};

    /// `GOOD…` tokens name the one request in `page`, `DOWN…` cannot be read now, others are
    /// unknown. A value with letters is refused, as the engine refuses it for a phone.
    #[derive(Clone)]
    struct FakeRequests {
        page: Arc<Mutex<InfoPage>>,
        answers: Arc<Mutex<Vec<String>>>,
    }

    impl FakeRequests {
        fn new(field: InfoField) -> Self {
            let page = InfoPage {
                lang: Language::En,
                form_action: String::new(),
                brand: brand("Anadolu Çay"),
                order_language: Some(Language::Tr),
                order_number: Some("#1042".into()),
                field,
                state: InfoState::Open,
            };
            FakeRequests { page: Arc::new(Mutex::new(page)), answers: Arc::default() }
        }

        fn lookup(&self, token: &str) -> InfoLookup {
            if token.starts_with("GOOD") {
                InfoLookup::Found(self.page.lock().unwrap().clone())
            } else if token.starts_with("DOWN") {
                InfoLookup::Unavailable
            } else {
                InfoLookup::Unknown
            }
        }
    }

    impl InfoSource for FakeRequests {
        fn find(&self, token: &str) -> impl Future<Output = InfoLookup> + Send {
            let answer = self.lookup(token);
            async move { answer }
        }

        fn answer(&self, token: &str, value: String) -> impl Future<Output = InfoLookup> + Send {
            let answer = match self.lookup(token) {
                InfoLookup::Found(page) if value.is_empty() || value.chars().any(char::is_alphabetic) => {
                    InfoLookup::ValueRefused(page)
                }
                InfoLookup::Found(_) => {
                    self.answers.lock().unwrap().push(value);
                    let mut page = self.page.lock().unwrap();
                    page.state = InfoState::Resolved;
                    InfoLookup::Found(page.clone())
                }
                other => other,
            };
            async move { answer }
        }
    }

    fn link(kind: &str) -> String {
        format!("/i/{kind}{}", "x".repeat(40))
    }

    fn app(source: FakeRequests) -> Router {
        info_router(source, crate::RateLimits::default().lookups)
    }

    #[tokio::test]
    async fn the_page_asks_only_for_the_field_in_the_orders_language() {
        let source = FakeRequests::new(InfoField::Phone);
        let (status, headers, body) = send(&app(source.clone()), get(&link("GOOD"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        assert!(body.contains("lang=\"tr\""), "the order's language");
        assert!(body.contains(r#"type="tel""#) && body.contains(r#"autocomplete="tel""#), "{body}");
        assert_eq!(body.matches("<input").count(), 1, "one field, nothing else: {body}");
        assert!(body.contains(&text(Language::Tr, "info-label-phone")));
        assert!(source.answers.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_refused_value_comes_back_with_a_message_and_a_good_one_thanks_the_customer() {
        let source = FakeRequests::new(InfoField::Phone);
        let app = app(source.clone());
        let url = format!("{}?lang=fr", link("GOOD"));
        let (status, _, body) = send(&app, post(&url, "value=%3Cb%3Ecall+me%3C%2Fb%3E")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Vérifiez le numéro : chiffres, espaces"), "{body}");
        assert!(body.contains("&lt;b&gt;call me"), "refilled, escaped: {body}");
        let (status, _, body) = send(&app, post(&url, "value=%2B90+532+111+22+33")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&text(Language::Fr, "info-done-heading")) && !body.contains("<form"));
        assert_eq!(*source.answers.lock().unwrap(), vec!["+90 532 111 22 33".to_owned()]);
    }

    #[tokio::test]
    async fn unknown_and_malformed_links_look_alike_and_an_outage_says_try_later() {
        let app = app(FakeRequests::new(InfoField::PostalCode));
        for uri in [link("NOPE"), "/i/..%2F..".into(), "/i/GOOD1".into()] {
            let (status, _, _) = send(&app, get(&uri)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        }
        let (status, headers, _) = send(&app, get(&link("DOWN"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "60");
    }
}
