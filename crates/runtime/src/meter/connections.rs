use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::AdapterMeter;

#[derive(Default)]
pub(super) struct Connections {
    accepted: AtomicU64,
    closed: AtomicU64,
    force_closed: AtomicU64,
}

/// An adapter's connections since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionCounts {
    pub active: u64,
    pub accepted: u64,
    /// Ended by the client, or after finishing their requests at shutdown.
    pub closed: u64,
    /// Cut by the server: refused over `max_connections`, an oversized
    /// record, or still open when the shutdown timeout ran out.
    pub force_closed: u64,
}

impl Connections {
    pub(super) fn snapshot(&self) -> ConnectionCounts {
        // Ends are read before starts, so `active` never goes negative.
        let closed = self.closed.load(Ordering::Acquire);
        let force_closed = self.force_closed.load(Ordering::Acquire);
        let accepted = self.accepted.load(Ordering::Acquire);
        ConnectionCounts {
            active: accepted.saturating_sub(closed + force_closed),
            accepted,
            closed,
            force_closed,
        }
    }
}

/// One accepted connection. Dropped without [`ConnectionGuard::closed`]
/// (its task aborted, or [`ConnectionGuard::force_closed`]) it counts as
/// force-closed.
pub struct ConnectionGuard {
    meter: Arc<AdapterMeter>,
    graceful: bool,
}

impl ConnectionGuard {
    pub(super) fn new(meter: Arc<AdapterMeter>) -> Self {
        meter.connections.accepted.fetch_add(1, Ordering::AcqRel);
        Self {
            meter,
            graceful: false,
        }
    }

    /// The connection ended normally.
    pub fn closed(mut self) {
        self.graceful = true;
    }

    /// The server cut the connection.
    pub fn force_closed(self) {}
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let c = &self.meter.connections;
        if self.graceful {
            c.closed.fetch_add(1, Ordering::AcqRel);
        } else {
            c.force_closed.fetch_add(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Vocabulary;

    #[test]
    fn every_connection_ends_once_as_closed_or_force_closed() {
        let meter = Arc::new(AdapterMeter::new(Vocabulary {
            adapter: "test",
            operations: &["OP"],
            statuses: &["OK"],
        }));
        let (a, b, c, d) = (
            meter.connection(),
            meter.connection(),
            meter.connection(),
            meter.connection(),
        );
        a.closed();
        b.force_closed();
        // A task aborted at shutdown drops its guard.
        drop(c);
        assert_eq!(
            meter.connections(),
            ConnectionCounts {
                active: 1,
                accepted: 4,
                closed: 1,
                force_closed: 2,
            }
        );
        d.closed();
        assert_eq!(meter.connections().active, 0);
    }
}
