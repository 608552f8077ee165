//! LINK: link counts, errors, and what survives a REMOVE.

use nfs3_types::nfs3::*;

use super::*;

#[tokio::test]
async fn link_adds_a_name_and_counts_it() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let fh = file_with(&mut c, &root, "f", b"linked").await;
    let d_before = getattr(&mut c, &d).await;
    let r = ok(link_res(&mut c, &fh, &d, b"g").await, "LINK");
    let fa = attrs(r.file_attributes, "LINK file_attributes");
    assert_eq!(fa.nlink, 2, "LINK reports the new count");
    let d_after = getattr(&mut c, &d).await;
    assert_wcc(&r.linkdir_wcc, &d_before, &d_after, "LINK linkdir_wcc");
    assert_eq!(d_after.nlink, 2, "a file link is not a subdirectory");
    let now = getattr(&mut c, &fh).await;
    assert_eq!(show(&now), show(&fa), "GETATTR agrees with LINK");

    let (g, ga) = lookup(&mut c, &d, "g").await;
    assert_eq!(g, fh, "both names give the same handle");
    assert_eq!(ga.fileid, fa.fileid);
    assert_eq!(read_all(&mut c, &g).await, b"linked");

    ok(link_res(&mut c, &fh, &root, b"h").await, "second LINK");
    assert_eq!(getattr(&mut c, &fh).await.nlink, 3);
}

#[tokio::test]
async fn link_errors() {
    let (_server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    create_file(&mut c, &root, "taken").await;

    let r = link_res(&mut c, &d, &root, b"dir-link").await;
    let fail = expect_err(r, nfsstat3::NFS3ERR_ISDIR, "LINK to a directory");
    assert_eq!(attrs(fail.file_attributes, "LINK failure").nlink, 2);
    expect_err(
        link_res(&mut c, &fh, &root, b"taken").await,
        nfsstat3::NFS3ERR_EXIST,
        "LINK onto an existing name",
    );
    expect_err(
        link_res(&mut c, &fh, &fh, b"x").await,
        nfsstat3::NFS3ERR_NOTDIR,
        "LINK into a regular file",
    );
    assert_eq!(getattr(&mut c, &fh).await.nlink, 1, "no link was added");
    assert_eq!(getattr(&mut c, &d).await.nlink, 2);
    assert_eq!(names(&mut c, &root).await, ["d", "f", "taken"]);
}

#[tokio::test]
async fn removing_names_one_by_one() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "a", b"survivor").await;
    ok(link_res(&mut c, &fh, &root, b"b").await, "LINK");

    ok(remove_res(&mut c, &root, b"a").await, "REMOVE a");
    let a = getattr(&mut c, &fh).await;
    assert_eq!(a.nlink, 1, "one name left");
    assert_eq!(
        read_all(&mut c, &fh).await,
        b"survivor",
        "readable through the handle"
    );
    let (b, _) = lookup(&mut c, &root, "b").await;
    assert_eq!(
        read_all(&mut c, &b).await,
        b"survivor",
        "readable through the other name"
    );
    write(&mut c, &fh, 0, b"S").await;
    assert_eq!(read_all(&mut c, &b).await, b"Survivor");

    ok(remove_res(&mut c, &root, b"b").await, "REMOVE b");
    assert_eq!(
        status_of(&getattr_res(&mut c, &fh).await),
        nfsstat3::NFS3ERR_STALE
    );
    expect_err(
        read_res(&mut c, &fh, 0, 10).await,
        nfsstat3::NFS3ERR_STALE,
        "READ after the last name is gone",
    );
    expect_err(
        write_res(&mut c, &fh, 0, b"x", stable_how::FILE_SYNC).await,
        nfsstat3::NFS3ERR_STALE,
        "WRITE after the last name is gone",
    );
    assert!(names(&mut c, &root).await.is_empty());
}
