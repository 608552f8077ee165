//! What S3 acknowledges stays: objects survive kill -9 of the server, a PUT
//! cut off half way leaves the old object whole, and keys that cannot be
//! paths are refused without touching anything.

use serde_json::json;

use crate::harness::Server;
use crate::s3_support::{Aws, expect_error, expect_ok};

/// Writes objects (argv[1] of them, argv[2] bytes each, in prefix argv[3])
/// with boto3 and prints their MD5s as JSON {key: md5}; every PUT has been
/// answered when it prints.
const PUT_MANY: &str = r#"
import hashlib, io, json, os, sys
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["DITTOFS_S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(retries={"max_attempts": 0}))
n, size, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = {}
for i in range(n):
    body = os.urandom(size + i)
    key = "%s/obj-%03d" % (prefix, i)
    s3.put_object(Bucket="export", Key=key, Body=body)
    out[key] = hashlib.md5(body).hexdigest()
print(json.dumps(out))
"#;

/// Reads the objects of a PUT_MANY listing (argv[1], JSON) and prints the
/// keys whose bytes differ or are missing.
const CHECK_MANY: &str = r#"
import hashlib, json, os, sys
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["DITTOFS_S3_ENDPOINT"], region_name="us-east-1")
want = json.loads(sys.argv[1])
bad = []
for key, md5 in sorted(want.items()):
    try:
        got = hashlib.md5(s3.get_object(Bucket="export", Key=key)["Body"].read()).hexdigest()
    except Exception as e:
        got = str(e)
    if got != md5:
        bad.append(key)
print(json.dumps(bad))
"#;

#[test]
fn acknowledged_puts_survive_kill_9() {
    let mut server = Server::start_s3();
    let aws = Aws::new(&server);
    // Small objects (inline in the metadata store) and ones in blocks.
    let small = aws.python(PUT_MANY, &["40", "3000", "small"]);
    let large = aws.python(PUT_MANY, &["6", "3000000", "large"]);
    server.kill();
    server.restart();
    let aws = Aws::new(&server);
    for listing in [small, large] {
        let bad = aws.python(CHECK_MANY, &[listing.trim()]);
        assert_eq!(bad.trim(), "[]", "objects lost or changed by kill -9");
    }
}

/// PUTs argv[2] with a body that breaks off after 1 MiB of the 4 MiB its
/// Content-Length promises: the connection closes mid-body.
const CUT_OFF_PUT: &str = r#"
import os, sys
import boto3
from botocore.config import Config
class Breaks:
    def __init__(self):
        self.sent = 0
    def read(self, n=-1):
        if self.sent >= 1 << 20:
            raise IOError("cut off")
        n = min(n if n and n > 0 else 65536, (1 << 20) - self.sent)
        self.sent += n
        return b"x" * n
s3 = boto3.client("s3", endpoint_url=os.environ["DITTOFS_S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(retries={"max_attempts": 0}))
try:
    s3.put_object(Bucket="export", Key=sys.argv[1], Body=Breaks(), ContentLength=4 << 20)
    print("completed")
except Exception as e:
    print("failed")
"#;

#[test]
fn a_cut_off_put_leaves_the_old_object_whole() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let old = "the old object, whole\n".repeat(1000);
    expect_ok(
        &aws,
        "put_object",
        json!({"Bucket": "export", "Key": "keep/me", "Body": old}),
    );
    let out = aws.python(CUT_OFF_PUT, &["keep/me"]);
    assert_eq!(out.trim(), "failed", "the broken upload must not complete");
    let got = expect_ok(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "keep/me"}),
    );
    let body = hex_decode(got["Body"].as_str().expect("body"));
    assert_eq!(body, old.as_bytes(), "the old object changed");
    // Nothing of the broken upload shows as an object.
    let listed = expect_ok(&aws, "list_objects_v2", json!({"Bucket": "export"}));
    let keys: Vec<&str> = listed["Contents"]
        .as_array()
        .expect("contents")
        .iter()
        .map(|o| o["Key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["keep/me"]);
}

#[test]
fn keys_that_clash_with_paths_are_refused_and_change_nothing() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    expect_ok(
        &aws,
        "put_object",
        json!({"Bucket": "export", "Key": "a/b", "Body": "file b"}),
    );
    // "a/b" is a file, so it cannot also be a directory of "a/b/c".
    expect_error(
        &aws,
        "put_object",
        json!({"Bucket": "export", "Key": "a/b/c", "Body": "x"}),
        409,
        "KeyPathConflict",
    );
    // "a" is a directory of other objects, so it cannot be a file.
    expect_error(
        &aws,
        "put_object",
        json!({"Bucket": "export", "Key": "a", "Body": "x"}),
        409,
        "KeyPathConflict",
    );
    for key in ["a//b", "a/./b", "../x", ".dittofs-s3/tmp/x"] {
        expect_error(
            &aws,
            "put_object",
            json!({"Bucket": "export", "Key": key, "Body": "x"}),
            400,
            "InvalidArgument",
        );
    }
    let got = expect_ok(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "a/b"}),
    );
    assert_eq!(hex_decode(got["Body"].as_str().unwrap()), b"file b");
    let listed = expect_ok(&aws, "list_objects_v2", json!({"Bucket": "export"}));
    assert_eq!(listed["KeyCount"], 1, "{listed}");
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn abandoned_uploads_are_removed_after_the_expiry() {
    let config = format!("{}    multipart_expiry: 2s\n", crate::harness::S3_CONFIG);
    let server = Server::start_s3_with_config(&config);
    let aws = Aws::new(&server);
    let up = expect_ok(
        &aws,
        "create_multipart_upload",
        json!({"Bucket": "export", "Key": "left/behind"}),
    );
    let id = up["UploadId"].as_str().expect("upload id").to_string();
    expect_ok(
        &aws,
        "upload_part",
        json!({"Bucket": "export", "Key": "left/behind", "UploadId": id, "PartNumber": 1, "Body": "part"}),
    );
    let listed = expect_ok(&aws, "list_multipart_uploads", json!({"Bucket": "export"}));
    assert_eq!(
        listed["Uploads"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let listed = expect_ok(&aws, "list_multipart_uploads", json!({"Bucket": "export"}));
        if listed["Uploads"].as_array().is_none_or(Vec::is_empty) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upload is still there: {listed}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    expect_error(
        &aws,
        "upload_part",
        json!({"Bucket": "export", "Key": "left/behind", "UploadId": id, "PartNumber": 2, "Body": "late"}),
        404,
        "NoSuchUpload",
    );
}
