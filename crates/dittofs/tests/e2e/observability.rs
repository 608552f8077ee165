//! `server.metrics`: Prometheus counters that follow the work done, the
//! health endpoints, and `dittofs status` against a running server.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{self, BIN, Server};
use crate::nfs3_procs;

/// A server with the admin endpoint on a port of its own; returns it and
/// the endpoint's URL.
fn start_metered(yaml: Option<&str>) -> (Server, String) {
    let port = harness::free_port().to_string();
    let server = Server::start_with_config(
        yaml,
        &[
            ("DITTOFS_SERVER_METRICS_ENABLED", "true"),
            ("DITTOFS_SERVER_METRICS_PORT", &port),
        ],
    );
    (server, format!("http://127.0.0.1:{port}"))
}

async fn get(url: &str, path: &str) -> (u16, String) {
    let (code, body) = dittofs_admin::client::get(url, path)
        .await
        .unwrap_or_else(|e| panic!("GET {url}{path}: {e}"));
    (code, String::from_utf8_lossy(&body).into_owned())
}

async fn scrape(url: &str) -> String {
    let (code, text) = get(url, "/metrics").await;
    assert_eq!(code, 200, "{text}");
    text
}

/// The value of the sample `name` whose labels include all of `labels`,
/// summed over the samples that match; 0 when there is none.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let wanted = metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.split(',').any(|p| p == format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

#[tokio::test]
async fn counters_follow_an_nfs_workload() {
    const N: usize = 24;
    const SIZE: usize = 4096;
    let (server, url) = start_metered(None);
    let before = scrape(&url).await;
    let accepted = |t: &str| {
        sample(
            t,
            "dittofs_connections_accepted_total",
            &[("adapter", "nfs")],
        )
    };
    let op = |t: &str, op: &str, status: &str| {
        sample(
            t,
            "dittofs_requests_total",
            &[("adapter", "nfs"), ("operation", op), ("status", status)],
        )
    };
    let nfs_bytes = |t: &str, which: &str| sample(t, which, &[("adapter", "nfs")]);

    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = nfs3_procs::create_file(&mut c, &root, "metered").await;
    let data = vec![0x5au8; SIZE];
    for i in 0..N {
        nfs3_procs::write(&mut c, &fh, (i * SIZE) as u64, &data).await;
    }
    for i in 0..N {
        let (got, _) = nfs3_procs::read(&mut c, &fh, (i * SIZE) as u64, SIZE as u32).await;
        assert_eq!(got.len(), SIZE);
    }
    assert_eq!(
        nfs3_procs::lookup_status(&mut c, &root, b"missing").await,
        nfs3_types::nfs3::nfsstat3::NFS3ERR_NOENT
    );

    let after = scrape(&url).await;
    let sent = (N * SIZE) as f64;
    assert!(
        op(&after, "WRITE", "OK") - op(&before, "WRITE", "OK") >= N as f64,
        "WRITE count:\n{after}"
    );
    assert!(op(&after, "READ", "OK") - op(&before, "READ", "OK") >= N as f64);
    assert!(
        op(&after, "LOOKUP", "NOENT") >= 1.0,
        "a failed LOOKUP by status"
    );
    assert!(op(&after, "MNT", "OK") >= 1.0, "MOUNT is counted too");
    assert!(
        nfs_bytes(&after, "dittofs_bytes_written_total")
            - nfs_bytes(&before, "dittofs_bytes_written_total")
            >= sent
    );
    assert!(
        nfs_bytes(&after, "dittofs_bytes_read_total")
            - nfs_bytes(&before, "dittofs_bytes_read_total")
            >= sent
    );
    assert!(
        accepted(&after) - accepted(&before) >= 1.0,
        "the mount's connection"
    );
    assert!(sample(&after, "dittofs_connections_active", &[("adapter", "nfs")]) >= 1.0);
    let writes_timed = sample(
        &after,
        "dittofs_request_duration_seconds_count",
        &[("adapter", "nfs"), ("operation", "WRITE")],
    );
    assert!(
        writes_timed >= N as f64,
        "latency histogram: {writes_timed}"
    );
    assert!(
        sample(
            &after,
            "dittofs_journal_appended_bytes_total",
            &[("share", "/export")]
        ) >= sent,
        "the writes went through the journal"
    );
    assert_eq!(
        sample(&after, "dittofs_requests_in_flight", &[("adapter", "nfs")]),
        0.0,
        "nothing in flight between calls"
    );

    // The flusher moves the data into the block store a moment later.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = scrape(&url).await;
        let put = sample(
            &t,
            "dittofs_block_store_bytes_total",
            &[("store", "default"), ("direction", "write")],
        );
        let calls = sample(
            &t,
            "dittofs_block_store_operations_total",
            &[("store", "default"), ("op", "put")],
        );
        if put >= sent && calls >= 1.0 {
            assert_eq!(
                sample(
                    &t,
                    "dittofs_block_store_errors_total",
                    &[("store", "default")]
                ),
                0.0
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "blocks never reached the store: {put} bytes in {calls} puts"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    dashboard_queries_exist(&scrape(&url).await);
    drop(c);
}

/// Every metric the Grafana dashboard queries is one the server exports.
fn dashboard_queries_exist(scraped: &str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/grafana/dittofs.json"
    );
    let text = std::fs::read_to_string(path).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut names = Vec::new();
    let mut panels: Vec<&serde_json::Value> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .collect();
    while let Some(p) = panels.pop() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().expect("a query");
            let mut rest = expr;
            while let Some(at) = rest.find("dittofs_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                names.push(name);
            }
        }
    }
    assert!(names.len() > 20, "the dashboard queries little: {names:?}");
    for name in names {
        let exported = scraped
            .lines()
            .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")));
        assert!(
            exported,
            "the dashboard queries {name}, which the server does not export"
        );
    }
}

#[tokio::test]
async fn s3_requests_are_counted_by_operation() {
    let port = harness::free_port().to_string();
    let server = Server::start_s3_with_config(&format!(
        "{}server:\n  metrics: {{ enabled: true, port: {port} }}\n",
        harness::S3_CONFIG
    ));
    let url = format!("http://127.0.0.1:{port}");
    let aws = crate::s3_support::Aws::new(&server);
    let body = vec![7u8; 100_000];
    let file = server.data_path().with_file_name("object.bin");
    std::fs::write(&file, &body).expect("write object file");
    let file = file.to_string_lossy().into_owned();
    aws.ok(&[
        "s3api",
        "put-object",
        "--bucket",
        "export",
        "--key",
        "a/b",
        "--body",
        &file,
    ]);
    let out = server.data_path().with_file_name("back.bin");
    let out = out.to_string_lossy().into_owned();
    aws.ok(&[
        "s3api",
        "get-object",
        "--bucket",
        "export",
        "--key",
        "a/b",
        &out,
    ]);
    aws.fails(&[
        "s3api",
        "head-object",
        "--bucket",
        "export",
        "--key",
        "nope",
    ]);

    let t = scrape(&url).await;
    let s3 = |op: &str, status: &str| {
        sample(
            &t,
            "dittofs_requests_total",
            &[("adapter", "s3"), ("operation", op), ("status", status)],
        )
    };
    assert!(s3("PutObject", "200") >= 1.0, "{t}");
    assert!(s3("GetObject", "200") >= 1.0);
    assert!(s3("HeadObject", "404") >= 1.0);
    let moved = |which: &str| sample(&t, which, &[("adapter", "s3")]);
    assert!(moved("dittofs_bytes_written_total") >= body.len() as f64);
    assert!(moved("dittofs_bytes_read_total") >= body.len() as f64);
    assert!(
        sample(
            &t,
            "dittofs_connections_accepted_total",
            &[("adapter", "s3")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let (_server, url) = start_metered(None);
    assert_eq!(get(&url, "/health").await, (200, "ok\n".into()));
    let (code, body) = get(&url, "/health/ready").await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("metadata.stores.default: ok"), "{body}");
    assert!(body.contains("payload.stores.default: ok"), "{body}");
    assert_eq!(get(&url, "/nothing").await.0, 404);
}

#[tokio::test]
async fn readiness_fails_while_an_s3_block_store_is_down() {
    let mut backend = Server::start_s3();
    let port = harness::free_port();
    let config = crate::s3_blocks::config_with(
        &backend,
        &format!("server:\n  metrics: {{ enabled: true, port: {port} }}\n"),
    );
    let _server = Server::start_with_config(Some(&config), &[]);
    let url = format!("http://127.0.0.1:{port}");
    let (code, body) = get(&url, "/health/ready").await;
    assert_eq!(code, 200, "{body}");
    backend.kill();
    let (code, body) = get(&url, "/health/ready").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("payload.stores.default: "), "{body}");
    assert!(body.contains("metadata.stores.default: ok"), "{body}");
    assert_eq!(get(&url, "/health").await.0, 200, "alive all the same");
    let report = dittofs_admin::client::status(&url).await.expect("status");
    assert!(!report.ready);
    backend.restart();
    let (code, body) = get(&url, "/health/ready").await;
    assert_eq!(code, 200, "ready again once the store is back: {body}");
}

fn dittofs(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DITTOFS_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args).output().expect("run dittofs")
}

#[tokio::test]
async fn status_prints_the_running_server() {
    let (server, url) = start_metered(None);
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    nfs3_procs::file_with(&mut c, &root, "f", b"hello").await;

    let out = dittofs(&["status", "--url", &url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "ready",
        "/export",
        "embedded",
        "fs",
        "local",
        "Connections",
        "Cache:",
        "Unflushed data:",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    let nfs_row = text
        .lines()
        .find(|l| l.trim_start().starts_with("nfs "))
        .unwrap_or_else(|| panic!("no nfs row:\n{text}"));
    let cols: Vec<&str> = nfs_row.split_whitespace().collect();
    let active: u64 = cols[1].parse().expect("a count");
    assert!(
        active >= 1,
        "the client's NFS connection is open: {nfs_row}"
    );

    let out = dittofs(&["status", "--url", &url, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["shares"][0]["name"], "/export");
    assert_eq!(report["ready"], true);

    // Found through the configuration, as an operator would run it.
    let config = server.data_path().with_file_name("status.yaml");
    let port = url.rsplit(':').next().unwrap_or_default();
    std::fs::write(
        &config,
        format!("server:\n  metrics: {{ enabled: true, port: {port} }}\n"),
    )
    .expect("write config");
    let out = dittofs(&["status", "--config", &config.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("/export"));
    drop(c);
}

#[test]
fn status_without_a_server_fails_clearly() {
    let dead = format!("http://127.0.0.1:{}", harness::free_port());
    let out = dittofs(&["status", "--url", &dead]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no DittoFS server answers"), "{err}");

    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("c.yaml");
    std::fs::write(&config, "server:\n  metrics: { enabled: false }\n").expect("write");
    let out = dittofs(&["status", "--config", &config.to_string_lossy()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.metrics.enabled is false"), "{err}");
}

#[tokio::test]
async fn connections_the_server_cuts_count_as_force_closed() {
    use std::io::{Read, Write};
    let (server, url) = start_metered(None);
    let count = |t: &str, which: &str| sample(t, which, &[("adapter", "nfs")]);
    let before = scrape(&url).await;
    // A record header claiming 1 GiB: the server closes without reading it.
    let mut s = std::net::TcpStream::connect(server.addr()).expect("connect");
    s.write_all(&(0x8000_0000u32 | (1 << 30)).to_be_bytes())
        .expect("send header");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "the server closed it");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = scrape(&url).await;
        let cut = count(&t, "dittofs_connections_force_closed_total")
            - count(&before, "dittofs_connections_force_closed_total");
        if cut >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "never counted:\n{t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
