//! What the server counts for `server.metrics`: requests by adapter,
//! operation and status with their latency, bytes read and written,
//! requests in flight, connections, and block-store calls.
//!
//! Counting goes through the `metrics` facade; the Prometheus exporter and
//! the admin endpoint live in `dittofs-admin`, which calls [`enable`]
//! before the server starts. While metrics are off nothing on the request
//! path is timed or counted: a request meter is `None`, and block stores
//! are not wrapped. Connection counts are plain atomics, kept always (one
//! update per connection, not per request).

mod blocks;
mod connections;
mod requests;

use std::sync::atomic::{AtomicBool, Ordering};

pub use blocks::MeteredBlockStore;
pub use connections::{ConnectionCounts, ConnectionGuard};
pub use requests::{AdapterMeter, RequestTimer, Vocabulary};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns request metrics on for meters and stores made from now on. Call
/// it once the global recorder is installed and before the server starts.
pub fn enable() {
    ENABLED.store(true, Ordering::Release);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Buckets of every latency histogram, in seconds: from a cached GETATTR
/// (tens of microseconds) to an S3 block upload (seconds).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];
