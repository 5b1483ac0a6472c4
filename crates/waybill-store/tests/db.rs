//! The database layer under the store, on each backend: transactions that are dropped roll
//! back, reads see only committed rows and do not wait for a writer, and unique violations are
//! recognised (the store turns them into conflicts).

mod common;

use common::*;
use waybill_store::db::{Pool, PoolSettings};
use waybill_store::{args, now_ms};

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}
waybill_store::sqlite_row!(Count { n });

#[derive(sqlx::FromRow)]
struct Named {
    name: String,
}
waybill_store::sqlite_row!(Named { name });

async fn tenants(pool: &Pool) -> i64 {
    let rows: Vec<Count> = pool.fetch_all("SELECT COUNT(*) AS n FROM tenants", vec![]).await.expect("count");
    rows[0].n
}

const INSERT: &str = "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)";

#[tokio::test]
async fn a_dropped_transaction_rolls_back_and_frees_the_writer() {
    for (label, _store, guard) in stores().await {
        let l = label.as_str();
        let pool = Pool::connect(&guard.url, PoolSettings::default()).await.must(l);

        let mut tx = pool.begin().await.must(l);
        tx.execute(INSERT, args!["ten_dropped", "dropped", now_ms()]).await.must(l);
        drop(tx);
        assert_eq!(tenants(&pool).await, 0, "[{l}] nothing of the dropped transaction remains");

        // The writer is free again, and a committed transaction stays.
        let mut tx = pool.begin().await.must(l);
        tx.execute(INSERT, args!["ten_kept", "kept", now_ms()]).await.must(l);
        tx.commit().await.must(l);
        assert_eq!(tenants(&pool).await, 1, "[{l}] the committed row is there");
    }
}

#[tokio::test]
async fn reads_see_committed_rows_only_and_do_not_wait_for_a_writer() {
    for (label, _store, guard) in stores().await {
        let l = label.as_str();
        let pool = Pool::connect(&guard.url, PoolSettings::default()).await.must(l);
        let mut tx = pool.begin().await.must(l);
        tx.execute(INSERT, args!["ten_open", "open", now_ms()]).await.must(l);
        let inside: Vec<Count> = tx.fetch_all("SELECT COUNT(*) AS n FROM tenants", vec![]).await.must(l);
        assert_eq!(inside[0].n, 1, "[{l}] the transaction sees its own row");
        assert_eq!(tenants(&pool).await, 0, "[{l}] a read outside does not, and answers while the write is open");
        tx.commit().await.must(l);
        assert_eq!(tenants(&pool).await, 1, "[{l}] visible once committed");
    }
}

#[tokio::test]
async fn unique_violations_are_recognised_and_returning_reads_back() {
    for (label, _store, guard) in stores().await {
        let l = label.as_str();
        let pool = Pool::connect(&guard.url, PoolSettings::default()).await.must(l);
        pool.execute(INSERT, args!["ten_1", "first", now_ms()]).await.must(l);
        let again = pool.execute(INSERT, args!["ten_1", "second", now_ms()]).await;
        assert!(again.is_err_and(|e| e.is_unique_violation()), "[{l}] a repeated primary key is a unique violation");
        let other = pool.execute("INSERT INTO tenants (id) VALUES ($1)", args!["ten_2"]).await;
        assert!(other.is_err_and(|e| !e.is_unique_violation()), "[{l}] a NOT NULL failure is not one");

        let renamed: Vec<Named> = pool
            .write_returning("UPDATE tenants SET name = $1 WHERE id = $2 RETURNING name", args!["renamed", "ten_1"])
            .await
            .must(l);
        assert_eq!(renamed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["renamed"], "[{l}]");
        assert_eq!(pool.execute("DELETE FROM tenants WHERE id = $1", args!["ten_1"]).await.must(l), 1, "[{l}]");
    }
}

/// `$n` is the n-th value wherever it stands in the query: SQLite numbers such parameters by
/// first appearance, so the layer binds them by name.
#[tokio::test]
async fn parameters_are_bound_by_their_number_not_their_place() {
    for (label, _store, guard) in stores().await {
        let l = label.as_str();
        let pool = Pool::connect(&guard.url, PoolSettings::default()).await.must(l);
        pool.execute(INSERT, args!["ten_1", "first", now_ms()]).await.must(l);
        let changed = pool
            .execute("UPDATE tenants SET name = $3, created_at = $2 WHERE id = $1", args!["ten_1", 7_i64, "renamed"])
            .await
            .must(l);
        assert_eq!(changed, 1, "[{l}] the row named by $1");
        let rows: Vec<Named> =
            pool.fetch_all("SELECT name FROM tenants WHERE created_at = $1", args![7_i64]).await.must(l);
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["renamed"], "[{l}]");
    }
}

/// PostgreSQL only (SQLite has one writer and opens readers as needed, so it has no pool to
/// exhaust): a node's pool holds at most `max_connections`, a request waits at most
/// `acquire_timeout` for one, and then the store answers `Unavailable` (the server turns that
/// into a 503) instead of hanging; the connection, once free, serves again.
#[tokio::test]
async fn a_full_postgres_pool_answers_unavailable_after_its_acquire_timeout() {
    for (label, _store, guard) in stores().await {
        let l = label.as_str();
        if l != "postgres" {
            continue;
        }
        let settings = PoolSettings { max_connections: 1, acquire_timeout: std::time::Duration::from_millis(300) };
        let sealer = waybill_store::Sealer::from_base64(&guard.key).unwrap();
        let store = waybill_store::Store::open_with(&guard.url, sealer, settings).await.must(l);
        let tenant = store.create_tenant("acme").await.must(l);

        let held = store.begin().await.must(l);
        let waited = store.tenant(&tenant.id).await;
        assert!(
            matches!(waited, Err(waybill_store::StoreError::Unavailable(ref e)) if e.is_unavailable()),
            "[{l}] a read with the only connection taken: {waited:?}"
        );
        held.commit().await.must(l);
        assert_eq!(store.tenant(&tenant.id).await.must(l), tenant, "[{l}] the freed connection serves again");
        store.close().await;
    }
}
