//! The nodes serving one database, each beating its heart into the `nodes` table, so work a
//! node started (a booking in flight, an idempotency key) can be told apart from work whose
//! node is gone.

use crate::{Result, Store, args, now_ms};

#[derive(sqlx::FromRow)]
struct NodeRow {
    started_at: i64,
}
crate::sqlite_row!(NodeRow { started_at });

impl Store {
    /// Records that `node` (started at `started_at`) is alive now.
    pub async fn heartbeat(&self, node: &str, started_at: i64) -> Result<()> {
        self.pool
            .execute(
                "INSERT INTO nodes (id, started_at, heartbeat_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, started_at = excluded.started_at",
                args![node, started_at, now_ms()],
            )
            .await?;
        Ok(())
    }

    /// When the run of `node` now alive started (epoch ms), if it has beaten its heart since
    /// `since`; `None` when the node is gone.
    pub async fn node_started(&self, node: &str, since: i64) -> Result<Option<i64>> {
        let row: Option<NodeRow> = self
            .pool
            .fetch_optional("SELECT started_at FROM nodes WHERE id = $1 AND heartbeat_at >= $2", args![node, since])
            .await?;
        Ok(row.map(|r| r.started_at))
    }

    /// A node stopping cleanly says so; nodes silent for long are forgotten.
    pub async fn forget_node(&self, node: &str, silent_before: i64) -> Result<()> {
        self.pool.execute("DELETE FROM nodes WHERE id = $1 OR heartbeat_at < $2", args![node, silent_before]).await?;
        Ok(())
    }
}
