//! Netgsm (Turkey), SMS REST v2 "send" (<https://www.netgsm.com.tr/dokuman/>, section
//! "SMS Gönderme – REST v2"):
//!
//! - `POST {base}/sms/rest/v2/send`, HTTP Basic auth with the subscriber code (`usercode`) and
//!   the API sub-user's password;
//! - a JSON body `{"msgheader": …, "messages": [{"msg": …, "no": …}], "encoding": "TR"}`:
//!   `msgheader` is the sender name registered with Netgsm; `encoding: "TR"` asks for Turkish
//!   characters (sent whenever the text is not plain ASCII; Netgsm documents no other script);
//!   no `iysfilter`, since shipping notices are informational, not commercial, messages;
//! - numbers: Turkish numbers (`+90…`) in the national form Netgsm documents (`5XXXXXXXXX`),
//!   others with the international `00` prefix;
//! - the answer `{"code": "00", "jobid": "…", "description": "…"}`; other codes are
//!   20 (bad text or too long), 30 (bad credentials, no API access, or a call from an IP not on
//!   the allow list), 40 (sender name not defined), 50 and 51 (İYS-controlled sending not
//!   allowed, no İYS brand), 70 (bad or missing parameters), 80 (sending limit exceeded) and
//!   85 (more than 20 identical sends to one number per minute). Only 80 and 85 pass with time,
//!   so only they are retried.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Field, Kind, SentSms, SmsError, by_status, endpoint, short};

const DEFAULT_BASE: &str = "https://api.netgsm.com.tr";

pub(super) const FIELDS: &[Field] = &[
    ("usercode", Kind::Text, true),
    ("password", Kind::Text, true),
    ("msgheader", Kind::Text, true),
    ("base_url", Kind::Text, false),
];

/// Netgsm credentials: the subscriber code, the API sub-user's password and the registered
/// sender name. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetgsmCredentials {
    pub usercode: String,
    pub password: String,
    pub msgheader: String,
    /// Replaces `https://api.netgsm.com.tr` (tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl fmt::Debug for NetgsmCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetgsmCredentials")
            .field("usercode", &self.usercode)
            .field("password", &"<redacted>")
            .field("msgheader", &self.msgheader)
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// `digits` is the E.164 number without its `+`.
pub(super) fn request(
    client: &reqwest::Client,
    credentials: &NetgsmCredentials,
    digits: &str,
    body: &str,
) -> Result<reqwest::RequestBuilder, SmsError> {
    let url = endpoint("Netgsm", &credentials.base_url, DEFAULT_BASE, &["sms", "rest", "v2", "send"])?;
    let number = match digits.strip_prefix("90") {
        Some(national) => national.to_owned(),
        None => format!("00{digits}"),
    };
    let mut payload = json!({
        "msgheader": credentials.msgheader,
        "messages": [{ "msg": body, "no": number }],
    });
    if !body.is_ascii() {
        payload["encoding"] = json!("TR");
    }
    Ok(client.post(url).basic_auth(&credentials.usercode, Some(&credentials.password)).json(&payload))
}

/// Reads Netgsm's answer to a send call.
pub fn parse_answer(status: u16, body: &[u8]) -> Result<SentSms, SmsError> {
    if status == 429 || status >= 500 {
        return Err(by_status("Netgsm", status, ""));
    }
    let Some(answer) = serde_json::from_slice::<Value>(body).ok().filter(Value::is_object) else {
        return Err(if (200..300).contains(&status) {
            SmsError::give_up("Netgsm's answer is not JSON; not retried, so the text is not sent twice")
        } else {
            by_status("Netgsm", status, "")
        });
    };
    // Netgsm writes codes as strings; accept numbers too.
    let code = match &answer["code"] {
        Value::String(code) => code.clone(),
        Value::Number(code) => format!("{:0>2}", code.to_string()),
        _ => String::new(),
    };
    if code == "00" {
        return match answer["jobid"].as_str().filter(|id| !id.is_empty()) {
            Some(jobid) => Ok(SentSms { provider_message_id: jobid.to_owned() }),
            None => Err(SmsError::give_up(
                "Netgsm accepted the message but its answer has no `jobid`; not retried, so the text is not sent twice",
            )),
        };
    }
    let description = answer["description"].as_str().map(|d| format!(": {}", short(d))).unwrap_or_default();
    let (meaning, retry) = match code.as_str() {
        "20" => ("the text is invalid or too long", false),
        "30" => ("bad credentials, no API access, or this IP is not allowed", false),
        "40" => ("the sender name (`msgheader`) is not defined", false),
        "50" => ("İYS-controlled sending is not allowed for this account", false),
        "51" => ("no İYS brand code for this account", false),
        "70" => ("invalid or missing parameters", false),
        "80" => ("the sending limit is exceeded", true),
        "85" => ("too many identical sends to this number in a minute", true),
        "" => ("the answer has no code", false),
        _ => ("an unknown code", false),
    };
    let reason = format!("Netgsm code {code} ({meaning}){description}");
    Err(if retry { SmsError::Retry { reason } } else { SmsError::GiveUp { reason } })
}
