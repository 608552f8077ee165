//! The s3tests compatibility suite, through scripts/s3tests.sh, against
//! the real server: every test id in tests/s3tests/passing.txt must pass.
//! docs/TESTING.md says how to grow the list.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::Server;
use crate::s3_support::venv;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The ids of a list file: one a line, `#` starts a comment.
fn listed_ids(list: &Path) -> Vec<String> {
    std::fs::read_to_string(list)
        .unwrap_or_else(|e| panic!("read {}: {e}", list.display()))
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn s3tests_in_the_passing_list_pass() {
    let root = repo_root();
    let list = root.join("tests/s3tests/passing.txt");
    let ids = listed_ids(&list);
    assert!(
        !ids.is_empty(),
        "{} lists no test, so this test would prove nothing; fill it from \
         `scripts/s3tests.sh --all` (docs/TESTING.md)",
        list.display()
    );
    let venv = venv();

    let server = Server::start_s3();
    let out = tempfile::tempdir().expect("tempdir");
    let run = Command::new("bash")
        .arg(root.join("scripts/s3tests.sh"))
        .arg("--list")
        .arg(&list)
        .args(["--port", &server.s3_port.to_string()])
        .arg("--out")
        .arg(out.path())
        .env("S3_TEST_VENV", &venv)
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/s3tests.sh");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);

    let results = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap_or_default();
    let mut passed = std::collections::BTreeSet::new();
    let mut failing = Vec::new();
    for line in results.lines() {
        let r: Value = serde_json::from_str(line).expect("results.jsonl line");
        let id = r["id"].as_str().expect("id").to_string();
        if r["outcome"] == "passed" {
            passed.insert(id);
        } else {
            failing.push(format!("{} {id}: {}", r["outcome"], r["reason"]));
        }
    }
    let not_run: Vec<_> = ids.iter().filter(|i| !passed.contains(*i)).collect();
    assert!(
        run.status.success() && not_run.is_empty() && failing.is_empty(),
        "s3tests: {} of {} listed tests did not pass ({}):\n{}\n\nnot passed: {not_run:?}\n\n\
         script output:\n{stdout}{stderr}\n\nend of the server log:\n{}",
        not_run.len(),
        ids.len(),
        run.status,
        failing.join("\n"),
        tail(&server.log(), 40)
    );
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
