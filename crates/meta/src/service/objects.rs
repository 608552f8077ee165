//! What an object gateway needs beyond NFS: extended attributes, listings
//! in name order with attributes, sharing one file's blocks with another
//! (copies and multipart completion copy no data), and removing a share.

use bytes::Bytes;

use crate::error::{FsError, FsResult};
use crate::extents::{self, NewExtent};
use crate::handle::FileHandle;
use crate::store::MetaTxn;
use crate::types::{
    AuthContext, FileKind, Inode, MAX_XATTR_BYTES, MAX_XATTR_NAME, Timestamp, Xattrs,
};

use super::access::{R, W, X, is_owner, require, require_data};
use super::create::{fresh_inode, link_into};
use super::names::{Name, parse, parse_new};
use super::remove::unlink_replaced;
use super::{MetadataService, load, load_dir, transact};

fn check_xattr_names<'a>(mut names: impl Iterator<Item = &'a Bytes>) -> FsResult<()> {
    if names.any(|n| n.is_empty() || n.len() > MAX_XATTR_NAME) {
        return Err(FsError::Invalid);
    }
    Ok(())
}

/// The names and values of one inode's attributes must fit its record.
fn check_xattr_bytes(xattrs: &Xattrs) -> FsResult<()> {
    let bytes: usize = xattrs.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_XATTR_BYTES {
        return Err(FsError::NoSpace);
    }
    Ok(())
}

/// Applies `changes` to the attributes of `fh` within `tx`.
async fn apply_xattrs(
    tx: &mut dyn MetaTxn,
    ctx: &AuthContext,
    fh: &FileHandle,
    changes: &[(Bytes, Option<Bytes>)],
) -> FsResult<Inode> {
    let mut inode = load(tx, fh).await?;
    if !is_owner(ctx, &inode) {
        require(ctx, &inode, W)?;
    }
    for (name, value) in changes {
        match value {
            Some(v) => inode.xattrs.insert(name.clone(), v.clone()),
            None => inode.xattrs.remove(name),
        };
    }
    check_xattr_bytes(&inode.xattrs)?;
    inode.ctime = Timestamp::now();
    tx.put_inode(&inode).await?;
    Ok(inode)
}

/// A regular file made whole elsewhere, for
/// [`MetadataService::publish_new`].
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    /// Its extents: inline, or in blocks already stored.
    pub content: &'a [NewExtent],
    pub size: u64,
    /// Its modification (and change) time.
    pub mtime: Timestamp,
    pub xattrs: &'a [(Bytes, Bytes)],
}

fn regular(inode: Inode) -> FsResult<Inode> {
    match inode.kind {
        FileKind::Regular => Ok(inode),
        FileKind::Directory => Err(FsError::IsDir),
        _ => Err(FsError::Invalid),
    }
}

impl MetadataService {
    /// Sets (`Some`) or removes (`None`) extended attributes, as one change.
    /// The owner, or anyone who may write the object, may.
    pub async fn set_xattrs(
        &self,
        ctx: &AuthContext,
        fh: &FileHandle,
        changes: &[(Bytes, Option<Bytes>)],
    ) -> FsResult<Inode> {
        self.check_share(fh)?;
        let ctx = self.effective(ctx)?;
        check_xattr_names(changes.iter().map(|(n, _)| n))?;
        transact!(self, |tx| {
            self.writable()?;
            let inode = apply_xattrs(tx, &ctx, fh, changes).await?;
            Ok(self.present(inode))
        })
    }

    /// Sets extended attributes of the file `fh` and moves it from
    /// `from_name` in `from_dir` to `to_name` in `to_dir`, replacing what is
    /// there, as one transaction: how an object gateway publishes a file it
    /// filled under a temporary name together with what it records about it.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish(
        &self,
        ctx: &AuthContext,
        fh: &FileHandle,
        changes: &[(Bytes, Option<Bytes>)],
        from_dir: &FileHandle,
        from_name: &[u8],
        to_dir: &FileHandle,
        to_name: &[u8],
    ) -> FsResult<Inode> {
        self.check_share(fh)?;
        self.check_share(from_dir)?;
        self.check_share(to_dir)?;
        let ctx = self.effective(ctx)?;
        check_xattr_names(changes.iter().map(|(n, _)| n))?;
        let (from_name, to_name) = match (parse(from_name)?, parse(to_name)?) {
            (Name::Plain(f), Name::Plain(t)) => (f, t),
            _ => return Err(FsError::Invalid),
        };
        let (inode, unlinked) = transact!(self, |tx| {
            // The rename first: the directory it starts from is the first
            // thing the transaction touches, which stores that queue by
            // first touch (PostgreSQL) rely on.
            let (_, unlinked) = self
                .rename_in(tx, &ctx, from_dir, from_name, to_dir, to_name)
                .await?;
            let inode = apply_xattrs(tx, &ctx, fh, changes).await?;
            Ok((inode, unlinked))
        })?;
        if let Some(u) = unlinked {
            self.after_unlink(u).await?;
        }
        Ok(self.present(inode))
    }

    /// Creates the regular file `new` (its extents were written straight
    /// into the stores by the content layer) and links it at `name` in
    /// `dir`, replacing the file there, as one transaction: how an object
    /// gateway publishes an object it received whole. Nothing is visible
    /// before the commit, so a reader sees the old file or the new one.
    pub async fn publish_new(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        name: &[u8],
        new: &NewFile<'_>,
    ) -> FsResult<Inode> {
        self.check_share(dir)?;
        let ctx = self.effective(ctx)?;
        super::check_size(new.size)?;
        let name = parse_new(name)?;
        check_xattr_names(new.xattrs.iter().map(|(n, _)| n))?;
        let xattrs: Xattrs = new.xattrs.iter().cloned().collect();
        check_xattr_bytes(&xattrs)?;
        if new.content.iter().any(|e| e.extent.end() > new.size) {
            return Err(FsError::Invalid);
        }
        let (file, unlinked) = transact!(self, |tx| {
            // The directory first: stores that queue transactions by the
            // first inode they touch (PostgreSQL) rely on it.
            let mut d = load_dir(tx, dir).await?;
            self.writable()?;
            require(&ctx, &d, W | X)?;
            let mut unlinked = None;
            if let Some(entry) = tx.lookup(d.id, name).await? {
                let old = tx.get_inode(entry.inode).await?.ok_or(FsError::NotFound)?;
                if old.is_dir() {
                    return Err(FsError::IsDir);
                }
                unlinked = Some(unlink_replaced(tx, &self.holds, &ctx, &mut d, name, old).await?);
            }
            let id = tx.allocate_inode_id().await?;
            let mut file = fresh_inode(&ctx, &d, id, FileKind::Regular, 0o644);
            file.size = new.size;
            (file.atime, file.mtime, file.ctime) = (new.mtime, new.mtime, new.mtime);
            file.xattrs = xattrs.clone();
            extents::fill_new(tx, id, new.content).await?;
            tx.put_inode(&file).await?;
            link_into(tx, &mut d, name, &file).await?;
            tx.put_inode(&d).await?;
            Ok((file, unlinked))
        })?;
        if let Some(u) = unlinked {
            self.after_unlink(u).await?;
        }
        Ok(file)
    }

    /// Up to `limit` entries of a directory after the name `after` (from
    /// the first without), in name order, with their attributes. An entry
    /// whose inode went away between the two reads is left out.
    pub async fn list_names(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        after: Option<&[u8]>,
        limit: usize,
    ) -> FsResult<Vec<(Bytes, Inode)>> {
        let ctx = self.effective(ctx)?;
        let d = self.attrs(dir).await?;
        if !d.is_dir() {
            return Err(FsError::NotDir);
        }
        require(&ctx, &d, R | X)?;
        let entries = self.store().list_by_name(d.id, after, limit).await?;
        let ids: Vec<_> = entries.iter().map(|e| e.inode).collect();
        let before: Vec<_> = ids.iter().map(|id| self.pending_of(*id)).collect();
        let inodes = self.store().get_inodes(&ids).await?;
        Ok(entries
            .into_iter()
            .zip(inodes)
            .zip(before)
            .filter_map(|((e, i), b)| Some((e.name, self.present_after(i?, b))))
            .collect())
    }

    /// Makes `len` bytes of `dst` at `dst_offset` the same as `src` at
    /// `src_offset` by pointing at the same blocks: no data is read or
    /// written. A range past the end of `src` is cut short at it; holes
    /// stay holes. `dst` grows to cover the range. Returns `dst` after.
    pub async fn clone_range(
        &self,
        ctx: &AuthContext,
        src: &FileHandle,
        src_offset: u64,
        len: u64,
        dst: &FileHandle,
        dst_offset: u64,
    ) -> FsResult<Inode> {
        self.check_share(src)?;
        self.check_share(dst)?;
        let ctx = self.effective(ctx)?;
        self.writable()?;
        let s = regular(self.attrs(src).await?)?;
        let d = regular(self.attrs(dst).await?)?;
        require_data(&ctx, &s, R)?;
        require_data(&ctx, &d, W)?;
        let len = len.min(s.size.saturating_sub(src_offset));
        let end = dst_offset
            .checked_add(len)
            .filter(|e| super::check_size(*e).is_ok())
            .ok_or(FsError::FileTooLarge)?;
        // Both files' written data must be in their extent maps first; in
        // inode order, so two clones between the same files cannot wait on
        // each other.
        let (first, second) = if s.id <= d.id { (&s, &d) } else { (&d, &s) };
        let _first = self.settle(first).await?;
        let _second = if first.id != second.id {
            self.settle(second).await?
        } else {
            None
        };
        // Below the current size, earlier writes of the range are in the
        // content layer's journal; beyond it, a truncation already cut them.
        if dst_offset < d.size
            && let Some(h) = self.hooks()
        {
            h.discard(d.id, dst_offset, end).await?;
        }
        let (after, grew, released) = transact!(self, |tx| {
            let s = regular(load(tx, src).await?)?;
            let mut d = regular(load(tx, dst).await?)?;
            let src_end = src_offset + len.min(s.size.saturating_sub(src_offset));
            let mut new = Vec::new();
            for e in tx.extents(s.id, src_offset, src_end).await? {
                let from = e.offset.max(src_offset);
                let to = e.end().min(src_end);
                let block_size = match e.block() {
                    Some(id) => {
                        tx.block_ref(id)
                            .await?
                            .ok_or_else(|| {
                                FsError::Store(crate::error::StoreError::Corrupt(format!(
                                    "extent of inode {} points at a block with no reference count",
                                    s.id
                                )))
                            })?
                            .size
                    }
                    None => 0,
                };
                new.push(NewExtent {
                    extent: e.slice(from, to).moved_to(from - src_offset + dst_offset),
                    block_size,
                });
            }
            let released = extents::replace_range(tx, d.id, dst_offset, end, &new).await?;
            let grew = end > d.size;
            d.size = d.size.max(end);
            let now = Timestamp::now();
            d.mtime = now;
            d.ctime = now;
            tx.put_inode(&d).await?;
            Ok((d, grew, released))
        })?;
        if grew {
            self.resized(after.id, after.size);
        }
        drop((_first, _second));
        self.release(released);
        Ok(self.present(after))
    }

    /// Removes an empty share: its root directory and its record in the
    /// store. Only the root's owner may.
    pub async fn remove_share(&self, ctx: &AuthContext) -> FsResult<()> {
        let ctx = self.effective(ctx)?;
        let name = self.name.clone();
        transact!(self, |tx| {
            self.writable()?;
            let root = tx.get_inode(self.root).await?.ok_or(FsError::Stale)?;
            if !is_owner(&ctx, &root) {
                return Err(FsError::NotPermitted);
            }
            if tx.has_entries(root.id).await? {
                return Err(FsError::NotEmpty);
            }
            tx.delete_inode(root.id).await?;
            tx.remove_share_root(&name).await?;
            Ok(())
        })
    }
}
