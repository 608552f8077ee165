//! The PostgreSQL metadata store through real servers: several servers on
//! one database and one block store serve one namespace, and a database
//! outage is an error that passes, never a crash or a corrupt tree.
//!
//! Uses the PostgreSQL server of the test machine (`PG_TEST_DSN`, else
//! 127.0.0.1:5432, database `test`); every test works in a schema of its
//! own and drops it at the end.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nfs3_types::nfs3::{nfsstat3, stable_how};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::harness::{self, S3_CONFIG, Server};
use crate::nfs3_procs::{
    Conn, create_file, getattr_res, listing, lookup, lookup_status, mkdir, read_all, rename_res,
    status_of, write, write_res,
};
use crate::s3_support::{Aws, expect_error, expect_ok};

fn dsn() -> String {
    std::env::var("PG_TEST_DSN")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A schema of this test's own, dropped when the test ends.
struct Schema(String);

impl Schema {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        Self(format!(
            "e2e_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-q", "-d", &dsn(), "-c"])
            .arg(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// One share on a PostgreSQL metadata store and an S3 block store in
/// `backend`'s bucket, stable only once data and metadata are in those
/// stores, with a handle key in `shared` that every server of the group
/// uses.
fn group_config(dsn: &str, schema: &str, shared: &Path, backend: &Server, s3: bool) -> String {
    let key = shared.join("handle.key");
    let s3_section = if s3 { S3_CONFIG } else { "" };
    format!(
        "{s3_section}
server:
  handle_key_file: {key}
metadata:
  stores:
    shared:
      type: postgres
      postgres:
        dsn: \"{dsn}\"
        schema: {schema}
        connect_timeout: 1s
payload:
  stores:
    shared:
      type: s3
      s3:
        endpoint: {endpoint}
        bucket: export
        prefix: {schema}
        access_key: main-key
        secret_key: main-secret
        max_retries: 2
        timeout: 5s
shares:
  - name: /export
    metadata_store: shared
    payload_store: shared
    durability: remote
",
        key = key.display(),
        endpoint = backend.s3_endpoint(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_serve_one_namespace() {
    let schema = Schema::new();
    let shared = tempfile::tempdir().expect("tempdir");
    let backend = Server::start_s3();
    let config = group_config(&dsn(), &schema.0, shared.path(), &backend, false);
    let a = Server::start_with_config(Some(&config), &[]);
    let b = Server::start_with_config(Some(&config), &[]);
    let mut ca = harness::mount(&a).await;
    let mut cb = harness::mount(&b).await;
    let root = ca.root_nfs_fh3();
    assert_eq!(root, cb.root_nfs_fh3(), "both servers give the same root");

    // Written and committed through A, read through B.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (fa, _) = create_file(&mut ca, &root, "from-a").await;
    let w = write_res(&mut ca, &fa, 0, &data, stable_how::UNSTABLE)
        .await
        .expect("WRITE");
    assert_eq!(w.count as usize, data.len());
    let commit = ca
        .commit(&nfs3_types::nfs3::COMMIT3args {
            file: fa.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .expect("COMMIT rpc");
    assert!(matches!(commit, nfs3_types::nfs3::Nfs3Result::Ok(_)));
    let (fb, attrs) = lookup(&mut cb, &root, "from-a").await;
    assert_eq!(fb, fa, "the same file has the same handle on both");
    assert_eq!(attrs.size, data.len() as u64);
    assert_eq!(read_all(&mut cb, &fb).await, data, "B reads what A wrote");

    // And the reverse, with a handle B gave out used at A.
    let (fb2, _) = create_file(&mut cb, &root, "from-b").await;
    write(&mut cb, &fb2, 0, b"written through B").await;
    assert_eq!(read_all(&mut ca, &fb2).await, b"written through B");

    // A change through one is seen by the other at once: no stale cache.
    write(&mut cb, &fa, 0, b"XYZ").await;
    assert_eq!(&read_all(&mut ca, &fa).await[..3], b"XYZ");
    let ra = rename_res(&mut ca, &root, "from-b", &root, "renamed").await;
    assert_eq!(status_of(&ra), nfsstat3::NFS3_OK);
    assert_eq!(
        lookup_status(&mut cb, &root, b"from-b").await,
        nfsstat3::NFS3ERR_NOENT
    );
    assert_eq!(listing(&mut ca, &root).await, listing(&mut cb, &root).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_renames_through_two_servers_leave_a_consistent_tree() {
    const FILES: usize = 30;
    let schema = Schema::new();
    let shared = tempfile::tempdir().expect("tempdir");
    let backend = Server::start_s3();
    let config = group_config(&dsn(), &schema.0, shared.path(), &backend, false);
    let a = Server::start_with_config(Some(&config), &[]);
    let b = Server::start_with_config(Some(&config), &[]);
    let mut ca = harness::mount(&a).await;
    let root = ca.root_nfs_fh3();
    let sub = mkdir(&mut ca, &root, "sub").await;
    let mut ids = Vec::new();
    for i in 0..FILES {
        for (dir, name) in [(&root, format!("f{i}")), (&sub, format!("g{i}"))] {
            let (fh, attrs) = create_file(&mut ca, dir, &name).await;
            write(&mut ca, &fh, 0, name.as_bytes()).await;
            ids.push(attrs.fileid);
        }
    }

    // Both servers move every file at once, each to a name of its own, in
    // both directions between the two directories: each file must end up
    // under exactly one name, none lost and none twice.
    let run = |mut c: Conn, tag: &'static str| {
        let (root, sub) = (root.clone(), sub.clone());
        async move {
            let mut moved = 0;
            for i in 0..FILES {
                for (from_dir, from, to_dir) in [
                    (&root, format!("f{i}"), &sub),
                    (&sub, format!("g{i}"), &root),
                ] {
                    let to = format!("{tag}{from}");
                    let r = rename_res(&mut c, from_dir, &from, to_dir, &to).await;
                    match status_of(&r) {
                        nfsstat3::NFS3_OK => moved += 1,
                        nfsstat3::NFS3ERR_NOENT | nfsstat3::NFS3ERR_JUKEBOX => {}
                        other => panic!("rename {from} -> {to} through {tag}: {other:?}"),
                    }
                }
            }
            moved
        }
    };
    let (c1, c2) = (harness::mount(&a).await, harness::mount(&b).await);
    let (ma, mb) = tokio::join!(run(c1, "a"), run(c2, "b"));
    let mut cb = harness::mount(&b).await;
    let mut files = Vec::new();
    for dir in [&root, &sub] {
        let seen_a = listing(&mut ca, dir).await;
        assert_eq!(seen_a, listing(&mut cb, dir).await, "both servers agree");
        files.extend(
            seen_a
                .into_iter()
                .filter(|(n, _)| n != "sub")
                .map(|(n, id)| (dir.clone(), n, id)),
        );
    }
    assert_eq!(
        files.len(),
        2 * FILES,
        "{ma} + {mb} renames: every file under exactly one name"
    );
    let mut found: Vec<u64> = files.iter().map(|(_, _, id)| *id).collect();
    found.sort_unstable();
    ids.sort_unstable();
    assert_eq!(found, ids, "each file once, with its own inode");
    for (dir, name, _) in &files {
        let (fh, attrs) = lookup(&mut cb, dir, name).await;
        assert_eq!(attrs.nlink, 1, "{name}");
        let original = name.trim_start_matches(['a', 'b']);
        assert_eq!(read_all(&mut ca, &fh).await, original.as_bytes(), "{name}");
    }
}

#[test]
fn an_unreachable_database_at_start_is_a_clear_error() {
    let dead = harness::free_port();
    let shared = tempfile::tempdir().expect("tempdir");
    let dsn = format!("host=127.0.0.1 port={dead} user=postgres dbname=test");
    let config = shared.path().join("config.yaml");
    let backend = Server::start_s3();
    std::fs::write(
        &config,
        group_config(&dsn, "unused", shared.path(), &backend, false),
    )
    .expect("write config");
    let started = Instant::now();
    let out = Command::new(harness::BIN)
        .arg("start")
        .arg("--config")
        .arg(&config)
        .env("DITTOFS_SERVER_DATA_DIR", shared.path().join("data"))
        .env(
            "DITTOFS_ADAPTERS_NFS_PORT",
            harness::free_port().to_string(),
        )
        .env("DITTOFS_ADAPTERS_S3_PORT", harness::free_port().to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run dittofs");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "started without its database: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        text.contains("shared") && text.contains("unavailable") && text.contains("PostgreSQL"),
        "the error names the store and the cause: {text}"
    );
}

/// A TCP relay to PostgreSQL that can be cut (every connection dropped,
/// new ones refused) and restored, as a network outage would.
struct Relay {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    /// Connections being relayed.
    open: Arc<AtomicUsize>,
}

impl Relay {
    async fn start(to: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = watch::channel(0u64);
        let open = Arc::new(AtomicUsize::new(0));
        let (is_up, counted) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !is_up.load(Ordering::SeqCst) {
                    continue;
                }
                let mut cuts = cuts.clone();
                // Only a cut after this connection began ends it.
                cuts.borrow_and_update();
                counted.fetch_add(1, Ordering::SeqCst);
                let counted = counted.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(to).await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cuts.changed() => {}
                        }
                    }
                    counted.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            addr,
            up,
            cut,
            open,
        }
    }

    /// Returns once every relayed connection is closed.
    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.open.load(Ordering::SeqCst) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "relayed connections still open after a cut"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

// The relay runs on the test's runtime while the test blocks in clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_requests_and_the_server_recovers() {
    let schema = Schema::new();
    let shared = tempfile::tempdir().expect("tempdir");
    let pg: SocketAddr = "127.0.0.1:5432".parse().expect("address");
    let relay = Relay::start(pg).await;
    let dsn = format!(
        "host=127.0.0.1 port={} user=postgres dbname=test",
        relay.addr.port()
    );
    let backend = Server::start_s3();
    let config = group_config(&dsn, &schema.0, shared.path(), &backend, true);
    let mut server = Server::start_s3_with_config(&config);
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "kept").await;
    write(&mut c, &fh, 0, b"kept across the outage").await;
    let aws = Aws::new(&server);
    expect_ok(
        &aws,
        "put_object",
        json!({"Bucket": "export", "Key": "obj", "Body": "object body"}),
    );

    relay.cut().await;
    let status = status_of(&getattr_res(&mut c, &fh).await);
    assert_eq!(
        status,
        nfsstat3::NFS3ERR_IO,
        "GETATTR while the database is gone"
    );
    assert_eq!(
        lookup_status(&mut c, &root, b"kept").await,
        nfsstat3::NFS3ERR_IO
    );
    expect_error(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "obj"}),
        503,
        "ServiceUnavailable",
    );
    assert!(server.is_running(), "the server survives the outage");

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if status_of(&getattr_res(&mut c, &fh).await) == nfsstat3::NFS3_OK {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(read_all(&mut c, &fh).await, b"kept across the outage");
    let got = expect_ok(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "obj"}),
    );
    let hex: String = b"object body".iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got["Body"], hex.as_str(), "{got}");
}
