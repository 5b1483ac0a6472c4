//! Webhook pushes: one scheduler task with a time-ordered queue of
//! "look at subscription X at time T" entries.
//!
//! Shipments can have scans days of simulated time ahead and load tests
//! book thousands of them, so nothing sleeps per event: the scheduler sleeps
//! until the earliest queue entry (or until woken), starts the attempts that
//! are due as short tasks, and each attempt reports back to the store, which
//! queues the next scan or a retry. A subscription has at most one attempt
//! under way, so its events arrive in order; at most [`MAX_IN_FLIGHT`]
//! requests are out at once over all subscriptions.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::Inner;
use crate::model::Event;

/// Webhook requests in flight at most, over all subscriptions.
pub(crate) const MAX_IN_FLIGHT: usize = 64;

/// Attempts per event before it is skipped.
pub(crate) const MAX_ATTEMPTS: u32 = 6;

/// Wait before the retry that follows the `failures`-th failed attempt:
/// 0.5 s, 1 s, 2 s, 4 s, 8 s.
pub(crate) fn backoff(failures: u32) -> chrono::Duration {
    chrono::Duration::milliseconds(500 << failures.saturating_sub(1).min(10))
}

/// Subscriptions to look at, earliest first.
#[derive(Default)]
pub(crate) struct Queue {
    /// (when, insertion number to keep equal times in order, subscription id)
    heap: BinaryHeap<Reverse<(DateTime<Utc>, u64, String)>>,
    inserted: u64,
}

impl Queue {
    pub fn schedule(&mut self, at: DateTime<Utc>, subscription_id: String) {
        self.inserted += 1;
        self.heap.push(Reverse((at, self.inserted, subscription_id)));
    }

    /// Removes and returns the entries due by `now`.
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut due = Vec::new();
        while let Some(Reverse((at, _, _))) = self.heap.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, _, id))) = self.heap.pop() {
                due.push(id);
            }
        }
        due
    }

    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }
}

/// One delivery attempt of one event.
#[derive(Debug)]
pub(crate) struct Job {
    pub subscription_id: String,
    /// Index of the scan in the shipment's timeline.
    pub index: usize,
    pub url: String,
    pub secret: String,
    pub awb: String,
    pub event: Event,
}

#[derive(Serialize)]
struct Body<'a> {
    awb: &'a str,
    event: &'a Event,
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub(crate) fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The scheduler; runs forever.
pub(crate) async fn run(inner: Arc<Inner>) {
    loop {
        let next = {
            let mut store = inner.store();
            for job in store.due_jobs(Utc::now()) {
                tokio::spawn(attempt(inner.clone(), job));
            }
            store.next_wake()
        };
        // `Notify` keeps a permit when nobody waits, so a wake-up sent
        // between the lock above and the wait below is not lost.
        match next {
            Some(at) => {
                let wait = (at - Utc::now()).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = inner.wake.notified() => {}
                }
            }
            None => inner.wake.notified().await,
        }
    }
}

/// Sends one event once and reports the outcome to the store.
async fn attempt(inner: Arc<Inner>, job: Job) {
    // The subscription stays busy while waiting for a slot, so order holds.
    let delivered = match inner.push_slots.acquire().await {
        Ok(_slot) => send(&inner.http, &job).await,
        Err(_) => false, // never closed
    };
    inner.store().finish_attempt(&job, delivered, Utc::now());
    inner.wake.notify_one();
}

async fn send(http: &reqwest::Client, job: &Job) -> bool {
    let body = match serde_json::to_vec(&Body { awb: &job.awb, event: &job.event }) {
        Ok(body) => body,
        Err(why) => {
            tracing::error!(%why, "cannot encode a webhook body");
            return false;
        }
    };
    let timestamp = Utc::now().timestamp();
    let result = http
        .post(&job.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Sim-Event-Id", &job.event.event_id)
        .header("X-Sim-Timestamp", timestamp.to_string())
        .header("X-Sim-Signature", signature(&job.secret, timestamp, &body))
        .body(body)
        .send()
        .await;
    match result {
        Ok(response) if response.status().is_success() => true,
        Ok(response) => {
            tracing::debug!(url = %job.url, status = %response.status(), "webhook refused");
            false
        }
        Err(why) => {
            tracing::debug!(url = %job.url, %why, "webhook failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second() {
        let waits: Vec<_> = (1..MAX_ATTEMPTS).map(|n| backoff(n).num_milliseconds()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000]);
    }

    #[test]
    fn queue_pops_in_time_order() {
        let now = Utc::now();
        let mut queue = Queue::default();
        queue.schedule(now + chrono::Duration::seconds(5), "late".into());
        queue.schedule(now, "a".into());
        queue.schedule(now, "b".into());
        assert_eq!(queue.pop_due(now), ["a", "b"]);
        assert_eq!(queue.next_at(), Some(now + chrono::Duration::seconds(5)));
        assert!(queue.pop_due(now).is_empty());
    }

    #[test]
    fn signature_is_hmac_of_timestamp_and_body() {
        // Computed independently: HMAC-SHA256(b"key", b"1.{}").
        assert_eq!(
            signature("key", 1, b"{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }
}
