//! The data path against the real server: acknowledged writes survive
//! kill -9 at random moments, identical files share their blocks, memory
//! stays bounded under a big write, small overwrites are packed and then
//! compacted, and a damaged journal stops start-up.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nfs3_types::nfs3::*;
use nfs3_types::xdr_codec::Opaque;
use parking_lot::Mutex;

use crate::harness::{self, Connection, Server};
use crate::nfs3_procs::{create_file, lookup, ok, read_all, remove_res};

/// A small deterministic generator, so a failing run repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// What a client may rely on: for each file, the bytes whose last write
/// was acknowledged as stable (FILE_SYNC, or UNSTABLE then COMMIT).
#[derive(Default)]
struct Stable {
    files: BTreeMap<String, Vec<Option<u8>>>,
}

impl Stable {
    fn set(&mut self, file: &str, offset: u64, data: Option<&[u8]>, len: usize) {
        let bytes = self.files.entry(file.to_owned()).or_default();
        let end = offset as usize + len;
        if bytes.len() < end {
            bytes.resize(end, None);
        }
        for i in 0..len {
            bytes[offset as usize + i] = data.map(|d| d[i]);
        }
    }
}

const FILES: [&str; 3] = ["a", "b", "c"];
const SPAN: u64 = 4 << 20;

/// Writes until the connection fails, recording what was made stable.
async fn writer(
    mut c: Connection,
    root: nfs_fh3,
    seed: u64,
    stable: Arc<Mutex<Stable>>,
    verifier: Arc<Mutex<[u8; 8]>>,
) {
    let mut rng = Rng(seed | 1);
    let mut handles = BTreeMap::new();
    for name in FILES {
        let r = c
            .lookup(&LOOKUP3args {
                what: diropargs3 {
                    dir: root.clone(),
                    name: name.as_bytes().into(),
                },
            })
            .await;
        let fh = match r {
            Ok(Nfs3Result::Ok(ok)) => ok.object,
            Ok(Nfs3Result::Err(_)) => create_file(&mut c, &root, name).await.0,
            Err(_) => return,
        };
        handles.insert(name, fh);
    }
    loop {
        let name = FILES[rng.below(3) as usize];
        let fh = &handles[name];
        if rng.below(2) == 0 {
            // One FILE_SYNC write.
            let (off, len) = (rng.below(SPAN), 1 + rng.below(256 << 10) as usize);
            let data = rng.bytes(len);
            stable.lock().set(name, off, None, len);
            let r = c
                .write(&WRITE3args {
                    file: fh.clone(),
                    offset: off,
                    count: len as u32,
                    stable: stable_how::FILE_SYNC,
                    data: Opaque::borrowed(&data),
                })
                .await;
            match r {
                Ok(Nfs3Result::Ok(ok)) => {
                    assert_eq!(ok.committed, stable_how::FILE_SYNC);
                    *verifier.lock() = ok.verf.0;
                    stable.lock().set(name, off, Some(&data), len);
                }
                _ => return,
            }
        } else {
            // Several UNSTABLE writes, then COMMIT.
            let mut pending = Vec::new();
            for _ in 0..1 + rng.below(6) {
                let (off, len) = (rng.below(SPAN), 1 + rng.below(128 << 10) as usize);
                let data = rng.bytes(len);
                stable.lock().set(name, off, None, len);
                let r = c
                    .write(&WRITE3args {
                        file: fh.clone(),
                        offset: off,
                        count: len as u32,
                        stable: stable_how::UNSTABLE,
                        data: Opaque::borrowed(&data),
                    })
                    .await;
                match r {
                    Ok(Nfs3Result::Ok(ok)) => pending.push((off, data, ok.verf.0)),
                    _ => return,
                }
            }
            let r = c
                .commit(&COMMIT3args {
                    file: fh.clone(),
                    offset: 0,
                    count: 0,
                })
                .await;
            match r {
                Ok(Nfs3Result::Ok(ok)) => {
                    *verifier.lock() = ok.verf.0;
                    // A write is committed only if the server that took it is
                    // the one that answered COMMIT.
                    for (off, data, verf) in pending {
                        if verf == ok.verf.0 {
                            stable.lock().set(name, off, Some(&data), data.len());
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let mut server = Server::start();
    let mut stable = Stable::default();
    let mut rng = Rng(0x5eed_cafe);
    let mut last_verifier = None;
    for round in 0..10 {
        let c = harness::mount(&server).await;
        let root = c.root_nfs_fh3();
        let model = Arc::new(Mutex::new(std::mem::take(&mut stable)));
        let verifier = Arc::new(Mutex::new([0u8; 8]));
        let seed = rng.next();
        let task = tokio::spawn(writer(c, root, seed, model.clone(), verifier.clone()));
        tokio::time::sleep(Duration::from_millis(100 + rng.below(2400))).await;
        server.kill();
        // The writer's last call fails with the connection; the client
        // crate spins on a closed socket instead of returning, so stop it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        task.abort();
        let _ = task.await;
        stable = std::mem::take(&mut *model.lock());
        let verifier = *verifier.lock();
        server.restart();
        let mut c = harness::mount(&server).await;
        let root = c.root_nfs_fh3();
        let mut checked = 0usize;
        for (name, bytes) in &stable.files {
            let (fh, _) = lookup(&mut c, &root, name).await;
            let got = read_all(&mut c, &fh).await;
            for (i, want) in bytes.iter().enumerate() {
                if let Some(b) = want {
                    assert!(
                        got.get(i) == Some(b),
                        "round {round}: {name} byte {i} was acknowledged stable as {b:#04x} but reads {:?} after kill -9",
                        got.get(i)
                    );
                    checked += 1;
                }
            }
        }
        let (probe, _) = create_file(&mut c, &root, &format!("probe-{round}")).await;
        let now = ok(
            c.write(&WRITE3args {
                file: probe,
                offset: 0,
                count: 1,
                stable: stable_how::UNSTABLE,
                data: Opaque::borrowed(b"x"),
            })
            .await
            .expect("WRITE"),
            "probe WRITE",
        )
        .verf
        .0;
        if verifier != [0; 8] {
            assert_ne!(
                now, verifier,
                "round {round}: the write verifier changed with the restart"
            );
        }
        if let Some(prev) = last_verifier {
            assert_ne!(now, prev, "round {round}: a new verifier on every start");
        }
        last_verifier = Some(now);
        eprintln!("round {round}: {checked} stable bytes checked after kill -9");
    }
}

/// Block files in an fs block store.
fn block_files(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("blocks")];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                dirs.push(e.path());
            } else {
                out.push((e.file_name().to_string_lossy().into_owned(), m.len()));
            }
        }
    }
    out.sort();
    out
}

async fn wait_for<T: PartialEq + std::fmt::Debug>(
    what: &str,
    mut probe: impl FnMut() -> T,
    want: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = probe();
        if want(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: still {v:?} after 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn write_all(c: &mut Connection, fh: &nfs_fh3, data: &[u8]) {
    for (i, chunk) in data.chunks(1 << 20).enumerate() {
        let r = c
            .write(&WRITE3args {
                file: fh.clone(),
                offset: (i << 20) as u64,
                count: chunk.len() as u32,
                stable: stable_how::UNSTABLE,
                data: Opaque::borrowed(chunk),
            })
            .await
            .expect("WRITE rpc");
        ok(r, "WRITE");
    }
    let r = c
        .commit(&COMMIT3args {
            file: fh.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .expect("COMMIT rpc");
    ok(r, "COMMIT");
}

#[tokio::test]
async fn identical_files_share_one_set_of_blocks_and_deleting_both_frees_them() {
    let server = Server::start();
    let blocks = server.data_path().join("blocks/default");
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let data = Rng(42).bytes(64 << 20);
    for name in ["one", "two"] {
        let (fh, _) = create_file(&mut c, &root, name).await;
        write_all(&mut c, &fh, &data).await;
    }
    // Both files are flushed once idle: sixteen 4 MiB blocks, not 32.
    let files = wait_for(
        "blocks of the two files",
        || block_files(&blocks),
        |f| f.len() >= 16,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let files_after = block_files(&blocks);
    assert_eq!(files_after, files, "nothing more was stored later");
    assert_eq!(
        files.len(),
        16,
        "one set of blocks for two identical 64 MiB files: {files:?}"
    );
    assert!(
        files.iter().all(|(_, len)| *len == 4 << 20),
        "every block is a full 4 MiB window"
    );
    for name in ["one", "two"] {
        let (fh, _) = lookup(&mut c, &root, name).await;
        assert!(read_all(&mut c, &fh).await == data, "{name} reads back");
    }
    for name in ["one", "two"] {
        ok(remove_res(&mut c, &root, name.as_bytes()).await, "REMOVE");
    }
    wait_for(
        "blocks after both files are removed",
        || block_files(&blocks).len(),
        |n| *n == 0,
    )
    .await;
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmHWM")
}

#[tokio::test]
async fn a_2_gib_write_with_a_64_mib_cache_stays_under_300_mib() {
    let server = Server::start_with_config(Some("cache:\n  max_size: 64MiB\n"), &[]);
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "big").await;
    let chunk = Rng(7).bytes(1 << 20);
    let mut jukebox = 0u32;
    let started = Instant::now();
    for i in 0..2048u64 {
        loop {
            let r = c
                .write(&WRITE3args {
                    file: fh.clone(),
                    offset: i << 20,
                    count: chunk.len() as u32,
                    stable: stable_how::UNSTABLE,
                    data: Opaque::borrowed(&chunk),
                })
                .await
                .expect("WRITE rpc");
            match r {
                Nfs3Result::Ok(_) => break,
                // Pushed back: retry later, as clients do.
                Nfs3Result::Err((nfsstat3::NFS3ERR_JUKEBOX, _)) => {
                    jukebox += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Nfs3Result::Err((s, _)) => panic!("WRITE {i}: {s}"),
            }
        }
    }
    let r = c
        .commit(&COMMIT3args {
            file: fh.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .expect("COMMIT rpc");
    ok(r, "COMMIT");
    let peak = peak_rss_kib(server.pid());
    eprintln!(
        "2 GiB written in {:.1} s, {jukebox} pushbacks, peak RSS {} MiB",
        started.elapsed().as_secs_f64(),
        peak / 1024
    );
    assert!(
        peak < 300 * 1024,
        "peak RSS {} MiB with cache.max_size 64MiB",
        peak / 1024
    );
}

#[tokio::test]
async fn a_damaged_journal_stops_start_up_naming_segment_and_offset() {
    let mut server = Server::start();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "f").await;
    for i in 0..4u64 {
        ok(
            c.write(&WRITE3args {
                file: fh.clone(),
                offset: i * 100,
                count: 100,
                stable: stable_how::FILE_SYNC,
                data: Opaque::borrowed(&[i as u8; 100]),
            })
            .await
            .expect("WRITE"),
            "WRITE",
        );
    }
    server.kill();
    // Damage the first record of the newest segment that has records.
    let journal = server.data_path().join("journal");
    let share = std::fs::read_dir(&journal)
        .expect("journal dir")
        .flatten()
        .next()
        .expect("a share journal")
        .path();
    let mut segs: Vec<_> = std::fs::read_dir(&share)
        .expect("segments")
        .flatten()
        .map(|e| e.path())
        .filter(|p| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false))
        .collect();
    segs.sort();
    let seg = segs.last().expect("a segment with records").clone();
    let mut bytes = std::fs::read(&seg).expect("read segment");
    bytes[40] ^= 0xff;
    std::fs::write(&seg, &bytes).expect("write segment");
    let out = std::process::Command::new(harness::BIN)
        .arg("start")
        .env("DITTOFS_SERVER_DATA_DIR", server.data_path())
        .env(
            "DITTOFS_ADAPTERS_NFS_PORT",
            harness::free_port().to_string(),
        )
        .env("XDG_CONFIG_HOME", server.data_path().join("no-config"))
        .env_remove("DITTOFS_CONFIG")
        .output()
        .expect("run dittofs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a damaged journal must stop start-up: {err}"
    );
    let name = seg.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.contains(&name) && err.contains("offset 0"),
        "the error names the segment and offset: {err}"
    );
}

/// `n` unstable writes of 1..8 KiB at random offsets of the first `span`
/// bytes, mirrored in `model`, then a COMMIT.
async fn scatter(c: &mut Connection, fh: &nfs_fh3, rng: &mut Rng, model: &mut [u8], n: usize) {
    for _ in 0..n {
        let len = 1 + rng.below(8192) as usize;
        let offset = rng.below((model.len() - len) as u64) as usize;
        let data = rng.bytes(len);
        model[offset..offset + len].copy_from_slice(&data);
        let r = c
            .write(&WRITE3args {
                file: fh.clone(),
                offset: offset as u64,
                count: len as u32,
                stable: stable_how::UNSTABLE,
                data: Opaque::borrowed(&data),
            })
            .await
            .expect("WRITE rpc");
        ok(r, "WRITE");
    }
    let r = c
        .commit(&COMMIT3args {
            file: fh.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .expect("COMMIT rpc");
    ok(r, "COMMIT");
}

#[tokio::test]
async fn scattered_small_writes_are_packed_then_the_window_is_rewritten() {
    let mut server = Server::start();
    let blocks = server.data_path().join("blocks/default");
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let mut rng = Rng(7);
    let mut model = rng.bytes(4 << 20);
    write_all(&mut c, &fh, &model).await;
    wait_for(
        "the first block",
        || block_files(&blocks).len(),
        |n| *n == 1,
    )
    .await;

    // A hundred small overwrites cost a block or two of their own size,
    // not a hundred blocks and not a rewrite of the 4 MiB window.
    scatter(&mut c, &fh, &mut rng, &mut model, 100).await;
    wait_for(
        "the packed writes",
        || block_files(&blocks),
        |f| f.len() > 1,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let files = block_files(&blocks);
    assert!(
        files.len() <= 3 && files.iter().filter(|(_, len)| *len == 4 << 20).count() == 1,
        "the window plus one or two packs: {files:?}"
    );
    assert!(read_all(&mut c, &fh).await == model, "reads back");

    // Hundreds more pieces in the window: it becomes one block again and
    // the old block and packs are freed.
    scatter(&mut c, &fh, &mut rng, &mut model, 400).await;
    let files = wait_for(
        "the rewritten window",
        || block_files(&blocks),
        |f| f.len() == 1 && f[0].1 == 4 << 20,
    )
    .await;
    assert!(read_all(&mut c, &fh).await == model, "reads back rewritten");

    drop(c);
    server.terminate();
    server.restart();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = lookup(&mut c, &root, "f").await;
    assert!(
        read_all(&mut c, &fh).await == model,
        "reads back after restart"
    );
    assert_eq!(block_files(&blocks), files, "restart stored nothing new");
}
