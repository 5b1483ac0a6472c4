//! What every customer page behind a sealed link shares (`/n/…`, `/c/…`, `/i/…`): the
//! per-client budget, the token's shape, the visitor's language, and the answers for a link
//! that is not ours and for a source that cannot answer now.

use std::net::IpAddr;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{OriginalUri, Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use governor::DefaultKeyedRateLimiter;
use waybill_core::Language;

use crate::{Pairs, asked_language, check, rate_limited, tracking, valid_token};

/// What a request to a link page asks for, before any check.
pub(crate) struct Visit {
    /// The language the visitor asked for; the page falls back to the order's or the store's.
    asked: Option<Language>,
    path: String,
}

impl Visit {
    /// For answers that belong to no store.
    pub(crate) fn lang(&self) -> Language {
        self.asked.unwrap_or_default()
    }

    /// The page's language (the visitor's, else `fallback`) and where its forms post to.
    pub(crate) fn settle(&self, fallback: Language) -> (Language, String) {
        let lang = self.asked.unwrap_or(fallback);
        (lang, format!("{}?lang={}", self.path, lang.as_str()))
    }

    /// Not a link this deployment made: the same 404 page whatever is wrong with it.
    pub(crate) fn unknown(&self) -> Response {
        let page = tracking::render_message(self.lang(), "ndr-unknown-title", "ndr-unknown-body");
        (StatusCode::NOT_FOUND, Html(page)).into_response()
    }

    /// The source cannot read or record now: 503 with Retry-After 60.
    pub(crate) fn unavailable(&self) -> Response {
        let retry_after = [(header::RETRY_AFTER, "60")];
        let page = tracking::render_message(self.lang(), "ndr-unavailable-title", "ndr-unavailable-body");
        (StatusCode::SERVICE_UNAVAILABLE, retry_after, Html(page)).into_response()
    }
}

/// The visit and its token, when the client is within its budget and the token is
/// well-formed; else the answer to give (boxed: a response is large beside a token).
pub(crate) fn admit(
    asks: &DefaultKeyedRateLimiter<IpAddr>,
    ip: IpAddr,
    uri: &OriginalUri,
    headers: &HeaderMap,
    token: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<(Visit, String), Box<Response>> {
    let query = query.map(|q| q.0).unwrap_or_default();
    let visit = Visit { asked: asked_language(&query, headers), path: uri.path().to_owned() };
    if let Err(wait) = check(asks, &ip) {
        return Err(Box::new(rate_limited(visit.lang(), wait)));
    }
    match token.ok().map(|t| t.0).filter(|t| valid_token(t)) {
        Some(token) => Ok((visit, token)),
        None => Err(Box::new(visit.unknown())),
    }
}
