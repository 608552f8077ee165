//! Multipart uploads. An upload is a directory under the bucket's hidden
//! `.dittofs-s3/uploads/`, named by its id and carrying the key and the
//! object's headers; each part is a file in it. Completing points one new
//! file at the parts' blocks (no data is copied) and renames it over the
//! key, so the object appears whole or not at all.

use std::sync::Arc;

use bytes::Bytes;
use dittofs_meta::{FileHandle, FileKind, FsError, Inode, Timestamp};
use dittofs_runtime::Share;
use dittofs_runtime::config::S3Access;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use crate::body::{self, Expected};
use crate::conditions::{Conditions, Current};
use crate::copy::{copy_bytes, source};
use crate::error::{About, fs};
use crate::info::{self, Checksums, Headers, OBJECT_XATTR, ObjectInfo};
use crate::keys;
use crate::objects::{self, MAX_PUT, existing, headers_of, publish, sync};
use crate::service::{Caller, Gateway, handle, xattr_name};
use crate::staging::{self, UPLOADS, create_in, random_id};
use crate::tree::child;

/// On an upload's directory: what the upload is for.
const UPLOAD_XATTR: &[u8] = b"dittofs.s3.upload";
const MIN_PART: u64 = 5 << 20;
const MAX_PART_NUMBER: i32 = 10_000;
const MAX_LISTED: i32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Upload {
    key: String,
    initiated: i64,
    #[serde(default)]
    headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initiator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum_algorithm: Option<String>,
}

fn part_name(n: i32) -> String {
    format!("{n:05}")
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn no_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

struct Found {
    share: Arc<Share>,
    root: FileHandle,
    area: FileHandle,
    dir: FileHandle,
    upload: Upload,
}

/// The upload `id` of `key`.
async fn find(
    gw: &Gateway,
    caller: &Caller,
    bucket: &str,
    key: &str,
    id: &str,
    need: S3Access,
) -> S3Result<Found> {
    let share = gw.bucket_for(bucket, caller, need).await?;
    let root = gw.root(&share).await?;
    if !valid_id(id) {
        return Err(no_upload());
    }
    let area = staging::area(&share, caller, &root, UPLOADS)
        .await
        .map_err(|e| fs(e, About::Upload))?;
    let dir = child(&share, caller, &area, id)
        .await
        .map_err(|e| fs(e, About::Upload))?
        .filter(|i| i.is_dir())
        .ok_or_else(no_upload)?;
    let upload: Upload = dir
        .xattrs
        .get(UPLOAD_XATTR)
        .and_then(|v| serde_json::from_slice(v).ok())
        .ok_or_else(no_upload)?;
    if upload.key != key {
        return Err(no_upload());
    }
    let dir = handle(&share, &dir);
    Ok(Found {
        share,
        root,
        area,
        dir,
        upload,
    })
}

pub(crate) async fn create(
    gw: &Gateway,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let share = gw.bucket_for(&i.bucket, &caller, S3Access::Write).await?;
    let path = keys::parse(&i.key)?;
    if path.is_dir() {
        return Err(s3_error!(
            InvalidRequest,
            "a key ending in \"/\" is a directory and holds no data"
        ));
    }
    let root = gw.root(&share).await?;
    let area = staging::area(&share, &caller, &root, UPLOADS)
        .await
        .map_err(|e| fs(e, About::Object))?;
    let upload = Upload {
        key: i.key.clone(),
        initiated: Timestamp::now().secs,
        headers: headers_of(
            i.content_type,
            i.cache_control,
            i.content_disposition,
            i.content_encoding,
            i.content_language,
            i.expires.as_ref(),
            i.metadata,
        ),
        initiator: caller.key.clone(),
        checksum_algorithm: i.checksum_algorithm.as_ref().map(|a| a.as_str().to_owned()),
    };
    let id = random_id();
    let attrs = dittofs_meta::SetAttrs {
        mode: Some(0o755),
        ..Default::default()
    };
    let made = share
        .meta
        .mkdir(&caller.ctx, &area, id.as_bytes(), attrs)
        .await
        .map_err(|e| fs(e, About::Object))?;
    let dir = handle(&share, &made.attrs);
    let value = Bytes::from(serde_json::to_vec(&upload).unwrap_or_default());
    share
        .meta
        .set_xattrs(
            &caller.ctx,
            &dir,
            &[(xattr_name(UPLOAD_XATTR), Some(value))],
        )
        .await
        .map_err(|e| fs(e, About::Object))?;
    sync(&share).await?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(i.bucket),
        key: Some(i.key),
        upload_id: Some(id),
        checksum_algorithm: i.checksum_algorithm,
        ..CreateMultipartUploadOutput::default()
    }))
}

fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

/// Writes a part with `fill`, then records it and puts it in place.
async fn store_part(
    f: &Found,
    caller: &Caller,
    n: i32,
    fill: impl AsyncFnOnce(&FileHandle) -> S3Result<(String, Checksums)>,
) -> S3Result<ObjectInfo> {
    let share = &f.share;
    let temp = create_in(
        share,
        caller,
        f.dir,
        format!("{}.{}.tmp", part_name(n), random_id()),
    )
    .await
    .map_err(|e| fs(e, About::Upload))?;
    let done = async {
        let (etag, checksums) = fill(&temp.file).await?;
        let attrs = share
            .content
            .commit_data(&caller.ctx, &temp.file)
            .await
            .map_err(|e| fs(e, About::Upload))?;
        let info = ObjectInfo {
            etag,
            size: attrs.size,
            mtime: (attrs.mtime.secs, attrs.mtime.nanos),
            checksums,
            ..ObjectInfo::default()
        };
        share
            .meta
            .set_xattrs(
                &caller.ctx,
                &temp.file,
                &[(xattr_name(OBJECT_XATTR), Some(info.to_xattr()))],
            )
            .await
            .map_err(|e| fs(e, About::Upload))?;
        share
            .meta
            .rename(
                &caller.ctx,
                &f.dir,
                temp.name.as_bytes(),
                &f.dir,
                part_name(n).as_bytes(),
            )
            .await
            .map_err(|e| fs(e, About::Upload))?;
        sync(share).await?;
        Ok(info)
    }
    .await;
    if done.is_err() {
        temp.discard(share, caller).await;
    }
    done
}

pub(crate) async fn upload_part(
    gw: &Gateway,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let caller = gw.caller(&req);
    let trailers = req.trailing_headers.clone();
    let headers = req.headers.clone();
    let i = req.input;
    check_part_number(i.part_number)?;
    let f = find(
        gw,
        &caller,
        &i.bucket,
        &i.key,
        &i.upload_id,
        S3Access::Write,
    )
    .await?;
    let expected = Expected {
        length: i.content_length.and_then(|l| u64::try_from(l).ok()),
        md5: i.content_md5,
        checksums: Checksums {
            crc32: i.checksum_crc32,
            crc32c: i.checksum_crc32c,
            crc64nvme: i.checksum_crc64nvme,
            sha1: i.checksum_sha1,
            sha256: i.checksum_sha256,
            kind: None,
        },
        algorithms: f.upload.checksum_algorithm.clone().into_iter().collect(),
    }
    .with_headers(&headers)
    .with_algorithm(i.checksum_algorithm.as_ref());
    let share = f.share.clone();
    let body = i.body;
    let info = store_part(&f, &caller, i.part_number, async |fh: &FileHandle| {
        let w = body::ingest(
            &share,
            &caller,
            fh,
            body,
            &expected,
            trailers.as_ref(),
            MAX_PUT,
        )
        .await?;
        Ok((info::hex(&w.md5), w.checksums))
    })
    .await?;
    let c = info.checksums;
    Ok(S3Response::new(UploadPartOutput {
        e_tag: Some(ETag::Strong(info.etag)),
        checksum_crc32: c.crc32,
        checksum_crc32c: c.crc32c,
        checksum_crc64nvme: c.crc64nvme,
        checksum_sha1: c.sha1,
        checksum_sha256: c.sha256,
        ..UploadPartOutput::default()
    }))
}

/// `bytes=first-last` of x-amz-copy-source-range, within `size`.
fn copy_range(r: Option<&str>, size: u64) -> S3Result<std::ops::Range<u64>> {
    let Some(r) = r else {
        return Ok(0..size);
    };
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (a, b) = r
        .strip_prefix("bytes=")
        .and_then(|s| s.split_once('-'))
        .ok_or_else(bad)?;
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    if first > last {
        return Err(bad());
    }
    if last >= size {
        return Err(s3_error!(
            InvalidRange,
            "The requested range is not satisfiable"
        ));
    }
    Ok(first..last + 1)
}

/// The MD5 of a range of a file, read through the content service.
async fn md5_of(
    share: &Share,
    caller: &Caller,
    fh: &FileHandle,
    range: std::ops::Range<u64>,
) -> S3Result<[u8; 16]> {
    let mut h = Md5::new();
    let mut at = range.start;
    while at < range.end {
        let want = (range.end - at).min(1 << 20) as u32;
        let r = share
            .content
            .read(&caller.ctx, fh, at, want)
            .await
            .map_err(|e| fs(e, About::Object))?;
        if r.data.is_empty() {
            break;
        }
        h.update(&r.data);
        at += r.data.len() as u64;
    }
    Ok(h.finalize())
}

pub(crate) async fn upload_part_copy(
    gw: &Gateway,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    check_part_number(i.part_number)?;
    let (src_bucket, src_key) = source(&i.copy_source)?;
    let src_share = gw.bucket_for(&src_bucket, &caller, S3Access::Read).await?;
    let f = find(
        gw,
        &caller,
        &i.bucket,
        &i.key,
        &i.upload_id,
        S3Access::Write,
    )
    .await?;
    let src_root = gw.root(&src_share).await?;
    let src_path = keys::parse(&src_key)?;
    let src = existing(&src_share, &caller, &src_root, &src_path).await?;
    if src.kind != FileKind::Regular {
        return Err(s3_error!(InvalidRequest, "the source is not a file object"));
    }
    let src_info = ObjectInfo::of(&src);
    Conditions {
        if_match: i.copy_source_if_match,
        if_none_match: i.copy_source_if_none_match,
        if_modified_since: i.copy_source_if_modified_since,
        if_unmodified_since: i.copy_source_if_unmodified_since,
    }
    .check_source(&Current {
        etag: &src_info.etag,
        mtime_secs: src.mtime.secs,
    })?;
    let range = copy_range(i.copy_source_range.as_deref(), src.size)?;
    let src_fh = handle(&src_share, &src);
    let whole_md5 =
        range == (0..src.size) && src_info.parts.is_none() && src.xattrs.contains_key(OBJECT_XATTR);
    let dst_share = f.share.clone();
    let info = store_part(&f, &caller, i.part_number, async |fh: &FileHandle| {
        copy_bytes(
            &caller,
            &src_share,
            &src_fh,
            range.clone(),
            &dst_share,
            fh,
            0,
        )
        .await?;
        let etag = if whole_md5 {
            src_info.etag.clone()
        } else {
            info::hex(&md5_of(&src_share, &caller, &src_fh, range.clone()).await?)
        };
        Ok((etag, Checksums::default()))
    })
    .await?;
    let mtime = Timestamp {
        secs: info.mtime.0,
        nanos: info.mtime.1,
    };
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(info.etag)),
            last_modified: Some(info::s3_time(mtime)),
            ..CopyPartResult::default()
        }),
        ..UploadPartCopyOutput::default()
    }))
}

/// The parts of an upload, in part order: (number, inode).
async fn parts(
    f: &Found,
    caller: &Caller,
    after: i32,
    limit: usize,
) -> S3Result<Vec<(i32, Inode)>> {
    let mut out = Vec::new();
    let mut cursor = Some(Bytes::from(part_name(after)));
    loop {
        let page = f
            .share
            .meta
            .list_names(&caller.ctx, &f.dir, cursor.as_deref(), 256)
            .await
            .map_err(|e| fs(e, About::Upload))?;
        let done = page.len() < 256;
        cursor = page.last().map(|(n, _)| n.clone());
        for (name, inode) in page {
            // Parts being written are "NNNNN.<id>.tmp".
            if name.len() != 5 || inode.kind != FileKind::Regular {
                continue;
            }
            if let Some(n) = std::str::from_utf8(&name).ok().and_then(|s| s.parse().ok()) {
                out.push((n, inode));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        if done {
            return Ok(out);
        }
    }
}

pub(crate) async fn complete(
    gw: &Gateway,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let f = find(
        gw,
        &caller,
        &i.bucket,
        &i.key,
        &i.upload_id,
        S3Access::Write,
    )
    .await?;
    let listed = i
        .multipart_upload
        .and_then(|m| m.parts)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| s3_error!(MalformedXML, "You must specify at least one part"))?;
    let path = keys::parse(&i.key)?;
    let conditions = Conditions {
        if_match: i.if_match,
        if_none_match: i.if_none_match,
        ..Conditions::default()
    };
    if !conditions.is_empty() {
        let found = crate::tree::find_object(&f.share, &caller, &f.root, &path.dirs, path.leaf)
            .await
            .map_err(|e| fs(e, About::Object))?;
        let found = found.map(|i| (ObjectInfo::of(&i).etag, i.mtime.secs));
        let cur = found.as_ref().map(|(etag, mtime_secs)| Current {
            etag,
            mtime_secs: *mtime_secs,
        });
        conditions.check_write(cur.as_ref())?;
    }
    let stored = parts(&f, &caller, 0, MAX_PART_NUMBER as usize).await?;
    let mut chosen = Vec::with_capacity(listed.len());
    let mut previous = 0;
    for (idx, p) in listed.iter().enumerate() {
        let n = p.part_number.ok_or_else(|| s3_error!(InvalidPart))?;
        if n <= previous {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number."
            ));
        }
        previous = n;
        let Some((_, inode)) = stored.iter().find(|(m, _)| *m == n) else {
            return Err(s3_error!(InvalidPart, "part {n} was not uploaded"));
        };
        let info = ObjectInfo::of(inode);
        if let Some(tag) = &p.e_tag
            && tag.value().trim_matches('"') != info.etag
        {
            return Err(s3_error!(InvalidPart, "part {n} has another ETag"));
        }
        if idx + 1 < listed.len() && inode.size < MIN_PART {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            ));
        }
        chosen.push((inode.clone(), info));
    }
    let temp = staging::create_temp(&f.share, &caller, &f.root)
        .await
        .map_err(|e| fs(e, About::Object))?;
    let done = async {
        let mut offset = 0;
        let mut md5s = Vec::with_capacity(chosen.len() * 16);
        let mut sizes = Vec::with_capacity(chosen.len());
        for (inode, info) in &chosen {
            let part = handle(&f.share, inode);
            copy_bytes(
                &caller,
                &f.share,
                &part,
                0..inode.size,
                &f.share,
                &temp.file,
                offset,
            )
            .await?;
            offset += inode.size;
            sizes.push(inode.size);
            let digest = decode_hex(&info.etag).ok_or_else(|| s3_error!(InternalError))?;
            md5s.extend_from_slice(&digest);
        }
        let info = ObjectInfo {
            etag: format!("{}-{}", info::hex(&Md5::checksum(&md5s)), chosen.len()),
            headers: f.upload.headers.clone(),
            parts: Some(chosen.len() as u32),
            part_sizes: sizes,
            ..ObjectInfo::default()
        };
        publish(&f.share, &caller, &f.root, &i.key, &path, &temp, info).await
    }
    .await;
    let info = match done {
        Ok(i) => i,
        Err(e) => {
            temp.discard(&f.share, &caller).await;
            return Err(e);
        }
    };
    let upload_id = i.upload_id.clone();
    if let Err(e) = staging::remove_tree(&f.share, &caller.ctx, &f.area, &upload_id).await {
        tracing::warn!(upload = %upload_id, error = %e, "completed upload's parts stay until the janitor runs");
    }
    let _ = objects::sync(&f.share).await;
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        bucket: Some(i.bucket.clone()),
        key: Some(i.key.clone()),
        e_tag: Some(ETag::Strong(info.etag)),
        location: Some(format!("/{}/{}", i.bucket, i.key)),
        ..CompleteMultipartUploadOutput::default()
    }))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) async fn abort(
    gw: &Gateway,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let f = find(
        gw,
        &caller,
        &i.bucket,
        &i.key,
        &i.upload_id,
        S3Access::Write,
    )
    .await?;
    match staging::remove_tree(&f.share, &caller.ctx, &f.area, &i.upload_id).await {
        Ok(()) | Err(FsError::NotFound) => {}
        Err(e) => return Err(fs(e, About::Upload)),
    }
    sync(&f.share).await?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub(crate) async fn list_parts(
    gw: &Gateway,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let f = find(gw, &caller, &i.bucket, &i.key, &i.upload_id, S3Access::Read).await?;
    let max = i.max_parts.unwrap_or(MAX_LISTED).clamp(0, MAX_LISTED);
    let marker = i.part_number_marker.unwrap_or(0).max(0);
    let mut found = parts(&f, &caller, marker, max as usize + 1).await?;
    let truncated = found.len() > max as usize;
    found.truncate(max as usize);
    let next = found.last().map(|(n, _)| *n);
    let listed = found
        .into_iter()
        .map(|(n, inode)| {
            let info = ObjectInfo::of(&inode);
            Part {
                part_number: Some(n),
                e_tag: Some(ETag::Strong(info.etag)),
                size: Some(inode.size as i64),
                last_modified: Some(info::s3_time(inode.mtime)),
                checksum_crc32: info.checksums.crc32,
                checksum_crc32c: info.checksums.crc32c,
                checksum_crc64nvme: info.checksums.crc64nvme,
                checksum_sha1: info.checksums.sha1,
                checksum_sha256: info.checksums.sha256,
            }
        })
        .collect();
    let who = f.upload.initiator.clone().map(|k| Initiator {
        id: Some(k.clone()),
        display_name: Some(k),
    });
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(i.bucket),
        key: Some(i.key),
        upload_id: Some(i.upload_id),
        max_parts: Some(max),
        part_number_marker: i.part_number_marker,
        next_part_number_marker: next,
        is_truncated: Some(truncated),
        parts: Some(listed),
        initiator: who,
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        checksum_algorithm: f.upload.checksum_algorithm.map(ChecksumAlgorithm::from),
        ..ListPartsOutput::default()
    }))
}

pub(crate) async fn list_uploads(
    gw: &Gateway,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let share = gw.bucket_for(&i.bucket, &caller, S3Access::Read).await?;
    let root = gw.root(&share).await?;
    let area = staging::area(&share, &caller, &root, UPLOADS)
        .await
        .map_err(|e| fs(e, About::Bucket))?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let mut all: Vec<(Upload, String)> = Vec::new();
    let mut after: Option<Bytes> = None;
    loop {
        let page = share
            .meta
            .list_names(&caller.ctx, &area, after.as_deref(), 512)
            .await
            .map_err(|e| fs(e, About::Bucket))?;
        let done = page.len() < 512;
        after = page.last().map(|(n, _)| n.clone());
        for (name, inode) in page {
            let Some(up) = inode
                .xattrs
                .get(UPLOAD_XATTR)
                .and_then(|v| serde_json::from_slice::<Upload>(v).ok())
            else {
                continue;
            };
            if up.key.starts_with(&prefix) {
                all.push((up, String::from_utf8_lossy(&name).into_owned()));
            }
        }
        if done {
            break;
        }
    }
    all.sort_by(|a, b| (&a.0.key, a.0.initiated, &a.1).cmp(&(&b.0.key, b.0.initiated, &b.1)));
    let key_marker = i.key_marker.clone().unwrap_or_default();
    let id_marker = i.upload_id_marker.clone();
    let max = i.max_uploads.unwrap_or(MAX_LISTED).clamp(0, MAX_LISTED) as usize;
    let delimiter = i.delimiter.clone().filter(|d| !d.is_empty());
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last: Option<(String, String)> = None;
    for (up, id) in all {
        if !key_marker.is_empty() {
            let past = match &id_marker {
                Some(m) => up.key > key_marker || (up.key == key_marker && id > *m),
                None => up.key > key_marker,
            };
            if !past {
                continue;
            }
        }
        let cp = delimiter.as_deref().and_then(|d| {
            up.key[prefix.len()..]
                .find(d)
                .map(|n| up.key[..prefix.len() + n + d.len()].to_owned())
        });
        if let Some(cp) = cp {
            if prefixes.last() == Some(&cp) {
                continue;
            }
            if uploads.len() + prefixes.len() == max {
                truncated = true;
                break;
            }
            last = Some((cp.clone(), String::new()));
            prefixes.push(cp);
            continue;
        }
        if uploads.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        last = Some((up.key.clone(), id.clone()));
        let who = up.initiator.clone().map(|k| Initiator {
            id: Some(k.clone()),
            display_name: Some(k),
        });
        uploads.push(MultipartUpload {
            key: Some(up.key),
            upload_id: Some(id),
            initiated: info::from_epoch_secs(up.initiated),
            initiator: who,
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            checksum_algorithm: up.checksum_algorithm.map(ChecksumAlgorithm::from),
            ..MultipartUpload::default()
        });
    }
    let (next_key, next_id) = match (truncated, last) {
        (true, Some((k, id))) => (Some(k), (!id.is_empty()).then_some(id)),
        _ => (None, None),
    };
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(i.bucket),
        prefix: i.prefix,
        delimiter: i.delimiter,
        key_marker: i.key_marker,
        upload_id_marker: i.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker: next_key,
        next_upload_id_marker: next_id,
        uploads: Some(uploads),
        common_prefixes: Some(
            prefixes
                .into_iter()
                .map(|p| CommonPrefix { prefix: Some(p) })
                .collect(),
        ),
        encoding_type: i.encoding_type,
        ..ListMultipartUploadsOutput::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges_are_checked() {
        assert_eq!(copy_range(None, 10).unwrap(), 0..10);
        assert_eq!(copy_range(Some("bytes=2-5"), 10).unwrap(), 2..6);
        assert!(copy_range(Some("bytes=5-2"), 10).is_err());
        assert!(copy_range(Some("bytes=0-10"), 10).is_err());
        assert!(copy_range(Some("2-5"), 10).is_err());
        assert!(copy_range(Some("bytes=a-5"), 10).is_err());
    }

    #[test]
    fn hex_round_trips() {
        let d = [0u8, 1, 0xab, 0xff];
        assert_eq!(decode_hex(&info::hex(&d)).unwrap(), d);
        assert!(decode_hex("abc").is_none());
        assert!(decode_hex("zz").is_none());
    }
}
