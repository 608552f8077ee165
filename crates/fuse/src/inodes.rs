//! FUSE inode numbers and the DittoFS inodes they stand for.
//!
//! The kernel names the root 1; every other inode keeps its own number
//! (the share root and inode 1 trade places). A service call needs the
//! inode's generation too, so each inode the kernel was told about is
//! remembered with it, counted as the kernel counts lookups, and forgotten
//! when the kernel forgets it.

use std::collections::HashMap;

use dittofs_meta::{FileHandle, Inode, InodeId, ShareId};
use fuser::{Errno, INodeNo};
use parking_lot::Mutex;

struct Known {
    generation: u32,
    lookups: u64,
}

pub(crate) struct Inodes {
    share: ShareId,
    root: FileHandle,
    known: Mutex<HashMap<InodeId, Known>>,
}

impl Inodes {
    pub(crate) fn new(root: FileHandle) -> Self {
        Self {
            share: root.share,
            root,
            known: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn root(&self) -> FileHandle {
        self.root
    }

    pub(crate) fn ino(&self, id: InodeId) -> INodeNo {
        INodeNo(if id == self.root.inode {
            INodeNo::ROOT.0
        } else if id == INodeNo::ROOT.0 {
            self.root.inode
        } else {
            id
        })
    }

    fn id(&self, ino: INodeNo) -> InodeId {
        if ino == INodeNo::ROOT {
            self.root.inode
        } else if ino.0 == self.root.inode {
            INodeNo::ROOT.0
        } else {
            ino.0
        }
    }

    /// The handle of an inode the kernel knows; one it never heard of (or
    /// forgot) is stale.
    pub(crate) fn handle(&self, ino: INodeNo) -> Result<FileHandle, Errno> {
        let inode = self.id(ino);
        if inode == self.root.inode {
            return Ok(self.root);
        }
        let generation = self
            .known
            .lock()
            .get(&inode)
            .map(|k| k.generation)
            .ok_or(Errno::ESTALE)?;
        Ok(FileHandle {
            share: self.share,
            inode,
            generation,
        })
    }

    /// The kernel was handed an entry for `inode` (one more lookup).
    pub(crate) fn remember(&self, inode: &Inode) {
        if inode.id == self.root.inode {
            return;
        }
        let mut known = self.known.lock();
        let k = known.entry(inode.id).or_insert(Known {
            generation: inode.generation,
            lookups: 0,
        });
        if k.generation != inode.generation {
            // The number was handed out again: the old inode is gone.
            *k = Known {
                generation: inode.generation,
                lookups: 0,
            };
        }
        k.lookups += 1;
    }

    /// The kernel dropped `n` lookups of `ino`.
    pub(crate) fn forget(&self, ino: INodeNo, n: u64) {
        let inode = self.id(ino);
        let mut known = self.known.lock();
        if let Some(k) = known.get_mut(&inode) {
            k.lookups = k.lookups.saturating_sub(n);
            if k.lookups == 0 {
                known.remove(&inode);
            }
        }
    }

    #[cfg(test)]
    fn known(&self) -> usize {
        self.known.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dittofs_meta::{FileKind, Timestamp};

    fn inode(id: InodeId, generation: u32) -> Inode {
        Inode {
            id,
            generation,
            kind: FileKind::Regular,
            mode: 0o644,
            uid: 0,
            gid: 0,
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

    fn inodes() -> Inodes {
        Inodes::new(FileHandle {
            share: 7,
            inode: 2,
            generation: 9,
        })
    }

    #[test]
    fn the_root_is_one_and_trades_places_with_inode_one() {
        let i = inodes();
        assert_eq!(i.ino(2), INodeNo::ROOT);
        assert_eq!(i.ino(1), INodeNo(2));
        assert_eq!(i.ino(5), INodeNo(5));
        assert_eq!(i.handle(INodeNo::ROOT).unwrap(), i.root());
        for id in [1, 2, 5, u64::MAX] {
            assert_eq!(i.id(i.ino(id)), id);
        }
    }

    #[test]
    fn handles_exist_while_the_kernel_holds_lookups() {
        let i = inodes();
        assert_eq!(i.handle(INodeNo(5)), Err(Errno::ESTALE));
        i.remember(&inode(5, 3));
        i.remember(&inode(5, 3));
        assert_eq!(i.handle(INodeNo(5)).unwrap().generation, 3);
        i.forget(INodeNo(5), 1);
        assert!(i.handle(INodeNo(5)).is_ok());
        i.forget(INodeNo(5), 1);
        assert_eq!(i.handle(INodeNo(5)), Err(Errno::ESTALE));
        assert_eq!(i.known(), 0);
    }

    #[test]
    fn a_reused_number_takes_the_new_generation() {
        let i = inodes();
        i.remember(&inode(5, 3));
        i.remember(&inode(5, 4));
        assert_eq!(i.handle(INodeNo(5)).unwrap().generation, 4);
        i.forget(INodeNo(5), 1);
        assert_eq!(i.known(), 0);
    }
}
