//! Merchant webhooks as the open Standard Webhooks specification has them
//! (<https://www.standardwebhooks.com/>, `spec/standard-webhooks.md`): a delivery carries
//! `webhook-id` (the event id: the receiver's dedupe key), `webhook-timestamp` (Unix seconds)
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
//! bytes of a `whsec_<base64>` secret. Merchants verify deliveries with the libraries that
//! already exist for the specification in every language.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The prefix of a secret as the specification writes it.
pub const SECRET_PREFIX: &str = "whsec_";
/// A delivery must be answered within this: a receiver should queue the work and answer at once.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// How much of a receiver's answer the delivery log keeps.
pub const EXCERPT_BYTES: usize = 512;
/// How far a timestamp may be from the receiver's clock before [`verify`] refuses it.
pub const TOLERANCE_SECS: i64 = 5 * 60;

type HmacSha256 = hmac::Hmac<Sha256>;

/// A new secret: 32 random bytes as `whsec_<base64>` (the specification asks for 24 to 64).
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// A secret's key bytes; the `whsec_` prefix is optional, as receivers' libraries accept both.
fn key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    match STANDARD.decode(encoded) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(SignatureError::Secret),
    }
}

/// `v1,<signature>` of one delivery.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignatureError> {
    let mut mac = HmacSha256::new_from_slice(&key(secret)?).map_err(|_| SignatureError::Secret)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Why a delivery did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the secret is not `whsec_` followed by base64")]
    Secret,
    #[error("the `webhook-timestamp` is not Unix seconds")]
    Timestamp,
    #[error("the `webhook-timestamp` is more than five minutes from now")]
    Stale,
    #[error("no `v1` signature in `webhook-signature` matches")]
    Mismatch,
}

/// Checks a delivery the way a receiver does: the timestamp within [`TOLERANCE_SECS`] of `now`
/// and one of the space-separated `v1,` signatures matching (compared in constant time).
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::Timestamp)?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let key = key(secret)?;
    let matches = signatures.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|candidate| {
        let Ok(candidate) = STANDARD.decode(candidate) else { return false };
        let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&candidate).is_ok()
    });
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// One delivery to send.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub url: &'a str,
    /// The event id: `webhook-id`.
    pub id: &'a str,
    pub secret: &'a str,
    /// The JSON body, exactly as signed.
    pub body: &'a [u8],
    /// Unix seconds at sending.
    pub timestamp: i64,
}

/// What the receiver did with a delivery it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub latency_ms: i64,
    /// The start of the answer's body, for the delivery log.
    pub excerpt: String,
}

impl Answer {
    /// A 2xx answer: the receiver has it.
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A delivery that got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unanswered {
    pub reason: String,
    pub latency_ms: i64,
    /// The outbound policy refused the destination (a private address in live mode).
    pub refused: bool,
}

/// Sends one delivery; `restricted` (live mode) never reaches private or loopback addresses.
pub async fn send(
    outbound: &waybill_outbound::Outbound,
    restricted: bool,
    delivery: &Delivery<'_>,
) -> Result<Answer, Unanswered> {
    let started = Instant::now();
    let elapsed = |started: Instant| started.elapsed().as_millis() as i64;
    let signature = sign(delivery.secret, delivery.id, delivery.timestamp, delivery.body).map_err(|e| Unanswered {
        reason: e.to_string(),
        latency_ms: 0,
        refused: false,
    })?;
    let sent = outbound
        .client(restricted)
        .post(delivery.url)
        .timeout(TIMEOUT)
        .header("content-type", "application/json")
        .header("webhook-id", delivery.id)
        .header("webhook-timestamp", delivery.timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.body.to_vec())
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            let refused = waybill_outbound::refused_reason(&e);
            let reason = match &refused {
                Some(why) => format!("refused by the outbound policy: {why}"),
                None if e.is_timeout() => format!("no answer within {} s", TIMEOUT.as_secs()),
                None if e.is_connect() => "cannot connect".to_owned(),
                None => "the request failed before an answer".to_owned(),
            };
            return Err(Unanswered { reason, latency_ms: elapsed(started), refused: refused.is_some() });
        }
    };
    let status = response.status().as_u16();
    // Only the start of the body is kept; a receiver's long answer is not read to its end.
    let body = waybill_outbound::read_limited(response, 64 * 1024).await.unwrap_or_default();
    let mut cut = body.len().min(EXCERPT_BYTES);
    while cut > 0 && std::str::from_utf8(&body[..cut]).is_err() {
        cut -= 1;
    }
    let excerpt = String::from_utf8_lossy(&body[..cut]).into_owned();
    Ok(Answer { status, latency_ms: elapsed(started), excerpt })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The specification's own vector, from its reference libraries' tests
    // (standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts, "sign function works").
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signing_matches_the_specifications_vector() {
        assert_eq!(sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes()).unwrap(), SPEC_SIGNATURE);
        let unprefixed = SPEC_SECRET.strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(sign(unprefixed, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes()).unwrap(), SPEC_SIGNATURE);
    }

    #[test]
    fn verification_accepts_the_vector_and_refuses_what_the_reference_libraries_refuse() {
        let body = SPEC_BODY.as_bytes();
        let at = SPEC_TIMESTAMP.to_string();
        assert_eq!(verify(SPEC_SECRET, SPEC_ID, &at, SPEC_SIGNATURE, body, SPEC_TIMESTAMP + 10), Ok(()));
        let several = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,xyz {SPEC_SIGNATURE}");
        assert_eq!(verify(SPEC_SECRET, SPEC_ID, &at, &several, body, SPEC_TIMESTAMP), Ok(()));
        let stale = SPEC_TIMESTAMP + TOLERANCE_SECS + 1;
        assert_eq!(verify(SPEC_SECRET, SPEC_ID, &at, SPEC_SIGNATURE, body, stale), Err(SignatureError::Stale));
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, "hello", SPEC_SIGNATURE, body, SPEC_TIMESTAMP),
            Err(SignatureError::Timestamp)
        );
        for forged in ["v1,dawfeoifkpqwoekfpqoekf", "v1,", &SPEC_SIGNATURE[..8], ""] {
            assert_eq!(
                verify(SPEC_SECRET, SPEC_ID, &at, forged, body, SPEC_TIMESTAMP),
                Err(SignatureError::Mismatch),
                "{forged}"
            );
        }
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, &at, SPEC_SIGNATURE, tampered, SPEC_TIMESTAMP),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SPEC_SECRET, "msg_other", &at, SPEC_SIGNATURE, body, SPEC_TIMESTAMP),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn generated_secrets_are_whsec_and_sign() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(STANDARD.decode(&a[SECRET_PREFIX.len()..]).unwrap().len(), 32);
        let signature = sign(&a, "evt_1", 1, b"{}").unwrap();
        assert_eq!(verify(&a, "evt_1", "1", &signature, b"{}", 1), Ok(()));
        assert_eq!(verify(&b, "evt_1", "1", &signature, b"{}", 1), Err(SignatureError::Mismatch));
        assert_eq!(sign("whsec_!!", "evt_1", 1, b"{}"), Err(SignatureError::Secret));
    }
}
