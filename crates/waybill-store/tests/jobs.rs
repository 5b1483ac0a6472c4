//! The job queue: concurrent claimers never share a job, a lease hides a claimed job until it
//! runs out, failed jobs wait for their retry time or die, and a unique key allows one queued
//! job at a time.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use waybill_store::now_ms;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_every_job_exactly_once() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let t = store.create_tenant("acme").await.must(l).id;
        let due = now_ms() - 1_000;
        store.enqueue(Some(&t), (0..200).map(|_| job("work", None, due)).collect()).await.must(l);
        assert_eq!(queued(&store, "work").await, 200, "[{l}] 200 queued");

        let mut tasks = Vec::new();
        for worker in 0..4 {
            let store = store.clone();
            let label = label.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("worker-{worker}");
                let mut taken = Vec::new();
                loop {
                    let jobs = store.claim_jobs(&name, 16, 60_000).await.must(&label);
                    if jobs.is_empty() {
                        break;
                    }
                    for job in jobs {
                        assert_eq!(job.attempts, 1, "[{label}] job {} claimed before", job.id);
                        assert_eq!(job.kind, "work", "[{label}] kind");
                        store.complete_job(&job.id).await.must(&label);
                        taken.push(job.id);
                    }
                }
                taken
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("claimer task"));
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "[{l}] a job was claimed twice");
        assert_eq!(all.len(), 200, "[{l}] every job claimed once");
        assert_eq!(queued(&store, "work").await, 0, "[{l}] nothing left queued");
        assert!(store.claim_jobs("late", 16, 60_000).await.must(l).is_empty(), "[{l}] nothing left to claim");
    }
}

#[tokio::test]
async fn only_due_jobs_are_claimed_with_their_tenant_and_payload() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let t = store.create_tenant("acme").await.must(l).id;
        store.enqueue(Some(&t), vec![job("later", None, now_ms() + 60_000)]).await.must(l);
        store.enqueue(None, vec![job("now", None, now_ms() - 1)]).await.must(l);
        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 1, "[{l}] only the due job");
        assert_eq!(claimed[0].kind, "now", "[{l}] kind");
        assert_eq!(claimed[0].tenant(), None, "[{l}] a job without a tenant");
        assert_eq!(claimed[0].max_attempts, 5, "[{l}] max attempts");
        let payload: serde_json::Value = serde_json::from_str(&claimed[0].payload).expect("payload is JSON");
        assert_eq!(payload, serde_json::json!({ "n": 1 }), "[{l}] payload");

        // Rescheduling into the past makes the later job due, and resets its attempts.
        store.enqueue(Some(&t), vec![job("again", None, now_ms() - 1)]).await.must(l);
        let again = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(again.len(), 1, "[{l}] the due job");
        assert_eq!(again[0].tenant(), Some(t.clone()), "[{l}] the job's tenant");
        store.reschedule_job(&again[0].id, now_ms() - 1).await.must(l);
        let rerun = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(rerun.len(), 1, "[{l}] the rescheduled job is due again");
        assert_eq!(rerun[0].id, again[0].id, "[{l}] same job");
        assert_eq!(rerun[0].attempts, 1, "[{l}] attempts start over after a reschedule");
    }
}

#[tokio::test]
async fn a_claimed_job_returns_only_after_its_lease_runs_out() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        store.enqueue(None, vec![job("work", None, now_ms() - 1)]).await.must(l);
        let first = store.claim_jobs("w1", 10, 200).await.must(l);
        assert_eq!(first.len(), 1, "[{l}] claimed");
        assert_eq!(first[0].attempts, 1, "[{l}] first attempt");
        assert!(store.claim_jobs("w2", 10, 60_000).await.must(l).is_empty(), "[{l}] leased job claimed again");
        assert_eq!(queued(&store, "work").await, 1, "[{l}] a leased job still counts as queued");

        tokio::time::sleep(Duration::from_millis(300)).await;
        let second = store.claim_jobs("w2", 10, 60_000).await.must(l);
        assert_eq!(second.len(), 1, "[{l}] the expired lease frees the job");
        assert_eq!(second[0].id, first[0].id, "[{l}] same job");
        assert_eq!(second[0].attempts, 2, "[{l}] second attempt");
        assert!(store.claim_jobs("w3", 10, 60_000).await.must(l).is_empty(), "[{l}] re-leased");
    }
}

#[tokio::test]
async fn failed_jobs_wait_for_their_retry_or_die() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        store.enqueue(None, vec![job("retry", None, now_ms() - 1), job("doomed", None, now_ms() - 1)]).await.must(l);
        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 2, "[{l}] both claimed");
        let retry = claimed.iter().find(|j| j.kind == "retry").expect("retry job");
        let doomed = claimed.iter().find(|j| j.kind == "doomed").expect("doomed job");

        let retry_at = now_ms() + 400;
        store.fail_job(&retry.id, "carrier said 503", Some(retry_at)).await.must(l);
        store.fail_job(&doomed.id, "bad payload", None).await.must(l);
        assert!(store.claim_jobs("w", 10, 60_000).await.must(l).is_empty(), "[{l}] nothing claimable before retry");
        assert_eq!(queued(&store, "retry").await, 1, "[{l}] the retry is still queued");
        assert_eq!(queued(&store, "doomed").await, 0, "[{l}] a dead job is not queued");

        let wait = retry_at - now_ms() + 100;
        tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
        let again = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(again.len(), 1, "[{l}] only the retry comes back: {again:?}");
        assert_eq!(again[0].id, retry.id, "[{l}] the retried job");
        assert_eq!(again[0].attempts, 2, "[{l}] its second attempt");
    }
}

#[tokio::test]
async fn a_unique_key_allows_one_queued_job() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let key = || Some("track:shp_1".to_owned());
        store.enqueue(None, vec![job("track", key(), now_ms() - 1)]).await.must(l);
        store.enqueue(None, vec![job("track", key(), now_ms() - 1)]).await.must(l);
        store.enqueue(None, vec![job("track", key(), now_ms() - 1), job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] duplicates dropped");

        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 1, "[{l}] one job");
        store.enqueue(None, vec![job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] dropped while the first is running");

        store.complete_job(&claimed[0].id).await.must(l);
        assert_eq!(queued(&store, "track").await, 0, "[{l}] completed");
        store.enqueue(None, vec![job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] the key is free after completion");
        let next = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(next.len(), 1, "[{l}] the new job is claimable");
        assert_ne!(next[0].id, claimed[0].id, "[{l}] a new job");
        assert_eq!(next[0].attempts, 1, "[{l}] a fresh job");

        // A job that died gives its key back too.
        store.fail_job(&next[0].id, "gave up", None).await.must(l);
        store.enqueue(None, vec![job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] the key is free after the job died");
    }
}
