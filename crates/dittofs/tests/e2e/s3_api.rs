//! Parts of the S3 API that the s3tests list does not reach: bucket
//! location, ListParts, checksums in headers and trailers, and aws-chunked
//! bodies signed chunk by chunk (built by hand here, since boto3 sends them
//! only over TLS).

use serde_json::json;

use crate::harness::Server;
use crate::s3_support::{Aws, expect_error, expect_ok};

#[test]
fn bucket_location_and_list_parts() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let loc = expect_ok(&aws, "get_bucket_location", json!({"Bucket": "export"}));
    assert!(
        loc["LocationConstraint"].is_null(),
        "us-east-1 is the empty constraint: {loc}"
    );
    let up = expect_ok(
        &aws,
        "create_multipart_upload",
        json!({"Bucket": "export", "Key": "parts/obj"}),
    );
    let id = up["UploadId"].as_str().expect("upload id");
    let mut etags = Vec::new();
    for n in 1..=3 {
        let r = expect_ok(
            &aws,
            "upload_part",
            json!({"Bucket": "export", "Key": "parts/obj", "UploadId": id, "PartNumber": n, "Body": format!("part {n}")}),
        );
        etags.push(r["ETag"].as_str().expect("etag").to_string());
    }
    let page = expect_ok(
        &aws,
        "list_parts",
        json!({"Bucket": "export", "Key": "parts/obj", "UploadId": id, "MaxParts": 2}),
    );
    let parts = page["Parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2);
    assert_eq!(page["IsTruncated"], true);
    assert_eq!(parts[1]["ETag"], etags[1]);
    assert_eq!(parts[0]["Size"], 6);
    let rest = expect_ok(
        &aws,
        "list_parts",
        json!({"Bucket": "export", "Key": "parts/obj", "UploadId": id, "PartNumberMarker": page["NextPartNumberMarker"]}),
    );
    assert_eq!(rest["Parts"].as_array().map(Vec::len), Some(1), "{rest}");
    assert_eq!(rest["Parts"][0]["PartNumber"], 3);
    // The last part may be small, the others may not.
    expect_error(
        &aws,
        "complete_multipart_upload",
        json!({"Bucket": "export", "Key": "parts/obj", "UploadId": id, "MultipartUpload": {"Parts": [
            {"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": etags[1]}]}}),
        400,
        "EntityTooSmall",
    );
    expect_ok(
        &aws,
        "abort_multipart_upload",
        json!({"Bucket": "export", "Key": "parts/obj", "UploadId": id}),
    );
    expect_error(
        &aws,
        "list_parts",
        json!({"Bucket": "export", "Key": "parts/obj", "UploadId": id}),
        404,
        "NoSuchUpload",
    );
}

#[test]
fn checksum_headers_are_verified_and_returned() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    // hashlib/zlib values of b"hello checksums", base64.
    let body = "hello checksums";
    let r = expect_ok(
        &aws,
        "put_object",
        json!({"Bucket": "export", "Key": "sums/a", "Body": body, "ChecksumAlgorithm": "SHA256"}),
    );
    let sha = r["ChecksumSHA256"]
        .as_str()
        .expect("sha256 returned")
        .to_string();
    let got = expect_ok(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "sums/a", "ChecksumMode": "ENABLED"}),
    );
    assert_eq!(got["ChecksumSHA256"], sha.as_str());
    for (alg, wrong) in [
        ("ChecksumCRC32", "AAAAAA=="),
        ("ChecksumCRC32C", "AAAAAA=="),
        ("ChecksumSHA1", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        (
            "ChecksumSHA256",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ),
    ] {
        expect_error(
            &aws,
            "put_object",
            json!({"Bucket": "export", "Key": "sums/bad", "Body": body, alg: wrong}),
            400,
            "BadDigest",
        );
    }
    expect_error(
        &aws,
        "head_object",
        json!({"Bucket": "export", "Key": "sums/bad"}),
        404,
        "404",
    );
}

/// Sends aws-chunked PUTs by hand (argv: endpoint path prefix) and prints
/// one line per case: its HTTP status and the first 200 bytes of the reply.
/// Cases: chunks signed one by one (STREAMING-AWS4-HMAC-SHA256-PAYLOAD);
/// unsigned chunks with a CRC32 trailer, right and wrong.
const CHUNKED: &str = r#"
import base64, datetime, hashlib, hmac, http.client, os, sys, urllib.parse, zlib
host, port = urllib.parse.urlparse(os.environ["DITTOFS_S3_ENDPOINT"]).netloc.split(":")
ak, sk, region = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], "us-east-1"
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
scope = "%s/%s/s3/aws4_request" % (day, region)
def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
key = h(h(h(h(("AWS4" + sk).encode(), day), region), "s3"), "aws4_request")
def sha(b): return hashlib.sha256(b).hexdigest()
def seed(path, headers, payload):
    names = sorted(k.lower() for k in headers)
    canon = "PUT\n%s\n\n%s\n%s\n%s" % (path, "".join("%s:%s\n" % (n, headers[[k for k in headers if k.lower() == n][0]]) for n in names), ";".join(names), payload)
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz_date, scope, sha(canon.encode()))
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return sig, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (ak, scope, ";".join(names), sig)
def send(path, headers, body):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("PUT", path, body=body, headers=headers)
    r = c.getresponse()
    print(r.status, r.read()[:200])
data = os.urandom(200000)
pieces = [data[i:i + 65536] for i in range(0, len(data), 65536)] + [b""]
path = "/export/%s/signed" % sys.argv[1]
headers = {"Host": "%s:%s" % (host, port), "x-amz-date": amz_date, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
           "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
prev, auth = seed(path, headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
body = b""
for p in pieces:
    sts = "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s" % (amz_date, scope, prev, sha(b""), sha(p))
    prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    body += b"%x;chunk-signature=%s\r\n" % (len(p), prev.encode()) + p + b"\r\n"
headers["Authorization"] = auth
headers["Content-Length"] = str(len(body))
send(path, headers, body)
print("md5", hashlib.md5(data).hexdigest())
for name, crc in [("trailer", zlib.crc32(data)), ("badtrailer", zlib.crc32(data) ^ 1)]:
    path = "/export/%s/%s" % (sys.argv[1], name)
    headers = {"Host": "%s:%s" % (host, port), "x-amz-date": amz_date, "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)), "x-amz-trailer": "x-amz-checksum-crc32"}
    _, headers["Authorization"] = seed(path, headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    b64 = base64.b64encode(crc.to_bytes(4, "big")).decode()
    body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces[:-1]) + b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % b64.encode()
    headers["Content-Length"] = str(len(body))
    send(path, headers, body)
"#;

#[test]
fn aws_chunked_bodies_signed_and_with_trailers() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let out = aws.python(CHUNKED, &["chunked"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("200 "), "signed chunks: {out}");
    let md5 = lines[1].strip_prefix("md5 ").expect("md5 line");
    assert!(
        lines[2].starts_with("200 "),
        "unsigned chunks with a trailer: {out}"
    );
    assert!(
        lines[3].starts_with("400 ") && lines[3].contains("BadDigest"),
        "a wrong trailer checksum: {out}"
    );
    for key in ["chunked/signed", "chunked/trailer"] {
        let head = expect_ok(&aws, "head_object", json!({"Bucket": "export", "Key": key}));
        assert_eq!(head["ContentLength"], 200000, "{key}: {head}");
        assert_eq!(head["ETag"], format!("\"{md5}\""), "{key}: {head}");
    }
    expect_error(
        &aws,
        "head_object",
        json!({"Bucket": "export", "Key": "chunked/badtrailer"}),
        404,
        "404",
    );
}
