//! SMS over HTTP providers: Twilio, Netgsm (Turkey) and MSG91 (India), each called as its own
//! published API describes (see each module's docs for the endpoint and fields followed).
//!
//! Every call goes through [`waybill_outbound::Outbound`]: the guarded client in live mode (a
//! tenant's `base_url` cannot point Waybill into its own network), the open one in test mode.
//! A failure is sorted by whether trying again can help ([`SmsError`]); an error carries the
//! provider's own error code and a short message, never its raw answer (answers can echo
//! credentials). An answer showing the provider accepted the text, but without a readable id,
//! is not retried. A timeout is retried although the provider may have accepted the request
//! (none of the three offers an idempotency key), so a lost answer can send a text twice.

mod msg91;
mod netgsm;
mod twilio;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use waybill_outbound::{Outbound, read_limited, refused_reason};

pub use msg91::{Msg91Credentials, parse_answer as parse_msg91_answer};
pub use netgsm::{NetgsmCredentials, parse_answer as parse_netgsm_answer};
pub use twilio::{TwilioCredentials, parse_answer as parse_twilio_answer};

/// A tenant's SMS provider and its credentials, as stored: `{"provider": "twilio", …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum SmsProvider {
    Twilio(TwilioCredentials),
    Netgsm(NetgsmCredentials),
    Msg91(Msg91Credentials),
}

impl SmsProvider {
    /// The provider's name, as `provider` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            SmsProvider::Twilio(_) => "twilio",
            SmsProvider::Netgsm(_) => "netgsm",
            SmsProvider::Msg91(_) => "msg91",
        }
    }
}

/// A text the provider accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The provider's id for the message (Twilio `sid`, Netgsm `jobid`, MSG91 request id).
    pub provider_message_id: String,
}

/// Why a text was not sent, sorted by whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Timeouts, connection failures, 5xx and 429 answers, the provider's own rate limits.
    #[error("SMS not sent, will retry: {reason}")]
    Retry { reason: String },
    /// Invalid numbers, bad credentials, rejected content, refused destinations.
    #[error("SMS not sent: {reason}")]
    GiveUp { reason: String },
}

impl SmsError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SmsError::Retry { .. })
    }

    fn retry(reason: impl Into<String>) -> Self {
        SmsError::Retry { reason: reason.into() }
    }

    fn give_up(reason: impl Into<String>) -> Self {
        SmsError::GiveUp { reason: reason.into() }
    }
}

/// Sends texts through the tenant's provider.
#[derive(Debug, Clone)]
pub struct SmsSender {
    outbound: Outbound,
}

impl SmsSender {
    pub fn new(outbound: Outbound) -> Self {
        Self { outbound }
    }

    /// Sends `body` to `to` (E.164, `+` and 8 to 15 digits). `restricted` is true in live mode.
    pub async fn send(
        &self,
        provider: &SmsProvider,
        restricted: bool,
        to: &str,
        body: &str,
    ) -> Result<SentSms, SmsError> {
        let digits = e164_digits(to)?;
        if body.trim().is_empty() {
            return Err(SmsError::give_up("the message text is empty"));
        }
        let client = self.outbound.client(restricted);
        let (request, name) = match provider {
            SmsProvider::Twilio(credentials) => (twilio::request(client, credentials, to, body)?, "Twilio"),
            SmsProvider::Netgsm(credentials) => (netgsm::request(client, credentials, digits, body)?, "Netgsm"),
            SmsProvider::Msg91(credentials) => (msg91::request(client, credentials, digits, body)?, "MSG91"),
        };
        let response = request.send().await.map_err(|e| sort_transport(name, e))?;
        let status = response.status();
        let answer = match read_limited(response, self.outbound.max_response_bytes()).await {
            Ok(answer) => answer,
            Err(e) if status.is_success() => {
                return Err(SmsError::give_up(format!(
                    "{name} accepted the request but its answer could not be read ({e}); not retried, so the \
                     text is not sent twice"
                )));
            }
            Err(_) => Vec::new(),
        };
        match provider {
            SmsProvider::Twilio(_) => twilio::parse_answer(status.as_u16(), &answer),
            SmsProvider::Netgsm(_) => netgsm::parse_answer(status.as_u16(), &answer),
            SmsProvider::Msg91(_) => msg91::parse_answer(status.as_u16(), &answer),
        }
    }
}

/// The digits of an E.164 number, without the `+`.
fn e164_digits(to: &str) -> Result<&str, SmsError> {
    match to.strip_prefix('+') {
        Some(digits)
            if (8..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0') =>
        {
            Ok(digits)
        }
        _ => Err(SmsError::give_up(format!("`{to}` is not an E.164 phone number (`+` and 8 to 15 digits)"))),
    }
}

fn sort_transport(name: &str, e: reqwest::Error) -> SmsError {
    if let Some(refused) = refused_reason(&e) {
        return SmsError::give_up(format!("the {name} address is refused: {refused}"));
    }
    if e.is_builder() {
        return SmsError::give_up(format!("the {name} request cannot be built: {}", e.without_url()));
    }
    if e.is_timeout() {
        return SmsError::retry(format!("{name} did not answer in time"));
    }
    SmsError::retry(format!("cannot reach {name}: {}", e.without_url()))
}

/// Sorts an answer by its HTTP status alone: 429 and 5xx retry, everything else gives up.
fn by_status(name: &str, status: u16, detail: &str) -> SmsError {
    let reason = format!("{name} answered HTTP {status}{detail}");
    if status == 429 || status >= 500 { SmsError::Retry { reason } } else { SmsError::GiveUp { reason } }
}

/// A provider's message cut to a short, single-line excerpt.
fn short(message: &str) -> String {
    let mut out: String = message.chars().filter(|c| !c.is_control()).take(120).collect();
    if message.chars().count() > 120 {
        out.push('…');
    }
    out
}

/// `segments` appended to `base_url` (or the provider's own base), each escaped as one segment.
fn endpoint(name: &str, base_url: &Option<String>, default: &str, segments: &[&str]) -> Result<reqwest::Url, SmsError> {
    let mut url = reqwest::Url::parse(base_url.as_deref().unwrap_or(default))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| SmsError::give_up(format!("the {name} `base_url` is not an http or https URL")))?;
    url.path_segments_mut()
        .map_err(|()| SmsError::give_up(format!("the {name} `base_url` cannot take a path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// What kind of value a credential field holds.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bool,
}

/// A credential field: its name, kind, and whether it is required.
type Field = (&'static str, Kind, bool);

/// Checks provider settings as a tenant sends them; each problem is a JSON pointer and a
/// detail the API shows as a 422 problem.
pub fn check_credentials(value: &Value) -> Result<SmsProvider, Vec<(String, String)>> {
    let Some(object) = value.as_object() else {
        return Err(vec![(String::new(), "must be an object with a `provider` field".into())]);
    };
    let expected = "one of `twilio`, `netgsm`, `msg91`";
    let fields: &[Field] = match object.get("provider") {
        None => return Err(vec![("/provider".into(), format!("required: {expected}"))]),
        Some(Value::String(p)) if p == "twilio" => twilio::FIELDS,
        Some(Value::String(p)) if p == "netgsm" => netgsm::FIELDS,
        Some(Value::String(p)) if p == "msg91" => msg91::FIELDS,
        Some(Value::String(p)) => {
            return Err(vec![("/provider".into(), format!("unknown provider `{p}`; {expected}"))]);
        }
        Some(_) => return Err(vec![("/provider".into(), format!("must be a string: {expected}"))]),
    };

    let mut problems = Vec::new();
    for key in object.keys().filter(|k| *k != "provider") {
        if !fields.iter().any(|(name, ..)| name == key) {
            let known: Vec<_> = fields.iter().map(|(name, ..)| format!("`{name}`")).collect();
            problems.push((pointer(key), format!("unknown field; the fields are `provider`, {}", known.join(", "))));
        }
    }
    for &(name, kind, required) in fields {
        match (object.get(name), kind) {
            (None | Some(Value::Null), _) if required => problems.push((pointer(name), "required".into())),
            (None | Some(Value::Null), _) => {}
            (Some(Value::String(s)), Kind::Text) if s.trim().is_empty() => {
                problems.push((pointer(name), "must not be empty".into()))
            }
            (Some(Value::String(_)), Kind::Text) | (Some(Value::Bool(_)), Kind::Bool) => {}
            (Some(_), Kind::Text) => problems.push((pointer(name), "must be a string".into())),
            (Some(_), Kind::Bool) => problems.push((pointer(name), "must be true or false".into())),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let provider: SmsProvider =
        serde_json::from_value(value.clone()).map_err(|e| vec![(String::new(), e.to_string())])?;
    let (base_url, mut problems) = match &provider {
        SmsProvider::Twilio(c) => (&c.base_url, c.problems()),
        SmsProvider::Netgsm(c) => (&c.base_url, Vec::new()),
        SmsProvider::Msg91(c) => (&c.base_url, Vec::new()),
    };
    if base_url.is_some() && endpoint("SMS", base_url, "", &[]).is_err() {
        problems.push(("/base_url".into(), "must be an http or https URL".into()));
    }
    if problems.is_empty() { Ok(provider) } else { Err(problems) }
}

/// The JSON pointer of a top-level field (RFC 6901 escapes).
fn pointer(field: &str) -> String {
    format!("/{}", field.replace('~', "~0").replace('/', "~1"))
}
