//! Extent maps and block references: overlap queries, per-inode maps, a
//! transaction's merged view, block accounting, and the extent helpers
//! running against the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use dittofs_blocks::BlockId;

use super::{begin, block, commit, create_many, create_one};
use crate::extents::{NewExtent, replace_range, truncate};
use crate::store::{MetaTxn, MetadataStore};
use crate::types::{BlockRef, Extent, FileKind, InodeId};

checks!(
    overlap_is_half_open,
    offsets_use_the_full_u64_range,
    put_replace_delete,
    maps_are_per_inode,
    txn_merges_its_own_changes,
    block_refs_and_block_bytes,
    helpers_keep_refcounts,
    inline_extents_keep_their_bytes,
);

fn ext(offset: u64, len: u64, n: u64) -> Extent {
    Extent::in_block(offset, len, block(n), n * 7)
}

async fn put_all(store: &dyn MetadataStore, inode: InodeId, exts: &[Extent]) {
    let mut tx = begin(store).await;
    for e in exts {
        tx.put_extent(inode, e).await.expect("put_extent");
    }
    commit(tx).await;
}

async fn query(store: &dyn MetadataStore, inode: InodeId, start: u64, end: u64) -> Vec<Extent> {
    store.extents(inode, start, end).await.expect("extents")
}

async fn txn_query(tx: &mut dyn MetaTxn, inode: InodeId, start: u64, end: u64) -> Vec<Extent> {
    tx.extents(inode, start, end).await.expect("extents in txn")
}

async fn overlap_is_half_open(store: Arc<dyn MetadataStore>) {
    let f = create_one(&*store, FileKind::Regular).await;
    let all = [
        ext(0, 10, 1),
        Extent::inline(10, Bytes::from_static(b"0123456789")),
        ext(30, 10, 3),
        ext(100, 50, 4),
    ];
    // Put out of order: listings must still come in offset order.
    put_all(
        &*store,
        f,
        &[
            all[2].clone(),
            all[0].clone(),
            all[3].clone(),
            all[1].clone(),
        ],
    )
    .await;
    let cases: [(u64, u64, &[Extent]); 13] = [
        (0, u64::MAX, &all),
        (0, 1, &all[..1]),
        (10, 30, &all[1..2]),
        (9, 31, &all[..3]),
        (20, 30, &[]),
        (19, 21, &all[1..2]),
        (110, 120, &all[3..]),
        (149, 150, &all[3..]),
        (150, 1000, &[]),
        (40, 100, &[]),
        (39, 101, &all[2..]),
        (5, 6, &all[..1]),
        (1, u64::MAX, &all),
    ];
    for (start, end, want) in cases {
        assert_eq!(
            query(&*store, f, start, end).await,
            want,
            "extents overlapping {start}..{end} (one ending at start or starting at end is out)"
        );
        let mut tx = begin(&*store).await;
        assert_eq!(
            txn_query(&mut *tx, f, start, end).await,
            want,
            "in a txn: {start}..{end}"
        );
    }
}

/// Offsets and ends near and above 2^63 must order as unsigned numbers:
/// truncation asks for everything up to `u64::MAX`.
async fn offsets_use_the_full_u64_range(store: Arc<dyn MetadataStore>) {
    let f = create_one(&*store, FileKind::Regular).await;
    let h = 1u64 << 63;
    let all = [
        ext(0, 10, 1),
        ext(1 << 62, 10, 2),
        ext(h - 10, 20, 3),
        ext(h + 100, 5, 4),
        ext(u64::MAX - 10, 10, 5),
    ];
    let shuffled = [4, 2, 0, 3, 1].map(|i| all[i].clone());
    put_all(&*store, f, &shuffled).await;
    assert_eq!(
        query(&*store, f, 0, u64::MAX).await,
        all,
        "all extents, unsigned offset order"
    );
    assert_eq!(
        query(&*store, f, h, h + 1).await,
        all[2..3],
        "an extent across 2^63"
    );
    assert_eq!(
        query(&*store, f, h + 10, h + 100).await,
        vec![],
        "the hole after 2^63 + 10"
    );
    assert_eq!(
        query(&*store, f, u64::MAX - 1, u64::MAX).await,
        all[4..],
        "the extent ending at u64::MAX"
    );
    assert_eq!(
        query(&*store, f, 20, u64::MAX).await,
        all[1..],
        "from 20 to the end"
    );
    let mut tx = begin(&*store).await;
    assert_eq!(
        txn_query(&mut *tx, f, 5, u64::MAX).await,
        all,
        "txn: from 5 to the end"
    );
    tx.delete_extent(f, h - 10).await.expect("delete_extent");
    let tail = Extent::in_block(u64::MAX - 20, 5, block(6), u64::MAX - 5);
    tx.put_extent(f, &tail).await.expect("put_extent");
    let want = vec![
        all[0].clone(),
        all[1].clone(),
        all[3].clone(),
        tail,
        all[4].clone(),
    ];
    assert_eq!(
        txn_query(&mut *tx, f, 0, u64::MAX).await,
        want,
        "txn view across 2^63"
    );
    commit(tx).await;
    assert_eq!(
        query(&*store, f, 0, u64::MAX).await,
        want,
        "committed view across 2^63"
    );
}

async fn put_replace_delete(store: Arc<dyn MetadataStore>) {
    let f = create_one(&*store, FileKind::Regular).await;
    put_all(&*store, f, &[ext(0, 10, 1), ext(10, 10, 2)]).await;
    put_all(&*store, f, &[ext(0, 5, 3)]).await;
    assert_eq!(
        query(&*store, f, 0, 100).await,
        vec![ext(0, 5, 3), ext(10, 10, 2)],
        "put at the same offset replaces"
    );

    let mut tx = begin(&*store).await;
    tx.delete_extent(f, 0).await.expect("delete_extent");
    tx.delete_extent(f, 55)
        .await
        .expect("delete_extent where there is none");
    tx.put_extent(f, &ext(10, 20, 4)).await.expect("put_extent");
    tx.put_extent(f, &ext(10, 30, 5)).await.expect("put_extent");
    assert_eq!(
        txn_query(&mut *tx, f, 0, 100).await,
        vec![ext(10, 30, 5)],
        "last put in a txn wins"
    );
    commit(tx).await;
    assert_eq!(
        query(&*store, f, 0, 100).await,
        vec![ext(10, 30, 5)],
        "after delete and replaces"
    );

    let mut tx = begin(&*store).await;
    tx.put_extent(f, &ext(50, 1, 6)).await.expect("put_extent");
    tx.delete_extent(f, 50).await.expect("delete_extent");
    tx.delete_extent(f, 10).await.expect("delete_extent");
    tx.put_extent(f, &ext(10, 1, 7)).await.expect("put_extent");
    commit(tx).await;
    assert_eq!(
        query(&*store, f, 0, 100).await,
        vec![ext(10, 1, 7)],
        "put+delete and delete+put in one txn"
    );
    let mut tx = begin(&*store).await;
    tx.delete_extent(f, 10).await.expect("delete_extent");
    commit(tx).await;
    assert_eq!(
        query(&*store, f, 0, u64::MAX).await,
        vec![],
        "all extents deleted"
    );
}

async fn maps_are_per_inode(store: Arc<dyn MetadataStore>) {
    let ids = create_many(&*store, FileKind::Regular, 4).await;
    let (f0, f1, f2, f3) = (ids[0], ids[1], ids[2], ids[3]);
    // Each file's extents sit where a scan that ignores the inode would
    // find a neighbour's.
    put_all(&*store, f0, &[ext(500, 10, 9)]).await;
    put_all(&*store, f1, &[ext(0, 1000, 1)]).await;
    put_all(&*store, f2, &[ext(100, 10, 2), ext(2000, 10, 3)]).await;
    assert_eq!(query(&*store, f1, 500, 600).await, vec![ext(0, 1000, 1)]);
    assert_eq!(
        query(&*store, f2, 0, 50).await,
        vec![],
        "f2 has nothing below 100"
    );
    assert_eq!(query(&*store, f2, 0, 105).await, vec![ext(100, 10, 2)]);
    assert_eq!(query(&*store, f2, 110, 2000).await, vec![], "f2's hole");
    assert_eq!(
        query(&*store, f3, 0, u64::MAX).await,
        vec![],
        "f3 has no extents"
    );
    assert_eq!(
        query(&*store, f0, 0, u64::MAX).await,
        vec![ext(500, 10, 9)],
        "f0 only"
    );
    let mut tx = begin(&*store).await;
    assert_eq!(
        txn_query(&mut *tx, f2, 0, 50).await,
        vec![],
        "txn: f2 has nothing below 100"
    );
    assert_eq!(
        txn_query(&mut *tx, f3, 0, u64::MAX).await,
        vec![],
        "txn: f3 has no extents"
    );
    tx.put_extent(f3, &ext(0, 5, 4)).await.expect("put_extent");
    tx.delete_extent(f1, 0).await.expect("delete_extent");
    assert_eq!(
        txn_query(&mut *tx, f2, 0, 5000).await,
        vec![ext(100, 10, 2), ext(2000, 10, 3)],
        "txn: f2 unchanged"
    );
    assert_eq!(
        txn_query(&mut *tx, f0, 0, 5000).await,
        vec![ext(500, 10, 9)],
        "txn: f0 unchanged"
    );
    commit(tx).await;
    assert_eq!(query(&*store, f1, 0, u64::MAX).await, vec![], "f1 emptied");
    assert_eq!(
        query(&*store, f2, 0, u64::MAX).await,
        vec![ext(100, 10, 2), ext(2000, 10, 3)],
        "f2 unchanged"
    );
    assert_eq!(
        query(&*store, f3, 0, u64::MAX).await,
        vec![ext(0, 5, 4)],
        "f3 got its extent"
    );
}

async fn txn_merges_its_own_changes(store: Arc<dyn MetadataStore>) {
    let ids = create_many(&*store, FileKind::Regular, 2).await;
    let (f, other) = (ids[0], ids[1]);
    let base = [
        ext(0, 10, 1),
        ext(10, 10, 2),
        ext(30, 10, 3),
        ext(50, 20, 4),
    ];
    put_all(&*store, f, &base).await;
    put_all(&*store, other, &[ext(12, 3, 9)]).await;
    let mut tx = begin(&*store).await;
    tx.delete_extent(f, 10).await.expect("delete_extent");
    tx.put_extent(f, &ext(20, 5, 5)).await.expect("put_extent");
    tx.put_extent(f, &ext(30, 5, 6)).await.expect("put_extent");
    tx.put_extent(f, &ext(200, 100, 7))
        .await
        .expect("put_extent");
    tx.delete_extent(f, 50).await.expect("delete_extent");
    tx.put_extent(f, &ext(45, 15, 8)).await.expect("put_extent");
    let merged = [
        ext(0, 10, 1),
        ext(20, 5, 5),
        ext(30, 5, 6),
        ext(45, 15, 8),
        ext(200, 100, 7),
    ];
    let cases: [(u64, u64, &[Extent]); 8] = [
        (0, u64::MAX, &merged),
        (12, 31, &merged[1..3]),
        (35, 46, &merged[3..4]),
        (50, 55, &merged[3..4]),
        (60, 70, &[]),
        (10, 20, &[]),
        (9, 201, &merged),
        (299, 300, &merged[4..]),
    ];
    for (start, end, want) in cases {
        assert_eq!(
            txn_query(&mut *tx, f, start, end).await,
            want,
            "txn view of {start}..{end}"
        );
    }
    assert_eq!(
        txn_query(&mut *tx, other, 0, 100).await,
        vec![ext(12, 3, 9)],
        "other inode unchanged in txn"
    );
    assert_eq!(
        query(&*store, f, 0, u64::MAX).await,
        base,
        "store still sees the committed extents"
    );
    commit(tx).await;
    for (start, end, want) in cases {
        assert_eq!(
            query(&*store, f, start, end).await,
            want,
            "committed view of {start}..{end}"
        );
    }
}

async fn block_bytes(store: &dyn MetadataStore) -> u64 {
    store.stats().await.expect("stats").block_bytes
}

/// Puts and deletes block refs in one transaction, mirroring them in
/// `model`, and commits.
async fn apply(
    store: &dyn MetadataStore,
    model: &mut BTreeMap<BlockId, BlockRef>,
    ops: &[(u64, Option<BlockRef>)],
) {
    let mut tx = begin(store).await;
    for (n, r) in ops {
        match r {
            Some(r) => {
                tx.put_block_ref(&block(*n), r)
                    .await
                    .expect("put_block_ref");
                model.insert(block(*n), *r);
            }
            None => {
                tx.delete_block_ref(&block(*n))
                    .await
                    .expect("delete_block_ref");
                model.remove(&block(*n));
            }
        }
        let got = tx.block_ref(&block(*n)).await.expect("block_ref in txn");
        assert_eq!(got, *r, "txn reads back its block ref change");
    }
    commit(tx).await;
    for (id, r) in model.iter() {
        assert_eq!(
            store.block_ref(id).await.expect("block_ref"),
            Some(*r),
            "block ref of {id:?}"
        );
    }
    let sum: u64 = model.values().map(|r| r.size).sum();
    assert_eq!(
        block_bytes(store).await,
        sum,
        "block_bytes is the sum of existing block sizes after {ops:?}"
    );
}

async fn block_refs_and_block_bytes(store: Arc<dyn MetadataStore>) {
    let r = |refs: u64, size: u64| Some(BlockRef { refs, size });
    let mut model = BTreeMap::new();
    assert_eq!(
        store.block_ref(&block(1)).await.expect("block_ref"),
        None,
        "fresh store"
    );
    assert_eq!(block_bytes(&*store).await, 0, "fresh store");
    {
        let mut tx = begin(&*store).await;
        tx.put_block_ref(&block(1), &BlockRef { refs: 1, size: 100 })
            .await
            .expect("put_block_ref");
        assert_eq!(
            store.block_ref(&block(1)).await.expect("block_ref"),
            None,
            "uncommitted block ref"
        );
        assert_eq!(block_bytes(&*store).await, 0, "uncommitted block bytes");
    }
    assert_eq!(
        store.block_ref(&block(1)).await.expect("block_ref"),
        None,
        "rolled-back block ref"
    );
    apply(&*store, &mut model, &[(1, r(1, 100)), (2, r(2, 4096))]).await;
    apply(&*store, &mut model, &[(1, r(3, 100))]).await;
    apply(&*store, &mut model, &[(2, None), (9, None)]).await;
    apply(
        &*store,
        &mut model,
        &[(4, r(1, 1 << 40)), (4, None), (5, r(1, 10)), (5, r(2, 20))],
    )
    .await;
    apply(&*store, &mut model, &[(1, r(1, 300))]).await;
    apply(&*store, &mut model, &[(1, None), (1, r(1, 7))]).await;
    let many: Vec<(u64, Option<BlockRef>)> = (100..150).map(|n| (n, r(n, n * 1000))).collect();
    apply(&*store, &mut model, &many).await;
    let before = block_bytes(&*store).await;
    {
        let mut tx = begin(&*store).await;
        tx.put_block_ref(
            &block(3),
            &BlockRef {
                refs: 1,
                size: 1 << 30,
            },
        )
        .await
        .expect("put_block_ref");
        tx.delete_block_ref(&block(1))
            .await
            .expect("delete_block_ref");
        tx.put_block_ref(&block(5), &BlockRef { refs: 9, size: 999 })
            .await
            .expect("put_block_ref");
    }
    assert_eq!(
        block_bytes(&*store).await,
        before,
        "a rolled-back txn leaves block_bytes alone"
    );
    assert_eq!(
        store.block_ref(&block(3)).await.expect("block_ref"),
        None,
        "rolled-back put"
    );
    assert_eq!(
        store.block_ref(&block(1)).await.expect("block_ref"),
        r(1, 7),
        "rolled-back delete"
    );
    assert_eq!(
        store.block_ref(&block(5)).await.expect("block_ref"),
        r(2, 20),
        "rolled-back replace"
    );
    let all: Vec<(u64, Option<BlockRef>)> = [1, 5]
        .into_iter()
        .chain(100..150)
        .map(|n| (n, None))
        .collect();
    apply(&*store, &mut model, &all).await;
    assert_eq!(block_bytes(&*store).await, 0, "every block ref deleted");
}

fn new(offset: u64, len: u64, n: u64, block_offset: u64, size: u64) -> NewExtent {
    NewExtent {
        extent: Extent::in_block(offset, len, block(n), block_offset),
        block_size: size,
    }
}

async fn refs(store: &dyn MetadataStore, n: u64) -> Option<u64> {
    store
        .block_ref(&block(n))
        .await
        .expect("block_ref")
        .map(|r| r.refs)
}

/// Inline extents of every size come back byte for byte, are cut like any
/// other, and count toward no block.
async fn inline_extents_keep_their_bytes(store: Arc<dyn MetadataStore>) {
    let f = create_one(&*store, FileKind::Regular).await;
    let bytes = |n: usize, seed: u8| -> Bytes {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    };
    let sizes = [1, 47, 48, 4096, crate::types::MAX_INLINE];
    let mut at = 0;
    let mut all = Vec::new();
    for (i, n) in sizes.into_iter().enumerate() {
        all.push(Extent::inline(at, bytes(n, i as u8)));
        at += n as u64 + 100;
    }
    put_all(&*store, f, &all).await;
    assert_eq!(
        query(&*store, f, 0, u64::MAX).await,
        all,
        "inline extents as put"
    );
    assert_eq!(
        block_bytes(&*store).await,
        0,
        "inline bytes are in no block"
    );

    // Overwrite the middle of the 4 KiB one: its head and tail stay inline.
    let big = all[3].clone();
    let mut tx = begin(&*store).await;
    let rel = replace_range(
        &mut *tx,
        f,
        big.offset + 10,
        big.offset + 20,
        &[new(big.offset + 10, 10, 9, 0, 10)],
    )
    .await
    .expect("replace_range");
    assert!(rel.is_empty());
    commit(tx).await;
    let got = query(&*store, f, big.offset, big.end()).await;
    assert_eq!(
        got,
        vec![
            big.slice(big.offset, big.offset + 10),
            Extent::in_block(big.offset + 10, 10, block(9), 0),
            big.slice(big.offset + 20, big.end()),
        ],
        "an inline extent cut around a block extent"
    );
    assert_eq!(refs(&*store, 9).await, Some(1));

    let mut tx = begin(&*store).await;
    let rel = truncate(&mut *tx, f, 0).await.expect("truncate");
    assert_eq!(rel, vec![block(9)], "only the block is released");
    commit(tx).await;
    assert!(query(&*store, f, 0, u64::MAX).await.is_empty());
}

/// Two files share block X; one is partly overwritten with block Y, then
/// both are truncated away.
async fn helpers_keep_refcounts(store: Arc<dyn MetadataStore>) {
    let (x, y) = (1, 2);
    let ids = create_many(&*store, FileKind::Regular, 2).await;
    let (a, b) = (ids[0], ids[1]);
    let mut tx = begin(&*store).await;
    let rel = replace_range(&mut *tx, a, 0, 100, &[new(0, 100, x, 0, 100)])
        .await
        .expect("replace_range");
    assert!(rel.is_empty(), "nothing released by a first write");
    let rel = replace_range(&mut *tx, b, 0, 100, &[new(0, 100, x, 0, 100)])
        .await
        .expect("replace_range");
    assert!(rel.is_empty(), "nothing released by a first write");
    commit(tx).await;
    assert_eq!(
        (refs(&*store, x).await, block_bytes(&*store).await),
        (Some(2), 100),
        "X used twice"
    );

    let mut tx = begin(&*store).await;
    let rel = replace_range(&mut *tx, a, 20, 30, &[new(20, 10, y, 0, 10)])
        .await
        .expect("replace_range");
    assert!(rel.is_empty(), "a split releases nothing");
    commit(tx).await;
    let xe = |offset, len, block_offset| Extent::in_block(offset, len, block(x), block_offset);
    let ye = Extent::in_block(20, 10, block(y), 0);
    assert_eq!(
        query(&*store, a, 0, u64::MAX).await,
        vec![xe(0, 20, 0), ye.clone(), xe(30, 70, 30)],
        "A after the overwrite"
    );
    assert_eq!(
        (refs(&*store, x).await, refs(&*store, y).await),
        (Some(3), Some(1)),
        "X split in A"
    );
    assert_eq!(block_bytes(&*store).await, 110, "X and Y");

    let mut tx = begin(&*store).await;
    assert!(
        truncate(&mut *tx, a, 25)
            .await
            .expect("truncate")
            .is_empty(),
        "truncate to 25 releases nothing"
    );
    commit(tx).await;
    let ye5 = Extent { len: 5, ..ye };
    assert_eq!(
        query(&*store, a, 0, u64::MAX).await,
        vec![xe(0, 20, 0), ye5],
        "A truncated to 25"
    );
    assert_eq!(
        (refs(&*store, x).await, refs(&*store, y).await),
        (Some(2), Some(1)),
        "after truncate to 25"
    );

    let mut tx = begin(&*store).await;
    let rel = truncate(&mut *tx, a, 0).await.expect("truncate");
    commit(tx).await;
    assert_eq!(rel, vec![block(y)], "emptying A releases Y only");
    assert_eq!(
        (refs(&*store, x).await, refs(&*store, y).await),
        (Some(1), None),
        "after emptying A"
    );
    assert_eq!(block_bytes(&*store).await, 100, "only X left");
    assert_eq!(query(&*store, a, 0, u64::MAX).await, vec![], "A is empty");

    {
        let mut tx = begin(&*store).await;
        let rel = truncate(&mut *tx, b, 0).await.expect("truncate");
        assert_eq!(rel, vec![block(x)], "emptying B releases X");
    }
    assert_eq!(
        refs(&*store, x).await,
        Some(1),
        "rolled-back truncate keeps X"
    );
    assert_eq!(
        query(&*store, b, 0, u64::MAX).await,
        vec![xe(0, 100, 0)],
        "rolled-back truncate keeps B"
    );
    let mut tx = begin(&*store).await;
    let rel = truncate(&mut *tx, b, 0).await.expect("truncate");
    commit(tx).await;
    assert_eq!(rel, vec![block(x)], "emptying B releases X");
    assert_eq!(refs(&*store, x).await, None, "X has no references left");
    assert_eq!(block_bytes(&*store).await, 0, "no blocks left");
}
