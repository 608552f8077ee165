//! READ, WRITE and COMMIT.

use nfs3_types::nfs3::*;

use super::*;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

#[tokio::test]
async fn read_ranges_and_eof() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "f", ALPHABET).await;
    let cases: &[(u64, u32, &[u8], bool)] = &[
        (0, 5, b"abcde", false),
        (10, 5, b"klmno", false),
        (20, 100, b"uvwxyz", true),
        (0, 26, ALPHABET, true),
        (0, 25, &ALPHABET[..25], false),
        (25, 1, b"z", true),
        (26, 10, b"", true),
        (1000, 10, b"", true),
        (3, 0, b"", false),
    ];
    for &(offset, count, want, eof) in cases {
        let r = ok(read_res(&mut c, &fh, offset, count).await, "READ");
        assert_eq!(r.data.as_ref(), want, "READ {offset}+{count}");
        assert_eq!(r.count as usize, want.len(), "READ {offset}+{count} count");
        assert_eq!(r.eof, eof, "READ {offset}+{count} eof");
        let a = attrs(r.file_attributes, "READ");
        assert_eq!(a.size, 26);
    }
}

#[tokio::test]
async fn holes_read_as_zeros() {
    let (_server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "sparse").await;
    write(&mut c, &fh, 0, b"head").await;
    let far = 3 * 1024 * 1024 + 7;
    write(&mut c, &fh, far, b"tail").await;
    let a = getattr(&mut c, &fh).await;
    assert_eq!(a.size, far + 4, "size reaches the last write");

    let (data, eof) = read(&mut c, &fh, 0, 8192).await;
    assert!(!eof);
    assert_eq!(&data[..4], b"head");
    assert!(data[4..].iter().all(|&b| b == 0), "the hole reads as zeros");

    let (data, eof) = read(&mut c, &fh, far - 10, 100).await;
    assert!(eof);
    assert_eq!(data.len(), 14);
    assert_eq!(&data[..10], &[0; 10], "zeros before the tail");
    assert_eq!(&data[10..], b"tail");

    let all = read_all(&mut c, &fh).await;
    assert_eq!(all.len() as u64, far + 4);
    assert_eq!(
        all.iter().filter(|&&b| b != 0).count(),
        8,
        "only the written bytes are non-zero"
    );
}

#[tokio::test]
async fn write_stabilities_counts_verifier_and_wcc() {
    let (_server, mut c, root) = setup().await;
    let (fh, mut prev) = create_file(&mut c, &root, "f").await;
    let mut verf = None;
    let mut offset = 0u64;
    for (stable, chunk) in [
        (stable_how::UNSTABLE, &b"one-"[..]),
        (stable_how::DATA_SYNC, b"two-"),
        (stable_how::FILE_SYNC, b"three"),
    ] {
        let r = ok(write_res(&mut c, &fh, offset, chunk, stable).await, "WRITE");
        assert_eq!(r.count as usize, chunk.len(), "{stable}: count");
        assert!(
            r.committed as u32 >= stable as u32,
            "{stable}: committed {} is at least what was asked",
            r.committed
        );
        assert_eq!(
            *verf.get_or_insert(r.verf),
            r.verf,
            "{stable}: one verifier per server run"
        );
        let now = getattr(&mut c, &fh).await;
        assert_wcc(&r.file_wcc, &prev, &now, &format!("WRITE {stable}"));
        assert_eq!(pre(&r.file_wcc.before, "WRITE").size, offset, "before size");
        assert_eq!(now.size, offset + chunk.len() as u64, "after size");
        offset += chunk.len() as u64;
        prev = now;
    }
    assert_eq!(read_all(&mut c, &fh).await, b"one-two-three");

    // An overwrite in the middle leaves the size alone.
    write(&mut c, &fh, 4, b"TWO").await;
    assert_eq!(read_all(&mut c, &fh).await, b"one-TWO-three");
    assert_eq!(getattr(&mut c, &fh).await.size, 13);
}

#[tokio::test]
async fn one_mebibyte_in_one_write_and_one_read() {
    let (_server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "big").await;
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    write(&mut c, &fh, 0, &data).await;
    let (got, eof) = read(&mut c, &fh, 0, 1 << 20).await;
    assert!(eof);
    assert!(got == data, "1 MiB read back intact");

    // A READ asking for more than rtmax gets rtmax.
    write(&mut c, &fh, 1 << 20, b"0123456789").await;
    let r = ok(read_res(&mut c, &fh, 0, 4 << 20).await, "READ of 4 MiB");
    assert_eq!(r.count, 1 << 20, "READ is capped at rtmax");
    assert!(!r.eof, "10 bytes are left");
    let (rest, eof) = read(&mut c, &fh, 1 << 20, 4 << 20).await;
    assert_eq!((rest.as_slice(), eof), (&b"0123456789"[..], true));
}

#[tokio::test]
async fn read_and_write_on_a_directory_are_isdir() {
    let (_server, mut c, root) = setup().await;
    let dir = mkdir(&mut c, &root, "d").await;
    let fail = expect_err(
        write_res(&mut c, &dir, 0, b"x", stable_how::FILE_SYNC).await,
        nfsstat3::NFS3ERR_ISDIR,
        "WRITE to a directory",
    );
    assert_eq!(
        attrs(fail.file_wcc.after, "WRITE failure").type_,
        ftype3::NF3DIR
    );
    expect_err(
        read_res(&mut c, &dir, 0, 10).await,
        nfsstat3::NFS3ERR_ISDIR,
        "READ of a directory",
    );
}

#[tokio::test]
async fn permissions_on_data() {
    let (server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "f", b"root's data").await;
    let secret = file_with(&mut c, &root, "secret", b"hidden").await;
    chmod(&mut c, &secret, 0o600).await;
    let before = getattr(&mut c, &fh).await;

    let mut u = user(&server, 1000, 1000, &[]).await;
    let fail = expect_err(
        write_res(&mut u, &fh, 0, b"mine", stable_how::FILE_SYNC).await,
        nfsstat3::NFS3ERR_ACCES,
        "WRITE to a 0644 root file as uid 1000",
    );
    assert_eq!(
        show(&attrs(fail.file_wcc.after, "failed WRITE")),
        show(&before)
    );
    assert_eq!(
        read_all(&mut c, &fh).await,
        b"root's data",
        "nothing was written"
    );
    assert_eq!(
        read_all(&mut u, &fh).await,
        b"root's data",
        "others may read 0644"
    );
    expect_err(
        read_res(&mut u, &secret, 0, 10).await,
        nfsstat3::NFS3ERR_ACCES,
        "READ of a 0600 root file as uid 1000",
    );
}

#[tokio::test]
async fn commit_returns_the_write_verifier() {
    let (_server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let w = ok(
        write_res(&mut c, &fh, 0, b"data", stable_how::UNSTABLE).await,
        "WRITE",
    );
    let r = ok(
        c.commit(&COMMIT3args {
            file: fh.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .expect("COMMIT rpc"),
        "COMMIT",
    );
    assert_eq!(r.verf, w.verf, "COMMIT and WRITE verifiers match");
    let after = attrs(r.file_wcc.after, "COMMIT wcc after");
    assert_eq!(after.size, 4);
    assert_eq!(show(&after), show(&getattr(&mut c, &fh).await));
}

#[tokio::test]
async fn the_write_verifier_changes_on_restart() {
    let (mut server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let first = ok(
        write_res(&mut c, &fh, 0, b"x", stable_how::UNSTABLE).await,
        "WRITE",
    )
    .verf;
    drop(c);
    let status = server.terminate();
    assert!(status.success(), "clean shutdown: {status}");
    server.restart();

    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let (fh, _) = create_file(&mut c, &root, "g").await;
    let second = ok(
        write_res(&mut c, &fh, 0, b"x", stable_how::UNSTABLE).await,
        "WRITE after restart",
    )
    .verf;
    assert_ne!(first, second, "a restarted server has a new write verifier");
    let commit = ok(
        c.commit(&COMMIT3args {
            file: fh,
            offset: 0,
            count: 0,
        })
        .await
        .expect("COMMIT rpc"),
        "COMMIT after restart",
    );
    assert_eq!(commit.verf, second);
}

/// A call that must be answered: a server that panics in a handler leaves
/// the client waiting forever, so the wait is bounded.
async fn answered<T>(f: impl std::future::Future<Output = T>, what: &str) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no reply from the server"))
}

#[tokio::test]
async fn sizes_and_offsets_past_the_largest_file_are_fbig() {
    let (_server, mut c, root) = setup().await;
    let fh = file_with(&mut c, &root, "f", b"data").await;
    let before = getattr(&mut c, &fh).await;
    let max = i64::MAX as u64;
    for size in [u64::MAX, max + 1] {
        let s = sattr3 {
            size: Nfs3Option::Some(size),
            ..Default::default()
        };
        let r = answered(setattr_res(&mut c, &fh, s, None), "SETATTR huge size").await;
        expect_err(r, nfsstat3::NFS3ERR_FBIG, &format!("SETATTR size {size}"));
        let how = createhow3::UNCHECKED(sattr3 {
            size: Nfs3Option::Some(size),
            ..Default::default()
        });
        let r = answered(create_res(&mut c, &root, b"f", how), "CREATE huge size").await;
        expect_err(
            r,
            nfsstat3::NFS3ERR_FBIG,
            &format!("CREATE UNCHECKED size {size}"),
        );
    }
    let r = write_res(&mut c, &fh, max - 1, b"xy", stable_how::FILE_SYNC);
    expect_err(
        answered(r, "WRITE past the limit").await,
        nfsstat3::NFS3ERR_FBIG,
        "WRITE ending past the largest offset",
    );
    assert_eq!(
        show(&getattr(&mut c, &fh).await),
        show(&before),
        "nothing changed"
    );
    assert_eq!(read_all(&mut c, &fh).await, b"data");

    // The largest size itself is fine, and reads as a hole.
    let s = sattr3 {
        size: Nfs3Option::Some(max),
        ..Default::default()
    };
    ok(
        answered(setattr_res(&mut c, &fh, s, None), "SETATTR max").await,
        "SETATTR max size",
    );
    let a = getattr(&mut c, &fh).await;
    assert_eq!(a.size, max);
    assert!(a.used >= a.size, "used {} covers the size", a.used);
    let (data, eof) = read(&mut c, &fh, max - 4, 100).await;
    assert_eq!((data, eof), (vec![0; 4], true));
}

#[tokio::test]
async fn writing_clears_set_id_bits_for_non_root_writers() {
    let (server, mut c, root) = setup().await;
    let (fh, _) = create_mode(&mut c, &root, "prog", 0o6777).await;
    chown(&mut c, &fh, 1000, 1000).await;
    chmod(&mut c, &fh, 0o6777).await;
    write(&mut c, &fh, 0, b"root writes").await;
    assert_eq!(
        getattr(&mut c, &fh).await.mode & 0o7777,
        0o6777,
        "root keeps set-id bits"
    );
    let mut other = user(&server, 2000, 2000, &[]).await;
    write(&mut other, &fh, 0, b"other").await;
    assert_eq!(
        getattr(&mut c, &fh).await.mode & 0o7777,
        0o0777,
        "a non-root write clears set-uid and set-gid"
    );
}
