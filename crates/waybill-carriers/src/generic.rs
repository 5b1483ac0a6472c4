//! `generic`: a carrier without an API, described by the tenant in the account's settings
//! (its name, services, where tracking numbers come from, its tracking page). Waybill prints
//! the label and the merchant reports scans (CSV upload or the events API), so this adapter
//! calls nobody: the engine books these accounts itself from the settings it keeps.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use waybill_core::FieldError;

use crate::model::*;
use crate::{Carrier, CarrierError};

pub const SLUG: &str = "generic";

/// The placeholder `tracking_url` must contain.
pub const URL_PLACEHOLDER: &str = "{tracking_number}";

/// Longest tracking number accepted: the label's Code 128 must still fit across 4 in.
const MAX_TRACKING_NUMBER: usize = 40;

/// Ranges end below this so every number fits a BIGINT column.
const MAX_RANGE_NUMBER: u64 = 999_999_999_999_999;

/// An account's description of its carrier, as the tenant gave it (checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Printed on the label and shown as the carrier's name.
    pub name: String,
    pub services: Vec<ConfiguredService>,
    pub tracking_numbers: TrackingNumbers,
    /// The carrier's tracking page, with `{tracking_number}` where the number goes.
    pub tracking_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfiguredService {
    pub code: String,
    pub name: String,
}

/// Where a shipment's tracking number comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingNumbers {
    /// The merchant gives each number (e.g. from pre-printed labels); it must match fully.
    Pattern(String),
    /// Waybill hands out the numbers in order.
    Range(NumberRange),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberRange {
    pub prefix: String,
    pub first: u64,
    pub last: u64,
    #[serde(default)]
    pub suffix: String,
    /// Digits the number is zero-padded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
}

impl NumberRange {
    /// The tracking number for `n` of the range.
    pub fn tracking_number(&self, n: u64) -> String {
        let width = self.width.unwrap_or(0) as usize;
        format!("{}{n:0width$}{}", self.prefix, self.suffix)
    }
}

fn full_match(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$")).size_limit(1 << 20).build()
}

/// Letters, digits and dashes: what prints and scans the same everywhere.
fn plain(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn text(obj: &Map<String, Value>, key: &str, at: &str, max: usize, problems: &mut Vec<FieldError>) -> String {
    match obj.get(key).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => s.to_owned(),
        _ => {
            problems.push(FieldError::new(format!("{at}/{key}"), format!("must be a string of 1 to {max} characters")));
            String::new()
        }
    }
}

fn unknown_keys(obj: &Map<String, Value>, known: &[&str], at: &str, problems: &mut Vec<FieldError>) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(FieldError::new(format!("{at}/{key}"), "is not a setting of generic carriers"));
    }
}

impl Settings {
    /// Reads and checks `settings` of a new account; every problem points under `/settings`.
    pub fn parse(settings: Option<&Value>) -> Result<Self, Vec<FieldError>> {
        let Some(obj) = settings.and_then(Value::as_object) else {
            return Err(vec![FieldError::new(
                "/settings",
                "a generic carrier account needs settings: name, services, tracking_numbers and tracking_url",
            )]);
        };
        let mut problems = Vec::new();
        unknown_keys(obj, &["name", "services", "tracking_numbers", "tracking_url"], "/settings", &mut problems);
        let name = text(obj, "name", "/settings", 40, &mut problems);
        let services = parse_services(obj.get("services"), &mut problems);
        let tracking_numbers = parse_numbers(obj.get("tracking_numbers"), &mut problems);
        let tracking_url = match obj.get("tracking_url").and_then(Value::as_str).map(str::trim) {
            Some(url)
                if (url.starts_with("http://") || url.starts_with("https://"))
                    && url.contains(URL_PLACEHOLDER)
                    && reqwest::Url::parse(&url.replace(URL_PLACEHOLDER, "X")).is_ok() =>
            {
                url.to_owned()
            }
            _ => {
                problems.push(FieldError::new(
                    "/settings/tracking_url",
                    format!("must be an http:// or https:// URL containing {URL_PLACEHOLDER}"),
                ));
                String::new()
            }
        };
        match tracking_numbers {
            Some(tracking_numbers) if problems.is_empty() => {
                Ok(Self { name, services, tracking_numbers, tracking_url })
            }
            _ => Err(problems),
        }
    }

    pub fn service(&self, code: &str) -> Option<&ConfiguredService> {
        self.services.iter().find(|s| s.code == code)
    }

    /// The tracking page for `tracking_number` (URL-encoded into the template).
    pub fn tracking_url_for(&self, tracking_number: &str) -> String {
        self.tracking_url.replace(URL_PLACEHOLDER, &url_encode(tracking_number))
    }

    /// Checks a number the merchant gave against the account's pattern.
    pub fn check_tracking_number(&self, tracking_number: &str) -> Result<(), String> {
        let TrackingNumbers::Pattern(pattern) = &self.tracking_numbers else {
            return Err("this account hands out numbers from its range; do not send one".into());
        };
        if tracking_number.is_empty()
            || tracking_number.len() > MAX_TRACKING_NUMBER
            || !tracking_number.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(format!("must be 1 to {MAX_TRACKING_NUMBER} printable ASCII characters"));
        }
        let re = full_match(pattern).map_err(|e| format!("the account's pattern does not compile: {e}"))?;
        if re.is_match(tracking_number) {
            Ok(())
        } else {
            Err(format!("`{tracking_number}` does not match this account's pattern `{pattern}`"))
        }
    }
}

fn parse_services(value: Option<&Value>, problems: &mut Vec<FieldError>) -> Vec<ConfiguredService> {
    let Some(items) = value.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        problems.push(FieldError::new("/settings/services", "at least one service `{code, name}` is required"));
        return vec![];
    };
    let mut services: Vec<ConfiguredService> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/settings/services/{i}");
        let Some(obj) = item.as_object() else {
            problems.push(FieldError::new(at, "must be an object `{code, name}`"));
            continue;
        };
        unknown_keys(obj, &["code", "name"], &at, problems);
        let code = text(obj, "code", &at, 32, problems);
        let name = text(obj, "name", &at, 40, problems);
        if !code.is_empty() && !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            problems.push(FieldError::new(format!("{at}/code"), "use letters, digits, `_` and `-` only"));
        } else if services.iter().any(|s| s.code == code) {
            problems.push(FieldError::new(format!("{at}/code"), format!("service `{code}` is listed twice")));
        }
        services.push(ConfiguredService { code, name });
    }
    services
}

fn parse_numbers(value: Option<&Value>, problems: &mut Vec<FieldError>) -> Option<TrackingNumbers> {
    const AT: &str = "/settings/tracking_numbers";
    let obj = value.and_then(Value::as_object).filter(|o| o.len() == 1);
    match obj.and_then(|o| o.iter().next()) {
        Some((key, Value::String(pattern))) if key == "pattern" => match full_match(pattern) {
            Ok(_) if !pattern.is_empty() => Some(TrackingNumbers::Pattern(pattern.clone())),
            Ok(_) => {
                problems.push(FieldError::new(format!("{AT}/pattern"), "must not be empty"));
                None
            }
            Err(e) => {
                problems
                    .push(FieldError::new(format!("{AT}/pattern"), format!("is not a valid regular expression: {e}")));
                None
            }
        },
        Some((key, Value::Object(range))) if key == "range" => parse_range(range, problems).map(TrackingNumbers::Range),
        _ => {
            problems.push(FieldError::new(
                AT,
                r#"must be either {"pattern": "<regex>"} or {"range": {"prefix", "first", "last", "suffix", "width"}}"#,
            ));
            None
        }
    }
}

fn parse_range(obj: &Map<String, Value>, problems: &mut Vec<FieldError>) -> Option<NumberRange> {
    const AT: &str = "/settings/tracking_numbers/range";
    let before = problems.len();
    unknown_keys(obj, &["prefix", "first", "last", "suffix", "width"], AT, problems);
    let mut affix = |key: &str, required: bool| match obj.get(key) {
        None if !required => String::new(),
        Some(Value::String(s)) if s.len() <= 20 && plain(s) => s.clone(),
        _ => {
            problems
                .push(FieldError::new(format!("{AT}/{key}"), "must be a string of up to 20 letters, digits or dashes"));
            String::new()
        }
    };
    let prefix = affix("prefix", true);
    let suffix = affix("suffix", false);
    let mut number = |key: &str| match obj.get(key).and_then(Value::as_u64) {
        Some(n) if n <= MAX_RANGE_NUMBER => Some(n),
        _ => {
            problems.push(FieldError::new(
                format!("{AT}/{key}"),
                format!("must be a whole number from 0 to {MAX_RANGE_NUMBER}"),
            ));
            None
        }
    };
    let first = number("first");
    let last = number("last");
    if let (Some(first), Some(last)) = (first, last)
        && first > last
    {
        problems.push(FieldError::new(format!("{AT}/first"), format!("first ({first}) is greater than last ({last})")));
    }
    let width = match obj.get("width") {
        None => None,
        Some(w) => match w.as_u64().filter(|w| (1..=20).contains(w)) {
            Some(w) if last.is_none_or(|last| last.to_string().len() as u64 <= w) => Some(w as u32),
            _ => {
                problems.push(FieldError::new(
                    format!("{AT}/width"),
                    "must be a whole number from 1 to 20, at least the digits of `last`",
                ));
                None
            }
        },
    };
    if problems.len() > before {
        return None;
    }
    Some(NumberRange { prefix, first: first?, last: last?, suffix, width })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct Generic {
    info: CarrierInfo,
}

impl Default for Generic {
    fn default() -> Self {
        Self::new()
    }
}

impl Generic {
    pub fn new() -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "Generic carrier (no API)",
            // Each account lists its own services in its settings.
            services: vec![],
            capabilities: Capabilities {
                rates: false,
                cancel: true,
                track: false,
                push: false,
                push_at_booking: false,
                find_booking: false,
                cash_on_delivery: true,
                address_validation: false,
                pickup: false,
                pickup_cancel: false,
                manifest: false,
                update: false,
                rto_request: false,
                serviceability: false,
                returns: false,
                ndr: false,
            },
            credentials: CredentialSchema { fields: vec![] },
            test_base_url: None,
            live_base_url: None,
            carrier_label_formats: vec![],
        };
        Self { info }
    }
}

#[async_trait::async_trait]
impl Carrier for Generic {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    /// No credentials: an empty object, or none at all.
    fn check_credentials(&self, credentials: &Value) -> Result<(), Vec<FieldError>> {
        if credentials.is_null() { Ok(()) } else { self.info.credentials.check(credentials) }
    }

    async fn rate(&self, _account: &Account<'_>, _request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        Err(CarrierError::Unsupported { carrier: SLUG, operation: "rates" })
    }

    /// The numbers live in the account's settings, which the engine holds: it books generic
    /// accounts itself and never calls this.
    async fn book(&self, _account: &Account<'_>, _request: &BookingRequest) -> Result<Booking, CarrierError> {
        Err(CarrierError::Unsupported { carrier: SLUG, operation: "bookings through an API" })
    }

    async fn find_booking(&self, _account: &Account<'_>, _reference: &str) -> Result<Option<Booking>, CarrierError> {
        Err(CarrierError::Unsupported { carrier: SLUG, operation: "booking look-ups" })
    }

    /// Nobody else holds the booking: cancelling is Waybill's own record of it.
    async fn cancel(&self, _account: &Account<'_>, _booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        Ok(())
    }

    /// Scans arrive from the merchant; there is nothing to pull.
    async fn track(&self, _account: &Account<'_>, _tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        Ok(vec![])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pointers(settings: Value) -> Vec<String> {
        Settings::parse(Some(&settings)).unwrap_err().into_iter().map(|e| e.pointer).collect()
    }

    fn range_settings() -> Value {
        json!({"name": "Kuryem", "services": [{"code": "std", "name": "Standard"}],
               "tracking_numbers": {"range": {"prefix": "KY", "first": 7, "last": 12, "width": 6}},
               "tracking_url": "https://kuryem.example/t?n={tracking_number}"})
    }

    #[test]
    fn a_range_prints_zero_padded_numbers() {
        let s = Settings::parse(Some(&range_settings())).unwrap();
        let TrackingNumbers::Range(range) = &s.tracking_numbers else { panic!("a range") };
        assert_eq!(range.tracking_number(7), "KY000007");
        assert_eq!(s.tracking_url_for("KY 7/8"), "https://kuryem.example/t?n=KY%207%2F8");
    }

    #[test]
    fn every_bad_field_has_its_pointer() {
        let mut s = range_settings();
        s["tracking_numbers"]["range"]["first"] = json!(13);
        s["tracking_url"] = json!("https://kuryem.example/t");
        s["services"] = json!([]);
        s["color"] = json!("red");
        let mut got = pointers(s);
        got.sort();
        assert_eq!(
            got,
            [
                "/settings/color",
                "/settings/services",
                "/settings/tracking_numbers/range/first",
                "/settings/tracking_url"
            ]
        );
        let mut s = range_settings();
        s["tracking_numbers"] = json!({"pattern": "KY[0-9"});
        assert_eq!(pointers(s), ["/settings/tracking_numbers/pattern"]);
    }

    #[test]
    fn a_pattern_must_match_the_whole_number() {
        let mut s = range_settings();
        s["tracking_numbers"] = json!({"pattern": "KY[0-9]{4}"});
        let s = Settings::parse(Some(&s)).unwrap();
        assert!(s.check_tracking_number("KY1234").is_ok());
        assert!(s.check_tracking_number("KY12345").is_err());
        assert!(s.check_tracking_number("xKY1234").is_err());
    }
}
