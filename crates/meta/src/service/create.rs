//! Operations that add a name: create, mkdir, symlink, mknod and link.

use bytes::Bytes;

use crate::error::{FsError, FsResult};
use crate::extents;
use crate::handle::FileHandle;
use crate::store::MetaTxn;
use crate::types::{
    AuthContext, DirEntry, FileKind, Inode, MODE_MASK, S_ISGID, SetAttrs, Timestamp,
};

use super::access::{W, X, require};
use super::attrs::{check_owner_change, resolve_time};
use super::names::parse_new;
use super::{
    Created, DIR_SIZE, MAX_LINKS, MAX_PATH_LEN, MetadataService, Wcc, check_size, load, load_dir,
    new_generation, transact,
};

/// How CREATE treats an existing name (RFC 1813 createhow3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    /// Create, or open an existing regular file applying only its size.
    Unchecked(SetAttrs),
    /// Create; an existing name is an error.
    Guarded(SetAttrs),
    /// Create once: a retry with the same verifier finds the file made by
    /// the first attempt and succeeds; another verifier gets `Exists`.
    Exclusive([u8; 8]),
}

/// What a special file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialFile {
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Socket,
    Fifo,
}

/// A new inode owned by the caller, in `dir`.
pub(super) fn fresh_inode(
    ctx: &AuthContext,
    dir: &Inode,
    id: u64,
    kind: FileKind,
    mode: u32,
) -> Inode {
    let now = Timestamp::now();
    let mut mode = mode & MODE_MASK;
    // BSD group semantics in set-gid directories: new entries take the
    // directory's group, and new directories stay set-gid.
    let gid = if dir.mode & S_ISGID != 0 {
        if kind == FileKind::Directory {
            mode |= S_ISGID;
        }
        dir.gid
    } else {
        ctx.gid
    };
    if kind != FileKind::Directory && mode & S_ISGID != 0 && !ctx.in_group(gid) && !ctx.is_root() {
        mode &= !S_ISGID;
    }
    Inode {
        id,
        generation: new_generation(),
        kind,
        mode,
        uid: ctx.uid,
        gid,
        nlink: if kind == FileKind::Directory { 2 } else { 1 },
        size: if kind == FileKind::Directory {
            DIR_SIZE
        } else {
            0
        },
        atime: now,
        mtime: now,
        ctime: now,
        rdev: (0, 0),
        parent: if kind == FileKind::Directory {
            dir.id
        } else {
            0
        },
        symlink: None,
        create_verifier: None,
        next_cookie: crate::types::FIRST_ENTRY_COOKIE,
        xattrs: Default::default(),
    }
}

/// Applies the attributes given with a create to the new inode.
fn apply_initial(ctx: &AuthContext, inode: &mut Inode, attrs: &SetAttrs) -> FsResult<()> {
    if attrs.uid.is_some() || attrs.gid.is_some() {
        check_owner_change(ctx, inode, attrs.uid, attrs.gid)?;
        inode.uid = attrs.uid.unwrap_or(inode.uid);
        inode.gid = attrs.gid.unwrap_or(inode.gid);
    }
    if let Some(size) = attrs.size
        && inode.kind == FileKind::Regular
    {
        check_size(size)?;
        inode.size = size;
    }
    let now = inode.ctime;
    inode.atime = resolve_time(attrs.atime, now).unwrap_or(inode.atime);
    inode.mtime = resolve_time(attrs.mtime, now).unwrap_or(inode.mtime);
    Ok(())
}

/// Checks that `dir` may receive `name` and that it is free.
async fn prepare(
    svc: &MetadataService,
    tx: &mut dyn MetaTxn,
    ctx: &AuthContext,
    dir_fh: &FileHandle,
    name: &[u8],
) -> FsResult<(Inode, Option<DirEntry>)> {
    let dir = load_dir(tx, dir_fh).await?;
    svc.writable()?;
    let name = parse_new(name)?;
    require(ctx, &dir, W | X)?;
    let existing = tx.lookup(dir.id, name).await?;
    Ok((dir, existing))
}

/// Adds `child` under `name` and stamps the directory.
pub(super) async fn link_into(
    tx: &mut dyn MetaTxn,
    dir: &mut Inode,
    name: &[u8],
    child: &Inode,
) -> FsResult<()> {
    let entry = DirEntry {
        name: Bytes::copy_from_slice(name),
        inode: child.id,
        cookie: dir.next_cookie,
    };
    dir.next_cookie += 1;
    let now = Timestamp::now();
    dir.mtime = now;
    dir.ctime = now;
    tx.put_entry(dir.id, &entry).await?;
    Ok(())
}

impl MetadataService {
    pub async fn create(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        name: &[u8],
        how: CreateMode,
    ) -> FsResult<Created> {
        self.check_share(dir)?;
        let ctx = self.effective(ctx)?;
        // An UNCHECKED create may truncate an existing file: settle it first
        // (never inside the transaction).
        let mut settled = None;
        if let CreateMode::Unchecked(SetAttrs { size: Some(_), .. }) = how
            && let Ok(Some(e)) = self.store().lookup(dir.inode, name).await
            && let Ok(Some(existing)) = self.store().get_inode(e.inode).await
        {
            settled = self.settle(&existing).await?.map(|g| (existing.id, g));
        }
        let (mut created, released) =
            transact!(self, |tx| self.create_in(tx, &ctx, dir, name, how).await)?;
        if let (
            Some((id, _)),
            CreateMode::Unchecked(SetAttrs {
                size: Some(size), ..
            }),
        ) = (&settled, how)
            && *id == created.attrs.id
        {
            self.resized(*id, size);
        }
        drop(settled);
        self.release(released);
        created.attrs = self.present(created.attrs);
        Ok(created)
    }

    async fn create_in(
        &self,
        tx: &mut dyn MetaTxn,
        ctx: &AuthContext,
        dir_fh: &FileHandle,
        name: &[u8],
        how: CreateMode,
    ) -> FsResult<(Created, Vec<dittofs_blocks::BlockId>)> {
        let (mut dir, existing) = prepare(self, tx, ctx, dir_fh, name).await?;
        let before = dir.clone();
        if let Some(entry) = existing {
            let mut file = tx.get_inode(entry.inode).await?.ok_or(FsError::NotFound)?;
            let mut released = Vec::new();
            match how {
                CreateMode::Guarded(_) => return Err(FsError::Exists),
                CreateMode::Exclusive(verf) => {
                    if file.kind != FileKind::Regular || file.create_verifier != Some(verf) {
                        return Err(FsError::Exists);
                    }
                }
                CreateMode::Unchecked(attrs) => {
                    if file.kind != FileKind::Regular {
                        return Err(FsError::Exists);
                    }
                    if let Some(size) = attrs.size {
                        super::access::require_data(ctx, &file, W)?;
                        check_size(size)?;
                        if size < file.size {
                            released = extents::truncate(tx, file.id, size).await?;
                        }
                        let now = Timestamp::now();
                        file.size = size;
                        file.mtime = now;
                        file.ctime = now;
                        tx.put_inode(&file).await?;
                    }
                }
            }
            let created = Created {
                handle: self.handle_of(&file),
                attrs: file,
                dir: Wcc::new(&before, &dir),
            };
            return Ok((created, released));
        }
        let id = tx.allocate_inode_id().await?;
        let mut file = match how {
            CreateMode::Unchecked(attrs) | CreateMode::Guarded(attrs) => {
                let mut f = fresh_inode(
                    ctx,
                    &dir,
                    id,
                    FileKind::Regular,
                    attrs.mode.unwrap_or(0o644),
                );
                apply_initial(ctx, &mut f, &attrs)?;
                f
            }
            CreateMode::Exclusive(verf) => {
                let mut f = fresh_inode(ctx, &dir, id, FileKind::Regular, 0o600);
                f.create_verifier = Some(verf);
                f
            }
        };
        file.ctime = Timestamp::now();
        link_into(tx, &mut dir, name, &file).await?;
        tx.put_inode(&file).await?;
        tx.put_inode(&dir).await?;
        let created = Created {
            handle: self.handle_of(&file),
            attrs: file,
            dir: Wcc::new(&before, &dir),
        };
        Ok((created, Vec::new()))
    }

    pub async fn mkdir(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        name: &[u8],
        attrs: SetAttrs,
    ) -> FsResult<Created> {
        self.check_share(dir)?;
        let ctx = self.effective(ctx)?;
        transact!(self, |tx| {
            self.make_node(
                tx,
                &ctx,
                dir,
                name,
                FileKind::Directory,
                attrs.mode.unwrap_or(0o755),
                &attrs,
                |_| Ok(()),
            )
            .await
        })
    }

    pub async fn symlink(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        name: &[u8],
        target: &[u8],
        attrs: SetAttrs,
    ) -> FsResult<Created> {
        self.check_share(dir)?;
        if target.is_empty() {
            return Err(FsError::Invalid);
        }
        if target.len() > MAX_PATH_LEN {
            return Err(FsError::NameTooLong);
        }
        let ctx = self.effective(ctx)?;
        let attrs = SetAttrs {
            mode: None,
            size: None,
            ..attrs
        };
        transact!(self, |tx| {
            self.make_node(
                tx,
                &ctx,
                dir,
                name,
                FileKind::Symlink,
                0o777,
                &attrs,
                |inode| {
                    inode.size = target.len() as u64;
                    inode.symlink = Some(Bytes::copy_from_slice(target));
                    Ok(())
                },
            )
            .await
        })
    }

    pub async fn mknod(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        name: &[u8],
        special: SpecialFile,
        attrs: SetAttrs,
    ) -> FsResult<Created> {
        self.check_share(dir)?;
        let ctx = self.effective(ctx)?;
        let (kind, rdev) = match special {
            SpecialFile::CharDevice { major, minor } => (FileKind::CharDevice, (major, minor)),
            SpecialFile::BlockDevice { major, minor } => (FileKind::BlockDevice, (major, minor)),
            SpecialFile::Socket => (FileKind::Socket, (0, 0)),
            SpecialFile::Fifo => (FileKind::Fifo, (0, 0)),
        };
        let attrs = SetAttrs {
            size: None,
            ..attrs
        };
        transact!(self, |tx| {
            self.make_node(
                tx,
                &ctx,
                dir,
                name,
                kind,
                attrs.mode.unwrap_or(0o644),
                &attrs,
                |inode| {
                    // Device nodes grant access to hardware: root only, as mknod(2).
                    if matches!(kind, FileKind::CharDevice | FileKind::BlockDevice)
                        && !ctx.is_root()
                    {
                        return Err(FsError::NotPermitted);
                    }
                    inode.rdev = rdev;
                    Ok(())
                },
            )
            .await
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn make_node(
        &self,
        tx: &mut dyn MetaTxn,
        ctx: &AuthContext,
        dir_fh: &FileHandle,
        name: &[u8],
        kind: FileKind,
        mode: u32,
        attrs: &SetAttrs,
        finish: impl FnOnce(&mut Inode) -> FsResult<()>,
    ) -> FsResult<Created> {
        let (mut dir, existing) = prepare(self, tx, ctx, dir_fh, name).await?;
        if existing.is_some() {
            return Err(FsError::Exists);
        }
        let before = dir.clone();
        let id = tx.allocate_inode_id().await?;
        let mut inode = fresh_inode(ctx, &dir, id, kind, mode);
        apply_initial(ctx, &mut inode, attrs)?;
        finish(&mut inode)?;
        if kind == FileKind::Directory {
            if dir.nlink >= MAX_LINKS {
                return Err(FsError::TooManyLinks);
            }
            dir.nlink += 1;
        }
        link_into(tx, &mut dir, name, &inode).await?;
        tx.put_inode(&inode).await?;
        tx.put_inode(&dir).await?;
        Ok(Created {
            handle: self.handle_of(&inode),
            attrs: inode,
            dir: Wcc::new(&before, &dir),
        })
    }

    /// Adds another name for a file. Returns the file's new attributes and
    /// the directory's change.
    pub async fn link(
        &self,
        ctx: &AuthContext,
        file: &FileHandle,
        dir: &FileHandle,
        name: &[u8],
    ) -> FsResult<(Inode, Wcc)> {
        self.check_share(dir)?;
        self.check_share(file)?;
        let ctx = self.effective(ctx)?;
        let (target, wcc) = transact!(self, |tx| {
            let mut target = load(tx, file).await?;
            // Directories get no hard links; ISDIR, as the kernel server
            // answers.
            if target.is_dir() {
                return Err(FsError::IsDir);
            }
            let (mut d, existing) = prepare(self, tx, &ctx, dir, name).await?;
            if existing.is_some() {
                return Err(FsError::Exists);
            }
            if target.nlink >= MAX_LINKS {
                return Err(FsError::TooManyLinks);
            }
            let before = d.clone();
            target.nlink += 1;
            target.ctime = Timestamp::now();
            link_into(tx, &mut d, name, &target).await?;
            tx.put_inode(&target).await?;
            tx.put_inode(&d).await?;
            Ok((target, Wcc::new(&before, &d)))
        })?;
        Ok((self.present(target), wcc))
    }
}
