//! A whole run: mount the targets, run every round (A then B), clean up
//! after each, and gather the report.

use std::future::Future;
use std::pin::Pin;

use dittofs_nfs_client::wire::nfs3::{Ftype3, NfsFh3, NfsStat3};
use dittofs_nfs_client::{ClientError, Mount, NfsClient, Url};
use tokio::task::JoinSet;

use crate::config::{Config, MAX_DEFAULT_IO, SMALL_IO, Workload};
use crate::data::{Payloads, Rng};
use crate::progress::{Progress, Unit};
use crate::report::{Measurement, Report, RoundResults, Settings, TargetInfo};
use crate::workloads::{self, Ctx, Failure, Res};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Config(String),
    /// The S3 benchmark failed: the request and what the server said.
    #[error("{0}")]
    S3(String),
    /// Mounting or preparing a target failed before anything ran on it.
    #[error("{prefix}{source}")]
    Setup {
        prefix: String,
        #[source]
        source: ClientError,
    },
    /// A workload failed; what it had created was then removed (or not:
    /// `cleanup` says).
    #[error("{prefix}{step}: {error}{}", cleanup_note(.cleanup))]
    Failed {
        prefix: String,
        step: String,
        error: String,
        cleanup: Result<String, String>,
    },
    /// The workloads succeeded but their directory could not be removed.
    #[error("{prefix}cannot remove {dir}: {error}")]
    Cleanup {
        prefix: String,
        dir: String,
        error: String,
    },
    #[error("interrupted{}", cleanup_note(.cleanup))]
    Interrupted { cleanup: Result<String, String> },
}

fn cleanup_note(c: &Result<String, String>) -> String {
    match c {
        Ok(dir) => format!(" (removed {dir})"),
        Err(e) => format!(" (and cleaning up failed too: {e})"),
    }
}

/// A mounted target ready to run on.
struct Target {
    label: &'static str,
    /// `"A: "` with `--vs`, else empty: put in front of errors.
    prefix: String,
    mount: Mount,
    /// Where the bench directory goes: the root or `--dir`.
    base: NfsFh3,
    base_name: String,
    info: TargetInfo,
}

async fn open_target(
    label: &'static str,
    url: &Url,
    cfg: &Config,
    vs: bool,
) -> Result<Target, BenchError> {
    let prefix = if vs {
        format!("{label} ({url}): ")
    } else {
        String::new()
    };
    let setup = |source| BenchError::Setup {
        prefix: prefix.clone(),
        source,
    };
    let mount = Mount::mount(url, &cfg.client).await.map_err(setup)?;
    let mut c = mount.connect().await.map_err(setup)?;
    let fsinfo = c.fsinfo(mount.root()).await.map_err(setup)?;
    let mut base = mount.root().clone();
    let mut base_name = url.path.clone();
    if let Some(dir) = &cfg.dir {
        let setup = |source| BenchError::Setup {
            prefix: format!("{prefix}--dir {dir}: "),
            source,
        };
        for part in dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
            let found = c.lookup(&base, part).await.map_err(setup)?;
            let is_dir = match found.obj_attributes {
                Some(a) => a.ftype == Ftype3::Dir,
                None => c.getattr(&found.object).await.map_err(setup)?.ftype == Ftype3::Dir,
            };
            if !is_dir {
                return Err(setup(ClientError::Nfs {
                    procedure: "LOOKUP",
                    what: Some(format!("{part:?}")),
                    status: NfsStat3::NotDir,
                }));
            }
            base = found.object;
            base_name = format!("{}/{part}", base_name.trim_end_matches('/'));
        }
    }
    let pick = |max: u32| {
        let want = cfg.io_size.unwrap_or(MAX_DEFAULT_IO);
        if max == 0 { want } else { want.min(max) }
    };
    let info = TargetInfo {
        label: label.to_string(),
        url: url.to_string(),
        nfs_addr: mount.nfs_addr().to_string(),
        write_size: pick(fsinfo.wtmax),
        read_size: pick(fsinfo.rtmax),
        wtmax: fsinfo.wtmax,
        rtmax: fsinfo.rtmax,
    };
    Ok(Target {
        label,
        prefix,
        mount,
        base,
        base_name,
        info,
    })
}

/// Runs the benchmark described by `cfg`. `interrupt` completing stops it
/// (what was created is still removed).
pub async fn run(
    cfg: &Config,
    progress: &Progress,
    interrupt: impl Future<Output = ()>,
) -> Result<Report, BenchError> {
    cfg.validate().map_err(BenchError::Config)?;
    let vs = cfg.versus.is_some();
    let mut targets = vec![open_target("A", &cfg.target, cfg, vs).await?];
    if let Some(b) = &cfg.versus {
        targets.push(open_target("B", b, cfg, vs).await?);
    }
    let largest = targets
        .iter()
        .map(|t| t.info.write_size)
        .max()
        .unwrap_or(SMALL_IO);
    let payloads = Payloads::new(largest.max(SMALL_IO) as usize);
    let mut interrupt: Pin<Box<dyn Future<Output = ()> + '_>> = Box::pin(interrupt);
    let mut rounds = Vec::new();
    let mut failure = None;
    'rounds: for round in 1..=cfg.rounds {
        for t in &targets {
            let label = if cfg.rounds > 1 {
                format!("{} {round}/{}", t.label, cfg.rounds)
            } else {
                t.label.to_string()
            };
            let ctx = Ctx {
                label,
                write_size: t.info.write_size,
                read_size: t.info.read_size,
                ops: cfg.ops,
                duration: cfg.duration,
                listings: cfg.listings,
                payloads: payloads.clone(),
                progress: progress.clone(),
            };
            match run_round(t, cfg, &ctx, interrupt.as_mut()).await {
                Ok(results) => rounds.push(RoundResults {
                    round,
                    target: t.label.to_string(),
                    results,
                }),
                Err(e) => {
                    failure = Some(e);
                    break 'rounds;
                }
            }
        }
    }
    for t in &targets {
        let _ = t.mount.unmount().await;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let settings = Settings {
        workloads: Workload::ALL
            .into_iter()
            .filter(|w| cfg.workloads.contains(w))
            .collect(),
        connections: cfg.connections.clone(),
        file_size: cfg.file_size,
        ops: cfg.ops,
        duration_s: cfg.duration.map(|d| d.as_secs_f64()),
        entries: cfg.entries,
        listings: cfg.listings,
        rounds: cfg.rounds,
    };
    Ok(Report::new(
        targets.into_iter().map(|t| t.info).collect(),
        settings,
        rounds,
    ))
}

/// One round on one target: a fresh `dittofs-bench-<random>` directory,
/// every workload at every connection count, then the directory removed.
async fn run_round(
    t: &Target,
    cfg: &Config,
    ctx: &Ctx,
    interrupt: Pin<&mut (dyn Future<Output = ()> + '_)>,
) -> Result<Vec<Measurement>, BenchError> {
    let setup = |source| BenchError::Setup {
        prefix: t.prefix.clone(),
        source,
    };
    let name = format!("dittofs-bench-{}", Rng::from_os().hex(12));
    let path = format!("{}/{name}", t.base_name.trim_end_matches('/'));
    let mut c = t.mount.connect().await.map_err(setup)?;
    let dir = match c.mkdir(&t.base, &name, 0o755).await {
        Ok(created) => created.handle,
        Err(e) => {
            // Without a reply (a timeout, a lost connection) the directory
            // may exist all the same.
            if e.nfs_status().is_none() {
                let _ = remove_tree(&t.mount, &t.base, &name, &ctx.progress, &ctx.label).await;
            }
            return Err(setup(e));
        }
    };
    drop(c);
    let mut step = String::from("opening connections");
    let outcome = tokio::select! {
        r = run_workloads(t, cfg, ctx, &dir, &mut step) => Some(r),
        () = interrupt => None,
    };
    let cleanup = remove_tree(&t.mount, &t.base, &name, &ctx.progress, &ctx.label)
        .await
        .map(|()| path.clone())
        .map_err(|e| format!("cannot remove {path}: {e}"));
    match (outcome, cleanup) {
        (Some(Ok(results)), Ok(_)) => Ok(results),
        (Some(Ok(_)), Err(error)) => Err(BenchError::Cleanup {
            prefix: t.prefix.clone(),
            dir: path,
            error,
        }),
        (Some(Err(Failure(error))), cleanup) => Err(BenchError::Failed {
            prefix: t.prefix.clone(),
            step,
            error,
            cleanup,
        }),
        (None, cleanup) => Err(BenchError::Interrupted { cleanup }),
    }
}

async fn run_workloads(
    t: &Target,
    cfg: &Config,
    ctx: &Ctx,
    dir: &NfsFh3,
    step: &mut String,
) -> Res<Vec<Measurement>> {
    let selected = |w: Workload| cfg.workloads.contains(&w);
    let most = cfg.connections.iter().copied().max().unwrap_or(1);
    // Setup and teardown go through their own connection; the pool is for
    // the measured work.
    let mut admin = t.mount.connect().await?;
    let mut pool = Vec::with_capacity(most);
    for _ in 0..most {
        pool.push(t.mount.connect().await?);
    }
    let mut results = Vec::new();
    for &c in &cfg.connections {
        let at = |w: &str| format!("{w} with {c} connection{}", if c == 1 { "" } else { "s" });
        if Workload::ALL
            .iter()
            .any(|w| w.uses_data_files() && selected(*w))
        {
            *step = at("creating data files");
            let files = workloads::create_data_files(&mut admin, dir, c, cfg.file_size).await?;
            let timed = selected(Workload::SeqWrite);
            *step = at(if timed {
                "seq-write"
            } else {
                "writing data files"
            });
            let m = workloads::seq_write(ctx, &mut pool, &files, timed).await?;
            if timed {
                results.push(m);
            }
            if selected(Workload::SeqRead) {
                *step = at("seq-read");
                results.push(workloads::seq_read(ctx, &mut pool, &files).await?);
            }
            if selected(Workload::RandRead) {
                *step = at("rand-read");
                results.push(workloads::random_io(ctx, &mut pool, &files, false).await?);
            }
            if selected(Workload::RandWrite) {
                *step = at("rand-write");
                results.push(workloads::random_io(ctx, &mut pool, &files, true).await?);
            }
            *step = at("removing data files");
            workloads::remove_data_files(&mut admin, dir, &files).await?;
        }
        for w in [Workload::SmallFiles, Workload::SmallFilesSync] {
            if !selected(w) {
                continue;
            }
            *step = at(w.name());
            let mut dirs = Vec::with_capacity(c);
            for i in 0..c {
                dirs.push(
                    admin
                        .mkdir(dir, format!("small-{c}-{i}"), 0o755)
                        .await?
                        .handle,
                );
            }
            results.push(workloads::small_files(ctx, &mut pool, &dirs, w).await?);
            for i in 0..c {
                admin.rmdir(dir, format!("small-{c}-{i}")).await?;
            }
        }
    }
    if selected(Workload::Listing) {
        *step = "listing: creating the directory".into();
        let listing = admin.mkdir(dir, "listing", 0o755).await?.handle;
        workloads::fill_directory(ctx, &mut pool, &listing, cfg.entries).await?;
        for &c in &cfg.connections {
            *step = format!(
                "listing with {c} connection{}",
                if c == 1 { "" } else { "s" }
            );
            results.push(workloads::listing(ctx, &mut pool, &listing, cfg.entries, c).await?);
        }
    }
    *step = "removing what the bench created".into();
    Ok(results)
}

/// Connections used to remove a large directory.
const CLEANUP_CONNECTIONS: usize = 4;

/// Removes `name` in `parent` and everything below it; a name that is not
/// there is fine. Uses fresh connections, so it works after a failure left
/// the workload's connections unusable.
pub(crate) async fn remove_tree(
    mount: &Mount,
    parent: &NfsFh3,
    name: &str,
    progress: &Progress,
    label: &str,
) -> Result<(), ClientError> {
    let mut c = mount.connect().await?;
    let found = match c.lookup(parent, name).await {
        Ok(f) => f,
        Err(e) if e.nfs_status() == Some(NfsStat3::NoEnt) => return Ok(()),
        Err(e) => return Err(e),
    };
    let tick = progress.step(format!("{label} cleaning up"), None, Unit::Ops);
    let mut pool = Vec::new();
    let r = empty_dir(mount, &mut c, &mut pool, found.object, &tick).await;
    tick.finish();
    r?;
    c.rmdir(parent, name).await
}

/// Removes everything in `dir` through `admin`, files spread over up to
/// [`CLEANUP_CONNECTIONS`] connections of `pool`, subdirectories one after
/// another.
fn empty_dir<'a>(
    mount: &'a Mount,
    admin: &'a mut NfsClient,
    pool: &'a mut Vec<NfsClient>,
    dir: NfsFh3,
    tick: &'a crate::progress::Tick,
) -> Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send + 'a>> {
    Box::pin(async move {
        let entries = admin.readdirplus_all(&dir).await?;
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for e in entries {
            if &e.name[..] == b"." || &e.name[..] == b".." {
                continue;
            }
            let kind = match e.name_attributes {
                Some(a) => a.ftype,
                None => match admin.lookup(&dir, &e.name).await {
                    Ok(f) => match f.obj_attributes {
                        Some(a) => a.ftype,
                        None => admin.getattr(&f.object).await?.ftype,
                    },
                    Err(e) if e.nfs_status() == Some(NfsStat3::NoEnt) => continue,
                    Err(e) => return Err(e),
                },
            };
            if kind == Ftype3::Dir {
                dirs.push(e);
            } else {
                files.push(e.name);
            }
        }
        for d in dirs {
            let handle = match d.name_handle {
                Some(h) => h,
                None => admin.lookup(&dir, &d.name).await?.object,
            };
            empty_dir(mount, admin, pool, handle, tick).await?;
            ignore_noent(admin.rmdir(&dir, &d.name).await)?;
            tick.inc(1);
        }
        if files.is_empty() {
            return Ok(());
        }
        let want = CLEANUP_CONNECTIONS.min(files.len().div_ceil(64));
        while pool.len() < want {
            pool.push(mount.connect().await?);
        }
        let n = pool.len().min(want).max(1);
        let files = std::sync::Arc::new(files);
        let mut set = JoinSet::new();
        for (i, mut client) in pool.drain(..n).enumerate() {
            let (files, dir, tick) = (files.clone(), dir.clone(), tick.clone());
            set.spawn(async move {
                let mut r = Ok(());
                for name in files.iter().skip(i).step_by(n) {
                    r = ignore_noent(client.remove(&dir, name).await);
                    if r.is_err() {
                        break;
                    }
                    tick.inc(1);
                }
                (client, r)
            });
        }
        let mut first_error = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((client, r)) => {
                    pool.push(client);
                    if let Err(e) = r {
                        first_error.get_or_insert(e);
                    }
                }
                Err(_) => {
                    first_error.get_or_insert(ClientError::Broken {
                        addr: mount.nfs_addr(),
                    });
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

fn ignore_noent(r: Result<(), ClientError>) -> Result<(), ClientError> {
    match r {
        Err(e) if e.nfs_status() == Some(NfsStat3::NoEnt) => Ok(()),
        r => r,
    }
}
