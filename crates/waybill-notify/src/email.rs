//! Email over SMTP, with lettre's pooled async transport.
//!
//! The server is named by a URL ([`SmtpSettings::parse`]):
//!
//! | URL | security | default port |
//! |---|---|---|
//! | `smtps://host` | implicit TLS from the first byte | 465 |
//! | `smtp://host` or `smtp://host?tls=starttls` | STARTTLS, required (no plaintext fallback) | 587 |
//! | `smtp://host?tls=none` | plaintext, for local sinks and trusted relays only | 25 |
//!
//! `user:password@` (percent-encoded) turns on AUTH; `?timeout_ms=` bounds a whole send
//! (connecting, every reply, the data), 30 s by default, so a silent server cannot hold a worker.
//!
//! A send either hands the message over ([`SentEmail`]) or says whether trying again can help
//! ([`SendError`]). The `Message-ID` is built from the caller's stable id, so a retry after a
//! lost answer carries the same id and receivers can drop the duplicate.

use std::fmt;
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::response::Response;
use lettre::{Address, AsyncTransport, Message, Tokio1Executor};

/// The default bound on one whole send.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest `?timeout_ms=` accepted: ten minutes.
const MAX_TIMEOUT_MS: u64 = 600_000;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plaintext (`smtp://…?tls=none`).
    None,
    /// STARTTLS, required (`smtp://…`).
    StartTls,
    /// TLS from the first byte (`smtps://…`).
    Implicit,
}

/// AUTH credentials; `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

/// Where and how to send email, parsed from a URL (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<SmtpCredentials>,
    /// The bound on one whole send.
    pub timeout: Duration,
}

impl SmtpSettings {
    /// Parses `smtp://` or `smtps://` URLs. The error says what is wrong and never repeats the
    /// password.
    pub fn parse(url: &str) -> Result<SmtpSettings, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a valid SMTP URL: {e}"))?;
        let implicit = match parsed.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(format!("the scheme must be `smtp` or `smtps`, not `{other}`")),
        };
        let host = match parsed.host_str() {
            Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            _ => return Err("the URL has no host".into()),
        };
        if !matches!(parsed.path(), "" | "/") {
            return Err("an SMTP URL has no path; remove everything after the host and port".into());
        }
        if parsed.fragment().is_some() {
            return Err("an SMTP URL has no fragment (`#…`)".into());
        }

        let mut tls = None;
        let mut timeout = DEFAULT_TIMEOUT;
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "tls" if implicit => {
                    return Err("`tls` applies to `smtp://` only; `smtps://` is always implicit TLS".into());
                }
                "tls" => {
                    tls = Some(match value.as_ref() {
                        "starttls" => SmtpSecurity::StartTls,
                        "none" => SmtpSecurity::None,
                        other => return Err(format!("`tls` must be `starttls` or `none`, not `{other}`")),
                    })
                }
                "timeout_ms" => {
                    let ms = value
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| (1..=MAX_TIMEOUT_MS).contains(ms))
                        .ok_or_else(|| format!("`timeout_ms` must be a whole number from 1 to {MAX_TIMEOUT_MS}"))?;
                    timeout = Duration::from_millis(ms);
                }
                other => return Err(format!("unknown parameter `{other}`; the parameters are `tls` and `timeout_ms`")),
            }
        }
        let security = if implicit { SmtpSecurity::Implicit } else { tls.unwrap_or(SmtpSecurity::StartTls) };
        let port = parsed.port().unwrap_or(match security {
            SmtpSecurity::Implicit => 465,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::None => 25,
        });

        let credentials = match (parsed.username(), parsed.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err("the URL has a password but no user".into()),
            (_, None) => return Err("the URL has a user but no password (`user:password@host`)".into()),
            (user, Some(password)) => Some(SmtpCredentials {
                user: percent_decode(user).ok_or("the user is not valid percent-encoded UTF-8")?,
                password: percent_decode(password).ok_or("the password is not valid percent-encoded UTF-8")?,
            }),
        };
        Ok(SmtpSettings { host, port, security, credentials, timeout })
    }
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The left part of the `Message-ID`, stable per notification (e.g. `ntf_…`); the header is
    /// `<{message_id}@{domain of from_address}>`.
    pub message_id: String,
    pub from_name: String,
    pub from_address: String,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An `https` URL for one-click unsubscribe (RFC 8058).
    pub list_unsubscribe: Option<String>,
}

impl OutgoingEmail {
    /// The HTML part of a message written as text: each paragraph escaped.
    pub fn html_of_text(text: &str) -> String {
        let paragraphs: Vec<String> = text
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", minijinja::HtmlEscape(p)))
            .collect();
        paragraphs.join("\n")
    }
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    /// The server's queue id from its final reply when it names one, else the `Message-ID`.
    pub provider_message_id: String,
}

/// Why a message was not handed over, sorted by whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A temporary failure: unreachable or silent server, a 4xx reply, a TLS failure.
    #[error("email not sent, will retry: {reason}")]
    Retry { reason: String },
    /// A permanent failure: a 5xx reply, an address that does not parse.
    #[error("email not sent: {reason}")]
    GiveUp { reason: String },
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retry { .. })
    }

    fn give_up(reason: impl Into<String>) -> Self {
        SendError::GiveUp { reason: reason.into() }
    }
}

/// Sends email through one SMTP server, keeping a pool of connections.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the pooled transport; fails only when the TLS settings cannot be built for `host`.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, String> {
        let tls_parameters =
            || TlsParameters::new(settings.host.clone()).map_err(|e| format!("cannot set up TLS for the host: {e}"));
        let tls = match settings.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters()?),
            SmtpSecurity::Implicit => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(credentials) = &settings.credentials {
            builder = builder.credentials(Credentials::new(credentials.user.clone(), credentials.password.clone()));
        }
        Ok(Mailer { transport: builder.build(), timeout: settings.timeout })
    }

    /// Sends `email`. The addresses are checked before connecting.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, SendError> {
        let (message, message_id) = build_message(email)?;
        // lettre bounds only the TCP connect; a server that accepts and then stays silent is
        // bounded here.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(SendError::Retry {
                reason: format!("the SMTP server did not finish within {} ms", self.timeout.as_millis()),
            }),
            Ok(Err(e)) => Err(sort_error(&e)),
            Ok(Ok(response)) => Ok(SentEmail { provider_message_id: queue_id(&response).unwrap_or(message_id) }),
        }
    }
}

/// Builds the message and returns it with its `Message-ID`.
fn build_message(email: &OutgoingEmail) -> Result<(Message, String), SendError> {
    let from = parse_address("sender", &email.from_address)?;
    let to = parse_address("recipient", &email.to)?;
    let message_id = message_id(&email.message_id, from.domain())?;
    let from_name = (!email.from_name.trim().is_empty()).then(|| email.from_name.clone());

    let mut builder = Message::builder()
        .from(Mailbox::new(from_name, from))
        .to(Mailbox::new(None, to))
        .subject(email.subject.as_str())
        .message_id(Some(message_id.clone()));
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(Mailbox::new(None, parse_address("reply-to", reply_to)?));
    }
    if let Some(url) = &email.list_unsubscribe {
        builder = builder.header(ListUnsubscribe(unsubscribe_url(url)?)).header(ListUnsubscribePost);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
        .map_err(|e| SendError::give_up(format!("the message cannot be built: {e}")))?;
    Ok((message, message_id))
}

fn parse_address(role: &str, address: &str) -> Result<Address, SendError> {
    address
        .trim()
        .parse::<Address>()
        .map_err(|e| SendError::give_up(format!("the {role} address `{address}` is not a valid email address: {e}")))
}

/// `<left@domain>`, with `left` checked to be RFC 5322 `dot-atom-text`.
fn message_id(left: &str, domain: &str) -> Result<String, SendError> {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let valid = !left.is_empty() && left.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext));
    if !valid {
        return Err(SendError::give_up(format!(
            "the message id `{left}` must be the left part of a Message-ID: letters, digits and \
             !#$%&'*+-/=?^_`{{|}}~, with single dots between them"
        )));
    }
    Ok(format!("<{left}@{domain}>"))
}

/// RFC 8058 one-click unsubscribe requires an HTTPS URI; the URL is re-serialised so the header
/// carries no spaces or line breaks.
fn unsubscribe_url(url: &str) -> Result<String, SendError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host_str().is_some() => Ok(parsed.into()),
        _ => Err(SendError::give_up(format!("the unsubscribe link `{url}` is not an https URL"))),
    }
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().trim_start_matches('<').trim_end_matches('>').to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// The queue id in a final reply, as Postfix and many others word it (`250 2.0.0 Ok: queued as
/// 4F2A1B`) or as Exim does (`250 OK id=1rXyZ-000123-AB`).
fn queue_id(response: &Response) -> Option<String> {
    let text = response.message().collect::<Vec<_>>().join(" ");
    let after = |marker: &str| {
        text.find(marker).map(|at| &text[at + marker.len()..]).and_then(|rest| rest.split_whitespace().next())
    };
    after("queued as ").or_else(|| after("id=")).map(str::to_owned)
}

fn sort_error(e: &lettre::transport::smtp::Error) -> SendError {
    let mut reason: String = e.to_string().chars().filter(|c| !c.is_control()).take(300).collect();
    if e.is_timeout() {
        reason = format!("timed out: {reason}");
    }
    // A client error is ours (no common AUTH mechanism, an unencodable message): sending the
    // same message again fails the same way.
    if e.is_permanent() || e.is_client() { SendError::GiveUp { reason } } else { SendError::Retry { reason } }
}
