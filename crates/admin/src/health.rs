//! Readiness: every named store answers one cheap question in time.

use std::time::{Duration, Instant};

use dittofs_blocks::BlockId;
use dittofs_runtime::{NamedStore, StoreHandle};

/// How long a store may take to answer before it counts as unreachable.
/// An S3 store retries refused connections with backoff, so an outage
/// shows here as a timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One store's answer.
#[derive(Debug, Clone)]
pub struct Probe {
    pub error: Option<String>,
    pub elapsed: Duration,
}

async fn probe(store: &NamedStore) -> Probe {
    let started = Instant::now();
    let ask = async {
        match &store.store {
            // The share roots: a few rows in any store, where stats may
            // count every row (PostgreSQL).
            StoreHandle::Metadata(m) => {
                m.list_shares().await.map(|_| ()).map_err(|e| e.to_string())
            }
            // Any block id will do: the store must say whether it has it.
            StoreHandle::Blocks(b) => b
                .contains(&BlockId::of(b"dittofs readiness probe"))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    };
    let error = match tokio::time::timeout(PROBE_TIMEOUT, ask).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!("no answer within {PROBE_TIMEOUT:?}")),
    };
    Probe {
        error,
        elapsed: started.elapsed(),
    }
}

/// Probes every store at once; answers in the order given.
pub async fn probe_stores(stores: &[NamedStore]) -> Vec<Probe> {
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in stores.iter().enumerate() {
        let s = s.clone();
        set.spawn(async move { (i, probe(&s).await) });
    }
    let mut out = vec![
        Probe {
            error: Some("probe did not finish".into()),
            elapsed: Duration::ZERO,
        };
        stores.len()
    ];
    while let Some(done) = set.join_next().await {
        if let Ok((i, p)) = done {
            out[i] = p;
        }
    }
    out
}
