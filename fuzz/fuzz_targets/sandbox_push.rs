//! Fuzzes the `sandbox` adapter's `parse_push` with pushes built from arbitrary bytes.
//!
//! Input: one mode byte, then `<timestamp> \n <signature or secret> \n <body>` (split at the
//! first two newlines; missing parts are empty).
//!
//! - mode 0: every header is raw fuzz input: checks that a forged push is refused and that no
//!   header text makes the signature check panic;
//! - mode 1: the timestamp text is fuzz input and the push is correctly signed (with the
//!   middle part as the secret), so the timestamp parser and the body parser are reached;
//! - mode 2: the timestamp is `now + <first 8 bytes as a little-endian i64>`, correctly signed:
//!   the freshness arithmetic is fed offsets of every size.
//!
//! Besides "never panics", it checks that an accepted push was signed with the secret, is
//! stamped within 300 s of now, and yields exactly one scan.

#![no_main]

use std::sync::LazyLock;

use hmac::{KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use waybill_carriers::sandbox::Sandbox;
use waybill_carriers::{Carrier, PushRequest};
use waybill_outbound::Outbound;

static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| Sandbox::new(Outbound::default()));

/// The secret the adapter checks with in mode 0.
const SECRET: &str = "fuzz-secret";

fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut parts = rest.splitn(3, |&b| b == b'\n');
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    let (secret, timestamp, signature) = match mode % 3 {
        0 => {
            let timestamp = String::from_utf8_lossy(first).into_owned();
            (SECRET.to_owned(), timestamp, String::from_utf8_lossy(second).into_owned())
        }
        1 => {
            let secret = String::from_utf8_lossy(second).into_owned();
            let timestamp = String::from_utf8_lossy(first).into_owned();
            let signature = sign(&secret, &timestamp, body);
            (secret, timestamp, signature)
        }
        _ => {
            let mut offset = [0u8; 8];
            let n = first.len().min(8);
            offset[..n].copy_from_slice(&first[..n]);
            let timestamp = now().wrapping_add(i64::from_le_bytes(offset)).to_string();
            let signature = sign(SECRET, &timestamp, body);
            (SECRET.to_owned(), timestamp, signature)
        }
    };

    let headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-sim-timestamp".to_owned(), timestamp.clone()),
        ("x-sim-signature".to_owned(), signature.clone()),
    ];
    let result = SANDBOX.parse_push(&secret, &PushRequest { headers: &headers, body });

    if let Ok(scans) = result {
        assert_eq!(signature, sign(&secret, &timestamp, body), "accepted a push not signed with the secret");
        let sent: i64 = timestamp.parse().expect("an accepted timestamp is a number");
        let age = now().abs_diff(sent);
        // One second of slack: the adapter read the clock a moment before this check.
        assert!(age <= 301, "accepted a push stamped {timestamp}, {age} s away from now");
        assert_eq!(scans.len(), 1, "a push carries one event");
    }
});
