//! GETATTR, SETATTR, ACCESS and READLINK.

use nfs3_types::nfs3::*;

use super::*;

#[tokio::test]
async fn null_procedure_answers() {
    let (_server, mut c, _root) = setup().await;
    c.null().await.expect("NFSPROC3_NULL");
}

#[tokio::test]
async fn getattr_of_root_and_of_a_new_file() {
    let (_server, mut c, root) = setup().await;
    let r = getattr(&mut c, &root).await;
    assert_eq!(r.type_, ftype3::NF3DIR, "root is a directory");
    assert_eq!(r.mode & 0o7777, 0o755, "root mode");
    assert_eq!((r.uid, r.gid), (0, 0), "root is owned by the server's user");
    assert_eq!(r.nlink, 2, "an empty root has nlink 2");
    assert_ne!(r.fileid, 0, "fileid");

    let (fh, created) = create_mode(&mut c, &root, "f", 0o640).await;
    let a = getattr(&mut c, &fh).await;
    assert_eq!(
        show(&a),
        show(&created),
        "GETATTR equals CREATE's attributes"
    );
    assert_eq!(a.type_, ftype3::NF3REG);
    assert_eq!(a.mode & 0o7777, 0o640);
    assert_eq!((a.nlink, a.size, a.uid, a.gid), (1, 0, 0, 0));
    assert_eq!(a.fsid, r.fsid, "one share, one fsid");
    assert_ne!(a.fileid, r.fileid, "fileids are distinct");
}

#[tokio::test]
async fn setattr_mode_reports_wcc() {
    let (_server, mut c, root) = setup().await;
    let (fh, before) = create_file(&mut c, &root, "f").await;
    let w = setattr(&mut c, &fh, sattr_mode(0o4711)).await;
    let after = getattr(&mut c, &fh).await;
    assert_eq!(
        after.mode & 0o7777,
        0o4711,
        "mode set, set-uid included for root"
    );
    assert!(time_le(before.ctime, after.ctime), "ctime does not go back");
    assert_eq!(after.mtime, before.mtime, "chmod leaves mtime alone");
    assert_wcc(&w, &before, &after, "SETATTR mode");
}

#[tokio::test]
async fn setattr_owner_as_root_and_as_others() {
    let (server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    chown(&mut c, &fh, 1000, 100).await;
    let a = getattr(&mut c, &fh).await;
    assert_eq!((a.uid, a.gid), (1000, 100), "root may give a file away");

    let mut owner = user(&server, 1000, 100, &[200]).await;
    let mut other = user(&server, 2000, 100, &[]).await;
    let give = sattr3 {
        uid: Nfs3Option::Some(2000),
        ..Default::default()
    };
    let fail = expect_err(
        setattr_res(&mut owner, &fh, give.clone(), None).await,
        nfsstat3::NFS3ERR_PERM,
        "owner giving the file away",
    );
    let now = getattr(&mut c, &fh).await;
    assert_eq!(show(&now), show(&a), "a refused chown changes nothing");
    assert_eq!(
        show(&attrs(fail.obj_wcc.after, "failed SETATTR")),
        show(&a),
        "failure WCC shows the unchanged file"
    );

    let foreign_group = sattr3 {
        gid: Nfs3Option::Some(300),
        ..Default::default()
    };
    expect_err(
        setattr_res(&mut owner, &fh, foreign_group, None).await,
        nfsstat3::NFS3ERR_PERM,
        "owner moving the file to a group it is not in",
    );
    let own_group = sattr3 {
        gid: Nfs3Option::Some(200),
        ..Default::default()
    };
    ok(
        setattr_res(&mut owner, &fh, own_group, None).await,
        "owner moving the file to its supplementary group",
    );
    assert_eq!(getattr(&mut c, &fh).await.gid, 200);

    expect_err(
        setattr_res(&mut other, &fh, sattr_mode(0o777), None).await,
        nfsstat3::NFS3ERR_PERM,
        "chmod by a non-owner",
    );
    expect_err(
        setattr_res(&mut other, &fh, give, None).await,
        nfsstat3::NFS3ERR_PERM,
        "chown by a non-owner",
    );
    let a = getattr(&mut c, &fh).await;
    assert_eq!((a.uid, a.gid, a.mode & 0o7777), (1000, 200, 0o644));
}

#[tokio::test]
async fn setattr_size_grows_and_shrinks_the_data() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "f", b"hello world").await;
    let before = getattr(&mut c, &fh).await;
    let size = |n| sattr3 {
        size: Nfs3Option::Some(n),
        ..Default::default()
    };

    let w = setattr(&mut c, &fh, size(5)).await;
    let after = getattr(&mut c, &fh).await;
    assert_eq!(after.size, 5);
    assert_wcc(&w, &before, &after, "shrink");
    assert_eq!(read_all(&mut c, &fh).await, b"hello");

    let w = setattr(&mut c, &fh, size(12)).await;
    let grown = getattr(&mut c, &fh).await;
    assert_eq!(grown.size, 12);
    assert_wcc(&w, &after, &grown, "grow");
    assert_eq!(
        read_all(&mut c, &fh).await,
        b"hello\0\0\0\0\0\0\0",
        "growing exposes zeros, not the old bytes"
    );

    setattr(&mut c, &fh, size(0)).await;
    assert_eq!(read_all(&mut c, &fh).await, b"");
}

#[tokio::test]
async fn setattr_times_from_client_and_server() {
    let (_server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let at = nfstime3 {
        seconds: 1_000_000_000,
        nseconds: 123_456_789,
    };
    let mt = nfstime3 {
        seconds: 1_100_000_000,
        nseconds: 987,
    };
    let s = sattr3 {
        atime: set_atime::SET_TO_CLIENT_TIME(at),
        mtime: set_mtime::SET_TO_CLIENT_TIME(mt),
        ..Default::default()
    };
    let w = setattr(&mut c, &fh, s).await;
    let a = getattr(&mut c, &fh).await;
    assert_eq!(a.atime, at, "atime set to the client's time");
    assert_eq!(a.mtime, mt, "mtime set to the client's time");
    assert!(
        a.ctime.seconds + 5 >= now_secs(),
        "ctime is now, not the client's time"
    );
    assert_eq!(show(&attrs(w.after, "wcc")), show(&a));

    let s = sattr3 {
        atime: set_atime::SET_TO_SERVER_TIME,
        mtime: set_mtime::SET_TO_SERVER_TIME,
        ..Default::default()
    };
    setattr(&mut c, &fh, s).await;
    let a = getattr(&mut c, &fh).await;
    let now = now_secs();
    for (what, t) in [("atime", a.atime), ("mtime", a.mtime)] {
        assert!(
            t.seconds + 5 >= now && t.seconds <= now + 5,
            "{what} {t:?} is the server's time (now {now})"
        );
    }
}

#[tokio::test]
async fn setattr_times_by_a_non_owner() {
    let (server, mut c, root) = setup().await;
    let (shared, _) = create_mode(&mut c, &root, "shared", 0o666).await;
    let (private, _) = create_mode(&mut c, &root, "private", 0o644).await;
    let mut u = user(&server, 1000, 1000, &[]).await;
    let server_time = sattr3 {
        mtime: set_mtime::SET_TO_SERVER_TIME,
        ..Default::default()
    };
    let client_time = sattr3 {
        mtime: set_mtime::SET_TO_CLIENT_TIME(nfstime3 {
            seconds: 1000,
            nseconds: 0,
        }),
        ..Default::default()
    };
    ok(
        setattr_res(&mut u, &shared, server_time.clone(), None).await,
        "touch (server time) with write permission",
    );
    expect_err(
        setattr_res(&mut u, &private, server_time, None).await,
        nfsstat3::NFS3ERR_ACCES,
        "touch (server time) without write permission",
    );
    expect_err(
        setattr_res(&mut u, &shared, client_time, None).await,
        nfsstat3::NFS3ERR_PERM,
        "setting a client time on another user's file",
    );
    assert_ne!(getattr(&mut c, &shared).await.mtime.seconds, 1000);
}

#[tokio::test]
async fn setattr_ctime_guard() {
    let (_server, mut c, root) = setup().await;
    let (fh, first) = create_file(&mut c, &root, "f").await;

    let w = ok(
        setattr_res(&mut c, &fh, sattr_mode(0o600), Some(first.ctime)).await,
        "SETATTR with a matching guard",
    )
    .obj_wcc;
    let second = getattr(&mut c, &fh).await;
    assert_eq!(second.mode & 0o7777, 0o600);
    assert_wcc(&w, &first, &second, "guarded SETATTR");
    assert_ne!(second.ctime, first.ctime, "the change moved ctime");

    let fail = expect_err(
        setattr_res(&mut c, &fh, sattr_mode(0o666), Some(first.ctime)).await,
        nfsstat3::NFS3ERR_NOT_SYNC,
        "SETATTR with a stale guard",
    );
    let third = getattr(&mut c, &fh).await;
    assert_eq!(show(&third), show(&second), "a stale guard changes nothing");
    if let Nfs3Option::Some(a) = fail.obj_wcc.after {
        assert_eq!(show(&a), show(&second), "failure WCC after");
    }
}

#[tokio::test]
async fn setattr_size_on_a_directory_is_isdir() {
    let (_server, mut c, root) = setup().await;
    let dir = mkdir(&mut c, &root, "d").await;
    let before = getattr(&mut c, &dir).await;
    let s = sattr3 {
        size: Nfs3Option::Some(0),
        ..Default::default()
    };
    expect_err(
        setattr_res(&mut c, &dir, s, None).await,
        nfsstat3::NFS3ERR_ISDIR,
        "truncating a directory",
    );
    assert_eq!(show(&getattr(&mut c, &dir).await), show(&before));
}

const ALL: u32 = ACCESS3_READ
    | ACCESS3_LOOKUP
    | ACCESS3_MODIFY
    | ACCESS3_EXTEND
    | ACCESS3_DELETE
    | ACCESS3_EXECUTE;
const RX: u32 = ACCESS3_READ | ACCESS3_EXECUTE;
const RW: u32 = ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND;

async fn access(c: &mut Conn, fh: &nfs_fh3, mask: u32) -> u32 {
    let r = c
        .access(&ACCESS3args {
            object: fh.clone(),
            access: mask,
        })
        .await
        .expect("ACCESS rpc");
    let r = ok(r, "ACCESS");
    let a = attrs(r.obj_attributes, "ACCESS");
    assert_eq!(a.fileid, getattr(c, fh).await.fileid, "ACCESS attributes");
    r.access
}

#[tokio::test]
async fn access_follows_the_mode_bits() {
    let (server, mut c, root) = setup().await;
    let (file, _) = create_mode(&mut c, &root, "f", 0o754).await;
    chown(&mut c, &file, 1000, 100).await;
    let dir = mkdir_mode(&mut c, &root, "d", 0o750).await.0;
    chown(&mut c, &dir, 1000, 100).await;

    let mut owner = user(&server, 1000, 1, &[]).await;
    let mut group = user(&server, 2000, 100, &[]).await;
    let mut supplementary = user(&server, 2001, 5, &[7, 100]).await;
    let mut other = user(&server, 3000, 3000, &[]).await;

    // Files: READ, MODIFY, EXTEND, EXECUTE; never LOOKUP or DELETE.
    assert_eq!(
        access(&mut owner, &file, ALL).await,
        RW | ACCESS3_EXECUTE,
        "owner rwx"
    );
    assert_eq!(access(&mut group, &file, ALL).await, RX, "group r-x");
    assert_eq!(
        access(&mut supplementary, &file, ALL).await,
        RX,
        "supplementary group r-x"
    );
    assert_eq!(
        access(&mut other, &file, ALL).await,
        ACCESS3_READ,
        "other r--"
    );
    assert_eq!(
        access(&mut c, &file, ALL).await,
        RW | ACCESS3_EXECUTE,
        "root, x set somewhere"
    );
    assert_eq!(
        access(&mut owner, &file, ACCESS3_READ).await,
        ACCESS3_READ,
        "only what was asked"
    );
    assert_eq!(access(&mut other, &file, ACCESS3_MODIFY).await, 0);

    // Directories: LOOKUP for x, DELETE for w+x.
    let dir_all = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;
    assert_eq!(
        access(&mut owner, &dir, ALL).await,
        dir_all,
        "dir owner rwx"
    );
    assert_eq!(
        access(&mut group, &dir, ALL).await,
        ACCESS3_READ | ACCESS3_LOOKUP,
        "dir group r-x"
    );
    assert_eq!(access(&mut other, &dir, ALL).await, 0, "dir other ---");
    assert_eq!(
        access(&mut c, &dir, ALL).await,
        dir_all,
        "root on a directory"
    );

    // Root may not execute what nobody may execute.
    let (plain, _) = create_mode(&mut c, &root, "plain", 0o644).await;
    assert_eq!(
        access(&mut c, &plain, ALL).await,
        RW,
        "root gets no EXECUTE without an x bit"
    );
    chmod(&mut c, &plain, 0o000).await;
    assert_eq!(
        access(&mut c, &plain, ALL).await,
        RW,
        "root reads and writes a 0000 file"
    );
    assert_eq!(access(&mut other, &plain, ALL).await, 0);
}

#[tokio::test]
async fn readlink_returns_the_target_and_refuses_other_types() {
    let (_server, mut c, root) = setup().await;
    let r = ok(
        symlink_res(&mut c, &root, b"l", b"../some/where").await,
        "SYMLINK",
    );
    let link = handle(r.obj, "SYMLINK");
    let got = ok(
        c.readlink(&READLINK3args {
            symlink: link.clone(),
        })
        .await
        .expect("READLINK rpc"),
        "READLINK",
    );
    assert_eq!(got.data.0.as_ref(), b"../some/where");
    let a = attrs(got.symlink_attributes, "READLINK");
    assert_eq!(a.type_, ftype3::NF3LNK);

    let (file, _) = create_file(&mut c, &root, "f").await;
    for (what, fh) in [("regular file", file), ("directory", root.clone())] {
        let r = c
            .readlink(&READLINK3args { symlink: fh })
            .await
            .expect("READLINK rpc");
        expect_err(r, nfsstat3::NFS3ERR_INVAL, &format!("READLINK of a {what}"));
    }
}
