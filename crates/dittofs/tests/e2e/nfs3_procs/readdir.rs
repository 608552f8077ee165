//! READDIR and READDIRPLUS: dot entries, paging, cookies and verifiers,
//! attributes and handles, and budgets too small for one entry.

use std::collections::{BTreeMap, BTreeSet};

use nfs3_types::nfs3::*;
use nfs3_types::xdr_codec::Pack;

use super::*;

async fn readdirplus_res(
    c: &mut Conn,
    dir: &nfs_fh3,
    cookie: u64,
    verf: cookieverf3,
    maxcount: u32,
) -> READDIRPLUS3res<'static> {
    c.readdirplus(&READDIRPLUS3args {
        dir: dir.clone(),
        cookie,
        cookieverf: verf,
        dircount: maxcount / 4,
        maxcount,
    })
    .await
    .expect("READDIRPLUS rpc")
}

/// Every READDIRPLUS entry of a directory, and how many replies it took.
async fn readdirplus_all(
    c: &mut Conn,
    dir: &nfs_fh3,
    maxcount: u32,
) -> (Vec<entryplus3<'static>>, usize) {
    let mut out = Vec::new();
    let (mut cookie, mut verf, mut pages) = (0, cookieverf3::default(), 0);
    loop {
        let r = readdirplus_res(c, dir, cookie, verf, maxcount).await;
        let size = r.packed_size();
        assert!(
            size <= maxcount as usize,
            "a {size}-byte READDIRPLUS reply for maxcount {maxcount}"
        );
        let r = ok(r, "READDIRPLUS");
        pages += 1;
        assert!(pages < 10_000, "READDIRPLUS never reached eof");
        verf = r.cookieverf;
        let n = r.reply.entries.0.len();
        for e in r.reply.entries.0 {
            cookie = e.cookie;
            out.push(e);
        }
        if r.reply.eof {
            return (out, pages);
        }
        assert!(n > 0, "READDIRPLUS returned no entries and no eof");
    }
}

fn text(n: &[u8]) -> String {
    String::from_utf8_lossy(n).into_owned()
}

#[tokio::test]
async fn dot_entries_come_first() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let (d_attrs, root_attrs) = (getattr(&mut c, &d).await, getattr(&mut c, &root).await);
    let r = ok(
        readdir_res(&mut c, &d, 0, cookieverf3::default(), 4096).await,
        "READDIR",
    );
    assert!(r.reply.eof, "an empty directory fits one reply");
    let entries: Vec<(String, u64)> = r
        .reply
        .entries
        .0
        .iter()
        .map(|e| (text(e.name.as_ref()), e.fileid))
        .collect();
    assert_eq!(
        entries,
        [
            (".".to_string(), d_attrs.fileid),
            ("..".to_string(), root_attrs.fileid)
        ]
    );
    assert_eq!(
        show(&attrs(r.dir_attributes, "READDIR dir")),
        show(&d_attrs)
    );

    let (root_entries, _) = readdir_all(&mut c, &root, 4096).await;
    let dd = root_entries
        .iter()
        .find(|e| e.name == b"..")
        .expect("\"..\"");
    assert_eq!(
        dd.fileid, root_attrs.fileid,
        "the root's \"..\" is the root"
    );
}

#[tokio::test]
async fn three_hundred_entries_over_many_pages() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let mut want = BTreeSet::new();
    for i in 0..300 {
        let n = format!("entry-{i:03}");
        if i % 3 == 0 {
            mkdir(&mut c, &d, &n).await;
        } else {
            create_file(&mut c, &d, &n).await;
        }
        want.insert(n);
    }
    want.insert(".".into());
    want.insert("..".into());

    let (entries, pages) = readdir_all(&mut c, &d, 1024).await;
    assert!(
        pages >= 5,
        "a 1 KiB budget needs many READDIR replies, took {pages}"
    );
    let got: Vec<String> = entries.iter().map(|e| text(&e.name)).collect();
    let set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), set.len(), "no entry twice");
    assert_eq!(set, want, "READDIR lists every entry");
    let cookies: BTreeSet<u64> = entries.iter().map(|e| e.cookie).collect();
    assert_eq!(cookies.len(), entries.len(), "cookies are distinct");

    let (plus, pages) = readdirplus_all(&mut c, &d, 2048).await;
    assert!(
        pages >= 10,
        "a 2 KiB budget needs many READDIRPLUS replies, took {pages}"
    );
    let got: Vec<String> = plus.iter().map(|e| text(e.name.as_ref())).collect();
    let set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), set.len(), "no READDIRPLUS entry twice");
    assert_eq!(set, want, "READDIRPLUS lists every entry");
}

#[tokio::test]
async fn cookies_survive_changes_between_pages() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let mut stable = BTreeSet::new();
    for i in 0..120 {
        create_file(&mut c, &d, &format!("orig-{i:03}")).await;
        stable.insert(format!("orig-{i:03}"));
    }
    let (mut cookie, mut verf) = (0, cookieverf3::default());
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut page = 0u32;
    loop {
        let r = ok(
            readdir_res(&mut c, &d, cookie, verf, 600).await,
            "READDIR page",
        );
        verf = r.cookieverf;
        for e in &r.reply.entries.0 {
            *seen.entry(text(e.name.as_ref())).or_default() += 1;
            cookie = e.cookie;
        }
        if r.reply.eof {
            break;
        }
        // Between pages: drop one name already listed and one not yet
        // listed, and add two new ones.
        page += 1;
        let listed = format!("orig-{:03}", page - 1);
        let ahead = format!("orig-{:03}", 119 - page);
        for victim in [listed, ahead] {
            if stable.remove(&victim) {
                ok(remove_res(&mut c, &d, victim.as_bytes()).await, "REMOVE");
            }
        }
        create_file(&mut c, &d, &format!("new-{page:03}-a")).await;
        create_file(&mut c, &d, &format!("new-{page:03}-b")).await;
        assert!(page < 1000, "READDIR never finished");
    }
    assert!(page >= 3, "the listing took several pages ({page})");
    for (n, count) in &seen {
        assert_eq!(*count, 1, "{n:?} listed {count} times");
    }
    for n in &stable {
        assert!(
            seen.contains_key(n),
            "{n:?} existed throughout but was missed"
        );
    }
}

#[tokio::test]
async fn a_forged_cookie_verifier_is_bad_cookie() {
    let (_server, mut c, root) = setup().await;
    for i in 0..50 {
        create_file(&mut c, &root, &format!("f{i:02}")).await;
    }
    let first = ok(
        readdir_res(&mut c, &root, 0, cookieverf3::default(), 512).await,
        "READDIR page 1",
    );
    assert!(!first.reply.eof, "the first page is not everything");
    let cookie = first.reply.entries.0.last().expect("entries").cookie;
    let verf = first.cookieverf;
    ok(
        readdir_res(&mut c, &root, cookie, verf, 512).await,
        "READDIR page 2 with the real verifier",
    );
    let mut forged = verf;
    forged.0[0] ^= 0xff;
    let fail = expect_err(
        readdir_res(&mut c, &root, cookie, forged, 512).await,
        nfsstat3::NFS3ERR_BAD_COOKIE,
        "READDIR with a forged verifier",
    );
    assert_eq!(
        attrs(fail.dir_attributes, "BAD_COOKIE dir").type_,
        ftype3::NF3DIR
    );
    expect_err(
        readdirplus_res(&mut c, &root, cookie, forged, 4096).await,
        nfsstat3::NFS3ERR_BAD_COOKIE,
        "READDIRPLUS with a forged verifier",
    );

    // Another directory's verifier does not fit either.
    let other = mkdir(&mut c, &root, "other").await;
    let theirs = ok(
        readdir_res(&mut c, &other, 0, cookieverf3::default(), 4096).await,
        "READDIR other",
    )
    .cookieverf;
    assert_ne!(theirs, verf, "verifiers differ between directories");
    expect_err(
        readdir_res(&mut c, &root, cookie, theirs, 512).await,
        nfsstat3::NFS3ERR_BAD_COOKIE,
        "READDIR with another directory's verifier",
    );
}

#[tokio::test]
async fn readdirplus_attributes_and_handles_match() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    create_file(&mut c, &d, "file").await;
    mkdir(&mut c, &d, "sub").await;
    ok(symlink_res(&mut c, &d, b"link", b"file").await, "SYMLINK");
    let fifo = mknoddata3::NF3FIFO(sattr3::default());
    ok(mknod_res(&mut c, &d, b"fifo", fifo).await, "MKNOD");

    let (entries, _) = readdirplus_all(&mut c, &d, 8192).await;
    let got: BTreeSet<String> = entries.iter().map(|e| text(e.name.as_ref())).collect();
    let want: BTreeSet<String> = [".", "..", "fifo", "file", "link", "sub"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    for e in entries {
        let n = text(e.name.as_ref());
        let fh = handle(e.name_handle, &format!("READDIRPLUS handle of {n:?}"));
        let a = attrs(
            e.name_attributes,
            &format!("READDIRPLUS attributes of {n:?}"),
        );
        let (looked_up, _) = lookup(&mut c, &d, &n).await;
        assert_eq!(fh, looked_up, "{n:?}: handle equals LOOKUP's");
        assert_eq!(
            show(&a),
            show(&getattr(&mut c, &fh).await),
            "{n:?}: attributes equal GETATTR's"
        );
        assert_eq!(a.fileid, e.fileid, "{n:?}: fileid");
    }
}

#[tokio::test]
async fn a_budget_too_small_for_one_entry_is_toosmall() {
    let (_server, mut c, root) = setup().await;
    create_file(&mut c, &root, "f").await;
    for count in [0, 8, 40] {
        expect_err(
            readdir_res(&mut c, &root, 0, cookieverf3::default(), count).await,
            nfsstat3::NFS3ERR_TOOSMALL,
            &format!("READDIR count {count}"),
        );
    }
    for maxcount in [0, 60, 120] {
        expect_err(
            readdirplus_res(&mut c, &root, 0, cookieverf3::default(), maxcount).await,
            nfsstat3::NFS3ERR_TOOSMALL,
            &format!("READDIRPLUS maxcount {maxcount}"),
        );
    }
}

#[tokio::test]
async fn readdir_errors() {
    let (server, mut c, root) = setup().await;
    let (file, _) = create_file(&mut c, &root, "f").await;
    expect_err(
        readdir_res(&mut c, &file, 0, cookieverf3::default(), 4096).await,
        nfsstat3::NFS3ERR_NOTDIR,
        "READDIR of a file",
    );
    expect_err(
        readdirplus_res(&mut c, &file, 0, cookieverf3::default(), 4096).await,
        nfsstat3::NFS3ERR_NOTDIR,
        "READDIRPLUS of a file",
    );
    let hidden = mkdir_mode(&mut c, &root, "hidden", 0o711).await.0;
    let mut u = user(&server, 1000, 1000, &[]).await;
    expect_err(
        readdir_res(&mut u, &hidden, 0, cookieverf3::default(), 4096).await,
        nfsstat3::NFS3ERR_ACCES,
        "READDIR of a 0711 dir as uid 1000",
    );
}

#[tokio::test]
async fn replies_fit_the_budget_whatever_the_name_lengths() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let mut want = BTreeSet::from([".".to_string(), "..".to_string()]);
    let lengths = [3usize, 4, 5, 7, 8, 9, 31, 32, 33, 100, 200, 254, 255];
    for (i, len) in lengths.into_iter().enumerate() {
        for k in 0..3 {
            let mut n = format!("{i:02}{k}");
            n.push_str(&"x".repeat(len - 3));
            create_file(&mut c, &d, &n).await;
            want.insert(n);
        }
    }
    for n in ["a", "b", "cc", "dd"] {
        create_file(&mut c, &d, n).await;
        want.insert(n.to_string());
    }
    for count in [400, 512, 777, 1024, 4096, 65536] {
        let (entries, _) = readdir_all(&mut c, &d, count).await;
        let got: Vec<String> = entries.iter().map(|e| text(&e.name)).collect();
        assert_eq!(
            got.len(),
            want.len(),
            "READDIR count {count}: every entry once"
        );
        assert_eq!(
            got.into_iter().collect::<BTreeSet<_>>(),
            want,
            "READDIR count {count}"
        );
    }
    for maxcount in [700, 1024, 1500, 4096, 65536] {
        let (entries, _) = readdirplus_all(&mut c, &d, maxcount).await;
        let got: Vec<String> = entries.iter().map(|e| text(e.name.as_ref())).collect();
        assert_eq!(
            got.len(),
            want.len(),
            "READDIRPLUS maxcount {maxcount}: every entry once"
        );
        assert_eq!(
            got.into_iter().collect::<BTreeSet<_>>(),
            want,
            "READDIRPLUS {maxcount}"
        );
    }
}
