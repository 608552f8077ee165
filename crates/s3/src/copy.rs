//! CopyObject, and the byte copying UploadPartCopy shares with it. Within
//! one share a copy points the new file at the same blocks (no data moves);
//! across shares the bytes are read and written.

use std::ops::Range;

use dittofs_meta::FileHandle;
use dittofs_runtime::Share;
use dittofs_runtime::config::S3Access;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::body;
use crate::conditions::{Conditions, Current};
use crate::error::{About, fs};
use crate::info::{self, ObjectInfo};
use crate::keys;
use crate::objects::{existing, headers_of, publish};
use crate::service::{Caller, Gateway, handle};
use crate::staging;

/// Bytes per read when copying between shares.
const COPY_CHUNK: u32 = 1 << 20;

/// The bucket and key of `x-amz-copy-source`.
pub(crate) fn source(cs: &CopySource) -> S3Result<(String, String)> {
    match cs {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            if version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(s3_error!(NoSuchVersion, "this server keeps no versions"));
            }
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(s3_error!(NotImplemented, "access points are not supported")),
    }
}

/// Makes `dst` at `dst_offset` hold `range` of `src`.
pub(crate) async fn copy_bytes(
    caller: &Caller,
    src_share: &Share,
    src: &FileHandle,
    range: Range<u64>,
    dst_share: &Share,
    dst: &FileHandle,
    dst_offset: u64,
) -> S3Result<()> {
    if src_share.id == dst_share.id {
        dst_share
            .meta
            .clone_range(
                &caller.ctx,
                src,
                range.start,
                range.end - range.start,
                dst,
                dst_offset,
            )
            .await
            .map_err(|e| fs(e, About::Object))?;
        return Ok(());
    }
    let mut at = range.start;
    while at < range.end {
        let want = (range.end - at).min(COPY_CHUNK as u64) as u32;
        let r = src_share
            .content
            .read(&caller.ctx, src, at, want)
            .await
            .map_err(|e| fs(e, About::Object))?;
        if r.data.is_empty() {
            return Err(s3_error!(
                InternalError,
                "the source became shorter during the copy"
            ));
        }
        let n = r.data.len() as u64;
        body::write(
            dst_share,
            caller,
            dst,
            dst_offset + (at - range.start),
            r.data,
        )
        .await?;
        at += n;
    }
    Ok(())
}

pub(crate) async fn copy(
    gw: &Gateway,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let (src_bucket, src_key) = source(&i.copy_source)?;
    let src_share = gw.bucket_for(&src_bucket, &caller, S3Access::Read).await?;
    let dst_share = gw.bucket_for(&i.bucket, &caller, S3Access::Write).await?;
    let src_path = keys::parse(&src_key)?;
    let src_root = gw.root(&src_share).await?;
    let src = existing(&src_share, &caller, &src_root, &src_path).await?;
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
    let replace = i
        .metadata_directive
        .as_ref()
        .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
    if src_share.id == dst_share.id && src_key == i.key && !replace {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let dst_path = keys::parse(&i.key)?;
    if src.is_dir() || dst_path.is_dir() {
        return Err(s3_error!(
            InvalidRequest,
            "directory objects (keys ending in \"/\") cannot be copied"
        ));
    }
    let headers = if replace {
        headers_of(
            i.content_type,
            i.cache_control,
            i.content_disposition,
            i.content_encoding,
            i.content_language,
            i.expires.as_ref(),
            i.metadata,
        )
    } else {
        src_info.headers.clone()
    };
    let dst_root = gw.root(&dst_share).await?;
    let temp = staging::create_temp(&dst_share, &caller, &dst_root)
        .await
        .map_err(|e| fs(e, About::Object))?;
    let src_fh = handle(&src_share, &src);
    let done = async {
        copy_bytes(
            &caller,
            &src_share,
            &src_fh,
            0..src.size,
            &dst_share,
            &temp.file,
            0,
        )
        .await?;
        let info = ObjectInfo {
            headers,
            ..src_info
        };
        publish(
            &dst_share, &caller, &dst_root, &i.key, &dst_path, &temp, info,
        )
        .await
    }
    .await;
    let info = match done {
        Ok(i) => i,
        Err(e) => {
            temp.discard(&dst_share, &caller).await;
            return Err(e);
        }
    };
    let mtime = dittofs_meta::Timestamp {
        secs: info.mtime.0,
        nanos: info.mtime.1,
    };
    let c = info.checksums;
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(info.etag)),
            last_modified: Some(info::s3_time(mtime)),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_crc64nvme: c.crc64nvme,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
            checksum_type: c.kind.map(ChecksumType::from),
        }),
        ..CopyObjectOutput::default()
    }))
}
