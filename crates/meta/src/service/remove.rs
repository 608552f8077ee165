//! Operations that take a name away: remove, rmdir and rename.

use dittofs_blocks::BlockId;

use crate::error::{FsError, FsResult};
use crate::extents;
use crate::handle::FileHandle;
use crate::store::MetaTxn;
use crate::types::{AuthContext, DirEntry, Inode, InodeId, Timestamp};

use super::access::{W, X, check_sticky, require};
use super::holds::Holds;
use super::names::{Name, parse};
use super::{MAX_LINKS, MetadataService, Wcc, load_dir, transact};

/// What became of the inode a name pointed to.
pub(super) enum Unlinked {
    StillLinked,
    /// Its last link went while a holder has it open: it stays, with no
    /// links, until let go.
    Orphaned(InodeId),
    Gone {
        inode: InodeId,
        released: Vec<BlockId>,
    },
}

/// Drops one link to `inode` (already removed from its directory); deletes
/// the inode and its content when it was the last.
async fn drop_link(tx: &mut dyn MetaTxn, holds: &Holds, mut inode: Inode) -> FsResult<Unlinked> {
    let last = inode.is_dir() || inode.nlink <= 1;
    if last && !inode.is_dir() && holds.is_held(inode.id) {
        inode.nlink = 0;
        inode.ctime = Timestamp::now();
        tx.put_inode(&inode).await?;
        return Ok(Unlinked::Orphaned(inode.id));
    }
    if last {
        let released = extents::truncate(tx, inode.id, 0).await?;
        tx.delete_inode(inode.id).await?;
        return Ok(Unlinked::Gone {
            inode: inode.id,
            released,
        });
    }
    inode.nlink -= 1;
    inode.ctime = Timestamp::now();
    tx.put_inode(&inode).await?;
    Ok(Unlinked::StillLinked)
}

/// Takes `victim`, found at `name` in `dir`, out of it so that something
/// else can have the name (a rename over a target, an object published
/// over another): the sticky rule, the entry, the link.
pub(super) async fn unlink_replaced(
    tx: &mut dyn MetaTxn,
    holds: &Holds,
    ctx: &AuthContext,
    dir: &mut Inode,
    name: &[u8],
    victim: Inode,
) -> FsResult<Unlinked> {
    check_sticky(ctx, dir, &victim)?;
    tx.remove_entry(dir.id, name).await?;
    if victim.is_dir() {
        dir.nlink = dir.nlink.saturating_sub(1).max(2);
    }
    drop_link(tx, holds, victim).await
}

fn stamp(dir: &mut Inode) {
    let now = Timestamp::now();
    dir.mtime = now;
    dir.ctime = now;
}

impl MetadataService {
    pub(super) async fn after_unlink(&self, u: Unlinked) -> FsResult<()> {
        match u {
            Unlinked::Gone { inode, released } => {
                if let Some(h) = self.hooks() {
                    h.file_removed(inode);
                }
                self.release(released);
                Ok(())
            }
            Unlinked::Orphaned(inode) => self.orphaned(inode).await,
            Unlinked::StillLinked => Ok(()),
        }
    }

    /// Removes a non-directory name.
    pub async fn remove(&self, ctx: &AuthContext, dir: &FileHandle, name: &[u8]) -> FsResult<Wcc> {
        self.check_share(dir)?;
        let ctx = self.effective(ctx)?;
        let (wcc, unlinked) = transact!(self, |tx| {
            let (mut d, entry, victim) = self.prepare_unlink(tx, &ctx, dir, name).await?;
            if victim.is_dir() {
                return Err(FsError::IsDir);
            }
            let before = d.clone();
            tx.remove_entry(d.id, &entry.name).await?;
            let unlinked = drop_link(tx, &self.holds, victim).await?;
            stamp(&mut d);
            tx.put_inode(&d).await?;
            Ok((Wcc::new(&before, &d), unlinked))
        })?;
        self.after_unlink(unlinked).await?;
        Ok(wcc)
    }

    /// Removes an empty directory.
    pub async fn rmdir(&self, ctx: &AuthContext, dir: &FileHandle, name: &[u8]) -> FsResult<Wcc> {
        self.check_share(dir)?;
        let ctx = self.effective(ctx)?;
        match parse(name)? {
            Name::Dot => return Err(FsError::Invalid),
            Name::DotDot => return Err(FsError::NotEmpty),
            Name::Plain(_) => {}
        }
        let (wcc, unlinked) = transact!(self, |tx| {
            let (mut d, entry, victim) = self.prepare_unlink(tx, &ctx, dir, name).await?;
            if !victim.is_dir() {
                return Err(FsError::NotDir);
            }
            if tx.has_entries(victim.id).await? {
                return Err(FsError::NotEmpty);
            }
            let before = d.clone();
            tx.remove_entry(d.id, &entry.name).await?;
            let unlinked = drop_link(tx, &self.holds, victim).await?;
            d.nlink = d.nlink.saturating_sub(1).max(2);
            stamp(&mut d);
            tx.put_inode(&d).await?;
            Ok((Wcc::new(&before, &d), unlinked))
        })?;
        self.after_unlink(unlinked).await?;
        Ok(wcc)
    }

    async fn prepare_unlink(
        &self,
        tx: &mut dyn MetaTxn,
        ctx: &AuthContext,
        dir: &FileHandle,
        name: &[u8],
    ) -> FsResult<(Inode, DirEntry, Inode)> {
        let d = load_dir(tx, dir).await?;
        self.writable()?;
        let name = match parse(name)? {
            Name::Plain(n) => n,
            Name::Dot | Name::DotDot => return Err(FsError::IsDir),
        };
        require(ctx, &d, W | X)?;
        let entry = tx.lookup(d.id, name).await?.ok_or(FsError::NotFound)?;
        let victim = tx.get_inode(entry.inode).await?.ok_or(FsError::NotFound)?;
        check_sticky(ctx, &d, &victim)?;
        Ok((d, entry, victim))
    }

    /// Moves `from_name` in `from_dir` to `to_name` in `to_dir`, replacing
    /// what is there, as one transaction.
    pub async fn rename(
        &self,
        ctx: &AuthContext,
        from_dir: &FileHandle,
        from_name: &[u8],
        to_dir: &FileHandle,
        to_name: &[u8],
    ) -> FsResult<(Wcc, Wcc)> {
        self.check_share(from_dir)?;
        self.check_share(to_dir)?;
        let ctx = self.effective(ctx)?;
        let (from_name, to_name) = match (parse(from_name)?, parse(to_name)?) {
            (Name::Plain(f), Name::Plain(t)) => (f, t),
            _ => return Err(FsError::Invalid),
        };
        let (wccs, unlinked) = transact!(self, |tx| {
            self.rename_in(tx, &ctx, from_dir, from_name, to_dir, to_name)
                .await
        })?;
        if let Some(u) = unlinked {
            self.after_unlink(u).await?;
        }
        Ok(wccs)
    }

    pub(super) async fn rename_in(
        &self,
        tx: &mut dyn MetaTxn,
        ctx: &AuthContext,
        from_fh: &FileHandle,
        from_name: &[u8],
        to_fh: &FileHandle,
        to_name: &[u8],
    ) -> FsResult<((Wcc, Wcc), Option<Unlinked>)> {
        let mut from = load_dir(tx, from_fh).await?;
        let same_dir = from_fh.inode == to_fh.inode;
        let mut to = if same_dir {
            from.clone()
        } else {
            load_dir(tx, to_fh).await?
        };
        let (from_before, to_before) = (from.clone(), to.clone());
        self.writable()?;
        require(ctx, &from, W | X)?;
        require(ctx, &to, W | X)?;
        let src_entry = tx
            .lookup(from.id, from_name)
            .await?
            .ok_or(FsError::NotFound)?;
        let mut src = tx
            .get_inode(src_entry.inode)
            .await?
            .ok_or(FsError::NotFound)?;
        check_sticky(ctx, &from, &src)?;
        let moves_dir = src.is_dir() && !same_dir;
        if moves_dir {
            // Its ".." changes, which is a write to the directory itself.
            require(ctx, &src, W)?;
            self.check_not_ancestor(tx, src.id, to.id).await?;
        }
        let mut unlinked = None;
        if let Some(dst_entry) = tx.lookup(to.id, to_name).await? {
            if dst_entry.inode == src.id {
                // Two names for one file: POSIX says do nothing.
                return Ok((
                    (Wcc::new(&from_before, &from), Wcc::new(&to_before, &to)),
                    None,
                ));
            }
            let dst = tx
                .get_inode(dst_entry.inode)
                .await?
                .ok_or(FsError::NotFound)?;
            match (src.is_dir(), dst.is_dir()) {
                (true, false) => return Err(FsError::NotDir),
                (false, true) => return Err(FsError::IsDir),
                (true, true) if tx.has_entries(dst.id).await? => return Err(FsError::NotEmpty),
                _ => {}
            }
            unlinked = Some(unlink_replaced(tx, &self.holds, ctx, &mut to, to_name, dst).await?);
        }
        tx.remove_entry(from.id, from_name).await?;
        let entry = DirEntry {
            name: bytes::Bytes::copy_from_slice(to_name),
            inode: src.id,
            cookie: to.next_cookie,
        };
        to.next_cookie += 1;
        tx.put_entry(to.id, &entry).await?;
        if moves_dir {
            if to.nlink >= MAX_LINKS {
                return Err(FsError::TooManyLinks);
            }
            src.parent = to.id;
            from.nlink = from.nlink.saturating_sub(1).max(2);
            to.nlink += 1;
        }
        src.ctime = Timestamp::now();
        tx.put_inode(&src).await?;
        stamp(&mut to);
        if same_dir {
            tx.put_inode(&to).await?;
            let wcc = Wcc::new(&from_before, &to);
            return Ok(((wcc.clone(), wcc), unlinked));
        }
        stamp(&mut from);
        tx.put_inode(&from).await?;
        tx.put_inode(&to).await?;
        Ok((
            (Wcc::new(&from_before, &from), Wcc::new(&to_before, &to)),
            unlinked,
        ))
    }

    /// Refuses to move directory `moving` under `dest` when `dest` is
    /// `moving` or lies inside it.
    async fn check_not_ancestor(
        &self,
        tx: &mut dyn MetaTxn,
        moving: InodeId,
        dest: InodeId,
    ) -> FsResult<()> {
        let mut at = dest;
        loop {
            if at == moving {
                return Err(FsError::Invalid);
            }
            let inode = tx.get_inode(at).await?.ok_or(FsError::Stale)?;
            if inode.parent == at || inode.parent == 0 {
                return Ok(());
            }
            at = inode.parent;
        }
    }
}
