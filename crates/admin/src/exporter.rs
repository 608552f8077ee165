//! The Prometheus recorder, and the gauges set from the registry at each
//! scrape: state the server already keeps costs nothing between scrapes.

use dittofs_runtime::Registry;
use dittofs_runtime::meter::{self, LATENCY_BUCKETS};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AdminError;

/// Installs the process-wide recorder and turns request metrics on. Call
/// it once, before the server starts, so that every meter and metered
/// store made after it counts.
pub fn install_recorder() -> Result<PrometheusHandle, AdminError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .map_err(|e| AdminError::Recorder(e.to_string()))?
        .install_recorder()
        .map_err(|e| AdminError::Recorder(e.to_string()))?;
    meter::enable();
    metrics::gauge!("dittofs_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// Sets the gauges and totals that are read rather than counted.
pub(crate) fn publish(registry: &Registry) {
    for m in registry.meters() {
        let c = m.connections();
        let adapter = m.adapter();
        metrics::gauge!("dittofs_connections_active", "adapter" => adapter).set(c.active as f64);
        metrics::counter!("dittofs_connections_accepted_total", "adapter" => adapter)
            .absolute(c.accepted);
        metrics::counter!("dittofs_connections_closed_total", "adapter" => adapter)
            .absolute(c.closed);
        metrics::counter!("dittofs_connections_force_closed_total", "adapter" => adapter)
            .absolute(c.force_closed);
    }
    let data = registry.data_path();
    let cache = data.cache.stats();
    metrics::counter!("dittofs_cache_hits_total").absolute(cache.hits);
    metrics::counter!("dittofs_cache_misses_total").absolute(cache.misses);
    metrics::counter!("dittofs_cache_evictions_total").absolute(cache.evictions);
    metrics::gauge!("dittofs_cache_bytes").set(cache.bytes as f64);
    metrics::gauge!("dittofs_cache_capacity_bytes").set(cache.capacity as f64);
    metrics::gauge!("dittofs_dirty_bytes").set(data.budget.used() as f64);
    metrics::gauge!("dittofs_dirty_limit_bytes").set(data.budget.limit() as f64);
    for share in registry.shares() {
        let s = share.content.stats();
        let name = share.name.clone();
        metrics::gauge!("dittofs_journal_bytes", "share" => name.clone())
            .set(s.journal.bytes as f64);
        metrics::gauge!("dittofs_journal_segments", "share" => name.clone())
            .set(s.journal.segments as f64);
        metrics::gauge!("dittofs_journal_unsynced_bytes", "share" => name.clone())
            .set(s.journal.unsynced_bytes as f64);
        metrics::counter!("dittofs_journal_appended_bytes_total", "share" => name.clone())
            .absolute(s.journal.appended_bytes);
        metrics::gauge!("dittofs_flush_queue_depth", "share" => name.clone())
            .set(s.dirty_files as f64);
        metrics::gauge!("dittofs_share_dirty_bytes", "share" => name).set(s.dirty_bytes as f64);
    }
}
