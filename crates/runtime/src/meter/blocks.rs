use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_blocks::{BlockError, BlockId, BlockStore, Capacity};
use metrics::{Counter, Histogram};

#[derive(Clone, Copy)]
enum Op {
    Put,
    Get,
    Contains,
    Delete,
    DeleteMany,
    List,
    Capacity,
}

const OPS: [&str; 7] = [
    "put",
    "get",
    "contains",
    "delete",
    "delete_many",
    "list",
    "capacity",
];

struct OpMeter {
    calls: Counter,
    errors: Counter,
    latency: Histogram,
}

/// A block store that counts its calls, their errors and latency, and the
/// bytes moved, under the store's configured name. Stores are wrapped
/// only while metrics are on.
pub struct MeteredBlockStore {
    inner: Arc<dyn BlockStore>,
    ops: Vec<OpMeter>,
    read: Counter,
    written: Counter,
}

impl MeteredBlockStore {
    /// `inner`, counted as store `name` while metrics are on; `inner`
    /// itself otherwise.
    pub fn wrap(name: &str, inner: Arc<dyn BlockStore>) -> Arc<dyn BlockStore> {
        if !super::enabled() {
            return inner;
        }
        let kind = inner.kind();
        let ops = OPS
            .iter()
            .map(|op| {
                let labels = [
                    ("store", name.to_owned()),
                    ("type", kind.to_owned()),
                    ("op", (*op).to_owned()),
                ];
                OpMeter {
                    calls: metrics::counter!("dittofs_block_store_operations_total", &labels),
                    errors: metrics::counter!("dittofs_block_store_errors_total", &labels),
                    latency: metrics::histogram!("dittofs_block_store_duration_seconds", &labels),
                }
            })
            .collect();
        let bytes = |direction: &'static str| {
            metrics::counter!(
                "dittofs_block_store_bytes_total",
                "store" => name.to_owned(),
                "type" => kind,
                "direction" => direction,
            )
        };
        Arc::new(Self {
            read: bytes("read"),
            written: bytes("write"),
            inner,
            ops,
        })
    }

    async fn timed<T>(
        &self,
        op: Op,
        call: impl Future<Output = Result<T, BlockError>>,
    ) -> Result<T, BlockError> {
        let m = &self.ops[op as usize];
        let start = Instant::now();
        let r = call.await;
        m.latency.record(start.elapsed().as_secs_f64());
        m.calls.increment(1);
        // A missing block is an answer, not a failure of the store.
        if let Err(e) = &r
            && !matches!(e, BlockError::NotFound(_))
        {
            m.errors.increment(1);
        }
        r
    }
}

#[async_trait]
impl BlockStore for MeteredBlockStore {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn put(&self, id: &BlockId, data: Bytes) -> Result<(), BlockError> {
        let n = data.len() as u64;
        self.timed(Op::Put, self.inner.put(id, data)).await?;
        self.written.increment(n);
        Ok(())
    }

    async fn get(&self, id: &BlockId, range: Range<u64>) -> Result<Bytes, BlockError> {
        let data = self.timed(Op::Get, self.inner.get(id, range)).await?;
        self.read.increment(data.len() as u64);
        Ok(data)
    }

    async fn contains(&self, id: &BlockId) -> Result<bool, BlockError> {
        self.timed(Op::Contains, self.inner.contains(id)).await
    }

    async fn delete(&self, id: &BlockId) -> Result<(), BlockError> {
        self.timed(Op::Delete, self.inner.delete(id)).await
    }

    async fn delete_many(&self, ids: &[BlockId]) -> Result<(), BlockError> {
        self.timed(Op::DeleteMany, self.inner.delete_many(ids))
            .await
    }

    async fn list(
        &self,
        after: Option<&BlockId>,
        limit: usize,
    ) -> Result<Vec<BlockId>, BlockError> {
        self.timed(Op::List, self.inner.list(after, limit)).await
    }

    async fn capacity(&self) -> Result<Capacity, BlockError> {
        self.timed(Op::Capacity, self.inner.capacity()).await
    }

    fn is_local(&self) -> bool {
        self.inner.is_local()
    }
}

#[cfg(test)]
mod tests {
    use dittofs_blocks::MemoryBlockStore;
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

    use super::*;

    fn metered(recorder: &PrometheusRecorder) -> Arc<dyn BlockStore> {
        metrics::with_local_recorder(recorder, || {
            MeteredBlockStore::wrap("blocks", Arc::new(MemoryBlockStore::new()))
        })
    }

    fn value(text: &str, series: &str) -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_calls_errors_and_bytes_and_still_passes_the_suite() {
        crate::meter::enable();
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let store = metered(&recorder);
        assert!(
            store.is_local(),
            "a wrapped memory store is still read directly"
        );
        let id = BlockId::of(b"0123456789");
        store
            .put(&id, Bytes::from_static(b"0123456789"))
            .await
            .unwrap();
        assert_eq!(&store.get(&id, 2..6).await.unwrap()[..], b"2345");
        let missing = BlockId::of(b"missing");
        assert!(matches!(
            store.get(&missing, 0..1).await,
            Err(BlockError::NotFound(_))
        ));
        assert!(
            store.get(&id, 50..60).await.is_err(),
            "a range past the end"
        );
        let text = handle.render();
        let ops = |op: &str| {
            format!(
                "dittofs_block_store_operations_total{{store=\"blocks\",type=\"memory\",op=\"{op}\"}}"
            )
        };
        let errors = ops("get").replace("operations", "errors");
        assert_eq!(value(&text, &ops("put")), 1, "{text}");
        assert_eq!(value(&text, &ops("get")), 3);
        assert_eq!(value(&text, &errors), 1, "a missing block is no error");
        let bytes = |d: &str| {
            format!(
                "dittofs_block_store_bytes_total{{store=\"blocks\",type=\"memory\",direction=\"{d}\"}}"
            )
        };
        assert_eq!(value(&text, &bytes("write")), 10);
        assert_eq!(value(&text, &bytes("read")), 4);

        dittofs_blocks::conformance::run(|| async { metered(&recorder) }).await;
    }
}
