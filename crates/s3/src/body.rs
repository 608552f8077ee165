//! Object bodies in and out: a request body written into a file while its
//! MD5 and checksums are computed and checked against what the client
//! said, and a file read back as a stream, a few blocks ahead of the
//! client.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dittofs_content::{DirectContent, DirectWriter, Stability};
use dittofs_meta::{FileHandle, FsError};
use dittofs_runtime::Share;
use futures::{Stream, StreamExt};
use hyper::HeaderMap;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use s3s::dto::{ChecksumAlgorithm, StreamingBlob};
use s3s::{S3Error, S3ErrorCode, S3Result, TrailingHeaders, s3_error};

use crate::digest::BodyDigest;
use crate::error::{About, fs};
use crate::info::Checksums;
use crate::service::Caller;

/// Bytes read from the file for each piece of a response body.
const READ_CHUNK: u32 = 1 << 20;
/// How long a body waits, in all, for the server to take its data when
/// memory is full before the client is told to slow down.
const BUSY_PATIENCE: Duration = Duration::from_secs(60);

/// What the client said the body is.
#[derive(Debug, Default, Clone)]
pub(crate) struct Expected {
    pub length: Option<u64>,
    /// Content-MD5, base64.
    pub md5: Option<String>,
    /// x-amz-checksum-* values the headers carried, base64.
    pub checksums: Checksums,
    /// Algorithms to compute even without a value to check (the value may
    /// come in a trailer, or the client wants it stored).
    pub algorithms: Vec<String>,
}

impl Expected {
    /// Also computes the algorithms named in `x-amz-trailer` and
    /// `x-amz-sdk-checksum-algorithm`.
    pub fn with_headers(mut self, headers: &HeaderMap) -> Self {
        for name in ["x-amz-trailer", "x-amz-sdk-checksum-algorithm"] {
            for v in headers.get_all(name) {
                if let Ok(v) = v.to_str() {
                    for part in v.split(',') {
                        let part = part.trim().to_ascii_lowercase();
                        let alg = part.strip_prefix("x-amz-checksum-").unwrap_or(&part);
                        if !alg.is_empty() {
                            self.algorithms.push(alg.to_ascii_uppercase());
                        }
                    }
                }
            }
        }
        self
    }

    pub fn with_algorithm(mut self, alg: Option<&ChecksumAlgorithm>) -> Self {
        if let Some(a) = alg {
            self.algorithms.push(a.as_str().to_ascii_uppercase());
        }
        self
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub md5: [u8; 16],
    pub checksums: Checksums,
}

fn hasher_for(expected: &Expected) -> S3Result<ChecksumHasher> {
    let mut h = ChecksumHasher::default();
    let c = &expected.checksums;
    let wanted = |name: &str, given: bool| given || expected.algorithms.iter().any(|a| a == name);
    if wanted("CRC32", c.crc32.is_some()) {
        h.crc32 = Some(Crc32::new());
    }
    if wanted("CRC32C", c.crc32c.is_some()) {
        h.crc32c = Some(Crc32c::new());
    }
    if wanted("CRC64NVME", c.crc64nvme.is_some()) {
        h.crc64nvme = Some(Crc64Nvme::new());
    }
    if wanted("SHA1", c.sha1.is_some()) {
        h.sha1 = Some(Sha1::new());
    }
    if wanted("SHA256", c.sha256.is_some()) {
        h.sha256 = Some(Sha256::new());
    }
    for a in &expected.algorithms {
        if !matches!(
            a.as_str(),
            "CRC32" | "CRC32C" | "CRC64NVME" | "SHA1" | "SHA256"
        ) {
            return Err(s3_error!(
                InvalidArgument,
                "unknown checksum algorithm {a:?}"
            ));
        }
    }
    Ok(h)
}

fn body_error(e: s3s::StdError) -> S3Error {
    match e.downcast::<S3Error>() {
        Ok(s3) => *s3,
        Err(other) => s3_error!(IncompleteBody, "the request body ended early: {other}"),
    }
}

/// Writes `data` at `offset`, waiting while the server's write memory is
/// full rather than failing the upload at once.
pub(crate) async fn write(
    share: &Share,
    caller: &Caller,
    fh: &FileHandle,
    offset: u64,
    data: Bytes,
) -> S3Result<()> {
    let started = Instant::now();
    loop {
        match share
            .content
            .write(&caller.ctx, fh, offset, data.clone(), Stability::Unstable)
            .await
        {
            Ok(w) => {
                if let Some(m) = &caller.meter {
                    m.bytes_written(w.count as u64);
                }
                return Ok(());
            }
            Err(FsError::Busy) if started.elapsed() < BUSY_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(fs(e, About::Object)),
        }
    }
}

/// Appends `data` to a new object's content, waiting while the server's
/// write memory is full rather than failing the upload at once.
async fn append(writer: &mut DirectWriter, data: Bytes) -> S3Result<()> {
    let started = Instant::now();
    loop {
        match writer.append(data.clone()).await {
            Ok(()) => return Ok(()),
            Err(FsError::Busy) if started.elapsed() < BUSY_PATIENCE => {}
            Err(e) => return Err(fs(e, About::Object)),
        }
    }
}

/// Streams `body` into `writer` (a new object's content), then checks it
/// against `expected`. Nothing is a file until the content is published.
pub(crate) async fn ingest(
    caller: &Caller,
    mut writer: DirectWriter,
    body: Option<StreamingBlob>,
    expected: &Expected,
    trailers: Option<&TrailingHeaders>,
    max_size: u64,
) -> S3Result<(Written, DirectContent)> {
    if expected.length.is_some_and(|l| l > max_size) {
        return Err(s3_error!(EntityTooLarge));
    }
    let mut digest = BodyDigest::new(hasher_for(expected)?, expected.length);
    if let Some(mut body) = body {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(body_error)?;
            if writer.size() + chunk.len() as u64 > max_size {
                return Err(s3_error!(EntityTooLarge));
            }
            digest.update(&chunk).await?;
            let n = chunk.len() as u64;
            append(&mut writer, chunk).await?;
            if let Some(m) = &caller.meter {
                m.bytes_written(n);
            }
        }
    }
    let offset = writer.size();
    if let Some(l) = expected.length
        && l != offset
    {
        return Err(s3_error!(
            IncompleteBody,
            "the body was {offset} bytes, not the {l} its length said"
        ));
    }
    // The last block is stored while the hashes catch up.
    let (sums, content) = tokio::join!(digest.finish(), writer.finish());
    let content = content.map_err(|e| fs(e, About::Object))?;
    let (md5, sums) = sums?;
    let md5 = md5.finalize();
    if let Some(given) = &expected.md5 {
        let decoded = base64_simd::STANDARD
            .decode_to_vec(given.trim())
            .map_err(|_| s3_error!(InvalidDigest, "Content-MD5 is not base64"))?;
        if decoded.len() != 16 {
            return Err(s3_error!(InvalidDigest, "Content-MD5 is not 16 bytes"));
        }
        if decoded != md5 {
            return Err(s3_error!(
                BadDigest,
                "the body does not match its Content-MD5"
            ));
        }
    }
    let got = sums.finalize();
    let checksums = Checksums {
        crc32: got.checksum_crc32,
        crc32c: got.checksum_crc32c,
        crc64nvme: got.checksum_crc64nvme,
        sha1: got.checksum_sha1,
        sha256: got.checksum_sha256,
        kind: None,
    };
    let mut claimed = expected.checksums.clone();
    if let Some(t) = trailers.and_then(TrailingHeaders::take) {
        merge_trailers(&mut claimed, &t);
    }
    verify(&claimed, &checksums)?;
    let mut checksums = checksums;
    if !checksums.is_empty() {
        checksums.kind = Some("FULL_OBJECT".into());
    }
    Ok((Written { md5, checksums }, content))
}

fn merge_trailers(into: &mut Checksums, trailers: &HeaderMap) {
    let get = |name: &str| {
        trailers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
    };
    into.crc32 = into.crc32.take().or_else(|| get("x-amz-checksum-crc32"));
    into.crc32c = into.crc32c.take().or_else(|| get("x-amz-checksum-crc32c"));
    into.crc64nvme = into
        .crc64nvme
        .take()
        .or_else(|| get("x-amz-checksum-crc64nvme"));
    into.sha1 = into.sha1.take().or_else(|| get("x-amz-checksum-sha1"));
    into.sha256 = into.sha256.take().or_else(|| get("x-amz-checksum-sha256"));
}

/// Every checksum the client claimed must be the one computed.
fn verify(claimed: &Checksums, got: &Checksums) -> S3Result<()> {
    let pairs = [
        ("CRC32", &claimed.crc32, &got.crc32),
        ("CRC32C", &claimed.crc32c, &got.crc32c),
        ("CRC64NVME", &claimed.crc64nvme, &got.crc64nvme),
        ("SHA1", &claimed.sha1, &got.sha1),
        ("SHA256", &claimed.sha256, &got.sha256),
    ];
    for (name, c, g) in pairs {
        if let Some(c) = c
            && g.as_deref() != Some(c.as_str())
        {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                format!("the {name} checksum you specified did not match the calculated checksum"),
            ));
        }
    }
    Ok(())
}

/// A body of `range` of the file, read ahead of the client by a task that
/// stops when the client goes away.
pub(crate) fn stream(
    share: Arc<Share>,
    caller: Caller,
    fh: FileHandle,
    range: std::ops::Range<u64>,
) -> StreamingBlob {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let mut at = range.start;
        while at < range.end {
            let want = (range.end - at).min(READ_CHUNK as u64) as u32;
            let piece = match share.content.read(&caller.ctx, &fh, at, want).await {
                Ok(r) if r.data.is_empty() => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the object became shorter while it was read",
                )),
                Ok(r) => Ok(r.data),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let failed = piece.is_err();
            if let Ok(d) = &piece {
                at += d.len() as u64;
                if let Some(m) = &caller.meter {
                    m.bytes_read(d.len() as u64);
                }
            }
            if tx.send(piece).await.is_err() || failed {
                return;
            }
        }
    });
    StreamingBlob::wrap(Pieces(rx))
}

struct Pieces(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl Stream for Pieces {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_checksums_must_match() {
        let got = Checksums {
            crc32: Some("AAAAAA==".into()),
            ..Checksums::default()
        };
        assert!(verify(&Checksums::default(), &got).is_ok());
        assert!(verify(&got.clone(), &got).is_ok());
        let wrong = Checksums {
            crc32: Some("AAAAAB==".into()),
            ..Checksums::default()
        };
        assert_eq!(
            *verify(&wrong, &got).unwrap_err().code(),
            S3ErrorCode::BadDigest
        );
        let other = Checksums {
            sha256: Some("x".into()),
            ..Checksums::default()
        };
        assert!(verify(&other, &got).is_err(), "claimed but not computed");
    }

    #[test]
    fn algorithms_come_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-trailer", "x-amz-checksum-crc32c".parse().unwrap());
        let e = Expected::default().with_headers(&h);
        assert_eq!(e.algorithms, ["CRC32C"]);
        let hasher = hasher_for(&e).unwrap();
        assert!(hasher.crc32c.is_some() && hasher.crc32.is_none());
        let bad = Expected {
            algorithms: vec!["MD4".into()],
            ..Expected::default()
        };
        assert!(hasher_for(&bad).is_err());
    }
}
