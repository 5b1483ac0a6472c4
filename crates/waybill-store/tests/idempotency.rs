//! `Idempotency-Key` records: the first request with a key starts, repeats see it in progress
//! (with the node holding it) and then its stored answer, a release frees the key, keys are
//! per tenant and mode, and of many concurrent first requests exactly one starts.

mod common;

use common::*;
use waybill_core::Scope;
use waybill_store::{IdemBegin, IdemRecord, StoreError, request_hash};

fn seen(label: &str, begin: IdemBegin) -> IdemRecord {
    match begin {
        IdemBegin::Seen(record) => record,
        IdemBegin::Started => panic!("[{label}] expected the key to be seen, it started"),
    }
}

#[tokio::test]
async fn a_key_starts_once_then_replays_until_released() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let b = Scope::test(tenant(l, &store, "bolt").await);
        let body = br#"{"service":"standard"}"#;

        let first = store.idempotency_begin(&a, "key-1", "create_shipment", body, "shp_x", "node-1").await.must(l);
        assert!(matches!(first, IdemBegin::Started), "[{l}] the first request starts: {first:?}");

        let repeat =
            seen(l, store.idempotency_begin(&a, "key-1", "create_shipment", body, "shp_y", "node-2").await.must(l));
        assert_eq!(repeat.state, "in_progress", "[{l}] a repeat sees the first in progress");
        assert_eq!(repeat.operation, "create_shipment", "[{l}] operation");
        assert_eq!(repeat.request_hash, request_hash("create_shipment", body), "[{l}] the first request's hash");
        assert_eq!(repeat.resource_id.as_deref(), Some("shp_x"), "[{l}] the first request's resource");
        assert_eq!(repeat.response_status, None, "[{l}] no answer yet");
        assert_eq!(repeat.response_body, None, "[{l}] no answer yet");
        assert_eq!(repeat.node_id.as_deref(), Some("node-1"), "[{l}] the first request's node holds the key");

        // Keys belong to a tenant: B's "key-1" is B's own.
        let other = store.idempotency_begin(&b, "key-1", "create_shipment", body, "shp_z", "node-1").await.must(l);
        assert!(matches!(other, IdemBegin::Started), "[{l}] another tenant's same key starts: {other:?}");

        store.idempotency_finish(&a, "key-1", 201, r#"{"id":"shp_x"}"#).await.must(l);
        let done =
            seen(l, store.idempotency_begin(&a, "key-1", "create_shipment", body, "shp_w", "node-1").await.must(l));
        assert_eq!(done.state, "done", "[{l}] finished");
        assert_eq!(done.response_status, Some(201), "[{l}] stored status");
        assert_eq!(done.response_body.as_deref(), Some(r#"{"id":"shp_x"}"#), "[{l}] stored body");
        assert_eq!(done.resource_id.as_deref(), Some("shp_x"), "[{l}] the first request's resource");
        let b_record = store.idempotency_get(&b, "key-1").await.must(l);
        assert_eq!(b_record.state, "in_progress", "[{l}] A's answer is not B's");

        // A different request under a used key is told apart by its hash.
        let reused =
            seen(l, store.idempotency_begin(&a, "key-1", "create_shipment", b"{}", "shp_v", "node-1").await.must(l));
        assert_ne!(reused.request_hash, request_hash("create_shipment", b"{}"), "[{l}] hashes differ");

        store.idempotency_release(&a, "key-1").await.must(l);
        let fresh = store.idempotency_begin(&a, "key-1", "create_shipment", body, "shp_u", "node-2").await.must(l);
        assert!(matches!(fresh, IdemBegin::Started), "[{l}] a released key starts again: {fresh:?}");
        let record = store.idempotency_get(&a, "key-1").await.must(l);
        assert_eq!(record.resource_id.as_deref(), Some("shp_u"), "[{l}] the new request holds the key");
        assert_eq!(record.state, "in_progress", "[{l}] in progress again");
        assert_eq!(record.node_id.as_deref(), Some("node-2"), "[{l}] held by the new request's node");
        assert_eq!(store.idempotency_get(&b, "key-1").await.must(l).resource_id.as_deref(), Some("shp_z"), "[{l}]");

        store.idempotency_release(&a, "key-1").await.must(l);
        assert!(
            matches!(store.idempotency_get(&a, "key-1").await, Err(StoreError::NotFound)),
            "[{l}] a released key is gone"
        );
        assert_eq!(store.idempotency_get(&b, "key-1").await.must(l).state, "in_progress", "[{l}] B's key stays");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_first_requests_exactly_one_starts() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::live(tenant(l, &store, "acme").await);
        let mut tasks = Vec::new();
        for i in 0..30 {
            let (store, a, label) = (store.clone(), a.clone(), label.clone());
            tasks.push(tokio::spawn(async move {
                let resource = format!("shp_{i}");
                let node = format!("node-{}", i % 3);
                store.idempotency_begin(&a, "race", "create_shipment", b"{}", &resource, &node).await.must(&label)
            }));
        }
        let mut started = 0;
        let mut seen_records = Vec::new();
        for task in tasks {
            match task.await.expect("task") {
                IdemBegin::Started => started += 1,
                IdemBegin::Seen(record) => seen_records.push(record),
            }
        }
        assert_eq!(started, 1, "[{l}] exactly one request starts");
        assert_eq!(seen_records.len(), 29, "[{l}] every other request sees it");
        let winner = store.idempotency_get(&a, "race").await.must(l);
        assert!(
            seen_records.iter().all(|r| r.resource_id == winner.resource_id),
            "[{l}] every repeat sees the winner's record"
        );
        assert!(
            seen_records.iter().all(|r| r.node_id == winner.node_id && r.node_id.is_some()),
            "[{l}] and the winner's node"
        );
    }
}
