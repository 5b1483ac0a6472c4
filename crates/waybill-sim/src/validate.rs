//! Reading request bodies field by field, so that every 422 names the exact
//! path of the offending field (`consignee.postal_code`, `parcels[0].weight_g`).

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Parses a request body that must be a JSON object.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_json(format!("request body is not valid JSON: {e}")))?;
    if value.is_object() { Ok(value) } else { Err(ApiError::invalid_json("request body must be a JSON object")) }
}

/// A JSON object and its path inside the request body.
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    /// The object at `path` (empty for the body itself).
    pub fn at(value: &'a Value, path: impl Into<String>) -> Result<Self, ApiError> {
        let path = path.into();
        match value.as_object() {
            Some(map) => Ok(Self { map, path }),
            None => Err(ApiError::validation(path, "must be an object")),
        }
    }

    /// The path of one of this object's fields.
    pub fn path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    /// A field's value; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// An optional string; empty or blank counts as absent.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::validation(self.path(key), "must be a string")),
        }
    }

    /// A required, non-blank string.
    pub fn req_str(&self, key: &str) -> Result<&'a str, ApiError> {
        self.opt_str(key)?.ok_or_else(|| ApiError::validation(self.path(key), "is required"))
    }

    /// An optional non-negative integer.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| ApiError::validation(self.path(key), "must be a non-negative integer")),
        }
    }

    /// An optional number.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or_else(|| ApiError::validation(self.path(key), "must be a number")),
        }
    }

    /// An optional nested object.
    pub fn opt_obj(&self, key: &str) -> Result<Option<Obj<'a>>, ApiError> {
        self.get(key).map(|v| Obj::at(v, self.path(key))).transpose()
    }

    /// A required nested object.
    pub fn req_obj(&self, key: &str) -> Result<Obj<'a>, ApiError> {
        self.opt_obj(key)?.ok_or_else(|| ApiError::validation(self.path(key), "is required"))
    }

    /// An optional array.
    pub fn opt_array(&self, key: &str) -> Result<Option<&'a [Value]>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(ApiError::validation(self.path(key), "must be an array")),
        }
    }

    /// A required array.
    pub fn req_array(&self, key: &str) -> Result<&'a [Value], ApiError> {
        match self.get(key) {
            None => Err(ApiError::validation(self.path(key), "is required")),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(ApiError::validation(self.path(key), "must be an array")),
        }
    }
}
