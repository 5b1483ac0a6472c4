//! The outbound HTTP policy: every HTTP call Waybill makes to a URL someone else chose (carriers
//! today; merchant webhooks, SMS providers and sales channels later) goes through an
//! [`Outbound`], so one place decides where Waybill may connect and how much it reads back.
//!
//! Why: a tenant can set a carrier account's `base_url` to any URL. Unchecked, a live account
//! could make Waybill call into its own network (a database's HTTP port, an admin console, the
//! cloud metadata service and its credentials) and relay the answers: server-side request
//! forgery. So the [`Outbound::guarded`] client refuses every address [`is_forbidden`] names.
//! The check is on the address actually connected to, not on the URL's text:
//!
//! - names go through a resolver of ours that drops forbidden addresses, so `localhost` or a
//!   name pointing at `10.0.0.5` is refused however it is spelt, and a name re-pointed after it
//!   was checked (DNS rebinding) is refused when connecting;
//! - IP-literal hosts never reach a resolver, so a connector layer refuses forbidden ones before
//!   connecting (including `::ffff:127.0.0.1` and the other IPv6 forms of IPv4 addresses);
//! - every redirect hop goes through both, and the redirect policy also stops at a forbidden
//!   IP-literal hop and after [`MAX_REDIRECTS`];
//! - proxies are off, so an environment variable cannot route a call around the checks.
//!
//! Test mode uses [`Outbound::open`]: the same timeouts and user agent, no address checks,
//! because tests and the demo run carriers on 127.0.0.1. [`Outbound::check_destination`] checks
//! a URL when it is registered, so a tenant hears at once rather than at the first call.
//! A refusal is recognisable: [`refused_reason`] finds the [`Refused`] in a `reqwest::Error`.
//! [`read_limited`] reads an answer up to a size, so a hostile server cannot exhaust memory.

mod address;
mod guard;

use std::net::IpAddr;
use std::time::Duration;

pub use address::is_forbidden;
pub use guard::MAX_REDIRECTS;

/// The default answer size limit: carrier answers with several labels run to a few MiB, so this
/// leaves room without letting one answer take much memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// How outbound clients behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSettings {
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long a whole call may take, so a silent server can never hold a caller.
    pub timeout: Duration,
    pub user_agent: String,
    /// The largest answer [`read_limited`] callers should accept.
    pub max_response_bytes: usize,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            user_agent: concat!("waybill/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Why the policy refused a destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The destination (an IP-literal host or a redirect hop) is a forbidden address.
    #[error("`{ip}` is {class}; outbound calls to private, loopback, link-local and metadata addresses are refused")]
    Address { ip: IpAddr, class: &'static str },
    /// Every address the host resolves to is forbidden.
    #[error(
        "`{host}` resolves only to refused addresses such as `{ip}`, {class}; outbound calls to private, \
         loopback, link-local and metadata addresses are refused"
    )]
    Resolved { host: String, ip: IpAddr, class: &'static str },
    /// Not an http or https URL with a host.
    #[error("`{url}` is not an http or https URL with a host")]
    Url { url: String },
    /// The host does not resolve, so it cannot be checked ([`Outbound::check_destination`]).
    #[error("`{host}` does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
    /// A chain of more than [`MAX_REDIRECTS`] redirects.
    #[error("more than {max} redirects")]
    Redirects { max: usize },
}

/// The two clients every outbound call goes through, built once (each keeps its connection pool).
#[derive(Debug, Clone)]
pub struct Outbound {
    guarded: reqwest::Client,
    open: reqwest::Client,
    max_response_bytes: usize,
}

impl Outbound {
    /// Builds both clients; fails when reqwest cannot build one (a `user_agent` that is not a
    /// valid header value).
    pub fn new(settings: OutboundSettings) -> Result<Self, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(settings.connect_timeout)
                .timeout(settings.timeout)
                .pool_max_idle_per_host(64)
                .user_agent(settings.user_agent.as_str())
        };
        let guarded = builder()
            .no_proxy()
            .dns_resolver(guard::PublicOnly)
            .connector_layer(guard::RefuseLiterals)
            .redirect(guard::redirect_policy())
            .build()?;
        Ok(Self { guarded, open: builder().build()?, max_response_bytes: settings.max_response_bytes })
    }

    /// The client for live calls: it never connects to a forbidden address.
    pub fn guarded(&self) -> &reqwest::Client {
        &self.guarded
    }

    /// The client for test calls: no address checks, for tests and the demo on 127.0.0.1.
    pub fn open(&self) -> &reqwest::Client {
        &self.open
    }

    /// [`Outbound::guarded`] when `restricted`, else [`Outbound::open`].
    pub fn client(&self, restricted: bool) -> &reqwest::Client {
        if restricted { &self.guarded } else { &self.open }
    }

    /// The answer size callers pass to [`read_limited`].
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// Checks a URL a live call will be sent to, when it is registered: it must be http or https
    /// and its host must not be, or resolve only to, forbidden addresses. The guarded client
    /// checks again at every call, so a name re-pointed later is still refused.
    pub async fn check_destination(&self, url: &str) -> Result<(), Refused> {
        let parsed = reqwest::Url::parse(url).map_err(|_| Refused::Url { url: url.to_owned() })?;
        if let Some(ip) = guard::literal_host(&parsed)? {
            return guard::check_ip(ip);
        }
        self.check_host(parsed.host_str().unwrap_or_default()).await
    }

    /// The same check for a host a live connection other than HTTP goes to (a tenant's SMTP
    /// server): an IP literal (IPv6 with or without brackets) or a name whose addresses are not
    /// all forbidden. Unlike the guarded client, the connection itself is not checked again.
    pub async fn check_host(&self, host: &str) -> Result<(), Refused> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            return guard::check_ip(ip);
        }
        let unresolved = |reason: String| Refused::Unresolved { host: host.to_owned(), reason };
        let addrs: Vec<_> = tokio::net::lookup_host((host, 0)).await.map_err(|e| unresolved(e.to_string()))?.collect();
        match guard::allowed(host, addrs)? {
            allowed if allowed.is_empty() => Err(unresolved("no addresses".into())),
            _ => Ok(()),
        }
    }
}

impl Default for Outbound {
    fn default() -> Self {
        Self::new(OutboundSettings::default()).expect("the default settings build")
    }
}

/// Why the policy refused the call that failed with `e`, if it did: the [`Refused`] found in
/// the error's source chain, as its message.
pub fn refused_reason(e: &reqwest::Error) -> Option<String> {
    std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |e| e.source())
        .find_map(|e| e.downcast_ref::<Refused>())
        .map(Refused::to_string)
}

/// An answer that could not be read within the limit.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the answer is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error(transparent)]
    Body(#[from] reqwest::Error),
}

/// Reads `response`'s body, refusing one larger than `max` bytes: by its `Content-Length`
/// before reading anything, else as soon as the chunks read pass `max`.
pub async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, ReadError> {
    let declared = response.content_length().unwrap_or(0);
    if declared > max as u64 {
        return Err(ReadError::TooLarge { max });
    }
    let mut body = Vec::with_capacity(declared as usize);
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
