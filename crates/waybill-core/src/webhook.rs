//! Merchant webhook endpoints, the messages on their way to them, and the rules of delivery:
//! the retry schedule, and when an endpoint that keeps failing is disabled.

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, nearest};
use crate::event::PUBLIC_EVENT_TYPES;
use crate::ids::{EventId, TenantId, WebhookDeliveryId, WebhookEndpointId, WebhookMessageId};
use crate::scope::{Mode, Scope};

crate::named_enum! {
    /// Whether an endpoint is sent deliveries.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum WebhookState as "snake_case" {
        Enabled,
        /// It failed for [`DISABLE_AFTER_MS`] without one success; nothing more is sent to it.
        Disabled,
    }
}

crate::named_enum! {
    /// Where one event stands with one endpoint.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum WebhookMessageState as "snake_case" {
        Pending,
        Delivered,
        /// Given up: every attempt of the schedule failed, or the endpoint was disabled or deleted.
        Failed,
    }
}

/// A merchant's endpoint with the event types it wants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub state: WebhookState,
    pub disabled_reason: Option<String>,
    /// When the first of the failures since the last success happened.
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl WebhookEndpoint {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }

    pub fn wants(&self, event_type: &str) -> bool {
        self.state == WebhookState::Enabled && self.events.iter().any(|e| e == event_type)
    }
}

/// One event on its way to one endpoint. A replay (`POST /v1/events/{id}/redeliver`) is a new
/// message with a higher `replay`; the first delivery has 0.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookMessage {
    pub id: WebhookMessageId,
    pub scope: Scope,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    pub event_type: String,
    /// The object the event is about: messages about one object reach an endpoint in order.
    pub subject_id: String,
    pub replay: i64,
    pub state: WebhookMessageState,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One attempt to deliver a message: a line of an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub message_id: WebhookMessageId,
    pub event_id: EventId,
    pub event_type: String,
    pub attempt: i64,
    /// The receiver's HTTP status; `None` when it did not answer.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub succeeded: bool,
    pub created_at: i64,
}

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// The waits before each retry after a failed attempt: over three days in all, most of it in
/// long steps, so a receiver down for a weekend still gets its events.
pub const RETRY_SCHEDULE: &[i64] =
    &[5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR];

/// An endpoint that has failed for this long without one success is disabled: shorter than the
/// retry schedule, so even one message's last retries disable an endpoint that is gone.
pub const DISABLE_AFTER_MS: i64 = 3 * 24 * HOUR;

/// How long to wait before the next attempt once `attempts` have failed; `None` once the
/// schedule is spent and the message is given up.
pub fn retry_delay(attempts: i64) -> Option<i64> {
    usize::try_from(attempts - 1).ok().and_then(|i| RETRY_SCHEDULE.get(i)).copied()
}

/// Whether an endpoint failing since `failing_since` is to be disabled at `now`.
pub fn should_disable(failing_since: Option<i64>, now: i64) -> bool {
    failing_since.is_some_and(|since| now - since >= DISABLE_AFTER_MS)
}

/// Problems with the event types an endpoint asks for, each at `/events/<i>`.
pub fn event_type_problems(events: &[String]) -> Vec<FieldError> {
    let mut out = Vec::new();
    if events.is_empty() {
        out.push(FieldError::new(
            "/events",
            format!("name at least one event type; they are: {}", PUBLIC_EVENT_TYPES.join(", ")),
        ));
    }
    for (i, kind) in events.iter().enumerate() {
        let pointer = format!("/events/{i}");
        if !PUBLIC_EVENT_TYPES.contains(&kind.as_str()) {
            let shown: String = kind.chars().take(64).collect();
            let detail = match nearest(kind, PUBLIC_EVENT_TYPES.iter().copied()) {
                Some(k) => format!("unknown event type `{shown}`; did you mean `{k}`?"),
                None => format!("unknown event type `{shown}`; they are: {}", PUBLIC_EVENT_TYPES.join(", ")),
            };
            out.push(FieldError::new(pointer, detail));
        } else if events[..i].contains(kind) {
            out.push(FieldError::new(pointer, format!("`{kind}` is named twice")));
        }
    }
    out
}

/// Problems with an endpoint URL that need no network: an absolute http or https URL with a
/// host, without credentials in it.
pub fn url_problems(url: &str) -> Vec<FieldError> {
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    let problem = match rest {
        None => Some("a webhook URL must start with https:// (or http:// in test mode)"),
        Some(rest) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            if authority.is_empty() {
                Some("the URL has no host")
            } else if authority.contains('@') {
                Some("put no credentials in the URL: verify deliveries with the endpoint's secret instead")
            } else if url.chars().any(char::is_whitespace) {
                Some("the URL contains spaces")
            } else {
                None
            }
        }
    };
    problem.map(|p| FieldError::new("/url", p)).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_span_more_than_three_days_then_stop() {
        let total: i64 = (1..).map_while(retry_delay).sum();
        assert!(total > 3 * 24 * HOUR, "{total}");
        assert!(total > DISABLE_AFTER_MS, "a message's last retry comes after an endpoint would be disabled");
        assert_eq!(retry_delay(1), Some(5 * SECOND));
        assert_eq!(retry_delay(RETRY_SCHEDULE.len() as i64 + 1), None);
        assert_eq!(retry_delay(0), None);
    }

    #[test]
    fn an_endpoint_is_disabled_only_after_failing_for_days() {
        assert!(!should_disable(None, 10 * DISABLE_AFTER_MS));
        assert!(!should_disable(Some(1_000), 1_000 + DISABLE_AFTER_MS - 1));
        assert!(should_disable(Some(1_000), 1_000 + DISABLE_AFTER_MS));
    }

    #[test]
    fn unknown_and_repeated_event_types_are_pointed_at() {
        let events = ["shipment.booked", "shipment.bookd", "shipment.booked", "nonsense"].map(String::from);
        let problems = event_type_problems(&events);
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/events/1", "/events/2", "/events/3"]);
        assert!(problems[0].detail.contains("did you mean `shipment.booked`"), "{}", problems[0].detail);
        assert!(problems[2].detail.contains("they are: order.created"), "{}", problems[2].detail);
        assert_eq!(event_type_problems(&[]).len(), 1);
    }

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials_pass() {
        assert!(url_problems("https://shop.example/hooks/waybill").is_empty());
        assert!(url_problems("HTTP://127.0.0.1:9000").is_empty());
        for bad in
            ["ftp://x", "javascript:alert(1)", "https://", "https://u:p@shop.example/", "https://a b", "/relative"]
        {
            let problems = url_problems(bad);
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].pointer, "/url");
        }
    }
}
