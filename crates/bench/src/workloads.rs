//! The workloads. Each runs on `c` connections at once (one task per
//! connection, one call in flight per connection) and returns a
//! [`Measurement`]; setup that is not measured (creating files and
//! directories) happens before the clock starts.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dittofs_nfs_client::wire::nfs3::{CreateHow3, NfsFh3, Sattr3, StableHow};
use dittofs_nfs_client::{ClientError, NfsClient, READDIRPLUS_DIRCOUNT, READDIRPLUS_MAXCOUNT};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::config::{SMALL_IO, Workload};
use crate::data::{Payloads, Rng};
use crate::progress::{Progress, Tick, Unit};
use crate::report::Measurement;
use crate::stats::{Samples, median};

/// A failure inside a workload, already worded for the user.
#[derive(Debug, Clone)]
pub(crate) struct Failure(pub String);

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Self(e.to_string())
    }
}

pub(crate) type Res<T> = Result<T, Failure>;

/// What one connection did.
#[derive(Debug, Default)]
struct WorkerOut {
    samples: Samples,
    ops: u64,
    bytes: u64,
    /// Directory entries listed.
    entries: u64,
    /// Durations of whole steps: COMMITs, or full listings.
    steps: Vec<Duration>,
}

/// One data file of a connection count.
#[derive(Debug, Clone)]
pub(crate) struct DataFile {
    pub name: String,
    pub fh: NfsFh3,
    pub size: u64,
}

/// Everything a workload needs besides its connections.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub label: String,
    pub write_size: u32,
    pub read_size: u32,
    pub ops: u64,
    pub duration: Option<Duration>,
    pub listings: u64,
    pub payloads: Payloads,
    pub progress: Progress,
}

impl Ctx {
    fn tick(&self, what: &str, c: usize, total: Option<u64>, unit: Unit) -> Tick {
        let conns = if c == 1 { "conn" } else { "conns" };
        let label = format!("{} {what}, {c} {conns}", self.label);
        self.progress.step(label, total, unit)
    }

    /// The per-connection op count, or `None` when running for a time.
    fn op_total(&self, c: usize) -> Option<u64> {
        match self.duration {
            Some(_) => None,
            None => Some(self.ops * c as u64),
        }
    }
}

/// Keeps going while under the op count or before the deadline.
#[derive(Clone, Copy)]
struct Budget {
    ops: u64,
    deadline: Option<Instant>,
}

impl Budget {
    fn new(ops: u64, duration: Option<Duration>) -> Self {
        Self {
            ops,
            deadline: duration.map(|d| Instant::now() + d),
        }
    }

    fn more(&self, done: u64) -> bool {
        match self.deadline {
            Some(d) => Instant::now() < d,
            None => done < self.ops,
        }
    }
}

/// Runs `work(i, client)` on the first `c` clients at once and returns the
/// wall time from the start of the first to the end of the last. The
/// clients come back to `pool` unless a worker failed, in which case the
/// others are stopped and the first failure is returned.
async fn run_workers<F, Fut>(
    pool: &mut Vec<NfsClient>,
    c: usize,
    work: F,
) -> Res<(Duration, Vec<WorkerOut>)>
where
    F: Fn(usize, NfsClient) -> Fut,
    Fut: Future<Output = (NfsClient, Res<WorkerOut>)> + Send + 'static,
{
    if pool.len() < c {
        return Err(Failure(format!(
            "only {} of {c} connections are open",
            pool.len()
        )));
    }
    let clients: Vec<NfsClient> = pool.drain(..c).collect();
    let mut set = JoinSet::new();
    let start = Instant::now();
    for (i, client) in clients.into_iter().enumerate() {
        set.spawn(work(i, client));
    }
    let mut outs = Vec::with_capacity(c);
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((client, Ok(out))) => {
                pool.push(client);
                outs.push(out);
            }
            Ok((_, Err(e))) => {
                set.abort_all();
                return Err(e);
            }
            Err(e) => {
                set.abort_all();
                return Err(Failure(format!("a worker stopped: {e}")));
            }
        }
    }
    Ok((start.elapsed(), outs))
}

/// Gathers the workers' figures into one measurement.
fn measure(
    workload: Workload,
    c: usize,
    elapsed: Duration,
    outs: Vec<WorkerOut>,
) -> (Measurement, Vec<Duration>) {
    let mut samples = Samples::with_capacity(outs.iter().map(|o| o.samples.len()).sum());
    let (mut ops, mut bytes, mut entries, mut steps) = (0, 0, 0, Vec::new());
    for o in outs {
        samples.extend(o.samples);
        ops += o.ops;
        bytes += o.bytes;
        entries += o.entries;
        steps.extend(o.steps);
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let (throughput, unit, latency_of) = match workload {
        Workload::SeqWrite => (bytes as f64 / secs / 1e6, "MB/s", "WRITE"),
        Workload::SeqRead => (bytes as f64 / secs / 1e6, "MB/s", "READ"),
        Workload::RandRead => (ops as f64 / secs, "ops/s", "READ"),
        Workload::RandWrite => (ops as f64 / secs, "ops/s", "WRITE"),
        Workload::SmallFiles => (ops as f64 / secs, "files/s", "CREATE+WRITE+GETATTR+REMOVE"),
        Workload::SmallFilesSync => (
            ops as f64 / secs,
            "files/s",
            "CREATE+WRITE(FILE_SYNC)+GETATTR+REMOVE",
        ),
        Workload::Listing => (entries as f64 / secs, "entries/s", "READDIRPLUS"),
    };
    let m = Measurement {
        workload,
        connections: c,
        seconds: elapsed.as_secs_f64(),
        ops,
        bytes,
        throughput,
        unit,
        latency_of,
        samples: samples.len(),
        p50_us: samples.percentile_us(50.0),
        p99_us: samples.percentile_us(99.0),
        mean_us: samples.mean_us(),
        mb_per_s: match workload {
            Workload::SmallFiles | Workload::SmallFilesSync | Workload::Listing => None,
            _ => Some(bytes as f64 / secs / 1e6),
        },
        commit_ms: None,
        entries: (workload == Workload::Listing).then_some(entries),
        listing_ms: None,
    };
    (m, steps)
}

fn ms(d: &[Duration]) -> f64 {
    median(
        &d.iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect::<Vec<_>>(),
    )
}

fn longest_ms(d: &[Duration]) -> f64 {
    d.iter()
        .max()
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Creates the `c` data files of a connection count (not measured).
pub(crate) async fn create_data_files(
    client: &mut NfsClient,
    dir: &NfsFh3,
    c: usize,
    total: u64,
) -> Res<Vec<DataFile>> {
    let per = (total / c as u64) / u64::from(SMALL_IO) * u64::from(SMALL_IO);
    let mut files = Vec::with_capacity(c);
    for i in 0..c {
        let name = format!("data-{c}-{i}");
        let created = client.create(dir, &name, guarded()).await?;
        files.push(DataFile {
            name,
            fh: created.handle,
            size: per,
        });
    }
    Ok(files)
}

/// Removes the data files (not measured).
pub(crate) async fn remove_data_files(
    client: &mut NfsClient,
    dir: &NfsFh3,
    files: &[DataFile],
) -> Res<()> {
    for f in files {
        client.remove(dir, &f.name).await?;
    }
    Ok(())
}

fn guarded() -> CreateHow3 {
    CreateHow3::Guarded(Sattr3 {
        mode: Some(0o644),
        ..Sattr3::default()
    })
}

/// seq-write: each connection writes its own file from start to end in
/// `write_size` UNSTABLE WRITEs, then COMMITs it. With `timed` false it is
/// the untimed preparation of the files for the read workloads.
pub(crate) async fn seq_write(
    ctx: &Ctx,
    pool: &mut Vec<NfsClient>,
    files: &[DataFile],
    timed: bool,
) -> Res<Measurement> {
    let c = files.len();
    let total: u64 = files.iter().map(|f| f.size).sum();
    let what = if timed {
        "seq-write"
    } else {
        "writing data files"
    };
    let tick = ctx.tick(what, c, Some(total), Unit::Bytes);
    let files = Arc::new(files.to_vec());
    let result = run_workers(pool, c, |i, mut client| {
        let (files, tick, payloads) = (files.clone(), tick.clone(), ctx.payloads.clone());
        let size = ctx.write_size;
        async move {
            let r = async {
                let f = &files[i];
                let mut rng = Rng::from_os();
                let mut out = WorkerOut::default();
                let mut off = 0;
                let mut verf = None;
                while off < f.size {
                    let len = (f.size - off).min(u64::from(size)) as usize;
                    let data = payloads.make(len, &mut rng);
                    let t = Instant::now();
                    let r = client.write(&f.fh, off, data, StableHow::Unstable).await?;
                    out.samples.push(t.elapsed());
                    if r.count == 0 {
                        return Err(Failure(format!(
                            "WRITE of {len} bytes to {} wrote nothing",
                            f.name
                        )));
                    }
                    verf.get_or_insert(r.verf);
                    off += u64::from(r.count);
                    out.ops += 1;
                    out.bytes += u64::from(r.count);
                    tick.inc(u64::from(r.count));
                }
                let t = Instant::now();
                let committed = client.commit(&f.fh, 0, 0).await?;
                out.steps.push(t.elapsed());
                check_verifier(verf, committed, &f.name)?;
                Ok(out)
            }
            .await;
            (client, r)
        }
    })
    .await;
    tick.finish();
    let (elapsed, outs) = result?;
    let (mut m, commits) = measure(Workload::SeqWrite, c, elapsed, outs);
    m.commit_ms = Some(longest_ms(&commits));
    Ok(m)
}

fn check_verifier(written: Option<[u8; 8]>, committed: [u8; 8], name: &str) -> Res<()> {
    match written {
        Some(w) if w != committed => Err(Failure(format!(
            "the write verifier of {name} changed before COMMIT: the server restarted and lost unstable data"
        ))),
        _ => Ok(()),
    }
}

/// seq-read: each connection reads its own file from start to end.
pub(crate) async fn seq_read(
    ctx: &Ctx,
    pool: &mut Vec<NfsClient>,
    files: &[DataFile],
) -> Res<Measurement> {
    let c = files.len();
    let total: u64 = files.iter().map(|f| f.size).sum();
    let tick = ctx.tick("seq-read", c, Some(total), Unit::Bytes);
    let files = Arc::new(files.to_vec());
    let result = run_workers(pool, c, |i, mut client| {
        let (files, tick) = (files.clone(), tick.clone());
        let size = ctx.read_size;
        async move {
            let r = async {
                let f = &files[i];
                let mut out = WorkerOut::default();
                let mut off = 0;
                while off < f.size {
                    let count = (f.size - off).min(u64::from(size)) as u32;
                    let t = Instant::now();
                    let r = client.read(&f.fh, off, count).await?;
                    out.samples.push(t.elapsed());
                    let n = r.data.len() as u64;
                    if n == 0 {
                        return Err(Failure(format!(
                            "{} ends at {off} bytes, {} were written",
                            f.name, f.size
                        )));
                    }
                    off += n;
                    out.ops += 1;
                    out.bytes += n;
                    tick.inc(n);
                }
                Ok(out)
            }
            .await;
            (client, r)
        }
    })
    .await;
    tick.finish();
    let (elapsed, outs) = result?;
    Ok(measure(Workload::SeqRead, c, elapsed, outs).0)
}

/// rand-read and rand-write: 4 KiB at 4 KiB-aligned random offsets of
/// random files among the connection count's files; rand-write COMMITs
/// every file at the end (connection `i` commits file `i` once all
/// connections are done writing).
pub(crate) async fn random_io(
    ctx: &Ctx,
    pool: &mut Vec<NfsClient>,
    files: &[DataFile],
    write: bool,
) -> Res<Measurement> {
    let c = files.len();
    let workload = if write {
        Workload::RandWrite
    } else {
        Workload::RandRead
    };
    let tick = ctx.tick(workload.name(), c, ctx.op_total(c), Unit::Ops);
    let files = Arc::new(files.to_vec());
    let barrier = Arc::new(Barrier::new(c));
    let budget = Budget::new(ctx.ops, ctx.duration);
    let result = run_workers(pool, c, |i, mut client| {
        let (files, tick, payloads) = (files.clone(), tick.clone(), ctx.payloads.clone());
        let barrier = barrier.clone();
        async move {
            let r = async {
                let mut rng = Rng::from_os();
                let mut out = WorkerOut::default();
                let mut verf = None;
                while budget.more(out.ops) {
                    let f = &files[rng.below(files.len() as u64) as usize];
                    let blocks = (f.size / u64::from(SMALL_IO)).max(1);
                    let off = rng.below(blocks) * u64::from(SMALL_IO);
                    let t = Instant::now();
                    let n = if write {
                        let data = payloads.make(SMALL_IO as usize, &mut rng);
                        let r = client.write(&f.fh, off, data, StableHow::Unstable).await?;
                        verf.get_or_insert(r.verf);
                        r.count
                    } else {
                        client.read(&f.fh, off, SMALL_IO).await?.data.len() as u32
                    };
                    out.samples.push(t.elapsed());
                    if n != SMALL_IO {
                        return Err(Failure(format!(
                            "{} of 4 KiB at {off} in {} moved {n} bytes",
                            if write { "WRITE" } else { "READ" },
                            f.name
                        )));
                    }
                    out.ops += 1;
                    out.bytes += u64::from(n);
                    tick.inc(1);
                }
                if write {
                    barrier.wait().await;
                    let f = &files[i];
                    let t = Instant::now();
                    let committed = client.commit(&f.fh, 0, 0).await?;
                    out.steps.push(t.elapsed());
                    check_verifier(verf, committed, &f.name)?;
                }
                Ok(out)
            }
            .await;
            (client, r)
        }
    })
    .await;
    tick.finish();
    let (elapsed, outs) = result?;
    let (mut m, commits) = measure(workload, c, elapsed, outs);
    if write {
        m.commit_ms = Some(longest_ms(&commits));
    }
    Ok(m)
}

/// small-files: in its own directory, each connection repeats CREATE
/// (GUARDED), WRITE 4 KiB (UNSTABLE, or FILE_SYNC for small-files-sync),
/// GETATTR, REMOVE; the latency is of the four together.
pub(crate) async fn small_files(
    ctx: &Ctx,
    pool: &mut Vec<NfsClient>,
    dirs: &[NfsFh3],
    workload: Workload,
) -> Res<Measurement> {
    let c = dirs.len();
    let stable = if workload == Workload::SmallFilesSync {
        StableHow::FileSync
    } else {
        StableHow::Unstable
    };
    let tick = ctx.tick(workload.name(), c, ctx.op_total(c), Unit::Ops);
    let dirs = Arc::new(dirs.to_vec());
    let budget = Budget::new(ctx.ops, ctx.duration);
    let result = run_workers(pool, c, |i, mut client| {
        let (dirs, tick, payloads) = (dirs.clone(), tick.clone(), ctx.payloads.clone());
        async move {
            let r = async {
                let dir = &dirs[i];
                let mut rng = Rng::from_os();
                let mut out = WorkerOut::default();
                while budget.more(out.ops) {
                    let name = format!("f{}", out.ops);
                    let data = payloads.make(SMALL_IO as usize, &mut rng);
                    let t = Instant::now();
                    let fh = client.create(dir, &name, guarded()).await?.handle;
                    let w = client.write(&fh, 0, data, stable).await?;
                    let attrs = client.getattr(&fh).await?;
                    client.remove(dir, &name).await?;
                    out.samples.push(t.elapsed());
                    if w.count != SMALL_IO || attrs.size != u64::from(SMALL_IO) {
                        return Err(Failure(format!(
                            "{name}: wrote {} bytes, GETATTR says {} (expected 4096)",
                            w.count, attrs.size
                        )));
                    }
                    out.ops += 1;
                    out.bytes += u64::from(SMALL_IO);
                    tick.inc(1);
                }
                Ok(out)
            }
            .await;
            (client, r)
        }
    })
    .await;
    tick.finish();
    let (elapsed, outs) = result?;
    Ok(measure(workload, c, elapsed, outs).0)
}

/// Fills `dir` with `entries` empty files named `entry-NNNNNNN`, spread
/// over every connection of the pool (not measured).
pub(crate) async fn fill_directory(
    ctx: &Ctx,
    pool: &mut Vec<NfsClient>,
    dir: &NfsFh3,
    entries: u64,
) -> Res<()> {
    let c = pool.len().clamp(1, 8);
    let tick = ctx.progress.step(
        format!("{} creating {entries} entries", ctx.label),
        Some(entries),
        Unit::Ops,
    );
    let dir = dir.clone();
    let result = run_workers(pool, c, |i, mut client| {
        let (dir, tick) = (dir.clone(), tick.clone());
        async move {
            let r = async {
                let mut k = i as u64;
                while k < entries {
                    let how = CreateHow3::Unchecked(Sattr3 {
                        mode: Some(0o644),
                        ..Sattr3::default()
                    });
                    client.create(&dir, entry_name(k), how).await?;
                    tick.inc(1);
                    k += c as u64;
                }
                Ok(WorkerOut::default())
            }
            .await;
            (client, r)
        }
    })
    .await;
    tick.finish();
    result.map(drop)
}

fn entry_name(k: u64) -> String {
    format!("entry-{k:07}")
}

/// listing: every connection lists the whole directory `listings` times
/// (or for the duration) with READDIRPLUS, and checks it saw every entry.
pub(crate) async fn listing(
    ctx: &Ctx,
    pool: &mut Vec<NfsClient>,
    dir: &NfsFh3,
    entries: u64,
    c: usize,
) -> Res<Measurement> {
    let total = match ctx.duration {
        Some(_) => None,
        None => Some(entries * ctx.listings * c as u64),
    };
    let tick = ctx.tick("listing", c, total, Unit::Ops);
    let budget = Budget::new(ctx.listings, ctx.duration);
    let dir = dir.clone();
    let result = run_workers(pool, c, |_, mut client| {
        let (dir, tick) = (dir.clone(), tick.clone());
        async move {
            let r = async {
                let mut out = WorkerOut::default();
                let mut listed = 0;
                while budget.more(listed) {
                    let start = Instant::now();
                    let mut seen = 0u64;
                    let mut cookie = 0;
                    let mut verf = [0u8; 8];
                    loop {
                        let t = Instant::now();
                        let page = client
                            .readdirplus(
                                &dir,
                                cookie,
                                verf,
                                READDIRPLUS_DIRCOUNT,
                                READDIRPLUS_MAXCOUNT,
                            )
                            .await?;
                        out.samples.push(t.elapsed());
                        out.ops += 1;
                        let n = page
                            .entries
                            .iter()
                            .filter(|e| &e.name[..] != b"." && &e.name[..] != b"..")
                            .count() as u64;
                        seen += n;
                        tick.inc(n);
                        if page.eof {
                            break;
                        }
                        match page.entries.last() {
                            Some(e) => cookie = e.cookie,
                            None => {
                                return Err(Failure(
                                    "READDIRPLUS returned an empty page before the end".into(),
                                ));
                            }
                        }
                        verf = page.cookieverf;
                        if seen > entries + 2 {
                            break;
                        }
                    }
                    if seen != entries {
                        return Err(Failure(format!(
                            "a listing returned {seen} entries, the directory has {entries}"
                        )));
                    }
                    out.steps.push(start.elapsed());
                    out.entries += seen;
                    listed += 1;
                }
                Ok(out)
            }
            .await;
            (client, r)
        }
    })
    .await;
    tick.finish();
    let (elapsed, outs) = result?;
    let (mut m, lists) = measure(Workload::Listing, c, elapsed, outs);
    m.listing_ms = Some(ms(&lists));
    Ok(m)
}
