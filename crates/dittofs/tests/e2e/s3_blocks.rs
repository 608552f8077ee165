//! The S3 block store against a real S3 server (DittoFS's own S3 adapter):
//! the block-store conformance suite unchanged, and NFS files whose blocks
//! live in it.

use std::sync::Arc;
use std::time::Duration;

use dittofs_blocks_s3::{S3BlockSettings, S3BlockStore};

use crate::harness::{self, Server};

fn settings(server: &Server, prefix: &str) -> S3BlockSettings {
    S3BlockSettings {
        endpoint: server.s3_endpoint(),
        region: "us-east-1".into(),
        bucket: "export".into(),
        prefix: prefix.into(),
        access_key: "main-key".into(),
        secret_key: "main-secret".into(),
        virtual_hosted: false,
        timeout: Duration::from_secs(30),
        max_retries: 2,
        // Low, so the suite's 4 MiB block goes up in parts.
        multipart_threshold: 1 << 20,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_block_store_passes_the_conformance_suite() {
    let server = Server::start_s3();
    let n = std::sync::atomic::AtomicUsize::new(0);
    let s = &server;
    dittofs_blocks::conformance::run(|| {
        let prefix = format!(
            "suite-{}",
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        async move { Arc::new(S3BlockStore::open(&settings(s, &prefix)).expect("open")) }
    })
    .await;
    dittofs_blocks::conformance::run_reopen(|| async {
        Arc::new(S3BlockStore::open(&settings(s, "reopen")).expect("open"))
    })
    .await;
}

/// A second server keeps its blocks in the first one's bucket.
fn config_on(s3: &Server) -> String {
    config_with(s3, "")
}

pub(crate) fn config_with(s3: &Server, extra: &str) -> String {
    format!(
        "\
{extra}metadata:
  stores:
    default: {{ type: embedded }}
payload:
  stores:
    default:
      type: s3
      s3:
        endpoint: {}
        bucket: export
        prefix: other-server
        access_key: main-key
        secret_key: main-secret
        max_retries: 2
        timeout: 3s
adapters:
  s3:
    enabled: false
",
        s3.s3_endpoint()
    )
}

#[tokio::test]
async fn nfs_files_round_trip_through_the_s3_block_store() {
    let backend = Server::start_s3();
    let mut server = Server::start_with_config(Some(&config_on(&backend)), &[]);
    let sizes = [1usize << 10, 100 << 10, 4 << 20, (9 << 20) + 7, 100 << 20];
    let mut want = Vec::new();
    {
        let mut c = harness::mount(&server).await;
        let root = c.root_nfs_fh3();
        for (i, &size) in sizes.iter().enumerate() {
            let data = noise(i as u64, size);
            let name = format!("f{i}");
            let (fh, _) = crate::nfs3_procs::create_file(&mut c, &root, &name).await;
            let mut at = 0;
            while at < data.len() {
                let end = (at + (1 << 20)).min(data.len());
                crate::nfs3_procs::write(&mut c, &fh, at as u64, &data[at..end]).await;
                at = end;
            }
            want.push((name, data));
        }
    }
    // The flushers move every block to the bucket, under the prefix; a
    // small file's bytes stay inline in the metadata store.
    let written: u64 = sizes.iter().map(|s| *s as u64).sum();
    let in_blocks: u64 = sizes
        .iter()
        .map(|s| *s as u64)
        .filter(|s| *s > dittofs_meta::MAX_INLINE as u64)
        .sum();
    assert!(in_blocks < written, "a file small enough to stay inline");
    wait_until_stored(&backend, in_blocks).await;
    // Restarted, it reads what it flushed from the S3 store.
    server.terminate();
    server.restart();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    for (name, data) in &want {
        let (fh, _) = crate::nfs3_procs::lookup(&mut c, &root, name).await;
        let got = crate::nfs3_procs::read_all(&mut c, &fh).await;
        assert!(
            got == *data,
            "{name}: {} bytes back, {} written",
            got.len(),
            data.len()
        );
    }
    // FSSTAT's used space comes from the metadata's block counters.
    let st = c
        .fsstat(&nfs3_types::nfs3::FSSTAT3args { fsroot: root })
        .await
        .expect("FSSTAT rpc")
        .expect("FSSTAT");
    assert!(
        st.tbytes - st.fbytes >= in_blocks,
        "FSSTAT says {} bytes used, {in_blocks} written into blocks",
        st.tbytes - st.fbytes
    );
}

/// Waits (up to two minutes) until the other server's blocks in the
/// backend's bucket hold at least `bytes`.
async fn wait_until_stored(backend: &Server, bytes: u64) {
    use dittofs_blocks::BlockStore;
    let store = S3BlockStore::open(&settings(backend, "other-server")).expect("open");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let mut stored = 0;
        for id in store.list(None, 10_000).await.expect("list") {
            stored += store.get(&id, 0..u64::MAX).await.expect("get block").len() as u64;
        }
        if stored >= bytes {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{stored} bytes in the bucket for {bytes} bytes written"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed.wrapping_mul(0xff51_afd7_ed55_8ccd);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn commit(c: &mut harness::Connection, fh: &nfs3_types::nfs3::nfs_fh3) {
    let r = c
        .commit(&nfs3_types::nfs3::COMMIT3args {
            file: fh.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .expect("COMMIT rpc");
    assert!(
        matches!(r, nfs3_types::nfs3::Nfs3Result::Ok(_)),
        "COMMIT must succeed with the S3 store down: the journal holds the data"
    );
}

/// The S3 endpoint goes away in the middle of a write workload: writes are
/// taken (and COMMITs succeed, from the journal) until the server's memory
/// for unflushed data is spent, then pushed back with JUKEBOX; when the
/// endpoint returns, everything drains into the bucket and reads back.
#[tokio::test]
async fn an_s3_outage_pushes_writes_back_and_loses_nothing() {
    use nfs3_types::nfs3::{Nfs3Result, nfsstat3, stable_how};
    let mut backend = Server::start_s3();
    let server = Server::start_with_config(
        Some(&config_with(&backend, "cache:\n  max_size: 16MiB\n")),
        &[],
    );
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = crate::nfs3_procs::create_file(&mut c, &root, "outage").await;
    let mut acked = Vec::new();
    let chunk = 1 << 20;
    for i in 0..2 {
        let data = noise(i, chunk);
        crate::nfs3_procs::write_res(&mut c, &fh, acked.len() as u64, &data, stable_how::UNSTABLE)
            .await
            .expect("WRITE before the outage");
        acked.extend_from_slice(&data);
    }
    commit(&mut c, &fh).await;

    backend.kill();
    let mut pushed_back = false;
    for i in 2..64 {
        let data = noise(i, chunk);
        match crate::nfs3_procs::write_res(
            &mut c,
            &fh,
            acked.len() as u64,
            &data,
            stable_how::UNSTABLE,
        )
        .await
        {
            Nfs3Result::Ok(_) => {
                acked.extend_from_slice(&data);
                commit(&mut c, &fh).await;
            }
            Nfs3Result::Err((nfsstat3::NFS3ERR_JUKEBOX, _)) => {
                pushed_back = true;
                break;
            }
            Nfs3Result::Err((other, _)) => panic!("WRITE during the outage: {other:?}"),
        }
    }
    assert!(
        pushed_back,
        "{} MiB taken with the block store down: memory must stay bounded",
        acked.len() >> 20
    );
    assert!(
        acked.len() > 2 << 20,
        "no write was taken with the block store down ({} bytes in all)",
        acked.len()
    );

    eprintln!(
        "{} MiB acknowledged (2 before the outage), then JUKEBOX",
        acked.len() >> 20
    );
    backend.restart();
    // Writes are taken again once the backlog drains.
    let tail = noise(99, chunk);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        match crate::nfs3_procs::write_res(
            &mut c,
            &fh,
            acked.len() as u64,
            &tail,
            stable_how::UNSTABLE,
        )
        .await
        {
            Nfs3Result::Ok(_) => break,
            Nfs3Result::Err((nfsstat3::NFS3ERR_JUKEBOX, _)) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "still JUKEBOX after the endpoint came back"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Nfs3Result::Err((other, _)) => panic!("WRITE after the outage: {other:?}"),
        }
    }
    acked.extend_from_slice(&tail);
    commit(&mut c, &fh).await;
    let got = crate::nfs3_procs::read_all(&mut c, &fh).await;
    assert!(
        got == acked,
        "{} bytes back, {} acknowledged",
        got.len(),
        acked.len()
    );
    wait_until_stored(&backend, acked.len() as u64).await;
}
