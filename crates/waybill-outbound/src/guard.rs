//! The three checks the guarded client is built with: a resolver for names, a connector layer
//! for IP literals (which never reach a resolver), and a redirect policy.

use std::fmt::Debug;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::Refused;
use crate::address::class;

/// Redirects the guarded client follows before it gives up.
pub const MAX_REDIRECTS: usize = 5;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Refuses `ip` if it is a forbidden address.
pub(crate) fn check_ip(ip: IpAddr) -> Result<(), Refused> {
    match class(ip) {
        Some(class) => Err(Refused::Address { ip, class }),
        None => Ok(()),
    }
}

/// The IP address `url` names as its host, `None` for a name; refused unless it is an http or
/// https URL with a host.
pub(crate) fn literal_host(url: &Url) -> Result<Option<IpAddr>, Refused> {
    let host = match url.host_str() {
        Some(host) if matches!(url.scheme(), "http" | "https") => host,
        _ => return Err(Refused::Url { url: url.to_string() }),
    };
    // `Url` normalises IPv4 spellings (`0x7f.1`, `2130706433`) and brackets IPv6 literals.
    Ok(host.trim_start_matches('[').trim_end_matches(']').parse().ok())
}

/// The addresses of `host` a guarded call may use; refused when every one is forbidden.
pub(crate) fn allowed(host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refused> {
    let mut refused = None;
    let allowed: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match class(a.ip()) {
            Some(class) => {
                refused.get_or_insert((a.ip(), class));
                false
            }
            None => true,
        })
        .collect();
    match refused {
        Some((ip, class)) if allowed.is_empty() => Err(Refused::Resolved { host: host.to_owned(), ip, class }),
        _ => Ok(allowed),
    }
}

/// Resolves names with the system resolver (as reqwest's default does) and hands on only the
/// addresses the policy allows, so the check is on the address connected to, at connect time.
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed =
                allowed(&host, addrs).inspect_err(|refused| tracing::warn!(%refused, "outbound call refused"))?;
            Ok::<_, BoxError>(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A connector layer refusing forbidden IP-literal destinations before any connection is made.
///
/// reqwest hands connector layers its destination in a sealed type whose only window is `Debug`
/// (`Unnameable(http://10.0.0.5/)`), so the URI is read from that; anything unreadable is
/// refused, never let through.
#[derive(Clone)]
pub(crate) struct RefuseLiterals;

impl<S> tower::Layer<S> for RefuseLiterals {
    type Service = Literals<S>;

    fn layer(&self, inner: S) -> Literals<S> {
        Literals(inner)
    }
}

#[derive(Clone)]
pub(crate) struct Literals<S>(S);

impl<S, R> tower::Service<R> for Literals<S>
where
    S: tower::Service<R, Error = BoxError>,
    S::Response: Send + 'static,
    S::Future: Send + 'static,
    R: Debug,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, destination: R) -> Self::Future {
        match literal_destination(&format!("{destination:?}")) {
            Ok(()) => Box::pin(self.0.call(destination)),
            Err(refused) => {
                tracing::warn!(%refused, "outbound call refused");
                Box::pin(std::future::ready(Err(refused.into())))
            }
        }
    }
}

/// Checks the destination a connector layer sees, written as `Unnameable(<uri>)`.
fn literal_destination(debug: &str) -> Result<(), Refused> {
    let uri = debug.strip_prefix("Unnameable(").and_then(|s| s.strip_suffix(')')).unwrap_or(debug);
    let url = Url::parse(uri).map_err(|_| Refused::Url { url: uri.to_owned() })?;
    literal_host(&url)?.map_or(Ok(()), check_ip)
}

/// Follows at most [`MAX_REDIRECTS`] redirects and stops at a forbidden IP-literal hop; a hop to
/// a name goes through [`PublicOnly`] like any other.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| match check_redirect(attempt.url(), attempt.previous().len()) {
        Ok(()) => attempt.follow(),
        Err(refused) => {
            tracing::warn!(%refused, "outbound redirect refused");
            attempt.error(refused)
        }
    })
}

/// Whether a redirect to `next` may be followed after `visited` URLs (the first one included).
fn check_redirect(next: &Url, visited: usize) -> Result<(), Refused> {
    if visited > MAX_REDIRECTS {
        return Err(Refused::Redirects { max: MAX_REDIRECTS });
    }
    literal_host(next)?.map_or(Ok(()), check_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("a test URL")
    }

    #[test]
    fn redirects_stop_at_a_forbidden_literal_hop() {
        for hop in [
            "http://127.0.0.1/next",
            "https://[::1]:8443/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(matches!(check_redirect(&url(hop), 1), Err(Refused::Address { .. })), "{hop}");
        }
        let refused = check_redirect(&url("http://10.0.0.5/"), 1).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "`10.0.0.5` is a private address; outbound calls to private, loopback, link-local and metadata \
             addresses are refused"
        );
    }

    #[test]
    fn redirects_to_public_hosts_are_followed_a_few_times() {
        assert_eq!(check_redirect(&url("https://93.184.216.34/x"), 1), Ok(()));
        assert_eq!(check_redirect(&url("https://carrier.example/next"), MAX_REDIRECTS), Ok(()));
        assert_eq!(
            check_redirect(&url("https://carrier.example/next"), MAX_REDIRECTS + 1),
            Err(Refused::Redirects { max: MAX_REDIRECTS })
        );
        assert!(matches!(check_redirect(&url("ftp://carrier.example/"), 1), Err(Refused::Url { .. })));
    }

    #[test]
    fn the_connector_destination_is_read_from_its_debug_form() {
        assert_eq!(literal_destination("Unnameable(http://93.184.216.34:80/)"), Ok(()));
        assert_eq!(literal_destination("Unnameable(https://carrier.example/)"), Ok(()));
        assert!(matches!(literal_destination("Unnameable(http://[::1]:8080/)"), Err(Refused::Address { .. })));
        // An unreadable destination is refused rather than let through.
        assert!(matches!(literal_destination("Unnameable(garbage)"), Err(Refused::Url { .. })));
    }

    #[test]
    fn a_name_is_refused_only_when_all_its_addresses_are() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect("a test address");
        let mixed = vec![addr("10.0.0.5:0"), addr("93.184.216.34:0")];
        assert_eq!(allowed("mixed.example", mixed), Ok(vec![addr("93.184.216.34:0")]));
        let refused = allowed("db.internal", vec![addr("10.0.0.5:0"), addr("[::1]:0")]).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "`db.internal` resolves only to refused addresses such as `10.0.0.5`, a private address; outbound \
             calls to private, loopback, link-local and metadata addresses are refused"
        );
    }
}
