//! Access tokens (OAuth2, JWT) cached per account, shared by the adapters that need them.
//!
//! A token is reused until it is within the caller's margin of expiring. Fetches are
//! single-flight per key: concurrent callers wait on one async lock per key, so a burst of
//! requests makes one token request, not one each.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::CarrierError;

#[derive(Clone, Debug)]
pub struct Token {
    pub access_token: String,
    pub expires_at: Instant,
}

/// One key's token; the lock around it is what makes fetches single-flight.
type Slot = Arc<Mutex<Option<Token>>>;

#[derive(Default)]
pub struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenCache {
    async fn slot(&self, key: &str) -> Slot {
        self.slots.lock().await.entry(key.to_owned()).or_default().clone()
    }

    /// A token for `key` with more than `margin` left: the cached one, or one from `fetch`
    /// (called while holding the key's lock, so concurrent callers wait for the same fetch).
    pub async fn get<Fut>(
        &self,
        key: &str,
        margin: Duration,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<String, CarrierError>
    where
        Fut: Future<Output = Result<Token, CarrierError>>,
    {
        let slot = self.slot(key).await;
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() + margin < t.expires_at
        {
            return Ok(t.access_token.clone());
        }
        let token = fetch().await?;
        let access_token = token.access_token.clone();
        *cached = Some(token);
        Ok(access_token)
    }

    /// Forgets `stale` if it is still the cached token for `key` (another caller may have
    /// replaced it already).
    pub async fn forget(&self, key: &str, stale: &str) {
        let slot = self.slot(key).await;
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|t| t.access_token == stale) {
            *cached = None;
        }
    }
}
