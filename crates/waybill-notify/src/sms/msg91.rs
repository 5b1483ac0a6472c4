//! MSG91 (India), "Send SMS" through a Flow (<https://docs.msg91.com/sms/send-sms>):
//!
//! - `POST {base}/api/v5/flow` with the `authkey` header and a JSON body
//!   `{"template_id": …, "short_url": "0", "recipients": [{"mobiles": "91…", "<variable>": …}]}`;
//! - the answer `{"type": "success", "message": "<request id>"}` or
//!   `{"type": "error", "message": "…"}`.
//!
//! The trade-off: Indian operators deliver only texts matching a template registered on the
//! DLT platform, so MSG91 sends templates, not free text. The credentials name one template
//! whose body is a single variable (`variable`, `message` by default), and our rendered text
//! is passed as that variable. The operator checks the text against the template registered
//! for it, so a template of the form `{#var#}` alone may be refused by DLT scrutiny; a
//! tenant whose template has fixed words around the variable gets only those words plus ours.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Field, Kind, SentSms, SmsError, by_status, endpoint, short};

const DEFAULT_BASE: &str = "https://control.msg91.com";

const DEFAULT_VARIABLE: &str = "message";

pub(super) const FIELDS: &[Field] = &[
    ("authkey", Kind::Text, true),
    ("template_id", Kind::Text, true),
    ("variable", Kind::Text, false),
    ("short_url", Kind::Bool, false),
    ("base_url", Kind::Text, false),
];

/// MSG91 credentials: the auth key and the DLT-registered Flow template the text goes
/// through. `Debug` never shows the auth key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Msg91Credentials {
    pub authkey: String,
    pub template_id: String,
    /// The template variable that carries the text; `message` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// Whether MSG91 shortens links in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_url: Option<bool>,
    /// Replaces `https://control.msg91.com` (tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl fmt::Debug for Msg91Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Msg91Credentials")
            .field("authkey", &"<redacted>")
            .field("template_id", &self.template_id)
            .field("variable", &self.variable)
            .field("short_url", &self.short_url)
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// `digits` is the E.164 number without its `+`, the international form MSG91 asks for.
pub(super) fn request(
    client: &reqwest::Client,
    credentials: &Msg91Credentials,
    digits: &str,
    body: &str,
) -> Result<reqwest::RequestBuilder, SmsError> {
    let url = endpoint("MSG91", &credentials.base_url, DEFAULT_BASE, &["api", "v5", "flow"])?;
    let mut recipient = Map::new();
    recipient.insert("mobiles".into(), json!(digits));
    recipient.insert(credentials.variable.as_deref().unwrap_or(DEFAULT_VARIABLE).into(), json!(body));
    let payload = json!({
        "template_id": credentials.template_id,
        "short_url": if credentials.short_url == Some(true) { "1" } else { "0" },
        "recipients": [recipient],
    });
    Ok(client.post(url).header("authkey", &credentials.authkey).header("accept", "application/json").json(&payload))
}

/// Reads MSG91's answer to a Flow call.
pub fn parse_answer(status: u16, body: &[u8]) -> Result<SentSms, SmsError> {
    if status == 429 || status >= 500 {
        return Err(by_status("MSG91", status, ""));
    }
    let answer = serde_json::from_slice::<Value>(body).ok().filter(Value::is_object);
    let message = answer.as_ref().and_then(|a| a["message"].as_str()).unwrap_or_default();
    match answer.as_ref().and_then(|a| a["type"].as_str()) {
        Some("success") if (200..300).contains(&status) && !message.is_empty() => {
            Ok(SentSms { provider_message_id: message.to_owned() })
        }
        Some("error") => {
            let code = match answer.as_ref().and_then(|a| a.get("code")) {
                Some(Value::String(code)) => format!(" {}", short(code)),
                Some(Value::Number(code)) => format!(" {code}"),
                _ => String::new(),
            };
            Err(SmsError::give_up(format!("MSG91 error{code} (HTTP {status}): {}", short(message))))
        }
        _ if (200..300).contains(&status) => {
            Err(SmsError::give_up("MSG91's answer names no request id; not retried, so the text is not sent twice"))
        }
        _ => Err(by_status("MSG91", status, "")),
    }
}
