//! Credential schemas: which fields a carrier account or a channel connection needs, checked
//! before anything is sealed and saved.

use serde::Serialize;

use crate::FieldError;

/// The credential fields an account (a carrier account, a channel connection) needs.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialSchema {
    pub fields: Vec<CredentialField>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialField {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
}

impl CredentialSchema {
    /// Every missing or mistyped field, and every field the schema does not name.
    pub fn check(&self, credentials: &serde_json::Value) -> Result<(), Vec<FieldError>> {
        let Some(obj) = credentials.as_object() else {
            return Err(vec![FieldError::new("/credentials", "credentials must be an object")]);
        };
        let mut errors = Vec::new();
        for f in &self.fields {
            match obj.get(f.name) {
                None if f.required => {
                    errors.push(FieldError::new(format!("/credentials/{}", f.name), format!("{} is required", f.name)))
                }
                Some(v) if v.as_str().is_none_or(|s| s.trim().is_empty()) => {
                    errors.push(FieldError::new(format!("/credentials/{}", f.name), "must be a non-empty string"))
                }
                _ => {}
            }
        }
        for key in obj.keys() {
            if !self.fields.iter().any(|f| f.name == key) {
                let known: Vec<_> = self.fields.iter().map(|f| f.name).collect();
                errors.push(FieldError::new(
                    format!("/credentials/{key}"),
                    format!("is not a credential used here; these are: {}", known.join(", ")),
                ));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_empty_and_unknown_fields_are_each_pointed_at() {
        let schema = CredentialSchema {
            fields: vec![
                CredentialField { name: "key", description: "", required: true },
                CredentialField { name: "secret", description: "", required: true },
                CredentialField { name: "region", description: "", required: false },
            ],
        };
        assert!(schema.check(&serde_json::json!({"key": "k", "secret": "s"})).is_ok());
        let errors = schema.check(&serde_json::json!({"secret": " ", "regoin": "eu"})).unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/credentials/key", "/credentials/secret", "/credentials/regoin"]);
        assert!(errors[2].detail.contains("key, secret, region"), "{}", errors[2].detail);
        assert_eq!(schema.check(&serde_json::json!([])).unwrap_err()[0].pointer, "/credentials");
    }
}
