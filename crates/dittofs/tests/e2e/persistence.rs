//! The default server keeps everything on disk: files written through a
//! real client, and the handles the client holds, survive a clean stop
//! (SIGTERM) and a crash (kill -9).

use nfs3_types::nfs3::*;

use crate::harness::{self, Connection, Server};
use crate::nfs3_procs::{create_file, getattr, lookup, mkdir, ok, read_all, status_of};

/// A file the client wrote, and what it knows about it.
struct Written {
    path: Vec<&'static str>,
    fh: nfs_fh3,
    data: Vec<u8>,
}

fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `data` in 1 MiB WRITEs of the given stability.
async fn write_file(c: &mut Connection, fh: &nfs_fh3, data: &[u8], stable: stable_how) {
    for (i, chunk) in data.chunks(1 << 20).enumerate() {
        let r = c
            .write(&WRITE3args {
                file: fh.clone(),
                offset: (i << 20) as u64,
                count: chunk.len() as u32,
                stable,
                data: nfs3_types::xdr_codec::Opaque::borrowed(chunk),
            })
            .await
            .expect("WRITE");
        ok(r, "WRITE");
    }
    if stable == stable_how::UNSTABLE {
        let r = c
            .commit(&COMMIT3args {
                file: fh.clone(),
                offset: 0,
                count: 0,
            })
            .await
            .expect("COMMIT");
        ok(r, "COMMIT");
    }
}

/// A tree of directories and files of many sizes, some holes.
async fn write_tree(c: &mut Connection) -> (nfs_fh3, nfs_fh3, Vec<Written>) {
    let root = c.root_nfs_fh3();
    let docs = mkdir(c, &root, "docs").await;
    let deep = mkdir(c, &docs, "deep").await;
    let mut files = Vec::new();
    let specs: [(&[&'static str], usize, stable_how); 6] = [
        (&["empty"], 0, stable_how::FILE_SYNC),
        (&["small.txt"], 13, stable_how::FILE_SYNC),
        (&["docs", "page"], 4096, stable_how::UNSTABLE),
        (&["docs", "odd"], 100_003, stable_how::DATA_SYNC),
        (
            &["docs", "deep", "big"],
            3 * (1 << 20) + 777,
            stable_how::UNSTABLE,
        ),
        (&["docs", "deep", "mid"], 1 << 20, stable_how::FILE_SYNC),
    ];
    for (i, (path, len, stable)) in specs.into_iter().enumerate() {
        let dir = match path.len() {
            1 => &root,
            2 => &docs,
            _ => &deep,
        };
        let (fh, _) = create_file(c, dir, path[path.len() - 1]).await;
        let data = content(i as u64 + 1, len);
        write_file(c, &fh, &data, stable).await;
        files.push(Written {
            path: path.to_vec(),
            fh,
            data,
        });
    }
    // A sparse file: data at 5 MiB, a hole before it.
    let (fh, _) = create_file(c, &docs, "sparse").await;
    let tail = content(99, 5000);
    let r = c
        .write(&WRITE3args {
            file: fh.clone(),
            offset: 5 << 20,
            count: tail.len() as u32,
            stable: stable_how::FILE_SYNC,
            data: nfs3_types::xdr_codec::Opaque::borrowed(&tail),
        })
        .await
        .expect("WRITE");
    ok(r, "sparse WRITE");
    let mut data = vec![0u8; 5 << 20];
    data.extend_from_slice(&tail);
    files.push(Written {
        path: vec!["docs", "sparse"],
        fh,
        data,
    });
    (docs, deep, files)
}

/// Everything reads back through the old handles and the same names.
async fn check_tree(
    c: &mut Connection,
    old_root: &nfs_fh3,
    docs: &nfs_fh3,
    deep: &nfs_fh3,
    files: &[Written],
    when: &str,
) {
    let root = c.root_nfs_fh3();
    assert_eq!(
        root.data.as_ref(),
        old_root.data.as_ref(),
        "{when}: the root handle is unchanged"
    );
    for dir in [old_root, docs, deep] {
        let a = getattr(c, dir).await;
        assert_eq!(
            a.type_,
            ftype3::NF3DIR,
            "{when}: an old directory handle still works"
        );
    }
    for f in files {
        let got = read_all(c, &f.fh).await;
        assert!(
            got == f.data,
            "{when}: {:?} reads back byte for byte ({} vs {} bytes)",
            f.path,
            got.len(),
            f.data.len()
        );
        let mut dir = root.clone();
        for part in &f.path[..f.path.len() - 1] {
            dir = lookup(c, &dir, part).await.0;
        }
        let (fh, attrs) = lookup(c, &dir, f.path[f.path.len() - 1]).await;
        assert_eq!(
            fh.data.as_ref(),
            f.fh.data.as_ref(),
            "{when}: {:?} has the same handle",
            f.path
        );
        assert_eq!(attrs.size, f.data.len() as u64, "{when}: {:?} size", f.path);
    }
}

async fn survives(stop: impl FnOnce(&mut Server), when: &str) {
    let mut server = Server::start();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (docs, deep, files) = write_tree(&mut c).await;
    drop(c);
    stop(&mut server);
    server.restart();
    let mut c = harness::mount(&server).await;
    check_tree(&mut c, &root, &docs, &deep, &files, when).await;
    // The server keeps working where it left off: new files get new
    // inode numbers, and nothing old is disturbed.
    let (fresh, attrs) = create_file(&mut c, &root, "after-restart").await;
    for f in &files {
        let old = attrs_of(&mut c, &f.fh).await;
        assert_ne!(
            attrs.fileid, old.fileid,
            "{when}: inode numbers are not reused"
        );
    }
    assert_eq!(
        status_of(&c.getattr(&GETATTR3args { object: fresh }).await.unwrap()),
        nfsstat3::NFS3_OK
    );
}

async fn attrs_of(c: &mut Connection, fh: &nfs_fh3) -> fattr3 {
    getattr(c, fh).await
}

#[tokio::test]
async fn files_and_handles_survive_sigterm() {
    survives(
        |s| {
            let status = s.terminate();
            assert!(
                status.success(),
                "SIGTERM ends the server cleanly: {status}"
            );
        },
        "after SIGTERM",
    )
    .await;
}

#[tokio::test]
async fn files_and_handles_survive_kill_9() {
    survives(|s| s.kill(), "after kill -9").await;
}

#[tokio::test]
async fn the_default_keeps_its_data_in_the_data_directory() {
    let server = Server::start();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "f").await;
    write_file(&mut c, &fh, b"kept", stable_how::FILE_SYNC).await;
    let data = server.data_path();
    assert!(
        data.join("handle.key").is_file(),
        "handle key in {}",
        data.display()
    );
    assert!(
        data.join("metadata/default").is_dir(),
        "embedded metadata store in the data directory"
    );
    assert!(
        data.join("blocks/default").is_dir(),
        "fs block store in the data directory"
    );
}
