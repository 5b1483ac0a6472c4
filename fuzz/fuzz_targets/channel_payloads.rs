//! What a channel's webhook URL takes from the internet, and what a sync fetches: every
//! connector's (Shopify, WooCommerce, Trendyol, Amazon) webhook check on arbitrary headers and
//! bodies (a forgery must be refused; Amazon refuses every call), its
//! order readers and Amazon's SQS notification reader on arbitrary bytes, and, for correctly signed bodies, the whole way to an
//! order's parts. Values or typed errors, never a panic. The first byte picks the path.
#![no_main]

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sha2::Sha256;
use waybill_channels::{Channels, SYNC_TOPIC, WebhookRequest};

const SECRET: &str = "fuzz-client-secret";

/// Built once: the connectors' HTTP clients are costly to make, and no call is made here.
static CHANNELS: std::sync::LazyLock<Channels> =
    std::sync::LazyLock::new(|| Channels::new(waybill_outbound::Outbound::default()));

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let channels = &*CHANNELS;
    let credentials = json!({"shop": "fuzz", "access_token": "t", "client_secret": SECRET,
        "consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": SECRET,
        "seller_id": "1234", "api_key": "k", "api_secret": "s", "webhook_api_key": SECRET,
        "client_id": "amzn1.application-oa2-client.x", "refresh_token": "Atzr|x", "marketplace_id": "A1PA6795UKMFR9",
        "region": "eu"});
    for channel in channels.iter() {
        let slug = channel.info().slug;
        // Trendyol proves itself with the key registered for it; the others sign the body.
        let (auth_header, proof): (&str, fn(&[u8]) -> String) = match slug {
            "woocommerce" => ("x-wc-webhook-signature", sign),
            "trendyol" => ("x-api-key", |_| SECRET.to_owned()),
            _ => ("x-shopify-hmac-sha256", sign),
        };
        match which % 4 {
            0 => {
                // Raw headers from the input: a proof that is not ours must never pass.
                let text = String::from_utf8_lossy(body);
                let mut lines = text.splitn(3, '\n');
                let headers = vec![
                    (auth_header.to_owned(), lines.next().unwrap_or_default().to_owned()),
                    ("x-shopify-topic".to_owned(), lines.next().unwrap_or_default().to_owned()),
                    ("x-wc-webhook-topic".to_owned(), "order.created".to_owned()),
                ];
                let rest = lines.next().unwrap_or_default().as_bytes();
                if let Ok(inbound) = channel.verify_webhook(&credentials, &WebhookRequest { headers: &headers, body: rest })
                    && inbound.is_order
                {
                    assert_ne!(slug, "amazon", "Amazon takes no webhooks");
                    assert_eq!(headers[0].1.trim(), proof(rest), "only a correct proof lets an order in");
                }
            }
            1 => {
                drop(channel.read_order("orders/create", body));
                // What a stranger with send rights on the seller's SQS queue could put there.
                if let waybill_channels::amazon::Notice::OrderChanged { order_id } =
                    waybill_channels::amazon::read_notice(&String::from_utf8_lossy(body), "A2FUZZ", "A1PA6795UKMFR9")
                {
                    assert!(!order_id.is_empty() && order_id.len() <= 64, "an order id Waybill would fetch: {order_id:?}");
                }
            }
            2 => drop(channel.read_order(SYNC_TOPIC, body)),
            _ => {
                let headers = vec![
                    (auth_header.to_owned(), proof(body)),
                    ("x-shopify-topic".to_owned(), "orders/updated".to_owned()),
                    ("x-wc-webhook-topic".to_owned(), "order.updated".to_owned()),
                ];
                let request = WebhookRequest { headers: &headers, body };
                let topic = match channel.verify_webhook(&credentials, &request) {
                    Ok(inbound) => inbound.topic,
                    Err(_) if slug == "amazon" => SYNC_TOPIC.to_owned(),
                    Err(e) => panic!("{slug}: a correctly proven call was refused: {e}"),
                };
                if let Ok(order) = channel.read_order(&topic, body) {
                    drop(order.parts());
                    let _ = order.is_ready(&[], &channel.info().default_ready_statuses);
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
