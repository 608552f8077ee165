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
    format!(
        "\
metadata:
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
            // Not repeating, so deduplication cannot fold the blocks.
            let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ i as u64;
            let data: Vec<u8> = (0..size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
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
    // The flushers move every block to the bucket, under the prefix.
    let written: u64 = sizes.iter().map(|s| *s as u64).sum();
    let store = S3BlockStore::open(&settings(&backend, "other-server")).expect("open");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let stored = stored_bytes(&store).await;
        if stored >= written {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{stored} bytes in the bucket for {written} bytes of files"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
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
}

async fn stored_bytes(store: &S3BlockStore) -> u64 {
    use dittofs_blocks::BlockStore;
    let mut total = 0;
    for id in store.list(None, 10_000).await.expect("list") {
        total += store.get(&id, 0..u64::MAX).await.expect("get block").len() as u64;
    }
    total
}
