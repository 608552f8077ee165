//! The S3 clients the tests drive: awscli and boto3 from the virtualenv
//! that scripts/test-deps.sh installs, each signing with one key and
//! isolated from the developer's own AWS configuration.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::harness::Server;

/// The virtualenv holding awscli, boto3 and s3tests. Panics, naming the
/// script that makes it, when it is missing: these tests are part of the
/// suite and must not pass by not running.
pub fn venv() -> PathBuf {
    let dir = std::env::var_os("S3_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            Path::new(&home).join(".cache/dittofs/test-venv")
        });
    for tool in ["bin/aws", "bin/python"] {
        assert!(
            dir.join(tool).is_file(),
            "{} is missing: the S3 tests need the virtualenv that scripts/test-deps.sh \
             installs (set S3_TEST_VENV if it is elsewhere)",
            dir.join(tool).display()
        );
    }
    dir
}

/// awscli and boto3 signing with one key, isolated from the developer's
/// own AWS configuration.
pub struct Aws {
    venv: PathBuf,
    endpoint: String,
    access_key: String,
    secret_key: String,
    dir: tempfile::TempDir,
}

/// What a boto3 call answered: the HTTP status, the S3 error code (none
/// on success) and the parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u64,
    pub code: Option<String>,
    pub response: Value,
}

/// Calls one boto3 S3 client method (argv: name, JSON parameters) and
/// prints the status, error code and response as JSON. A `Body` comes back
/// as hex. No retries, so an error is the server's first answer.
const BOTO3_CALL: &str = r#"
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=os.environ["DITTOFS_S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
op, params = sys.argv[1], json.loads(sys.argv[2])
try:
    r = getattr(s3, op)(**params)
    if "Body" in r:
        r["Body"] = r["Body"].read().hex()
    out = {"status": r["ResponseMetadata"]["HTTPStatusCode"], "code": None, "response": r}
except ClientError as e:
    out = {"status": e.response["ResponseMetadata"]["HTTPStatusCode"],
           "code": e.response.get("Error", {}).get("Code"), "response": e.response}
print(json.dumps(out, default=str))
"#;

/// Fetches a URL with plain urllib (no AWS code involved), writes the body
/// to argv[2] and prints the HTTP status.
const HTTP_GET: &str = r#"
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=60)
    status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
open(sys.argv[2], "wb").write(body)
print(status)
"#;

impl Aws {
    /// Signs as `main-key`, which owns every configured share.
    pub fn new(server: &Server) -> Self {
        Self::with_keys(server, "main-key", "main-secret")
    }

    pub fn with_keys(server: &Server, access_key: &str, secret_key: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config"), "").expect("aws config");
        std::fs::write(dir.path().join("credentials"), "").expect("aws credentials");
        Self {
            venv: venv(),
            endpoint: server.s3_endpoint(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            dir,
        }
    }

    /// Makes awscli sign presigned URLs with SigV4 (awscli 1 presigns with
    /// SigV2 unless told).
    pub fn presign_sigv4(self) -> Self {
        std::fs::write(
            self.dir.path().join("config"),
            "[default]\ns3 =\n    signature_version = s3v4\n",
        )
        .expect("aws config");
        self
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.venv.join("bin").join(program));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", self.dir.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("DITTOFS_S3_ENDPOINT", &self.endpoint)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `aws --endpoint-url ENDPOINT args...`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command("aws")
            .arg("--endpoint-url")
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("run aws")
    }

    /// `aws args...`, which must succeed; its stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "aws {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `aws args...`, which must fail; its stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "aws {args:?} succeeded where it must fail:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `aws args...` answering JSON (s3api).
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("aws {args:?}: not JSON ({e}): {out}"))
    }

    /// Runs a Python script in the virtualenv; its stdout, which it must
    /// succeed to print.
    #[track_caller]
    pub fn python(&self, script: &str, args: &[&str]) -> String {
        let out = self
            .command("python")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "python {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One boto3 call, for what awscli cannot tell (status codes).
    #[track_caller]
    pub fn call(&self, op: &str, params: Value) -> Reply {
        let out = self.python(BOTO3_CALL, &[op, &params.to_string()]);
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("boto3 {op}: not JSON ({e}): {out}"));
        Reply {
            status: v["status"].as_u64().expect("status"),
            code: v["code"].as_str().map(str::to_string),
            response: v["response"].clone(),
        }
    }

    /// A plain HTTP GET of `url`: status and body.
    pub fn http_get(&self, url: &str) -> (u16, Vec<u8>) {
        let body = self.dir.path().join("http-body");
        let status = self.python(HTTP_GET, &[url, body.to_str().unwrap()]);
        let status = status.trim().parse().expect("status");
        (status, std::fs::read(&body).expect("body"))
    }
}

/// A boto3 call that must fail with `status` and S3 error `code`.
#[track_caller]
pub fn expect_error(aws: &Aws, op: &str, params: Value, status: u64, code: &str) {
    let r = aws.call(op, params.clone());
    assert!(
        r.status == status && r.code.as_deref() == Some(code),
        "{op} {params}: expected {status} {code}, got {} {:?}: {}",
        r.status,
        r.code,
        r.response
    );
}

/// A boto3 call that must succeed.
#[track_caller]
pub fn expect_ok(aws: &Aws, op: &str, params: Value) -> Value {
    let r = aws.call(op, params.clone());
    assert!(
        (200..300).contains(&r.status) && r.code.is_none(),
        "{op} {params}: expected success, got {} {:?}: {}",
        r.status,
        r.code,
        r.response
    );
    r.response
}

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .expect("read /dev/urandom");
    out
}
