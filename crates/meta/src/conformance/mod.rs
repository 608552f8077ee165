//! The conformance suite every [`MetadataStore`] must pass.
//!
//! The suite checks the contract documented on [`MetadataStore`] and
//! [`MetaTxn`] (round trips, transaction visibility and rollback, listing
//! order and resumption, extent overlap, block accounting) and, through a
//! [`MetadataService`] on the store, the isolation the service relies on
//! when many operations run at once. A new store is done when it passes
//! [`run`] unchanged, and [`run_reopen`] too if it is persistent.
//!
//! Checks use the traits only: inode numbers come from
//! `allocate_inode_id`, every entry and extent belongs to an inode that
//! exists, and nothing assumes how a store numbers or lays out its data.
//! What they do demand beyond the doc comments, because the service
//! depends on it: `u64` sizes and offsets keep their full range and order
//! as unsigned numbers, names are arbitrary bytes compared bytewise, and a
//! delete of an inode, extent or block ref that does not exist is a
//! harmless no-op.
//!
//! The suite spawns tasks, so call it from a multi-threaded tokio runtime,
//! e.g. `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dittofs_blocks::BlockId;

use crate::handle::{FileHandle, HandleBytes, HandleKey};
use crate::service::{
    CreateMode, FlushCommit, FlushRange, MetadataService, RootAttrs, ShareOptions,
};
use crate::store::{MetaTxn, MetadataStore};
use crate::types::{
    AuthContext, BlockRef, DirEntry, Extent, FIRST_ENTRY_COOKIE, FileKind, Inode, InodeId,
    SetAttrs, StoreStats, Timestamp,
};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type CheckFn = fn(Arc<dyn MetadataStore>) -> BoxFuture;
type Check = (&'static str, CheckFn);

/// Declares a module's `checks()`: its check functions, by name.
macro_rules! checks {
    ($($f:ident),* $(,)?) => {
        pub(super) fn checks() -> Vec<$crate::conformance::Check> {
            vec![$((
                concat!(module_path!(), "::", stringify!($f)),
                (|s: ::std::sync::Arc<dyn $crate::store::MetadataStore>| {
                    Box::pin($f(s)) as $crate::conformance::BoxFuture
                }) as $crate::conformance::CheckFn,
            )),*]
        }
    };
}

mod concurrency;
mod entries;
mod extents;
mod inodes;
mod listing;
mod objects;
mod reopen;
mod service;
mod txn;

/// Every check, each on a fresh store from `make`.
///
/// `make` must return an empty store. Checks run one after another; a
/// failing check panics with its name and what went wrong.
pub async fn run<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn MetadataStore>>,
{
    let all = [
        inodes::checks(),
        txn::checks(),
        entries::checks(),
        listing::checks(),
        extents::checks(),
        service::checks(),
        objects::checks(),
        concurrency::checks(),
    ];
    for (name, check) in all.into_iter().flatten() {
        let store = make().await;
        let stats = store.stats().await.expect("stats of a fresh store");
        assert_eq!(
            stats,
            StoreStats::default(),
            "{name}: make() must return an empty store"
        );
        run_one(name, check(store)).await;
    }
}

/// For persistent stores: `open()` opens the same data each time it is
/// called once every `Arc` from the previous call is dropped. The first
/// call must open an empty store.
pub async fn run_reopen<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn MetadataStore>>,
{
    reopen::run(&open).await;
}

/// Runs a check as its own task, so a panic anywhere in it (including in
/// tasks it joins) is reported with the check's name.
async fn run_one(name: &str, check: BoxFuture) {
    let started = Instant::now();
    match tokio::spawn(check).await {
        Ok(()) => eprintln!("conformance: {name} ok in {:?}", started.elapsed()),
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-string panic".to_owned());
            panic!("conformance check {name} failed: {msg}");
        }
        Err(e) => panic!("conformance check {name} did not finish: {e}"),
    }
}

pub(crate) fn ts(secs: i64, nanos: u32) -> Timestamp {
    Timestamp { secs, nanos }
}

/// A plausible inode of `kind`; checks change the fields they care about.
pub(crate) fn inode(id: InodeId, kind: FileKind) -> Inode {
    let dir = kind == FileKind::Directory;
    Inode {
        id,
        generation: 7,
        kind,
        mode: if dir { 0o755 } else { 0o644 },
        uid: 1000,
        gid: 1000,
        nlink: if dir { 2 } else { 1 },
        size: 0,
        atime: ts(1_700_000_000, 1),
        mtime: ts(1_700_000_000, 2),
        ctime: ts(1_700_000_000, 3),
        rdev: (0, 0),
        parent: if dir { id } else { 0 },
        symlink: None,
        create_verifier: None,
        next_cookie: FIRST_ENTRY_COOKIE,
        xattrs: Default::default(),
    }
}

pub(crate) async fn begin(store: &dyn MetadataStore) -> Box<dyn MetaTxn> {
    store.begin().await.expect("begin a transaction")
}

pub(crate) async fn commit(tx: Box<dyn MetaTxn>) {
    tx.commit().await.expect("commit");
}

/// Commits `n` new inodes of `kind` in one transaction.
pub(crate) async fn create_many(
    store: &dyn MetadataStore,
    kind: FileKind,
    n: usize,
) -> Vec<InodeId> {
    let mut tx = begin(store).await;
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = tx.allocate_inode_id().await.expect("allocate_inode_id");
        tx.put_inode(&inode(id, kind)).await.expect("put_inode");
        ids.push(id);
    }
    commit(tx).await;
    ids
}

pub(crate) async fn create_one(store: &dyn MetadataStore, kind: FileKind) -> InodeId {
    create_many(store, kind, 1).await[0]
}

pub(crate) fn entry(name: &[u8], inode: InodeId, cookie: u64) -> DirEntry {
    DirEntry {
        name: Bytes::copy_from_slice(name),
        inode,
        cookie,
    }
}

pub(crate) fn block(n: u64) -> BlockId {
    BlockId::of(&n.to_be_bytes())
}

pub(crate) fn names(entries: &[DirEntry]) -> Vec<Bytes> {
    entries.iter().map(|e| e.name.clone()).collect()
}

/// The whole of a directory through `list_by_cookie`, `page` at a time.
pub(crate) async fn all_by_cookie(
    store: &dyn MetadataStore,
    dir: InodeId,
    page: usize,
) -> Vec<DirEntry> {
    let mut out: Vec<DirEntry> = Vec::new();
    let mut after = 0;
    loop {
        let got = store
            .list_by_cookie(dir, after, page)
            .await
            .expect("list_by_cookie");
        assert!(
            got.len() <= page,
            "list_by_cookie returned {} entries for limit {page}",
            got.len()
        );
        let Some(last) = got.last() else { break };
        after = last.cookie;
        let done = got.len() < page;
        out.extend(got);
        if done {
            break;
        }
    }
    out
}

/// The whole of a directory through `list_by_name`, `page` at a time.
pub(crate) async fn all_by_name(
    store: &dyn MetadataStore,
    dir: InodeId,
    page: usize,
) -> Vec<DirEntry> {
    let mut out: Vec<DirEntry> = Vec::new();
    loop {
        let after = out.last().map(|e| e.name.clone());
        let got = store
            .list_by_name(dir, after.as_deref(), page)
            .await
            .expect("list_by_name");
        assert!(
            got.len() <= page,
            "list_by_name returned {} entries for limit {page}",
            got.len()
        );
        let done = got.len() < page;
        out.extend(got);
        if done {
            break;
        }
    }
    out
}

/// A share served from the store under test, acting as root.
#[derive(Clone)]
pub(crate) struct Fs {
    pub svc: Arc<MetadataService>,
    key: Arc<HandleKey>,
}

pub(crate) fn root_ctx() -> AuthContext {
    AuthContext::root()
}

impl Fs {
    pub async fn open(store: Arc<dyn MetadataStore>, share: &str) -> Self {
        let key = Arc::new(HandleKey::from_bytes([1; 32]));
        let attrs = RootAttrs {
            mode: 0o777,
            uid: 0,
            gid: 0,
        };
        let svc = MetadataService::open(share, store, key.clone(), ShareOptions::default(), attrs)
            .await
            .expect("open the share");
        Self {
            svc: Arc::new(svc),
            key,
        }
    }

    pub fn fh(&self, h: &HandleBytes) -> FileHandle {
        self.key
            .open(h)
            .expect("the service returned a handle its key cannot open")
    }

    pub async fn root(&self) -> FileHandle {
        self.fh(&self
            .svc
            .root_handle(&crate::types::AuthContext::root())
            .await
            .expect("root handle"))
    }

    pub async fn mkdir(&self, dir: &FileHandle, name: &str) -> (FileHandle, Inode) {
        let c = self
            .svc
            .mkdir(&root_ctx(), dir, name.as_bytes(), SetAttrs::default())
            .await
            .unwrap_or_else(|e| panic!("mkdir {name}: {e}"));
        (self.fh(&c.handle), c.attrs)
    }

    pub async fn create(&self, dir: &FileHandle, name: &str) -> (FileHandle, Inode) {
        let how = CreateMode::Guarded(SetAttrs::default());
        let c = self
            .svc
            .create(&root_ctx(), dir, name.as_bytes(), how)
            .await
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        (self.fh(&c.handle), c.attrs)
    }

    pub async fn handle(&self, dir: &FileHandle, name: &str) -> FileHandle {
        let (h, _, _) = self
            .svc
            .lookup(&root_ctx(), dir, name.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("lookup {name}: {e}"));
        self.fh(&h)
    }

    /// Commits a flush of `ranges` that leaves the file `size` bytes long.
    pub async fn commit_flush(&self, fh: &FileHandle, ranges: Vec<FlushRange>, size: u64) {
        let flush = FlushCommit {
            ranges,
            size,
            mtime: Timestamp::now(),
        };
        self.svc
            .commit_flush(fh.inode, &flush)
            .await
            .expect("commit_flush");
    }

    /// The inode `name` leads to, if any.
    pub async fn lookup(&self, dir: &FileHandle, name: &str) -> Option<Inode> {
        match self.svc.lookup(&root_ctx(), dir, name.as_bytes()).await {
            Ok((_, inode, _)) => Some(inode),
            Err(crate::error::FsError::NotFound) => None,
            Err(e) => panic!("lookup {name}: {e}"),
        }
    }
}

/// What a namespace walk found: every reachable inode and the names that
/// lead to each.
#[derive(Debug, Default)]
pub(crate) struct Namespace {
    pub inodes: BTreeMap<InodeId, Inode>,
    pub names: BTreeMap<InodeId, Vec<(InodeId, Bytes)>>,
}

impl Namespace {
    /// The inode under `name` in `dir`, if the walk saw one.
    pub fn child(&self, dir: InodeId, name: &[u8]) -> Option<InodeId> {
        self.names
            .iter()
            .find(|(_, ns)| ns.iter().any(|(d, n)| *d == dir && n.as_ref() == name))
            .map(|(id, _)| *id)
    }
}

/// Walks the trees under `roots` through store reads and checks what any
/// sequence of service operations must leave behind: every name leads to a
/// live inode, listings agree with lookups, cookies are unique and below
/// the directory's `next_cookie`, each directory has exactly one name and
/// the right parent and link count, each other inode's link count equals
/// its names, and the store holds no inode the walk did not reach.
pub(crate) async fn check_namespace(store: &dyn MetadataStore, roots: &[InodeId]) -> Namespace {
    let mut ns = Namespace::default();
    let mut pending = Vec::new();
    for &root in roots {
        let r = store
            .get_inode(root)
            .await
            .expect("get_inode")
            .expect("a share root exists");
        assert!(
            r.is_dir() && r.parent == root,
            "a root is a directory and its own parent: {r:?}"
        );
        ns.inodes.insert(root, r);
        pending.push(root);
    }
    while let Some(dir) = pending.pop() {
        let d = ns.inodes[&dir].clone();
        let listed = all_by_cookie(store, dir, 64).await;
        let mut by_name = names(&listed);
        by_name.sort();
        assert_eq!(
            names(&all_by_name(store, dir, 64).await),
            by_name,
            "list_by_name and list_by_cookie of dir {dir} hold different names"
        );
        let mut subdirs = 0;
        let mut last_cookie = 0;
        for e in &listed {
            assert!(
                e.cookie > last_cookie,
                "dir {dir}: cookies out of order at {e:?}"
            );
            assert!(
                e.cookie >= FIRST_ENTRY_COOKIE && e.cookie < d.next_cookie,
                "dir {dir}: cookie of {e:?} outside {FIRST_ENTRY_COOKIE}..{}",
                d.next_cookie
            );
            last_cookie = e.cookie;
            let looked = store.lookup(dir, &e.name).await.expect("lookup");
            assert_eq!(
                looked.as_ref(),
                Some(e),
                "dir {dir}: lookup disagrees with the listing"
            );
            let child = store
                .get_inode(e.inode)
                .await
                .expect("get_inode")
                .unwrap_or_else(|| panic!("dir {dir}: {e:?} names a missing inode"));
            let seen = ns.names.entry(e.inode).or_default();
            seen.push((dir, e.name.clone()));
            if child.is_dir() {
                subdirs += 1;
                assert_eq!(
                    seen.len(),
                    1,
                    "directory {} has several names (or a cycle): {seen:?}",
                    e.inode
                );
                assert_eq!(
                    child.parent, dir,
                    "directory {:?} records the wrong parent",
                    e.name
                );
                pending.push(e.inode);
            }
            ns.inodes.insert(e.inode, child);
        }
        assert_eq!(
            d.nlink,
            2 + subdirs,
            "dir {dir} has {subdirs} subdirectories but nlink {}",
            d.nlink
        );
    }
    for (id, inode) in &ns.inodes {
        if !inode.is_dir() {
            let n = ns.names[id].len() as u32;
            assert_eq!(
                inode.nlink, n,
                "inode {id} has {n} names but nlink {}",
                inode.nlink
            );
        }
    }
    let stats = store.stats().await.expect("stats");
    assert_eq!(
        stats.inodes,
        ns.inodes.len() as u64,
        "the store counts inodes that no name reaches (leaked or cut off in a cycle)"
    );
    ns
}

/// Everything a store holds under some roots, as store reads return it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Dump {
    pub inodes: BTreeMap<InodeId, Inode>,
    /// Each directory's entries in cookie order.
    pub entries: BTreeMap<InodeId, Vec<DirEntry>>,
    /// Each directory's names in name order.
    pub by_name: BTreeMap<InodeId, Vec<Bytes>>,
    pub extents: BTreeMap<InodeId, Vec<Extent>>,
    /// Every block an extent points into.
    pub blocks: BTreeMap<BlockId, Option<BlockRef>>,
    pub stats: StoreStats,
}

pub(crate) async fn dump(store: &dyn MetadataStore, roots: &[InodeId]) -> Dump {
    let mut d = Dump {
        inodes: BTreeMap::new(),
        entries: BTreeMap::new(),
        by_name: BTreeMap::new(),
        extents: BTreeMap::new(),
        blocks: BTreeMap::new(),
        stats: store.stats().await.expect("stats"),
    };
    let mut pending: Vec<InodeId> = roots.to_vec();
    while let Some(id) = pending.pop() {
        if d.inodes.contains_key(&id) {
            continue;
        }
        let inode = store
            .get_inode(id)
            .await
            .expect("get_inode")
            .expect("a named inode exists");
        if inode.is_dir() {
            let entries = all_by_cookie(store, id, 7).await;
            pending.extend(entries.iter().map(|e| e.inode));
            d.by_name
                .insert(id, names(&all_by_name(store, id, 7).await));
            d.entries.insert(id, entries);
        } else {
            let exts = store.extents(id, 0, u64::MAX).await.expect("extents");
            for id in exts.iter().filter_map(|e| e.block()) {
                let r = store.block_ref(id).await.expect("block_ref");
                d.blocks.insert(*id, r);
            }
            d.extents.insert(id, exts);
        }
        d.inodes.insert(id, inode);
    }
    d
}
