//! The customer's cancellation page (`/c/…`): the order, and while nothing has left and the
//! store allows it, one form to cancel it with an optional reason. Opening the page never
//! cancels anything (link previews and mail scanners open links); only its form does.
//!
//! A [`CancelSource`] reads the order and records the cancellation; the page only reads the form.

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

use crate::link::{Visit, admit};
use crate::tracking::{self, Brand, text};
use crate::{Client, Limit, Pairs, page_headers, param};

/// Where the page's order comes from, and where the cancellation goes (the server implements it
/// over the engine).
pub trait CancelSource: Clone + Send + Sync + 'static {
    /// The order behind a link token as its customer sees it.
    fn find(&self, token: &str) -> impl Future<Output = CancelLookup> + Send;
    /// Cancels it; the page after it (or the refusal).
    fn cancel(&self, token: &str, reason: Option<String>) -> impl Future<Output = CancelLookup> + Send;
}

/// The answer of a [`CancelSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelLookup {
    Found(CancelPage),
    /// The reason was refused (too long, or characters no address takes): the page again.
    ReasonRefused(CancelPage),
    /// Not a link this deployment made: 404 page.
    Unknown,
    /// Cannot be read or recorded now: 503 with Retry-After 60.
    Unavailable,
}

/// Where the order stands for its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelStanding {
    /// Nothing has left: the form is shown.
    Cancellable,
    Cancelled,
    /// A parcel has left, or the order is finished.
    TooLate,
    /// The store does not let customers cancel.
    NotOffered,
}

/// Everything the cancellation page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelPage {
    /// Set by the router: the visitor's language, else the order's or the store's.
    pub lang: Language,
    /// Set by the router: where the form posts to.
    pub form_action: String,
    pub brand: Brand,
    /// The order's language, when it has one.
    pub order_language: Option<Language>,
    pub order_number: String,
    /// Each line's name and quantity.
    pub items: Vec<(String, u32)>,
    pub standing: CancelStanding,
}

/// Routes `GET /c/{token}` (the page) and `POST /c/{token}` (its form). Each client may ask
/// `limit` often. Mount it at the root.
pub fn cancel_router<C: CancelSource>(source: C, limit: Limit) -> Router {
    let shared = Arc::new(Shared { source, asks: RateLimiter::keyed(limit.quota()) });
    Router::new()
        .route("/c/{token}", get(page_get::<C>).post(page_post::<C>))
        // A 200-character reason in Hangul, percent-encoded (up to 9 bytes a character).
        .layer(DefaultBodyLimit::max(4 * 1024))
        .layer(axum::middleware::map_response(page_headers))
        .with_state(shared)
}

struct Shared<C> {
    source: C,
    asks: DefaultKeyedRateLimiter<IpAddr>,
}

async fn page_get<C: CancelSource>(
    State(shared): State<Arc<Shared<C>>>,
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

async fn page_post<C: CancelSource>(
    State(shared): State<Arc<Shared<C>>>,
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
    let reason = match form {
        Ok(Form(form)) => param(&form, "reason").map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned),
        Err(rejection) => {
            return (rejection.status(), Html(tracking::render_bad_form(visit.lang()))).into_response();
        }
    };
    let answer = shared.source.cancel(&token, reason.clone()).await;
    respond(&visit, answer, reason.as_deref())
}

/// The response for `lookup`; `typed` is the reason sent, refilled when it was refused.
fn respond(visit: &Visit, lookup: CancelLookup, typed: Option<&str>) -> Response {
    let (mut page, refused) = match lookup {
        CancelLookup::Found(page) => (page, false),
        CancelLookup::ReasonRefused(page) => (page, true),
        CancelLookup::Unknown => return visit.unknown(),
        CancelLookup::Unavailable => return visit.unavailable(),
    };
    (page.lang, page.form_action) = visit.settle(page.order_language.unwrap_or(page.brand.default_language));
    if refused {
        (StatusCode::UNPROCESSABLE_ENTITY, Html(render_cancel(&page, typed))).into_response()
    } else {
        Html(render_cancel(&page, None)).into_response()
    }
}

/// The page; with `refused_reason`, the form again with that reason and why it was refused.
fn render_cancel(page: &CancelPage, refused_reason: Option<&str>) -> String {
    let lang = page.lang;
    let (heading, body, tone) = match page.standing {
        CancelStanding::Cancellable => ("cancel-open-heading", "cancel-open-body", ""),
        CancelStanding::Cancelled => ("cancel-done-heading", "cancel-done-body", "delivered"),
        CancelStanding::TooLate => ("cancel-too-late-heading", "cancel-too-late-body", "problem"),
        CancelStanding::NotOffered => ("cancel-not-offered-heading", "cancel-not-offered-body", ""),
    };
    let items: Vec<_> =
        page.items.iter().map(|(name, quantity)| context! { name => name, quantity => quantity }).collect();
    let error = refused_reason.map(|_| text(lang, "cancel-error-reason"));
    let page_ctx = context! {
        heading => text(lang, heading),
        body => text(lang, body),
        tone => tone,
        number => &page.order_number,
        items => items,
        cancellable => page.standing == CancelStanding::Cancellable,
        form_action => &page.form_action,
        error => error,
        typed => refused_reason.unwrap_or_default(),
    };
    tracking::render("cancel.html", lang, Some(&page.brand), page_ctx)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::http::header;

    use super::*;
    use crate::tests::{assert_page_headers, brand, get, post, send};

    /// `GOOD…` tokens name the one order in `page`, `DOWN…` cannot be read now, others are
    /// unknown. A reason of more than 200 characters is refused, as the engine does.
    #[derive(Clone)]
    struct FakeOrders {
        page: Arc<Mutex<CancelPage>>,
        cancels: Arc<Mutex<Vec<Option<String>>>>,
    }

    impl FakeOrders {
        fn new(standing: CancelStanding) -> Self {
            let page = CancelPage {
                lang: Language::En,
                form_action: String::new(),
                brand: brand("Anadolu Çay"),
                order_language: Some(Language::Tr),
                order_number: "#1042".into(),
                items: vec![("Rize çayı 1 kg".into(), 2), ("<b>Demlik</b>".into(), 1)],
                standing,
            };
            FakeOrders { page: Arc::new(Mutex::new(page)), cancels: Arc::default() }
        }

        fn lookup(&self, token: &str) -> CancelLookup {
            if token.starts_with("GOOD") {
                CancelLookup::Found(self.page.lock().unwrap().clone())
            } else if token.starts_with("DOWN") {
                CancelLookup::Unavailable
            } else {
                CancelLookup::Unknown
            }
        }
    }

    impl CancelSource for FakeOrders {
        fn find(&self, token: &str) -> impl Future<Output = CancelLookup> + Send {
            let answer = self.lookup(token);
            async move { answer }
        }

        fn cancel(&self, token: &str, reason: Option<String>) -> impl Future<Output = CancelLookup> + Send {
            let answer = match self.lookup(token) {
                CancelLookup::Found(page) if reason.as_ref().is_some_and(|r| r.chars().count() > 200) => {
                    CancelLookup::ReasonRefused(page)
                }
                CancelLookup::Found(_) => {
                    self.cancels.lock().unwrap().push(reason);
                    let mut page = self.page.lock().unwrap();
                    if page.standing == CancelStanding::Cancellable {
                        page.standing = CancelStanding::Cancelled;
                    }
                    CancelLookup::Found(page.clone())
                }
                other => other,
            };
            async move { answer }
        }
    }

    /// A well-formed link whose token starts with `kind`.
    fn link(kind: &str) -> String {
        format!("/c/{kind}{}", "x".repeat(40))
    }

    fn app(source: FakeOrders) -> Router {
        cancel_router(source, crate::RateLimits::default().lookups)
    }

    #[tokio::test]
    async fn opening_the_link_shows_the_order_in_its_language_and_cancels_nothing() {
        let source = FakeOrders::new(CancelStanding::Cancellable);
        let (status, headers, body) = send(&app(source.clone()), get(&link("GOOD"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        assert!(body.contains("lang=\"tr\""), "the order's language");
        assert!(body.contains("#1042") && body.contains("Rize çayı 1 kg"));
        assert!(body.contains("&lt;b&gt;Demlik"), "item names are escaped");
        assert!(body.contains(&text(Language::Tr, "cancel-submit")));
        assert!(source.cancels.lock().unwrap().is_empty(), "a GET never cancels");
    }

    #[tokio::test]
    async fn the_form_cancels_once_and_the_page_then_says_so() {
        let source = FakeOrders::new(CancelStanding::Cancellable);
        let app = app(source.clone());
        let (status, _, body) =
            send(&app, post(&format!("{}?lang=en", link("GOOD")), "reason=Ordered+the+wrong+size")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&text(Language::En, "cancel-done-heading")));
        assert!(!body.contains("<form"), "nothing left to submit");
        assert_eq!(*source.cancels.lock().unwrap(), vec![Some("Ordered the wrong size".to_owned())]);
    }

    #[tokio::test]
    async fn a_refused_reason_comes_back_with_the_typed_text_and_a_message() {
        let source = FakeOrders::new(CancelStanding::Cancellable);
        let long = "x".repeat(201);
        let (status, _, body) =
            send(&app(source.clone()), post(&format!("{}?lang=fr", link("GOOD")), &format!("reason={long}"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(&text(Language::Fr, "cancel-error-reason")));
        assert!(body.contains(&long), "the reason is refilled");
        assert!(source.cancels.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_dispatched_or_closed_offer_shows_no_form() {
        for standing in [CancelStanding::TooLate, CancelStanding::NotOffered] {
            let (status, _, body) =
                send(&app(FakeOrders::new(standing)), get(&format!("{}?lang=ko", link("GOOD")))).await;
            assert_eq!(status, StatusCode::OK);
            assert!(!body.contains("<form"), "{standing:?}");
        }
    }

    #[tokio::test]
    async fn unknown_and_malformed_links_look_alike_and_an_outage_says_try_later() {
        let app = app(FakeOrders::new(CancelStanding::Cancellable));
        for uri in [link("NOPE"), "/c/..%2F..".into(), "/c/%3Cscript%3E".into(), "/c/GOOD1".into()] {
            let (status, _, _) = send(&app, get(&uri)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        }
        let (status, headers, _) = send(&app, get(&link("DOWN"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "60");
    }
}
