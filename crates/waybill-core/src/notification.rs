//! Customer notifications: what a tenant chooses to send, each message with its outcome, and
//! the rules that need no I/O (which milestones are on, quiet hours, masking recipients).

use std::collections::BTreeMap;

use chrono::{NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::{NotificationId, ShipmentId};
use crate::message::{Language, MessageChannel, Milestone};
use crate::scope::Scope;

crate::named_enum! {
    /// Where one message stands.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum NotificationState as "snake_case" {
        Queued,
        Sent,
        /// The provider refused it for good, or every retry failed.
        Failed,
        /// Not sent on purpose: no address, the recipient opted out, no provider set up.
        Suppressed,
    }
}

/// Which channels a milestone goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Channels {
    #[serde(default)]
    pub email: bool,
    #[serde(default)]
    pub sms: bool,
}

impl Channels {
    pub fn on(self, channel: MessageChannel) -> bool {
        match channel {
            MessageChannel::Email => self.email,
            MessageChannel::Sms => self.sms,
        }
    }
}

/// SMS are held, not dropped, between `start` and `end` in the recipient's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, e.g. `21:00`.
    #[cfg_attr(feature = "openapi", schema(max_length = 5))]
    pub start: String,
    /// `HH:MM`, e.g. `08:00`.
    #[cfg_attr(feature = "openapi", schema(max_length = 5))]
    pub end: String,
}

impl QuietHours {
    fn times(&self) -> Option<(NaiveTime, NaiveTime)> {
        Some((
            NaiveTime::parse_from_str(&self.start, "%H:%M").ok()?,
            NaiveTime::parse_from_str(&self.end, "%H:%M").ok()?,
        ))
    }

    /// How many minutes from local time `now` until the quiet hours end; `None` outside them.
    pub fn minutes_left(&self, now: NaiveTime) -> Option<u32> {
        let (start, end) = self.times()?;
        let minute = |t: NaiveTime| t.hour() * 60 + t.minute();
        let (s, e, n) = (minute(start), minute(end), minute(now));
        let quiet = if s <= e { n >= s && n < e } else { n >= s || n < e };
        quiet.then(|| (e + 24 * 60 - n) % (24 * 60))
    }
}

/// A tenant's choices for one mode, as stored and as the API shows them (the SMS provider's
/// credentials are sealed apart and never shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationSettings {
    /// Per milestone, the channels it goes out on; a milestone not listed sends nothing.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub triggers: BTreeMap<Milestone, Channels>,
    /// For customers whose order and country say nothing Waybill speaks.
    pub default_language: Language,
    /// The sender's name (the store's name when absent).
    pub sender_name: Option<String>,
    /// The `From` address; email is not sent until it is set (or the operator's default is).
    pub sender_address: Option<String>,
    pub reply_to: Option<String>,
    pub quiet_hours: Option<QuietHours>,
    /// The IANA time zone of quiet hours for recipients in countries with several zones.
    pub timezone: String,
    /// Which SMS provider is set up (its credentials are sealed apart).
    pub sms_provider: Option<String>,
    /// Where Waybill writes to the merchant about what needs them (a webhook endpoint
    /// disabled after failing for days).
    #[serde(default)]
    pub merchant_email: Option<String>,
    /// The tenant's own SMTP server as `host:port`, when it sends through its own (the URL,
    /// with the password, is sealed apart and never shown).
    #[serde(default)]
    pub smtp_server: Option<String>,
}

impl Default for NotificationSettings {
    /// Shipped, out for delivery, failed and delivered by email; SMS off until a provider is set.
    fn default() -> Self {
        let triggers = Milestone::ALL
            .iter()
            .map(|m| (*m, Channels { email: m.on_by_default(MessageChannel::Email), sms: false }))
            .collect();
        Self {
            triggers,
            default_language: Language::En,
            sender_name: None,
            sender_address: None,
            reply_to: None,
            quiet_hours: Some(QuietHours { start: "21:00".into(), end: "08:00".into() }),
            timezone: "UTC".into(),
            sms_provider: None,
            merchant_email: None,
            smtp_server: None,
        }
    }
}

impl NotificationSettings {
    pub fn sends(&self, milestone: Milestone, channel: MessageChannel) -> bool {
        self.triggers.get(&milestone).is_some_and(|c| c.on(channel))
    }
}

/// One message to one customer about one milestone of one shipment.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    pub scope: Scope,
    pub shipment_id: ShipmentId,
    pub milestone: Milestone,
    pub channel: MessageChannel,
    pub language: Language,
    /// `default` (Waybill's) or `custom` (the tenant's).
    pub template: String,
    /// The address or number, as it was when the message was queued.
    pub recipient: String,
    pub state: NotificationState,
    /// Why it failed or was suppressed.
    pub reason: Option<String>,
    pub provider_message_id: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A recipient as logs and the API show it: enough to recognise, not enough to reuse
/// (`a•••@example.com`, `+90•••••••67`).
pub fn mask(recipient: &str) -> String {
    match recipient.split_once('@') {
        Some((local, domain)) => format!("{}•••@{domain}", local.chars().next().unwrap_or('•')),
        None => {
            let chars: Vec<char> = recipient.chars().collect();
            let keep_start = chars.len().min(3);
            let keep_end = 2.min(chars.len().saturating_sub(keep_start));
            let hidden = chars.len() - keep_start - keep_end;
            let start: String = chars[..keep_start].iter().collect();
            let end: String = chars[chars.len() - keep_end..].iter().collect();
            format!("{start}{}{end}", "•".repeat(hidden))
        }
    }
}

/// Problems with quiet hours, at `/quiet_hours/…`.
pub fn quiet_hours_problems(q: &QuietHours) -> Vec<FieldError> {
    let mut out = Vec::new();
    for (field, value) in [("start", &q.start), ("end", &q.end)] {
        if NaiveTime::parse_from_str(value, "%H:%M").is_err() || value.len() != 5 {
            out.push(FieldError::new(format!("/quiet_hours/{field}"), "a time as HH:MM, e.g. 21:00"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn quiet_hours_across_midnight_hold_until_morning() {
        let q = QuietHours { start: "21:00".into(), end: "08:00".into() };
        assert_eq!(q.minutes_left(at(20, 59)), None);
        assert_eq!(q.minutes_left(at(21, 0)), Some(11 * 60));
        assert_eq!(q.minutes_left(at(7, 30)), Some(30));
        assert_eq!(q.minutes_left(at(8, 0)), None);
        let day = QuietHours { start: "12:00".into(), end: "13:00".into() };
        assert_eq!(day.minutes_left(at(12, 15)), Some(45));
        assert_eq!(day.minutes_left(at(13, 15)), None);
    }

    #[test]
    fn defaults_send_four_milestones_by_email_and_no_sms() {
        let s = NotificationSettings::default();
        let on: Vec<_> =
            Milestone::ALL.iter().filter(|m| s.sends(**m, MessageChannel::Email)).map(|m| m.as_str()).collect();
        assert_eq!(on, ["booked", "out_for_delivery", "delivery_failed", "delivered"]);
        assert!(Milestone::ALL.iter().all(|m| !s.sends(*m, MessageChannel::Sms)));
    }

    #[test]
    fn opt_outs_take_an_address_or_an_e164_number_and_match_without_case() {
        let sms = |r: &str| OptOut { channel: MessageChannel::Sms, recipient: r.into() }.problems().len();
        assert_eq!(sms("+905321234567"), 0);
        for bad in ["+", "0532", "+90 532", "+1234567", "+1234567890123456"] {
            assert_eq!(sms(bad), 1, "{bad}");
        }
        let email = OptOut { channel: MessageChannel::Email, recipient: "no at sign".into() };
        assert_eq!(email.problems()[0].pointer, "/recipient");
        assert_eq!(recipient_key(MessageChannel::Email, " Sukru@Example.com "), "sukru@example.com");
    }

    #[test]
    fn recipients_are_masked() {
        assert_eq!(mask("ayse@example.com"), "a•••@example.com");
        assert_eq!(mask("+905321234567"), "+90••••••••67");
        assert_eq!(mask("12"), "12");
        assert_eq!(
            quiet_hours_problems(&QuietHours { start: "25:00".into(), end: "8".into() }).len(),
            2,
            "both times are pointed at"
        );
    }
}

/// `PUT /v1/notification-settings`: the whole of a tenant's choices for the key's mode.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "triggers": {"booked": {"email": true}, "out_for_delivery": {"email": true, "sms": true},
                 "delivery_failed": {"email": true, "sms": true}, "delivered": {"email": true}},
    "default_language": "tr", "sender_name": "Kuryem Butik", "sender_address": "siparis@kuryem.example",
    "quiet_hours": {"start": "21:00", "end": "08:00"}, "timezone": "Europe/Istanbul"
})))]
pub struct NotificationSettingsUpdate {
    /// Per milestone, the channels it goes out on; milestones left out send nothing.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub triggers: BTreeMap<String, Channels>,
    #[serde(default)]
    pub default_language: Option<Language>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub sender_name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub sender_address: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub reply_to: Option<String>,
    /// SMS are held between these local times; `null` sends at any hour.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// IANA time zone for quiet hours where the recipient's country has several (`UTC` if absent).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub timezone: Option<String>,
    /// `{"provider": "twilio" | "netgsm" | "msg91", …credentials}`: sealed, never shown again.
    /// Absent keeps the provider already set up.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub sms_provider: Option<serde_json::Value>,
    /// Where Waybill writes to the merchant about what needs them (a webhook endpoint disabled).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub merchant_email: Option<String>,
    /// The tenant's own SMTP server instead of the operator's (`--smtp-url`), in the same form:
    /// `smtp://user:pass@host:587`, `smtps://…:465` or `smtp://host:25?tls=none`. Sealed, never
    /// shown again; absent keeps the one set up, `""` removes it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 512))]
    pub smtp_url: Option<String>,
}

/// `PUT /v1/notification-templates`: a tenant's own template for one milestone, channel and
/// language. Email needs `subject`, `text` and `html`; SMS only `text`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "milestone": "out_for_delivery", "channel": "sms", "language": "tr",
    "text": "{{ store_name }}: siparişiniz bugün geliyor. Takip: {{ tracking_url }}"
})))]
pub struct TemplatePut {
    pub milestone: Milestone,
    pub channel: MessageChannel,
    pub language: Language,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 16384))]
    pub subject: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 16384, format = "multiline"))]
    pub text: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 16384, format = "multiline"))]
    pub html: Option<String>,
}

/// `POST /v1/notification-templates/preview`: render a template (the one given, else the
/// tenant's, else Waybill's) against a shipment of the key's mode or a sample one.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"milestone": "delivered", "channel": "email", "language": "ko"})))]
pub struct TemplatePreview {
    pub milestone: Milestone,
    pub channel: MessageChannel,
    pub language: Language,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 16384))]
    pub subject: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 16384, format = "multiline"))]
    pub text: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 16384, format = "multiline"))]
    pub html: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 40))]
    pub shipment_id: Option<ShipmentId>,
}

/// `POST /v1/notification-opt-outs`: a recipient who wants no more messages (an SMS `STOP`
/// your provider received, an unsubscribe your shop recorded).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"channel": "sms", "recipient": "+905321234567"})))]
pub struct OptOut {
    pub channel: MessageChannel,
    /// An email address, or a phone number in E.164.
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub recipient: String,
}

impl OptOut {
    /// The recipient's problems: an email address, or a number in E.164 (`+` and 8 to 15 digits).
    pub fn problems(&self) -> Vec<FieldError> {
        let r = self.recipient.trim();
        let valid = r.len() <= 254
            && match self.channel {
                MessageChannel::Email => crate::text::is_email(r),
                MessageChannel::Sms => r
                    .strip_prefix('+')
                    .is_some_and(|d| (8..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit())),
            };
        if valid {
            vec![]
        } else {
            vec![FieldError::new("/recipient", "an email address, or a phone number in E.164 such as +905321234567")]
        }
    }
}

/// A recipient as opt-outs are kept and looked up: email addresses without case.
pub fn recipient_key(channel: MessageChannel, recipient: &str) -> String {
    match channel {
        MessageChannel::Email => recipient.trim().to_lowercase(),
        MessageChannel::Sms => recipient.trim().to_owned(),
    }
}
