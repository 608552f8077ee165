//! DELETE of one object or many. Deleting what is not there succeeds, as in
//! S3; directories a delete leaves empty go too, so no phantom prefixes
//! linger in listings.

use bytes::Bytes;
use dittofs_meta::{FileHandle, FileKind, FsError};
use dittofs_runtime::Share;
use dittofs_runtime::config::S3Access;
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result};

use crate::conditions::Conditions;
use crate::error::{About, fs};
use crate::info::{DIR_OBJECT_XATTR, OBJECT_XATTR};
use crate::keys;
use crate::objects::check_write_against;
use crate::objects::sync;
use crate::service::{Caller, Gateway, xattr_name};
use crate::tree;

/// At most this many keys in one DeleteObjects request, as in S3.
const MAX_DELETE: usize = 1000;

async fn delete_key(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    key: &str,
    if_match: Option<ETagCondition>,
) -> S3Result<()> {
    // A key that cannot be a path names no object.
    let Ok(path) = keys::parse(key) else {
        return Ok(());
    };
    let found = tree::find_object(share, caller, root, &path.dirs, path.leaf)
        .await
        .map_err(|e| fs(e, About::Object))?;
    if if_match.is_some() {
        let conditions = Conditions {
            if_match,
            ..Conditions::default()
        };
        check_write_against(&conditions, found.as_ref())?;
    }
    let Some(inode) = found else {
        return Ok(());
    };
    let Some((dir, _)) = tree::find_dir(share, caller, root, &path.dirs)
        .await
        .map_err(|e| fs(e, About::Object))?
    else {
        return Ok(());
    };
    match (path.leaf, inode.kind) {
        (Some(name), FileKind::Regular) => {
            match share.meta.remove(&caller.ctx, &dir, name.as_bytes()).await {
                Ok(_) | Err(FsError::NotFound) => {}
                Err(e) => return Err(fs(e, About::Object)),
            }
        }
        (None, FileKind::Directory) => {
            let unmark: [(Bytes, Option<Bytes>); 2] = [
                (xattr_name(DIR_OBJECT_XATTR), None),
                (xattr_name(OBJECT_XATTR), None),
            ];
            share
                .meta
                .set_xattrs(&caller.ctx, &dir, &unmark)
                .await
                .map_err(|e| fs(e, About::Object))?;
        }
        _ => return Ok(()),
    }
    tree::prune(share, caller, root, &path.dirs).await;
    sync(share).await
}

pub(crate) async fn delete(
    gw: &Gateway,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let share = gw.bucket_for(&i.bucket, &caller, S3Access::Write).await?;
    let root = gw.root(&share).await?;
    delete_key(&share, &caller, &root, &i.key, i.if_match).await?;
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

pub(crate) async fn delete_many(
    gw: &Gateway,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let share = gw.bucket_for(&i.bucket, &caller, S3Access::Write).await?;
    if i.delete.objects.len() > MAX_DELETE {
        return Err(s3s::s3_error!(
            MalformedXML,
            "at most {MAX_DELETE} keys may be deleted in one request"
        ));
    }
    let root = gw.root(&share).await?;
    let quiet = i.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for o in i.delete.objects {
        match delete_key(&share, &caller, &root, &o.key, None).await {
            Ok(()) if quiet => {}
            Ok(()) => deleted.push(DeletedObject {
                key: Some(o.key),
                ..DeletedObject::default()
            }),
            Err(e) => errors.push(error_entry(o.key, &e)),
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..DeleteObjectsOutput::default()
    }))
}

fn error_entry(key: String, e: &S3Error) -> Error {
    Error {
        code: Some(e.code().as_str().to_owned()),
        key: Some(key),
        message: e.message().map(str::to_owned),
        ..Error::default()
    }
}
