//! # waybill-shopsim: fake sales channels
//!
//! Real HTTP services shaped like a small Shopify store ([`ShopSim`]), a small WooCommerce
//! store ([`woocommerce::WooSim`]), a Trendyol seller account ([`trendyol::TrendyolSim`]) and
//! Amazon's Selling Partner API ([`amazon::AmazonSim`]), for the demo and for tests that run a channel round trip
//! without the internet. Waybill reaches them only over HTTP, through its connectors with the
//! connection's `base_url` pointing here. Like the carrier simulator they depend on nothing of
//! Waybill's: they are "the shop".

pub mod amazon;
mod shopify;
pub mod sqs;
pub mod trendyol;
pub mod woocommerce;

use std::time::Duration;

pub use shopify::{Call, NewLine, NewOrder, SeenFulfilment, ShopConfig, ShopSim};

/// Sends a webhook in the background, retried five times a second apart until the receiver
/// answers 2xx (stores retry for hours; a test needs only a few seconds).
pub(crate) fn deliver(client: reqwest::Client, url: String, headers: Vec<(&'static str, String)>, body: String) {
    tokio::spawn(async move {
        for attempt in 1..=5 {
            let mut request = client.post(&url).header("content-type", "application/json").body(body.clone());
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => tracing::debug!(attempt, status = %r.status(), "webhook refused"),
                Err(e) => tracing::debug!(attempt, error = %e, "webhook not delivered"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tracing::warn!(url, "webhook given up after 5 attempts");
    });
}
