//! LOOKUP: found, missing, ".", "..", and permission to search.

use nfs3_types::nfs3::*;

use super::*;

#[tokio::test]
async fn lookup_finds_what_was_created() {
    let (_server, mut c, root) = setup().await;
    let (fh, created) = create_file(&mut c, &root, "f").await;
    let r = ok(lookup_res(&mut c, &root, b"f").await, "LOOKUP f");
    assert_eq!(r.object, fh, "LOOKUP gives the handle CREATE gave");
    assert_eq!(show(&attrs(r.obj_attributes, "LOOKUP obj")), show(&created));
    let dir = attrs(r.dir_attributes, "LOOKUP dir");
    assert_eq!(
        show(&dir),
        show(&getattr(&mut c, &root).await),
        "dir attributes"
    );
}

#[tokio::test]
async fn lookup_of_a_missing_name_is_noent_with_dir_attributes() {
    let (_server, mut c, root) = setup().await;
    let fail = expect_err(
        lookup_res(&mut c, &root, b"nothing-here").await,
        nfsstat3::NFS3ERR_NOENT,
        "LOOKUP of a missing name",
    );
    let dir = attrs(fail.dir_attributes, "LOOKUP failure dir attributes");
    assert_eq!(dir.type_, ftype3::NF3DIR);
    assert_eq!(dir.fileid, getattr(&mut c, &root).await.fileid);
}

#[tokio::test]
async fn lookup_dot_and_dotdot() {
    let (_server, mut c, root) = setup().await;
    let root_attrs = getattr(&mut c, &root).await;
    let a = mkdir(&mut c, &root, "a").await;
    let b = mkdir(&mut c, &a, "b").await;
    let b_attrs = getattr(&mut c, &b).await;
    let a_attrs = getattr(&mut c, &a).await;

    let (fh, attrs_) = lookup(&mut c, &b, ".").await;
    assert_eq!(fh, b, "\".\" is the directory itself");
    assert_eq!(attrs_.fileid, b_attrs.fileid);

    let (fh, attrs_) = lookup(&mut c, &b, "..").await;
    assert_eq!(fh, a, "\"..\" is the parent");
    assert_eq!(attrs_.fileid, a_attrs.fileid);

    let (fh, attrs_) = lookup(&mut c, &a, "..").await;
    assert_eq!(fh, root);
    assert_eq!(attrs_.fileid, root_attrs.fileid);

    let (fh, attrs_) = lookup(&mut c, &root, "..").await;
    assert_eq!(fh, root, "\"..\" of the root is the root");
    assert_eq!(attrs_.fileid, root_attrs.fileid);
    let (fh, _) = lookup(&mut c, &root, ".").await;
    assert_eq!(fh, root);
}

#[tokio::test]
async fn lookup_in_a_non_directory_is_notdir() {
    let (_server, mut c, root) = setup().await;
    let (file, _) = create_file(&mut c, &root, "f").await;
    for n in [&b"x"[..], b".", b".."] {
        assert_eq!(
            lookup_status(&mut c, &file, n).await,
            nfsstat3::NFS3ERR_NOTDIR,
            "LOOKUP {:?} in a regular file",
            String::from_utf8_lossy(n)
        );
    }
    let link = handle(
        ok(symlink_res(&mut c, &root, b"l", b"f").await, "SYMLINK").obj,
        "SYMLINK",
    );
    assert_eq!(
        lookup_status(&mut c, &link, b"x").await,
        nfsstat3::NFS3ERR_NOTDIR,
        "LOOKUP in a symlink"
    );
}

#[tokio::test]
async fn lookup_needs_search_permission() {
    let (server, mut c, root) = setup().await;
    let private = mkdir_mode(&mut c, &root, "private", 0o700).await.0;
    create_file(&mut c, &private, "secret").await;
    let readable = mkdir_mode(&mut c, &root, "readable", 0o744).await.0;
    create_file(&mut c, &readable, "f").await;
    let searchable = mkdir_mode(&mut c, &root, "searchable", 0o711).await.0;
    create_file(&mut c, &searchable, "f").await;

    let mut u = user(&server, 1000, 1000, &[]).await;
    for (what, dir, n) in [
        ("0700 dir", &private, "secret"),
        ("0700 dir, missing name", &private, "nothing"),
        ("0744 dir (r but no x)", &readable, "f"),
    ] {
        assert_eq!(
            lookup_status(&mut u, dir, n.as_bytes()).await,
            nfsstat3::NFS3ERR_ACCES,
            "LOOKUP {n:?} in {what} as uid 1000"
        );
    }
    lookup(&mut u, &searchable, "f").await;
    lookup(&mut c, &private, "secret").await;
}
