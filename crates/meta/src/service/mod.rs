//! The metadata service of one share: identity (squash), permissions, name
//! rules, handles, and every namespace operation as one transaction.

mod access;
mod attrs;
mod clients;
mod create;
mod holds;
mod names;
mod objects;
mod readdir;
mod remove;
mod write;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_blocks::BlockId;

use crate::error::{FsError, FsResult};
use crate::handle::{FileHandle, HandleBytes, HandleKey, ShareId};
use crate::store::{MetaTxn, MetadataStore};
use crate::types::{AuthContext, FileKind, Inode, InodeId, Timestamp};

pub use access::{
    ACCESS_DELETE, ACCESS_EXECUTE, ACCESS_EXTEND, ACCESS_LOOKUP, ACCESS_MODIFY, ACCESS_READ,
};
pub use clients::{BadCidr, Cidr, ClientRules};
pub use create::{CreateMode, SpecialFile};
pub use names::MAX_NAME_LEN;
pub use objects::NewFile;
pub use readdir::{DirListing, ListedEntry};
pub use write::{FlushCommit, FlushRange, WriteOutcome};

/// The longest symlink target accepted (Linux PATH_MAX).
pub const MAX_PATH_LEN: usize = 4096;
/// The most hard links one file may have.
pub const MAX_LINKS: u32 = 65_000;
/// The size directories report.
pub const DIR_SIZE: u64 = 4096;
/// The largest size a file may be given (the largest signed 64-bit offset,
/// as the content layer's writes allow); beyond it is `FileTooLarge`.
pub(crate) const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// Refuses a size no file may have.
pub(crate) fn check_size(size: u64) -> FsResult<()> {
    if size > MAX_FILE_SIZE {
        Err(FsError::FileTooLarge)
    } else {
        Ok(())
    }
}

/// How client identities are rewritten on a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Squash {
    /// Every caller becomes the anonymous identity (all_squash).
    pub all: bool,
    /// uid 0 becomes the anonymous identity (root_squash).
    pub privileged: bool,
    pub anon_uid: u32,
    pub anon_gid: u32,
}

impl Default for Squash {
    fn default() -> Self {
        Self {
            all: false,
            privileged: false,
            anon_uid: crate::types::ANONYMOUS_ID,
            anon_gid: crate::types::ANONYMOUS_ID,
        }
    }
}

/// Owner and mode of a share's root directory when it is first created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootAttrs {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareOptions {
    pub read_only: bool,
    pub squash: Squash,
    pub clients: ClientRules,
    /// Only local clients may see who mounted this share.
    pub dump_restricted: bool,
}

/// Size and modification time of writes the content layer holds but has
/// not yet put in the metadata store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingAttrs {
    pub size: u64,
    pub mtime: Timestamp,
}

/// Held by the metadata service while it changes a file's size or times,
/// so no flush of earlier writes lands in between.
pub type SettleGuard = Box<dyn std::any::Any + Send>;

/// What the content layer must hear about from namespace changes, and
/// what it tells the metadata service about writes it holds.
#[async_trait]
pub trait DataHooks: Send + Sync {
    /// Before a file's size or times are set: everything written to it so
    /// far is put in the stores, and further flushes of it wait until the
    /// returned guard is dropped.
    async fn settle(&self, inode: InodeId) -> FsResult<SettleGuard>;
    /// A file's size was set (while its settle guard is held).
    fn resized(&self, inode: InodeId, size: u64);
    /// `start..end` of a file is about to be replaced by blocks from
    /// elsewhere (while its settle guard is held): earlier writes there
    /// must not come back, even after a crash.
    async fn discard(&self, inode: InodeId, start: u64, end: u64) -> FsResult<()>;
    /// Attributes of writes to `inode` not yet in the metadata store.
    fn pending(&self, inode: InodeId) -> Option<PendingAttrs>;
    /// A file's last link is gone; its content can be forgotten.
    fn file_removed(&self, inode: InodeId);
    /// Blocks nothing references any more, after the commit that released
    /// them.
    fn blocks_released(&self, blocks: Vec<BlockId>);
}

/// Attributes before a change, for weak cache consistency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreAttrs {
    pub size: u64,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
}

impl From<&Inode> for PreAttrs {
    fn from(i: &Inode) -> Self {
        Self {
            size: i.size,
            mtime: i.mtime,
            ctime: i.ctime,
        }
    }
}

/// Attributes of an object before and after a change, taken inside the
/// transaction that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wcc {
    pub before: PreAttrs,
    pub after: Inode,
}

impl Wcc {
    fn new(before: &Inode, after: &Inode) -> Self {
        Self {
            before: before.into(),
            after: after.clone(),
        }
    }
}

/// The result of any operation that creates a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub handle: HandleBytes,
    pub attrs: Inode,
    pub dir: Wcc,
}

/// One share's metadata: every namespace and attribute operation, checked
/// against the caller's identity and committed as one transaction.
pub struct MetadataService {
    share: ShareId,
    name: String,
    store: Arc<dyn MetadataStore>,
    key: Arc<HandleKey>,
    root: InodeId,
    options: ShareOptions,
    hooks: OnceLock<Arc<dyn DataHooks>>,
    holds: holds::Holds,
    root_generation: OnceLock<u32>,
}

/// A transaction that hit a conflict is retried this many times.
pub(crate) const MAX_ATTEMPTS: u32 = 16;

/// Runs `$body` (an expression using `$tx: &mut dyn MetaTxn`, evaluated in
/// an async block so `?` and `return` end only the attempt) in a
/// transaction, committing on success and retrying on conflict. An error
/// drops the transaction, which rolls it back.
macro_rules! transact {
    ($svc:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut txn = $svc.store().begin().await?;
            let result: $crate::error::FsResult<_> = {
                let $tx: &mut dyn $crate::store::MetaTxn = &mut *txn;
                async { $body }.await
            };
            match result {
                Ok(v) => match txn.commit().await {
                    Ok(()) => break Ok(v),
                    Err($crate::error::StoreError::Conflict)
                        if attempt < $crate::service::MAX_ATTEMPTS =>
                    {
                        continue;
                    }
                    Err(e) => break Err($crate::error::FsError::from(e)),
                },
                Err($crate::error::FsError::Store($crate::error::StoreError::Conflict))
                    if attempt < $crate::service::MAX_ATTEMPTS =>
                {
                    continue;
                }
                Err(e) => break Err(e),
            }
        }
    }};
}
pub(crate) use transact;

impl MetadataService {
    /// Opens a share on `store`, creating its root directory the first
    /// time.
    pub async fn open(
        name: &str,
        store: Arc<dyn MetadataStore>,
        key: Arc<HandleKey>,
        options: ShareOptions,
        root_attrs: RootAttrs,
    ) -> FsResult<Self> {
        let mut svc = Self {
            share: crate::handle::share_id(name),
            name: name.to_owned(),
            store,
            key,
            root: 0,
            options,
            hooks: OnceLock::new(),
            holds: Default::default(),
            root_generation: OnceLock::new(),
        };
        svc.root = match svc.store.share_root(name).await? {
            Some(root) => root,
            None => {
                let name = svc.name.clone();
                transact!(svc, |tx| create_root(tx, &name, root_attrs).await)?
            }
        };
        Ok(svc)
    }

    pub(crate) fn store(&self) -> &Arc<dyn MetadataStore> {
        &self.store
    }

    pub fn share_id(&self) -> ShareId {
        self.share
    }

    pub fn share_name(&self) -> &str {
        &self.name
    }

    pub fn options(&self) -> &ShareOptions {
        &self.options
    }

    /// Makes every change committed so far survive a crash of the machine
    /// (the store's sync), for adapters that acknowledge durability.
    pub async fn sync(&self) -> FsResult<()> {
        Ok(self.store().sync().await?)
    }

    pub fn metadata_store(&self) -> &Arc<dyn MetadataStore> {
        &self.store
    }

    /// Connects the content layer. Only the first call has an effect.
    pub fn set_hooks(&self, hooks: Arc<dyn DataHooks>) {
        let _ = self.hooks.set(hooks);
    }

    fn hooks(&self) -> Option<&Arc<dyn DataHooks>> {
        self.hooks.get()
    }

    /// An inode as clients must see it: with the size and times of writes
    /// the content layer holds but has not flushed yet.
    pub(crate) fn present(&self, inode: Inode) -> Inode {
        self.present_after(inode, None)
    }

    /// Attributes of writes to `inode` not yet in the store, read before
    /// the store is: see [`present_after`](Self::present_after).
    pub(crate) fn pending_of(&self, inode: InodeId) -> Option<PendingAttrs> {
        self.hooks().and_then(|h| h.pending(inode))
    }

    /// `inode` as read from the store, with the writes not yet flushed
    /// into it. `before` is what [`pending_of`](Self::pending_of) said
    /// before the store was read: a flush that lands between the two reads
    /// has already dropped its pending attributes when they are asked for
    /// again, and the store was read too early to hold them.
    pub(crate) fn present_after(&self, mut inode: Inode, before: Option<PendingAttrs>) -> Inode {
        if inode.kind == FileKind::Regular
            && let Some(p) = self.pending_of(inode.id).or(before)
        {
            inode.size = p.size;
            if p.mtime > inode.mtime {
                inode.mtime = p.mtime;
            }
            if p.mtime > inode.ctime {
                inode.ctime = p.mtime;
            }
        }
        inode
    }

    /// Holds back flushes of a regular file whose size or times are about
    /// to change.
    pub(crate) async fn settle(&self, inode: &Inode) -> FsResult<Option<SettleGuard>> {
        match (inode.kind, self.hooks()) {
            (FileKind::Regular, Some(h)) => Ok(Some(h.settle(inode.id).await?)),
            _ => Ok(None),
        }
    }

    pub(crate) fn resized(&self, inode: InodeId, size: u64) {
        if let Some(h) = self.hooks() {
            h.resized(inode, size);
        }
    }

    fn release(&self, blocks: Vec<BlockId>) {
        if let (false, Some(h)) = (blocks.is_empty(), self.hooks()) {
            h.blocks_released(blocks);
        }
    }

    pub fn handle_of(&self, inode: &Inode) -> HandleBytes {
        self.key.seal(&FileHandle {
            share: self.share,
            inode: inode.id,
            generation: inode.generation,
        })
    }

    /// The share's root handle, for a client the share admits (MOUNT).
    pub async fn root_handle(&self, ctx: &AuthContext) -> FsResult<HandleBytes> {
        let fh = self.root_fh(ctx).await?;
        Ok(self.key.seal(&fh))
    }

    /// The share's root directory, for a caller the share admits. Its
    /// generation is read once: a share's root is never replaced.
    pub async fn root_fh(&self, ctx: &AuthContext) -> FsResult<FileHandle> {
        self.effective(ctx)?;
        let generation = match self.root_generation.get() {
            Some(g) => *g,
            None => {
                let root = self
                    .store
                    .get_inode(self.root)
                    .await?
                    .ok_or(FsError::Stale)?;
                *self.root_generation.get_or_init(|| root.generation)
            }
        };
        Ok(FileHandle {
            share: self.share,
            inode: self.root,
            generation,
        })
    }

    /// The identity the share acts on behalf of, after the client rules
    /// and squashing. A client the share does not admit is refused here,
    /// before anything is looked at.
    pub fn effective(&self, ctx: &AuthContext) -> FsResult<AuthContext> {
        if let Some(addr) = ctx.client
            && !self.options.clients.admits(addr.ip())
        {
            return Err(FsError::AccessDenied);
        }
        let s = &self.options.squash;
        Ok(if s.all || (s.privileged && ctx.uid == 0) {
            AuthContext {
                uid: s.anon_uid,
                gid: s.anon_gid,
                gids: Vec::new(),
                client: ctx.client,
            }
        } else if s.privileged && (ctx.gid == 0 || ctx.gids.contains(&0)) {
            // Root squashing also takes away the root group.
            AuthContext {
                gid: if ctx.gid == 0 { s.anon_gid } else { ctx.gid },
                gids: ctx.gids.iter().copied().filter(|g| *g != 0).collect(),
                ..ctx.clone()
            }
        } else {
            ctx.clone()
        })
    }

    /// Whether a client may see the mounts of this share (MOUNT DUMP).
    pub fn may_list_mounts(&self, client: std::net::IpAddr) -> bool {
        let client = match client {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, std::net::IpAddr::V4),
            v4 => v4,
        };
        !self.options.dump_restricted || client.is_loopback()
    }

    fn check_share(&self, fh: &FileHandle) -> FsResult<()> {
        if fh.share == self.share {
            Ok(())
        } else {
            Err(FsError::CrossShare)
        }
    }

    fn writable(&self) -> FsResult<()> {
        if self.options.read_only {
            Err(FsError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// The attributes of the object a handle names.
    pub async fn getattr(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<Inode> {
        self.effective(ctx)?;
        self.attrs(fh).await
    }

    /// The inode a handle names, outside any transaction and without
    /// checking the caller: for the service's own use.
    pub(crate) async fn attrs(&self, fh: &FileHandle) -> FsResult<Inode> {
        self.check_share(fh)?;
        let before = self.pending_of(fh.inode);
        let inode = self.store.get_inode(fh.inode).await?;
        valid(inode, fh).map(|i| self.present_after(i, before))
    }

    /// Attributes for an error reply, when the caller may have them.
    pub async fn attrs_if_any(&self, ctx: &AuthContext, fh: &FileHandle) -> Option<Inode> {
        self.getattr(ctx, fh).await.ok()
    }

    pub async fn readlink(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<(Bytes, Inode)> {
        let inode = self.getattr(ctx, fh).await?;
        match (&inode.kind, &inode.symlink) {
            (FileKind::Symlink, Some(target)) => Ok((target.clone(), inode)),
            _ => Err(FsError::Invalid),
        }
    }
}

/// Checks that a loaded inode is the one the handle was issued for.
fn valid(inode: Option<Inode>, fh: &FileHandle) -> FsResult<Inode> {
    match inode {
        Some(i) if i.generation == fh.generation => Ok(i),
        _ => Err(FsError::Stale),
    }
}

async fn load(tx: &mut dyn MetaTxn, fh: &FileHandle) -> FsResult<Inode> {
    valid(tx.get_inode(fh.inode).await?, fh)
}

async fn load_dir(tx: &mut dyn MetaTxn, fh: &FileHandle) -> FsResult<Inode> {
    let dir = load(tx, fh).await?;
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(FsError::NotDir)
    }
}

fn new_generation() -> u32 {
    let mut b = [0u8; 4];
    // A fixed generation only weakens stale-handle detection across store
    // re-creation; it is not a reason to fail a create.
    let _ = getrandom::fill(&mut b);
    u32::from_ne_bytes(b)
}

/// The share's root, created unless another server or task created it
/// first (the check is inside the transaction, so only one root ever wins).
async fn create_root(tx: &mut dyn MetaTxn, share: &str, attrs: RootAttrs) -> FsResult<InodeId> {
    if let Some(root) = tx.share_root(share).await? {
        return Ok(root);
    }
    let id = tx.allocate_inode_id().await?;
    let now = Timestamp::now();
    let root = Inode {
        id,
        generation: new_generation(),
        kind: FileKind::Directory,
        mode: attrs.mode & crate::types::MODE_MASK,
        uid: attrs.uid,
        gid: attrs.gid,
        nlink: 2,
        size: DIR_SIZE,
        atime: now,
        mtime: now,
        ctime: now,
        rdev: (0, 0),
        parent: id,
        symlink: None,
        create_verifier: None,
        next_cookie: crate::types::FIRST_ENTRY_COOKIE,
        xattrs: Default::default(),
    };
    tx.put_inode(&root).await?;
    tx.set_share_root(share, id).await?;
    Ok(id)
}
