//! The FUSE adapter through the real kernel: pjdfstest (the POSIX suite)
//! over `dittofs mount`, every test in tests/pjdfstest/passing.txt must
//! pass; one server serving the same files over FUSE, NFS and S3; clean
//! unmounts on SIGTERM. Needs root and /dev/fuse; scripts/test-deps.sh
//! installs pjdfstest and its `tests` user.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, S3_CONFIG, Server};
use crate::nfs3_procs::{create_file, lookup, read_all, write};
use crate::s3_support::{Aws, Rng};
use crate::s3_trees::path_arg;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether a file system is mounted at `path` (which must be canonical).
fn is_mounted(path: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let want = path.to_string_lossy();
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_ref()))
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn require_fuse() {
    assert!(
        Path::new("/dev/fuse").exists(),
        "/dev/fuse is missing: the FUSE tests need the fuse kernel module"
    );
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "the FUSE tests mount file systems and switch users: run them as root"
    );
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -TERM {}", child.id());
}

/// Detaches a mount left behind by a test that failed before unmounting.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        if is_mounted(&self.0) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// `dittofs mount /export` on a fresh data directory, run until dropped.
struct LocalMount {
    child: Option<Child>,
    mountpoint: PathBuf,
    log: PathBuf,
    _unmount: Unmount,
    tmp: tempfile::TempDir,
}

impl LocalMount {
    fn start() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mountpoint = tmp.path().join("mnt");
        std::fs::create_dir(&mountpoint).expect("mountpoint");
        let mountpoint = mountpoint.canonicalize().expect("canonical");
        let log = tmp.path().join("mount.log");
        let mut m = Self {
            child: None,
            _unmount: Unmount(mountpoint.clone()),
            mountpoint,
            log,
            tmp,
        };
        m.spawn();
        m
    }

    fn spawn(&mut self) {
        let child = dittofs_mount(&self.tmp.path().join("data"), &self.mountpoint, &self.log)
            .spawn()
            .expect("start dittofs mount");
        self.child = Some(child);
        wait_until("the FUSE mount", || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dittofs mount exited with {status}:\n{}", self.log());
            }
            // A dead mount a crash left is listed too, but answers nothing.
            is_mounted(&self.mountpoint) && std::fs::metadata(&self.mountpoint).is_ok()
        });
    }

    /// kill -9, as a crash: the mount is left behind, dead.
    fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM; returns once the process exited, and checks it unmounted.
    fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        sigterm(&child);
        let status = child.wait().expect("wait");
        assert!(
            status.success(),
            "dittofs mount exited with {status}:\n{}",
            self.log()
        );
        assert!(
            !is_mounted(&self.mountpoint),
            "still mounted after SIGTERM:\n{}",
            self.log()
        );
    }
}

impl Drop for LocalMount {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn dittofs_mount(data_dir: &Path, mountpoint: &Path, log: &Path) -> Command {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let mut cmd = Command::new(BIN);
    cmd.arg("mount").arg("/export").arg(mountpoint);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DITTOFS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("DITTOFS_SERVER_DATA_DIR", data_dir)
        .env("XDG_CONFIG_HOME", data_dir.with_file_name("xdg-config"))
        .env("DITTOFS_LOGGING_LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    cmd
}

/// The pjdfstest binary: on PATH, or where `cargo install` puts it.
fn pjdfstest() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("pjdfstest"))
        .find(|p| p.is_file());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    on_path
        .or_else(|| {
            cargo_home
                .map(|h| h.join("bin/pjdfstest"))
                .filter(|p| p.is_file())
        })
        .expect("pjdfstest is not installed; run scripts/test-deps.sh")
}

/// Test names of the list file: one a line, `#` starts a comment.
fn listed(list: &Path) -> Vec<String> {
    std::fs::read_to_string(list)
        .unwrap_or_else(|e| panic!("read {}: {e}", list.display()))
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs the named tests; returns each reported test's outcome (`ok`,
/// `FAILED`, `skipped`) and the whole output.
fn run_pjdfstest(
    dir: &Path,
    secondary: &Path,
    names: &[&String],
) -> (Vec<(String, String)>, String) {
    let out: Output = Command::new(pjdfstest())
        .arg("-c")
        .arg(repo_root().join("tests/pjdfstest/pjdfstest.toml"))
        .arg("-p")
        .arg(dir)
        .arg("-s")
        .arg(secondary)
        .arg("-e")
        // Exact names are matched before pjdfstest shortens them.
        .args(names.iter().map(|n| format!("pjdfstest::tests::{n}")))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run pjdfstest");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let results = text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (name, outcome) = (words.next()?, words.next()?);
            (words.next().is_none() && matches!(outcome, "ok" | "FAILED" | "skipped"))
                .then(|| (name.to_string(), outcome.to_string()))
        })
        .collect();
    (results, text)
}

#[test]
fn pjdfstest_passes_every_listed_test_on_a_dittofs_mount() {
    require_fuse();
    let names = listed(&repo_root().join("tests/pjdfstest/passing.txt"));
    assert!(
        names.len() > 300,
        "the pass list holds only {} tests",
        names.len()
    );
    let secondary = tempfile::tempdir().expect("secondary file system dir");
    let mount = LocalMount::start();
    // Two tests leave removed files open until pjdfstest exits, and a
    // mount with such files cannot be remounted read-only (EBUSY): the
    // EROFS tests get a process of their own, first.
    let (erofs, rest): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.contains("erofs"));
    let mut results = Vec::new();
    let mut output = String::new();
    for group in [erofs, rest] {
        let (r, text) = run_pjdfstest(&mount.mountpoint, secondary.path(), &group);
        results.extend(r);
        output.push_str(&text);
    }
    let outcome: std::collections::BTreeMap<_, _> = results.into_iter().collect();
    let bad: Vec<String> = names
        .iter()
        .filter(|n| outcome.get(*n).map(String::as_str) != Some("ok"))
        .map(|n| format!("{n}: {}", outcome.get(n).map_or("not run", |o| o.as_str())))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} listed pjdfstest tests did not pass:\n{}\n\npjdfstest output:\n{output}\n\nserver log:\n{}",
        bad.len(),
        names.len(),
        bad.join("\n"),
        mount.log()
    );
    mount.stop();
}

#[test]
fn fsynced_data_survives_kill_9_and_the_dead_mount_is_replaced() {
    require_fuse();
    let mut mount = LocalMount::start();
    let data = Rng(0xf05e_0004).bytes((1 << 20) + 99);
    let path = mount.mountpoint.join("synced.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(&data).expect("write");
        f.sync_all().expect("fsync");
    }
    mount.crash();
    assert!(
        std::fs::metadata(&path).is_err(),
        "the mount of a killed server answers nothing"
    );
    mount.spawn();
    assert!(
        std::fs::read(&path).expect("read after restart") == data,
        "fsynced data is back after kill -9:\n{}",
        mount.log()
    );
    mount.stop();
}

#[test]
fn mounting_a_data_dir_a_server_holds_fails_clearly() {
    require_fuse();
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mountpoint = tmp.path().join("mnt");
    std::fs::create_dir(&mountpoint).expect("mountpoint");
    let _unmount = Unmount(mountpoint.canonicalize().expect("canonical"));
    let log = tmp.path().join("mount.log");
    let mut cmd = dittofs_mount(&server.data_dir, &mountpoint, &log);
    let mut child = cmd.spawn().expect("dittofs mount");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dittofs mount did not fail on a held data directory");
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!status.success(), "{said}");
    assert!(said.contains("in use by another process"), "{said}");
}

/// One server: FUSE mount, NFS and S3 on the same share.
fn fuse_server(mountpoint: &Path) -> Server {
    let yaml = format!(
        "{S3_CONFIG}  fuse:\n    enabled: true\n    mounts:\n      - share: /export\n        mountpoint: {}\n",
        mountpoint.display()
    );
    let server = Server::start_s3_with_config(&yaml);
    wait_until("the FUSE mount", || is_mounted(mountpoint));
    server
}

#[tokio::test]
async fn files_written_through_fuse_nfs_and_s3_read_the_same_everywhere() {
    require_fuse();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mountpoint");
    let mnt = mnt.canonicalize().expect("canonical");
    let _unmount = Unmount(mnt.clone());
    let mut server = fuse_server(&mnt);
    let aws = Aws::new(&server);
    let mut nfs = crate::harness::mount(&server).await;
    let root = nfs.root_nfs_fh3();

    // FUSE -> NFS and S3, across a block boundary, made durable by fsync.
    let by_fuse = Rng(0xf05e_0001).bytes((5 << 20) + 4321);
    std::fs::create_dir(mnt.join("dir")).expect("mkdir over FUSE");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(mnt.join("dir/by-fuse.bin")).expect("create");
        f.write_all(&by_fuse).expect("write over FUSE");
        f.sync_all().expect("fsync over FUSE");
    }
    let dir = lookup(&mut nfs, &root, "dir").await.0;
    let (fh, attrs) = lookup(&mut nfs, &dir, "by-fuse.bin").await;
    assert_eq!(attrs.size, by_fuse.len() as u64, "size over NFS");
    assert!(
        read_all(&mut nfs, &fh).await == by_fuse,
        "FUSE file read over NFS"
    );
    let got = tmp.path().join("got.bin");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        "s3://export/dir/by-fuse.bin",
        path_arg(&got),
    ]);
    assert!(
        std::fs::read(&got).expect("read") == by_fuse,
        "FUSE file read over S3"
    );

    // NFS -> FUSE.
    let by_nfs = Rng(0xf05e_0002).bytes((1 << 20) + 17);
    let (nfh, _) = create_file(&mut nfs, &dir, "by-nfs.bin").await;
    for (i, chunk) in by_nfs.chunks(1 << 20).enumerate() {
        write(&mut nfs, &nfh, (i as u64) << 20, chunk).await;
    }
    assert!(
        std::fs::read(mnt.join("dir/by-nfs.bin")).expect("read over FUSE") == by_nfs,
        "NFS file read over FUSE"
    );

    // S3 -> FUSE, in directories the PUT creates.
    let by_s3 = Rng(0xf05e_0003).bytes(300_000);
    let src = tmp.path().join("by-s3.bin");
    std::fs::write(&src, &by_s3).expect("source");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        path_arg(&src),
        "s3://export/s3/made/by-s3.bin",
    ]);
    assert!(
        std::fs::read(mnt.join("s3/made/by-s3.bin")).expect("read over FUSE") == by_s3,
        "S3 object read over FUSE"
    );

    // An overwrite through FUSE is what NFS and S3 see next.
    std::fs::write(mnt.join("s3/made/by-s3.bin"), b"rewritten").expect("overwrite");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        "s3://export/s3/made/by-s3.bin",
        path_arg(&got),
    ]);
    assert_eq!(
        std::fs::read(&got).expect("read"),
        b"rewritten",
        "S3 after FUSE write"
    );
    let made = lookup(&mut nfs, &root, "s3").await.0;
    let made = lookup(&mut nfs, &made, "made").await.0;
    let (sfh, _) = lookup(&mut nfs, &made, "by-s3.bin").await;
    assert_eq!(
        read_all(&mut nfs, &sfh).await,
        b"rewritten",
        "NFS after FUSE write"
    );

    // SIGTERM unmounts before the server exits.
    let status = server.terminate();
    assert!(
        status.success(),
        "server exited with {status}:\n{}",
        server.log()
    );
    assert!(!is_mounted(&mnt), "still mounted after SIGTERM");
}
