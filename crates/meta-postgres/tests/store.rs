//! The metadata-store conformance suite against a real PostgreSQL server:
//! `PG_TEST_DSN`, or the test server at 127.0.0.1:5432, database `test`.
//! Each store gets a schema of its own, dropped at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dittofs_meta::{MetadataStore, StoreError};
use dittofs_meta_postgres::{PostgresOptions, PostgresStore, SslMode};

fn dsn() -> String {
    std::env::var("PG_TEST_DSN")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

fn options(schema: &str) -> PostgresOptions {
    PostgresOptions {
        dsn: dsn(),
        schema: schema.into(),
        max_conns: 8,
        ..PostgresOptions::default()
    }
}

/// Schemas named after this test process, dropped when this value drops,
/// also when the test fails.
struct Schemas {
    prefix: String,
    made: AtomicUsize,
}

impl Schemas {
    fn new(tag: &str) -> Self {
        Self {
            prefix: format!("t_{tag}_{}", std::process::id()),
            made: AtomicUsize::new(0),
        }
    }

    fn next(&self) -> String {
        format!(
            "{}_{}",
            self.prefix,
            self.made.fetch_add(1, Ordering::Relaxed)
        )
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        let sql: String = (0..self.made.load(Ordering::Relaxed))
            .map(|i| format!("DROP SCHEMA IF EXISTS {}_{i} CASCADE;", self.prefix))
            .collect();
        let _ = std::process::Command::new("psql")
            .args(["-q", "-d", &dsn(), "-c", &sql])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

async fn open(schema: &str) -> Arc<dyn MetadataStore> {
    Arc::new(
        PostgresStore::open(&options(schema))
            .await
            .expect("open the PostgreSQL store (is PostgreSQL running on 127.0.0.1:5432?)"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let schemas = Schemas::new("conf");
    dittofs_meta::conformance::run(|| {
        let schema = schemas.next();
        async move { open(&schema).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_close_and_reopen() {
    let schemas = Schemas::new("reopen");
    let schema = schemas.next();
    dittofs_meta::conformance::run_reopen(|| {
        let schema = schema.clone();
        async move { open(&schema).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_applied_once_by_servers_starting_together() {
    let schemas = Schemas::new("migrate");
    let schema = schemas.next();
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let schema = schema.clone();
            tokio::spawn(async move { PostgresStore::open(&options(&schema)).await })
        })
        .collect();
    for o in opens {
        o.await.expect("join").expect("open while others open too");
    }
    let (client, conn) = tokio_postgres::connect(&dsn(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let n: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM {schema}.schema_migrations"),
            &[],
        )
        .await
        .expect("count migrations")
        .get(0);
    assert_eq!(n, 1, "each migration recorded exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_unavailable_not_a_hang() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let options = PostgresOptions {
        host: "127.0.0.1".into(),
        port,
        connect_timeout: Duration::from_secs(1),
        ..PostgresOptions::default()
    };
    let started = std::time::Instant::now();
    let r = PostgresStore::open(&options).await;
    assert!(
        matches!(r, Err(StoreError::Unavailable(_))),
        "got {:?}",
        r.err()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_schema_name_is_refused() {
    let r = PostgresStore::open(&options("Robert'); DROP TABLE x;--")).await;
    assert!(
        matches!(r, Err(StoreError::Io(ref m)) if m.contains("schema")),
        "{:?}",
        r.err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_lease_holds_off_other_servers_until_dropped() {
    let schemas = Schemas::new("lease");
    let schema = schemas.next();
    // Two stores on one schema stand for two servers.
    let (one, two) = (open(&schema).await, open(&schema).await);
    let block = dittofs_blocks::BlockId::of(b"shared block");
    let other = dittofs_blocks::BlockId::of(b"another block");
    let lease = one.lease_blocks(&[block]).await.expect("lease");
    // A different block is not held up.
    drop(
        two.lease_blocks(&[other])
            .await
            .expect("lease another block"),
    );
    let waiting = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let l = two.lease_blocks(&[other, block]).await.expect("lease");
        (started.elapsed(), l)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the second server got a held block");
    drop(lease);
    let (waited, _) = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the lease was released")
        .expect("join");
    assert!(waited >= Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsstat_figures_are_reused_for_a_few_seconds() {
    let schemas = Schemas::new("stats");
    let store = open(&schemas.next()).await;
    assert_eq!(store.recent_stats().await.expect("stats").inodes, 0);
    // Opening a share makes its root directory: one inode more.
    dittofs_meta::MetadataService::open(
        "/export",
        store.clone(),
        Arc::new(dittofs_meta::HandleKey::from_bytes([1; 32])),
        dittofs_meta::ShareOptions::default(),
        dittofs_meta::RootAttrs {
            mode: 0o755,
            uid: 0,
            gid: 0,
        },
    )
    .await
    .expect("open a share");
    assert_eq!(
        store.recent_stats().await.expect("stats").inodes,
        0,
        "counted less than stats_ttl ago: reused"
    );
    assert_eq!(store.stats().await.expect("stats").inodes, 1, "exact");
}

fn tls_options(sslmode: SslMode, root: &str) -> PostgresOptions {
    PostgresOptions {
        host: "127.0.0.1".into(),
        user: "postgres".into(),
        database: "test".into(),
        sslmode,
        ssl_root_cert: root.into(),
        connect_timeout: Duration::from_secs(2),
        ..PostgresOptions::default()
    }
}

/// The test server runs with Debian's default `ssl = on` (a self-signed
/// certificate); with PG_TEST_DSN pointing elsewhere these may not hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_encrypts_and_disable_does_not() {
    if std::env::var("PG_TEST_DSN").is_ok() {
        return;
    }
    let schemas = Schemas::new("tls");
    let schema = schemas.next();
    let store = |mode| {
        let schema = schema.clone();
        async move {
            PostgresStore::open(&PostgresOptions {
                dsn: String::new(),
                schema,
                ..tls_options(mode, "")
            })
            .await
            .expect("open")
        }
    };
    assert!(
        store(SslMode::Require)
            .await
            .encrypted()
            .await
            .expect("ask")
    );
    assert!(
        !store(SslMode::Disable)
            .await
            .encrypted()
            .await
            .expect("ask")
    );
}

/// Debian's PostgreSQL serves its self-signed "snakeoil" certificate,
/// made for the name `localhost`.
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_verify_checks_the_chain_and_the_name() {
    if std::env::var("PG_TEST_DSN").is_ok() || !std::path::Path::new(SNAKEOIL).exists() {
        return;
    }
    let schemas = Schemas::new("tlsv");
    let schema = schemas.next();
    let open = |mode, host: &str, root: &str| {
        let options = PostgresOptions {
            dsn: String::new(),
            host: host.into(),
            schema: schema.clone(),
            ..tls_options(mode, root)
        };
        async move { PostgresStore::open(&options).await }
    };
    let refused = |r: Result<PostgresStore, StoreError>, what: &str| match r {
        Err(StoreError::Unavailable(why)) => {
            assert!(why.contains("certificate"), "{what}: {why}")
        }
        Err(other) => panic!("{what}: {other}"),
        Ok(_) => panic!("{what}: connected"),
    };
    let store = open(SslMode::VerifyFull, "localhost", SNAKEOIL)
        .await
        .expect("the certificate is trusted and names localhost");
    assert!(store.encrypted().await.expect("ask"));
    refused(
        open(SslMode::VerifyFull, "127.0.0.1", SNAKEOIL).await,
        "verify-full with a name the certificate does not carry",
    );
    open(SslMode::VerifyCa, "127.0.0.1", SNAKEOIL)
        .await
        .expect("verify-ca does not check the name");
    // Any root that did not sign the server's certificate.
    let other_root = std::fs::read_dir("/usr/share/ca-certificates/mozilla")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(Result::ok)
        .map(|e| e.path());
    if let Some(root) = other_root {
        refused(
            open(SslMode::VerifyCa, "localhost", &root.to_string_lossy()).await,
            "verify-ca against another root",
        );
    }
    let missing = open(SslMode::VerifyFull, "localhost", "/nonexistent/root.pem").await;
    assert!(
        matches!(missing, Err(StoreError::Io(ref why)) if why.contains("/nonexistent/root.pem")),
        "{:?}",
        missing.err()
    );
}
