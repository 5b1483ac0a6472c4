//! Request extractors: the caller's tenant from its API key, and JSON bodies whose errors
//! point at the offending field.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use waybill_core::FieldError;
use waybill_store::Principal;

use crate::AppState;
use crate::error::ApiError;

/// Keys seen recently, so a busy client does not cost a database read per request.
#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, (Principal, Instant)>>,
}

const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

impl KeyCache {
    fn get(&self, key: &str) -> Option<Principal> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(p, _)| p.clone())
    }

    fn put(&self, key: &str, principal: Principal) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
        }
        entries.insert(key.to_owned(), (principal, Instant::now()));
    }
}

/// The tenant (and mode) the request's `Authorization: Bearer wb_…` key belongs to.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |detail: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("send your API key as `Authorization: Bearer wb_…`"))?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| k.starts_with("wb_test_") || k.starts_with("wb_live_"))
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer wb_test_…` or `Bearer wb_live_…`"))?;
        if let Some(p) = state.keys.get(key) {
            return Ok(Auth(p));
        }
        let principal =
            state.engine.store().authenticate(key).await?.ok_or_else(|| unauthorized("this API key is not valid"))?;
        state.keys.put(key, principal.clone());
        Ok(Auth(principal))
    }
}

/// A JSON body. Malformed JSON, a wrong type or a missing field answers 422 with the
/// pointer of the field at fault.
pub struct ApiJson<T>(pub T, pub Bytes);

/// `/a/0/b` from serde's path to an error.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .fold(String::new(), |acc, s| format!("{acc}/{s}"))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut at = pointer(e.path());
        let inner = e.inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid(vec![FieldError::new("", format!("the body is not valid JSON: {message}"))]);
        }
        // serde reports a missing field at its parent; point at the field itself.
        if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
            at = format!("{at}/{field}");
        }
        let detail = message.split(" at line ").next().unwrap_or(&message).to_owned();
        ApiError::invalid(vec![FieldError::new(at, detail)])
    })
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json =
            req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_unreadable", e.body_text()))?;
        Ok(ApiJson(parse_json(&bytes)?, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only the shape matters here; the fields are never read.
    #[derive(serde::Deserialize, Debug)]
    struct Outer {
        #[serde(rename = "items")]
        _items: Vec<Inner>,
    }
    #[derive(serde::Deserialize, Debug)]
    struct Inner {
        #[serde(rename = "sku")]
        _sku: String,
        #[serde(rename = "quantity")]
        _quantity: u32,
    }

    fn pointers(body: &str) -> Vec<String> {
        let e = parse_json::<Outer>(body.as_bytes()).unwrap_err();
        serde_json::from_str::<serde_json::Value>(&e.body()).unwrap()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["pointer"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn errors_point_at_the_field() {
        assert_eq!(
            pointers(r#"{"items":[{"sku":"a","quantity":1},{"sku":"b","quantity":-1}]}"#),
            vec!["/items/1/quantity"]
        );
        assert_eq!(pointers(r#"{"items":[{"sku":"a"}]}"#), vec!["/items/0/quantity"]);
        assert_eq!(pointers(r#"{"items": [}"#), vec![""]);
    }
}
