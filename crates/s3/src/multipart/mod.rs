//! Multipart uploads. An upload is a directory under the bucket's hidden
//! `.dittofs-s3/uploads/`, named by its id and carrying the key and the
//! object's headers; each part is a file in it. Completing points one new
//! file at the parts' blocks (no data is copied) and renames it over the
//! key, so the object appears whole or not at all.

mod complete;
mod listing;
mod parts;

use std::sync::Arc;

use bytes::Bytes;
use dittofs_meta::{FileHandle, FsError, Timestamp};
use dittofs_runtime::Share;
use dittofs_runtime::config::S3Access;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use crate::error::{About, fs};
use crate::info::Headers;
use crate::keys;
use crate::objects::{headers_of, sync};
use crate::service::{Caller, Gateway, handle, xattr_name};
use crate::staging::{self, UPLOADS, random_id};
use crate::tree::child;

pub(crate) use complete::complete;
pub(crate) use listing::{list_parts, list_uploads};
pub(crate) use parts::{upload_part, upload_part_copy};

/// On an upload's directory: what the upload is for.
pub(super) const UPLOAD_XATTR: &[u8] = b"dittofs.s3.upload";
pub(super) const MIN_PART: u64 = 5 << 20;
pub(super) const MAX_PART_NUMBER: i32 = 10_000;
pub(super) const MAX_LISTED: i32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Upload {
    pub(super) key: String,
    pub(super) initiated: i64,
    #[serde(default)]
    pub(super) headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) initiator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) checksum_algorithm: Option<String>,
}

pub(super) fn part_name(n: i32) -> String {
    format!("{n:05}")
}

pub(super) fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn no_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

pub(super) struct Found {
    pub(super) share: Arc<Share>,
    pub(super) root: FileHandle,
    pub(super) area: FileHandle,
    pub(super) dir: FileHandle,
    pub(super) upload: Upload,
}

/// The upload `id` of `key`.
pub(super) async fn find(
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

pub(super) fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
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
