//! Persistence: everything committed survives closing and reopening the
//! store, nothing uncommitted does, and inode numbers are never handed out
//! twice across a reopen.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use super::{Fs, begin, block, check_namespace, commit, dump, entry, inode, root_ctx, ts};
use crate::extents::NewExtent;
use crate::handle::{FileHandle, HandleBytes};
use crate::service::FlushRange;
use crate::service::{CreateMode, SpecialFile};
use crate::store::MetadataStore;
use crate::types::{BlockRef, Extent, FileKind, InodeId, SetAttrs, SetTime, StoreStats};

const SHARES: [&str; 2] = ["/export", "/archive"];

/// Maps `new` (offset, len, block number) into the file as one write.
async fn write(fs: &Fs, fh: &FileHandle, new: &[(u64, u64, u64)]) {
    let exts: Vec<NewExtent> = new
        .iter()
        .map(|&(offset, len, n)| NewExtent {
            extent: Extent::in_block(offset, len, block(n), n),
            block_size: 1 << 20,
        })
        .collect();
    let start = new.iter().map(|e| e.0).min().expect("extents");
    let end = new.iter().map(|e| e.0 + e.1).max().expect("extents");
    let size = fs
        .svc
        .getattr(&root_ctx(), fh)
        .await
        .expect("getattr")
        .size
        .max(end);
    let range = FlushRange {
        start,
        end,
        extents: exts,
    };
    fs.commit_flush(fh, vec![range], size).await;
}

/// Puts `bytes` at `offset` of the file, inline.
async fn write_inline(fs: &Fs, fh: &FileHandle, offset: u64, bytes: &'static [u8]) {
    let end = offset + bytes.len() as u64;
    let range = FlushRange {
        start: offset,
        end,
        extents: vec![NewExtent::inline(Extent::inline(
            offset,
            bytes::Bytes::from_static(bytes),
        ))],
    };
    fs.commit_flush(fh, vec![range], end).await;
}

/// What the first session leaves for the next ones to check.
struct Session {
    roots: Vec<InodeId>,
    used: BTreeSet<InodeId>,
    handles: Vec<HandleBytes>,
}

/// Builds a tree with every kind of record in two shares, plus a deleted
/// file, an allocated-but-unused id and a rolled-back transaction.
async fn populate(store: Arc<dyn MetadataStore>) -> Session {
    let export = Fs::open(store.clone(), SHARES[0]).await;
    let archive = Fs::open(store.clone(), SHARES[1]).await;
    let ctx = root_ctx();
    let root = export.root().await;
    let (docs, _) = export.mkdir(&root, "docs").await;
    let (deep, _) = export.mkdir(&docs, "deep").await;
    let (a, _) = export.create(&docs, "a").await;
    write(&export, &a, &[(0, 100, 1)]).await;
    let (b, _) = export.create(&deep, "b").await;
    write(&export, &b, &[(0, 4096, 2), (4096, 4096, 3)]).await;
    write(&export, &b, &[(1000, 10, 4)]).await;
    let (small, _) = export.create(&deep, "small").await;
    write_inline(&export, &small, 0, b"a small file's bytes, kept inline").await;
    write_inline(&export, &small, 2, b"SMALL").await;
    export
        .svc
        .link(&ctx, &a, &root, b"hard")
        .await
        .expect("link");
    export.svc.link(&ctx, &a, &deep, b"a2").await.expect("link");
    export
        .svc
        .symlink(&ctx, &root, b"link", b"docs/a", SetAttrs::default())
        .await
        .expect("symlink");
    let fifo = SpecialFile::Fifo;
    export
        .svc
        .mknod(&ctx, &root, b"fifo", fifo, SetAttrs::default())
        .await
        .expect("mknod");
    let chr = SpecialFile::CharDevice {
        major: 4,
        minor: 64,
    };
    export
        .svc
        .mknod(&ctx, &root, b"tty", chr, SetAttrs::default())
        .await
        .expect("mknod");
    let excl = CreateMode::Exclusive([9, 8, 7, 6, 5, 4, 3, 0xff]);
    let x = export
        .svc
        .create(&ctx, &root, b"exclusive", excl)
        .await
        .expect("exclusive create");
    let (odd_fh, _) = export.create(&root, "naïve-😀").await;
    export
        .svc
        .create(
            &ctx,
            &docs,
            b"\xff\xfe-latin1",
            CreateMode::Guarded(SetAttrs::default()),
        )
        .await
        .expect("create");
    let attrs = SetAttrs {
        mode: Some(0o4750),
        uid: Some(1234),
        gid: Some(5678),
        size: Some(1 << 40),
        atime: SetTime::Client(ts(1_600_000_000, 123_456_789)),
        mtime: SetTime::Client(ts(-5, 1)),
    };
    export
        .svc
        .setattr(&ctx, &odd_fh, attrs, None)
        .await
        .expect("setattr");
    let (many, _) = export.mkdir(&root, "many").await;
    for i in 0..150 {
        export.create(&many, &format!("m{i:03}")).await;
    }
    for i in (0..150).step_by(3) {
        export
            .svc
            .remove(&ctx, &many, format!("m{i:03}").as_bytes())
            .await
            .expect("remove");
    }
    export
        .svc
        .rename(&ctx, &many, b"m001", &many, b"m001-renamed")
        .await
        .expect("rename");
    let (gone, gone_attrs) = export.create(&root, "gone").await;
    write(&export, &gone, &[(0, 10, 5)]).await;
    export
        .svc
        .remove(&ctx, &root, b"gone")
        .await
        .expect("remove");

    let aroot = archive.root().await;
    let (copy, _) = archive.create(&aroot, "copy-of-a").await;
    write(&archive, &copy, &[(0, 100, 1)]).await;
    archive.mkdir(&aroot, "empty").await;
    export
        .svc
        .set_xattrs(
            &ctx,
            &a,
            &[
                (
                    bytes::Bytes::from_static(b"user.etag"),
                    Some(bytes::Bytes::from_static(b"\"0123\"")),
                ),
                (
                    bytes::Bytes::from_static(b"user.empty"),
                    Some(bytes::Bytes::new()),
                ),
            ],
        )
        .await
        .expect("set_xattrs");
    let doomed = Fs::open(store.clone(), "/doomed").await;
    doomed.svc.remove_share(&ctx).await.expect("remove_share");

    let mut used: BTreeSet<InodeId> = [gone_attrs.id].into();
    let mut tx = begin(&*store).await;
    used.insert(tx.allocate_inode_id().await.expect("allocate_inode_id"));
    commit(tx).await;
    {
        let mut tx = begin(&*store).await;
        let id = tx.allocate_inode_id().await.expect("allocate_inode_id");
        tx.put_inode(&inode(id, FileKind::Regular))
            .await
            .expect("put_inode");
        tx.put_entry(root.inode, &entry(b"ghost", id, 1 << 30))
            .await
            .expect("put_entry");
        tx.put_block_ref(&block(99), &BlockRef { refs: 1, size: 1 })
            .await
            .expect("put_block_ref");
        tx.set_share_root("/ghost", id)
            .await
            .expect("set_share_root");
        // Dropped: none of this may survive.
    }
    let roots = vec![root.inode, aroot.inode];
    let ns = check_namespace(&*store, &roots).await;
    used.extend(ns.inodes.keys());
    let handles = vec![
        export
            .svc
            .root_handle(&crate::types::AuthContext::root())
            .await
            .expect("root handle"),
        archive
            .svc
            .root_handle(&crate::types::AuthContext::root())
            .await
            .expect("root handle"),
        export.svc.handle_of(&x.attrs),
        export.svc.handle_of(
            &export
                .svc
                .getattr(&crate::types::AuthContext::root(), &odd_fh)
                .await
                .expect("getattr"),
        ),
        export.svc.handle_of(
            &export
                .svc
                .getattr(&crate::types::AuthContext::root(), &b)
                .await
                .expect("getattr"),
        ),
    ];
    Session {
        roots,
        used,
        handles,
    }
}

/// Checks a reopened store against the state dumped before, and that the
/// services find their old roots and handles.
async fn verify(store: &Arc<dyn MetadataStore>, s: &Session, before: &super::Dump, round: usize) {
    for (share, root) in SHARES.iter().zip(&s.roots) {
        let got = store.share_root(share).await.expect("share_root");
        assert_eq!(got, Some(*root), "reopen {round}: share root of {share}");
    }
    let listed: Vec<String> = store
        .list_shares()
        .await
        .expect("list_shares")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        listed,
        ["/archive", "/export"],
        "reopen {round}: shares (a removed one stays removed)"
    );
    let ghost = store.share_root("/ghost").await.expect("share_root");
    assert_eq!(
        ghost, None,
        "reopen {round}: a rolled-back share root survived"
    );
    let after = dump(&**store, &s.roots).await;
    assert_eq!(after.stats, before.stats, "reopen {round}: stats");
    assert_eq!(after.inodes, before.inodes, "reopen {round}: inodes");
    assert_eq!(
        after.entries, before.entries,
        "reopen {round}: entries and cookies"
    );
    assert_eq!(after.by_name, before.by_name, "reopen {round}: name order");
    assert_eq!(after.extents, before.extents, "reopen {round}: extents");
    assert_eq!(after.blocks, before.blocks, "reopen {round}: block refs");
    assert_eq!(
        store.lookup(s.roots[0], b"ghost").await.expect("lookup"),
        None,
        "reopen {round}: rolled-back entry"
    );
    assert_eq!(
        store.block_ref(&block(99)).await.expect("block_ref"),
        None,
        "reopen {round}: rolled-back block ref"
    );
    check_namespace(&**store, &s.roots).await;
    let export = Fs::open(store.clone(), SHARES[0]).await;
    let archive = Fs::open(store.clone(), SHARES[1]).await;
    assert_eq!(
        export
            .svc
            .root_handle(&crate::types::AuthContext::root())
            .await
            .expect("root handle"),
        s.handles[0],
        "reopen {round}: root handle"
    );
    assert_eq!(
        archive
            .svc
            .root_handle(&crate::types::AuthContext::root())
            .await
            .expect("root handle"),
        s.handles[1],
        "reopen {round}: root handle"
    );
    for h in &s.handles[2..] {
        let fh = export.fh(h);
        let attrs = export
            .svc
            .getattr(&crate::types::AuthContext::root(), &fh)
            .await
            .expect("an old handle still works");
        assert_eq!(
            Some(&attrs),
            before.inodes.get(&fh.inode),
            "reopen {round}: attributes by old handle"
        );
    }
}

/// Allocates ids (committed and rolled back) and checks none was used
/// before; the committed ones join `used`.
async fn allocate_fresh(store: &dyn MetadataStore, used: &mut BTreeSet<InodeId>, round: usize) {
    {
        let mut tx = begin(store).await;
        for _ in 0..3 {
            let id = tx.allocate_inode_id().await.expect("allocate_inode_id");
            assert!(
                id > 1 && !used.contains(&id),
                "reopen {round}: allocate_inode_id reused {id}"
            );
        }
    }
    let mut tx = begin(store).await;
    for _ in 0..3 {
        let id = tx.allocate_inode_id().await.expect("allocate_inode_id");
        assert!(
            id > 1 && used.insert(id),
            "reopen {round}: allocate_inode_id reused {id}"
        );
    }
    commit(tx).await;
}

/// Changes made after a reopen must persist too.
async fn change(store: Arc<dyn MetadataStore>, used: &mut BTreeSet<InodeId>) {
    let fs = Fs::open(store, SHARES[0]).await;
    let ctx = root_ctx();
    let root = fs.root().await;
    let docs = fs.handle(&root, "docs").await;
    let deep = fs.handle(&docs, "deep").await;
    fs.svc
        .rename(&ctx, &docs, b"a", &deep, b"a3")
        .await
        .expect("rename");
    fs.svc.remove(&ctx, &root, b"hard").await.expect("remove");
    fs.svc
        .rename(&ctx, &root, b"many", &deep, b"many")
        .await
        .expect("rename a directory");
    let b = fs.handle(&deep, "b").await;
    write(&fs, &b, &[(2000, 3000, 6)]).await;
    let (_, made) = fs.mkdir(&root, "after-reopen").await;
    used.insert(made.id);
    let (_, made) = fs.create(&root, "file-after-reopen").await;
    used.insert(made.id);
}

pub(super) async fn run<F, Fut>(open: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn MetadataStore>>,
{
    let store = open().await;
    assert_eq!(
        store.stats().await.expect("stats"),
        StoreStats::default(),
        "the first open() must be empty"
    );
    let mut session = populate(store.clone()).await;
    let mut before = dump(&*store, &session.roots).await;
    drop(store);

    for round in 1..=2 {
        let store = open().await;
        verify(&store, &session, &before, round).await;
        allocate_fresh(&*store, &mut session.used, round).await;
        if round == 1 {
            change(store.clone(), &mut session.used).await;
        }
        let ns = check_namespace(&*store, &session.roots).await;
        session.used.extend(ns.inodes.keys());
        before = dump(&*store, &session.roots).await;
    }
    let store = open().await;
    verify(&store, &session, &before, 3).await;
    allocate_fresh(&*store, &mut session.used, 3).await;
}
