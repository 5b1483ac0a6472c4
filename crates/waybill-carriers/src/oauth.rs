//! The OAuth2 client-credentials flow UPS, FedEx, USPS and MNG Kargo share: a token per
//! account, cached and fetched single-flight ([`TokenCache`]), sent as a bearer token; a 401
//! drops it and the call is sent once more with a fresh one. Each carrier supplies only its
//! [`Flow`]: where and how its token is asked for, and how the answer is read.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::http::{CarrierFault, Http, Repeatable, read_body};
use crate::tokens::{Token, TokenCache};
use crate::{Account, CarrierError};

/// What one carrier's token flow has of its own.
pub struct Flow {
    pub carrier: &'static str,
    /// Where the token is asked for, under the account's base URL (a POST).
    pub path: &'static str,
    /// Adds the carrier's credentials and body to the token request.
    pub request: fn(reqwest::RequestBuilder, &Account<'_>) -> reqwest::RequestBuilder,
    /// The carrier's reader of error bodies (see [`read_body`]).
    pub fault: fn(u16, &[u8]) -> Option<CarrierFault>,
    /// Reads the token answer; [`bearer_token`] for the standard `{access_token, expires_in}`.
    pub token: fn(&[u8]) -> Result<Token, CarrierError>,
    /// The credential fields that, with the account and its host, name one token, so changed
    /// credentials fetch a new one.
    pub key_fields: &'static [&'static str],
    /// A cached token is replaced this long before it expires.
    pub margin: Duration,
}

pub struct OAuth {
    flow: Flow,
    http: Http,
    tokens: TokenCache,
}

impl OAuth {
    pub fn new(flow: Flow, http: Http) -> Self {
        Self { flow, http, tokens: TokenCache::default() }
    }

    /// The cache key of the account's token.
    pub fn key(&self, account: &Account<'_>) -> String {
        let mut parts = vec![account.id.to_string()];
        parts.extend(self.flow.key_fields.iter().map(|field| credential(account, field).to_owned()));
        parts.push(account.base_url.to_owned());
        parts.join("|")
    }

    /// A valid token: the cached one, or one fetched while the account's other callers wait.
    pub async fn token(&self, account: &Account<'_>) -> Result<String, CarrierError> {
        self.tokens.get(&self.key(account), self.flow.margin, || self.fetch(account)).await
    }

    /// Forgets `stale` if it is still the account's token (another caller may have replaced it).
    pub async fn forget(&self, account: &Account<'_>, stale: &str) {
        self.tokens.forget(&self.key(account), stale).await
    }

    async fn fetch(&self, account: &Account<'_>) -> Result<Token, CarrierError> {
        let Flow { carrier, path, fault, token, .. } = self.flow;
        let url = format!("{}{path}", account.base_url.trim_end_matches('/'));
        let request = (self.flow.request)(self.http.client(account).post(url), account);
        let response = self.http.send(carrier, request, Repeatable::Yes).await?;
        token(&read_body(carrier, response, "token", Repeatable::Yes, fault).await?)
    }

    /// Sends `build()` with the account's bearer token, once more with a fresh one after a 401.
    pub async fn call(
        &self,
        account: &Account<'_>,
        build: impl Fn() -> reqwest::RequestBuilder,
        repeatable: Repeatable,
    ) -> Result<reqwest::Response, CarrierError> {
        once_more_on_401(self, &self.http, self.flow.carrier, account, build, repeatable).await
    }
}

impl Tokens for OAuth {
    type Held = String;

    fn get(&self, account: &Account<'_>) -> impl Future<Output = Result<String, CarrierError>> + Send {
        self.token(account)
    }

    fn forget(&self, account: &Account<'_>, stale: &String) -> impl Future<Output = ()> + Send {
        self.forget(account, stale)
    }

    fn authorize(&self, request: reqwest::RequestBuilder, token: &String) -> reqwest::RequestBuilder {
        request.bearer_auth(token)
    }
}

/// The tokens a call carries: fetched (or taken from the cache) before it is sent, forgotten
/// when the carrier refuses them.
pub trait Tokens: Sync {
    type Held: Send + Sync;

    fn get(&self, account: &Account<'_>) -> impl Future<Output = Result<Self::Held, CarrierError>> + Send;

    fn forget(&self, account: &Account<'_>, stale: &Self::Held) -> impl Future<Output = ()> + Send;

    fn authorize(&self, request: reqwest::RequestBuilder, held: &Self::Held) -> reqwest::RequestBuilder;
}

/// Sends `build()` with `tokens`. A 401 means the carrier did not act on the request, so sending
/// it again is safe: the stale tokens are forgotten and it is sent once more with fresh ones. A
/// second 401 is the caller's to read (the credentials are refused).
pub async fn once_more_on_401<T: Tokens>(
    tokens: &T,
    http: &Http,
    carrier: &'static str,
    account: &Account<'_>,
    build: impl Fn() -> reqwest::RequestBuilder,
    repeatable: Repeatable,
) -> Result<reqwest::Response, CarrierError> {
    let held = tokens.get(account).await?;
    let response = http.send(carrier, tokens.authorize(build(), &held), repeatable).await?;
    if response.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    tracing::info!(carrier, "the carrier refused the token; fetching a new one and sending once more");
    tokens.forget(account, &held).await;
    let held = tokens.get(account).await?;
    http.send(carrier, tokens.authorize(build(), &held), repeatable).await
}

/// The standard client-credentials answer: `access_token`, and `expires_in` in seconds, which
/// some carriers send as a string.
pub fn bearer_token(carrier: &'static str, body: &[u8]) -> Result<Token, CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        expires_in: Value,
    }
    let protocol = |message: String| CarrierError::Protocol { carrier, message };
    let answer: Answer = serde_json::from_slice(body).map_err(|e| protocol(format!("unexpected token answer: {e}")))?;
    let secs = match &answer.expires_in {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| protocol("token expires_in is not a whole number".into()))?;
    Ok(Token { access_token: answer.access_token, expires_at: Instant::now() + Duration::from_secs(secs) })
}

fn credential<'a>(account: &Account<'a>, name: &str) -> &'a str {
    account.credentials.get(name).and_then(Value::as_str).unwrap_or_default()
}
