//! Directory entries: lookups, replaces and removes, `has_entries` inside
//! a transaction, and directories kept apart.

use std::sync::Arc;

use super::{begin, commit, create_many, create_one, entry};
use crate::store::MetadataStore;
use crate::types::{FileKind, InodeId};

checks!(
    put_lookup_remove,
    replace_an_entry,
    has_entries_sees_the_txn,
    directories_do_not_mix,
);

async fn put_lookup_remove(store: Arc<dyn MetadataStore>) {
    let dir = create_one(&*store, FileKind::Directory).await;
    let file = create_one(&*store, FileKind::Regular).await;
    let (a, b) = (entry(b"a", file, 3), entry(b"b", file, 4));
    let mut tx = begin(&*store).await;
    tx.put_entry(dir, &a).await.expect("put_entry");
    tx.put_entry(dir, &b).await.expect("put_entry");
    assert_eq!(
        tx.lookup(dir, b"a").await.expect("lookup"),
        Some(a.clone()),
        "txn sees its entry"
    );
    assert_eq!(
        store.lookup(dir, b"a").await.expect("lookup"),
        None,
        "uncommitted entry visible"
    );
    assert_eq!(
        tx.remove_entry(dir, b"zz").await.expect("remove_entry"),
        None,
        "removing an absent name"
    );
    commit(tx).await;
    assert_eq!(
        store.lookup(dir, b"a").await.expect("lookup"),
        Some(a.clone()),
        "entry reads back exactly"
    );
    assert_eq!(
        store.lookup(dir, b"b").await.expect("lookup"),
        Some(b.clone()),
        "entry reads back exactly"
    );
    assert_eq!(
        store.lookup(dir, b"zz").await.expect("lookup"),
        None,
        "absent name"
    );
    assert_eq!(
        store.lookup(file, b"a").await.expect("lookup"),
        None,
        "an inode with no entries"
    );

    let mut tx = begin(&*store).await;
    assert_eq!(
        tx.lookup(dir, b"b").await.expect("lookup"),
        Some(b.clone()),
        "txn sees committed entry"
    );
    assert_eq!(
        tx.remove_entry(dir, b"a").await.expect("remove_entry"),
        Some(a.clone()),
        "remove returns the entry"
    );
    assert_eq!(
        tx.remove_entry(dir, b"a").await.expect("remove_entry"),
        None,
        "second remove finds nothing"
    );
    assert_eq!(
        tx.lookup(dir, b"a").await.expect("lookup"),
        None,
        "txn sees its remove"
    );
    assert_eq!(
        store.lookup(dir, b"a").await.expect("lookup"),
        Some(a.clone()),
        "uncommitted remove visible"
    );
    commit(tx).await;
    assert_eq!(
        store.lookup(dir, b"a").await.expect("lookup"),
        None,
        "committed remove"
    );
    assert_eq!(
        store.list_by_cookie(dir, 0, 10).await.expect("list"),
        vec![b.clone()],
        "only b is left"
    );

    // An entry put and removed in one transaction never existed.
    let mut tx = begin(&*store).await;
    tx.put_entry(dir, &entry(b"c", file, 5))
        .await
        .expect("put_entry");
    let gone = tx.remove_entry(dir, b"c").await.expect("remove_entry");
    assert_eq!(
        gone,
        Some(entry(b"c", file, 5)),
        "remove returns the txn's own entry"
    );
    commit(tx).await;
    assert_eq!(
        store.list_by_cookie(dir, 0, 10).await.expect("list"),
        vec![b],
        "put then remove leaves nothing"
    );
}

async fn replace_an_entry(store: Arc<dyn MetadataStore>) {
    let dir = create_one(&*store, FileKind::Directory).await;
    let files = create_many(&*store, FileKind::Regular, 2).await;
    let (f1, f2) = (files[0], files[1]);
    let mut tx = begin(&*store).await;
    tx.put_entry(dir, &entry(b"x", f1, 3))
        .await
        .expect("put_entry");
    commit(tx).await;

    let mut tx = begin(&*store).await;
    tx.put_entry(dir, &entry(b"x", f2, 4))
        .await
        .expect("put_entry");
    assert_eq!(
        tx.lookup(dir, b"x").await.expect("lookup"),
        Some(entry(b"x", f2, 4)),
        "txn sees the replace"
    );
    assert_eq!(
        store.lookup(dir, b"x").await.expect("lookup"),
        Some(entry(b"x", f1, 3)),
        "replace visible early"
    );
    commit(tx).await;
    let want = vec![entry(b"x", f2, 4)];
    assert_eq!(
        store.lookup(dir, b"x").await.expect("lookup"),
        Some(want[0].clone()),
        "replaced entry"
    );
    assert_eq!(
        store.list_by_cookie(dir, 0, 10).await.expect("list"),
        want,
        "a replaced entry keeps no old cookie"
    );
    assert_eq!(
        store.list_by_cookie(dir, 3, 10).await.expect("list"),
        want,
        "listing after the old cookie"
    );
    assert_eq!(
        store.list_by_name(dir, None, 10).await.expect("list"),
        want,
        "a replaced entry is listed once"
    );

    // Remove and put again in one transaction, and replace a new entry.
    let mut tx = begin(&*store).await;
    tx.remove_entry(dir, b"x").await.expect("remove_entry");
    tx.put_entry(dir, &entry(b"x", f1, 5))
        .await
        .expect("put_entry");
    tx.put_entry(dir, &entry(b"y", f1, 6))
        .await
        .expect("put_entry");
    tx.put_entry(dir, &entry(b"y", f2, 7))
        .await
        .expect("put_entry");
    commit(tx).await;
    let want = vec![entry(b"x", f1, 5), entry(b"y", f2, 7)];
    assert_eq!(
        store.list_by_cookie(dir, 0, 10).await.expect("list"),
        want,
        "entries after remove+put and put+put"
    );
    assert_eq!(
        store.list_by_cookie(dir, 5, 10).await.expect("list"),
        want[1..],
        "listing after cookie 5"
    );
    assert_eq!(
        store.list_by_cookie(dir, 6, 10).await.expect("list"),
        want[1..],
        "cookie 6 was replaced by 7"
    );
    assert_eq!(
        store.list_by_name(dir, None, 10).await.expect("list"),
        want,
        "by name"
    );
}

async fn has_entries_sees_the_txn(store: Arc<dyn MetadataStore>) {
    let dirs = create_many(&*store, FileKind::Directory, 3).await;
    let (empty, two, after) = (dirs[0], dirs[1], dirs[2]);
    let file = create_one(&*store, FileKind::Regular).await;
    let mut tx = begin(&*store).await;
    tx.put_entry(two, &entry(b"p", file, 3))
        .await
        .expect("put_entry");
    tx.put_entry(two, &entry(b"q", file, 4))
        .await
        .expect("put_entry");
    // Neighbours on both sides have entries, so a range scan that runs
    // over into the next directory is caught.
    tx.put_entry(after, &entry(b"r", file, 3))
        .await
        .expect("put_entry");
    commit(tx).await;

    let mut tx = begin(&*store).await;
    assert!(
        !tx.has_entries(empty).await.expect("has_entries"),
        "empty dir"
    );
    assert!(
        !tx.has_entries(file).await.expect("has_entries"),
        "a file has no entries"
    );
    assert!(
        tx.has_entries(two).await.expect("has_entries"),
        "dir with two entries"
    );
    tx.put_entry(empty, &entry(b"n", file, 3))
        .await
        .expect("put_entry");
    assert!(
        tx.has_entries(empty).await.expect("has_entries"),
        "entry added in this txn"
    );
    tx.remove_entry(empty, b"n").await.expect("remove_entry");
    assert!(
        !tx.has_entries(empty).await.expect("has_entries"),
        "entry added and removed in this txn"
    );
    tx.remove_entry(two, b"p").await.expect("remove_entry");
    assert!(
        tx.has_entries(two).await.expect("has_entries"),
        "one of two base entries removed"
    );
    tx.remove_entry(two, b"q").await.expect("remove_entry");
    assert!(
        !tx.has_entries(two).await.expect("has_entries"),
        "all base entries removed in this txn"
    );
    assert!(
        tx.has_entries(after).await.expect("has_entries"),
        "another dir keeps its entries"
    );
    tx.put_entry(two, &entry(b"q", file, 5))
        .await
        .expect("put_entry");
    assert!(
        tx.has_entries(two).await.expect("has_entries"),
        "a removed name put back"
    );
    tx.remove_entry(two, b"q").await.expect("remove_entry");
    tx.put_entry(two, &entry(b"s", file, 6))
        .await
        .expect("put_entry");
    assert!(
        tx.has_entries(two).await.expect("has_entries"),
        "base removed, new name added"
    );
    tx.remove_entry(two, b"s").await.expect("remove_entry");
    assert!(
        !tx.has_entries(two).await.expect("has_entries"),
        "base removed, new name added and removed"
    );
    commit(tx).await;

    let mut tx = begin(&*store).await;
    assert!(
        !tx.has_entries(two).await.expect("has_entries"),
        "all entries removed by a commit"
    );
    assert!(
        !tx.has_entries(empty).await.expect("has_entries"),
        "put and removed in a commit"
    );
    assert!(
        tx.has_entries(after).await.expect("has_entries"),
        "untouched dir"
    );
    assert_eq!(
        store.list_by_cookie(two, 0, 10).await.expect("list"),
        vec![],
        "emptied dir lists nothing"
    );
}
async fn directories_do_not_mix(store: Arc<dyn MetadataStore>) {
    let dirs = create_many(&*store, FileKind::Directory, 3).await;
    let (d1, d2, d3) = (dirs[0], dirs[1], dirs[2]);
    let files = create_many(&*store, FileKind::Regular, 3).await;
    let mut tx = begin(&*store).await;
    for (d, f) in [(d1, files[0]), (d2, files[1])] {
        tx.put_entry(d, &entry(b"x", f, 3))
            .await
            .expect("put_entry");
        tx.put_entry(d, &entry(b"y", f, 4))
            .await
            .expect("put_entry");
    }
    tx.put_entry(d2, &entry(b"z", files[2], 5))
        .await
        .expect("put_entry");
    commit(tx).await;
    let in_dir = |f: InodeId| vec![entry(b"x", f, 3), entry(b"y", f, 4)];
    let d2_all = [in_dir(files[1]), vec![entry(b"z", files[2], 5)]].concat();
    assert_eq!(
        store.lookup(d1, b"x").await.expect("lookup"),
        Some(entry(b"x", files[0], 3))
    );
    assert_eq!(
        store.lookup(d2, b"x").await.expect("lookup"),
        Some(entry(b"x", files[1], 3))
    );
    assert_eq!(
        store.lookup(d1, b"z").await.expect("lookup"),
        None,
        "z is only in the second dir"
    );
    assert_eq!(
        store.list_by_cookie(d1, 0, 100).await.expect("list"),
        in_dir(files[0])
    );
    assert_eq!(
        store.list_by_cookie(d2, 0, 100).await.expect("list"),
        d2_all
    );
    assert_eq!(
        store.list_by_name(d1, None, 100).await.expect("list"),
        in_dir(files[0])
    );
    assert_eq!(
        store.list_by_name(d1, Some(b"y"), 100).await.expect("list"),
        vec![],
        "d1 ends at y"
    );
    assert_eq!(
        store.list_by_name(d2, None, 100).await.expect("list"),
        d2_all
    );
    assert_eq!(
        store.list_by_cookie(d3, 0, 100).await.expect("list"),
        vec![],
        "empty dir"
    );
    assert_eq!(
        store.list_by_name(d3, None, 100).await.expect("list"),
        vec![],
        "empty dir"
    );

    let mut tx = begin(&*store).await;
    tx.remove_entry(d1, b"x").await.expect("remove_entry");
    tx.remove_entry(d1, b"y").await.expect("remove_entry");
    assert!(
        !tx.has_entries(d1).await.expect("has_entries"),
        "d1 emptied"
    );
    assert!(
        tx.has_entries(d2).await.expect("has_entries"),
        "d2 untouched"
    );
    assert_eq!(
        tx.lookup(d2, b"x").await.expect("lookup"),
        Some(entry(b"x", files[1], 3)),
        "d2 untouched in txn"
    );
    commit(tx).await;
    assert_eq!(
        store.list_by_cookie(d1, 0, 100).await.expect("list"),
        vec![]
    );
    assert_eq!(
        store.list_by_cookie(d2, 0, 100).await.expect("list"),
        d2_all,
        "removes in d1 left d2 alone"
    );
}
