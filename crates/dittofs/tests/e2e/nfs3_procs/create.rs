//! CREATE (all three modes), MKDIR, SYMLINK, MKNOD, and the rules for new
//! names.

use nfs3_types::nfs3::*;

use super::*;

#[tokio::test]
async fn create_unchecked_new_file_and_dir_wcc() {
    let (_server, mut c, root) = setup().await;
    let dir_before = getattr(&mut c, &root).await;
    let how = createhow3::UNCHECKED(sattr_mode(0o640));
    let r = ok(
        create_res(&mut c, &root, b"f", how).await,
        "CREATE UNCHECKED",
    );
    let fh = handle(r.obj, "CREATE");
    let a = attrs(r.obj_attributes, "CREATE");
    assert_eq!(a.type_, ftype3::NF3REG);
    assert_eq!((a.mode & 0o7777, a.size, a.nlink), (0o640, 0, 1));
    assert_eq!((a.uid, a.gid), (0, 0), "owned by the caller");
    let dir_after = getattr(&mut c, &root).await;
    assert_wcc(&r.dir_wcc, &dir_before, &dir_after, "CREATE dir_wcc");
    assert!(time_le(dir_before.mtime, dir_after.mtime));
    assert_eq!(lookup(&mut c, &root, "f").await.0, fh);
}

#[tokio::test]
async fn create_unchecked_over_an_existing_file_applies_only_the_size() {
    let (server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "f", b"some content").await;
    chmod(&mut c, &fh, 0o600).await;
    let before = getattr(&mut c, &fh).await;

    let how = createhow3::UNCHECKED(sattr3 {
        mode: Nfs3Option::Some(0o777),
        uid: Nfs3Option::Some(1234),
        size: Nfs3Option::Some(0),
        ..Default::default()
    });
    let r = ok(
        create_res(&mut c, &root, b"f", how).await,
        "CREATE UNCHECKED existing",
    );
    assert_eq!(handle(r.obj, "CREATE"), fh, "the existing file is returned");
    let a = getattr(&mut c, &fh).await;
    assert_eq!(a.fileid, before.fileid);
    assert_eq!(a.size, 0, "size applied");
    assert_eq!(a.mode & 0o7777, 0o600, "mode not applied");
    assert_eq!(a.uid, 0, "owner not applied");
    assert_eq!(read_all(&mut c, &fh).await, b"");

    // Without a size nothing changes at all.
    write(&mut c, &fh, 0, b"again").await;
    let how = createhow3::UNCHECKED(sattr_mode(0o777));
    ok(
        create_res(&mut c, &root, b"f", how).await,
        "CREATE UNCHECKED, no size",
    );
    assert_eq!(read_all(&mut c, &fh).await, b"again");

    // Truncation through CREATE needs write permission like any other.
    chmod(&mut c, &fh, 0o644).await;
    let mut u = user(&server, 1000, 1000, &[]).await;
    let how = createhow3::UNCHECKED(sattr3 {
        size: Nfs3Option::Some(0),
        ..Default::default()
    });
    let shared = mkdir_mode(&mut c, &root, "shared", 0o777).await.0;
    let theirs = file_with(&mut c, &shared, "g", b"root's").await;
    expect_err(
        create_res(&mut u, &shared, b"g", how).await,
        nfsstat3::NFS3ERR_ACCES,
        "CREATE UNCHECKED truncating a file the caller may not write",
    );
    assert_eq!(read_all(&mut c, &theirs).await, b"root's");

    // An existing directory is not a file to open.
    mkdir(&mut c, &root, "d").await;
    let how = createhow3::UNCHECKED(sattr3::default());
    expect_err(
        create_res(&mut c, &root, b"d", how).await,
        nfsstat3::NFS3ERR_EXIST,
        "CREATE UNCHECKED over a directory",
    );
}

#[tokio::test]
async fn create_guarded_refuses_an_existing_name() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "f", b"keep me").await;
    let dir_before = getattr(&mut c, &root).await;
    let how = createhow3::GUARDED(sattr3 {
        size: Nfs3Option::Some(0),
        ..Default::default()
    });
    let fail = expect_err(
        create_res(&mut c, &root, b"f", how).await,
        nfsstat3::NFS3ERR_EXIST,
        "CREATE GUARDED of an existing name",
    );
    let after = attrs(fail.dir_wcc.after, "CREATE failure dir_wcc");
    assert_eq!(show(&after), show(&dir_before), "directory unchanged");
    assert_eq!(read_all(&mut c, &fh).await, b"keep me");
}

#[tokio::test]
async fn create_exclusive_is_idempotent_per_verifier() {
    let (_server, mut c, root) = setup().await;
    let v1 = createverf3(*b"verf-one");
    let v2 = createverf3(*b"verf-two");
    let first = ok(
        create_res(&mut c, &root, b"x", createhow3::EXCLUSIVE(v1)).await,
        "CREATE EXCLUSIVE",
    );
    let fh = handle(first.obj, "CREATE EXCLUSIVE");
    let dir_after_first = getattr(&mut c, &root).await;

    let retry = ok(
        create_res(&mut c, &root, b"x", createhow3::EXCLUSIVE(v1)).await,
        "CREATE EXCLUSIVE retry with the same verifier",
    );
    assert_eq!(
        handle(retry.obj, "retry"),
        fh,
        "a retry returns the same file"
    );
    assert_eq!(
        show(&getattr(&mut c, &root).await),
        show(&dir_after_first),
        "a retry does not touch the directory"
    );
    expect_err(
        create_res(&mut c, &root, b"x", createhow3::EXCLUSIVE(v2)).await,
        nfsstat3::NFS3ERR_EXIST,
        "CREATE EXCLUSIVE with another verifier",
    );
    assert_eq!(names(&mut c, &root).await, ["x"], "one file");

    // Once the client has set the attributes, the create is over.
    chmod(&mut c, &fh, 0o644).await;
    expect_err(
        create_res(&mut c, &root, b"x", createhow3::EXCLUSIVE(v1)).await,
        nfsstat3::NFS3ERR_EXIST,
        "CREATE EXCLUSIVE retry after SETATTR",
    );
    // A GUARDED or UNCHECKED file has no verifier to match.
    create_file(&mut c, &root, "plain").await;
    expect_err(
        create_res(&mut c, &root, b"plain", createhow3::EXCLUSIVE(v1)).await,
        nfsstat3::NFS3ERR_EXIST,
        "CREATE EXCLUSIVE over a GUARDED file",
    );
}

#[tokio::test]
async fn new_entries_in_a_set_gid_directory_take_its_group() {
    let (server, mut c, root) = setup().await;
    let (d, _) = mkdir_mode(&mut c, &root, "team", 0o777).await;
    chown(&mut c, &d, 0, 500).await;
    chmod(&mut c, &d, 0o2777).await;
    let mut u = user(&server, 1000, 1000, &[]).await;
    let (_, f) = create_file(&mut u, &d, "f").await;
    assert_eq!(
        (f.uid, f.gid),
        (1000, 500),
        "a file takes the directory's group"
    );
    let (_, sub) = mkdir_mode(&mut u, &d, "sub", 0o755).await;
    assert_eq!(sub.gid, 500, "so does a directory");
    assert_eq!(sub.mode & 0o2000, 0o2000, "and a directory stays set-gid");
    let (open, _) = mkdir_mode(&mut c, &root, "open", 0o777).await;
    let (_, plain) = create_file(&mut u, &open, "x").await;
    assert_eq!(plain.gid, 1000, "elsewhere the caller's group");
}

#[tokio::test]
async fn mkdir_counts_links() {
    let (_server, mut c, root) = setup().await;
    let parent_before = getattr(&mut c, &root).await;
    let r = ok(mkdir_res(&mut c, &root, b"d", 0o750).await, "MKDIR");
    let d = handle(r.obj, "MKDIR");
    let a = attrs(r.obj_attributes, "MKDIR");
    assert_eq!(a.type_, ftype3::NF3DIR);
    assert_eq!((a.mode & 0o7777, a.nlink, a.uid), (0o750, 2, 0));
    let parent_after = getattr(&mut c, &root).await;
    assert_eq!(
        parent_after.nlink,
        parent_before.nlink + 1,
        "parent nlink + 1"
    );
    assert_wcc(&r.dir_wcc, &parent_before, &parent_after, "MKDIR dir_wcc");
    assert_eq!(lookup(&mut c, &d, "..").await.0, root);

    mkdir(&mut c, &d, "sub").await;
    assert_eq!(getattr(&mut c, &d).await.nlink, 3);
    expect_err(
        mkdir_res(&mut c, &root, b"d", 0o755).await,
        nfsstat3::NFS3ERR_EXIST,
        "MKDIR of an existing name",
    );
    create_file(&mut c, &root, "f").await;
    expect_err(
        mkdir_res(&mut c, &root, b"f", 0o755).await,
        nfsstat3::NFS3ERR_EXIST,
        "MKDIR over a file",
    );
    assert_eq!(getattr(&mut c, &root).await.nlink, parent_before.nlink + 1);
}

#[tokio::test]
async fn symlink_round_trip() {
    let (_server, mut c, root) = setup().await;
    let dir_before = getattr(&mut c, &root).await;
    let target = b"/a/b/../c with spaces";
    let r = ok(symlink_res(&mut c, &root, b"l", target).await, "SYMLINK");
    let fh = handle(r.obj, "SYMLINK");
    let a = attrs(r.obj_attributes, "SYMLINK");
    assert_eq!(a.type_, ftype3::NF3LNK);
    assert_eq!(
        a.size,
        target.len() as u64,
        "a symlink's size is its target's length"
    );
    assert_eq!(a.nlink, 1);
    assert_wcc(
        &r.dir_wcc,
        &dir_before,
        &getattr(&mut c, &root).await,
        "SYMLINK dir_wcc",
    );
    let got = ok(
        c.readlink(&READLINK3args {
            symlink: fh.clone(),
        })
        .await
        .expect("READLINK rpc"),
        "READLINK",
    );
    assert_eq!(got.data.0.as_ref(), target);
    assert_eq!(lookup(&mut c, &root, "l").await.0, fh);
    expect_err(
        symlink_res(&mut c, &root, b"l", b"elsewhere").await,
        nfsstat3::NFS3ERR_EXIST,
        "SYMLINK over an existing name",
    );
}

fn device(major: u32, minor: u32) -> devicedata3 {
    devicedata3 {
        dev_attributes: sattr_mode(0o640),
        spec: specdata3 {
            specdata1: major,
            specdata2: minor,
        },
    }
}

#[tokio::test]
async fn mknod_makes_special_files() {
    let (_server, mut c, root) = setup().await;
    let cases = [
        (
            "fifo",
            mknoddata3::NF3FIFO(sattr_mode(0o600)),
            ftype3::NF3FIFO,
            (0, 0),
        ),
        (
            "sock",
            mknoddata3::NF3SOCK(sattr_mode(0o600)),
            ftype3::NF3SOCK,
            (0, 0),
        ),
        (
            "chr",
            mknoddata3::NF3CHR(device(1, 3)),
            ftype3::NF3CHR,
            (1, 3),
        ),
        (
            "blk",
            mknoddata3::NF3BLK(device(8, 17)),
            ftype3::NF3BLK,
            (8, 17),
        ),
    ];
    for (n, what, ftype, (major, minor)) in cases {
        let before = getattr(&mut c, &root).await;
        let r = ok(mknod_res(&mut c, &root, n.as_bytes(), what).await, n);
        let a = attrs(r.obj_attributes, n);
        assert_eq!(a.type_, ftype, "{n}: type");
        assert_eq!(
            (a.rdev.specdata1, a.rdev.specdata2),
            (major, minor),
            "{n}: rdev"
        );
        assert_eq!(a.nlink, 1, "{n}: nlink");
        let after = getattr(&mut c, &root).await;
        assert_wcc(&r.dir_wcc, &before, &after, n);
        assert_eq!(before.nlink, after.nlink, "{n}: parent nlink unchanged");
        let (fh, found) = lookup(&mut c, &root, n).await;
        assert_eq!(fh, handle(r.obj, n));
        assert_eq!(found.type_, ftype);
        expect_err(
            read_res(&mut c, &fh, 0, 1).await,
            nfsstat3::NFS3ERR_INVAL,
            &format!("READ of a {n}"),
        );
    }
    expect_err(
        mknod_res(
            &mut c,
            &root,
            b"fifo",
            mknoddata3::NF3FIFO(sattr3::default()),
        )
        .await,
        nfsstat3::NFS3ERR_EXIST,
        "MKNOD over an existing name",
    );
}

#[tokio::test]
async fn mknod_devices_need_root() {
    let (server, mut c, root) = setup().await;
    let shared = mkdir_mode(&mut c, &root, "shared", 0o777).await.0;
    let mut u = user(&server, 1000, 1000, &[]).await;
    expect_err(
        mknod_res(&mut u, &shared, b"chr", mknoddata3::NF3CHR(device(1, 3))).await,
        nfsstat3::NFS3ERR_PERM,
        "MKNOD chr as uid 1000",
    );
    expect_err(
        mknod_res(&mut u, &shared, b"blk", mknoddata3::NF3BLK(device(8, 0))).await,
        nfsstat3::NFS3ERR_PERM,
        "MKNOD blk as uid 1000",
    );
    let r = ok(
        mknod_res(
            &mut u,
            &shared,
            b"fifo",
            mknoddata3::NF3FIFO(sattr3::default()),
        )
        .await,
        "MKNOD fifo as uid 1000",
    );
    assert_eq!(attrs(r.obj_attributes, "fifo").uid, 1000);
    assert_eq!(
        names(&mut c, &shared).await,
        ["fifo"],
        "no device node was made"
    );
}

/// MKNOD with a type that is not special; `nfs3_client` cannot encode these.
fn mknod_of_type(dir: &nfs_fh3, n: &str, ftype: ftype3) -> Vec<u8> {
    let mut b = Vec::new();
    xdr_opaque(&mut b, dir.data.as_ref());
    xdr_opaque(&mut b, n.as_bytes());
    xdr_u32(&mut b, ftype as u32);
    b
}

#[tokio::test]
async fn mknod_of_regular_or_directory_type_is_badtype() {
    let (server, mut c, root) = setup().await;
    for (n, t) in [
        ("reg", ftype3::NF3REG),
        ("dir", ftype3::NF3DIR),
        ("lnk", ftype3::NF3LNK),
    ] {
        let r: MKNOD3res = raw_nfs_call(
            &server,
            auth_sys(0, 0, &[]),
            NFS_PROGRAM::NFSPROC3_MKNOD,
            mknod_of_type(&root, n, t),
        )
        .await;
        expect_err(r, nfsstat3::NFS3ERR_BADTYPE, &format!("MKNOD {t}"));
    }
    assert!(names(&mut c, &root).await.is_empty(), "nothing was created");
}

const MAKERS: [&str; 5] = ["CREATE", "MKDIR", "SYMLINK", "MKNOD", "LINK"];

/// Makes `n` in `dir` with procedure `MAKERS[i]` (LINK links `file`).
async fn make(c: &mut Conn, i: usize, dir: &nfs_fh3, file: &nfs_fh3, n: &[u8]) -> nfsstat3 {
    match i {
        0 => status_of(&create_res(c, dir, n, createhow3::GUARDED(sattr3::default())).await),
        1 => status_of(&mkdir_res(c, dir, n, 0o755).await),
        2 => status_of(&symlink_res(c, dir, n, b"target").await),
        3 => status_of(&mknod_res(c, dir, n, mknoddata3::NF3FIFO(sattr3::default())).await),
        _ => status_of(&link_res(c, file, dir, n).await),
    }
}

#[tokio::test]
async fn invalid_names_create_nothing() {
    let (_server, mut c, root) = setup().await;
    let (file, _) = create_file(&mut c, &root, "file").await;
    let dir = mkdir(&mut c, &root, "d").await;
    let before = getattr(&mut c, &dir).await;
    let long = vec![b'n'; 256];
    let cases: [(&str, &[u8], nfsstat3); 6] = [
        ("\".\"", b".", nfsstat3::NFS3ERR_EXIST),
        ("\"..\"", b"..", nfsstat3::NFS3ERR_EXIST),
        ("a name with /", b"a/b", nfsstat3::NFS3ERR_INVAL),
        ("a name with NUL", b"a\0b", nfsstat3::NFS3ERR_INVAL),
        ("a 256-byte name", &long, nfsstat3::NFS3ERR_NAMETOOLONG),
        ("a name that is just /", b"/", nfsstat3::NFS3ERR_INVAL),
    ];
    for (what, n, want) in cases {
        for (i, p) in MAKERS.iter().enumerate() {
            assert_eq!(
                make(&mut c, i, &dir, &file, n).await,
                want,
                "{p} with {what}"
            );
        }
    }
    assert!(names(&mut c, &dir).await.is_empty(), "nothing was created");
    let after = getattr(&mut c, &dir).await;
    assert_eq!(show(&after), show(&before), "the directory is unchanged");
    assert_eq!(getattr(&mut c, &file).await.nlink, 1, "no link was added");
    assert_eq!(
        lookup_status(&mut c, &dir, &long).await,
        nfsstat3::NFS3ERR_NAMETOOLONG,
        "LOOKUP of a 256-byte name"
    );
    assert_eq!(
        lookup_status(&mut c, &dir, b"a/b").await,
        nfsstat3::NFS3ERR_INVAL
    );
}

#[tokio::test]
async fn a_255_byte_name_works_everywhere() {
    let (_server, mut c, root) = setup().await;
    let (file, _) = create_file(&mut c, &root, "file").await;
    let dir = mkdir(&mut c, &root, "d").await;
    let mut made = Vec::new();
    for (i, p) in MAKERS.iter().enumerate() {
        let mut n = vec![b'a' + i as u8; 255];
        n[0] = b'0' + i as u8;
        let s = make(&mut c, i, &dir, &file, &n).await;
        assert_eq!(s, nfsstat3::NFS3_OK, "{p} with a 255-byte name");
        for (j, q) in MAKERS.iter().enumerate() {
            let s = make(&mut c, j, &dir, &file, &n).await;
            assert_eq!(
                s,
                nfsstat3::NFS3ERR_EXIST,
                "{q} over the 255-byte name {p} made"
            );
        }
        assert_eq!(lookup_status(&mut c, &dir, &n).await, nfsstat3::NFS3_OK);
        made.push(String::from_utf8(n).expect("ascii"));
    }
    made.sort();
    assert_eq!(
        names(&mut c, &dir).await,
        made,
        "READDIR lists the long names"
    );
}

#[tokio::test]
async fn adding_names_needs_write_and_search_permission() {
    let (server, mut c, root) = setup().await;
    let (file, _) = create_mode(&mut c, &root, "file", 0o666).await;
    let (ro, _) = mkdir_mode(&mut c, &root, "ro", 0o555).await;
    let (wo, _) = mkdir_mode(&mut c, &root, "wo", 0o733).await;
    let mut u = user(&server, 1000, 1000, &[]).await;
    for (what, dir) in [("0755 root", &root), ("0555 dir", &ro)] {
        for (i, p) in MAKERS.iter().enumerate() {
            assert_eq!(
                make(&mut u, i, dir, &file, b"new").await,
                nfsstat3::NFS3ERR_ACCES,
                "{p} in a {what} as uid 1000"
            );
        }
    }
    // Write and search without read is enough.
    for (i, p) in MAKERS.iter().enumerate() {
        let n = format!("n{i}");
        let s = make(&mut u, i, &wo, &file, n.as_bytes()).await;
        assert_eq!(s, nfsstat3::NFS3_OK, "{p} in a 0733 dir");
    }
    assert!(names(&mut c, &ro).await.is_empty());
    assert_eq!(names(&mut c, &wo).await.len(), MAKERS.len());
    assert_eq!(
        lookup_status(&mut c, &root, b"new").await,
        nfsstat3::NFS3ERR_NOENT
    );
}
