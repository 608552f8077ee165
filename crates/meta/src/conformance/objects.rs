//! The operations an object gateway uses: extended attributes, listings in
//! name order with attributes, block-sharing clones, removing a share.

use std::sync::Arc;

use bytes::Bytes;

use super::{Fs, block, check_namespace, root_ctx};
use crate::error::FsError;
use crate::extents::NewExtent;
use crate::handle::FileHandle;
use crate::service::{CreateMode, FlushRange, NewFile};
use crate::store::MetadataStore;
use crate::types::{AuthContext, BlockRef, Extent, MAX_XATTR_BYTES, SetAttrs, Timestamp};

checks!(
    xattrs_are_set_replaced_and_removed_as_one_change,
    list_names_pages_in_name_order_with_attributes,
    clone_range_shares_blocks_and_counts_them,
    clone_range_cuts_at_the_source_end_and_keeps_holes,
    a_share_is_removed_only_when_empty,
    publish_new_replaces_the_old_file_in_one_step,
);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Maps blocks (file offset, length, block number) into a file, each
/// block `len` long.
async fn write(fs: &Fs, fh: &FileHandle, new: &[(u64, u64, u64)]) {
    let ranges = new
        .iter()
        .map(|&(offset, len, n)| FlushRange {
            start: offset,
            end: offset + len,
            extents: vec![NewExtent {
                extent: Extent::in_block(offset, len, block(n), 0),
                block_size: len,
            }],
        })
        .collect();
    let size = new.iter().map(|e| e.0 + e.1).max().unwrap_or(0);
    fs.commit_flush(fh, ranges, size).await;
}

async fn refs(store: &dyn MetadataStore, n: u64) -> Option<u64> {
    store
        .block_ref(&block(n))
        .await
        .expect("block_ref")
        .map(|r| r.refs)
}

async fn xattrs_are_set_replaced_and_removed_as_one_change(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (f, before) = fs.create(&root, "f").await;
    let after = fs
        .svc
        .set_xattrs(
            &root_ctx(),
            &f,
            &[
                (b("user.a"), Some(b("1"))),
                (b("user.b"), Some(b("2"))),
                (b("user.empty"), Some(Bytes::new())),
            ],
        )
        .await
        .expect("set_xattrs");
    assert!(after.ctime >= before.ctime, "ctime moves on");
    let after = fs
        .svc
        .set_xattrs(
            &root_ctx(),
            &f,
            &[(b("user.a"), Some(b("one"))), (b("user.b"), None)],
        )
        .await
        .expect("set_xattrs");
    let want = [(b("user.a"), b("one")), (b("user.empty"), Bytes::new())];
    assert_eq!(after.xattrs.clone().into_iter().collect::<Vec<_>>(), want);
    let stored = store
        .get_inode(f.inode)
        .await
        .expect("get_inode")
        .expect("the file");
    assert_eq!(stored.xattrs, after.xattrs, "stored as returned");

    let huge = Bytes::from(vec![7u8; MAX_XATTR_BYTES]);
    let refused = [
        (
            fs.svc
                .set_xattrs(&root_ctx(), &f, &[(b("user.huge"), Some(huge))])
                .await,
            "over the size limit",
        ),
        (
            fs.svc
                .set_xattrs(&root_ctx(), &f, &[(Bytes::new(), Some(b("x")))])
                .await,
            "an empty name",
        ),
        (
            fs.svc
                .set_xattrs(
                    &AuthContext::new(4242, 4242, vec![]),
                    &f,
                    &[(b("user.a"), None)],
                )
                .await,
            "a stranger without write permission",
        ),
    ];
    for (r, what) in refused {
        assert!(r.is_err(), "{what} is refused: {r:?}");
    }
    let unchanged = store
        .get_inode(f.inode)
        .await
        .expect("get_inode")
        .expect("the file");
    assert_eq!(unchanged.xattrs, after.xattrs, "refusals changed nothing");
}

async fn list_names_pages_in_name_order_with_attributes(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (dir, _) = fs.mkdir(&root, "d").await;
    let mut want = Vec::new();
    for i in [17, 3, 29, 0, 11, 5, 23, 8, 1, 14] {
        let name = format!("n{i:02}");
        let (fh, _) = fs.create(&dir, &name).await;
        write(&fs, &fh, &[(0, 10 + i, 100 + i)]).await;
        want.push((name, 10 + i));
    }
    fs.mkdir(&dir, "m-sub").await;
    want.push(("m-sub".into(), super::super::service::DIR_SIZE));
    want.sort();
    let mut got = Vec::new();
    let mut after: Option<Bytes> = None;
    loop {
        let page = fs
            .svc
            .list_names(&root_ctx(), &dir, after.as_deref(), 4)
            .await
            .expect("list_names");
        assert!(page.len() <= 4, "a page holds at most the limit");
        let done = page.len() < 4;
        after = page.last().map(|(n, _)| n.clone());
        got.extend(
            page.into_iter()
                .map(|(n, i)| (String::from_utf8_lossy(&n).into_owned(), i.size)),
        );
        if done {
            break;
        }
    }
    assert_eq!(got, want, "every entry once, in name order, with its size");
    let (file, _) = fs.create(&root, "plain").await;
    assert!(matches!(
        fs.svc.list_names(&root_ctx(), &file, None, 10).await,
        Err(FsError::NotDir)
    ));
}

async fn clone_range_shares_blocks_and_counts_them(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let ctx = root_ctx();
    let root = fs.root().await;
    let (a, _) = fs.create(&root, "a").await;
    write(&fs, &a, &[(0, 100, 1), (100, 50, 2)]).await;
    let (c, _) = fs.create(&root, "c").await;
    write(&fs, &c, &[(0, 300, 3)]).await;

    // The whole of a at the end of an empty file: a copy.
    let (copy, _) = fs.create(&root, "copy").await;
    let after = fs
        .svc
        .clone_range(&ctx, &a, 0, u64::MAX, &copy, 0)
        .await
        .expect("clone_range");
    assert_eq!(after.size, 150);
    assert_eq!(
        store
            .extents(copy.inode, 0, u64::MAX)
            .await
            .expect("extents"),
        store.extents(a.inode, 0, u64::MAX).await.expect("extents"),
        "the copy points at the same blocks"
    );
    assert_eq!(
        (refs(&*store, 1).await, refs(&*store, 2).await),
        (Some(2), Some(2))
    );

    // 60 bytes across a's two blocks, over the middle of c.
    fs.svc
        .clone_range(&ctx, &a, 70, 60, &c, 100)
        .await
        .expect("clone_range");
    let got = store.extents(c.inode, 0, u64::MAX).await.expect("extents");
    let ext = |offset, len, n, block_offset| Extent::in_block(offset, len, block(n), block_offset);
    assert_eq!(
        got,
        vec![
            ext(0, 100, 3, 0),
            ext(100, 30, 1, 70),
            ext(130, 30, 2, 0),
            ext(160, 140, 3, 160),
        ]
    );
    assert_eq!(
        store.block_ref(&block(3)).await.expect("block_ref"),
        Some(BlockRef { refs: 2, size: 300 }),
        "c's block was cut in two"
    );
    assert_eq!(
        (refs(&*store, 1).await, refs(&*store, 2).await),
        (Some(3), Some(3))
    );
    let c_attrs = fs.svc.getattr(&ctx, &c).await.expect("getattr");
    assert_eq!(c_attrs.size, 300, "a clone inside the file keeps its size");

    for name in ["a", "copy", "c"] {
        fs.svc
            .remove(&ctx, &root, name.as_bytes())
            .await
            .expect("remove");
    }
    for n in 1..=3 {
        assert_eq!(
            refs(&*store, n).await,
            None,
            "block {n} freed with the last file"
        );
    }
    assert_eq!(store.stats().await.expect("stats").block_bytes, 0);
    check_namespace(&*store, &[root.inode]).await;
}

async fn clone_range_cuts_at_the_source_end_and_keeps_holes(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let ctx = root_ctx();
    let root = fs.root().await;
    let (sparse, _) = fs.create(&root, "sparse").await;
    write(&fs, &sparse, &[(1000, 10, 1)]).await;
    let (dst, _) = fs.create(&root, "dst").await;
    let after = fs
        .svc
        .clone_range(&ctx, &sparse, 0, 1 << 20, &dst, 5)
        .await
        .expect("clone_range");
    assert_eq!(after.size, 1015, "cut at the source's end, shifted by 5");
    assert_eq!(
        store
            .extents(dst.inode, 0, u64::MAX)
            .await
            .expect("extents"),
        vec![Extent::in_block(1005, 10, block(1), 0)],
        "the hole stays a hole"
    );
    let (dir, _) = fs.mkdir(&root, "dir").await;
    assert!(
        fs.svc.clone_range(&ctx, &dir, 0, 1, &dst, 0).await.is_err(),
        "a directory is not a source"
    );
    let stranger = AuthContext::new(4242, 4242, vec![]);
    let (private, _) = {
        let how = CreateMode::Guarded(SetAttrs {
            mode: Some(0o600),
            ..SetAttrs::default()
        });
        let c = fs
            .svc
            .create(&ctx, &root, b"private", how)
            .await
            .expect("create");
        (fs.fh(&c.handle), c.attrs)
    };
    assert!(matches!(
        fs.svc
            .clone_range(&stranger, &sparse, 0, 10, &private, 0)
            .await,
        Err(FsError::AccessDenied)
    ));
}

async fn a_share_is_removed_only_when_empty(store: Arc<dyn MetadataStore>) {
    let keep = Fs::open(store.clone(), "/keep").await;
    let bucket = Fs::open(store.clone(), "/bucket").await;
    let root = bucket.root().await;
    bucket.create(&root, "object").await;
    assert!(matches!(
        bucket.svc.remove_share(&root_ctx()).await,
        Err(FsError::NotEmpty)
    ));
    assert!(matches!(
        bucket
            .svc
            .remove_share(&AuthContext::new(4242, 4242, vec![]))
            .await,
        Err(FsError::NotPermitted)
    ));
    bucket
        .svc
        .remove(&root_ctx(), &root, b"object")
        .await
        .expect("remove");
    bucket
        .svc
        .remove_share(&root_ctx())
        .await
        .expect("remove_share");
    let shares: Vec<String> = store
        .list_shares()
        .await
        .expect("list_shares")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(shares, ["/keep"]);
    assert_eq!(store.share_root("/bucket").await.expect("share_root"), None);
    assert_eq!(store.get_inode(root.inode).await.expect("get_inode"), None);
    let keep_root = keep.root().await;
    check_namespace(&*store, &[keep_root.inode]).await;
    assert_eq!(store.stats().await.expect("stats").inodes, 1);
}

/// A file made whole (inline bytes and a block) replaces the file at its
/// name: the old one's blocks are let go, the new one is there with its
/// attributes; a directory at the name, a stranger and a bad name are
/// refused without changing anything.
async fn publish_new_replaces_the_old_file_in_one_step(store: Arc<dyn MetadataStore>) {
    let fs = Fs::open(store.clone(), "/export").await;
    let root = fs.root().await;
    let (old, _) = fs.create(&root, "obj").await;
    write(&fs, &old, &[(0, 100, 1)]).await;
    let content = [
        NewExtent::inline(Extent::inline(0, b("head"))),
        NewExtent {
            extent: Extent::in_block(4, 50, block(2), 0),
            block_size: 50,
        },
    ];
    let xattrs = [(b("user.etag"), b("abc"))];
    let file = |content, size, xattrs| NewFile {
        content,
        size,
        mtime: Timestamp {
            secs: 1_000,
            nanos: 5,
        },
        xattrs,
    };
    let made = fs
        .svc
        .publish_new(&root_ctx(), &root, b"obj", &file(&content, 60, &xattrs))
        .await
        .expect("publish_new over a file");
    assert_eq!(made.size, 60);
    assert_eq!(
        made.mtime,
        Timestamp {
            secs: 1_000,
            nanos: 5
        }
    );
    assert_eq!(made.nlink, 1);
    assert_eq!(made.xattrs.get(&b("user.etag")), Some(&b("abc")));
    let found = fs
        .lookup(&root, "obj")
        .await
        .expect("the new file at the name");
    assert_eq!(found.id, made.id);
    assert_ne!(found.id, old.inode, "a new inode, not the old one changed");
    assert!(
        store
            .get_inode(old.inode)
            .await
            .expect("get_inode")
            .is_none(),
        "the old file is gone"
    );
    assert_eq!(
        refs(&*store, 1).await,
        None,
        "the old file's block is let go"
    );
    assert_eq!(refs(&*store, 2).await, Some(1));
    assert_eq!(
        store.extents(made.id, 0, u64::MAX).await.expect("extents"),
        content.iter().map(|n| n.extent.clone()).collect::<Vec<_>>()
    );

    let (dir, _) = fs.mkdir(&root, "dir").await;
    let stranger = AuthContext::new(4242, 4242, vec![]);
    let refused = [
        (
            fs.svc
                .publish_new(&root_ctx(), &root, b"dir", &file(&[], 0, &[]))
                .await,
            FsError::IsDir,
        ),
        (
            fs.svc
                .publish_new(&stranger, &dir, b"obj", &file(&[], 0, &[]))
                .await,
            FsError::AccessDenied,
        ),
        (
            fs.svc
                .publish_new(&root_ctx(), &root, b"a/b", &file(&[], 0, &[]))
                .await,
            FsError::Invalid,
        ),
        (
            fs.svc
                .publish_new(&root_ctx(), &root, b"obj", &file(&content, 10, &[]))
                .await,
            FsError::Invalid,
        ),
    ];
    for (got, want) in refused {
        let got = got.err().map(|e| e.to_string());
        assert_eq!(got, Some(want.to_string()));
    }
    assert_eq!(
        fs.lookup(&root, "obj").await.map(|i| i.id),
        Some(made.id),
        "refusals changed nothing"
    );
    check_namespace(&*store, &[root.inode]).await;
}
