//! `dittofs bench` through the real binary against the real server: every
//! workload at tiny sizes, the JSON report, nothing left behind, bad URLs,
//! and `--vs`.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nfs3_types::nfs3::Nfs3Result;
use serde_json::Value;

use crate::harness::{self, BIN, Server};

const WORKLOADS: [&str; 6] = [
    "seq-write",
    "seq-read",
    "rand-read",
    "rand-write",
    "small-files",
    "listing",
];

fn bench(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("bench")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dittofs bench")
}

#[track_caller]
fn succeeds(o: &Output) -> String {
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "dittofs bench failed: {}\nstdout: {stdout}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

fn url(server: &Server) -> String {
    format!("nfs://127.0.0.1:{}/export", server.port)
}

/// Whatever the bench left in the export's root.
async fn leftovers(server: &Server) -> Vec<String> {
    let mut c = harness::mount(server).await;
    let root = c.root_nfs_fh3();
    crate::nfs3_procs::names(&mut c, &root).await
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[tokio::test]
async fn bench_runs_every_workload_and_removes_what_it_made() {
    let server = Server::start();
    let url = url(&server);
    let out = succeeds(&bench(&[
        &url,
        "--json",
        "--file-size",
        "2MiB",
        "--ops",
        "50",
        "--entries",
        "100",
        "--listings",
        "2",
        "--connections",
        "1,2",
    ]));
    let report: Value = serde_json::from_str(&out).expect("the output is JSON");
    let rounds = report["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 1, "{report}");
    let results = rounds[0]["results"].as_array().expect("results");
    for w in WORKLOADS {
        for c in [1, 2] {
            let m = results
                .iter()
                .find(|m| m["workload"] == w && m["connections"] == c)
                .unwrap_or_else(|| panic!("no {w} at {c} connections in {report}"));
            let (tp, p50, p99) = (
                number(m, "throughput"),
                number(m, "p50_us"),
                number(m, "p99_us"),
            );
            assert!(tp > 0.0, "{w} x{c}: throughput {tp}");
            assert!(p50 > 0.0 && p50 <= p99, "{w} x{c}: p50 {p50}, p99 {p99}");
            assert!(m["samples"].as_u64().unwrap_or(0) > 0, "{m}");
        }
    }
    assert_eq!(results.len(), 12, "{report}");
    assert_eq!(report["summary"].as_array().map(Vec::len), Some(12));
    // 2 MiB over 2 connections: 1 MiB each, in whole WRITEs.
    let seq = results
        .iter()
        .find(|m| m["workload"] == "seq-write" && m["connections"] == 2)
        .expect("seq-write x2");
    assert_eq!(seq["bytes"], 2 << 20);
    let listing = results
        .iter()
        .find(|m| m["workload"] == "listing" && m["connections"] == 2)
        .expect("listing x2");
    assert_eq!(
        listing["entries"],
        2 * 2 * 100,
        "two listings per connection"
    );
    assert_eq!(leftovers(&server).await, Vec::<String>::new());
}

#[test]
fn bench_refuses_bad_urls_quickly_with_one_line() {
    let refused = "nfs://127.0.0.1:1/export".to_string();
    for (url, says) in [
        ("nfs:/x", "nfs://"),
        ("http://h/x", "scheme"),
        (refused.as_str(), "connection refused"),
    ] {
        let start = Instant::now();
        let o = bench(&[url]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{url} succeeded: {err}");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{url} took {:?}",
            start.elapsed()
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{url}: {err}");
        assert!(err.contains(says), "{url}: {err}");
        assert!(err.starts_with("dittofs: "), "{url}: {err}");
        assert!(o.stdout.is_empty(), "{url} printed results");
    }
}

#[tokio::test]
async fn bench_vs_alternates_and_reports_ratios() {
    let server = Server::start();
    let url = url(&server);
    let common = [
        "--workloads",
        "rand-read,small-files,small-files-sync",
        "--file-size",
        "1MiB",
        "--ops",
        "20",
        "--connections",
        "1",
    ];
    let mut args = vec![url.as_str(), "--vs", url.as_str(), "--json"];
    args.extend(common);
    let report: Value = serde_json::from_str(&succeeds(&bench(&args))).expect("JSON");
    let order: Vec<&str> = report["rounds"]
        .as_array()
        .expect("rounds")
        .iter()
        .map(|r| r["target"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(order, ["A", "B", "A", "B"], "two rounds by default");
    let summary = report["summary"].as_array().expect("summary");
    assert_eq!(summary.len(), 3, "{report}");
    for row in summary {
        let ratio = number(&row["A/B"], "throughput");
        assert!(ratio > 0.0 && ratio.is_finite(), "{row}");
        assert!(number(&row["B"], "throughput") > 0.0, "{row}");
    }

    let mut args = vec![url.as_str(), "--vs", url.as_str(), "--rounds", "1"];
    args.extend(common);
    let table = succeeds(&bench(&args));
    assert!(
        table.contains("A = nfs://") && table.contains("B = nfs://"),
        "{table}"
    );
    assert!(
        table.contains("ops/s A") && table.contains("A/B"),
        "{table}"
    );
    assert!(table.contains("files/s B"), "{table}");
    assert_eq!(leftovers(&server).await, Vec::<String>::new());
}

/// A workload that fails half way (here: a file slipped into the listing
/// directory makes the listing count wrong) still removes everything.
#[tokio::test]
async fn bench_cleans_up_after_a_failure() {
    let server = Server::start();
    let url = url(&server);
    let child = Command::new(BIN)
        .args([
            "bench",
            &url,
            "--workloads",
            "listing",
            "--entries",
            "3000",
            "--connections",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dittofs bench");
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let deadline = Instant::now() + Duration::from_secs(10);
    let listing = loop {
        assert!(
            Instant::now() < deadline,
            "the bench made no listing directory"
        );
        let names = crate::nfs3_procs::names(&mut c, &root).await;
        if let Some(dir) = names.iter().find(|n| n.starts_with("dittofs-bench-")) {
            let (dir, _) = crate::nfs3_procs::lookup(&mut c, &root, dir).await;
            let found = crate::nfs3_procs::lookup_res(&mut c, &dir, b"listing").await;
            if let Nfs3Result::Ok(l) = found {
                break l.object;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    crate::nfs3_procs::create_file(&mut c, &listing, "intruder").await;
    let out = child.wait_with_output().expect("wait for dittofs bench");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the bench should fail: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("listing") && err.contains("3001") && err.contains("(removed "),
        "{err}"
    );
    assert_eq!(leftovers(&server).await, Vec::<String>::new());
}

/// `dittofs bench-s3` against the real S3 adapter: a row per operation,
/// size and concurrency, and nothing left in the bucket.
#[test]
fn bench_s3_reports_every_phase_and_cleans_up() {
    let server = Server::start_s3();
    let credentials = server.data_dir.join("credentials");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = main-key\naws_secret_access_key = main-secret\n",
    )
    .expect("write credentials");
    // Once with the body's SHA-256 in the signature, once UNSIGNED-PAYLOAD.
    for signing in [&[][..], &["--unsigned-payload"][..]] {
        let out = Command::new(BIN)
            .args(["bench-s3", "--endpoint", &server.s3_endpoint()])
            .arg("--credentials")
            .arg(&credentials)
            .args([
                "--sizes",
                "4KiB,1MiB",
                "--concurrency",
                "1,2",
                "--duration",
                "300ms",
            ])
            .args(signing)
            .stdin(Stdio::null())
            .output()
            .expect("run dittofs bench-s3");
        let table = succeeds(&out);
        for op in ["PUT", "GET"] {
            for size in ["4 KiB", "1 MiB"] {
                let rows = table
                    .lines()
                    .filter(|l| l.starts_with(op) && l.contains(size))
                    .count();
                assert!(
                    rows >= 2,
                    "{op} {size} {signing:?}: one row per concurrency:\n{table}"
                );
            }
        }
    }
    let listed = crate::s3_support::Aws::new(&server).ok(&["s3", "ls", "s3://export/"]);
    assert!(
        !listed.contains("dittofs-bench-"),
        "bench-s3 left objects behind:\n{listed}"
    );
}
