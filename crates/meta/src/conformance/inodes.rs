//! Inodes: round trips of every field, replace and delete, inode number
//! allocation and the inode count.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use super::{begin, commit, create_many, inode, ts};
use crate::store::MetadataStore;
use crate::types::{FileKind, Inode, InodeId};

checks!(
    every_field_round_trips,
    replace_and_delete,
    missing_inodes_are_none,
    allocated_ids_are_unique_and_increasing,
    rolled_back_ids_never_collide,
    stats_count_inodes,
);

/// One inode of each kind, with extreme values in every field.
fn samples(ids: &[InodeId]) -> Vec<Inode> {
    let kinds = [
        FileKind::Regular,
        FileKind::Directory,
        FileKind::Symlink,
        FileKind::CharDevice,
        FileKind::BlockDevice,
        FileKind::Socket,
        FileKind::Fifo,
    ];
    // Every byte value, so a store that keeps targets as text fails here.
    let target: Vec<u8> = (0..4096u32).map(|i| (i % 256) as u8).collect();
    kinds
        .iter()
        .zip(ids)
        .enumerate()
        .map(|(i, (&kind, &id))| {
            let mut n = inode(id, kind);
            n.generation = u32::MAX - i as u32;
            n.mode = [0o7777, 0o1777, 0o777, 0o4755, 0o2640, 0, 0o600][i];
            n.uid = [0, u32::MAX, 1, 65534, 1000, 2, 3][i];
            n.gid = [u32::MAX, 0, 7, 65534, 100, 5, 6][i];
            n.nlink = [1, 65_002, 1, 3, u32::MAX, 2, 1][i];
            n.atime = ts(-86_400, 999_999_999);
            n.mtime = ts(i64::from(u32::MAX) + 1, 1);
            n.ctime = ts(1_700_000_000 + i as i64, 123_456_789);
            match kind {
                FileKind::Regular => {
                    n.size = u64::MAX;
                    n.create_verifier = Some([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 9]);
                }
                FileKind::Directory => {
                    n.size = 4096;
                    n.parent = ids[0];
                    n.next_cookie = 1 << 40;
                }
                FileKind::Symlink => {
                    n.size = target.len() as u64;
                    n.symlink = Some(Bytes::from(target.clone()));
                }
                FileKind::CharDevice => n.rdev = (u32::MAX, 0),
                FileKind::BlockDevice => n.rdev = (8, u32::MAX),
                FileKind::Socket | FileKind::Fifo => n.size = (1 << 63) + 5,
            }
            n
        })
        .collect()
}

async fn every_field_round_trips(store: Arc<dyn MetadataStore>) {
    let mut tx = begin(&*store).await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(tx.allocate_inode_id().await.expect("allocate_inode_id"));
    }
    let all = samples(&ids);
    for n in &all {
        tx.put_inode(n).await.expect("put_inode");
    }
    for n in &all {
        let got = tx.get_inode(n.id).await.expect("get_inode in txn");
        assert_eq!(
            got.as_ref(),
            Some(n),
            "a transaction reads back its own inode"
        );
    }
    commit(tx).await;
    for n in &all {
        let got = store.get_inode(n.id).await.expect("get_inode");
        assert_eq!(got.as_ref(), Some(n), "an inode reads back exactly as put");
    }
    let mut tx = begin(&*store).await;
    for n in &all {
        let got = tx.get_inode(n.id).await.expect("get_inode in txn");
        assert_eq!(
            got.as_ref(),
            Some(n),
            "a new transaction reads the committed inode"
        );
    }
    assert!(!store.kind().is_empty(), "kind() names the store");
}

async fn replace_and_delete(store: Arc<dyn MetadataStore>) {
    let ids = create_many(&*store, FileKind::Regular, 2).await;
    let (a, b) = (ids[0], ids[1]);
    let old = inode(a, FileKind::Regular);
    let mut new = old.clone();
    new.size = 12345;
    new.nlink = 3;
    new.mode = 0o600;
    new.mtime = ts(1_800_000_000, 42);
    new.create_verifier = Some([7; 8]);

    let mut tx = begin(&*store).await;
    tx.put_inode(&new).await.expect("put_inode");
    assert_eq!(
        tx.get_inode(a).await.expect("get_inode"),
        Some(new.clone()),
        "txn sees its replace"
    );
    assert_eq!(
        store.get_inode(a).await.expect("get_inode"),
        Some(old.clone()),
        "replace is not visible before commit"
    );
    commit(tx).await;
    assert_eq!(
        store.get_inode(a).await.expect("get_inode"),
        Some(new.clone()),
        "replace is visible after commit"
    );

    // Fields can be cleared again, not only set.
    let mut tx = begin(&*store).await;
    tx.put_inode(&old).await.expect("put_inode");
    commit(tx).await;
    assert_eq!(
        store.get_inode(a).await.expect("get_inode"),
        Some(old.clone()),
        "a second replace wins"
    );

    let mut tx = begin(&*store).await;
    tx.delete_inode(a).await.expect("delete_inode");
    assert_eq!(
        tx.get_inode(a).await.expect("get_inode"),
        None,
        "txn sees its delete"
    );
    assert_eq!(
        tx.get_inode(b).await.expect("get_inode").map(|i| i.id),
        Some(b),
        "delete touches one inode"
    );
    assert!(
        store.get_inode(a).await.expect("get_inode").is_some(),
        "delete is not visible before commit"
    );
    commit(tx).await;
    assert_eq!(
        store.get_inode(a).await.expect("get_inode"),
        None,
        "deleted inode is gone"
    );
    assert!(
        store.get_inode(b).await.expect("get_inode").is_some(),
        "the other inode survives"
    );

    // Delete then put in one transaction: the put wins.
    let mut tx = begin(&*store).await;
    tx.delete_inode(b).await.expect("delete_inode");
    let again = inode(b, FileKind::Directory);
    tx.put_inode(&again).await.expect("put_inode");
    assert_eq!(
        tx.get_inode(b).await.expect("get_inode"),
        Some(again.clone())
    );
    commit(tx).await;
    assert_eq!(
        store.get_inode(b).await.expect("get_inode"),
        Some(again),
        "put after delete in one txn wins"
    );

    // Put then delete in one transaction: nothing remains.
    let mut tx = begin(&*store).await;
    let c = tx.allocate_inode_id().await.expect("allocate_inode_id");
    tx.put_inode(&inode(c, FileKind::Regular))
        .await
        .expect("put_inode");
    tx.delete_inode(c).await.expect("delete_inode");
    assert_eq!(tx.get_inode(c).await.expect("get_inode"), None);
    commit(tx).await;
    assert_eq!(
        store.get_inode(c).await.expect("get_inode"),
        None,
        "put then delete in one txn leaves nothing"
    );
}

async fn missing_inodes_are_none(store: Arc<dyn MetadataStore>) {
    let ids = create_many(&*store, FileKind::Regular, 3).await;
    let max = *ids.iter().max().expect("ids");
    for id in [0, 1, max + 1, max + 1000, u64::MAX] {
        assert_eq!(
            store.get_inode(id).await.expect("get_inode"),
            None,
            "inode {id} was never put"
        );
        let mut tx = begin(&*store).await;
        assert_eq!(
            tx.get_inode(id).await.expect("get_inode"),
            None,
            "inode {id} was never put (txn)"
        );
    }
}

fn check_fresh(id: InodeId) {
    // 0 and 1 mean "none" to the service (parents, fileids).
    assert!(
        id > 1,
        "allocate_inode_id returned {id}; 0 and 1 are never handed out"
    );
}

async fn allocated_ids_are_unique_and_increasing(store: Arc<dyn MetadataStore>) {
    let mut seen = BTreeSet::new();
    let mut last = 0;
    for round in 0..5 {
        let mut tx = begin(&*store).await;
        for _ in 0..=round {
            let id = tx.allocate_inode_id().await.expect("allocate_inode_id");
            check_fresh(id);
            assert!(id > last, "allocate_inode_id went from {last} to {id}");
            assert!(seen.insert(id), "allocate_inode_id returned {id} twice");
            last = id;
            tx.put_inode(&inode(id, FileKind::Regular))
                .await
                .expect("put_inode");
        }
        commit(tx).await;
    }
    // A transaction that allocates but puts nothing still used its ids.
    let mut tx = begin(&*store).await;
    let unused = tx.allocate_inode_id().await.expect("allocate_inode_id");
    assert!(
        unused > last && seen.insert(unused),
        "allocate_inode_id returned {unused} after {last}"
    );
    commit(tx).await;
    let mut tx = begin(&*store).await;
    let next = tx.allocate_inode_id().await.expect("allocate_inode_id");
    assert!(
        next > unused,
        "id {unused} was committed, yet {next} came next"
    );
}

async fn rolled_back_ids_never_collide(store: Arc<dyn MetadataStore>) {
    let committed = create_many(&*store, FileKind::Regular, 3).await;
    let mut rolled_back = Vec::new();
    {
        let mut tx = begin(&*store).await;
        for _ in 0..3 {
            let id = tx.allocate_inode_id().await.expect("allocate_inode_id");
            check_fresh(id);
            tx.put_inode(&inode(id, FileKind::Regular))
                .await
                .expect("put_inode");
            rolled_back.push(id);
        }
        // Dropped without commit.
    }
    for id in &rolled_back {
        assert!(
            !committed.contains(id),
            "rolled-back txn got committed id {id}"
        );
        assert_eq!(
            store.get_inode(*id).await.expect("get_inode"),
            None,
            "inode {id} was rolled back"
        );
    }
    // Ids of the rolled-back transaction may come back, committed ones may not.
    let later = create_many(&*store, FileKind::Directory, 5).await;
    let max_committed = *committed.iter().max().expect("ids");
    for id in &later {
        check_fresh(*id);
        assert!(
            *id > max_committed,
            "id {id} allocated after committed id {max_committed}"
        );
    }
    for id in &committed {
        let got = store
            .get_inode(*id)
            .await
            .expect("get_inode")
            .expect("committed inode survives");
        assert_eq!(
            got.kind,
            FileKind::Regular,
            "inode {id} was overwritten by a later allocation"
        );
    }
    let distinct: BTreeSet<_> = later.iter().collect();
    assert_eq!(
        distinct.len(),
        later.len(),
        "allocate_inode_id repeated itself: {later:?}"
    );
}

async fn stats_count_inodes(store: Arc<dyn MetadataStore>) {
    let count = |s: Arc<dyn MetadataStore>| async move { s.stats().await.expect("stats").inodes };
    let ids = create_many(&*store, FileKind::Regular, 5).await;
    assert_eq!(count(store.clone()).await, 5, "five inodes put");

    let mut tx = begin(&*store).await;
    tx.put_inode(&inode(ids[0], FileKind::Directory))
        .await
        .expect("put_inode");
    tx.delete_inode(ids[1]).await.expect("delete_inode");
    tx.delete_inode(ids[2]).await.expect("delete_inode");
    assert_eq!(
        count(store.clone()).await,
        5,
        "uncommitted deletes are not counted"
    );
    commit(tx).await;
    assert_eq!(
        count(store.clone()).await,
        3,
        "a replace is not a new inode; deletes count down"
    );

    {
        let mut tx = begin(&*store).await;
        for _ in 0..4 {
            let id = tx.allocate_inode_id().await.expect("allocate_inode_id");
            tx.put_inode(&inode(id, FileKind::Regular))
                .await
                .expect("put_inode");
        }
        tx.delete_inode(ids[3]).await.expect("delete_inode");
    }
    assert_eq!(
        count(store.clone()).await,
        3,
        "a rolled-back txn changes no count"
    );

    let mut tx = begin(&*store).await;
    // Deleting what does not exist is harmless and counts nothing.
    tx.delete_inode(ids[1])
        .await
        .expect("delete_inode of a deleted inode");
    commit(tx).await;
    assert_eq!(
        count(store.clone()).await,
        3,
        "deleting a missing inode changes no count"
    );
}
