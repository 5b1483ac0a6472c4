//! What a channel's webhook URL takes from the internet, and what a sync fetches: every
//! connector's webhook check on arbitrary headers and bodies (a forgery must be refused), its
//! order readers on arbitrary bytes, and, for correctly signed bodies, the whole way to an
//! order's parts. Values or typed errors, never a panic. The first byte picks the path.
#![no_main]

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sha2::Sha256;
use waybill_channels::{Channel, Channels, SYNC_TOPIC, WebhookRequest};

const SECRET: &str = "fuzz-client-secret";

/// Built once: the connectors' HTTP clients are costly to make, and no call is made here.
static CHANNELS: std::sync::LazyLock<Channels> =
    std::sync::LazyLock::new(|| Channels::new(waybill_outbound::Outbound::default()));

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let channels = &*CHANNELS;
    let credentials = json!({"shop": "fuzz", "access_token": "t", "client_secret": SECRET,
        "consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": SECRET});
    for channel in channels.iter() {
        let signature_header = match channel.info().slug {
            "woocommerce" => "x-wc-webhook-signature",
            _ => "x-shopify-hmac-sha256",
        };
        match which % 4 {
            0 => {
                // Raw headers from the input: a signature that is not ours must never pass.
                let text = String::from_utf8_lossy(body);
                let mut lines = text.splitn(3, '\n');
                let headers = vec![
                    (signature_header.to_owned(), lines.next().unwrap_or_default().to_owned()),
                    ("x-shopify-topic".to_owned(), lines.next().unwrap_or_default().to_owned()),
                    ("x-wc-webhook-topic".to_owned(), "order.created".to_owned()),
                ];
                let rest = lines.next().unwrap_or_default().as_bytes();
                if let Ok(inbound) = channel.verify_webhook(&credentials, &WebhookRequest { headers: &headers, body: rest })
                    && inbound.is_order
                {
                    assert_eq!(headers[0].1.trim(), sign(rest), "only a correct signature lets an order in");
                }
            }
            1 => drop(channel.read_order("orders/create", body)),
            2 => drop(channel.read_order(SYNC_TOPIC, body)),
            _ => {
                let headers = vec![
                    (signature_header.to_owned(), sign(body)),
                    ("x-shopify-topic".to_owned(), "orders/updated".to_owned()),
                    ("x-wc-webhook-topic".to_owned(), "order.updated".to_owned()),
                ];
                let inbound = channel
                    .verify_webhook(&credentials, &WebhookRequest { headers: &headers, body })
                    .expect("a correctly signed call is accepted");
                if let Ok(order) = channel.read_order(&inbound.topic, body) {
                    drop(order.parts());
                    drop(order.is_ready(&[], &channel.info().default_ready_statuses));
                }
            }
        }
    }
});

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
