//! The job queue: concurrent claimers never share a job, a lease hides a claimed job until it
//! runs out, only the current lease holder may settle a job (fencing), failed jobs wait for
//! their retry time or die, a unique key allows one queued job at a time (or replaces it), and
//! jobs written in a transaction exist only if it commits.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::json;
use waybill_core::Scope;
use waybill_store::{ClaimedJob, NewJob, args, now_ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_every_job_exactly_once() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let t = Scope::test(tenant(l, &store, "acme").await);
        let due = now_ms() - 1_000;
        let jobs = (0..200).map(|_| NewJob { scope: Some(t.clone()), ..job("work", None, due) }).collect();
        store.enqueue(jobs).await.must(l);
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
                        assert!(
                            store.complete_job(&job).await.must(&label),
                            "[{label}] the holder completes {}",
                            job.id
                        );
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
async fn only_due_jobs_are_claimed_with_their_scope_and_payload() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let t = Scope::live(tenant(l, &store, "acme").await);
        store.enqueue(vec![NewJob { scope: Some(t.clone()), ..job("later", None, now_ms() + 60_000) }]).await.must(l);
        store.enqueue(vec![job("now", None, now_ms() - 1)]).await.must(l);
        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 1, "[{l}] only the due job");
        assert_eq!(claimed[0].kind, "now", "[{l}] kind");
        assert_eq!(claimed[0].tenant(), None, "[{l}] a job without a tenant");
        assert_eq!(claimed[0].scope(), None, "[{l}] nor a scope");
        assert_eq!(claimed[0].max_attempts, 5, "[{l}] max attempts");
        let payload: serde_json::Value = serde_json::from_str(&claimed[0].payload).expect("payload is JSON");
        assert_eq!(payload, json!({ "n": 1 }), "[{l}] payload");

        // Rescheduling into the past makes the job due again, and resets its attempts.
        let again_job =
            NewJob { scope: Some(t.clone()), payload: json!({ "shipment_id": "shp_x" }), ..job("again", None, 0) };
        store.enqueue(vec![NewJob { run_at: now_ms() - 1, ..again_job }]).await.must(l);
        let again = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(again.len(), 1, "[{l}] the due job");
        assert_eq!(again[0].tenant(), Some(t.tenant.clone()), "[{l}] the job's tenant");
        assert_eq!(again[0].scope(), Some(t.clone()), "[{l}] the job's scope, mode included");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&again[0].payload).expect("JSON"),
            json!({ "shipment_id": "shp_x" }),
            "[{l}] payload"
        );
        assert!(store.reschedule_job(&again[0], now_ms() - 1).await.must(l), "[{l}] the holder reschedules");
        let rerun = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(rerun.len(), 1, "[{l}] the rescheduled job is due again");
        assert_eq!(rerun[0].id, again[0].id, "[{l}] same job");
        assert_eq!(rerun[0].attempts, 1, "[{l}] attempts start over after a reschedule");
        assert_ne!(rerun[0].lease, again[0].lease, "[{l}] a new claim, a new lease");
    }
}

#[tokio::test]
async fn a_claimed_job_returns_only_after_its_lease_runs_out() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        store.enqueue(vec![job("work", None, now_ms() - 1)]).await.must(l);
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

/// A job's row as the queue keeps it, read straight from the database.
#[derive(Debug, PartialEq, sqlx::FromRow)]
struct JobRow {
    state: String,
    run_at: i64,
    attempts: i64,
    locked_until: Option<i64>,
    locked_by: Option<String>,
    lease: Option<String>,
    last_error: Option<String>,
}
waybill_store::sqlite_row!(JobRow { state, run_at, attempts, locked_until, locked_by, lease, last_error });

async fn job_row(guard: &Guard, id: &str) -> Option<JobRow> {
    guard
        .pool()
        .await
        .fetch_optional(
            "SELECT state, run_at, attempts, locked_until, locked_by, lease, last_error FROM jobs WHERE id = $1",
            args![id],
        )
        .await
        .expect("read the job row")
}

/// Fencing: a worker whose lease ran out (and whose job another worker has claimed since)
/// can neither complete, fail nor reschedule it; the job stays exactly as the new claim holds
/// it, and the new holder settles it.
#[tokio::test]
async fn only_the_current_lease_holder_settles_a_job() {
    for (label, store, guard) in stores().await {
        let l = label.as_str();
        store.enqueue(vec![job("work", Some("fenced".to_owned()), now_ms() - 1)]).await.must(l);
        let stale: ClaimedJob = store.claim_jobs("w1", 10, 100).await.must(l).pop().expect("claimed by w1");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let current: ClaimedJob = store.claim_jobs("w2", 10, 60_000).await.must(l).pop().expect("claimed by w2");
        assert_eq!(current.id, stale.id, "[{l}] the same job, claimed again after the lease ran out");
        assert_ne!(current.lease, stale.lease, "[{l}] each claim has its own lease");

        let held = job_row(&guard, &current.id).await.expect("the job exists");
        assert_eq!(held.locked_by.as_deref(), Some("w2"), "[{l}] w2 holds the job");
        assert_eq!(held.lease.as_deref(), Some(current.lease.as_str()), "[{l}] under w2's lease");
        assert_eq!((held.state.as_str(), held.attempts), ("queued", 2), "[{l}] second attempt, still queued");

        assert!(!store.complete_job(&stale).await.must(l), "[{l}] the stale claim completes the job");
        assert!(
            !store.fail_job(&stale, "late failure", Some(now_ms() + 60_000)).await.must(l),
            "[{l}] the stale claim schedules a retry"
        );
        assert!(!store.fail_job(&stale, "late death", None).await.must(l), "[{l}] the stale claim kills the job");
        assert!(!store.reschedule_job(&stale, now_ms() + 60_000).await.must(l), "[{l}] the stale claim reschedules");
        assert_eq!(job_row(&guard, &current.id).await.as_ref(), Some(&held), "[{l}] the job is as w2 holds it");
        assert!(store.claim_jobs("w3", 10, 60_000).await.must(l).is_empty(), "[{l}] still leased to w2");
        assert_eq!(queued(&store, "work").await, 1, "[{l}] still queued");
        store.enqueue(vec![job("work", Some("fenced".to_owned()), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "work").await, 1, "[{l}] its unique key is still taken");

        assert!(store.complete_job(&current).await.must(l), "[{l}] the holder completes the job");
        assert_eq!(job_row(&guard, &current.id).await, None, "[{l}] the completed job is gone");
        assert!(!store.complete_job(&current).await.must(l), "[{l}] a job completes once");
        assert!(!store.complete_job(&stale).await.must(l), "[{l}] the stale claim finds nothing");
    }
}

#[tokio::test]
async fn failed_jobs_wait_for_their_retry_or_die() {
    for (label, store, guard) in stores().await {
        let l = label.as_str();
        store.enqueue(vec![job("retry", None, now_ms() - 1), job("doomed", None, now_ms() - 1)]).await.must(l);
        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 2, "[{l}] both claimed");
        let retry = claimed.iter().find(|j| j.kind == "retry").expect("retry job");
        let doomed = claimed.iter().find(|j| j.kind == "doomed").expect("doomed job");

        let retry_at = now_ms() + 400;
        assert!(store.fail_job(retry, "carrier said 503", Some(retry_at)).await.must(l), "[{l}] retry recorded");
        assert!(store.fail_job(doomed, "bad payload", None).await.must(l), "[{l}] death recorded");
        assert!(store.claim_jobs("w", 10, 60_000).await.must(l).is_empty(), "[{l}] nothing claimable before retry");
        assert_eq!(queued(&store, "retry").await, 1, "[{l}] the retry is still queued");
        assert_eq!(queued(&store, "doomed").await, 0, "[{l}] a dead job is not queued");
        let waiting = job_row(&guard, &retry.id).await.expect("retry row");
        assert_eq!(
            (waiting.run_at, waiting.lease, waiting.last_error.as_deref()),
            (retry_at, None, Some("carrier said 503")),
            "[{l}] the retry waits, unleased, with its error"
        );
        let dead = job_row(&guard, &doomed.id).await.expect("a dead job is kept for a person");
        assert_eq!((dead.state.as_str(), dead.last_error.as_deref()), ("dead", Some("bad payload")), "[{l}] dead");
        assert!(!store.complete_job(doomed).await.must(l), "[{l}] a dead job is not completed by its old claim");

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
        store.enqueue(vec![job("track", key(), now_ms() - 1)]).await.must(l);
        store.enqueue(vec![job("track", key(), now_ms() - 1)]).await.must(l);
        store.enqueue(vec![job("track", key(), now_ms() - 1), job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] duplicates dropped");

        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 1, "[{l}] one job");
        store.enqueue(vec![job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] dropped while the first is running");

        assert!(store.complete_job(&claimed[0]).await.must(l), "[{l}] completed");
        assert_eq!(queued(&store, "track").await, 0, "[{l}] completed");
        store.enqueue(vec![job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] the key is free after completion");
        let next = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(next.len(), 1, "[{l}] the new job is claimable");
        assert_ne!(next[0].id, claimed[0].id, "[{l}] a new job");
        assert_eq!(next[0].attempts, 1, "[{l}] a fresh job");

        // A job that died gives its key back too.
        assert!(store.fail_job(&next[0], "gave up", None).await.must(l), "[{l}] died");
        store.enqueue(vec![job("track", key(), now_ms() - 1)]).await.must(l);
        assert_eq!(queued(&store, "track").await, 1, "[{l}] the key is free after the job died");
    }
}

#[tokio::test]
async fn a_replacing_job_takes_the_place_of_the_one_queued_under_its_key() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let key = || Some("poll:shp_1".to_owned());
        let first = NewJob { payload: json!({ "n": "first" }), ..job("poll", key(), now_ms() + 60_000) };
        store.enqueue(vec![first]).await.must(l);
        let kept = NewJob { payload: json!({ "n": "kept?" }), ..job("poll", key(), now_ms() - 1) };
        store.enqueue(vec![kept]).await.must(l);
        assert!(store.claim_jobs("w", 10, 60_000).await.must(l).is_empty(), "[{l}] without replace the first stays");

        let replacing = NewJob { payload: json!({ "n": "second" }), replace: true, ..job("poll", key(), now_ms() - 1) };
        store.enqueue(vec![replacing]).await.must(l);
        assert_eq!(queued(&store, "poll").await, 1, "[{l}] still one job under the key");
        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 1, "[{l}] the replacement is due now");
        let payload: serde_json::Value = serde_json::from_str(&claimed[0].payload).expect("JSON");
        assert_eq!(payload, json!({ "n": "second" }), "[{l}] the replacement's payload");
    }
}

#[tokio::test]
async fn a_job_queued_while_its_twin_runs_makes_that_run_happen_once_more() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let key = || Some("update_channel:shp_1".to_owned());
        let rerun = || NewJob { rerun_if_running: true, ..job("update_channel", key(), now_ms() - 1) };
        store.enqueue(vec![rerun()]).await.must(l);
        store.enqueue(vec![rerun()]).await.must(l);
        assert_eq!(queued(&store, "update_channel").await, 1, "[{l}] one job while none runs");
        let running = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(running.len(), 1);

        // A change while it runs: the run may have read too early, so it must happen again.
        store.enqueue(vec![rerun(), rerun()]).await.must(l);
        assert!(store.complete_job(&running[0]).await.must(l), "[{l}] the run settles");
        let again = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(again.len(), 1, "[{l}] the job is due once more, once");
        assert_eq!(again[0].id, running[0].id);
        assert!(store.complete_job(&again[0]).await.must(l));
        assert_eq!(queued(&store, "update_channel").await, 0, "[{l}] nothing asked since: it is gone");

        // A plain job under a key is not asked to run again.
        store.enqueue(vec![job("poll", Some("poll:shp_2".into()), now_ms() - 1)]).await.must(l);
        let poll = store.claim_jobs("w", 10, 60_000).await.must(l);
        store.enqueue(vec![job("poll", Some("poll:shp_2".into()), now_ms() - 1)]).await.must(l);
        assert!(store.complete_job(&poll[0]).await.must(l));
        assert_eq!(queued(&store, "poll").await, 0, "[{l}] a plain duplicate is dropped as before");
    }
}

#[tokio::test]
async fn jobs_written_in_a_transaction_exist_only_once_it_commits() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let a = Scope::test(tenant(l, &store, "acme").await);
        let order = order(&a, "shopify", "1001");
        let follow_ups = || {
            (0..3)
                .map(|i| NewJob {
                    scope: Some(a.clone()),
                    payload: json!({ "order_id": order.id, "i": i }),
                    ..job("follow_up", Some(format!("follow_up:{}:{i}", order.id)), now_ms() - 1)
                })
                .collect::<Vec<_>>()
        };

        let mut tx = store.begin().await.must(l);
        tx.insert_order(&order).await.must(l);
        tx.insert_jobs(follow_ups()).await.must(l);
        drop(tx);
        assert_eq!(queued(&store, "follow_up").await, 0, "[{l}] a dropped transaction queues nothing");
        assert!(
            matches!(store.order(&a, &order.id).await, Err(waybill_store::StoreError::NotFound)),
            "[{l}] nor writes its change"
        );

        let mut tx = store.begin().await.must(l);
        tx.insert_order(&order).await.must(l);
        tx.insert_jobs(follow_ups()).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(queued(&store, "follow_up").await, 3, "[{l}] the change's jobs are queued with it");
        let claimed = store.claim_jobs("w", 10, 60_000).await.must(l);
        assert_eq!(claimed.len(), 3, "[{l}] every job, an odd number of them, is claimable");
        assert!(claimed.iter().all(|j| j.scope() == Some(a.clone())), "[{l}] in the change's scope: {claimed:?}");
    }
}

/// A node that stops beating its heart, or restarts under its name, leaves its claimed jobs to
/// others at once rather than after their leases: and its old claims can no longer settle them.
#[tokio::test]
async fn the_jobs_of_a_gone_node_are_freed_and_its_claims_fenced() {
    for (label, store, _guard) in stores().await {
        let l = label.as_str();
        let t = Scope::test(tenant(l, &store, "acme").await);
        let due = now_ms() - 1_000;
        let jobs = (0..3).map(|_| NewJob { scope: Some(t.clone()), ..job("work", None, due) }).collect();
        store.enqueue(jobs).await.must(l);
        let started = now_ms();
        for node in ["alive", "silent", "restarted"] {
            store.heartbeat(node, started).await.must(l);
        }
        let held: Vec<ClaimedJob> = [
            store.claim_jobs("alive", 1, 600_000).await.must(l),
            store.claim_jobs("silent", 1, 600_000).await.must(l),
            store.claim_jobs("restarted", 1, 600_000).await.must(l),
        ]
        .concat();
        assert_eq!(held.len(), 3, "[{l}]");
        assert!(store.claim_jobs("other", 10, 600_000).await.must(l).is_empty(), "[{l}] all leased");

        // "alive" beats its heart again; "silent" does not.
        tokio::time::sleep(Duration::from_millis(30)).await;
        store.heartbeat("alive", started).await.must(l);
        store.heartbeat("restarted", started).await.must(l);
        let alive_since = now_ms() - 10;
        assert_eq!(store.free_abandoned_jobs(None, alive_since).await.must(l), 1, "[{l}] the silent node's job");
        assert_eq!(store.free_abandoned_jobs(Some("restarted"), alive_since).await.must(l), 1, "[{l}] its own");
        let taken = store.claim_jobs("other", 10, 600_000).await.must(l);
        let mut taken_ids: Vec<_> = taken.iter().map(|j| j.id.clone()).collect();
        taken_ids.sort();
        let mut freed: Vec<_> = held[1..].iter().map(|j| j.id.clone()).collect();
        freed.sort();
        assert_eq!(taken_ids, freed, "[{l}] the alive node keeps its job");
        assert!(!store.complete_job(&held[1]).await.must(l), "[{l}] the silent node's old claim is fenced");
        assert!(!store.complete_job(&held[2]).await.must(l), "[{l}] so is the previous run's");
        assert!(store.complete_job(&held[0]).await.must(l), "[{l}] the alive node settles its own");
        for job in &taken {
            assert!(store.complete_job(job).await.must(l), "[{l}]");
        }
    }
}
