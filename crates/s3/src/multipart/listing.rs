//! ListParts and ListMultipartUploads.

use bytes::Bytes;
use dittofs_runtime::config::S3Access;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::complete::parts;
use super::{MAX_LISTED, UPLOAD_XATTR, Upload, find};
use crate::error::{About, fs};
use crate::info::{self, ObjectInfo};
use crate::service::Gateway;
use crate::staging::{self, UPLOADS};

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
