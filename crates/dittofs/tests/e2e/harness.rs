//! Starts the real `dittofs` binary for a test and stops it afterwards.

#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nfs3_client::Nfs3ConnectionBuilder;
use nfs3_client::tokio::{TokioConnector, TokioIo};
use nfs3_types::rpc::{auth_unix, opaque_auth};

pub const BIN: &str = env!("CARGO_BIN_EXE_dittofs");

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Two ports nobody listens on right now, different from each other
/// (both are held while the second is picked).
fn free_port_pair() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("no free port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("local address").port();
    (port(&a), port(&b))
}

/// A running server with its own data directory and ports.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub s3_port: u16,
    /// Whether start-up also waits for the S3 port.
    wait_s3: bool,
    pub data_dir: PathBuf,
    config: Option<PathBuf>,
    _tmp: Option<tempfile::TempDir>,
    env: Vec<(String, String)>,
}

/// Both default stores in memory: nothing outlives the process.
pub const MEMORY_CONFIG: &str = "\
metadata:
  stores:
    default: { type: memory }
payload:
  stores:
    default: { type: memory }
";

/// The two keys the S3 tests sign with; `alt-key` may touch only the
/// buckets it creates.
pub const S3_CONFIG: &str = "\
adapters:
  s3:
    credentials:
      - access_key: main-key
        secret_key: main-secret
        uid: 0
        gid: 0
        default_access: owner
      - access_key: alt-key
        secret_key: alt-secret
        uid: 0
        gid: 0
        default_access: none
";

impl Server {
    /// The default configuration: persistent stores in the data directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Memory stores, for tests of what a restart forgets.
    pub fn start_memory() -> Self {
        Self::start_with_config(Some(MEMORY_CONFIG), &[])
    }

    /// The default stores, with the S3 test keys of `S3_CONFIG`; returns
    /// once S3 answers too.
    pub fn start_s3() -> Self {
        Self::start_s3_with_config(S3_CONFIG)
    }

    /// Starts with `yaml` (which should configure S3 credentials) and waits
    /// for the S3 port as well.
    pub fn start_s3_with_config(yaml: &str) -> Self {
        Self::start_inner(Some(yaml), &[], true)
    }

    /// Starts with extra environment variables (`DITTOFS_*` overrides).
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        Self::start_with_config(None, env)
    }

    /// Starts with a configuration file holding `yaml` (the port and data
    /// directory still come from the environment).
    pub fn start_with_config(yaml: Option<&str>, env: &[(&str, &str)]) -> Self {
        Self::start_inner(yaml, env, false)
    }

    fn start_inner(yaml: Option<&str>, env: &[(&str, &str)], wait_s3: bool) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let config = yaml.map(|y| {
            let p = tmp.path().join("config.yaml");
            std::fs::write(&p, y).expect("write config");
            p
        });
        let (port, s3_port) = free_port_pair();
        let mut s = Self {
            child: None,
            port,
            s3_port,
            wait_s3,
            data_dir,
            config,
            _tmp: Some(tmp),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        s.spawn();
        s
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.with_file_name("server.log")
    }

    fn spawn(&mut self) {
        std::fs::create_dir_all(&self.data_dir).expect("data dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let mut cmd = Command::new(BIN);
        cmd.arg("start");
        // The server treats every DITTOFS_* variable as a config override;
        // what the test runner's environment holds must not leak in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DITTOFS_") {
                cmd.env_remove(key);
            }
        }
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        cmd.env("DITTOFS_SERVER_DATA_DIR", &self.data_dir)
            .env("DITTOFS_ADAPTERS_NFS_PORT", self.port.to_string())
            // Every server gets its own S3 port, so servers of parallel
            // tests never race for the default one.
            .env("DITTOFS_ADAPTERS_S3_PORT", self.s3_port.to_string())
            .env("DITTOFS_LOGGING_LEVEL", "info")
            .env_remove("DITTOFS_CONFIG")
            .env(
                "XDG_CONFIG_HOME",
                self.data_dir.with_file_name("xdg-config"),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start dittofs");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dittofs exited early with {status}:\n{}", self.log());
            }
            if TcpStream::connect(self.addr()).is_ok()
                && (!self.wait_s3 || TcpStream::connect(self.s3_addr()).is_ok())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "dittofs did not start listening on {} (S3 {}):\n{}",
            self.addr(),
            self.s3_addr(),
            self.log()
        );
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn s3_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.s3_port))
    }

    /// The S3 endpoint URL (path-style requests, region us-east-1).
    pub fn s3_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("running")
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.log_path()) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// `nfs://` URL for libnfs, for `path` inside the `/export` share.
    pub fn url(&self, path: &str) -> String {
        format!(
            "nfs://127.0.0.1/export{path}?version=3&nfsport={p}&mountport={p}",
            p = self.port
        )
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        child.wait().expect("wait")
    }

    /// kill -9, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same server again on the same port and data directory.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server first");
        self.spawn();
    }

    pub fn data_path(&self) -> &Path {
        &self.data_dir
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a libnfs-utils command, returning stdout or panicking with stderr.
pub fn libnfs(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("{cmd} not runnable ({e}); install libnfs-utils (scripts/test-deps.sh)")
        });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub type Connection = nfs3_client::Nfs3Connection<TokioIo<tokio::net::TcpStream>>;

/// An AUTH_SYS credential for `uid`, `gid` and supplementary `gids`.
pub fn auth_sys(uid: u32, gid: u32, gids: &[u32]) -> opaque_auth<'static> {
    let cred = auth_unix {
        stamp: 0,
        machinename: nfs3_types::xdr_codec::Opaque::owned(b"e2e".to_vec()),
        uid,
        gid,
        gids: gids.to_vec(),
    };
    opaque_auth::auth_unix(&cred)
}

/// Mounts `path` on the server as the given identity.
pub async fn mount_as(server: &Server, path: &str, cred: opaque_auth<'static>) -> Connection {
    Nfs3ConnectionBuilder::new(TokioConnector, "127.0.0.1", path)
        .mount_port(server.port)
        .nfs3_port(server.port)
        .connect_from_privileged_port(false)
        .credential(cred)
        .mount()
        .await
        .expect("mount")
}

/// Mounts `/export` as root.
pub async fn mount(server: &Server) -> Connection {
    mount_as(server, "/export", auth_sys(0, 0, &[])).await
}
