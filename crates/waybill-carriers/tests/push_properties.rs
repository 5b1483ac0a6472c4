//! Property tests of the `sandbox` adapter's push parser, `parse_push`.
//!
//! A push arrives from the network, so the parser must never panic, whatever the bytes and
//! headers: it answers `Ok` or a typed [`PushError`]. And every well-formed, correctly signed
//! event, including codes the mapping tables do not know and any text or offset the carrier
//! may send, must come out as exactly one scan that keeps the carrier's words and carries the
//! documented status (unknown codes read as `in_transit`, never dropped).
//!
//! The expected mappings below are written out again from the simulator's documentation
//! rather than taken from the adapter, so a wrong row in the adapter's table shows here.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone};
use hmac::{KeyInit, Mac};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use waybill_carriers::sandbox::Sandbox;
use waybill_carriers::{Carrier, PushError, PushRequest};
use waybill_core::{NdrReason, TrackingStatus};
use waybill_outbound::Outbound;

/// One adapter for every case: building an HTTP client per case would dominate the run time.
static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| Sandbox::new(Outbound::default()));

/// The simulator's status codes and the status each reads as (from the `waybill-sim` docs).
const STATUSES: &[(&str, TrackingStatus)] = &[
    ("BK", TrackingStatus::InfoReceived),
    ("PU", TrackingStatus::PickedUp),
    ("DP", TrackingStatus::InTransit),
    ("AR", TrackingStatus::InTransit),
    ("OD", TrackingStatus::OutForDelivery),
    ("UD", TrackingStatus::DeliveryFailed),
    ("DL", TrackingStatus::Delivered),
    ("HP", TrackingStatus::AvailableForPickup),
    ("EX", TrackingStatus::Exception),
    ("RT", TrackingStatus::ReturnToOrigin),
    ("RI", TrackingStatus::ReturnToOrigin),
    ("RD", TrackingStatus::Returned),
    ("CX", TrackingStatus::Cancelled),
    ("LS", TrackingStatus::Exception),
];

/// The simulator's `UD` reasons and the NDR reason each reads as.
const NDR_REASONS: &[(&str, NdrReason)] = &[
    ("CNA", NdrReason::CustomerUnavailable),
    ("ADR", NdrReason::AddressIssue),
    ("REF", NdrReason::Refused),
    ("COD", NdrReason::CodNotReady),
    ("CLS", NdrReason::PremisesClosed),
    ("RSC", NdrReason::RescheduledByCustomer),
    ("OOS", NdrReason::OutOfServiceArea),
];

/// The simulator's `EX` reasons: real codes that are not NDR reasons.
const EXCEPTION_REASONS: &[&str] = &["DMG", "CUS", "WTH"];

fn expected_status(code: &str) -> TrackingStatus {
    STATUSES.iter().find(|(c, _)| *c == code).map_or(TrackingStatus::InTransit, |(_, s)| *s)
}

fn expected_ndr_reason(code: &str, reason: Option<&str>) -> Option<NdrReason> {
    (expected_status(code) == TrackingStatus::DeliveryFailed)
        .then(|| NDR_REASONS.iter().find(|(r, _)| Some(*r) == reason).map_or(NdrReason::Other, |(_, n)| *n))
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, as the simulator signs.
fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The headers of a push signed with `secret` at `timestamp`.
fn signed_headers(secret: &str, timestamp: &str, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        ("x-sim-timestamp".into(), timestamp.into()),
        ("x-sim-signature".into(), sign(secret, timestamp, body)),
    ]
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Header names the parser looks for (in any case), and others.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x-sim-timestamp".to_owned()),
        Just("X-Sim-Timestamp".to_owned()),
        Just("x-sim-signature".to_owned()),
        Just("X-SIM-SIGNATURE".to_owned()),
        Just("x-sim-event-id".to_owned()),
        "[a-zA-Z-]{0,24}",
        any::<String>(),
    ]
}

/// Header values: anything, signature-shaped text, and numbers of every size.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "sha256=[0-9a-fA-F]{0,80}",
        "sha256=.{0,70}",
        any::<i64>().prop_map(|n| n.to_string()),
        (-1000i64..1000).prop_map(|d| (now() + d).to_string()),
        "[+-]?[0-9]{0,25}",
    ]
}

/// A timestamp header: mostly numbers near now, some far away, some not numbers at all.
fn timestamp_header() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (-400i64..400).prop_map(|d| (now() + d).to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "[+-]?[0-9]{0,25}",
        1 => any::<String>(),
    ]
}

/// Bodies: arbitrary bytes, arbitrary text, and JSON of any shape.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let json_leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
    ];
    let json = json_leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("awb".to_owned()),
                    Just("event".to_owned()),
                    Just("code".to_owned()),
                    Just("timestamp".to_owned()),
                    any::<String>()
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        any::<String>().prop_map(String::into_bytes),
        json.prop_map(|v| serde_json::to_vec(&v).expect("JSON encodes")),
    ]
}

/// A status code: one of the simulator's, or anything else.
fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(STATUSES.iter().map(|(c, _)| *c).collect::<Vec<_>>()).prop_map(str::to_owned),
        1 => "[A-Z]{1,3}",
        1 => any::<String>(),
    ]
}

/// A reason code: none, a `UD` or `EX` reason, or anything else.
fn reason_code() -> impl Strategy<Value = Option<String>> {
    let known: Vec<&str> = NDR_REASONS.iter().map(|(r, _)| *r).chain(EXCEPTION_REASONS.iter().copied()).collect();
    prop_oneof![
        Just(None),
        prop::sample::select(known).prop_map(|r| Some(r.to_owned())),
        any::<String>().prop_map(Some),
    ]
}

/// Any instant from year 1 to 9999 at any whole-minute offset up to ±23:59.
fn timestamp() -> impl Strategy<Value = DateTime<FixedOffset>> {
    const DAY: i64 = 86_400;
    // 0001-01-01 and 9999-12-31, a day inside either end so every offset stays in range.
    let seconds = -62_135_596_800 + DAY..253_402_214_400 - DAY;
    (seconds, 0u32..1_000_000_000, -(23 * 60 + 59)..=(23 * 60 + 59)).prop_map(|(secs, nanos, minutes)| {
        let offset = FixedOffset::east_opt(minutes * 60).expect("offset in range");
        offset.timestamp_opt(secs, nanos).single().expect("instant in range")
    })
}

/// One well-formed event as the simulator could push it, with extra fields it may add later.
#[derive(Clone, Debug)]
struct Event {
    awb: String,
    event_id: String,
    code: String,
    description: String,
    location: Option<String>,
    timestamp: DateTime<FixedOffset>,
    /// How the timestamp is written: seconds format and `Z` for UTC.
    written: (SecondsFormat, bool),
    reason_code: Option<String>,
    /// Absent optional fields are left out rather than sent as `null`.
    omit_nulls: bool,
    extra: Vec<(String, String)>,
}

impl Event {
    fn body(&self) -> Vec<u8> {
        let (format, use_z) = self.written;
        let mut event = Map::new();
        event.insert("event_id".into(), json!(self.event_id));
        event.insert("code".into(), json!(self.code));
        event.insert("description".into(), json!(self.description));
        event.insert("timestamp".into(), json!(self.timestamp.to_rfc3339_opts(format, use_z)));
        for (key, value) in [("location", &self.location), ("reason_code", &self.reason_code)] {
            if value.is_some() || !self.omit_nulls {
                event.insert(key.into(), json!(value));
            }
        }
        let mut root = Map::new();
        root.insert("awb".into(), json!(self.awb));
        for (key, value) in &self.extra {
            event.insert(format!("x_{key}"), json!(value));
            root.insert(format!("x_{key}"), json!(value));
        }
        root.insert("event".into(), Value::Object(event));
        serde_json::to_vec(&Value::Object(root)).expect("JSON encodes")
    }
}

fn event() -> impl Strategy<Value = Event> {
    let format = prop::sample::select(vec![
        SecondsFormat::Secs,
        SecondsFormat::Millis,
        SecondsFormat::Micros,
        SecondsFormat::Nanos,
        SecondsFormat::AutoSi,
    ]);
    (
        (any::<String>(), any::<String>(), code(), any::<String>(), prop::option::of(any::<String>())),
        (timestamp(), format, any::<bool>(), reason_code(), any::<bool>()),
        prop::collection::vec(("[a-z_]{1,12}", any::<String>()), 0..3),
    )
        .prop_map(
            |(
                (awb, event_id, code, description, location),
                (timestamp, format, use_z, reason_code, omit_nulls),
                extra,
            )| {
                Event {
                    awb,
                    event_id,
                    code,
                    description,
                    location,
                    // Written with fewer digits than it has, it would be another instant.
                    timestamp: truncate(timestamp, format),
                    written: (format, use_z),
                    reason_code,
                    omit_nulls,
                    extra,
                }
            },
        )
}

/// The instant as written with `format`, which drops digits below its precision.
fn truncate(t: DateTime<FixedOffset>, format: SecondsFormat) -> DateTime<FixedOffset> {
    use chrono::Timelike;
    let nanos = t.nanosecond();
    let kept = match format {
        SecondsFormat::Secs => 0,
        SecondsFormat::Millis => nanos / 1_000_000 * 1_000_000,
        SecondsFormat::Micros => nanos / 1_000 * 1_000,
        _ => nanos,
    };
    t.with_nanosecond(kept).expect("valid nanosecond")
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever arrives, the parser answers; an unsigned push never gets through.
    #[test]
    fn arbitrary_pushes_never_panic(
        secret in any::<String>(),
        headers in prop::collection::vec((header_name(), header_value()), 0..6),
        body in body(),
    ) {
        let push = PushRequest { headers: &headers, body: &body };
        match SANDBOX.parse_push(&secret, &push) {
            Err(PushError::BadSignature(_) | PushError::Malformed(_)) => {}
            Ok(scans) => {
                // Only possible if the generated signature happens to be right.
                let timestamp = push.header("x-sim-timestamp").unwrap_or_default();
                let expected = sign(&secret, timestamp, &body);
                prop_assert_eq!(push.header("x-sim-signature"), Some(expected.as_str()));
                prop_assert_eq!(scans.len(), 1);
            }
        }
    }

    /// Correctly signed pushes reach the timestamp check and the body parser: any timestamp
    /// text, any body. A push outside the 300 s window is refused; anything else is read or
    /// refused as malformed, never a panic.
    #[test]
    fn signed_pushes_with_any_timestamp_and_body_never_panic(
        secret in any::<String>(),
        timestamp in timestamp_header(),
        body in body(),
    ) {
        let headers = signed_headers(&secret, &timestamp, &body);
        let result = SANDBOX.parse_push(&secret, &PushRequest { headers: &headers, body: &body });
        let fresh = timestamp.parse::<i64>().is_ok_and(|t| now().abs_diff(t) <= 299);
        let stale = timestamp.parse::<i64>().map_or(true, |t| now().abs_diff(t) > 301);
        match result {
            Ok(scans) => {
                prop_assert!(!stale, "a push stamped {} was accepted", timestamp);
                prop_assert_eq!(scans.len(), 1);
            }
            Err(PushError::BadSignature(why)) => prop_assert!(!fresh, "fresh push refused: {}", why),
            Err(PushError::Malformed(_)) => prop_assert!(!stale, "stale push read as malformed"),
        }
    }

    /// A well-formed, correctly signed event is exactly one scan, in the carrier's words,
    /// with the documented status; unknown codes are kept as in_transit.
    #[test]
    fn well_formed_events_parse_to_one_mapped_scan(event in event(), secret in "[ -~]{1,40}") {
        let body = event.body();
        let headers = signed_headers(&secret, &now().to_string(), &body);
        let pushed = SANDBOX
            .parse_push(&secret, &PushRequest { headers: &headers, body: &body })
            .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&body))))?;

        prop_assert_eq!(pushed.len(), 1);
        let (tracking_number, scan) = (&pushed[0].tracking_number, &pushed[0].scan);
        prop_assert_eq!(tracking_number, &event.awb);
        prop_assert_eq!(&scan.code, &event.code);
        prop_assert_eq!(scan.status, expected_status(&event.code));
        prop_assert_eq!(scan.ndr_reason, expected_ndr_reason(&event.code, event.reason_code.as_deref()));
        prop_assert_eq!(&scan.reason_code, &event.reason_code);
        prop_assert_eq!(scan.event_id.as_deref(), Some(event.event_id.as_str()));
        prop_assert_eq!(&scan.description, &event.description);
        prop_assert_eq!(&scan.location, &event.location);
        prop_assert_eq!(scan.occurred_at, event.timestamp);
        prop_assert_eq!(scan.occurred_at.offset(), event.timestamp.offset(), "the carrier's offset is kept");
        prop_assert_eq!(&scan.raw["code"], &json!(event.code));
        prop_assert_eq!(&scan.raw["event_id"], &json!(event.event_id));

        // The same push under another secret is refused.
        let forged = signed_headers(&format!("{secret}!"), &now().to_string(), &body);
        let refused = SANDBOX.parse_push(&secret, &PushRequest { headers: &forged, body: &body });
        prop_assert!(matches!(refused, Err(PushError::BadSignature(_))), "{:?}", refused);
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions
// ---------------------------------------------------------------------------------------------

/// Every simulator code once, so the table rows are checked on every run, not by chance.
#[test]
fn every_simulator_code_maps_as_documented() {
    for (code, status) in STATUSES {
        let body = json!({"awb": "SIM0000000001", "event": {
            "event_id": "SIM0000000001-1", "code": code, "description": "d", "location": null,
            "timestamp": "2026-11-21T10:00:00+03:00", "reason_code": if *code == "UD" { Some("REF") } else { None },
        }});
        let body = serde_json::to_vec(&body).expect("JSON");
        let headers = signed_headers("s", &now().to_string(), &body);
        let pushed = SANDBOX.parse_push("s", &PushRequest { headers: &headers, body: &body }).expect(code);
        assert_eq!(pushed[0].scan.status, *status, "{code}");
        let ndr = (*code == "UD").then_some(NdrReason::Refused);
        assert_eq!(pushed[0].scan.ndr_reason, ndr, "{code}");
    }
}

/// Reproduces a bug in `src/sandbox.rs` line 390: `(Utc::now().timestamp() - sent).abs()`
/// overflows for a correctly signed timestamp far in the past. In debug builds (tests, fuzzing
/// with debug assertions) `parse_push` panics with "attempt to subtract with overflow"; in
/// release builds the subtraction wraps, and for `sent = now + i64::MIN` the difference is
/// `i64::MIN`, whose `abs()` wraps to `i64::MIN` (negative), so the freshness check passes and
/// a push stamped 292 billion years ago is accepted. `now.abs_diff(sent)` fixes both.
#[test]
fn a_signed_timestamp_near_i64_min_is_refused_not_a_panic() {
    let body = br#"{"awb":"SIM0000000001","event":{"event_id":"e","code":"DL","description":"d","location":null,"timestamp":"2026-11-21T10:00:00+03:00","reason_code":null}}"#;
    for timestamp in [i64::MIN.to_string(), now().wrapping_add(i64::MIN).to_string()] {
        let headers = signed_headers("s", &timestamp, body);
        let result = SANDBOX.parse_push("s", &PushRequest { headers: &headers, body });
        assert!(matches!(result, Err(PushError::BadSignature(_))), "{timestamp}: {result:?}");
    }
}
