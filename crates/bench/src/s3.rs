//! The S3 benchmark: PUT, then GET, of objects of each size at each
//! concurrency, through `object_store` (a real SigV4 client, as any
//! application would use), against any S3 endpoint. Like the NFS bench,
//! every PUT sends bytes no other object shares a 4 KiB piece with (no
//! deduplication helps it) and every GET consumes its body as it arrives,
//! keeping none of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::format_size;
use crate::data::{Payloads, Rng};
use crate::runner::BenchError;
use crate::stats::Samples;

#[derive(Debug, Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub sizes: Vec<u64>,
    pub concurrency: Vec<usize>,
    /// How long each PUT and each GET phase runs at each size and
    /// concurrency (at least one object per worker).
    pub duration: Duration,
    /// Send `UNSIGNED-PAYLOAD` instead of the body's SHA-256, as AWS SDKs
    /// do over TLS: neither side hashes the body for the signature.
    pub unsigned_payload: bool,
}

/// One phase's figures.
#[derive(Debug, Clone)]
pub struct S3Row {
    pub op: &'static str,
    pub size: u64,
    pub concurrency: usize,
    pub ops: u64,
    pub secs: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

impl S3Row {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.secs.max(1e-9)
    }

    pub fn mib_per_sec(&self) -> f64 {
        self.ops_per_sec() * self.size as f64 / (1 << 20) as f64
    }
}

fn store(cfg: &S3Config) -> Result<AmazonS3, BenchError> {
    let options = ClientOptions::new()
        .with_allow_http(true)
        .with_timeout(Duration::from_secs(300))
        .with_pool_max_idle_per_host(64);
    AmazonS3Builder::new()
        .with_endpoint(&cfg.endpoint)
        .with_bucket_name(&cfg.bucket)
        .with_region(&cfg.region)
        .with_access_key_id(&cfg.access_key)
        .with_secret_access_key(&cfg.secret_key)
        .with_virtual_hosted_style_request(false)
        .with_unsigned_payload(cfg.unsigned_payload)
        .with_client_options(options)
        .build()
        .map_err(|e| BenchError::S3(format!("S3 client: {e}")))
}

fn s3_err(what: &str, e: object_store::Error) -> BenchError {
    BenchError::S3(format!("S3 {what}: {e}"))
}

/// Runs `phase` for each worker until the deadline; each call of
/// `phase(worker, n)` is one timed operation.
async fn timed<F, Fut>(
    workers: usize,
    duration: Duration,
    min_per_worker: u64,
    max_per_worker: u64,
    phase: F,
) -> Result<(Vec<u64>, f64, Samples), BenchError>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BenchError>> + Send,
{
    let phase = Arc::new(phase);
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let phase = phase.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::with_capacity(1024);
            let mut n = 0;
            while n < max_per_worker && (n < min_per_worker || Instant::now() < deadline) {
                let op = phase(w, n);
                let t = Instant::now();
                op.await?;
                samples.push(t.elapsed());
                n += 1;
            }
            Ok::<_, BenchError>((n, samples))
        }));
    }
    let mut counts = Vec::with_capacity(workers);
    let mut all = Samples::default();
    for t in tasks {
        let (n, s) = t
            .await
            .map_err(|e| BenchError::S3(format!("worker: {e}")))??;
        counts.push(n);
        all.extend(s);
    }
    Ok((counts, start.elapsed().as_secs_f64(), all))
}

/// Measures every size at every concurrency; removes what it wrote.
pub async fn run_s3(
    cfg: &S3Config,
    mut report: impl FnMut(&S3Row),
) -> Result<Vec<S3Row>, BenchError> {
    // reqwest's TLS needs a process-wide provider even for http://.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = Arc::new(store(cfg)?);
    let mut rng = Rng::from_os();
    let run = format!("dittofs-bench-{}", rng.hex(16));
    let biggest = cfg.sizes.iter().copied().max().unwrap_or(0);
    let payloads = Payloads::new(biggest as usize);
    let mut rows = Vec::new();
    let result = async {
        for &size in &cfg.sizes {
            for &conc in &cfg.concurrency {
                // Enough objects to fill the phase, at most 4 GiB of them
                // in all, so a run never fills the disk.
                let max_per_worker = (4u64 << 30) / size.max(1) / conc.max(1) as u64 + 1;
                let prefix = format!("{run}/{size}/{conc}");
                let (s, p, pay) = (store.clone(), prefix.clone(), payloads.clone());
                let (written, secs, mut lat) =
                    timed(conc, cfg.duration, 1, max_per_worker, move |w, n| {
                        let mut rng = Rng::new((w as u64) << 32 | n);
                        let body = pay.make(size as usize, &mut rng);
                        let (s, path) = (s.clone(), Path::from(format!("{p}/{w}-{n}")));
                        async move {
                            s.put(&path, PutPayload::from(body))
                                .await
                                .map(|_| ())
                                .map_err(|e| s3_err("PUT", e))
                        }
                    })
                    .await?;
                let row = S3Row {
                    op: "PUT",
                    size,
                    concurrency: conc,
                    ops: written.iter().sum(),
                    secs,
                    p50_us: lat.percentile_us(50.0),
                    p99_us: lat.percentile_us(99.0),
                };
                report(&row);
                rows.push(row);
                // Each worker reads back what it wrote, in turn.
                let written = Arc::new(written);
                let (s, p) = (store.clone(), prefix.clone());
                let (read, secs, mut lat) =
                    timed(conc, cfg.duration, 1, max_per_worker, move |w, n| {
                        let k = n % written[w].max(1);
                        let (s, path) = (s.clone(), Path::from(format!("{p}/{w}-{k}")));
                        async move {
                            let mut body = s
                                .get(&path)
                                .await
                                .map_err(|e| s3_err("GET", e))?
                                .into_stream();
                            let mut got = 0u64;
                            while let Some(piece) = body.next().await {
                                got += piece.map_err(|e| s3_err("GET body", e))?.len() as u64;
                            }
                            if got != size {
                                return Err(BenchError::S3(format!(
                                    "GET {path}: {got} bytes, not {size}"
                                )));
                            }
                            Ok(())
                        }
                    })
                    .await?;
                let row = S3Row {
                    op: "GET",
                    size,
                    concurrency: conc,
                    ops: read.iter().sum(),
                    secs,
                    p50_us: lat.percentile_us(50.0),
                    p99_us: lat.percentile_us(99.0),
                };
                report(&row);
                rows.push(row);
                remove(&store, &prefix).await?;
            }
        }
        Ok::<_, BenchError>(())
    }
    .await;
    // Whatever happened, nothing stays behind.
    let cleaned = remove(&store, &run).await;
    result?;
    cleaned?;
    Ok(rows)
}

async fn remove(store: &Arc<AmazonS3>, prefix: &str) -> Result<(), BenchError> {
    let prefix = Path::from(prefix);
    let listed = store
        .list(Some(&prefix))
        .map(|m| m.map(|m| m.location))
        .boxed();
    let mut deleted = store.delete_stream(listed);
    while let Some(r) = deleted.next().await {
        r.map_err(|e| s3_err("DELETE", e))?;
    }
    Ok(())
}

/// The table `dittofs bench-s3` prints.
pub fn s3_table(rows: &[S3Row]) -> String {
    let mut out = format!(
        "{:<4} {:>9} {:>5} {:>9} {:>10} {:>11} {:>11}\n",
        "op", "size", "conc", "ops/s", "MiB/s", "p50", "p99"
    );
    for r in rows {
        out += &format!(
            "{:<4} {:>9} {:>5} {:>9.1} {:>10.1} {:>11} {:>11}\n",
            r.op,
            format_size(r.size),
            r.concurrency,
            r.ops_per_sec(),
            r.mib_per_sec(),
            crate::report::fmt_us(r.p50_us),
            crate::report::fmt_us(r.p99_us),
        );
    }
    out
}
