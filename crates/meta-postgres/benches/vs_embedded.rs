//! Creates and lookups per second through the metadata service, on the
//! PostgreSQL store (with synchronous commits, the default, and without:
//! `pg-async`) and on the embedded store, with 1 and 8 callers at once,
//! each in a directory of its own: what moving the namespace into
//! PostgreSQL costs. Figures, not pass/fail.
//!
//! Run: `cargo bench -p dittofs-meta-postgres --bench vs_embedded`
//! (`BENCH_FILES=2000` for a shorter run; `PG_TEST_DSN` for another
//! server than 127.0.0.1:5432, database `test`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dittofs_meta::{
    AuthContext, CreateMode, FileHandle, HandleKey, MetadataService, MetadataStore, RootAttrs,
    SetAttrs, ShareOptions,
};
use dittofs_meta_embedded::{EmbeddedOptions, EmbeddedStore};
use dittofs_meta_postgres::{PostgresOptions, PostgresStore};

async fn open_share(store: Arc<dyn MetadataStore>) -> (Arc<MetadataService>, FileHandle) {
    let key = Arc::new(HandleKey::from_bytes([5; 32]));
    let svc = MetadataService::open(
        "/bench",
        store,
        key.clone(),
        ShareOptions::default(),
        RootAttrs {
            mode: 0o777,
            uid: 0,
            gid: 0,
        },
    )
    .await
    .expect("open the share");
    let root = key
        .open(&svc.root_handle(&AuthContext::root()).await.expect("root"))
        .expect("root handle");
    (Arc::new(svc), root)
}

fn name(task: usize, i: usize) -> Vec<u8> {
    format!("t{task}-file-{i:08}").into_bytes()
}

/// `files` creates spread over `tasks` callers, each in a directory of
/// its own, then as many random lookups; both as operations per second.
async fn measure(store: Arc<dyn MetadataStore>, files: usize, tasks: usize) -> (f64, f64) {
    let (svc, root) = open_share(store).await;
    let ctx = AuthContext::root();
    let mut dirs = Vec::new();
    for t in 0..tasks {
        let made = svc
            .mkdir(&ctx, &root, format!("d{t}").as_bytes(), SetAttrs::default())
            .await
            .expect("mkdir");
        dirs.push(
            HandleKey::from_bytes([5; 32])
                .open(&made.handle)
                .expect("handle"),
        );
    }
    let each = files / tasks;
    let creates = timed(&svc, &dirs, each, |svc, dir, t, n| async move {
        let ctx = AuthContext::root();
        for i in 0..n {
            svc.create(
                &ctx,
                &dir,
                &name(t, i),
                CreateMode::Guarded(SetAttrs::default()),
            )
            .await
            .expect("create");
        }
    })
    .await;
    let lookups = timed(&svc, &dirs, each, |svc, dir, t, n| async move {
        let ctx = AuthContext::root();
        let mut x = 88172645463325252u64 ^ t as u64;
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            svc.lookup(&ctx, &dir, &name(t, (x % n as u64) as usize))
                .await
                .expect("lookup");
        }
    })
    .await;
    (creates, lookups)
}

/// Runs `work` once per directory, all at once; operations per second.
async fn timed<F, Fut>(svc: &Arc<MetadataService>, dirs: &[FileHandle], each: usize, work: F) -> f64
where
    F: Fn(Arc<MetadataService>, FileHandle, usize, usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let handles: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(t, dir)| tokio::spawn(work(svc.clone(), *dir, t, each)))
        .collect();
    for h in handles {
        h.await.expect("task");
    }
    (each * dirs.len()) as f64 / started.elapsed().as_secs_f64()
}

async fn postgres(schema: &str, synchronous_commit: bool) -> Arc<dyn MetadataStore> {
    let dsn = std::env::var("PG_TEST_DSN")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    let options = PostgresOptions {
        dsn,
        schema: schema.into(),
        max_conns: 16,
        synchronous_commit,
        ..PostgresOptions::default()
    };
    Arc::new(
        PostgresStore::open(&options)
            .await
            .expect("open PostgreSQL"),
    )
}

async fn drop_schema(schema: &str) {
    let dsn = std::env::var("PG_TEST_DSN")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .expect("drop the bench schema");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let files: usize = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    println!("{files} creates, then {files} random lookups, through MetadataService");
    println!(
        "{:<10} {:>7} {:>12} {:>12}",
        "store", "callers", "creates/s", "lookups/s"
    );
    for tasks in [1usize, 8] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let embedded: Arc<dyn MetadataStore> = Arc::new(
            EmbeddedStore::open(EmbeddedOptions {
                path: tmp.path().join("meta"),
                sync_interval: Duration::from_secs(1),
            })
            .expect("open the embedded store"),
        );
        let (c, l) = measure(embedded, files, tasks).await;
        println!("{:<10} {tasks:>7} {c:>12.0} {l:>12.0}", "embedded");

        for (label, synchronous) in [("postgres", true), ("pg-async", false)] {
            let schema = format!("bench_{}_{tasks}_{synchronous}", std::process::id());
            let (c, l) = measure(postgres(&schema, synchronous).await, files, tasks).await;
            println!("{label:<10} {tasks:>7} {c:>12.0} {l:>12.0}");
            drop_schema(&schema).await;
        }
    }
}
