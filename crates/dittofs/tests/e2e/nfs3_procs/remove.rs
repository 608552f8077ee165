//! REMOVE, RMDIR and the sticky bit.

use nfs3_types::nfs3::*;

use super::*;

#[tokio::test]
async fn remove_a_file() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "f", b"bye").await;
    let before = getattr(&mut c, &root).await;
    let r = ok(remove_res(&mut c, &root, b"f").await, "REMOVE");
    let after = getattr(&mut c, &root).await;
    assert_wcc(&r.dir_wcc, &before, &after, "REMOVE dir_wcc");
    assert_eq!(
        after.nlink, before.nlink,
        "removing a file leaves the dir's nlink alone"
    );
    assert_eq!(
        lookup_status(&mut c, &root, b"f").await,
        nfsstat3::NFS3ERR_NOENT
    );
    assert_eq!(
        status_of(&getattr_res(&mut c, &fh).await),
        nfsstat3::NFS3ERR_STALE
    );
    assert!(names(&mut c, &root).await.is_empty());
}

#[tokio::test]
async fn remove_errors() {
    let (_server, mut c, root) = setup().await;
    mkdir(&mut c, &root, "d").await;
    let (file, _) = create_file(&mut c, &root, "f").await;
    let before = getattr(&mut c, &root).await;
    let fail = expect_err(
        remove_res(&mut c, &root, b"d").await,
        nfsstat3::NFS3ERR_ISDIR,
        "REMOVE of a directory",
    );
    assert_eq!(
        show(&attrs(fail.dir_wcc.after, "REMOVE failure")),
        show(&before)
    );
    expect_err(
        remove_res(&mut c, &root, b"missing").await,
        nfsstat3::NFS3ERR_NOENT,
        "REMOVE of a missing name",
    );
    expect_err(
        remove_res(&mut c, &file, b"x").await,
        nfsstat3::NFS3ERR_NOTDIR,
        "REMOVE in a regular file",
    );
    assert_eq!(names(&mut c, &root).await, ["d", "f"]);
}

#[tokio::test]
async fn remove_needs_write_permission_on_the_directory() {
    let (server, mut c, root) = setup().await;
    let (fh, _) = create_mode(&mut c, &root, "f", 0o666).await;
    let mut u = user(&server, 1000, 1000, &[]).await;
    expect_err(
        remove_res(&mut u, &root, b"f").await,
        nfsstat3::NFS3ERR_ACCES,
        "REMOVE in a 0755 root dir as uid 1000",
    );
    getattr(&mut c, &fh).await;
}

#[tokio::test]
async fn rmdir_empty_and_errors() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let full = mkdir(&mut c, &root, "full").await;
    create_file(&mut c, &full, "x").await;
    create_file(&mut c, &root, "f").await;
    let before = getattr(&mut c, &root).await;
    assert_eq!(before.nlink, 4, "root with two subdirectories");

    let r = ok(rmdir_res(&mut c, &root, b"d").await, "RMDIR");
    let after = getattr(&mut c, &root).await;
    assert_wcc(&r.dir_wcc, &before, &after, "RMDIR dir_wcc");
    assert_eq!(after.nlink, 3, "parent nlink - 1");
    assert_eq!(
        status_of(&getattr_res(&mut c, &d).await),
        nfsstat3::NFS3ERR_STALE
    );
    assert_eq!(
        lookup_status(&mut c, &root, b"d").await,
        nfsstat3::NFS3ERR_NOENT
    );

    for (n, want, what) in [
        (
            &b"full"[..],
            nfsstat3::NFS3ERR_NOTEMPTY,
            "a non-empty directory",
        ),
        (b"f", nfsstat3::NFS3ERR_NOTDIR, "a file"),
        (b".", nfsstat3::NFS3ERR_INVAL, "\".\""),
        (b"missing", nfsstat3::NFS3ERR_NOENT, "a missing name"),
    ] {
        expect_err(
            rmdir_res(&mut c, &root, n).await,
            want,
            &format!("RMDIR of {what}"),
        );
    }
    expect_err(
        rmdir_res(&mut c, &full, b".").await,
        nfsstat3::NFS3ERR_INVAL,
        "RMDIR of \".\" in a subdirectory",
    );
    assert_eq!(names(&mut c, &root).await, ["f", "full"]);
    assert_eq!(getattr(&mut c, &root).await.nlink, 3);
}

#[tokio::test]
async fn sticky_directories_protect_other_users_entries() {
    let (server, mut c, root) = setup().await;
    let tmp = mkdir_mode(&mut c, &root, "tmp", 0o1777).await.0;
    chown(&mut c, &tmp, 3000, 3000).await;
    assert_eq!(getattr(&mut c, &tmp).await.mode & 0o7777, 0o1777);

    let mut alice = user(&server, 1000, 1000, &[]).await;
    let mut bob = user(&server, 2000, 2000, &[]).await;
    let mut dir_owner = user(&server, 3000, 3000, &[]).await;
    for n in ["a1", "a2", "a3", "a4"] {
        create_mode(&mut alice, &tmp, n, 0o666).await;
    }

    expect_err(
        remove_res(&mut bob, &tmp, b"a1").await,
        nfsstat3::NFS3ERR_PERM,
        "REMOVE of another user's file in a sticky dir",
    );
    expect_err(
        rename_res(&mut bob, &tmp, "a1", &tmp, "stolen").await,
        nfsstat3::NFS3ERR_PERM,
        "RENAME of another user's file in a sticky dir",
    );
    create_file(&mut bob, &tmp, "b1").await;
    expect_err(
        rename_res(&mut bob, &tmp, "b1", &tmp, "a1").await,
        nfsstat3::NFS3ERR_PERM,
        "RENAME over another user's file in a sticky dir",
    );
    assert_eq!(names(&mut c, &tmp).await, ["a1", "a2", "a3", "a4", "b1"]);

    ok(
        rename_res(&mut alice, &tmp, "a1", &tmp, "a1-renamed").await,
        "owner renames its own entry",
    );
    ok(
        remove_res(&mut alice, &tmp, b"a1-renamed").await,
        "owner removes its own entry",
    );
    ok(
        remove_res(&mut dir_owner, &tmp, b"a2").await,
        "the directory's owner removes any entry",
    );
    ok(
        remove_res(&mut c, &tmp, b"a3").await,
        "root removes any entry",
    );
    assert_eq!(names(&mut c, &tmp).await, ["a4", "b1"]);
}
