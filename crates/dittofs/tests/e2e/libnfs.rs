//! A real third-party client (libnfs-utils: `nfs-cp`, `nfs-ls`, `nfs-cat`)
//! against the real server.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;

use nfs3_types::nfs3::{
    CREATE3args, MKDIR3args, Nfs3Option, Nfs3Result, createhow3, diropargs3, nfs_fh3, sattr3,
};

use crate::harness::{self, Server};

/// `len` bytes from the kernel's random source.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .expect("read /dev/urandom");
    out
}

/// The names in `nfs-ls` output (one entry a line, the name last), without
/// `.` and `..`, with how often each was listed.
fn listed_names(out: &str) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    for line in out.lines() {
        let Some(name) = line.split_whitespace().last() else {
            continue;
        };
        if name == "." || name == ".." {
            continue;
        }
        *names.entry(name.to_string()).or_insert(0) += 1;
    }
    names
}

#[test]
fn libnfs_cp_round_trips_10_mib_of_random_bytes() {
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src.bin");
    let back = tmp.path().join("back.bin");
    let data = random_bytes(10 << 20);
    std::fs::write(&src, &data).expect("write source");

    let url = server.url("/big.bin");
    harness::libnfs("nfs-cp", &[src.to_str().unwrap(), &url]);
    harness::libnfs("nfs-cp", &[&url, back.to_str().unwrap()]);

    let got = std::fs::read(&back).expect("read copy");
    assert_eq!(got.len(), data.len(), "nfs-cp round trip: length differs");
    if let Some(i) = got.iter().zip(&data).position(|(a, b)| a != b) {
        panic!("nfs-cp round trip: first differing byte at offset {i}");
    }

    let ls = harness::libnfs("nfs-ls", &[&server.url("")]);
    let line = ls
        .lines()
        .find(|l| l.split_whitespace().last() == Some("big.bin"))
        .unwrap_or_else(|| panic!("nfs-ls does not show big.bin:\n{ls}"));
    assert!(
        line.split_whitespace()
            .any(|f| f == (10u64 << 20).to_string()),
        "nfs-ls shows the wrong size for big.bin: {line}"
    );
}

#[test]
fn libnfs_cat_prints_a_file() {
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("hello.txt");
    let text = "hello from dittofs\nsecond line\n".repeat(100);
    std::fs::write(&src, &text).expect("write source");
    harness::libnfs(
        "nfs-cp",
        &[src.to_str().unwrap(), &server.url("/hello.txt")],
    );

    let out = harness::libnfs("nfs-cat", &[&server.url("/hello.txt")]);
    assert_eq!(out, text, "nfs-cat output differs from the file written");

    // An empty file prints nothing.
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, b"").expect("write empty");
    harness::libnfs("nfs-cp", &[empty.to_str().unwrap(), &server.url("/empty")]);
    assert_eq!(
        harness::libnfs("nfs-cat", &[&server.url("/empty")]),
        "",
        "nfs-cat of an empty file"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn libnfs_ls_sees_1000_files_exactly_once() {
    const N: usize = 1000;
    let server = Server::start();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let dir = match c
        .mkdir(&MKDIR3args {
            where_: diropargs3 {
                dir: root,
                name: b"many".as_slice().into(),
            },
            attributes: sattr3::default(),
        })
        .await
        .expect("mkdir rpc")
    {
        Nfs3Result::Ok(ok) => match ok.obj {
            Nfs3Option::Some(fh) => fh,
            Nfs3Option::None => panic!("MKDIR returned no handle"),
        },
        Nfs3Result::Err((stat, _)) => panic!("MKDIR many: {stat:?}"),
    };
    let names: Vec<String> = (0..N).map(|i| format!("file-{i:04}")).collect();
    for name in &names {
        let r = c
            .create(&CREATE3args {
                where_: diropargs3 {
                    dir: nfs_fh3 {
                        data: dir.data.clone(),
                    },
                    name: name.as_bytes().into(),
                },
                how: createhow3::UNCHECKED(sattr3::default()),
            })
            .await
            .expect("create rpc");
        if let Nfs3Result::Err((stat, _)) = r {
            panic!("CREATE {name}: {stat:?}");
        }
    }

    let url = server.url("/many");
    let out = tokio::task::spawn_blocking(move || harness::libnfs("nfs-ls", &[&url]))
        .await
        .expect("nfs-ls thread");
    let listed = listed_names(&out);
    let twice: Vec<_> = listed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "nfs-ls listed names more than once: {twice:?}"
    );
    let missing: Vec<_> = names.iter().filter(|n| !listed.contains_key(*n)).collect();
    assert!(
        missing.is_empty(),
        "nfs-ls misses {} of {N} names, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(
        listed.len(),
        N,
        "nfs-ls lists names that were never created: {:?}",
        listed
            .keys()
            .filter(|k| !names.contains(k))
            .take(10)
            .collect::<Vec<_>>()
    );
}

/// With the portmapper also on 111, a client that knows nothing but the
/// host finds MOUNT and NFS by itself.
#[test]
fn libnfs_finds_the_server_through_the_portmapper_on_111() {
    // The server binds 127.0.0.1:111; find out first whether it can.
    match TcpListener::bind("127.0.0.1:111") {
        Ok(l) => drop(l),
        Err(e) => {
            eprintln!(
                "SKIPPED libnfs_finds_the_server_through_the_portmapper_on_111: \
                 cannot bind 127.0.0.1:111 on this machine ({e}); \
                 something else holds it or we are not root"
            );
            return;
        }
    }
    let server = Server::start_with(&[("DITTOFS_ADAPTERS_NFS_PORTMAPPER_ENABLED", "true")]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("pm.txt");
    std::fs::write(&src, b"found through the portmapper\n").expect("write source");
    // Written through the explicit-port URL, read back through 111 only.
    harness::libnfs("nfs-cp", &[src.to_str().unwrap(), &server.url("/pm.txt")]);

    let out = harness::libnfs("nfs-ls", &["nfs://127.0.0.1/export?version=3"]);
    assert!(
        listed_names(&out).contains_key("pm.txt"),
        "nfs-ls through the portmapper on 111 does not show pm.txt:\n{out}"
    );
    let cat = harness::libnfs("nfs-cat", &["nfs://127.0.0.1/export/pm.txt?version=3"]);
    assert_eq!(
        cat, "found through the portmapper\n",
        "nfs-cat through the portmapper on 111"
    );
}
