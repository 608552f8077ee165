//! Directory listings: cookie order and name order, their bounds and
//! limits, paging through large directories, and resuming a listing while
//! the directory changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;

use super::{all_by_cookie, all_by_name, begin, commit, create_one, entry, names};
use crate::store::MetadataStore;
use crate::types::{DirEntry, FIRST_ENTRY_COOKIE, FileKind};

checks!(
    list_by_cookie_order_and_bounds,
    list_by_cookie_resumes_while_changing,
    list_by_name_is_bytewise,
    large_directory_pages,
);

async fn list_by_cookie_order_and_bounds(store: Arc<dyn MetadataStore>) {
    let dir = create_one(&*store, FileKind::Directory).await;
    let file = create_one(&*store, FileKind::Regular).await;
    // Cookie order differs from name order, and cookies have gaps.
    let want = vec![
        entry(b"zeta", file, 3),
        entry(b"alpha", file, 5),
        entry(b"mu", file, 6),
        entry(b"beta", file, 10),
        entry(b"omega", file, 11),
    ];
    let mut tx = begin(&*store).await;
    for e in want.iter().rev() {
        tx.put_entry(dir, e).await.expect("put_entry");
    }
    commit(tx).await;
    let list = |after: u64, limit: usize| {
        let store = store.clone();
        async move {
            store
                .list_by_cookie(dir, after, limit)
                .await
                .expect("list_by_cookie")
        }
    };
    assert_eq!(list(0, 100).await, want, "all entries in cookie order");
    assert_eq!(
        list(FIRST_ENTRY_COOKIE - 1, 100).await,
        want,
        "after the \"..\" cookie"
    );
    assert_eq!(list(3, 100).await, want[1..], "after_cookie is exclusive");
    assert_eq!(list(4, 100).await, want[1..], "after a cookie in a gap");
    assert_eq!(list(6, 2).await, want[3..5], "after 6, two entries");
    assert_eq!(list(0, 1).await, want[..1], "limit 1");
    assert_eq!(list(0, 5).await, want, "limit equal to the count");
    assert_eq!(list(0, 0).await, vec![], "limit 0");
    assert_eq!(list(11, 100).await, vec![], "after the last cookie");
    assert_eq!(list(1000, 100).await, vec![], "far past the last cookie");
    assert_eq!(
        store.list_by_cookie(file, 0, 10).await.expect("list"),
        vec![],
        "an inode with no entries"
    );
    let paged = all_by_cookie(&*store, dir, 2).await;
    assert_eq!(paged, want, "paging two at a time");
}

/// Between pages, the entry the listing resumes after is removed, so is an
/// entry not reached yet, and a new one is added.
async fn list_by_cookie_resumes_while_changing(store: Arc<dyn MetadataStore>) {
    const INITIAL: u64 = 40;
    const PAGE: usize = 5;
    let dir = create_one(&*store, FileKind::Directory).await;
    let file = create_one(&*store, FileKind::Regular).await;
    let mut present: BTreeMap<u64, Bytes> = BTreeMap::new();
    let mut tx = begin(&*store).await;
    for i in 0..INITIAL {
        let e = entry(format!("e{i}").as_bytes(), file, FIRST_ENTRY_COOKIE + i);
        tx.put_entry(dir, &e).await.expect("put_entry");
        present.insert(e.cookie, e.name);
    }
    commit(tx).await;
    let mut next_cookie = FIRST_ENTRY_COOKIE + INITIAL;
    let mut removed_unseen = BTreeSet::new();
    let mut added = BTreeSet::new();
    let mut seen: Vec<DirEntry> = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .list_by_cookie(dir, after, PAGE)
            .await
            .expect("list_by_cookie");
        for e in &page {
            assert!(e.cookie > after, "entry {e:?} came after cookie {after}");
            assert!(
                !removed_unseen.contains(&e.cookie),
                "entry {e:?} listed after it was removed"
            );
            assert_eq!(
                present.get(&e.cookie),
                Some(&e.name),
                "listed entry {e:?} is not in the directory"
            );
            after = e.cookie;
        }
        seen.extend(page.iter().cloned());
        if page.len() < PAGE {
            break;
        }
        let mut tx = begin(&*store).await;
        let last = present.remove(&after).expect("last seen is present");
        tx.remove_entry(dir, &last).await.expect("remove_entry");
        if let Some((&c, _)) = present
            .range(after + 1..)
            .rev()
            .find(|(c, _)| !added.contains(*c))
        {
            let name = present.remove(&c).expect("present");
            tx.remove_entry(dir, &name).await.expect("remove_entry");
            removed_unseen.insert(c);
        }
        let name = Bytes::from(format!("new{next_cookie}"));
        tx.put_entry(dir, &entry(&name, file, next_cookie))
            .await
            .expect("put_entry");
        present.insert(next_cookie, name);
        added.insert(next_cookie);
        next_cookie += 1;
        commit(tx).await;
    }
    let seen_cookies: Vec<u64> = seen.iter().map(|e| e.cookie).collect();
    let unique: BTreeSet<u64> = seen_cookies.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "an entry was listed twice: {seen_cookies:?}"
    );
    for c in FIRST_ENTRY_COOKIE..FIRST_ENTRY_COOKIE + INITIAL {
        if !removed_unseen.contains(&c) {
            assert!(
                unique.contains(&c),
                "entry with cookie {c}, present throughout, was skipped"
            );
        }
    }
    for c in &added {
        assert!(
            unique.contains(c),
            "entry with cookie {c}, added before the end, was skipped"
        );
    }
    assert!(
        !removed_unseen.is_empty(),
        "the scenario removed entries ahead of the listing"
    );
}

async fn list_by_name_is_bytewise(store: Arc<dyn MetadataStore>) {
    let dir = create_one(&*store, FileKind::Directory).await;
    let file = create_one(&*store, FileKind::Regular).await;
    let raw: Vec<&[u8]> = vec![
        b"a",
        b"ab",
        b"a\xff",
        b"B",
        b"b",
        b"\xff",
        b"\xff\xfe",
        b"\xfe\xff",
        "é".as_bytes(),
        "日本".as_bytes(),
        "😀".as_bytes(),
        "e".as_bytes(),
        b"\x01",
        b"\x7f",
        b"\x80x",
        b"z",
        b"a b",
        b"A",
        b"-",
        b"~",
        b"0",
        b"9",
        b".hidden",
        b"a\x01",
    ];
    let mut tx = begin(&*store).await;
    for (i, n) in raw.iter().enumerate() {
        tx.put_entry(dir, &entry(n, file, FIRST_ENTRY_COOKIE + i as u64))
            .await
            .expect("put_entry");
    }
    commit(tx).await;
    let mut sorted: Vec<DirEntry> = raw
        .iter()
        .enumerate()
        .map(|(i, n)| entry(n, file, FIRST_ENTRY_COOKIE + i as u64))
        .collect();
    sorted.sort_by(|x, y| x.name.cmp(&y.name));
    for e in &sorted {
        let got = store.lookup(dir, &e.name).await.expect("lookup");
        assert_eq!(got.as_ref(), Some(e), "lookup of {:?}", e.name);
    }
    assert_eq!(
        store
            .lookup(dir, &"日本".as_bytes()[..3])
            .await
            .expect("lookup"),
        None,
        "a prefix is another name"
    );
    assert_eq!(
        store.lookup(dir, b"A ").await.expect("lookup"),
        None,
        "no case or space folding"
    );
    let full = store
        .list_by_name(dir, None, 1000)
        .await
        .expect("list_by_name");
    assert_eq!(
        names(&full),
        names(&sorted),
        "names in bytewise (unsigned, not collated) order"
    );
    assert_eq!(full, sorted, "entries listed by name read back exactly");
    assert_eq!(
        all_by_name(&*store, dir, 3).await,
        sorted,
        "paging three at a time"
    );
    let probes: [&[u8]; 7] = [
        b"",
        b"a",
        b"aa",
        b"a\xff\xff",
        b"~~",
        "é".as_bytes(),
        b"\xff\xff",
    ];
    for probe in probes {
        for limit in [1, 4, 100] {
            let want: Vec<DirEntry> = sorted
                .iter()
                .filter(|e| e.name.as_ref() > probe)
                .take(limit)
                .cloned()
                .collect();
            let got = store
                .list_by_name(dir, Some(probe), limit)
                .await
                .expect("list_by_name");
            assert_eq!(
                got, want,
                "names after {probe:?} (exclusive), limit {limit}"
            );
        }
    }
    assert_eq!(
        store
            .list_by_name(dir, None, 0)
            .await
            .expect("list_by_name"),
        vec![],
        "limit 0"
    );
}
async fn large_directory_pages(store: Arc<dyn MetadataStore>) {
    const N: u64 = 2000;
    let dir = create_one(&*store, FileKind::Directory).await;
    let file = create_one(&*store, FileKind::Regular).await;
    // 7919 is prime, so i * 7919 % N visits every name once, out of order.
    let by_cookie: Vec<DirEntry> = (0..N)
        .map(|i| {
            entry(
                format!("f{:04}", i * 7919 % N).as_bytes(),
                file,
                FIRST_ENTRY_COOKIE + i,
            )
        })
        .collect();
    for chunk in by_cookie.chunks(500) {
        let mut tx = begin(&*store).await;
        for e in chunk {
            tx.put_entry(dir, e).await.expect("put_entry");
        }
        commit(tx).await;
    }
    let mut after = 0;
    let mut got = Vec::new();
    for page in 0.. {
        let p = store
            .list_by_cookie(dir, after, 100)
            .await
            .expect("list_by_cookie");
        if p.is_empty() {
            assert_eq!(page, 20, "2000 entries take 20 pages of 100");
            break;
        }
        assert_eq!(p.len(), 100, "page {page} is full");
        after = p.last().expect("page").cookie;
        got.extend(p);
    }
    assert_eq!(got, by_cookie, "2000 entries by cookie, 100 at a time");
    let mut by_name = by_cookie.clone();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        all_by_name(&*store, dir, 100).await,
        by_name,
        "2000 entries by name, 100 at a time"
    );
    assert_eq!(
        store
            .list_by_name(dir, Some(b"f1499"), 3)
            .await
            .expect("list"),
        by_name[1500..1503]
    );
}
