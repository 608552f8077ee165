//! Operations on names: lookup, the creating calls, removal and rename.
//! Each is one service call; the service checks permissions.

use dittofs_meta::{AuthContext, CreateMode, FileKind, FsError, SetAttrs, SpecialFile};
use fuser::{Errno, INodeNo, RenameFlags};

use crate::attrs::major_minor;
use crate::errno::Outcome;
use crate::volume::{Entry, Volume};

const S_IFMT: u32 = libc::S_IFMT;

fn with_mode(mode: u32) -> SetAttrs {
    SetAttrs {
        mode: Some(mode & 0o7777),
        ..SetAttrs::default()
    }
}

impl Volume {
    pub(crate) async fn lookup(
        &self,
        ctx: &AuthContext,
        parent: INodeNo,
        name: &[u8],
    ) -> Outcome<Entry> {
        let dir = self.handle(parent)?;
        let (_, inode, _) = self.share.meta.lookup(ctx, &dir, name).await?;
        Ok(self.entry(&inode))
    }

    pub(crate) async fn mkdir(
        &self,
        ctx: &AuthContext,
        parent: INodeNo,
        name: &[u8],
        mode: u32,
    ) -> Outcome<Entry> {
        let dir = self.handle(parent)?;
        let made = self
            .share
            .meta
            .mkdir(ctx, &dir, name, with_mode(mode))
            .await?;
        Ok(self.entry(&made.attrs))
    }

    pub(crate) async fn mknod(
        &self,
        ctx: &AuthContext,
        parent: INodeNo,
        name: &[u8],
        mode: u32,
        rdev: u32,
    ) -> Outcome<Entry> {
        let dir = self.handle(parent)?;
        let (major, minor) = major_minor(rdev);
        let special = match mode & S_IFMT {
            0 | libc::S_IFREG => {
                let how = CreateMode::Guarded(with_mode(mode));
                let made = self.share.meta.create(ctx, &dir, name, how).await?;
                return Ok(self.entry(&made.attrs));
            }
            libc::S_IFIFO => SpecialFile::Fifo,
            libc::S_IFSOCK => SpecialFile::Socket,
            libc::S_IFCHR => SpecialFile::CharDevice { major, minor },
            libc::S_IFBLK => SpecialFile::BlockDevice { major, minor },
            _ => return Err(Errno::EINVAL.into()),
        };
        let made = self
            .share
            .meta
            .mknod(ctx, &dir, name, special, with_mode(mode))
            .await?;
        Ok(self.entry(&made.attrs))
    }

    pub(crate) async fn symlink(
        &self,
        ctx: &AuthContext,
        parent: INodeNo,
        name: &[u8],
        target: &[u8],
    ) -> Outcome<Entry> {
        let dir = self.handle(parent)?;
        let made = self
            .share
            .meta
            .symlink(ctx, &dir, name, target, SetAttrs::default())
            .await?;
        Ok(self.entry(&made.attrs))
    }

    pub(crate) async fn link(
        &self,
        ctx: &AuthContext,
        ino: INodeNo,
        parent: INodeNo,
        name: &[u8],
    ) -> Outcome<Entry> {
        let file = self.handle(ino)?;
        let dir = self.handle(parent)?;
        let (inode, _) = self.share.meta.link(ctx, &file, &dir, name).await?;
        Ok(self.entry(&inode))
    }

    pub(crate) async fn unlink(
        &self,
        ctx: &AuthContext,
        parent: INodeNo,
        name: &[u8],
    ) -> Outcome<()> {
        let dir = self.handle(parent)?;
        self.share.meta.remove(ctx, &dir, name).await?;
        Ok(())
    }

    pub(crate) async fn rmdir(
        &self,
        ctx: &AuthContext,
        parent: INodeNo,
        name: &[u8],
    ) -> Outcome<()> {
        let dir = self.handle(parent)?;
        self.share.meta.rmdir(ctx, &dir, name).await?;
        Ok(())
    }

    pub(crate) async fn rename(
        &self,
        ctx: &AuthContext,
        from: (INodeNo, &[u8]),
        to: (INodeNo, &[u8]),
        flags: RenameFlags,
    ) -> Outcome<()> {
        let from_dir = self.handle(from.0)?;
        let to_dir = self.handle(to.0)?;
        if flags.contains(RenameFlags::RENAME_NOREPLACE) {
            // Checked before the rename rather than inside it: a name made
            // in between by another client is replaced.
            match self.share.meta.lookup(ctx, &to_dir, to.1).await {
                Ok(_) => return Err(Errno::EEXIST.into()),
                Err(FsError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
            return Err(Errno::EINVAL.into());
        }
        self.share
            .meta
            .rename(ctx, &from_dir, from.1, &to_dir, to.1)
            .await?;
        Ok(())
    }

    /// Creates and opens a regular file. Without `O_EXCL` an existing file
    /// is opened instead, after the same checks as `open`.
    pub(crate) async fn create(
        &self,
        ctx: &AuthContext,
        parent: INodeNo,
        name: &[u8],
        mode: u32,
        flags: i32,
    ) -> Outcome<(Entry, u64)> {
        let dir = self.handle(parent)?;
        let how = CreateMode::Guarded(with_mode(mode));
        match self.share.meta.create(ctx, &dir, name, how).await {
            Ok(made) => {
                let fh = self.open_file(made.attrs.id);
                Ok((self.entry(&made.attrs), fh))
            }
            Err(FsError::Exists) if flags & libc::O_EXCL == 0 => {
                let entry = self.lookup(ctx, parent, name).await?;
                if entry.attr.kind != crate::attrs::kind(FileKind::Regular) {
                    self.inodes.forget(entry.attr.ino, 1);
                    return Err(Errno::EEXIST.into());
                }
                match self.open(ctx, entry.attr.ino, flags).await {
                    Ok(fh) => Ok((entry, fh)),
                    Err(e) => {
                        self.inodes.forget(entry.attr.ino, 1);
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}
