//! SETATTR: who may change what, and truncation.

use dittofs_blocks::BlockId;

use crate::error::{FsError, FsResult};
use crate::extents;
use crate::handle::FileHandle;
use crate::store::MetaTxn;
use crate::types::{
    AuthContext, FileKind, Inode, MODE_MASK, S_ISGID, S_ISUID, SetAttrs, SetTime, Timestamp,
};

use super::access::{W, allowed, is_owner, require_data};
use super::{MetadataService, Wcc, check_size, load, transact};

/// The time a `SetTime` asks for, if any.
pub(crate) fn resolve_time(t: SetTime, now: Timestamp) -> Option<Timestamp> {
    match t {
        SetTime::Unchanged => None,
        SetTime::ServerNow => Some(now),
        SetTime::Client(t) => Some(t),
    }
}

/// chown rules: only root gives a file away; the owner may change its
/// group to one they belong to.
pub(crate) fn check_owner_change(
    ctx: &AuthContext,
    inode: &Inode,
    uid: Option<u32>,
    gid: Option<u32>,
) -> FsResult<()> {
    if ctx.is_root() {
        return Ok(());
    }
    if let Some(uid) = uid
        && (uid != inode.uid || ctx.uid != inode.uid)
    {
        return Err(FsError::NotPermitted);
    }
    if let Some(gid) = gid
        && (ctx.uid != inode.uid || (gid != inode.gid && !ctx.in_group(gid)))
    {
        return Err(FsError::NotPermitted);
    }
    Ok(())
}

fn check_times(ctx: &AuthContext, inode: &Inode, attrs: &SetAttrs) -> FsResult<()> {
    let client_time =
        matches!(attrs.atime, SetTime::Client(_)) || matches!(attrs.mtime, SetTime::Client(_));
    let server_time =
        matches!(attrs.atime, SetTime::ServerNow) || matches!(attrs.mtime, SetTime::ServerNow);
    if client_time && !is_owner(ctx, inode) {
        return Err(FsError::NotPermitted);
    }
    if server_time && !is_owner(ctx, inode) && !allowed(ctx, inode, W) {
        return Err(FsError::AccessDenied);
    }
    Ok(())
}

/// Applies `attrs` to `inode` after checking the caller may. Returns the
/// blocks released by a truncation.
pub(crate) async fn apply_setattr(
    tx: &mut dyn MetaTxn,
    ctx: &AuthContext,
    inode: &mut Inode,
    attrs: &SetAttrs,
) -> FsResult<Vec<BlockId>> {
    let now = Timestamp::now();
    let mut released = Vec::new();
    if let Some(size) = attrs.size {
        match inode.kind {
            FileKind::Regular => {}
            FileKind::Directory => return Err(FsError::IsDir),
            _ => return Err(FsError::Invalid),
        }
        require_data(ctx, inode, W)?;
        check_size(size)?;
    }
    if let Some(mode) = attrs.mode {
        if !is_owner(ctx, inode) {
            return Err(FsError::NotPermitted);
        }
        let mut mode = mode & MODE_MASK;
        if !ctx.is_root() && !ctx.in_group(attrs.gid.unwrap_or(inode.gid)) {
            mode &= !S_ISGID;
        }
        inode.mode = mode;
    }
    if attrs.uid.is_some() || attrs.gid.is_some() {
        check_owner_change(ctx, inode, attrs.uid, attrs.gid)?;
        let changes =
            attrs.uid.is_some_and(|u| u != inode.uid) || attrs.gid.is_some_and(|g| g != inode.gid);
        inode.uid = attrs.uid.unwrap_or(inode.uid);
        inode.gid = attrs.gid.unwrap_or(inode.gid);
        // A file given away must not keep running as its old owner.
        if changes && inode.kind != FileKind::Directory {
            inode.mode &= !S_ISUID;
            if inode.mode & 0o010 != 0 {
                inode.mode &= !S_ISGID;
            }
        }
    }
    check_times(ctx, inode, attrs)?;
    if let Some(size) = attrs.size {
        if size < inode.size {
            released = extents::truncate(tx, inode.id, size).await?;
        }
        inode.size = size;
        inode.mtime = now;
    }
    if let Some(t) = resolve_time(attrs.atime, now) {
        inode.atime = t;
    }
    if let Some(t) = resolve_time(attrs.mtime, now) {
        inode.mtime = t;
    }
    inode.ctime = now;
    inode.create_verifier = None;
    Ok(released)
}

impl MetadataService {
    /// Changes attributes. With `guard`, the change happens only if the
    /// object's ctime still equals it (`NotSync` otherwise).
    pub async fn setattr(
        &self,
        ctx: &AuthContext,
        fh: &FileHandle,
        attrs: SetAttrs,
        guard: Option<Timestamp>,
    ) -> FsResult<Wcc> {
        self.check_share(fh)?;
        let ctx = self.effective(ctx)?;
        let current = self.attrs(fh).await?;
        let changes_data = attrs.size.is_some()
            || attrs.atime != SetTime::Unchanged
            || attrs.mtime != SetTime::Unchanged;
        let settled = if changes_data {
            self.settle(&current).await?
        } else {
            None
        };
        let (wcc, released) = transact!(self, |tx| {
            let mut inode = self.present(load(tx, fh).await?);
            let before = inode.clone();
            // The client's guard is the ctime it was shown.
            if guard.is_some_and(|g| g != inode.ctime) {
                return Err(FsError::NotSync);
            }
            self.writable()?;
            let released = apply_setattr(tx, &ctx, &mut inode, &attrs).await?;
            tx.put_inode(&inode).await?;
            Ok((Wcc::new(&before, &inode), released))
        })?;
        if let (Some(size), Some(_)) = (attrs.size, &settled) {
            self.resized(fh.inode, size);
        }
        drop(settled);
        self.release(released);
        Ok(wcc)
    }
}
