//! End-to-end namespace operations through the metadata service, so a
//! store whose transactions do not hold together is caught where it
//! matters: a replaced or removed file's inode and blocks go away exactly
//! when its last link does, and a refused operation changes nothing.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dittofs_blocks::BlockId;

use super::{Fs, block, check_namespace, dump, root_ctx};
use crate::error::FsError;
use crate::extents::NewExtent;
use crate::handle::FileHandle;
use crate::service::{DataHooks, FlushCommit, FlushRange, PendingAttrs, SettleGuard};
use crate::store::MetadataStore;
use crate::types::{BlockRef, Extent};
use crate::types::{InodeId, Timestamp};

checks!(
    rename_over_the_last_link_deletes_the_target,
    rename_over_a_hard_link_keeps_the_target,
    rmdir_of_a_non_empty_dir_changes_nothing,
    remove_releases_blocks_with_the_last_link,
    refused_renames_change_nothing,
    directory_renames_keep_link_counts,
    a_block_moved_within_one_flush_is_kept,
    a_held_file_outlives_its_last_link,
    a_walk_from_read_attributes_finds_what_lookup_finds,
);

/// Maps `len` bytes of block `n` (of that size) at offset 0 of the file.
async fn write(fs: &Fs, fh: &FileHandle, n: u64, len: u64) {
    let e = NewExtent {
        extent: Extent::in_block(0, len, block(n), 0),
        block_size: len,
    };
    let range = FlushRange {
        start: 0,
        end: len,
        extents: vec![e],
    };
    fs.commit_flush(fh, vec![range], len).await;
}

async fn rename_over_the_last_link_deletes_the_target(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (a, a_attrs) = fs.create(&root, "a").await;
    let (b, b_attrs) = fs.create(&root, "b").await;
    write(&fs, &a, 1, 10).await;
    write(&fs, &b, 2, 20).await;
    assert_eq!(
        store.stats().await.expect("stats").block_bytes,
        30,
        "two blocks written"
    );
    fs.svc
        .rename(&root_ctx(), &root, b"a", &root, b"b")
        .await
        .expect("rename a over b");
    assert_eq!(fs.lookup(&root, "a").await, None, "the old name is gone");
    assert_eq!(
        fs.lookup(&root, "b").await.map(|i| i.id),
        Some(a_attrs.id),
        "b names a's inode"
    );
    assert_eq!(
        store.get_inode(b_attrs.id).await.expect("get_inode"),
        None,
        "b's inode was deleted"
    );
    assert!(
        matches!(
            fs.svc.getattr(&crate::types::AuthContext::root(), &b).await,
            Err(FsError::Stale)
        ),
        "b's old handle is stale"
    );
    assert_eq!(
        store
            .extents(b_attrs.id, 0, u64::MAX)
            .await
            .expect("extents"),
        vec![],
        "b's extents went with it"
    );
    assert_eq!(
        store.block_ref(&block(2)).await.expect("block_ref"),
        None,
        "b's block is released"
    );
    let r = store.block_ref(&block(1)).await.expect("block_ref");
    assert_eq!(r, Some(BlockRef { refs: 1, size: 10 }), "a's block is kept");
    assert_eq!(
        store.stats().await.expect("stats").block_bytes,
        10,
        "only a's block is counted"
    );
    let ns = check_namespace(&*store, &[root.inode]).await;
    assert_eq!(ns.inodes.len(), 2, "root and one file remain");
    fs.svc
        .getattr(&crate::types::AuthContext::root(), &a)
        .await
        .expect("a's handle still works");
}

async fn rename_over_a_hard_link_keeps_the_target(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (dir, _) = fs.mkdir(&root, "d").await;
    let (t, t_attrs) = fs.create(&root, "t").await;
    write(&fs, &t, 1, 10).await;
    fs.svc
        .link(&root_ctx(), &t, &dir, b"t2")
        .await
        .expect("link");
    let (_, s_attrs) = fs.create(&root, "s").await;
    fs.svc
        .rename(&root_ctx(), &root, b"s", &root, b"t")
        .await
        .expect("rename s over t");
    let kept = store
        .get_inode(t_attrs.id)
        .await
        .expect("get_inode")
        .expect("t survives under t2");
    assert_eq!(kept.nlink, 1, "t lost one of its two links");
    assert_eq!(
        fs.lookup(&dir, "t2").await.map(|i| i.id),
        Some(t_attrs.id),
        "t2 still names t"
    );
    assert_eq!(
        fs.lookup(&root, "t").await.map(|i| i.id),
        Some(s_attrs.id),
        "t now names s"
    );
    assert!(
        store
            .block_ref(&block(1))
            .await
            .expect("block_ref")
            .is_some(),
        "t's block is kept"
    );
    check_namespace(&*store, &[root.inode]).await;

    // Renaming one name of a file over another name of it does nothing.
    fs.svc
        .link(&root_ctx(), &t, &root, b"t3")
        .await
        .expect("link");
    let before = dump(&*store, &[root.inode]).await;
    fs.svc
        .rename(&root_ctx(), &root, b"t3", &dir, b"t2")
        .await
        .expect("rename over the same file");
    assert_eq!(
        dump(&*store, &[root.inode]).await,
        before,
        "rename between two links of one file"
    );
}

async fn rmdir_of_a_non_empty_dir_changes_nothing(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (d, _) = fs.mkdir(&root, "d").await;
    fs.create(&d, "f").await;
    let (e, _) = fs.mkdir(&d, "e").await;
    fs.create(&e, "g").await;
    let before = dump(&*store, &[root.inode]).await;
    let r = fs.svc.rmdir(&root_ctx(), &root, b"d").await;
    assert!(
        matches!(r, Err(FsError::NotEmpty)),
        "rmdir of a non-empty dir: {r:?}"
    );
    let r = fs.svc.rmdir(&root_ctx(), &d, b"e").await;
    assert!(
        matches!(r, Err(FsError::NotEmpty)),
        "rmdir of a dir with one entry: {r:?}"
    );
    assert_eq!(
        dump(&*store, &[root.inode]).await,
        before,
        "a refused rmdir changed the store"
    );

    fs.svc
        .remove(&root_ctx(), &e, b"g")
        .await
        .expect("remove g");
    fs.svc
        .rmdir(&root_ctx(), &d, b"e")
        .await
        .expect("rmdir of the emptied dir");
    fs.svc
        .remove(&root_ctx(), &d, b"f")
        .await
        .expect("remove f");
    fs.svc
        .rmdir(&root_ctx(), &root, b"d")
        .await
        .expect("rmdir d");
    let ns = check_namespace(&*store, &[root.inode]).await;
    assert_eq!(ns.inodes.len(), 1, "only the root is left");
    assert_eq!(
        ns.inodes[&root.inode].nlink, 2,
        "root has no subdirectories left"
    );
}

async fn remove_releases_blocks_with_the_last_link(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (f, attrs) = fs.create(&root, "f").await;
    write(&fs, &f, 1, 100).await;
    fs.svc
        .link(&root_ctx(), &f, &root, b"g")
        .await
        .expect("link");
    fs.svc
        .remove(&root_ctx(), &root, b"f")
        .await
        .expect("remove f");
    let kept = store
        .get_inode(attrs.id)
        .await
        .expect("get_inode")
        .expect("g keeps the file");
    assert_eq!(
        (kept.nlink, kept.size),
        (1, 100),
        "one link left, content intact"
    );
    assert!(
        store
            .block_ref(&block(1))
            .await
            .expect("block_ref")
            .is_some(),
        "block still referenced"
    );
    fs.svc
        .remove(&root_ctx(), &root, b"g")
        .await
        .expect("remove g");
    assert_eq!(
        store.get_inode(attrs.id).await.expect("get_inode"),
        None,
        "the last link took the inode"
    );
    assert_eq!(
        store.block_ref(&block(1)).await.expect("block_ref"),
        None,
        "the block is released"
    );
    let stats = store.stats().await.expect("stats");
    assert_eq!(
        (stats.inodes, stats.block_bytes),
        (1, 0),
        "only the root is left"
    );
}

async fn refused_renames_change_nothing(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (a, _) = fs.mkdir(&root, "a").await;
    let (b, _) = fs.mkdir(&a, "b").await;
    fs.create(&b, "x").await;
    fs.mkdir(&root, "full").await;
    let (other, _) = fs.mkdir(&root, "other").await;
    fs.create(&other, "y").await;
    fs.create(&root, "file").await;
    let before = dump(&*store, &[root.inode]).await;
    let cases: [(&FileHandle, &str, &FileHandle, &str); 5] = [
        (&root, "a", &b, "a"),
        (&root, "a", &a, "a2"),
        (&root, "full", &root, "other"),
        (&root, "a", &root, "file"),
        (&root, "file", &root, "other"),
    ];
    for (from, from_name, to, to_name) in cases {
        let r = fs
            .svc
            .rename(
                &root_ctx(),
                from,
                from_name.as_bytes(),
                to,
                to_name.as_bytes(),
            )
            .await;
        assert!(
            r.is_err(),
            "rename {from_name:?} -> {to_name:?} should be refused"
        );
        assert_eq!(
            dump(&*store, &[root.inode]).await,
            before,
            "refused rename {from_name:?} changed the store"
        );
    }
    check_namespace(&*store, &[root.inode]).await;
}

async fn directory_renames_keep_link_counts(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let ctx = root_ctx();
    let root = fs.root().await;
    let (p, _) = fs.mkdir(&root, "p").await;
    for name in ["a", "b", "c"] {
        fs.mkdir(&root, name).await;
    }
    let (d, d_attrs) = fs.mkdir(&p, "d").await;
    fs.create(&d, "f").await;
    let steps: [(&FileHandle, &str, &FileHandle, &str); 5] = [
        (&root, "a", &root, "b"),
        (&root, "b", &p, "e"),
        (&p, "d", &root, "c"),
        (&root, "c", &root, "moved"),
        (&p, "e", &root, "moved2"),
    ];
    for (from, from_name, to, to_name) in steps {
        let r = fs
            .svc
            .rename(&ctx, from, from_name.as_bytes(), to, to_name.as_bytes())
            .await;
        r.unwrap_or_else(|e| panic!("rename {from_name:?} -> {to_name:?}: {e}"));
        check_namespace(&*store, &[root.inode]).await;
    }
    let moved = fs
        .svc
        .getattr(&crate::types::AuthContext::root(), &d)
        .await
        .expect("d survives its moves");
    assert_eq!(
        (moved.id, moved.parent),
        (d_attrs.id, root.inode),
        "d now lives in the root"
    );
    let ns = check_namespace(&*store, &[root.inode]).await;
    assert_eq!(ns.inodes.len(), 5, "root, p, d, its file and the moved a");
}

/// Hooks that only record the blocks the service says are free.
#[derive(Default)]
struct Released(Mutex<Vec<BlockId>>);

#[async_trait]
impl DataHooks for Released {
    async fn settle(&self, _: InodeId) -> crate::error::FsResult<SettleGuard> {
        Ok(Box::new(()))
    }
    fn resized(&self, _: InodeId, _: u64) {}
    async fn discard(&self, _: InodeId, _: u64, _: u64) -> crate::error::FsResult<()> {
        Ok(())
    }
    fn pending(&self, _: InodeId) -> Option<PendingAttrs> {
        None
    }
    fn file_removed(&self, _: InodeId) {}
    fn blocks_released(&self, blocks: Vec<BlockId>) {
        self.0.lock().expect("lock").extend(blocks);
    }
}

/// One flush that overwrites the only extent of a block and writes the
/// same bytes (so the same block) elsewhere in the file: the block loses a
/// reference and gains one, and must not be handed out for deletion.
async fn a_block_moved_within_one_flush_is_kept(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let released = Arc::new(Released::default());
    fs.svc.set_hooks(released.clone());
    let root = fs.root().await;
    let (f, _) = fs.create(&root, "f").await;
    write(&fs, &f, 1, 10).await;
    let extent = |offset, n| NewExtent {
        extent: Extent::in_block(offset, 10, block(n), 0),
        block_size: 10,
    };
    let flush = FlushCommit {
        ranges: vec![
            FlushRange {
                start: 0,
                end: 10,
                extents: vec![extent(0, 2)],
            },
            FlushRange {
                start: 100,
                end: 110,
                extents: vec![extent(100, 1)],
            },
        ],
        size: 110,
        mtime: Timestamp::now(),
    };
    fs.svc
        .commit_flush(f.inode, &flush)
        .await
        .expect("commit_flush");
    assert_eq!(
        *released.0.lock().expect("lock"),
        Vec::<BlockId>::new(),
        "nothing was released"
    );
    assert_eq!(
        store.block_ref(&block(1)).await.expect("block_ref"),
        Some(BlockRef { refs: 1, size: 10 }),
        "the moved block keeps one reference"
    );
    assert_eq!(
        store.extents(f.inode, 0, u64::MAX).await.expect("extents"),
        vec![extent(0, 2).extent, extent(100, 1).extent],
        "both ranges are mapped"
    );
}

async fn a_held_file_outlives_its_last_link(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (f, attrs) = fs.create(&root, "f").await;
    write(&fs, &f, 1, 100).await;
    fs.svc.hold(attrs.id);
    fs.svc.hold(attrs.id);
    fs.svc
        .remove(&root_ctx(), &root, b"f")
        .await
        .expect("remove f");
    let kept = fs.svc.getattr(&root_ctx(), &f).await.expect("getattr");
    assert_eq!((kept.nlink, kept.size), (0, 100), "held: no link, content");
    assert!(
        matches!(
            fs.svc.lookup(&root_ctx(), &root, b"f").await,
            Err(FsError::NotFound)
        ),
        "the name is gone"
    );
    fs.svc.let_go(attrs.id).await.expect("let_go");
    assert!(
        fs.svc.getattr(&root_ctx(), &f).await.is_ok(),
        "one holder is left"
    );
    fs.svc.let_go(attrs.id).await.expect("let_go");
    assert!(
        matches!(fs.svc.getattr(&root_ctx(), &f).await, Err(FsError::Stale)),
        "the last holder took the inode"
    );
    assert_eq!(
        store.block_ref(&block(1)).await.expect("block_ref"),
        None,
        "its block is released"
    );
    check_namespace(&*store, &[root.inode]).await;
}

async fn a_walk_from_read_attributes_finds_what_lookup_finds(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store, "/export").await;
    let root = fs.root().await;
    let ctx = root_ctx();
    let (a, _) = fs.mkdir(&root, "a").await;
    let (_, f) = fs.create(&a, "f").await;
    let root_attrs = fs.svc.getattr(&ctx, &root).await.expect("getattr");
    let svc = &fs.svc;

    let a_attrs = svc.lookup_in(&ctx, &root_attrs, b"a").await.expect("a");
    assert_eq!(Some(a_attrs.clone()), fs.lookup(&root, "a").await);
    let found = svc.lookup_in(&ctx, &a_attrs, b"f").await.expect("a/f");
    assert_eq!(found.id, f.id);
    assert_eq!(
        svc.lookup_in(&ctx, &a_attrs, b".").await.expect(".").id,
        a_attrs.id
    );
    assert_eq!(
        svc.lookup_in(&ctx, &a_attrs, b"..").await.expect("..").id,
        root_attrs.id
    );
    assert!(matches!(
        svc.lookup_in(&ctx, &a_attrs, b"missing").await,
        Err(FsError::NotFound)
    ));
    assert!(matches!(
        svc.lookup_in(&ctx, &found, b"x").await,
        Err(FsError::NotDir)
    ));
    assert!(matches!(
        svc.lookup_in(&ctx, &a_attrs, b"a/b").await,
        Err(FsError::Invalid)
    ));
    // Search permission is checked against the attributes given.
    let mut closed = a_attrs.clone();
    closed.mode = 0o700;
    let stranger = crate::types::AuthContext::new(1000, 1000, vec![]);
    assert!(matches!(
        svc.lookup_in(&stranger, &closed, b"f").await,
        Err(FsError::AccessDenied)
    ));
}
