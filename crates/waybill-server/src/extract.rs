//! Request extractors: the caller's scope from its API key, and strict JSON bodies and query
//! strings whose every problem is a 422 with a pointer.
//!
//! A body must be exactly one JSON value. Every string in it is checked before anything else
//! (no control characters; no longer than the field's `maxLength` in the OpenAPI document, or
//! 4096 characters for strings the document leaves open). Unknown fields are refused by name,
//! with the nearest known field where the unknown one looks like its typo. Query strings are
//! held to the same: unknown or repeated parameters, and values of the wrong type, are 422s at
//! `/query/<name>`.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::{IntoParams, ToSchema};
use waybill_core::text::{self, is_forbidden_char};
use waybill_core::{FieldError, Scope};

use crate::AppState;
use crate::error::ApiError;

/// Keys seen recently, so a busy client does not cost a database read per request.
#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, (Scope, Instant)>>,
}

const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

impl KeyCache {
    fn get(&self, key: &str) -> Option<Scope> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(p, _)| p.clone())
    }

    fn put(&self, key: &str, scope: Scope) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
        }
        entries.insert(key.to_owned(), (scope, Instant::now()));
    }
}

/// The tenant and mode the request's `Authorization: Bearer wb_…` key acts as.
pub struct Auth(pub Scope);

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
            .filter(|k| k.len() <= 100 && (k.starts_with("wb_test_") || k.starts_with("wb_live_")))
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer wb_test_…` or `Bearer wb_live_…`"))?;
        if let Some(scope) = state.keys.get(key) {
            return Ok(Auth(scope));
        }
        let scope = state
            .engine
            .store()
            .authenticate(key)
            .await
            .map_err(|e| ApiError::from(waybill_engine::EngineError::from(e)))?
            .ok_or_else(|| unauthorized("this API key is not valid"))?;
        state.keys.put(key, scope.clone());
        Ok(Auth(scope))
    }
}

/// A JSON pointer segment, escaped (RFC 6901).
fn segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The request schemas of `T` (itself and every schema it refers to), built once per type.
struct Schemas {
    root: RefOr<Schema>,
    named: HashMap<String, RefOr<Schema>>,
}

static SCHEMAS: LazyLock<RwLock<HashMap<TypeId, Arc<Schemas>>>> = LazyLock::new(RwLock::default);

fn schemas_of<T: ToSchema + 'static>() -> Arc<Schemas> {
    if let Some(s) = SCHEMAS.read().unwrap_or_else(|e| e.into_inner()).get(&TypeId::of::<T>()) {
        return s.clone();
    }
    let mut named = Vec::new();
    T::schemas(&mut named);
    let schemas = Arc::new(Schemas { root: T::schema(), named: named.into_iter().collect() });
    SCHEMAS.write().unwrap_or_else(|e| e.into_inner()).insert(TypeId::of::<T>(), schemas.clone());
    schemas
}

impl Schemas {
    fn resolve<'a>(&'a self, s: &'a RefOr<Schema>) -> Option<&'a Schema> {
        match s {
            RefOr::T(schema) => Some(schema),
            RefOr::Ref(r) => {
                let name = r.ref_location.rsplit('/').next()?;
                self.resolve(self.named.get(name)?)
            }
        }
    }

    /// The schemas a value may match: a schema, or each branch of a `oneOf`/`allOf`/`anyOf`.
    fn alternatives<'a>(&'a self, s: Option<&'a Schema>, out: &mut Vec<&'a Schema>) {
        match s {
            Some(Schema::OneOf(o)) => o.items.iter().for_each(|i| self.alternatives(self.resolve(i), out)),
            Some(Schema::AllOf(o)) => o.items.iter().for_each(|i| self.alternatives(self.resolve(i), out)),
            Some(Schema::AnyOf(o)) => o.items.iter().for_each(|i| self.alternatives(self.resolve(i), out)),
            Some(other) => out.push(other),
            None => {}
        }
    }

    /// The schema of a property of `parent` (an object), or of its items (an array).
    fn child<'a>(&'a self, parent: Option<&'a Schema>, key: Option<&str>) -> Option<&'a Schema> {
        let mut alts = Vec::new();
        self.alternatives(parent, &mut alts);
        alts.into_iter().find_map(|s| match (s, key) {
            (Schema::Object(o), Some(k)) => o.properties.get(k).and_then(|p| self.resolve(p)),
            (Schema::Array(a), None) => match &a.items {
                ArrayItems::RefOrSchema(items) => self.resolve(items),
                ArrayItems::False => None,
            },
            _ => None,
        })
    }

    /// The maximum length the document gives a string field.
    fn max_length(&self, s: Option<&Schema>) -> Option<usize> {
        let mut alts = Vec::new();
        self.alternatives(s, &mut alts);
        alts.into_iter().find_map(|s| match s {
            Schema::Object(o) => o.max_length,
            _ => None,
        })
    }

    /// Whether the string is multi-line text (`format: multiline`, e.g. a message template):
    /// line breaks and tabs are allowed in it, other control characters still are not.
    fn multiline(&self, s: Option<&Schema>) -> bool {
        let mut alts = Vec::new();
        self.alternatives(s, &mut alts);
        alts.into_iter().any(|s| match s {
            Schema::Object(o) => {
                matches!(&o.format, Some(utoipa::openapi::SchemaFormat::Custom(f)) if f == MULTILINE)
            }
            _ => false,
        })
    }

    /// Every property name an object at `path` may have.
    fn properties_at(&self, path: &[Option<String>]) -> Vec<String> {
        let mut at = self.resolve(&self.root);
        for key in path {
            at = self.child(at, key.as_deref());
        }
        let mut alts = Vec::new();
        self.alternatives(at, &mut alts);
        alts.into_iter()
            .flat_map(|s| match s {
                Schema::Object(o) => o.properties.keys().cloned().collect(),
                _ => vec![],
            })
            .collect()
    }
}

/// The OpenAPI `format` of strings that may span lines.
pub const MULTILINE: &str = "multiline";

/// Checks every string in `value` (no control characters, within its length) and collects a
/// problem per offending string.
fn check_strings(schemas: &Schemas, value: &Value, at: Option<&Schema>, pointer: &str, out: &mut Vec<FieldError>) {
    match value {
        Value::String(s) => {
            let max = schemas.max_length(at).unwrap_or(text::ANY.max);
            let count = s.chars().count();
            if count > max {
                out.push(FieldError::new(pointer, format!("must be at most {max} characters (this is {count})")));
            } else if let Some((i, c)) = s
                .chars()
                .enumerate()
                .find(|(_, c)| is_forbidden_char(*c) && !(matches!(c, '\n' | '\r' | '\t') && schemas.multiline(at)))
            {
                out.push(FieldError::new(
                    pointer,
                    format!("must not contain control characters (U+{:04X} at character {i})", c as u32),
                ));
            }
        }
        Value::Array(items) => {
            let item_schema = schemas.child(at, None);
            for (i, item) in items.iter().enumerate() {
                check_strings(schemas, item, item_schema, &format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (key, v) in map {
                let key_pointer = format!("{pointer}/{}", segment(key));
                if key.chars().count() > 100 || key.chars().any(is_forbidden_char) {
                    out.push(FieldError::new(key_pointer, "this field name is not one the API knows"));
                    continue;
                }
                check_strings(schemas, v, schemas.child(at, Some(key)), &key_pointer, out);
            }
        }
        _ => {}
    }
}

fn unknown_field(pointer: String, name: &str, known: &[String]) -> FieldError {
    match waybill_core::error::nearest(name, known.iter().map(String::as_str)) {
        Some(k) => FieldError::new(pointer, format!("unknown field `{name}`; did you mean `{k}`?")),
        None if known.is_empty() => FieldError::new(pointer, format!("unknown field `{name}`")),
        None => FieldError::new(pointer, format!("unknown field `{name}`; the fields here are: {}", known.join(", "))),
    }
}

/// `serde_ignored`'s path as JSON pointer keys (`None` for an array index).
fn ignored_keys(path: &serde_ignored::Path) -> (Vec<Option<String>>, String) {
    use serde_ignored::Path;
    fn walk(path: &Path, keys: &mut Vec<Option<String>>, pointer: &mut Vec<String>) {
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                walk(parent, keys, pointer);
                keys.push(None);
                pointer.push(index.to_string());
            }
            Path::Map { parent, key } => {
                walk(parent, keys, pointer);
                keys.push(Some(key.clone()));
                pointer.push(segment(key));
            }
            Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
                walk(parent, keys, pointer)
            }
        }
    }
    let (mut keys, mut pointer) = (Vec::new(), Vec::new());
    walk(path, &mut keys, &mut pointer);
    let pointer = pointer.iter().fold(String::new(), |acc, s| format!("{acc}/{s}"));
    (keys, pointer)
}

/// `/a/0/b` from serde's path to an error.
fn error_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(segment(key)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .fold(String::new(), |acc, s| format!("{acc}/{s}"))
}

/// A field error from a serde error at `at`.
fn type_error(mut at: String, message: &str) -> FieldError {
    // serde reports a missing field at its parent; point at the field itself.
    // So does a body of several shapes (a tagged enum) about a field it does not know.
    if let Some(field) = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|m| m.split('`').next())
    {
        at = format!("{at}/{}", segment(field));
    }
    FieldError::new(at, message.split(" at line ").next().unwrap_or(message))
}

/// Parses a request body strictly (see the module docs). Public so the fuzz targets and the
/// tests can feed it directly.
pub fn parse_json<T: DeserializeOwned + ToSchema + 'static>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid(vec![FieldError::new("", format!("the body is not one valid JSON value: {e}"))])
    })?;
    let schemas = schemas_of::<T>();
    let mut problems = Vec::new();
    check_strings(&schemas, &value, schemas.resolve(&schemas.root), "", &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let parsed = {
        let de = serde_path_to_error::Deserializer::new(&value, &mut track);
        serde_ignored::deserialize(de, |path| unknown.push(ignored_keys(&path)))
    };
    for (keys, pointer) in unknown {
        let (name, parent) = keys.split_last().map_or((None, &keys[..]), |(n, p)| (n.clone(), p));
        let name = name.unwrap_or_default();
        problems.push(unknown_field(pointer, &name, &schemas.properties_at(parent)));
    }
    match parsed {
        Ok(v) if problems.is_empty() => Ok(v),
        Ok(_) => Err(ApiError::invalid(problems)),
        Err(e) => {
            problems.push(type_error(error_pointer(&track.path()), &e.to_string()));
            Err(ApiError::invalid(problems))
        }
    }
}

/// A JSON body, parsed strictly; the raw bytes are kept for idempotency digests.
pub struct ApiJson<T>(pub T, pub Bytes);

impl<T: DeserializeOwned + ToSchema + 'static> FromRequest<AppState> for ApiJson<T> {
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
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => crate::error::too_large(),
            status => {
                ApiError::new(status, "body_unreadable", format!("the body could not be read: {}", e.body_text()))
            }
        })?;
        Ok(ApiJson(parse_json(&bytes)?, bytes))
    }
}

/// Parses a query string strictly (see the module docs). Public for the fuzz targets and tests.
pub fn parse_query<T: DeserializeOwned + IntoParams>(query: &str) -> Result<T, ApiError> {
    let mut problems = Vec::new();
    let params = T::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query));
    let known: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
    let max_length = |name: &str| {
        let schema = params.iter().find(|p| p.name == name)?.schema.as_ref()?;
        match schema {
            RefOr::T(Schema::Object(o)) => o.max_length,
            _ => None,
        }
    };
    let mut seen = BTreeMap::<String, usize>::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        *seen.entry(name.to_string()).or_default() += 1;
        let pointer = format!("/query/{}", segment(&name));
        if !known.iter().any(|k| *k == name) {
            problems.push(unknown_field(pointer, &name, &known));
        } else {
            let rule = text::Rule { max: max_length(&name).unwrap_or(text::ANY.max), ..text::ANY };
            problems.extend(rule.check(&pointer, &value));
        }
    }
    for (name, _) in seen.into_iter().filter(|(name, n)| *n > 1 && known.contains(name)) {
        problems.push(FieldError::new(format!("/query/{}", segment(&name)), "give this parameter once"));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = error_pointer(e.path());
        let message = e.inner().to_string();
        let name = at.trim_start_matches('/');
        let detail = match message.as_str() {
            m if m.starts_with("invalid digit") || m.contains("invalid type") || m.contains("number too large") => {
                format!("`{name}` must be a whole number")
            }
            m => m.split(" at line ").next().unwrap_or(m).to_owned(),
        };
        ApiError::invalid(vec![FieldError::new(format!("/query{at}"), detail)])
    })
}

/// A query string, parsed strictly.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + IntoParams, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(ApiQuery(parse_query(parts.uri.query().unwrap_or_default())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only the shape matters here; the fields are never read.
    #[derive(serde::Deserialize, utoipa::ToSchema, Debug)]
    struct Outer {
        #[serde(rename = "items")]
        _items: Vec<Inner>,
        #[serde(rename = "note", default)]
        #[schema(max_length = 5)]
        _note: Option<String>,
    }
    #[derive(serde::Deserialize, utoipa::ToSchema, Debug)]
    struct Inner {
        #[serde(rename = "sku")]
        _sku: String,
        #[serde(rename = "quantity")]
        _quantity: u32,
    }

    fn problems(body: &str) -> Vec<(String, String)> {
        let e = parse_json::<Outer>(body.as_bytes()).unwrap_err();
        serde_json::from_str::<serde_json::Value>(&e.body()).unwrap()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["pointer"].as_str().unwrap().to_owned(), x["detail"].as_str().unwrap().to_owned()))
            .collect()
    }

    fn pointers(body: &str) -> Vec<String> {
        problems(body).into_iter().map(|(p, _)| p).collect()
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

    #[test]
    fn the_body_is_one_json_value() {
        assert_eq!(pointers(r#"{"items":[]}}} not json"#), vec![""]);
        assert_eq!(pointers(r#"{"items":[]} {"items":[]}"#), vec![""]);
        assert!(parse_json::<Outer>(br#" {"items":[]} "#).is_ok(), "surrounding white space is fine");
    }

    #[test]
    fn unknown_fields_are_named_with_the_likely_typo() {
        let p = problems(r#"{"items":[{"sku":"a","quantty":1,"quantity":1}],"nte":"x","zzzzzz":1}"#);
        assert_eq!(p[0], ("/items/0/quantty".into(), "unknown field `quantty`; did you mean `quantity`?".into()));
        assert_eq!(p[1], ("/nte".into(), "unknown field `nte`; did you mean `note`?".into()));
        assert!(p[2].1.starts_with("unknown field `zzzzzz`; the fields here are:"), "{:?}", p[2]);
    }

    #[test]
    fn strings_are_checked_for_length_and_control_characters() {
        assert_eq!(
            problems(r#"{"items":[{"sku":"a\u0000b","quantity":1}],"note":"toolong"}"#),
            vec![
                ("/items/0/sku".into(), "must not contain control characters (U+0000 at character 1)".into()),
                ("/note".into(), "must be at most 5 characters (this is 7)".into()),
            ]
        );
        let huge = format!(r#"{{"items":[{{"sku":"{}","quantity":1}}]}}"#, "x".repeat(5000));
        assert_eq!(problems(&huge)[0].1, "must be at most 4096 characters (this is 5000)");
    }

    #[derive(serde::Deserialize, utoipa::IntoParams, Debug)]
    struct Q {
        #[serde(rename = "limit")]
        _limit: Option<u32>,
    }

    fn query_problems(q: &str) -> Vec<(String, String)> {
        let e = parse_query::<Q>(q).unwrap_err();
        serde_json::from_str::<serde_json::Value>(&e.body()).unwrap()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["pointer"].as_str().unwrap().to_owned(), x["detail"].as_str().unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn query_strings_are_strict() {
        assert!(parse_query::<Q>("limit=5").is_ok());
        for bad in ["limit=-1", "limit=1e9", "limit=abc", "limit=99999999999"] {
            assert_eq!(query_problems(bad)[0].0, "/query/limit", "{bad}");
        }
        assert_eq!(query_problems("limit=1&limit=2"), vec![("/query/limit".into(), "give this parameter once".into())]);
        assert_eq!(query_problems("limt=1")[0].1, "unknown field `limt`; did you mean `limit`?");
    }
}
