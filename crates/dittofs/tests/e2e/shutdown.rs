//! SIGTERM while a client writes: the server stops taking calls, lets the
//! ones in progress finish, makes written data durable and exits 0 within
//! `server.shutdown_timeout` (plus the time to flush); everything the
//! client had committed is there after a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nfs3_types::nfs3::{COMMIT3args, Nfs3Result, WRITE3args, nfs_fh3, nfsstat3, stable_how};
use nfs3_types::xdr_codec::Opaque;

use crate::harness::{self, Connection, Server};
use crate::nfs3_procs::{create_file, lookup, read};

const CHUNK: usize = 256 << 10;
/// nfs3_client does not notice a connection the server closed; a call
/// unanswered for this long counts as refused.
const CALL_DEADLINE: Duration = Duration::from_secs(3);
/// The writer goes back to offset 0 past this, writing the same bytes.
const WRAP: u64 = 256 << 20;

/// The byte every writer puts at `offset`.
fn byte_at(offset: u64) -> u8 {
    (offset.wrapping_mul(0x9E37_79B9) >> 13) as u8 ^ (offset >> 20) as u8
}

fn bytes_at(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64).map(byte_at).collect()
}

/// UNSTABLE writes with a COMMIT after every fourth, until a call fails or
/// goes unanswered (the server went away); `committed` is the end of what a COMMIT
/// covered.
async fn write_until_refused(mut c: Connection, fh: nfs_fh3, committed: Arc<AtomicU64>) -> u64 {
    let (mut offset, mut written) = (0u64, 0u64);
    let chunk = |o: u64| bytes_at(o, CHUNK);
    loop {
        for _ in 0..4 {
            let data = chunk(offset);
            let args = WRITE3args {
                file: fh.clone(),
                offset,
                count: CHUNK as u32,
                stable: stable_how::UNSTABLE,
                data: Opaque::borrowed(&data),
            };
            match tokio::time::timeout(CALL_DEADLINE, c.write(&args)).await {
                Ok(Ok(Nfs3Result::Ok(_))) => {}
                // Memory for written data is spent: wait for the flusher.
                Ok(Ok(Nfs3Result::Err((nfsstat3::NFS3ERR_JUKEBOX, _)))) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                _ => return written,
            }
            offset += CHUNK as u64;
            written = written.max(offset);
            if offset >= WRAP {
                offset = 0;
            }
        }
        let args = COMMIT3args {
            file: fh.clone(),
            offset: 0,
            count: 0,
        };
        match tokio::time::timeout(CALL_DEADLINE, c.commit(&args)).await {
            Ok(Ok(Nfs3Result::Ok(_))) => committed.store(written, Ordering::Release),
            _ => return written,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_long_write_keeps_what_was_committed_and_exits_0() {
    let timeout = Duration::from_secs(5);
    let mut server = Server::start_with(&[("DITTOFS_SERVER_SHUTDOWN_TIMEOUT", "5s")]);
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "long-write").await;
    let committed = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_until_refused(c, fh, committed.clone()));

    let waited = Instant::now();
    while committed.load(Ordering::Acquire) < 8 << 20 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the client committed too little"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopping = Instant::now();
    let (status, mut server) = tokio::task::spawn_blocking(move || (server.terminate(), server))
        .await
        .expect("terminate");
    let took = stopping.elapsed();
    let written = writer.await.expect("writer");
    let committed = committed.load(Ordering::Acquire);
    let log = server.log();
    assert!(status.success(), "exit status {status}\n{log}");
    // The client keeps calling; the server must not wait for it to stop,
    // and flushing what memory held adds a few seconds at most.
    assert!(
        took < timeout + Duration::from_secs(5),
        "took {took:?} to stop\n{log}"
    );
    assert!(log.contains("written data is durable"), "{log}");
    assert!(committed > 0 && written >= committed);

    server.restart();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, attrs) = lookup(&mut c, &root, "long-write").await;
    let expected_size = committed.min(WRAP);
    assert!(
        attrs.size >= expected_size,
        "size {} < committed {expected_size}",
        attrs.size
    );
    let mut at = 0u64;
    while at < expected_size {
        let want = (expected_size - at).min(1 << 20) as u32;
        let (data, _) = read(&mut c, &fh, at, want).await;
        assert_eq!(data.len(), want as usize, "short read at {at}");
        if data != bytes_at(at, data.len()) {
            panic!("committed bytes differ at {at}..{}", at + want as u64);
        }
        at += want as u64;
    }
}
