//! RENAME: within and across directories, over files and directories, and
//! the cases POSIX forbids.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nfs3_types::nfs3::*;

use super::*;

#[tokio::test]
async fn rename_within_a_directory() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "old", b"content").await;
    let before = getattr(&mut c, &root).await;
    let r = ok(
        rename_res(&mut c, &root, "old", &root, "new").await,
        "RENAME",
    );
    let after = getattr(&mut c, &root).await;
    assert_wcc(&r.fromdir_wcc, &before, &after, "RENAME fromdir_wcc");
    assert_wcc(&r.todir_wcc, &before, &after, "RENAME todir_wcc");
    assert_eq!(
        lookup_status(&mut c, &root, b"old").await,
        nfsstat3::NFS3ERR_NOENT
    );
    assert_eq!(
        lookup(&mut c, &root, "new").await.0,
        fh,
        "the handle survives a rename"
    );
    assert_eq!(read_all(&mut c, &fh).await, b"content");
    assert_eq!(names(&mut c, &root).await, ["new"]);
}

#[tokio::test]
async fn rename_across_directories() {
    let (_server, mut c, root) = setup().await;
    let a = mkdir(&mut c, &root, "a").await;
    let b = mkdir(&mut c, &root, "b").await;
    let fh = file_with(&mut c, &a, "f", b"moving").await;
    let (a_before, b_before) = (getattr(&mut c, &a).await, getattr(&mut c, &b).await);
    let r = ok(
        rename_res(&mut c, &a, "f", &b, "g").await,
        "RENAME across dirs",
    );
    let (a_after, b_after) = (getattr(&mut c, &a).await, getattr(&mut c, &b).await);
    assert_wcc(&r.fromdir_wcc, &a_before, &a_after, "fromdir_wcc");
    assert_wcc(&r.todir_wcc, &b_before, &b_after, "todir_wcc");
    assert_eq!(
        (a_after.nlink, b_after.nlink),
        (2, 2),
        "moving a file moves no links"
    );
    assert!(names(&mut c, &a).await.is_empty());
    assert_eq!(names(&mut c, &b).await, ["g"]);
    assert_eq!(lookup(&mut c, &b, "g").await.0, fh);
    assert_eq!(read_all(&mut c, &fh).await, b"moving");
}

#[tokio::test]
async fn rename_over_an_existing_file_replaces_it() {
    let (_server, mut c, root) = setup().await;
    let src = file_with(&mut c, &root, "src", b"new content").await;
    let old = file_with(&mut c, &root, "dst", b"old content, longer").await;
    ok(
        rename_res(&mut c, &root, "src", &root, "dst").await,
        "RENAME over a file",
    );
    assert_eq!(
        status_of(&getattr_res(&mut c, &old).await),
        nfsstat3::NFS3ERR_STALE,
        "the replaced file's handle is stale"
    );
    expect_err(
        read_res(&mut c, &old, 0, 100).await,
        nfsstat3::NFS3ERR_STALE,
        "READ through the replaced file's handle",
    );
    let (fh, _) = lookup(&mut c, &root, "dst").await;
    assert_eq!(fh, src);
    assert_eq!(read_all(&mut c, &fh).await, b"new content");
    assert_eq!(names(&mut c, &root).await, ["dst"]);

    // A target with another name only loses the replaced one.
    let linked = file_with(&mut c, &root, "linked", b"two names").await;
    ok(link_res(&mut c, &linked, &root, b"alias").await, "LINK");
    ok(
        rename_res(&mut c, &root, "dst", &root, "alias").await,
        "RENAME over a hard link",
    );
    let a = getattr(&mut c, &linked).await;
    assert_eq!(a.nlink, 1, "the replaced link is gone, the file is not");
    assert_eq!(read_all(&mut c, &linked).await, b"two names");
    let (alias, _) = lookup(&mut c, &root, "alias").await;
    assert_eq!(read_all(&mut c, &alias).await, b"new content");
    assert_eq!(names(&mut c, &root).await, ["alias", "linked"]);
}

/// Readers never see the target name missing or holding anything but the
/// old or the new content while files are renamed over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rename_over_a_file_is_atomic_for_readers() {
    let (server, mut c, root) = setup().await;
    file_with(&mut c, &root, "target", b"generation-0").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut r = harness::mount(&server).await;
        let root = root.clone();
        let stop = stop.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let fh = match lookup_res(&mut r, &root, b"target").await {
                    Nfs3Result::Ok(ok) => ok.object,
                    Nfs3Result::Err((s, _)) => panic!("LOOKUP target during renames: {s}"),
                };
                match read_res(&mut r, &fh, 0, 100).await {
                    Nfs3Result::Ok(ok) => {
                        let text = String::from_utf8(ok.data.into_owned()).expect("utf8");
                        assert!(
                            text.starts_with("generation-") && ok.eof,
                            "a reader saw {text:?}"
                        );
                        seen += 1;
                    }
                    // The file found was replaced before it could be read.
                    Nfs3Result::Err((nfsstat3::NFS3ERR_STALE, _)) => {}
                    Nfs3Result::Err((s, _)) => panic!("READ during renames: {s}"),
                }
            }
            seen
        }));
    }
    for i in 1..=200 {
        let tmp = format!("tmp-{i}");
        file_with(&mut c, &root, &tmp, format!("generation-{i}").as_bytes()).await;
        ok(
            rename_res(&mut c, &root, &tmp, &root, "target").await,
            "RENAME",
        );
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        let seen = r.await.expect("reader");
        assert!(seen > 0, "every reader read something");
    }
    let (fh, _) = lookup(&mut c, &root, "target").await;
    assert_eq!(read_all(&mut c, &fh).await, b"generation-200");
    assert_eq!(names(&mut c, &root).await, ["target"]);
}

#[tokio::test]
async fn rename_directory_over_an_empty_directory() {
    let (_server, mut c, root) = setup().await;
    let src = mkdir(&mut c, &root, "src").await;
    create_file(&mut c, &src, "inside").await;
    let dst = mkdir(&mut c, &root, "dst").await;
    assert_eq!(getattr(&mut c, &root).await.nlink, 4);
    ok(
        rename_res(&mut c, &root, "src", &root, "dst").await,
        "RENAME dir over empty dir",
    );
    assert_eq!(
        status_of(&getattr_res(&mut c, &dst).await),
        nfsstat3::NFS3ERR_STALE
    );
    assert_eq!(lookup(&mut c, &root, "dst").await.0, src);
    assert_eq!(names(&mut c, &src).await, ["inside"]);
    assert_eq!(
        getattr(&mut c, &root).await.nlink,
        3,
        "one subdirectory left"
    );
    assert_eq!(names(&mut c, &root).await, ["dst"]);

    // Across parents: the old parent loses a subdirectory, the new one
    // trades one for another.
    let a = mkdir(&mut c, &root, "a").await;
    let b = mkdir(&mut c, &root, "b").await;
    mkdir(&mut c, &a, "moving").await;
    let empty = mkdir(&mut c, &b, "empty").await;
    ok(
        rename_res(&mut c, &a, "moving", &b, "empty").await,
        "RENAME dir over empty dir across",
    );
    assert_eq!(
        status_of(&getattr_res(&mut c, &empty).await),
        nfsstat3::NFS3ERR_STALE
    );
    assert_eq!(getattr(&mut c, &a).await.nlink, 2, "old parent");
    assert_eq!(getattr(&mut c, &b).await.nlink, 3, "new parent");
    let (moved, _) = lookup(&mut c, &b, "empty").await;
    assert_eq!(lookup(&mut c, &moved, "..").await.0, b);
}

#[tokio::test]
async fn rename_type_mismatches_and_non_empty_targets() {
    let (_server, mut c, root) = setup().await;
    mkdir(&mut c, &root, "dir").await;
    let full = mkdir(&mut c, &root, "full").await;
    create_file(&mut c, &full, "x").await;
    create_file(&mut c, &root, "file").await;
    let before = getattr(&mut c, &root).await;

    let r = rename_res(&mut c, &root, "dir", &root, "full").await;
    assert!(
        matches!(
            status_of(&r),
            nfsstat3::NFS3ERR_NOTEMPTY | nfsstat3::NFS3ERR_EXIST
        ),
        "dir over a non-empty dir: {:?}",
        status_of(&r)
    );
    expect_err(
        rename_res(&mut c, &root, "file", &root, "dir").await,
        nfsstat3::NFS3ERR_ISDIR,
        "file over a directory",
    );
    expect_err(
        rename_res(&mut c, &root, "dir", &root, "file").await,
        nfsstat3::NFS3ERR_NOTDIR,
        "directory over a file",
    );
    let fail = expect_err(
        rename_res(&mut c, &root, "missing", &root, "x").await,
        nfsstat3::NFS3ERR_NOENT,
        "RENAME of a missing name",
    );
    assert_eq!(
        show(&attrs(fail.fromdir_wcc.after, "fromdir after")),
        show(&before)
    );
    assert_eq!(
        show(&getattr(&mut c, &root).await),
        show(&before),
        "nothing changed"
    );
    assert_eq!(names(&mut c, &root).await, ["dir", "file", "full"]);
    assert_eq!(names(&mut c, &full).await, ["x"]);
}

#[tokio::test]
async fn rename_a_directory_into_itself_is_inval() {
    let (_server, mut c, root) = setup().await;
    let a = mkdir(&mut c, &root, "a").await;
    let b = mkdir(&mut c, &a, "b").await;
    let deep = mkdir(&mut c, &b, "c").await;
    for (dir, what) in [(&a, "itself"), (&b, "its child"), (&deep, "its grandchild")] {
        expect_err(
            rename_res(&mut c, &root, "a", dir, "a").await,
            nfsstat3::NFS3ERR_INVAL,
            &format!("moving a directory into {what}"),
        );
    }
    assert_eq!(names(&mut c, &root).await, ["a"]);
    assert_eq!(lookup(&mut c, &a, "..").await.0, root);
    // "." and ".." never name what is renamed or where: INVAL as rename(2)
    // says, or PERM as knfsd answers.
    for (what, n) in [("\".\"", "."), ("\"..\"", "..")] {
        let s = status_of(&rename_res(&mut c, &a, n, &root, "x").await);
        assert!(
            matches!(s, nfsstat3::NFS3ERR_INVAL | nfsstat3::NFS3ERR_PERM),
            "RENAME from {what}: {s}"
        );
        let s = status_of(&rename_res(&mut c, &root, "a", &b, n).await);
        assert!(
            matches!(s, nfsstat3::NFS3ERR_INVAL | nfsstat3::NFS3ERR_PERM),
            "RENAME to {what}: {s}"
        );
    }
    assert_eq!(names(&mut c, &root).await, ["a"]);
    assert_eq!(names(&mut c, &a).await, ["b"]);
}

#[tokio::test]
async fn rename_onto_another_name_of_the_same_file_does_nothing() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "one", b"shared").await;
    ok(link_res(&mut c, &fh, &root, b"two").await, "LINK");
    let before = getattr(&mut c, &root).await;
    ok(
        rename_res(&mut c, &root, "one", &root, "two").await,
        "RENAME onto a hard link",
    );
    assert_eq!(
        names(&mut c, &root).await,
        ["one", "two"],
        "both names remain"
    );
    assert_eq!(getattr(&mut c, &fh).await.nlink, 2);
    assert_eq!(read_all(&mut c, &fh).await, b"shared");
    assert_eq!(
        show(&getattr(&mut c, &root).await),
        show(&before),
        "directory untouched"
    );
}

#[tokio::test]
async fn moving_a_directory_updates_dotdot_and_link_counts() {
    let (_server, mut c, root) = setup().await;
    let a = mkdir(&mut c, &root, "a").await;
    let b = mkdir(&mut c, &root, "b").await;
    let d = mkdir(&mut c, &a, "d").await;
    let (a_before, b_before) = (getattr(&mut c, &a).await, getattr(&mut c, &b).await);
    assert_eq!((a_before.nlink, b_before.nlink), (3, 2));

    let r = ok(
        rename_res(&mut c, &a, "d", &b, "d2").await,
        "RENAME dir across",
    );
    let (a_after, b_after) = (getattr(&mut c, &a).await, getattr(&mut c, &b).await);
    assert_eq!(a_after.nlink, 2, "old parent lost a subdirectory");
    assert_eq!(b_after.nlink, 3, "new parent gained one");
    assert_wcc(&r.fromdir_wcc, &a_before, &a_after, "fromdir_wcc");
    assert_wcc(&r.todir_wcc, &b_before, &b_after, "todir_wcc");

    let (dotdot, attrs_) = lookup(&mut c, &d, "..").await;
    assert_eq!(dotdot, b, "LOOKUP \"..\" gives the new parent");
    assert_eq!(attrs_.fileid, b_after.fileid);
    let (entries, _) = readdir_all(&mut c, &d, 4096).await;
    let dd = entries
        .iter()
        .find(|e| e.name == b"..")
        .expect("\"..\" listed");
    assert_eq!(
        dd.fileid, b_after.fileid,
        "READDIR \"..\" is the new parent"
    );
    assert_eq!(
        getattr(&mut c, &root).await.nlink,
        4,
        "root still has a and b"
    );
}

#[tokio::test]
async fn rename_needs_permission_on_both_directories() {
    let (server, mut c, root) = setup().await;
    let (open, _) = mkdir_mode(&mut c, &root, "open", 0o777).await;
    let (closed, _) = mkdir_mode(&mut c, &root, "closed", 0o755).await;
    let mut u = user(&server, 1000, 1000, &[]).await;
    create_file(&mut u, &open, "mine").await;
    create_file(&mut c, &closed, "roots").await;
    expect_err(
        rename_res(&mut u, &open, "mine", &closed, "mine").await,
        nfsstat3::NFS3ERR_ACCES,
        "RENAME into a directory the caller may not write",
    );
    expect_err(
        rename_res(&mut u, &closed, "roots", &open, "taken").await,
        nfsstat3::NFS3ERR_ACCES,
        "RENAME out of a directory the caller may not write",
    );
    // Moving a directory to a new parent rewrites its "..": that needs
    // write permission on the directory itself.
    let (theirs, _) = mkdir_mode(&mut c, &open, "theirs", 0o755).await;
    let (other, _) = mkdir_mode(&mut c, &root, "other", 0o777).await;
    expect_err(
        rename_res(&mut u, &open, "theirs", &other, "theirs").await,
        nfsstat3::NFS3ERR_ACCES,
        "moving another user's directory to a new parent",
    );
    ok(
        rename_res(&mut u, &open, "theirs", &open, "renamed").await,
        "renaming it in place needs no write permission on it",
    );
    assert_eq!(lookup(&mut c, &theirs, "..").await.0, open);
    assert_eq!(names(&mut c, &open).await, ["mine", "renamed"]);
    assert_eq!(names(&mut c, &closed).await, ["roots"]);
    assert!(names(&mut c, &other).await.is_empty());
}
