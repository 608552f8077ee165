//! Parts of an upload: UploadPart and UploadPartCopy, each a file named by
//! its number in the upload's directory. UploadPart's body goes straight
//! into the stores and becomes that file in one transaction, as a PUT's
//! does; UploadPartCopy fills a temporary file, makes it stable and
//! renames it to its number.

use dittofs_meta::{FileHandle, FileKind, Timestamp};
use dittofs_runtime::Share;
use dittofs_runtime::config::S3Access;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{Found, check_part_number, find, part_name};
use crate::body::{self, Expected};
use crate::conditions::{Conditions, Current};
use crate::copy::{copy_bytes, source};
use crate::error::{About, fs};
use crate::info::{self, Checksums, OBJECT_XATTR, ObjectInfo};
use crate::keys;
use crate::objects::{MAX_PUT, existing, stamp, sync};
use crate::service::{Caller, Gateway, handle, xattr_name};
use crate::staging::{create_in, random_id};

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
        // The part's record and its name land in one transaction.
        share
            .meta
            .publish(
                &caller.ctx,
                &temp.file,
                &[(xattr_name(OBJECT_XATTR), Some(info.to_xattr()))],
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
    let share = &f.share;
    let writer = share.content.direct_writer(expected.length);
    let (w, mut content) = body::ingest(
        &caller,
        writer,
        i.body,
        &expected,
        trailers.as_ref(),
        MAX_PUT,
    )
    .await?;
    let mut info = ObjectInfo {
        etag: info::hex(&w.md5),
        checksums: w.checksums,
        ..ObjectInfo::default()
    };
    let (mtime, record) = stamp(&mut info, &content);
    // A part sent again replaces the one before, in one step.
    share
        .content
        .publish(
            &caller.ctx,
            &mut content,
            &f.dir,
            part_name(i.part_number).as_bytes(),
            mtime,
            &record,
        )
        .await
        .map_err(|e| fs(e, About::Upload))?;
    sync(share).await?;
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
}
