//! PUT, GET and HEAD of objects. A PUT's body goes straight into the
//! stores (blocks, or inline for a small object) and becomes a file at the
//! key's path in one metadata transaction, so a reader (over S3 or NFS)
//! sees the old object or the new one, never part.

use std::sync::Arc;

use bytes::Bytes;
use dittofs_content::DirectContent;
use dittofs_meta::{FileHandle, FsError, Inode};
use dittofs_runtime::Share;
use dittofs_runtime::config::S3Access;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::body::{self, Expected};
use crate::conditions::{Conditions, Current};
use crate::error::{About, conflict, fs};
use crate::info::{
    self, Checksums, DIR_OBJECT_XATTR, EMPTY_MD5, Headers, OBJECT_XATTR, ObjectInfo,
};
use crate::keys::{self, ObjectPath};
use crate::service::{Caller, Gateway, handle, xattr_name};
use crate::staging::Temp;
use crate::tree;

/// The largest object one PUT (or one part) may carry.
pub(crate) const MAX_PUT: u64 = 5 << 30;

/// The object at `key`, or `NoSuchKey`.
pub(crate) async fn existing(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    path: &ObjectPath<'_>,
) -> S3Result<Inode> {
    tree::find_object(share, caller, root, &path.dirs, path.leaf)
        .await
        .map_err(|e| fs(e, About::Object))?
        .ok_or_else(|| s3_error!(NoSuchKey))
}

pub(crate) fn headers_of(
    content_type: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    expires: Option<&Timestamp>,
    metadata: Option<Metadata>,
) -> Headers {
    Headers {
        content_type,
        cache_control,
        content_disposition,
        content_encoding,
        content_language,
        expires: expires.map(info::epoch_secs),
        meta: metadata.unwrap_or_default().into_iter().collect(),
    }
}

/// The directory of a key's path, made when missing.
async fn key_dir(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    key: &str,
    path: &ObjectPath<'_>,
) -> S3Result<FileHandle> {
    match tree::make_dirs(share, caller, root, &path.dirs).await {
        Ok(dir) => Ok(dir),
        Err(FsError::NotDir | FsError::Exists) => {
            Err(conflict(key, "an object is where a directory must be"))
        }
        Err(e) => Err(fs(e, About::Object)),
    }
}

/// What an object write puts at its key's name.
enum Link<'a> {
    /// A filled temporary file, renamed over the name with its record.
    Rename {
        temp: &'a Temp,
        record: &'a [(Bytes, Option<Bytes>)],
    },
    /// Content received whole, made a new file at the name.
    New {
        content: &'a mut DirectContent,
        mtime: dittofs_meta::Timestamp,
        record: &'a [(Bytes, Bytes)],
    },
}

impl Link<'_> {
    /// One transaction: the object's record and its name land together.
    async fn at(
        &mut self,
        share: &Share,
        caller: &Caller,
        dir: &FileHandle,
        leaf: &str,
    ) -> Result<(), FsError> {
        match self {
            Link::Rename { temp, record } => share
                .meta
                .publish(
                    &caller.ctx,
                    &temp.file,
                    record,
                    &temp.dir,
                    temp.name.as_bytes(),
                    dir,
                    leaf.as_bytes(),
                )
                .await
                .map(drop),
            Link::New {
                content,
                mtime,
                record,
            } => share
                .content
                .publish(&caller.ctx, content, dir, leaf.as_bytes(), *mtime, record)
                .await
                .map(drop),
        }
    }
}

/// Puts `link` at the key's path, making the directories it needs, then
/// syncs the metadata store. A directory removed by a concurrent delete
/// (of a sibling) in between is made again.
async fn link_at_key(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    key: &str,
    path: &ObjectPath<'_>,
    mut link: Link<'_>,
) -> S3Result<()> {
    let leaf = path.leaf.ok_or_else(|| s3_error!(InternalError))?;
    let mut tries = 0;
    loop {
        tries += 1;
        let dir = key_dir(share, caller, root, key, path).await?;
        match link.at(share, caller, &dir, leaf).await {
            Ok(()) => break,
            Err(FsError::IsDir | FsError::Exists | FsError::NotEmpty) => {
                return Err(conflict(key, "a directory of other objects has this name"));
            }
            Err(FsError::NotFound | FsError::Stale) if tries < 4 => {}
            Err(e) => return Err(fs(e, About::Object)),
        }
    }
    sync(share).await
}

/// Makes a filled temporary file stable, records `info` with it and moves
/// it to `path`, replacing what was there. Returns the object's info as
/// stored.
pub(crate) async fn publish(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    key: &str,
    path: &ObjectPath<'_>,
    temp: &Temp,
    mut info: ObjectInfo,
) -> S3Result<ObjectInfo> {
    // The data's sync; the metadata sync after the rename makes the file
    // durable.
    let attrs = share
        .content
        .commit_data(&caller.ctx, &temp.file)
        .await
        .map_err(|e| fs(e, About::Object))?;
    info.size = attrs.size;
    info.mtime = (attrs.mtime.secs, attrs.mtime.nanos);
    let record = [(xattr_name(OBJECT_XATTR), Some(info.to_xattr()))];
    let link = Link::Rename {
        temp,
        record: &record,
    };
    link_at_key(share, caller, root, key, path, link).await?;
    Ok(info)
}

/// Completes `info` for `content`, received whole and published now: its
/// size and time, and the record that goes with the file.
pub(crate) fn stamp(
    info: &mut ObjectInfo,
    content: &DirectContent,
) -> (dittofs_meta::Timestamp, [(Bytes, Bytes); 1]) {
    let mtime = dittofs_meta::Timestamp::now();
    info.size = content.size();
    info.mtime = (mtime.secs, mtime.nanos);
    (mtime, [(xattr_name(OBJECT_XATTR), info.to_xattr())])
}

/// Makes `content`, received whole, the object at `path` with `info`
/// recorded beside it, replacing what was there, in one transaction, and
/// syncs it. Returns the object's info as stored.
pub(crate) async fn publish_content(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    key: &str,
    path: &ObjectPath<'_>,
    mut content: DirectContent,
    mut info: ObjectInfo,
) -> S3Result<ObjectInfo> {
    let (mtime, record) = stamp(&mut info, &content);
    let link = Link::New {
        content: &mut content,
        mtime,
        record: &record,
    };
    link_at_key(share, caller, root, key, path, link).await?;
    Ok(info)
}

/// Checks a write's If-Match and If-None-Match against `found`, the object
/// at its key now, if there is one.
pub(crate) fn check_write_against(conditions: &Conditions, found: Option<&Inode>) -> S3Result<()> {
    let info = found.map(|i| (ObjectInfo::of(i).etag, i.mtime.secs));
    let cur = info.as_ref().map(|(etag, mtime_secs)| Current {
        etag,
        mtime_secs: *mtime_secs,
    });
    conditions.check_write(cur.as_ref())
}

/// [`check_write_against`] the object at `path`, looked up only when there
/// are conditions to check.
pub(crate) async fn check_write_conditions(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    path: &ObjectPath<'_>,
    conditions: &Conditions,
) -> S3Result<()> {
    if conditions.is_empty() {
        return Ok(());
    }
    let found = tree::find_object(share, caller, root, &path.dirs, path.leaf)
        .await
        .map_err(|e| fs(e, About::Object))?;
    check_write_against(conditions, found.as_ref())
}

/// Makes the namespace changes so far survive a crash of the machine, as
/// the share's durability asks.
pub(crate) async fn sync(share: &Share) -> S3Result<()> {
    share.content.sync_metadata().await.map_err(|e| {
        tracing::error!(error = %e, "metadata sync failed");
        s3_error!(InternalError)
    })
}

pub(crate) async fn put(
    gw: &Gateway,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let caller = gw.caller(&req);
    let trailers = req.trailing_headers.clone();
    let expected_headers = req.headers.clone();
    let input = req.input;
    let share = gw
        .bucket_for(&input.bucket, &caller, S3Access::Write)
        .await?;
    let path = keys::parse(&input.key)?;
    let root = gw.root(&share).await?;
    let conditions = Conditions {
        if_match: input.if_match.clone(),
        if_none_match: input.if_none_match.clone(),
        ..Conditions::default()
    };
    check_write_conditions(&share, &caller, &root, &path, &conditions).await?;
    let headers = headers_of(
        input.content_type,
        input.cache_control,
        input.content_disposition,
        input.content_encoding,
        input.content_language,
        input.expires.as_ref(),
        input.metadata,
    );
    let expected = Expected {
        length: input.content_length.and_then(|l| u64::try_from(l).ok()),
        md5: input.content_md5,
        checksums: Checksums {
            crc32: input.checksum_crc32,
            crc32c: input.checksum_crc32c,
            crc64nvme: input.checksum_crc64nvme,
            sha1: input.checksum_sha1,
            sha256: input.checksum_sha256,
            kind: None,
        },
        algorithms: Vec::new(),
    }
    .with_headers(&expected_headers)
    .with_algorithm(input.checksum_algorithm.as_ref());

    if path.is_dir() {
        let w = dir_object(
            &share, &caller, &root, &input.key, &path, input.body, &expected, headers,
        )
        .await?;
        return Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(w)),
            ..PutObjectOutput::default()
        }));
    }

    let writer = share.content.direct_writer(expected.length);
    let (w, content) = body::ingest(
        &caller,
        writer,
        input.body,
        &expected,
        trailers.as_ref(),
        MAX_PUT,
    )
    .await?;
    let info = ObjectInfo {
        etag: info::hex(&w.md5),
        headers,
        checksums: w.checksums,
        ..ObjectInfo::default()
    };
    let info = publish_content(&share, &caller, &root, &input.key, &path, content, info).await?;
    let c = info.checksums;
    Ok(S3Response::new(PutObjectOutput {
        e_tag: Some(ETag::Strong(info.etag)),
        checksum_crc32: c.crc32,
        checksum_crc32c: c.crc32c,
        checksum_crc64nvme: c.crc64nvme,
        checksum_sha1: c.sha1,
        checksum_sha256: c.sha256,
        checksum_type: c.kind.map(ChecksumType::from),
        size: i64::try_from(info.size).ok(),
        ..PutObjectOutput::default()
    }))
}

/// `a/b/`: the directory `a/b`, marked as an object. It holds no bytes, so
/// a body is refused.
#[allow(clippy::too_many_arguments)]
async fn dir_object(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    key: &str,
    path: &ObjectPath<'_>,
    body: Option<StreamingBlob>,
    expected: &Expected,
    headers: Headers,
) -> S3Result<String> {
    use futures::StreamExt;
    if expected.length.is_some_and(|l| l > 0) {
        return Err(conflict(
            key,
            "a key ending in \"/\" is a directory and holds no data",
        ));
    }
    if let Some(mut b) = body {
        while let Some(chunk) = b.next().await {
            let chunk = chunk.map_err(|_| s3_error!(IncompleteBody))?;
            if !chunk.is_empty() {
                return Err(conflict(
                    key,
                    "a key ending in \"/\" is a directory and holds no data",
                ));
            }
        }
    }
    let dir = key_dir(share, caller, root, key, path).await?;
    let info = ObjectInfo {
        etag: EMPTY_MD5.into(),
        headers,
        ..ObjectInfo::default()
    };
    share
        .meta
        .set_xattrs(
            &caller.ctx,
            &dir,
            &[
                (xattr_name(DIR_OBJECT_XATTR), Some(Bytes::from_static(b"1"))),
                (xattr_name(OBJECT_XATTR), Some(info.to_xattr())),
            ],
        )
        .await
        .map_err(|e| fs(e, About::Object))?;
    sync(share).await?;
    Ok(info.etag)
}

/// What a GET or HEAD answers with, before the body.
struct Plan {
    inode: Inode,
    info: ObjectInfo,
    range: Option<std::ops::Range<u64>>,
    part_count: Option<i32>,
}

#[allow(clippy::too_many_arguments)]
async fn plan(
    gw: &Gateway,
    caller: &Caller,
    bucket: &str,
    key: &str,
    conditions: Conditions,
    range: Option<&Range>,
    part_number: Option<i32>,
) -> S3Result<(Arc<Share>, FileHandle, Plan)> {
    let share = gw.bucket_for(bucket, caller, S3Access::Read).await?;
    let path = keys::parse(key)?;
    let root = gw.root(&share).await?;
    let inode = existing(&share, caller, &root, &path).await?;
    let info = ObjectInfo::of(&inode);
    conditions.check_read(&Current {
        etag: &info.etag,
        mtime_secs: inode.mtime.secs,
    })?;
    let size = if inode.is_dir() { 0 } else { inode.size };
    let mut part_count = None;
    let range = match (range, part_number) {
        (Some(_), Some(_)) => {
            return Err(s3_error!(
                InvalidRequest,
                "Range and partNumber cannot both be given"
            ));
        }
        (Some(r), None) => Some(
            r.check(size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?,
        ),
        (None, Some(n)) => {
            let sizes = if info.part_sizes.is_empty() {
                vec![size]
            } else {
                info.part_sizes.clone()
            };
            let idx = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .filter(|i| *i < sizes.len())
                .ok_or_else(|| {
                    let mut e = s3s::S3Error::with_message(
                        s3s::S3ErrorCode::Custom("InvalidPartNumber".into()),
                        "The requested partnumber is not satisfiable",
                    );
                    e.set_status_code(hyper::StatusCode::RANGE_NOT_SATISFIABLE);
                    e
                })?;
            let start: u64 = sizes[..idx].iter().sum();
            part_count = Some(sizes.len() as i32);
            if info.part_sizes.is_empty() {
                None
            } else {
                Some(start..start + sizes[idx])
            }
        }
        (None, None) => None,
    };
    let fh = handle(&share, &inode);
    Ok((
        share,
        fh,
        Plan {
            inode,
            info,
            range,
            part_count,
        },
    ))
}

fn content_range(r: &std::ops::Range<u64>, size: u64) -> String {
    format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), size)
}

/// The fields GET and HEAD answer alike, for an object as `plan` found it
/// and the request's `response-*` overrides.
macro_rules! object_answer {
    ($out:ident, $p:expr, $i:expr, $range:expr, $size:expr, $whole:expr) => {{
        let p = $p;
        let i = $i;
        let h = p.info.headers;
        let c = if $whole && i.checksum_mode.is_some() {
            p.info.checksums
        } else {
            Checksums::default()
        };
        $out {
            accept_ranges: Some("bytes".into()),
            content_length: Some(($range.end - $range.start) as i64),
            content_range: p.range.as_ref().map(|r| content_range(r, $size)),
            e_tag: Some(ETag::Strong(p.info.etag)),
            last_modified: Some(info::s3_time(p.inode.mtime)),
            content_type: i
                .response_content_type
                .or(h.content_type)
                .or_else(|| Some("binary/octet-stream".into())),
            cache_control: i.response_cache_control.or(h.cache_control),
            content_disposition: i.response_content_disposition.or(h.content_disposition),
            content_encoding: i.response_content_encoding.or(h.content_encoding),
            content_language: i.response_content_language.or(h.content_language),
            expires: i
                .response_expires
                .or_else(|| h.expires.and_then(info::from_epoch_secs)),
            metadata: (!h.meta.is_empty()).then(|| h.meta.into_iter().collect()),
            parts_count: p.part_count.or(p.info.parts.map(|n| n as i32)),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_crc64nvme: c.crc64nvme,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
            checksum_type: c.kind.map(ChecksumType::from),
            ..$out::default()
        }
    }};
}

pub(crate) async fn get(
    gw: &Gateway,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let conditions = Conditions {
        if_match: i.if_match.clone(),
        if_none_match: i.if_none_match.clone(),
        if_modified_since: i.if_modified_since.clone(),
        if_unmodified_since: i.if_unmodified_since.clone(),
    };
    let (share, fh, p) = plan(
        gw,
        &caller,
        &i.bucket,
        &i.key,
        conditions,
        i.range.as_ref(),
        i.part_number,
    )
    .await?;
    let size = if p.inode.is_dir() { 0 } else { p.inode.size };
    let span = p.range.clone().unwrap_or(0..size);
    let whole = p.range.is_none();
    let body = (!span.is_empty()).then(|| body::stream(share, caller, fh, span.clone()));
    let mut out = object_answer!(GetObjectOutput, p, i, span, size, whole);
    out.body = body;
    Ok(S3Response::new(out))
}

pub(crate) async fn head(
    gw: &Gateway,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let conditions = Conditions {
        if_match: i.if_match.clone(),
        if_none_match: i.if_none_match.clone(),
        if_modified_since: i.if_modified_since.clone(),
        if_unmodified_since: i.if_unmodified_since.clone(),
    };
    let (_, _, p) = plan(
        gw,
        &caller,
        &i.bucket,
        &i.key,
        conditions,
        i.range.as_ref(),
        i.part_number,
    )
    .await?;
    let size = if p.inode.is_dir() { 0 } else { p.inode.size };
    let span = p.range.clone().unwrap_or(0..size);
    let whole = p.range.is_none();
    Ok(S3Response::new(object_answer!(
        HeadObjectOutput,
        p,
        i,
        span,
        size,
        whole
    )))
}
