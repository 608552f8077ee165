//! Transactions: a transaction reads its own writes, nobody else does until
//! commit, dropping it rolls everything back, commit publishes everything
//! at once, and concurrent read-modify-write transactions lose nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{begin, block, commit, create_many, create_one, entry, inode};
use crate::error::StoreError;
use crate::store::{MetaTxn, MetadataStore};
use crate::types::{BlockRef, DirEntry, Extent, FileKind, Inode, InodeId, StoreStats};

checks!(
    writes_are_private_until_commit,
    commit_is_atomic_to_readers,
    concurrent_increments_are_not_lost,
    share_roots,
);

/// What the committed base state of `writes_are_private_until_commit`
/// looks like through store reads.
struct Base {
    dir: InodeId,
    file: Inode,
    old: DirEntry,
    ext: Extent,
}

async fn assert_base(store: &dyn MetadataStore, b: &Base, new_id: InodeId, when: &str) {
    assert_eq!(
        store.get_inode(new_id).await.expect("get_inode"),
        None,
        "{when}: new inode visible"
    );
    assert_eq!(
        store
            .get_inode(b.file.id)
            .await
            .expect("get_inode")
            .as_ref(),
        Some(&b.file),
        "{when}: replaced inode visible"
    );
    assert_eq!(
        store.lookup(b.dir, b"new").await.expect("lookup"),
        None,
        "{when}: new entry visible"
    );
    assert_eq!(
        store.lookup(b.dir, b"old").await.expect("lookup").as_ref(),
        Some(&b.old),
        "{when}: removed entry gone"
    );
    let listed = store
        .list_by_cookie(b.dir, 0, 10)
        .await
        .expect("list_by_cookie");
    assert_eq!(listed, vec![b.old.clone()], "{when}: listing changed");
    let listed = store
        .list_by_name(b.dir, None, 10)
        .await
        .expect("list_by_name");
    assert_eq!(
        listed,
        vec![b.old.clone()],
        "{when}: listing by name changed"
    );
    let exts = store
        .extents(b.file.id, 0, u64::MAX)
        .await
        .expect("extents");
    assert_eq!(exts, vec![b.ext.clone()], "{when}: extents changed");
    let r0 = store.block_ref(&block(0)).await.expect("block_ref");
    assert_eq!(
        r0,
        Some(BlockRef { refs: 1, size: 100 }),
        "{when}: deleted block ref gone"
    );
    assert_eq!(
        store.block_ref(&block(1)).await.expect("block_ref"),
        None,
        "{when}: new block ref visible"
    );
    assert_eq!(
        store.share_root("/a").await.expect("share_root"),
        Some(b.dir),
        "{when}: share root moved"
    );
    assert_eq!(
        store.share_root("/b").await.expect("share_root"),
        None,
        "{when}: new share root visible"
    );
    let stats = store.stats().await.expect("stats");
    assert_eq!(
        stats,
        StoreStats {
            inodes: 2,
            block_bytes: 100
        },
        "{when}: stats changed"
    );
}

/// Changes every kind of record, checking the transaction's own reads as
/// it goes. Returns the new inode's id.
async fn write_all(tx: &mut dyn MetaTxn, b: &Base) -> InodeId {
    let new_id = tx.allocate_inode_id().await.expect("allocate_inode_id");
    let new = inode(new_id, FileKind::Regular);
    tx.put_inode(&new).await.expect("put_inode");
    assert_eq!(
        tx.get_inode(new_id).await.expect("get_inode"),
        Some(new.clone()),
        "txn sees its new inode"
    );
    let mut file = b.file.clone();
    file.size = 999;
    tx.put_inode(&file).await.expect("put_inode");
    assert_eq!(
        tx.get_inode(file.id).await.expect("get_inode"),
        Some(file.clone()),
        "txn sees its replace"
    );

    let e = entry(b"new", new_id, 4);
    tx.put_entry(b.dir, &e).await.expect("put_entry");
    assert_eq!(
        tx.lookup(b.dir, b"new").await.expect("lookup"),
        Some(e),
        "txn sees its entry"
    );
    let removed = tx.remove_entry(b.dir, b"old").await.expect("remove_entry");
    assert_eq!(
        removed.as_ref(),
        Some(&b.old),
        "remove_entry returns the committed entry"
    );
    assert_eq!(
        tx.lookup(b.dir, b"old").await.expect("lookup"),
        None,
        "txn sees its remove"
    );

    let ext = Extent::in_block(100, 50, block(1), 0);
    tx.put_extent(file.id, &ext).await.expect("put_extent");
    tx.delete_extent(file.id, 0).await.expect("delete_extent");
    assert_eq!(
        tx.extents(file.id, 0, u64::MAX).await.expect("extents"),
        vec![ext],
        "txn sees its extents"
    );

    let r = BlockRef { refs: 1, size: 50 };
    tx.put_block_ref(&block(1), &r)
        .await
        .expect("put_block_ref");
    tx.delete_block_ref(&block(0))
        .await
        .expect("delete_block_ref");
    assert_eq!(
        tx.block_ref(&block(1)).await.expect("block_ref"),
        Some(r),
        "txn sees its block ref"
    );
    assert_eq!(
        tx.block_ref(&block(0)).await.expect("block_ref"),
        None,
        "txn sees its block ref delete"
    );

    tx.set_share_root("/a", new_id)
        .await
        .expect("set_share_root");
    tx.set_share_root("/b", new_id)
        .await
        .expect("set_share_root");
    new_id
}

async fn writes_are_private_until_commit(store: Arc<dyn MetadataStore>) {
    let dir = create_one(&*store, FileKind::Directory).await;
    let file_id = create_one(&*store, FileKind::Regular).await;
    let file = store
        .get_inode(file_id)
        .await
        .expect("get_inode")
        .expect("file");
    let old = entry(b"old", file_id, 3);
    let ext = Extent::in_block(0, 100, block(0), 0);
    let mut tx = begin(&*store).await;
    tx.put_entry(dir, &old).await.expect("put_entry");
    tx.put_extent(file_id, &ext).await.expect("put_extent");
    tx.put_block_ref(&block(0), &BlockRef { refs: 1, size: 100 })
        .await
        .expect("put_block_ref");
    tx.set_share_root("/a", dir).await.expect("set_share_root");
    commit(tx).await;
    let b = Base {
        dir,
        file,
        old,
        ext,
    };

    let new_id = {
        let mut tx = begin(&*store).await;
        let id = write_all(&mut *tx, &b).await;
        assert_base(&*store, &b, id, "before commit").await;
        id
    };
    assert_base(&*store, &b, new_id, "after rollback").await;
    // A rolled-back transaction leaves nothing for the next one to read.
    let mut tx = begin(&*store).await;
    assert_eq!(
        tx.get_inode(new_id).await.expect("get_inode"),
        None,
        "rolled-back inode seen by a txn"
    );
    assert_eq!(
        tx.get_inode(file_id).await.expect("get_inode").as_ref(),
        Some(&b.file),
        "rolled-back replace seen by a txn"
    );
    assert_eq!(
        tx.lookup(dir, b"new").await.expect("lookup"),
        None,
        "rolled-back entry seen by a txn"
    );
    assert_eq!(
        tx.lookup(dir, b"old").await.expect("lookup").as_ref(),
        Some(&b.old),
        "rolled-back remove seen by a txn"
    );
    assert!(
        tx.has_entries(dir).await.expect("has_entries"),
        "rolled-back remove seen by has_entries"
    );
    assert_eq!(
        tx.extents(file_id, 0, u64::MAX).await.expect("extents"),
        vec![b.ext.clone()],
        "rolled-back extents seen by a txn"
    );
    assert!(
        tx.block_ref(&block(0)).await.expect("block_ref").is_some(),
        "rolled-back block ref delete seen by a txn"
    );
    assert_eq!(
        tx.block_ref(&block(1)).await.expect("block_ref"),
        None,
        "rolled-back block ref seen by a txn"
    );

    let new_id = write_all(&mut *tx, &b).await;
    commit(tx).await;
    let new = store.get_inode(new_id).await.expect("get_inode");
    assert_eq!(
        new,
        Some(inode(new_id, FileKind::Regular)),
        "committed inode visible"
    );
    assert_eq!(
        store
            .get_inode(file_id)
            .await
            .expect("get_inode")
            .map(|i| i.size),
        Some(999),
        "committed replace visible"
    );
    assert_eq!(
        store.lookup(dir, b"old").await.expect("lookup"),
        None,
        "committed remove visible"
    );
    let listed = store
        .list_by_cookie(dir, 0, 10)
        .await
        .expect("list_by_cookie");
    assert_eq!(
        listed,
        vec![entry(b"new", new_id, 4)],
        "committed entries listed"
    );
    let exts = store.extents(file_id, 0, u64::MAX).await.expect("extents");
    assert_eq!(
        exts.iter().map(|e| e.offset).collect::<Vec<_>>(),
        vec![100],
        "committed extents visible"
    );
    assert_eq!(
        store.block_ref(&block(0)).await.expect("block_ref"),
        None,
        "committed block ref delete visible"
    );
    assert!(
        store
            .block_ref(&block(1))
            .await
            .expect("block_ref")
            .is_some(),
        "committed block ref visible"
    );
    assert_eq!(
        store.share_root("/a").await.expect("share_root"),
        Some(new_id),
        "committed share root visible"
    );
    assert_eq!(
        store.share_root("/b").await.expect("share_root"),
        Some(new_id),
        "committed share root visible"
    );
    let stats = store.stats().await.expect("stats");
    assert_eq!(
        stats,
        StoreStats {
            inodes: 3,
            block_bytes: 50
        },
        "committed stats"
    );
}

/// A writer commits, again and again, one transaction that sets two inodes
/// to `i` and adds entry `n{i}`. A reader reading inode A, then the entry,
/// then inode B must never see a commit half applied.
async fn commit_is_atomic_to_readers(store: Arc<dyn MetadataStore>) {
    const ROUNDS: u64 = 200;
    let ids = create_many(&*store, FileKind::Regular, 2).await;
    let dir = create_one(&*store, FileKind::Directory).await;
    let (a, b) = (ids[0], ids[1]);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut reads = 0u64;
            loop {
                let finished = done.load(Ordering::Acquire);
                let sa = store
                    .get_inode(a)
                    .await
                    .expect("get_inode")
                    .expect("inode a")
                    .size;
                if sa > 0 {
                    let name = format!("n{sa}");
                    let e = store.lookup(dir, name.as_bytes()).await.expect("lookup");
                    assert!(
                        e.is_some(),
                        "saw inode a at {sa} but not entry {name} of the same commit"
                    );
                }
                let sb = store
                    .get_inode(b)
                    .await
                    .expect("get_inode")
                    .expect("inode b")
                    .size;
                assert!(
                    sb >= sa,
                    "saw inode a at {sa} and then inode b at {sb}: a commit was torn"
                );
                reads += 1;
                if finished {
                    assert_eq!(sa, ROUNDS, "the last commit is visible once it returned");
                    return reads;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    // The writer is a task of its own too, so reader and writer can run
    // on different threads.
    let writer = tokio::spawn(async move {
        for i in 1..=ROUNDS {
            let mut tx = begin(&*store).await;
            for id in [a, b] {
                let mut n = tx.get_inode(id).await.expect("get_inode").expect("inode");
                n.size = i;
                tx.put_inode(&n).await.expect("put_inode");
            }
            let e = entry(format!("n{i}").as_bytes(), a, 2 + i);
            tx.put_entry(dir, &e).await.expect("put_entry");
            commit(tx).await;
            if i % 8 == 0 {
                tokio::task::yield_now().await;
            }
        }
        done.store(true, Ordering::Release);
    });
    writer.await.expect("writer task");
    let reads = reader.await.expect("reader task");
    assert!(reads > 0, "the reader ran");
}

/// Adds one to the size of inode `id`, retrying on `Conflict` as the
/// service does.
async fn increment(store: &dyn MetadataStore, id: InodeId) {
    for attempt in 1.. {
        let r: Result<(), StoreError> = async {
            let mut tx = store.begin().await?;
            let mut n = tx.get_inode(id).await?.expect("counter inode");
            // Let other tasks run between the read and the write.
            tokio::task::yield_now().await;
            n.size += 1;
            tx.put_inode(&n).await?;
            tx.commit().await
        }
        .await;
        match r {
            Ok(()) => return,
            Err(StoreError::Conflict) if attempt < 10_000 => tokio::task::yield_now().await,
            Err(e) => panic!("increment failed after {attempt} attempts: {e}"),
        }
    }
    unreachable!()
}

/// Serializable transactions: concurrent read-modify-write of one inode
/// either serialize or conflict (and are retried), never lose an update.
async fn concurrent_increments_are_not_lost(store: Arc<dyn MetadataStore>) {
    const TASKS: u64 = 8;
    const EACH: u64 = 50;
    let id = create_one(&*store, FileKind::Regular).await;
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..EACH {
                increment(&*store, id).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("increment task");
    }
    let n = store
        .get_inode(id)
        .await
        .expect("get_inode")
        .expect("counter inode");
    assert_eq!(n.size, TASKS * EACH, "concurrent transactions lost updates");
}

async fn share_roots(store: Arc<dyn MetadataStore>) {
    let ids = create_many(&*store, FileKind::Directory, 3).await;
    let shares = ["/export", "/export/sub", "/données", "/a"];
    for s in shares {
        assert_eq!(
            store.share_root(s).await.expect("share_root"),
            None,
            "fresh store has no share {s}"
        );
    }
    let mut tx = begin(&*store).await;
    tx.set_share_root("/export", ids[0])
        .await
        .expect("set_share_root");
    tx.set_share_root("/export/sub", ids[1])
        .await
        .expect("set_share_root");
    tx.set_share_root("/données", ids[2])
        .await
        .expect("set_share_root");
    assert_eq!(
        store.share_root("/export").await.expect("share_root"),
        None,
        "uncommitted share root visible"
    );
    assert_eq!(
        tx.share_root("/export").await.expect("share_root in txn"),
        Some(ids[0]),
        "a transaction reads its own share root"
    );
    assert_eq!(
        tx.share_root("/a").await.expect("share_root in txn"),
        None,
        "a transaction sees no share it did not set"
    );
    commit(tx).await;
    let want = [Some(ids[0]), Some(ids[1]), Some(ids[2]), None];
    for (s, w) in shares.iter().zip(want) {
        assert_eq!(
            store.share_root(s).await.expect("share_root"),
            w,
            "share root of {s}"
        );
    }
    {
        let mut tx = begin(&*store).await;
        tx.set_share_root("/export", ids[2])
            .await
            .expect("set_share_root");
        tx.set_share_root("/a", ids[2])
            .await
            .expect("set_share_root");
    }
    assert_eq!(
        store.share_root("/export").await.expect("share_root"),
        Some(ids[0]),
        "rolled-back rebind kept"
    );
    assert_eq!(
        store.share_root("/a").await.expect("share_root"),
        None,
        "rolled-back share root kept"
    );
    let mut tx = begin(&*store).await;
    tx.set_share_root("/export", ids[1])
        .await
        .expect("set_share_root");
    commit(tx).await;
    assert_eq!(
        store.share_root("/export").await.expect("share_root"),
        Some(ids[1]),
        "rebinding a share replaces its root"
    );
    assert_eq!(
        store.share_root("/export/sub").await.expect("share_root"),
        Some(ids[1]),
        "other shares unchanged"
    );
    assert_eq!(
        store.share_root("/données").await.expect("share_root"),
        Some(ids[2]),
        "other shares unchanged"
    );
}
