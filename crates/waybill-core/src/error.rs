//! Field-level validation errors: what is wrong and where (an RFC 6901 JSON pointer).

use serde::Serialize;

/// One problem with one field of an input document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// JSON pointer to the offending field, e.g. `/ship_to/postal_code`.
    pub pointer: String,
    /// What is wrong, in words a person can act on.
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }
}

/// A non-empty list of field errors: the input was rejected and nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.pointer, e.detail)).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self(vec![FieldError::new(pointer, detail)])
    }
}

/// Collects field errors while a document is checked, so one answer lists every problem.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    pub fn extend(&mut self, other: Vec<FieldError>) {
        self.0.extend(other);
    }

    /// `Ok(value)` when nothing was found wrong.
    pub fn finish<T>(self, value: T) -> Result<T, Invalid> {
        if self.0.is_empty() { Ok(value) } else { Err(Invalid(self.0)) }
    }
}

/// The known name nearest to `unknown`, when it is close enough to be a likely typo (for
/// "did you mean …?").
pub fn nearest<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(unknown, k), k))
        .filter(|(d, k)| *d <= (k.len().max(unknown.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}
