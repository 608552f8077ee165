//! The behaviour every [`BlockStore`] must show, written once and run by
//! every store's tests. A new store is done when it passes this unchanged.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::{BlockError, BlockId, BlockStore};

fn block(seed: u8, len: usize) -> (BlockId, Bytes) {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    (BlockId::of(&data), Bytes::from(data))
}

/// Runs every check against fresh stores from `make`. Call it from a
/// multi-threaded tokio runtime: some checks race tasks against each other.
pub async fn run<S, F, Fut>(make: F)
where
    S: BlockStore + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    put_get_round_trip(&*make().await).await;
    ranged_reads(&*make().await).await;
    missing_blocks(&*make().await).await;
    put_is_idempotent(&*make().await).await;
    delete_is_idempotent(&*make().await).await;
    listing_pages_in_order(&*make().await).await;
    delete_many_removes_all(&*make().await).await;
    empty_block(&*make().await).await;
    capacity_is_sane(&*make().await).await;
    concurrent_puts_of_one_block(make().await).await;
}

/// Checks that a persistent store keeps its blocks across instances.
/// `open` must return a store over the same data each time it is called,
/// once the instance it returned before has been dropped. Call it from a
/// tokio runtime, like [`run`].
pub async fn run_reopen<S, F, Fut>(open: F)
where
    S: BlockStore + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    let mut blocks = vec![
        block(50, 4 * 1024 * 1024),
        (BlockId::of(b""), Bytes::new()),
        block(51, 1),
        block(52, 4096),
        block(53, 100_001),
    ];
    blocks.extend((60..80u8).map(|seed| block(seed, 200 + seed as usize)));
    let mut want: Vec<BlockId> = blocks.iter().map(|(id, _)| *id).collect();
    want.sort();

    let s = open().await;
    for (id, data) in &blocks {
        s.put(id, data.clone()).await.expect("put");
    }
    drop(s);

    let s = open().await;
    for (id, data) in &blocks {
        assert!(s.contains(id).await.expect("contains"), "{id} kept");
        let got = s.get(id, 0..data.len() as u64).await.expect("get");
        assert_eq!(got, data, "block of {} bytes reads back", data.len());
    }
    let (big, big_data) = &blocks[0];
    let got = s.get(big, 1_000_000..1_004_096).await.expect("ranged get");
    assert_eq!(&got[..], &big_data[1_000_000..1_004_096]);
    assert_eq!(list_all(&*s, 7).await, want, "every id once, ascending");
    s.put(&blocks[2].0, blocks[2].1.clone())
        .await
        .expect("put of a kept block");

    let (gone, _) = blocks.remove(3);
    s.delete(&gone).await.expect("delete");
    drop(s);
    want.retain(|id| *id != gone);

    let s = open().await;
    assert!(!s.contains(&gone).await.expect("contains"), "stays deleted");
    assert!(matches!(
        s.get(&gone, 0..1).await,
        Err(BlockError::NotFound(x)) if x == gone
    ));
    assert_eq!(list_all(&*s, 7).await, want, "deleted block not listed");
    for (id, data) in &blocks {
        let got = s.get(id, 0..data.len() as u64).await.expect("get");
        assert_eq!(got, data, "block of {} bytes still reads back", data.len());
    }
}

/// Every id in the store, by pages of `page`.
async fn list_all<S: BlockStore + ?Sized>(s: &S, page: usize) -> Vec<BlockId> {
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let ids = s.list(after.as_ref(), page).await.expect("list");
        assert!(ids.len() <= page);
        match ids.last() {
            Some(last) => after = Some(*last),
            None => return got,
        }
        got.extend(ids);
    }
}

async fn put_get_round_trip<S: BlockStore + ?Sized>(s: &S) {
    for (seed, len) in [
        (1u8, 1usize),
        (2, 4096),
        (3, 1 << 20),
        (4, 3 * 1024 * 1024 + 17),
    ] {
        let (id, data) = block(seed, len);
        s.put(&id, data.clone()).await.expect("put");
        assert!(s.contains(&id).await.expect("contains"));
        let got = s.get(&id, 0..len as u64).await.expect("get");
        assert_eq!(got, data, "block of {len} bytes reads back");
    }
}

async fn ranged_reads<S: BlockStore + ?Sized>(s: &S) {
    let (id, data) = block(9, 100_000);
    s.put(&id, data.clone()).await.expect("put");
    for (a, b) in [
        (0u64, 1u64),
        (4096, 8192),
        (99_999, 100_000),
        (123, 45_678),
        (50_000, 50_000),
    ] {
        let got = s.get(&id, a..b).await.expect("ranged get");
        assert_eq!(&got[..], &data[a as usize..b as usize], "range {a}..{b}");
    }
    let tail = s.get(&id, 99_990..200_000).await.expect("range past end");
    assert_eq!(
        &tail[..],
        &data[99_990..],
        "a range past the end is cut short"
    );
    let at_end = s.get(&id, 100_000..100_010).await.expect("range at end");
    assert!(at_end.is_empty());
    assert!(matches!(
        s.get(&id, 100_001..100_002).await,
        Err(BlockError::InvalidRange { .. })
    ));
}

async fn missing_blocks<S: BlockStore + ?Sized>(s: &S) {
    let (id, _) = block(5, 10);
    assert!(!s.contains(&id).await.expect("contains"));
    assert!(matches!(s.get(&id, 0..10).await, Err(BlockError::NotFound(x)) if x == id));
}

async fn put_is_idempotent<S: BlockStore + ?Sized>(s: &S) {
    let (id, data) = block(6, 5000);
    s.put(&id, data.clone()).await.expect("put");
    s.put(&id, data.clone()).await.expect("second put");
    assert_eq!(s.get(&id, 0..5000).await.expect("get"), data);
    assert_eq!(s.list(None, 10).await.expect("list"), vec![id]);
}

async fn delete_is_idempotent<S: BlockStore + ?Sized>(s: &S) {
    let (id, data) = block(7, 100);
    s.delete(&id).await.expect("delete of a missing block");
    s.put(&id, data).await.expect("put");
    s.delete(&id).await.expect("delete");
    assert!(!s.contains(&id).await.expect("contains"));
    s.delete(&id).await.expect("second delete");
    assert!(matches!(
        s.get(&id, 0..1).await,
        Err(BlockError::NotFound(_))
    ));
}

async fn listing_pages_in_order<S: BlockStore + ?Sized>(s: &S) {
    let mut want = BTreeSet::new();
    for seed in 0..57u8 {
        let (id, data) = block(seed, 64 + seed as usize);
        s.put(&id, data).await.expect("put");
        want.insert(id);
    }
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = s.list(after.as_ref(), 10).await.expect("list");
        assert!(page.len() <= 10);
        if page.is_empty() {
            break;
        }
        after = page.last().copied();
        got.extend(page);
    }
    assert_eq!(
        got,
        want.into_iter().collect::<Vec<_>>(),
        "every id once, ascending"
    );
}

async fn delete_many_removes_all<S: BlockStore + ?Sized>(s: &S) {
    let mut ids = Vec::new();
    for seed in 100..120u8 {
        let (id, data) = block(seed, 300);
        s.put(&id, data).await.expect("put");
        ids.push(id);
    }
    let (keep, data) = block(200, 300);
    s.put(&keep, data).await.expect("put");
    let (never, _) = block(201, 1);
    ids.push(never);
    s.delete_many(&ids).await.expect("delete_many");
    assert_eq!(s.list(None, 100).await.expect("list"), vec![keep]);
}

async fn empty_block<S: BlockStore + ?Sized>(s: &S) {
    let id = BlockId::of(b"");
    s.put(&id, Bytes::new()).await.expect("put empty");
    assert!(s.get(&id, 0..0).await.expect("get empty").is_empty());
}

async fn capacity_is_sane<S: BlockStore + ?Sized>(s: &S) {
    let c = s.capacity().await.expect("capacity");
    assert!(c.total_bytes > 0);
    assert!(c.free_bytes <= c.total_bytes);
}

async fn concurrent_puts_of_one_block<S: BlockStore + ?Sized>(s: Arc<S>) {
    let (id, data) = block(42, 256 * 1024);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, data) = (s.clone(), data.clone());
        tasks.push(tokio::spawn(async move { s.put(&id, data).await }));
    }
    for t in tasks {
        t.await.expect("task").expect("concurrent put");
    }
    assert_eq!(s.get(&id, 0..256 * 1024).await.expect("get"), data);
}
