//! `server.rate_limiting` and `adapters.<adapter>.rate_limiting`: over the
//! limit, NFS answers NFS3ERR_JUKEBOX and S3 503 SlowDown; within it,
//! nothing is turned away, and one adapter's limit holds back only it.

use nfs3_types::nfs3::{
    COMMIT3args, GETATTR3args, LOOKUP3args, Nfs3Result, RENAME3args, diropargs3, filename3,
    nfsstat3,
};
use nfs3_types::xdr_codec::Opaque;
use serde_json::json;

use crate::harness::{self, Server};
use crate::s3_support::Aws;

/// The status of a reply: `None` for success.
fn status_of<T, E, X: std::fmt::Debug>(r: Result<Nfs3Result<T, E>, X>) -> Option<nfsstat3> {
    match r.expect("rpc (the reply must decode)") {
        Nfs3Result::Ok(_) => None,
        Nfs3Result::Err((s, _)) => Some(s),
    }
}

const LIMITED: &str = "\
server:
  rate_limiting:
    enabled: true
    requests_per_second: 20
    burst: 20
";

#[tokio::test]
async fn nfs_over_the_rate_gets_jukebox_then_recovers() {
    let server = Server::start_with_config(Some(LIMITED), &[]);
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (mut ok, mut jukebox) = (0, 0);
    // Procedures whose failure replies carry attributes of different
    // shapes: each JUKEBOX reply must decode.
    for i in 0..200 {
        let status = match i % 4 {
            0 => status_of(
                c.getattr(&GETATTR3args {
                    object: root.clone(),
                })
                .await,
            ),
            1 => status_of(
                c.lookup(&LOOKUP3args {
                    what: diropargs3 {
                        dir: root.clone(),
                        name: filename3(Opaque::borrowed(b"nothing")),
                    },
                })
                .await,
            ),
            2 => status_of(
                c.rename(&RENAME3args {
                    from: diropargs3 {
                        dir: root.clone(),
                        name: filename3(Opaque::borrowed(b"a")),
                    },
                    to: diropargs3 {
                        dir: root.clone(),
                        name: filename3(Opaque::borrowed(b"b")),
                    },
                })
                .await,
            ),
            _ => status_of(
                c.commit(&COMMIT3args {
                    file: root.clone(),
                    offset: 0,
                    count: 0,
                })
                .await,
            ),
        };
        match status {
            None => ok += 1,
            Some(nfsstat3::NFS3ERR_JUKEBOX) => jukebox += 1,
            // Admitted, and failing as it should (no such file, a directory).
            Some(nfsstat3::NFS3ERR_NOENT | nfsstat3::NFS3ERR_ISDIR | nfsstat3::NFS3ERR_INVAL) => {
                ok += 1
            }
            Some(other) => panic!("call {i}: {other:?}"),
        }
    }
    assert!(jukebox > 0, "200 calls at once, none pushed back");
    assert!(
        (20..100).contains(&ok),
        "{ok} of 200 admitted at 20/s with a burst of 20"
    );
    // The bucket refills.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = c
        .getattr(&GETATTR3args { object: root })
        .await
        .expect("GETATTR rpc");
    assert!(matches!(r, Nfs3Result::Ok(_)), "after a pause: {r:?}");
}

/// boto3 without retries: how many of argv[1] HeadBucket calls answered
/// 200 and how many 503 SlowDown, as JSON.
const HEAD_MANY: &str = r#"
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=os.environ["DITTOFS_S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(retries={"max_attempts": 0}))
out = {"ok": 0, "slow": 0, "other": []}
for _ in range(int(sys.argv[1])):
    try:
        s3.head_bucket(Bucket="export")
        out["ok"] += 1
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 503:
            out["slow"] += 1
        else:
            out["other"].append(str(e))
print(json.dumps(out))
"#;

#[test]
fn s3_over_the_rate_gets_slow_down() {
    let config = format!("{LIMITED}{}", crate::harness::S3_CONFIG);
    let server = Server::start_s3_with_config(&config);
    let aws = Aws::new(&server);
    let out: serde_json::Value =
        serde_json::from_str(aws.python(HEAD_MANY, &["150"]).trim()).expect("json");
    assert_eq!(out["other"], json!([]), "{out}");
    assert!(
        out["slow"].as_u64() > Some(0),
        "150 calls, none slowed down: {out}"
    );
    assert!(
        out["ok"].as_u64() >= Some(20),
        "the burst is admitted: {out}"
    );
}

/// `n` GETATTRs of the root at once: how many were admitted and how many
/// answered JUKEBOX.
async fn getattrs(server: &Server, n: usize) -> (usize, usize) {
    let mut c = harness::mount(server).await;
    let root = c.root_nfs_fh3();
    let (mut ok, mut jukebox) = (0, 0);
    for i in 0..n {
        let r = c
            .getattr(&GETATTR3args {
                object: root.clone(),
            })
            .await;
        match status_of(r) {
            None => ok += 1,
            Some(nfsstat3::NFS3ERR_JUKEBOX) => jukebox += 1,
            Some(other) => panic!("call {i}: {other:?}"),
        }
    }
    (ok, jukebox)
}

/// How many of `n` HeadBucket calls answered 200 and 503 SlowDown.
fn head_buckets(server: &Server, n: usize) -> (u64, u64) {
    let aws = Aws::new(server);
    let out: serde_json::Value =
        serde_json::from_str(aws.python(HEAD_MANY, &[&n.to_string()]).trim()).expect("json");
    assert_eq!(out["other"], json!([]), "{out}");
    (
        out["ok"].as_u64().expect("ok"),
        out["slow"].as_u64().expect("slow"),
    )
}

/// The S3 test keys, with `adapters.<adapter>.rate_limiting` at 20/s.
fn limited_adapter(adapter: &str) -> String {
    let s3 = crate::harness::S3_CONFIG;
    let limit = "    rate_limiting: { enabled: true, requests_per_second: 20, burst: 20 }\n";
    match adapter {
        "nfs" => s3.replacen("adapters:\n", &format!("adapters:\n  nfs:\n{limit}"), 1),
        _ => s3.replacen("  s3:\n", &format!("  s3:\n{limit}"), 1),
    }
}

#[tokio::test]
async fn an_nfs_limit_holds_nfs_back_and_leaves_s3_alone() {
    let server = Server::start_s3_with_config(&limited_adapter("nfs"));
    let (ok, jukebox) = getattrs(&server, 200).await;
    assert!(jukebox > 0, "200 NFS calls at once, none pushed back");
    assert!((20..100).contains(&ok), "{ok} of 200 admitted at 20/s");
    let (ok, slow) = head_buckets(&server, 100);
    assert_eq!((ok, slow), (100, 0), "S3 has no limit of its own");
}

#[tokio::test]
async fn an_s3_limit_holds_s3_back_and_leaves_nfs_alone() {
    let server = Server::start_s3_with_config(&limited_adapter("s3"));
    let (ok, slow) = head_buckets(&server, 150);
    assert!(slow > 0, "150 S3 calls at once, none slowed down");
    assert!(ok >= 20, "the burst is admitted: {ok}");
    let (ok, jukebox) = getattrs(&server, 200).await;
    assert_eq!((ok, jukebox), (200, 0), "NFS has no limit of its own");
}
