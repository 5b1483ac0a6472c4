//! Twilio Programmable Messaging, "Create a Message resource"
//! (<https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource>):
//!
//! - `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth with the
//!   account SID and auth token;
//! - a form body with `To` (E.164), `From` (a Twilio number or alphanumeric sender id) or
//!   `MessagingServiceSid`, and `Body`;
//! - `201 Created` with the message resource, whose `sid` (`SM…`) we keep;
//! - errors as `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`
//!   (<https://www.twilio.com/docs/api/errors>): 429 and 5xx are worth retrying, any other
//!   4xx (an invalid `To`, an unsubscribed recipient, bad credentials) is not.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Field, Kind, SentSms, SmsError, by_status, endpoint, short};

const DEFAULT_BASE: &str = "https://api.twilio.com";

pub(super) const FIELDS: &[Field] = &[
    ("account_sid", Kind::Text, true),
    ("auth_token", Kind::Text, true),
    ("from", Kind::Text, false),
    ("messaging_service_sid", Kind::Text, false),
    ("base_url", Kind::Text, false),
];

/// Twilio credentials: the account SID and auth token, and either a sender (`from`) or a
/// messaging service. `Debug` never shows the auth token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioCredentials {
    pub account_sid: String,
    pub auth_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_service_sid: Option<String>,
    /// Replaces `https://api.twilio.com` (tests, regional edges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl fmt::Debug for TwilioCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioCredentials")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("from", &self.from)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl TwilioCredentials {
    /// What [`super::check_credentials`] reports beyond the fields' presence and types.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let sid_like = |sid: &str, prefix: &str| {
            sid.len() == 34 && sid.starts_with(prefix) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
        };
        if !sid_like(&self.account_sid, "AC") {
            problems.push(("/account_sid".into(), "must be `AC` followed by 32 hexadecimal digits".into()));
        }
        match (&self.from, &self.messaging_service_sid) {
            (None, None) => problems.push(("/from".into(), "give `from` or `messaging_service_sid`".into())),
            (Some(_), Some(_)) => problems
                .push(("/messaging_service_sid".into(), "give `from` or `messaging_service_sid`, not both".into())),
            (None, Some(sid)) if !sid_like(sid, "MG") => problems
                .push(("/messaging_service_sid".into(), "must be `MG` followed by 32 hexadecimal digits".into())),
            _ => {}
        }
        problems
    }
}

pub(super) fn request(
    client: &reqwest::Client,
    credentials: &TwilioCredentials,
    to: &str,
    body: &str,
) -> Result<reqwest::RequestBuilder, SmsError> {
    let url = endpoint(
        "Twilio",
        &credentials.base_url,
        DEFAULT_BASE,
        &["2010-04-01", "Accounts", &credentials.account_sid, "Messages.json"],
    )?;
    // A messaging service picks the sender itself, so it wins when both are set.
    let sender = match (&credentials.messaging_service_sid, &credentials.from) {
        (Some(sid), _) => ("MessagingServiceSid", sid.as_str()),
        (None, Some(from)) => ("From", from.as_str()),
        (None, None) => {
            return Err(SmsError::give_up("the Twilio settings name neither `from` nor a messaging service"));
        }
    };
    Ok(client.post(url).basic_auth(&credentials.account_sid, Some(&credentials.auth_token)).form(&[
        ("To", to),
        sender,
        ("Body", body),
    ]))
}

#[derive(Deserialize)]
struct Answer {
    sid: Option<String>,
    code: Option<u64>,
    message: Option<String>,
}

/// Reads Twilio's answer to a create-message call.
pub fn parse_answer(status: u16, body: &[u8]) -> Result<SentSms, SmsError> {
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        return match answer.and_then(|a| a.sid).filter(|sid| !sid.is_empty()) {
            Some(sid) => Ok(SentSms { provider_message_id: sid }),
            None => Err(SmsError::give_up(
                "Twilio accepted the message but its answer has no `sid`; not retried, so the text is not sent twice",
            )),
        };
    }
    let detail = match answer {
        Some(Answer { code: Some(code), message, .. }) => {
            let meaning = meaning(code).map(|m| format!(" ({m})")).unwrap_or_default();
            let message = message.map(|m| format!(": {}", short(&m))).unwrap_or_default();
            format!(", error {code}{meaning}{message}")
        }
        _ => String::new(),
    };
    Err(by_status("Twilio", status, &detail))
}

/// The Twilio error codes a sender meets most, in a few words.
fn meaning(code: u64) -> Option<&'static str> {
    Some(match code {
        20003 => "authentication failed",
        20429 => "too many requests",
        21211 => "invalid `To` number",
        21408 => "sending to this region is not enabled",
        21610 => "the recipient has unsubscribed",
        21612 => "this `To` cannot be reached from this sender",
        21614 => "`To` is not a mobile number",
        21617 => "the body is too long",
        _ => return None,
    })
}
