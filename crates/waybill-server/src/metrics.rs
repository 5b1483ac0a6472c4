//! Prometheus metrics through the `metrics` crates: counters are recorded where things happen
//! (HTTP answers here, bookings and jobs in the engine); gauges read from the database are
//! refreshed when scraped. One recorder per process, installed on first use.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use waybill_engine::{Engine, EngineError};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Job kinds seen queued, so a kind whose queue empties reads 0 rather than its last count.
static KINDS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Installs the process's recorder (once); `None` if another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new().install_recorder();
            if let Err(e) = &installed {
                tracing::warn!(error = %e, "metrics are not recorded: another recorder is installed");
            }
            installed.ok()
        })
        .as_ref()
}

/// The metrics as Prometheus text, with the queue gauges read now.
pub async fn render(engine: &Engine) -> Result<String, EngineError> {
    let queued = engine.store().queued_jobs().await?;
    let mut kinds = KINDS.lock().unwrap_or_else(|e| e.into_inner());
    // Every kind this node runs, at 0 when none is queued, so a series never starts missing.
    kinds.extend(engine.job_kinds().map(str::to_owned));
    kinds.extend(queued.iter().map(|(kind, _)| kind.clone()));
    for kind in kinds.iter() {
        let n = queued.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
        metrics::gauge!("waybill_jobs_queued", "kind" => kind.clone()).set(n as f64);
    }
    drop(kinds);
    Ok(install().map(PrometheusHandle::render).unwrap_or_default())
}
