//! File handles: tampered, truncated, removed, and from before a restart.

use nfs3_types::nfs3::*;

use super::*;

/// GETATTR, LOOKUP, READ and ACCESS through `fh`: their statuses.
async fn statuses(c: &mut Conn, fh: &nfs_fh3) -> [nfsstat3; 4] {
    let access = c
        .access(&ACCESS3args {
            object: fh.clone(),
            access: ACCESS3_READ,
        })
        .await
        .expect("ACCESS rpc");
    [
        status_of(&getattr_res(c, fh).await),
        status_of(&lookup_res(c, fh, b"x").await),
        status_of(&read_res(c, fh, 0, 1).await),
        status_of(&access),
    ]
}

#[tokio::test]
async fn tampered_and_truncated_handles_are_badhandle() {
    let (_server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let bytes = fh.data.to_vec();
    assert_eq!(bytes.len(), 37, "handles are 37 bytes");
    for i in [0, 1, 9, 16, 17, 20, 21, 36] {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        for s in statuses(&mut c, &fh_of(&bad)).await {
            assert_eq!(s, nfsstat3::NFS3ERR_BADHANDLE, "byte {i} flipped");
        }
    }
    for len in [0, 1, 21, 36] {
        for s in statuses(&mut c, &fh_of(&bytes[..len])).await {
            assert_eq!(
                s,
                nfsstat3::NFS3ERR_BADHANDLE,
                "handle truncated to {len} bytes"
            );
        }
    }
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        status_of(&getattr_res(&mut c, &fh_of(&long)).await),
        nfsstat3::NFS3ERR_BADHANDLE,
        "a handle with a byte appended"
    );
    // The real one still works.
    getattr(&mut c, &fh).await;
}

#[tokio::test]
async fn a_bad_directory_handle_fails_namespace_operations() {
    let (_server, mut c, root) = setup().await;
    let mut bad = root.data.to_vec();
    bad[30] ^= 0x80;
    let bad = fh_of(&bad);
    let how = createhow3::GUARDED(sattr3::default());
    let fail = expect_err(
        create_res(&mut c, &bad, b"f", how).await,
        nfsstat3::NFS3ERR_BADHANDLE,
        "CREATE in a bad handle",
    );
    assert!(
        fail.dir_wcc.after.is_none(),
        "no attributes for a bad handle"
    );
    expect_err(
        mkdir_res(&mut c, &bad, b"d", 0o755).await,
        nfsstat3::NFS3ERR_BADHANDLE,
        "MKDIR",
    );
    expect_err(
        remove_res(&mut c, &bad, b"f").await,
        nfsstat3::NFS3ERR_BADHANDLE,
        "REMOVE",
    );
    expect_err(
        rename_res(&mut c, &root, "a", &bad, "b").await,
        nfsstat3::NFS3ERR_BADHANDLE,
        "RENAME into a bad handle",
    );
    expect_err(
        readdir_res(&mut c, &bad, 0, cookieverf3::default(), 4096).await,
        nfsstat3::NFS3ERR_BADHANDLE,
        "READDIR",
    );
    assert!(names(&mut c, &root).await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_removed_files_handle_is_stale() {
    let (_server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let d = mkdir(&mut c, &root, "d").await;
    ok(remove_res(&mut c, &root, b"f").await, "REMOVE");
    ok(rmdir_res(&mut c, &root, b"d").await, "RMDIR");
    for s in statuses(&mut c, &fh).await {
        assert_eq!(s, nfsstat3::NFS3ERR_STALE, "removed file");
    }
    for s in statuses(&mut c, &d).await {
        assert_eq!(s, nfsstat3::NFS3ERR_STALE, "removed directory");
    }
    expect_err(
        create_res(&mut c, &d, b"x", createhow3::GUARDED(sattr3::default())).await,
        nfsstat3::NFS3ERR_STALE,
        "CREATE in a removed directory",
    );
    // A new file does not inherit the old handle.
    let (again, _) = create_file(&mut c, &root, "f").await;
    assert_ne!(again, fh);
    assert_eq!(
        status_of(&getattr_res(&mut c, &fh).await),
        nfsstat3::NFS3ERR_STALE
    );
}

#[tokio::test]
async fn handles_from_before_a_restart_are_stale() {
    let mut server = Server::start_memory();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let d = mkdir(&mut c, &root, "d").await;
    drop(c);
    server.terminate();
    server.restart();

    // The memory store starts empty, but the handle key is kept: the old
    // handles are genuine and name files that no longer exist.
    let mut c = harness::mount(&server).await;
    let new_root = c.root_nfs_fh3();
    // Fill the new store with as many inodes as before so the old inode
    // numbers exist again, under new generations.
    create_file(&mut c, &new_root, "f").await;
    mkdir(&mut c, &new_root, "d").await;
    for (what, old) in [("root", &root), ("file", &fh), ("directory", &d)] {
        for s in statuses(&mut c, old).await {
            assert_eq!(
                s,
                nfsstat3::NFS3ERR_STALE,
                "{what} handle from before the restart"
            );
        }
    }
    getattr(&mut c, &new_root).await;
}
