//! The database layer under the store, on each backend: transactions that are dropped roll
//! back, reads see only committed rows and do not wait for a writer, and unique violations are
//! recognised (the store turns them into conflicts).

mod common;

use common::*;
use waybill_store::db::Pool;
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
        let pool = Pool::connect(&guard.url).await.must(l);

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
        let pool = Pool::connect(&guard.url).await.must(l);
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
        let pool = Pool::connect(&guard.url).await.must(l);
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
