//! How the embedded store scales with one big directory: create rate as the
//! directory grows to 1 M entries, lookups and a full listing of it, and
//! how long a restart takes with 1 M files. Figures, not pass/fail.
//!
//! Run: `cargo bench -p dittofs-meta-embedded --bench scale`
//! (`BENCH_ENTRIES=100000` for a shorter run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dittofs_meta::{
    AuthContext, CreateMode, FileHandle, HandleKey, MetadataService, MetadataStore, RootAttrs,
    SetAttrs, ShareOptions,
};
use dittofs_meta_embedded::{EmbeddedOptions, EmbeddedStore};

fn open_store(path: &std::path::Path) -> Arc<dyn MetadataStore> {
    Arc::new(EmbeddedStore::open(EmbeddedOptions::new(path)).expect("open the embedded store"))
}

async fn open_share(
    store: Arc<dyn MetadataStore>,
    key: &Arc<HandleKey>,
) -> (MetadataService, FileHandle) {
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
    (svc, root)
}

fn name(i: u64) -> Vec<u8> {
    format!("file-{i:08}").into_bytes()
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: u64 = std::env::var("BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("meta");
    let key = Arc::new(HandleKey::from_bytes([5; 32]));
    let ctx = AuthContext::root();
    let (svc, root) = open_share(open_store(&path), &key).await;

    println!("embedded store, one directory, {total} entries");
    let marks: Vec<u64> = [1_000u64, 10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|m| *m <= total)
        .collect();
    let window = 1_000u64;
    let started = Instant::now();
    let mut window_start = Instant::now();
    for i in 0..total {
        svc.create(
            &ctx,
            &root,
            &name(i),
            CreateMode::Guarded(SetAttrs::default()),
        )
        .await
        .expect("create");
        let done = i + 1;
        if done % window == 0 {
            if marks.contains(&done) {
                println!(
                    "  creates/s at {done:>9} entries: {:>9.0}  (last {window}; {:.1} s so far)",
                    rate(window, window_start.elapsed()),
                    started.elapsed().as_secs_f64()
                );
            }
            window_start = Instant::now();
        }
    }
    println!(
        "  all {total} creates: {:.0}/s overall",
        rate(total, started.elapsed())
    );

    let lookups = 100_000u64.min(total);
    let t = Instant::now();
    let mut x = 88172645463325252u64;
    for _ in 0..lookups {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        svc.lookup(&ctx, &root, &name(x % total))
            .await
            .expect("lookup");
    }
    println!(
        "  random lookups in the {total}-entry directory: {:.0}/s",
        rate(lookups, t.elapsed())
    );

    let t = Instant::now();
    let (mut cookie, mut verf, mut seen) = (0u64, [0u8; 8], 0u64);
    loop {
        let page = svc
            .readdir(&ctx, &root, cookie, verf, 1024, false)
            .await
            .expect("readdir");
        seen += page.entries.len() as u64;
        verf = page.verifier;
        match page.entries.last() {
            Some(last) if !page.eof => cookie = last.cookie,
            _ => break,
        }
    }
    assert_eq!(seen, total + 2, "every entry plus . and ..");
    println!(
        "  full listing (pages of 1024): {:.2} s, {:.0} entries/s",
        t.elapsed().as_secs_f64(),
        rate(seen, t.elapsed())
    );

    drop(svc);
    // Let the background work of the closed store finish before timing the
    // next open on the same files.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    let store = open_store(&path);
    let opened = t.elapsed();
    let (svc, root) = open_share(store, &key).await;
    svc.lookup(&ctx, &root, &name(total / 2))
        .await
        .expect("lookup after restart");
    println!(
        "  restart with {total} files: store open {:.0} ms, first lookup served after {:.0} ms",
        opened.as_secs_f64() * 1000.0,
        t.elapsed().as_secs_f64() * 1000.0
    );
}
