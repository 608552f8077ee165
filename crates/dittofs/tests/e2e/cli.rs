//! The command line: init -> validate -> show, bad configurations, and
//! environment overrides, through the real binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::BIN;

/// Runs `dittofs ARGS` with a clean environment of our choosing.
fn dittofs(args: &[&str], env: &[(&str, &str)], home: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dittofs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[track_caller]
fn succeeds(o: &Output, what: &str) -> String {
    let (out, err) = text(o);
    assert!(
        o.status.success(),
        "{what} failed: {}\nstdout: {out}\nstderr: {err}",
        o.status
    );
    out
}

#[track_caller]
fn fails(o: &Output, what: &str) -> String {
    let (out, err) = text(o);
    assert!(
        !o.status.success(),
        "{what} should fail\nstdout: {out}\nstderr: {err}"
    );
    err
}

#[test]
fn init_validate_show_round_trip() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // Default location: $XDG_CONFIG_HOME/dittofs/config.yaml.
    let out = succeeds(&dittofs(&["init"], &[], h), "init");
    let path = h.join("config/dittofs/config.yaml");
    assert!(path.exists(), "init wrote {}: {out}", path.display());
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("# DittoFS configuration."),
        "the file is commented"
    );

    let err = fails(&dittofs(&["init"], &[], h), "a second init");
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    std::fs::write(&path, "logging:\n  level: WARN\n").unwrap();
    succeeds(&dittofs(&["init", "--force"], &[], h), "init --force");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        written,
        "--force rewrote the template"
    );

    // The default path is used when it exists.
    let out = succeeds(&dittofs(&["config", "validate"], &[], h), "validate");
    assert!(
        out.contains(&path.display().to_string()) && out.contains("valid"),
        "{out}"
    );

    // show prints YAML that validates and shows back identically.
    let shown = succeeds(&dittofs(&["config", "show"], &[], h), "show");
    let copy = h.join("shown.yaml");
    std::fs::write(&copy, &shown).unwrap();
    succeeds(
        &dittofs(
            &["config", "validate", "--config", copy.to_str().unwrap()],
            &[],
            h,
        ),
        "validate shown",
    );
    let again = succeeds(
        &dittofs(
            &["config", "show", "--config", copy.to_str().unwrap()],
            &[],
            h,
        ),
        "show shown",
    );
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        body(&shown),
        body(&again),
        "show -> validate -> show is stable"
    );

    // --config elsewhere, and --help everywhere.
    let other = h.join("elsewhere/c.yaml");
    succeeds(
        &dittofs(&["init", "--config", other.to_str().unwrap()], &[], h),
        "init --config",
    );
    assert!(other.exists());
    for args in [
        &["--help"][..],
        &["init", "--help"],
        &["start", "--help"],
        &["config", "--help"],
        &["config", "validate", "--help"],
        &["config", "show", "--help"],
        &["version", "--help"],
    ] {
        let out = succeeds(&dittofs(args, &[], h), "help");
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let out = succeeds(&dittofs(&["version"], &[], h), "version");
    assert!(out.starts_with("dittofs "), "{out}");
}

/// Each class of mistake names the file, the key path and what was wanted.
#[test]
fn bad_configurations_are_explained() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let share =
        "shares:\n  - name: /export\n    metadata_store: default\n    payload_store: default\n";
    let cases: &[(&str, String, &[&str])] = &[
        (
            "unknown key",
            "adapters:\n  nfs:\n    prot: 1\n".into(),
            &["adapters.nfs", "unknown field `prot`", ":3"],
        ),
        (
            "unknown top-level key",
            "loging:\n  level: INFO\n".into(),
            &["unknown field `loging`", ":1"],
        ),
        (
            "unknown store type",
            format!("metadata:\n  stores:\n    default:\n      type: badger\n{share}"),
            &[
                "metadata.stores.default.type",
                "unknown store type \"badger\"",
                "memory",
                ":4",
            ],
        ),
        (
            "share naming a missing store",
            "shares:\n  - name: /export\n    metadata_store: nope\n    payload_store: default\n"
                .into(),
            &[
                "shares[0].metadata_store",
                "no metadata store named \"nope\"",
                ":3",
            ],
        ),
        (
            "bad CIDR",
            format!("{share}    allowed_clients:\n      - 10.0.0.0/8\n      - 300.1.2.3/8\n"),
            &["shares[0].allowed_clients[1]", "300.1.2.3/8", "CIDR", ":7"],
        ),
        (
            "bad port (too big)",
            "adapters:\n  nfs:\n    port: 70000\n".into(),
            &["adapters.nfs.port", ":3"],
        ),
        (
            "bad port (zero)",
            "adapters:\n  nfs:\n    port: 0\n".into(),
            &["adapters.nfs.port", "between 1 and 65535", ":3"],
        ),
        (
            "bad port (text)",
            "adapters:\n  nfs:\n    port: http\n".into(),
            &["adapters.nfs.port", ":3"],
        ),
        (
            "duplicate share name",
            format!(
                "{share}  - name: /export\n    metadata_store: default\n    payload_store: default\n"
            ),
            &["shares[1].name", "duplicate share name \"/export\"", ":5"],
        ),
        (
            "bad share name",
            "shares:\n  - name: export\n    metadata_store: default\n    payload_store: default\n"
                .into(),
            &["shares[0].name", "export path"],
        ),
        (
            "bad duration",
            "server:\n  shutdown_timeout: soon\n".into(),
            &["server.shutdown_timeout", "duration", ":2"],
        ),
        (
            "bad bind address",
            "adapters:\n  nfs:\n    bind: localhost\n".into(),
            &["adapters.nfs.bind", "IP address"],
        ),
        (
            "one payload store under two metadata stores",
            "metadata:\n  stores:\n    a:\n      type: memory\n    b:\n      type: memory\npayload:\n  stores:\n    p:\n      type: memory\nshares:\n  - name: /one\n    metadata_store: a\n    payload_store: p\n  - name: /two\n    metadata_store: b\n    payload_store: p\n".into(),
            &["shares[1].payload_store", "counted by one metadata store", ":17"],
        ),
        ("not YAML", "logging: [unclosed\n".into(), &["config.yaml"]),
    ];
    for (what, yaml, needles) in cases {
        let path = h.join("config.yaml");
        std::fs::write(&path, yaml).unwrap();
        let p = path.to_str().unwrap();
        let err = fails(
            &dittofs(&["config", "validate", "--config", p], &[], h),
            what,
        );
        assert!(err.contains(p), "{what}: the error names the file: {err}");
        for n in *needles {
            assert!(
                err.contains(n),
                "{what}: the error should mention {n:?}: {err}"
            );
        }
        // The server refuses to start on the same file, quickly and non-zero.
        let started = Instant::now();
        let err = fails(&dittofs(&["start", "--config", p], &[], h), what);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: start gave up at once"
        );
        assert!(
            err.contains(needles[0]),
            "{what}: start explains too: {err}"
        );
    }
    let err = fails(
        &dittofs(
            &["config", "validate", "--config", "/nonexistent/c.yaml"],
            &[],
            h,
        ),
        "missing file",
    );
    assert!(
        err.contains("/nonexistent/c.yaml") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn environment_beats_the_file() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = h.join("c.yaml");
    std::fs::write(
        &path,
        "logging:\n  level: WARN\nadapters:\n  nfs:\n    port: 3049\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let shown = succeeds(
        &dittofs(
            &["config", "show", "--config", p],
            &[
                ("DITTOFS_ADAPTERS_NFS_PORT", "4049"),
                ("DITTOFS_SHARES_0_READ_ONLY", "true"),
            ],
            h,
        ),
        "show with overrides",
    );
    assert!(
        shown.contains("port: 4049") && !shown.contains("port: 3049"),
        "{shown}"
    );
    assert!(
        shown.contains("level: WARN"),
        "the file still applies: {shown}"
    );
    assert!(shown.contains("read_only: true"), "{shown}");
    assert!(
        shown.contains("DITTOFS_ADAPTERS_NFS_PORT"),
        "show says what was overridden: {shown}"
    );

    // DITTOFS_CONFIG picks the file.
    let out = succeeds(
        &dittofs(&["config", "show"], &[("DITTOFS_CONFIG", p)], h),
        "DITTOFS_CONFIG",
    );
    assert!(out.contains("port: 3049"), "{out}");

    // A bad or unknown variable is an error naming it.
    let err = fails(
        &dittofs(
            &["config", "validate", "--config", p],
            &[("DITTOFS_ADAPTERS_NFS_PORT", "many")],
            h,
        ),
        "bad env",
    );
    assert!(
        err.contains("DITTOFS_ADAPTERS_NFS_PORT") && err.contains("adapters.nfs.port"),
        "{err}"
    );
    let err = fails(
        &dittofs(
            &["config", "validate", "--config", p],
            &[("DITTOFS_ADAPTERS_NFS_PROT", "1")],
            h,
        ),
        "typo env",
    );
    assert!(err.contains("DITTOFS_ADAPTERS_NFS_PROT"), "{err}");
}

/// Every example in docs/CONFIGURATION.md is a file the server accepts, so
/// the documentation cannot drift from the code unnoticed.
#[test]
fn documented_examples_validate() {
    let home = tempfile::tempdir().unwrap();
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIGURATION.md");
    let text = std::fs::read_to_string(&doc).expect("docs/CONFIGURATION.md");
    let mut examples = 0;
    for (i, block) in text.split("```yaml\n").skip(1).enumerate() {
        let yaml = block.split("```").next().unwrap_or_default();
        let path = home.path().join(format!("example{i}.yaml"));
        std::fs::write(&path, yaml).unwrap();
        succeeds(
            &dittofs(
                &["config", "validate", "--config", path.to_str().unwrap()],
                &[],
                home.path(),
            ),
            &format!("example {i} of docs/CONFIGURATION.md:\n{yaml}"),
        );
        examples += 1;
    }
    assert!(
        examples >= 5,
        "the document has its worked examples ({examples})"
    );
}
