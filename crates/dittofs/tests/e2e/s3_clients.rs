//! Real S3 clients (awscli and boto3, from the virtualenv that
//! scripts/test-deps.sh installs) against the real server: multipart, ranges, presigned URLs, errors, and the same files seen over
//! NFS. Every object is checked byte for byte.

use std::collections::BTreeMap;

use serde_json::json;

use crate::harness::{self, Server, auth_sys};
use crate::nfs3_procs::{Conn, create_file, getattr, lookup, mkdir, read_all, write};
use crate::s3_support::{Aws, Rng, expect_error, expect_ok, random_bytes};
use crate::s3_trees::{assert_same_bytes, ls_recursive, path_arg};

/// The ETag S3 gives a multipart upload of the file argv[1] in parts of
/// argv[2] bytes: the MD5 of the parts' MD5s, then `-` and the part count.
const MULTIPART_ETAG: &str = r#"
import hashlib, sys
size = int(sys.argv[2])
digests = []
with open(sys.argv[1], "rb") as f:
    while True:
        part = f.read(size)
        if not part:
            break
        digests.append(hashlib.md5(part).digest())
print('"%s-%d"' % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests)))
"#;

#[test]
fn awscli_multipart_upload_of_100_mib_round_trips() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("big.bin");
    let data = random_bytes(100 << 20);
    std::fs::write(&src, &data).expect("write source");

    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        path_arg(&src),
        "s3://export/big/big.bin",
    ]);

    let head = aws.json(&[
        "s3api",
        "head-object",
        "--bucket",
        "export",
        "--key",
        "big/big.bin",
    ]);
    assert_eq!(head["ContentLength"], json!(100u64 << 20), "{head}");
    // awscli's default: parts of 8 MiB above 8 MiB, so 13 parts.
    let want_etag = aws.python(MULTIPART_ETAG, &[path_arg(&src), &(8u64 << 20).to_string()]);
    assert_eq!(head["ETag"].as_str(), Some(want_etag.trim()), "{head}");

    let back = tmp.path().join("back.bin");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        "s3://export/big/big.bin",
        path_arg(&back),
    ]);
    assert_same_bytes(
        &std::fs::read(&back).expect("read back"),
        &data,
        "100 MiB round trip",
    );

    let listed = ls_recursive(&aws, "export", "big/");
    assert_eq!(
        listed,
        BTreeMap::from([("big.bin".to_string(), 100u64 << 20)])
    );
}

#[test]
fn s3api_ranged_gets_return_the_source_bytes() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("r.bin");
    let data = Rng(0x5eed_0004).bytes((1 << 20) + 17);
    let len = data.len();
    std::fs::write(&src, &data).expect("write source");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        path_arg(&src),
        "s3://export/r.bin",
    ]);

    let out = tmp.path().join("part");
    let cases: [(String, usize, usize); 6] = [
        ("bytes=0-0".into(), 0, 1),
        ("bytes=100-199".into(), 100, 200),
        ("bytes=1000-".into(), 1000, len),
        ("bytes=-500".into(), len - 500, len),
        (format!("bytes={}-{}", len - 10, len + 5000), len - 10, len),
        (format!("bytes=0-{}", len - 1), 0, len),
    ];
    for (range, start, end) in cases {
        let reply = aws.json(&[
            "s3api",
            "get-object",
            "--bucket",
            "export",
            "--key",
            "r.bin",
            "--range",
            &range,
            path_arg(&out),
        ]);
        let got = std::fs::read(&out).expect("read range");
        assert_same_bytes(&got, &data[start..end], &range);
        assert_eq!(
            reply["ContentLength"],
            json!(end - start),
            "{range}: {reply}"
        );
        assert_eq!(
            reply["ContentRange"].as_str(),
            Some(format!("bytes {start}-{}/{len}", end - 1).as_str()),
            "{range}: {reply}"
        );
    }

    let past = format!("bytes={}-{}", len + 10, len + 20);
    let err = aws.fails(&[
        "s3api",
        "get-object",
        "--bucket",
        "export",
        "--key",
        "r.bin",
        "--range",
        &past,
        path_arg(&out),
    ]);
    assert!(err.contains("InvalidRange"), "{past}: {err}");
    expect_error(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "r.bin", "Range": past}),
        416,
        "InvalidRange",
    );
}

/// Puts an object, presigns a GET with `aws` and checks a plain HTTP
/// fetch; a tampered signature and an expired URL are refused.
fn check_presigned(aws: &Aws, marker: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("p.bin");
    let data = Rng(0x5eed_0005).bytes(300_000);
    std::fs::write(&src, &data).expect("write source");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        path_arg(&src),
        "s3://export/pre/p.bin",
    ]);

    let url = aws.ok(&[
        "s3",
        "presign",
        "s3://export/pre/p.bin",
        "--expires-in",
        "300",
    ]);
    let url = url.trim();
    assert!(url.contains(marker), "expected a {marker} URL: {url}");
    let (status, body) = aws.http_get(url);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    assert_same_bytes(&body, &data, "presigned GET");

    let sig = url.find("Signature=").expect("a signature") + "Signature=".len();
    let mut tampered = url.to_string();
    let flip = if &url[sig..sig + 1] == "0" { "1" } else { "0" };
    tampered.replace_range(sig..sig + 1, flip);
    let (status, body) = aws.http_get(&tampered);
    assert_eq!(
        status,
        403,
        "tampered {tampered}: {}",
        String::from_utf8_lossy(&body)
    );

    let url = aws.ok(&[
        "s3",
        "presign",
        "s3://export/pre/p.bin",
        "--expires-in",
        "1",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (status, body) = aws.http_get(url.trim());
    assert_eq!(
        status,
        403,
        "expired URL: {}",
        String::from_utf8_lossy(&body)
    );
}

#[test]
fn presigned_sigv4_get_works_and_expires() {
    let server = Server::start_s3();
    check_presigned(&Aws::new(&server).presign_sigv4(), "X-Amz-Signature=");
}

#[test]
fn presigned_get_of_awscli_default_form_works_and_expires() {
    // awscli 1 without configuration presigns with query-string SigV2.
    let server = Server::start_s3();
    check_presigned(&Aws::new(&server), "&Signature=");
}

/// Follows `path` (`/`-separated) from `dir`.
async fn lookup_path(
    c: &mut Conn,
    dir: &nfs3_types::nfs3::nfs_fh3,
    path: &str,
) -> nfs3_types::nfs3::nfs_fh3 {
    let mut fh = dir.clone();
    for part in path.split('/') {
        fh = lookup(c, &fh, part).await.0;
    }
    fh
}

/// Writes `data` into the new file `name` of `dir` in 1 MiB WRITEs.
async fn nfs_write_file(c: &mut Conn, dir: &nfs3_types::nfs3::nfs_fh3, name: &str, data: &[u8]) {
    let (fh, _) = create_file(c, dir, name).await;
    for (i, chunk) in data.chunks(1 << 20).enumerate() {
        write(c, &fh, (i as u64) << 20, chunk).await;
    }
}

#[tokio::test]
async fn objects_and_files_are_the_same_bytes_over_s3_and_nfs() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();

    // S3 -> NFS, in directories the PUT creates, and an empty object.
    let from_s3 = Rng(0x5eed_0006).bytes((3 << 20) + 5);
    let src = tmp.path().join("from-s3.bin");
    std::fs::write(&src, &from_s3).expect("write source");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        path_arg(&src),
        "s3://export/interop/deep/from-s3.bin",
    ]);
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, b"").expect("write empty");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        path_arg(&empty),
        "s3://export/interop/empty",
    ]);

    let fh = lookup_path(&mut c, &root, "interop/deep/from-s3.bin").await;
    assert_eq!(
        getattr(&mut c, &fh).await.size,
        from_s3.len() as u64,
        "size over NFS"
    );
    assert_same_bytes(
        &read_all(&mut c, &fh).await,
        &from_s3,
        "S3 object read over NFS",
    );
    let fh = lookup_path(&mut c, &root, "interop/empty").await;
    assert_eq!(getattr(&mut c, &fh).await.size, 0, "empty object over NFS");

    // NFS -> S3.
    let from_nfs = Rng(0x5eed_0007).bytes((2 << 20) + 333);
    let dir = mkdir(&mut c, &root, "nfs-dir").await;
    nfs_write_file(&mut c, &dir, "from-nfs.bin", &from_nfs).await;
    let head = aws.json(&[
        "s3api",
        "head-object",
        "--bucket",
        "export",
        "--key",
        "nfs-dir/from-nfs.bin",
    ]);
    assert_eq!(head["ContentLength"], json!(from_nfs.len()), "{head}");
    let back = tmp.path().join("from-nfs.bin");
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        "s3://export/nfs-dir/from-nfs.bin",
        path_arg(&back),
    ]);
    assert_same_bytes(
        &std::fs::read(&back).expect("read"),
        &from_nfs,
        "NFS file read over S3",
    );
    assert_eq!(
        ls_recursive(&aws, "export", "nfs-dir/"),
        BTreeMap::from([("from-nfs.bin".to_string(), from_nfs.len() as u64)])
    );

    // An NFS overwrite of an S3 object is what the next GET returns.
    let fh = lookup_path(&mut c, &root, "interop/deep/from-s3.bin").await;
    let patch = Rng(0x5eed_0008).bytes(4096);
    write(&mut c, &fh, 1 << 20, &patch).await;
    let mut patched = from_s3.clone();
    patched[1 << 20..(1 << 20) + 4096].copy_from_slice(&patch);
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        "s3://export/interop/deep/from-s3.bin",
        path_arg(&back),
    ]);
    assert_same_bytes(
        &std::fs::read(&back).expect("read"),
        &patched,
        "GET after NFS write",
    );

    // A bucket made over S3 is a share NFS mounts, both ways.
    aws.ok(&["s3", "mb", "s3://fresh-bucket"]);
    aws.ok(&[
        "s3",
        "cp",
        "--no-progress",
        path_arg(&src),
        "s3://fresh-bucket/in/obj.bin",
    ]);
    let mut f = harness::mount_as(&server, "/fresh-bucket", auth_sys(0, 0, &[])).await;
    let froot = f.root_nfs_fh3();
    let fh = lookup_path(&mut f, &froot, "in/obj.bin").await;
    assert_same_bytes(
        &read_all(&mut f, &fh).await,
        &from_s3,
        "new bucket over NFS",
    );
    nfs_write_file(&mut f, &froot, "by-nfs.bin", &from_nfs).await;
    let listed = ls_recursive(&aws, "fresh-bucket", "");
    assert_eq!(
        listed,
        BTreeMap::from([
            ("by-nfs.bin".to_string(), from_nfs.len() as u64),
            ("in/obj.bin".to_string(), from_s3.len() as u64),
        ])
    );
}

#[test]
fn errors_name_the_problem() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);

    let wrong_secret = Aws::with_keys(&server, "main-key", "not-the-secret");
    expect_error(
        &wrong_secret,
        "list_objects_v2",
        json!({"Bucket": "export"}),
        403,
        "SignatureDoesNotMatch",
    );
    let err = wrong_secret.fails(&["s3", "ls", "s3://export/"]);
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");

    let unknown = Aws::with_keys(&server, "no-such-key", "main-secret");
    expect_error(
        &unknown,
        "list_objects_v2",
        json!({"Bucket": "export"}),
        403,
        "InvalidAccessKeyId",
    );
    let err = unknown.fails(&["s3", "ls", "s3://export/"]);
    assert!(err.contains("InvalidAccessKeyId"), "{err}");

    // alt-key has default_access none: it may not read a bucket it did not
    // create.
    let alt = Aws::with_keys(&server, "alt-key", "alt-secret");
    expect_error(
        &alt,
        "list_objects_v2",
        json!({"Bucket": "export"}),
        403,
        "AccessDenied",
    );

    expect_error(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "no/such/key"}),
        404,
        "NoSuchKey",
    );
    let err = aws.fails(&[
        "s3api",
        "get-object",
        "--bucket",
        "export",
        "--key",
        "missing",
        "/dev/null",
    ]);
    assert!(err.contains("NoSuchKey"), "{err}");
    expect_error(
        &aws,
        "get_object",
        json!({"Bucket": "no-such-bucket", "Key": "k"}),
        404,
        "NoSuchBucket",
    );

    expect_ok(&aws, "create_bucket", json!({"Bucket": "full-bucket"}));
    expect_ok(
        &aws,
        "put_object",
        json!({"Bucket": "full-bucket", "Key": "dir/k", "Body": "x"}),
    );
    expect_error(
        &aws,
        "delete_bucket",
        json!({"Bucket": "full-bucket"}),
        409,
        "BucketNotEmpty",
    );
    let err = aws.fails(&["s3", "rb", "s3://full-bucket"]);
    assert!(err.contains("BucketNotEmpty"), "{err}");
    expect_ok(
        &aws,
        "delete_object",
        json!({"Bucket": "full-bucket", "Key": "dir/k"}),
    );
    expect_ok(&aws, "delete_bucket", json!({"Bucket": "full-bucket"}));
    expect_error(
        &aws,
        "head_bucket",
        json!({"Bucket": "full-bucket"}),
        404,
        "404",
    );
}

/// Empty and non-empty PUTs, one after the other on one kept-alive
/// connection, as awscli sends them (file bodies, so `Expect:
/// 100-continue`); each must be answered within seconds, not after a
/// client read timeout and retry.
const EMPTY_THEN_FULL: &str = r#"
import io, os, time
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["DITTOFS_S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(read_timeout=5, retries={"max_attempts": 0}, max_pool_connections=1))
for i, size in enumerate([0, 100, 0, 0, 5000, 100]):
    t = time.time()
    s3.put_object(Bucket="export", Key="seq/%d" % i, Body=io.BytesIO(os.urandom(size)))
    assert time.time() - t < 4, (i, size, time.time() - t)
    got = s3.get_object(Bucket="export", Key="seq/%d" % i)["Body"].read()
    assert len(got) == size, (i, size, len(got))
print("ok")
"#;

#[test]
fn empty_puts_leave_the_connection_usable() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    assert_eq!(aws.python(EMPTY_THEN_FULL, &[]).trim(), "ok");
}
