//! The API's routes, one module per resource.

pub mod carriers;
pub mod generic;
pub mod hooks;
pub mod operations;
pub mod ops;
pub mod orders;
pub mod shipments;

use serde::Deserialize;
use utoipa::IntoParams;
use waybill_core::FieldError;

use crate::error::ApiError;

/// Key-set paging: `?limit=` (1–100, default 20) and `?after=` (the last id of the previous page).
#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub after: Option<String>,
}

impl ListQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(n @ 1..=100) => Ok(n),
            Some(_) => Err(ApiError::invalid(vec![FieldError::new("/limit", "limit must be between 1 and 100")])),
        }
    }
}
