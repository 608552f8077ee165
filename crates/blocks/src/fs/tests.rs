use std::sync::atomic::AtomicUsize;

use super::*;

fn data(seed: u8, len: usize) -> (BlockId, Bytes) {
    let v: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect();
    (BlockId::of(&v), Bytes::from(v))
}

fn tmp_entries(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join("tmp"))
        .expect("read tmp")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    crate::conformance::run(|| {
        let root = dir
            .path()
            .join(format!("store{}", n.fetch_add(1, Ordering::Relaxed)));
        async move { Arc::new(FsBlockStore::open(root).expect("open")) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    crate::conformance::run_reopen(|| {
        let root = root.clone();
        async move { Arc::new(FsBlockStore::open(root).expect("open")) }
    })
    .await;
}

#[tokio::test]
async fn works_on_a_current_thread_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    let (id, d) = data(1, 10_000);
    s.put(&id, d.clone()).await.expect("put");
    assert_eq!(s.get(&id, 0..10_000).await.expect("get"), d);
    assert_eq!(s.list(None, 10).await.expect("list"), vec![id]);
    s.delete(&id).await.expect("delete");
    assert!(!s.contains(&id).await.expect("contains"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_disk_layout_is_two_level_fan_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    assert_eq!(s.kind(), "fs");
    assert_eq!(s.root(), dir.path());
    let (id, d) = data(2, 3000);
    s.put(&id, d.clone()).await.expect("put");
    let hex = id.to_hex();
    let path = dir
        .path()
        .join("blocks")
        .join(&hex[0..2])
        .join(&hex[2..4])
        .join(&hex);
    assert_eq!(fs::read(&path).expect("block file"), d);
    assert!(tmp_entries(dir.path()).is_empty(), "no temporary file left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leaf_under_a_known_first_level_directory() {
    // Two blocks whose ids share the first byte but not the second: the
    // second put makes a new leaf in a first-level directory already made.
    let mut by_first: HashMap<u8, (BlockId, Bytes)> = HashMap::new();
    let (a, b) = (0..=255u8)
        .find_map(|seed| {
            let (id, d) = data(seed, 700);
            match by_first.get(&id.0[0]) {
                Some((other, od)) if other.0[1] != id.0[1] => Some(((*other, od.clone()), (id, d))),
                Some(_) => None,
                None => {
                    by_first.insert(id.0[0], (id, d));
                    None
                }
            }
        })
        .expect("two ids with the same first byte among 256");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    for (id, d) in [&a, &b] {
        s.put(id, d.clone()).await.expect("put");
    }
    for (id, d) in [&a, &b] {
        let hex = id.to_hex();
        let leaf = dir.path().join("blocks").join(&hex[0..2]).join(&hex[2..4]);
        assert_eq!(fs::read(leaf.join(&hex)).expect("block file"), *d);
    }
    let reopened = {
        drop(s);
        FsBlockStore::open(dir.path()).expect("reopen")
    };
    let mut listed = reopened.list(None, 10).await.expect("list");
    let mut want = vec![a.0, b.0];
    listed.sort();
    want.sort();
    assert_eq!(listed, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftover_temp_files_are_cleaned_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (id, d) = data(3, 500);
    {
        let s = FsBlockStore::open(dir.path()).expect("open");
        s.put(&id, d.clone()).await.expect("put");
    }
    // A crash mid-put: a partial block in tmp/, named like a block and like
    // one of our temporary files, and a stray directory.
    let (torn, _) = data(4, 500);
    let tmp = dir.path().join("tmp");
    fs::write(tmp.join(torn.to_hex()), b"partial").expect("junk");
    fs::write(tmp.join(format!("{}.1.7.tmp", torn.to_hex())), b"partial").expect("junk");
    fs::create_dir(tmp.join("junkdir")).expect("junk dir");
    fs::write(tmp.join("junkdir").join("x"), b"x").expect("junk");

    let s = FsBlockStore::open(dir.path()).expect("reopen");
    assert!(tmp_entries(dir.path()).is_empty(), "tmp/ cleaned at open");
    assert_eq!(s.list(None, 100).await.expect("list"), vec![id]);
    assert!(!s.contains(&torn).await.expect("contains"));
    assert_eq!(s.get(&id, 0..500).await.expect("get"), d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_files_in_the_tree_are_not_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    let mut want = Vec::new();
    for seed in 0..30u8 {
        let (id, d) = data(seed, 100);
        s.put(&id, d).await.expect("put");
        want.push(id);
    }
    want.sort();
    let blocks = dir.path().join("blocks");
    let hex = want[0].to_hex();
    let leaf = blocks.join(&hex[0..2]).join(&hex[2..4]);
    let (other, _) = data(200, 1);
    let other_hex = other.to_hex();
    // Junk next to blocks, an uppercase copy, a block in the wrong leaf,
    // a directory named like a block, and junk at every level.
    fs::write(leaf.join("README"), b"x").expect("junk");
    fs::write(leaf.join(format!("{hex}.tmp")), b"x").expect("junk");
    fs::write(leaf.join(hex.to_uppercase()), b"x").expect("junk");
    if other_hex[..4] != hex[..4] {
        fs::write(leaf.join(&other_hex), b"x").expect("misplaced");
    }
    fs::create_dir(leaf.join(BlockId::of(b"dir").to_hex())).expect("dir");
    fs::write(blocks.join(&hex[0..2]).join("zz"), b"x").expect("junk");
    fs::create_dir_all(blocks.join("zz").join("00")).expect("junk dir");
    fs::write(blocks.join("ff"), b"not a dir").expect("junk");
    fs::write(blocks.join(".DS_Store"), b"x").expect("junk");

    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = s.list(after.as_ref(), 4).await.expect("list");
        let Some(last) = page.last() else { break };
        after = Some(*last);
        got.extend(page);
    }
    assert_eq!(got, want);
    assert!(s.list(None, 0).await.expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_after_an_id_that_is_not_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    let mut want = Vec::new();
    for seed in 0..40u8 {
        let (id, d) = data(seed, 10);
        s.put(&id, d).await.expect("put");
        want.push(id);
    }
    want.sort();
    for probe in [BlockId([0; 32]), BlockId([0x80; 32]), BlockId([0xff; 32])] {
        let expect: Vec<BlockId> = want.iter().filter(|id| **id > probe).copied().collect();
        assert_eq!(s.list(Some(&probe), 100).await.expect("list"), expect);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_range_of_a_large_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    let (id, d) = data(5, 4 * 1024 * 1024);
    s.put(&id, d.clone()).await.expect("put");
    for start in [0u64, 4096, 2 * 1024 * 1024 + 123, 4 * 1024 * 1024 - 4096] {
        let got = s.get(&id, start..start + 4096).await.expect("get");
        assert_eq!(got.len(), 4096);
        assert_eq!(&got[..], &d[start as usize..start as usize + 4096]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_leave_one_file_and_no_temp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Arc::new(FsBlockStore::open(dir.path()).expect("open"));
    let (id, d) = data(6, 300_000);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (s, d) = (s.clone(), d.clone());
            tokio::spawn(async move { s.put(&id, d).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("put");
    }
    let leaf = s.inner.layout.leaf(&id);
    let files: Vec<_> = fs::read_dir(&leaf).expect("leaf").collect();
    assert_eq!(files.len(), 1);
    assert_eq!(fs::read(s.inner.layout.block(&id)).expect("read"), d);
    assert!(tmp_entries(dir.path()).is_empty());
    assert!(s.inner.in_flight.lock().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_is_open_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    assert!(matches!(
        FsBlockStore::open(dir.path()),
        Err(BlockError::Unavailable(_))
    ));
    drop(s);
    FsBlockStore::open(dir.path()).expect("open after drop");
}

#[test]
fn open_refuses_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    fs::write(&file, b"x").expect("write");
    assert!(matches!(
        FsBlockStore::open(&file),
        Err(BlockError::Unavailable(_))
    ));
    fs::create_dir(dir.path().join("r")).expect("mkdir");
    fs::write(dir.path().join("r").join("blocks"), b"x").expect("write");
    assert!(FsBlockStore::open(dir.path().join("r")).is_err());
}

#[test]
fn open_creates_missing_parents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("a").join("b");
    FsBlockStore::open(&root).expect("open");
    assert!(root.join("blocks").is_dir());
    assert!(root.join("tmp").is_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_in_place_of_a_block_is_corrupt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    let (id, d) = data(7, 10);
    fs::create_dir_all(s.inner.layout.block(&id)).expect("mkdir");
    assert!(matches!(
        s.contains(&id).await,
        Err(BlockError::Corrupt { .. })
    ));
    assert!(matches!(
        s.get(&id, 0..1).await,
        Err(BlockError::Corrupt { .. })
    ));
    assert!(s.put(&id, d).await.is_err());
}

#[test]
fn works_without_a_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = FsBlockStore::open(dir.path()).expect("open");
    let c = block_on(s.capacity()).expect("capacity");
    assert!(c.total_bytes > 0 && c.free_bytes <= c.total_bytes);
}

/// Polls a future to completion on this thread, outside any tokio runtime.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// Files held open by this process whose path is under `root`.
fn open_files_under(root: &Path) -> Vec<String> {
    fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.starts_with(&*root.to_string_lossy()))
        .collect()
}

#[tokio::test]
async fn read_blocks_stay_open_until_deleted_and_damage_is_still_seen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let s = FsBlockStore::open(&root).expect("open");
    let blocks = root.join("blocks");
    let (a, da) = data(1, 10_000);
    let (b, db) = data(2, 10_000);
    s.put(&a, da.clone()).await.expect("put a");
    s.put(&b, db).await.expect("put b");
    assert_eq!(s.get(&a, 0..10_000).await.expect("get"), da);
    s.get(&b, 0..10).await.expect("get b");
    assert_eq!(open_files_under(&blocks).len(), 2, "both kept open");

    s.delete(&a).await.expect("delete");
    assert_eq!(
        open_files_under(&blocks),
        vec![s.inner.layout.block(&b).to_string_lossy().into_owned()],
        "the deleted block's file is closed"
    );
    assert!(matches!(
        s.get(&a, 0..10).await,
        Err(BlockError::NotFound(id)) if id == a
    ));

    // Cut short behind the store's back: the open file shows it.
    File::options()
        .write(true)
        .open(s.inner.layout.block(&b))
        .expect("open b")
        .set_len(100)
        .expect("truncate b");
    assert!(matches!(
        s.get(&b, 0..10_000).await,
        Err(BlockError::Corrupt { id, .. }) if id == b
    ));
}
