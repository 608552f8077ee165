//! Unix permission checks, made here and nowhere else: adapters never
//! decide a permission.

use crate::error::{FsError, FsResult};
use crate::handle::FileHandle;
use crate::types::{AuthContext, FileKind, Inode, S_ISVTX};

use super::MetadataService;

pub(crate) const R: u32 = 4;
pub(crate) const W: u32 = 2;
pub(crate) const X: u32 = 1;

/// Access rights as NFSv3 ACCESS names them.
pub const ACCESS_READ: u32 = 0x01;
pub const ACCESS_LOOKUP: u32 = 0x02;
pub const ACCESS_MODIFY: u32 = 0x04;
pub const ACCESS_EXTEND: u32 = 0x08;
pub const ACCESS_DELETE: u32 = 0x10;
pub const ACCESS_EXECUTE: u32 = 0x20;

/// Whether `ctx` has all of `want` (R/W/X bits) on `inode`. Root has
/// everything except executing a file no one may execute.
pub(crate) fn allowed(ctx: &AuthContext, inode: &Inode, want: u32) -> bool {
    if ctx.is_root() {
        return want & X == 0 || inode.is_dir() || inode.mode & 0o111 != 0;
    }
    let bits = if ctx.uid == inode.uid {
        inode.mode >> 6
    } else if ctx.in_group(inode.gid) {
        inode.mode >> 3
    } else {
        inode.mode
    } & 7;
    bits & want == want
}

pub(crate) fn require(ctx: &AuthContext, inode: &Inode, want: u32) -> FsResult<()> {
    if allowed(ctx, inode, want) {
        Ok(())
    } else {
        Err(FsError::AccessDenied)
    }
}

/// Reading or writing file data: the owner may always, as a kernel server
/// allows, so a file created read-only can still be written through the
/// handle its creator holds.
pub(crate) fn require_data(ctx: &AuthContext, inode: &Inode, want: u32) -> FsResult<()> {
    if ctx.uid == inode.uid && !ctx.is_root() {
        return Ok(());
    }
    require(ctx, inode, want)
}

pub(crate) fn is_owner(ctx: &AuthContext, inode: &Inode) -> bool {
    ctx.is_root() || ctx.uid == inode.uid
}

/// In a sticky directory only the owner of an entry, the owner of the
/// directory, or root may remove or rename it.
pub(crate) fn check_sticky(ctx: &AuthContext, dir: &Inode, victim: &Inode) -> FsResult<()> {
    if dir.mode & S_ISVTX == 0 || ctx.is_root() || ctx.uid == dir.uid || ctx.uid == victim.uid {
        Ok(())
    } else {
        Err(FsError::NotPermitted)
    }
}

impl MetadataService {
    /// The subset of `mask` the caller is granted on the object, and its
    /// attributes.
    pub async fn access(
        &self,
        ctx: &AuthContext,
        fh: &FileHandle,
        mask: u32,
    ) -> FsResult<(u32, Inode)> {
        let ctx = self.effective(ctx)?;
        let inode = self.attrs(fh).await?;
        let mut granted = 0;
        if allowed(&ctx, &inode, R) {
            granted |= ACCESS_READ;
        }
        let writable = !self.options().read_only && allowed(&ctx, &inode, W);
        if writable {
            granted |= ACCESS_MODIFY | ACCESS_EXTEND;
        }
        match inode.kind {
            FileKind::Directory => {
                if allowed(&ctx, &inode, X) {
                    granted |= ACCESS_LOOKUP;
                    if writable {
                        granted |= ACCESS_DELETE;
                    }
                }
            }
            _ => {
                if allowed(&ctx, &inode, X) {
                    granted |= ACCESS_EXECUTE;
                }
            }
        }
        Ok((granted & mask, inode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Timestamp;

    fn inode(mode: u32, uid: u32, gid: u32, kind: FileKind) -> Inode {
        Inode {
            id: 5,
            generation: 1,
            kind,
            mode,
            uid,
            gid,
            nlink: 1,
            size: 0,
            atime: Timestamp::default(),
            mtime: Timestamp::default(),
            ctime: Timestamp::default(),
            rdev: (0, 0),
            parent: 0,
            symlink: None,
            create_verifier: None,
            next_cookie: 0,
            xattrs: Default::default(),
        }
    }

    #[test]
    fn owner_group_other_and_supplementary_groups() {
        let f = inode(0o640, 1000, 100, FileKind::Regular);
        let owner = AuthContext::new(1000, 1, vec![]);
        let group = AuthContext::new(2000, 100, vec![]);
        let supplementary = AuthContext::new(2000, 1, vec![7, 100]);
        let other = AuthContext::new(3000, 3000, vec![]);
        assert!(allowed(&owner, &f, R | W));
        assert!(allowed(&group, &f, R) && !allowed(&group, &f, W));
        assert!(allowed(&supplementary, &f, R));
        assert!(!allowed(&other, &f, R));
        // Owner bits apply to the owner even when group bits would grant more.
        let g = inode(0o060, 1000, 100, FileKind::Regular);
        assert!(!allowed(&AuthContext::new(1000, 100, vec![]), &g, R));
    }

    #[test]
    fn root_cannot_execute_what_nobody_may_execute() {
        let root = AuthContext::root();
        assert!(allowed(&root, &inode(0, 1, 1, FileKind::Regular), R | W));
        assert!(!allowed(&root, &inode(0o644, 1, 1, FileKind::Regular), X));
        assert!(allowed(&root, &inode(0o744, 1, 1, FileKind::Regular), X));
        assert!(allowed(&root, &inode(0, 1, 1, FileKind::Directory), X));
    }

    #[test]
    fn sticky_directories_protect_other_users_entries() {
        let dir = inode(0o1777, 0, 0, FileKind::Directory);
        let file = inode(0o644, 1000, 1000, FileKind::Regular);
        assert!(check_sticky(&AuthContext::new(1000, 1000, vec![]), &dir, &file).is_ok());
        assert!(matches!(
            check_sticky(&AuthContext::new(1001, 1000, vec![]), &dir, &file),
            Err(FsError::NotPermitted)
        ));
        assert!(check_sticky(&AuthContext::root(), &dir, &file).is_ok());
    }
}
