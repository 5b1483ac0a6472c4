//! The API's routes, one module per resource. Handlers only speak HTTP: they take the scope
//! and the parsed request, call the engine, and shape the answer.

pub mod branding;
pub mod carriers;
pub mod channels;
pub mod generic;
pub mod hooks;
pub mod information;
pub mod inventory;
pub mod locations;
pub mod manifests;
pub mod ndr;
pub mod notifications;
pub mod operations;
pub mod ops;
pub mod orders;
pub mod shipments;
pub mod webhooks;

use serde::Deserialize;
use utoipa::IntoParams;
use waybill_core::FieldError;

use crate::error::ApiError;

/// The query of a route that takes no parameters: any parameter is refused by name.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoQuery {}

/// Key-set paging: `?limit=` (1–100, default 20) and `?after=` (the last id of the previous page).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many to list, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page: an id of the kind listed (empty: the first page).
    #[param(max_length = 40)]
    pub after: Option<String>,
}

impl ListQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(n @ 1..=100) => Ok(n),
            Some(_) => Err(ApiError::invalid(vec![FieldError::new("/query/limit", "limit must be between 1 and 100")])),
        }
    }

    /// The cursor, which must be an id of the kind listed (`parse` is that id's parser).
    pub fn after<I>(&self, parse: fn(&str) -> Option<I>, kind: &str) -> Result<Option<I>, ApiError> {
        match self.after.as_deref().filter(|a| !a.is_empty()) {
            None => Ok(None),
            Some(a) => parse(a).map(Some).ok_or_else(|| {
                ApiError::invalid(vec![FieldError::new(
                    "/query/after",
                    format!("`{a}` is not a {kind} id; pass the `next_after` of the previous page"),
                )])
            }),
        }
    }
}

/// The value of query parameter `param` that names one of a closed set (`all`, named by
/// `name`); a 422 at `/query/{param}` that lists them otherwise.
pub fn named_param<T: Copy>(
    raw: &str,
    param: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, ApiError> {
    parse(raw).ok_or_else(|| {
        let shown: String = raw.chars().take(40).map(|c| if c.is_control() { '?' } else { c }).collect();
        let known: Vec<_> = all.iter().map(|v| name(*v)).collect();
        ApiError::invalid(vec![FieldError::new(
            format!("/query/{param}"),
            format!("`{shown}` is not a {param}; one of: {}", known.join(", ")),
        )])
    })
}

/// A 404 for a path id that is not one of ours, echoing at most a short, printable form of it.
pub fn unknown_id(kind: &str, raw: &str) -> ApiError {
    let shown: String = raw.chars().take(40).map(|c| if c.is_control() { '?' } else { c }).collect();
    ApiError::not_found(format!("{kind} {shown}"))
}

/// Refuses a body that is not sent as `Content-Type: text/csv` (415).
pub fn require_csv(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv")));
    if csv {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as `Content-Type: text/csv`",
        ))
    }
}
