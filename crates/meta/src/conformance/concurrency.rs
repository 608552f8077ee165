//! Many namespace operations at once through the metadata service. The
//! service reads, decides and writes inside one transaction, so a store
//! that lets two transactions interleave loses entries, cookies or link
//! counts here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::{Fs, check_namespace, root_ctx};
use crate::error::{FsError, FsResult};
use crate::handle::FileHandle;
use crate::store::MetadataStore;
use crate::types::{FIRST_ENTRY_COOKIE, InodeId};

checks!(
    parallel_creates_in_one_dir,
    parallel_mkdirs_and_rmdirs,
    parallel_renames_in_one_dir,
    parallel_links_and_removes_of_one_file,
    parallel_directory_moves,
    parallel_opens_of_one_share_agree_on_its_root,
);

const TASKS: usize = 8;

async fn join_all(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        t.await.expect("a concurrent task panicked");
    }
}

/// Accepts success or one of the errors a lost race may give.
fn raced<T>(r: FsResult<T>, allowed: &[fn(&FsError) -> bool], what: &str) {
    if let Err(e) = r {
        assert!(allowed.iter().any(|ok| ok(&e)), "{what}: unexpected {e}");
    }
}

fn not_found(e: &FsError) -> bool {
    matches!(e, FsError::NotFound)
}

fn invalid(e: &FsError) -> bool {
    matches!(e, FsError::Invalid)
}

/// Every entry of a directory through paged READDIR, without "." and "..".
async fn readdir_all(fs: &Fs, dir: &FileHandle, limit: usize) -> Vec<(Bytes, u64, InodeId)> {
    let (mut cookie, mut verifier) = (0, [0; 8]);
    let mut out = Vec::new();
    loop {
        let page = fs
            .svc
            .readdir(&root_ctx(), dir, cookie, verifier, limit, false)
            .await
            .expect("readdir");
        assert!(
            page.entries.len() <= limit,
            "readdir returned more than asked"
        );
        verifier = page.verifier;
        for e in &page.entries {
            cookie = e.cookie;
            if e.name.as_ref() != b"." && e.name.as_ref() != b".." {
                out.push((e.name.clone(), e.cookie, e.inode));
            }
        }
        if page.eof {
            return out;
        }
        assert!(
            !page.entries.is_empty(),
            "readdir returned an empty page before eof"
        );
    }
}

async fn parallel_creates_in_one_dir(store: Arc<dyn MetadataStore>) {
    const EACH: usize = 50;
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let mut tasks = Vec::new();
    for k in 0..TASKS {
        let fs = fs.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                fs.create(&root, &format!("t{k}-{i}")).await;
            }
        }));
    }
    join_all(tasks).await;
    let mut ids = BTreeSet::new();
    for k in 0..TASKS {
        for i in 0..EACH {
            let name = format!("t{k}-{i}");
            let inode = fs
                .lookup(&root, &name)
                .await
                .unwrap_or_else(|| panic!("{name} was lost"));
            assert!(
                ids.insert(inode.id),
                "{name} shares inode {} with another name",
                inode.id
            );
        }
    }
    let listed = readdir_all(&fs, &root, 37).await;
    let names: BTreeSet<&Bytes> = listed.iter().map(|(n, _, _)| n).collect();
    assert_eq!(
        listed.len(),
        TASKS * EACH,
        "readdir lists each created name once"
    );
    assert_eq!(names.len(), TASKS * EACH, "readdir listed a name twice");
    let cookies: BTreeSet<u64> = listed.iter().map(|(_, c, _)| *c).collect();
    assert_eq!(cookies.len(), TASKS * EACH, "two entries share a cookie");
    let dir = fs
        .svc
        .getattr(&crate::types::AuthContext::root(), &root)
        .await
        .expect("getattr");
    assert_eq!(
        dir.next_cookie,
        FIRST_ENTRY_COOKIE + (TASKS * EACH) as u64,
        "every create took exactly one cookie"
    );
    check_namespace(&*store, &[root.inode]).await;
}

async fn parallel_mkdirs_and_rmdirs(store: Arc<dyn MetadataStore>) {
    const EACH: usize = 20;
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let mut tasks = Vec::new();
    for k in 0..TASKS {
        let fs = fs.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                fs.mkdir(&root, &format!("d{k}-{i}")).await;
                fs.create(&root, &format!("f{k}-{i}")).await;
                if i % 2 == 1 {
                    let name = format!("d{k}-{}", i - 1);
                    let r = fs.svc.rmdir(&root_ctx(), &root, name.as_bytes()).await;
                    r.unwrap_or_else(|e| panic!("rmdir {name}: {e}"));
                }
            }
        }));
    }
    join_all(tasks).await;
    let dir = fs
        .svc
        .getattr(&crate::types::AuthContext::root(), &root)
        .await
        .expect("getattr");
    let subdirs = (TASKS * EACH / 2) as u32;
    assert_eq!(
        dir.nlink,
        2 + subdirs,
        "the parent's nlink is 2 + its subdirectories"
    );
    let ns = check_namespace(&*store, &[root.inode]).await;
    assert_eq!(
        ns.inodes.len(),
        1 + TASKS * EACH * 3 / 2,
        "root, files and remaining dirs"
    );
}

/// One task's renames. Each group of names tests another kind of race.
fn rename_plan(k: usize) -> Vec<(String, String, bool)> {
    let mut ops = Vec::new();
    // Disjoint renames to fresh names, and over existing files.
    for i in 0..5 {
        ops.push((format!("a{k}_{i}"), format!("b{k}_{i}"), true));
    }
    for i in 0..3 {
        ops.push((format!("s{k}_{i}"), format!("t{k}_{i}"), true));
    }
    // Every task races to move each c{i}; exactly one wins.
    for i in 0..10 {
        ops.push((format!("c{i}"), format!("c{i}_by{k}"), false));
    }
    // Half the tasks move p{i} over q{i}, the others q{i} over p{i}.
    for _ in 0..3 {
        for i in 0..6 {
            let (from, to) = if k.is_multiple_of(2) {
                ("p", "q")
            } else {
                ("q", "p")
            };
            ops.push((format!("{from}{i}"), format!("{to}{i}"), false));
        }
    }
    // Over one of two hard links: the file loses a link, not its inode.
    ops.push((format!("u{k}"), format!("la{k}"), true));
    let shift = k * 5 % ops.len();
    ops.rotate_left(shift);
    ops
}

async fn parallel_renames_in_one_dir(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let mut initial = Vec::new();
    for k in 0..TASKS {
        initial.extend((0..5).map(|i| format!("a{k}_{i}")));
        initial.extend((0..3).flat_map(|i| [format!("s{k}_{i}"), format!("t{k}_{i}")]));
        initial.extend([format!("u{k}"), format!("la{k}")]);
    }
    initial.extend((0..10).map(|i| format!("c{i}")));
    initial.extend((0..6).flat_map(|i| [format!("p{i}"), format!("q{i}")]));
    let mut ids: BTreeMap<String, InodeId> = BTreeMap::new();
    for name in initial {
        let (_, attrs) = fs.create(&root, &name).await;
        ids.insert(name, attrs.id);
    }
    for k in 0..TASKS {
        let fh = fs.handle(&root, &format!("la{k}")).await;
        fs.svc
            .link(&root_ctx(), &fh, &root, format!("lb{k}").as_bytes())
            .await
            .expect("link");
    }

    let mut tasks = Vec::new();
    for k in 0..TASKS {
        let fs = fs.clone();
        tasks.push(tokio::spawn(async move {
            for (from, to, must) in rename_plan(k) {
                let r = fs
                    .svc
                    .rename(&root_ctx(), &root, from.as_bytes(), &root, to.as_bytes())
                    .await;
                let what = format!("rename {from} -> {to}");
                if must {
                    r.unwrap_or_else(|e| panic!("{what}: {e}"));
                } else {
                    raced(r, &[not_found], &what);
                }
            }
        }));
    }
    join_all(tasks).await;

    let ns = check_namespace(&*store, &[root.inode]).await;
    let named = |name: &str| ns.child(root.inode, name.as_bytes());
    let id = |name: &str| ids[name];
    for k in 0..TASKS {
        for i in 0..5 {
            assert_eq!(named(&format!("a{k}_{i}")), None, "a{k}_{i} was moved away");
            assert_eq!(
                named(&format!("b{k}_{i}")),
                Some(id(&format!("a{k}_{i}"))),
                "b{k}_{i} is a{k}_{i}"
            );
        }
        for i in 0..3 {
            assert_eq!(named(&format!("s{k}_{i}")), None, "s{k}_{i} was moved away");
            assert_eq!(
                named(&format!("t{k}_{i}")),
                Some(id(&format!("s{k}_{i}"))),
                "t{k}_{i} is s{k}_{i}"
            );
            let old_t = id(&format!("t{k}_{i}"));
            assert!(
                !ns.inodes.contains_key(&old_t),
                "replaced t{k}_{i} was not deleted"
            );
        }
        assert_eq!(
            named(&format!("la{k}")),
            Some(id(&format!("u{k}"))),
            "la{k} is u{k}"
        );
        assert_eq!(
            named(&format!("lb{k}")),
            Some(id(&format!("la{k}"))),
            "lb{k} keeps the linked file"
        );
    }
    for i in 0..10 {
        assert_eq!(named(&format!("c{i}")), None, "c{i} was moved");
        let winners: Vec<usize> = (0..TASKS)
            .filter(|k| named(&format!("c{i}_by{k}")).is_some())
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "c{i} must end up under exactly one new name: {winners:?}"
        );
        assert_eq!(
            named(&format!("c{i}_by{}", winners[0])),
            Some(id(&format!("c{i}"))),
            "c{i} kept its inode"
        );
    }
    for i in 0..6 {
        let (p, q) = (format!("p{i}"), format!("q{i}"));
        let names: Vec<InodeId> = [named(&p), named(&q)].into_iter().flatten().collect();
        assert_eq!(names.len(), 1, "exactly one of {p} and {q} is left");
        let alive: Vec<InodeId> = [id(&p), id(&q)]
            .into_iter()
            .filter(|x| ns.inodes.contains_key(x))
            .collect();
        assert_eq!(
            alive, names,
            "the inode of {p}/{q} that is left is the one named"
        );
    }
    let expected = 1 + TASKS * (5 + 3 + 2) + 10 + 6;
    assert_eq!(
        ns.inodes.len(),
        expected,
        "only deliberately replaced files are gone"
    );
}

async fn parallel_links_and_removes_of_one_file(store: Arc<dyn MetadataStore>) {
    const EACH: usize = 25;
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (file, attrs) = fs.create(&root, "orig").await;
    let mut tasks = Vec::new();
    for k in 0..TASKS {
        let fs = fs.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let name = format!("l{k}_{i}");
                let r = fs
                    .svc
                    .link(&root_ctx(), &file, &root, name.as_bytes())
                    .await;
                r.unwrap_or_else(|e| panic!("link {name}: {e}"));
                if i > 0 {
                    let old = format!("l{k}_{}", i - 1);
                    fs.svc
                        .remove(&root_ctx(), &root, old.as_bytes())
                        .await
                        .expect("remove a link");
                }
                // The file always has this task's link from here on.
                if k == 0 && i == 0 {
                    fs.svc
                        .remove(&root_ctx(), &root, b"orig")
                        .await
                        .expect("remove orig");
                }
            }
        }));
    }
    join_all(tasks).await;
    let f = fs
        .svc
        .getattr(&crate::types::AuthContext::root(), &file)
        .await
        .expect("the file survives");
    assert_eq!(f.nlink, TASKS as u32, "one link per task is left");
    let ns = check_namespace(&*store, &[root.inode]).await;
    assert_eq!(
        ns.names[&attrs.id].len(),
        TASKS,
        "one name per task is left"
    );
    assert_eq!(ns.inodes.len(), 2, "root and the file");
}

async fn parallel_directory_moves(store: Arc<dyn MetadataStore>) {
    const LEAVES: usize = 12;
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (p, _) = fs.mkdir(&root, "P").await;
    let (q, _) = fs.mkdir(&root, "Q").await;
    for j in 0..LEAVES {
        let (leaf, _) = fs.mkdir(&p, &format!("d{j}")).await;
        fs.create(&leaf, "content").await;
    }
    let mut tasks = Vec::new();
    for k in 0..4 {
        let fs = fs.clone();
        tasks.push(tokio::spawn(async move {
            for iter in 0..30 {
                let name = format!("d{}", (k * 7 + iter) % LEAVES);
                let r = fs
                    .svc
                    .rename(&root_ctx(), &p, name.as_bytes(), &q, name.as_bytes())
                    .await;
                if matches!(r, Err(FsError::NotFound)) {
                    let r = fs
                        .svc
                        .rename(&root_ctx(), &q, name.as_bytes(), &p, name.as_bytes())
                        .await;
                    raced(r, &[not_found], &format!("move {name} back"));
                } else {
                    raced(r, &[], &format!("move {name}"));
                }
            }
        }));
    }
    // Two tasks try to nest P in Q and Q in P; doing both would be a cycle.
    for (name, other) in [("P", q), ("Q", p)] {
        let fs = fs.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                let r = fs
                    .svc
                    .rename(&root_ctx(), &root, name.as_bytes(), &other, name.as_bytes())
                    .await;
                raced(r, &[not_found, invalid], &format!("nest {name}"));
                tokio::task::yield_now().await;
                let r = fs
                    .svc
                    .rename(&root_ctx(), &other, name.as_bytes(), &root, name.as_bytes())
                    .await;
                raced(r, &[not_found], &format!("unnest {name}"));
            }
        }));
    }
    join_all(tasks).await;
    let ns = check_namespace(&*store, &[root.inode]).await;
    assert_eq!(
        ns.inodes.len(),
        3 + 2 * LEAVES,
        "root, P, Q, the leaves and their files"
    );
    for j in 0..LEAVES {
        let name = format!("d{j}");
        let in_p = ns.child(p.inode, name.as_bytes());
        let in_q = ns.child(q.inode, name.as_bytes());
        assert!(
            in_p.is_some() != in_q.is_some(),
            "{name} is in exactly one of P and Q"
        );
        let leaf = in_p.or(in_q).expect("leaf");
        assert!(
            ns.child(leaf, b"content").is_some(),
            "{name} kept its content"
        );
    }
}

/// Servers (or tasks) opening one share on a fresh store at once must end
/// up with one root directory, not one each.
async fn parallel_opens_of_one_share_agree_on_its_root(store: Arc<dyn MetadataStore>) {
    use crate::handle::HandleKey;
    use crate::service::{MetadataService, RootAttrs, ShareOptions};
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let svc = MetadataService::open(
                "/export",
                store,
                Arc::new(HandleKey::from_bytes([1; 32])),
                ShareOptions::default(),
                RootAttrs {
                    mode: 0o777,
                    uid: 0,
                    gid: 0,
                },
            )
            .await
            .expect("open the share");
            svc.root_handle(&crate::types::AuthContext::root())
                .await
                .expect("root handle")
        }));
    }
    let mut roots = Vec::new();
    for t in tasks {
        roots.push(t.await.expect("a concurrent open panicked"));
    }
    roots.dedup();
    assert_eq!(roots.len(), 1, "concurrent opens created several roots");
    assert_eq!(
        store.stats().await.expect("stats").inodes,
        1,
        "only the one root inode exists"
    );
}
