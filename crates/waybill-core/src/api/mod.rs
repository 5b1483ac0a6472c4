//! The JSON shapes of the API: what requests carry ([`requests`]) and what answers show
//! ([`views`]). The server, merchant webhooks and the web pages all use these, so an object
//! looks the same wherever it is shown. Checks that need no I/O live with the request types.

pub mod requests;
pub mod views;

use chrono::{DateTime, SecondsFormat, Utc};

/// An instant (epoch milliseconds) as the API writes it: RFC 3339, UTC, milliseconds.
pub fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}
