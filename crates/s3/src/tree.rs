//! Walking a share's directories for a key: finding what a key names,
//! making the directories a key needs, and removing the ones a delete
//! leaves empty (S3 has no directories, so none may linger).

use dittofs_meta::{FileHandle, FileKind, FsError, FsResult, Inode, SetAttrs};
use dittofs_runtime::Share;

use crate::info::DIR_OBJECT_XATTR;
use crate::service::{Caller, handle};

/// The inode `name` names in `dir`, if any.
pub(crate) async fn child(
    share: &Share,
    caller: &Caller,
    dir: &FileHandle,
    name: &str,
) -> FsResult<Option<Inode>> {
    match share.meta.lookup(&caller.ctx, dir, name.as_bytes()).await {
        Ok((_, inode, _)) => Ok(Some(inode)),
        Err(FsError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The inode `name` names in the directory `dir` (attributes just read by
/// the previous step of a walk), if any.
async fn child_in(
    share: &Share,
    caller: &Caller,
    dir: &Inode,
    name: &str,
) -> FsResult<Option<Inode>> {
    match share
        .meta
        .lookup_in(&caller.ctx, dir, name.as_bytes())
        .await
    {
        Ok(inode) => Ok(Some(inode)),
        Err(FsError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The directory at `dirs` below `root`; `None` if any part is missing or
/// not a directory.
pub(crate) async fn find_dir(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    dirs: &[&str],
) -> FsResult<Option<(FileHandle, Inode)>> {
    let mut at = *root;
    let mut inode = share.meta.getattr(&caller.ctx, root).await?;
    for d in dirs {
        match child_in(share, caller, &inode, d).await? {
            Some(i) if i.kind == FileKind::Directory => {
                at = handle(share, &i);
                inode = i;
            }
            _ => return Ok(None),
        }
    }
    Ok(Some((at, inode)))
}

/// What a key names: a regular file, or a directory created as an object.
pub(crate) async fn find_object(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    dirs: &[&str],
    leaf: Option<&str>,
) -> FsResult<Option<Inode>> {
    let Some((dir, dir_inode)) = find_dir(share, caller, root, dirs).await? else {
        return Ok(None);
    };
    match leaf {
        Some(name) => Ok(child(share, caller, &dir, name)
            .await?
            .filter(|i| i.kind == FileKind::Regular)),
        None => Ok(
            (!dirs.is_empty() && dir_inode.xattrs.contains_key(DIR_OBJECT_XATTR))
                .then_some(dir_inode),
        ),
    }
}

/// Makes the directories `dirs` below `root` (those missing), as the
/// caller. `NotDir` if a file is in the way.
pub(crate) async fn make_dirs(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    dirs: &[&str],
) -> FsResult<FileHandle> {
    if dirs.is_empty() {
        return Ok(*root);
    }
    let mut at = *root;
    let mut dir = share.meta.getattr(&caller.ctx, root).await?;
    for d in dirs {
        let found = match child_in(share, caller, &dir, d).await? {
            Some(i) => i,
            None => {
                let attrs = SetAttrs {
                    mode: Some(0o755),
                    ..SetAttrs::default()
                };
                match share
                    .meta
                    .mkdir(&caller.ctx, &at, d.as_bytes(), attrs)
                    .await
                {
                    Ok(c) => c.attrs,
                    // Made by a concurrent request meanwhile.
                    Err(FsError::Exists) => child_in(share, caller, &dir, d)
                        .await?
                        .ok_or(FsError::Stale)?,
                    Err(e) => return Err(e),
                }
            }
        };
        if found.kind != FileKind::Directory {
            return Err(FsError::NotDir);
        }
        at = handle(share, &found);
        dir = found;
    }
    Ok(at)
}

/// Removes the directories of `dirs`, innermost first, while they are
/// empty and not directory objects themselves. Stops at the first that
/// stays (not empty, an object, or already gone).
pub(crate) async fn prune(share: &Share, caller: &Caller, root: &FileHandle, dirs: &[&str]) {
    for depth in (1..=dirs.len()).rev() {
        let Ok(Some((parent, _))) = find_dir(share, caller, root, &dirs[..depth - 1]).await else {
            return;
        };
        let name = dirs[depth - 1];
        match child(share, caller, &parent, name).await {
            Ok(Some(d)) if d.is_dir() && !d.xattrs.contains_key(DIR_OBJECT_XATTR) => {}
            _ => return,
        }
        // NotEmpty when another object is (or just arrived) below: fine.
        if share
            .meta
            .rmdir(&caller.ctx, &parent, name.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
