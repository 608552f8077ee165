use std::sync::{Arc, OnceLock};
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram};

use super::connections::{ConnectionCounts, ConnectionGuard, Connections};

/// The names one adapter reports. The request path passes indexes into
/// these lists, so no label is ever formatted or allocated per request.
/// An index past the end counts as the last entry, so each list should end
/// with a catch-all.
#[derive(Debug, Clone, Copy)]
pub struct Vocabulary {
    pub adapter: &'static str,
    pub operations: &'static [&'static str],
    pub statuses: &'static [&'static str],
}

/// What one adapter counts: its connections always, its requests only
/// while metrics are on.
pub struct AdapterMeter {
    vocabulary: Vocabulary,
    pub(super) connections: Connections,
    requests: Option<Requests>,
}

impl std::fmt::Debug for AdapterMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterMeter")
            .field("adapter", &self.vocabulary.adapter)
            .field("requests", &self.requests.is_some())
            .finish()
    }
}

/// Handles registered with the recorder once, on first use of each
/// operation and status; afterwards a count is one atomic add.
struct Requests {
    counts: Box<[OnceLock<Counter>]>,
    latency: Box<[OnceLock<Histogram>]>,
    in_flight: Gauge,
    bytes_read: Counter,
    bytes_written: Counter,
}

impl AdapterMeter {
    pub fn new(vocabulary: Vocabulary) -> Self {
        let requests = super::enabled().then(|| {
            let adapter = vocabulary.adapter;
            let ops = vocabulary.operations.len().max(1);
            let statuses = vocabulary.statuses.len().max(1);
            Requests {
                counts: (0..ops * statuses).map(|_| OnceLock::new()).collect(),
                latency: (0..ops).map(|_| OnceLock::new()).collect(),
                in_flight: metrics::gauge!("dittofs_requests_in_flight", "adapter" => adapter),
                bytes_read: metrics::counter!("dittofs_bytes_read_total", "adapter" => adapter),
                bytes_written: metrics::counter!("dittofs_bytes_written_total", "adapter" => adapter),
            }
        });
        Self {
            vocabulary,
            connections: Connections::default(),
            requests,
        }
    }

    pub fn adapter(&self) -> &'static str {
        self.vocabulary.adapter
    }

    /// Starts timing a request of operation `operation` (an index into the
    /// vocabulary); `None`, and no clock read, while metrics are off.
    pub fn start(self: &Arc<Self>, operation: usize) -> Option<RequestTimer> {
        let r = self.requests.as_ref()?;
        r.in_flight.increment(1.0);
        Some(RequestTimer {
            meter: self.clone(),
            operation,
            start: Instant::now(),
        })
    }

    pub fn bytes_read(&self, n: u64) {
        if let Some(r) = &self.requests {
            r.bytes_read.increment(n);
        }
    }

    pub fn bytes_written(&self, n: u64) {
        if let Some(r) = &self.requests {
            r.bytes_written.increment(n);
        }
    }

    /// Counts an accepted connection; the guard counts its end.
    pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
        ConnectionGuard::new(self.clone())
    }

    pub fn connections(&self) -> ConnectionCounts {
        self.connections.snapshot()
    }

    fn record(&self, operation: usize, status: usize, seconds: f64) {
        let Some(r) = &self.requests else { return };
        let v = &self.vocabulary;
        let op = operation.min(r.latency.len() - 1);
        let st = status.min(v.statuses.len().max(1) - 1);
        let name = |list: &[&'static str], i: usize| list.get(i).copied().unwrap_or("OTHER");
        r.counts[op * v.statuses.len().max(1) + st]
            .get_or_init(|| {
                metrics::counter!(
                    "dittofs_requests_total",
                    "adapter" => v.adapter,
                    "operation" => name(v.operations, op),
                    "status" => name(v.statuses, st),
                )
            })
            .increment(1);
        r.latency[op]
            .get_or_init(|| {
                metrics::histogram!(
                    "dittofs_request_duration_seconds",
                    "adapter" => v.adapter,
                    "operation" => name(v.operations, op),
                )
            })
            .record(seconds);
    }
}

/// One request being timed. It leaves the in-flight count when dropped;
/// only [`RequestTimer::finish`] counts it as done, so a request whose
/// connection was cut is not counted under any status.
pub struct RequestTimer {
    meter: Arc<AdapterMeter>,
    operation: usize,
    start: Instant,
}

impl RequestTimer {
    /// For adapters that learn the operation after the request started.
    pub fn set_operation(&mut self, operation: usize) {
        self.operation = operation;
    }

    pub fn finish(self, status: usize) {
        let seconds = self.start.elapsed().as_secs_f64();
        self.meter.record(self.operation, status, seconds);
    }
}

impl Drop for RequestTimer {
    fn drop(&mut self) {
        if let Some(r) = &self.meter.requests {
            r.in_flight.decrement(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics::with_local_recorder;
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    const V: Vocabulary = Vocabulary {
        adapter: "t",
        operations: &["READ", "OTHER"],
        statuses: &["OK", "NOENT", "OTHER"],
    };

    #[test]
    fn requests_by_operation_and_status() {
        crate::meter::enable();
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let meter = with_local_recorder(&recorder, || Arc::new(AdapterMeter::new(V)));
        with_local_recorder(&recorder, || {
            let t = meter.start(0).expect("metrics are on");
            t.finish(1);
            meter.start(0).expect("on").finish(0);
            // Out of range: the catch-all entries.
            meter.start(7).expect("on").finish(42);
            // A request cut off is in flight no more, and not counted.
            drop(meter.start(0));
            meter.bytes_read(5);
        });
        let text = handle.render();
        for want in [
            "dittofs_requests_total{adapter=\"t\",operation=\"READ\",status=\"NOENT\"} 1",
            "dittofs_requests_total{adapter=\"t\",operation=\"READ\",status=\"OK\"} 1",
            "dittofs_requests_total{adapter=\"t\",operation=\"OTHER\",status=\"OTHER\"} 1",
            "dittofs_request_duration_seconds_count{adapter=\"t\",operation=\"READ\"} 2",
            "dittofs_requests_in_flight{adapter=\"t\"} 0",
            "dittofs_bytes_read_total{adapter=\"t\"} 5",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
    }
}
