//! AUTH_NONE callers act as the anonymous user.

use nfs3_types::nfs3::*;
use nfs3_types::rpc::opaque_auth;

use super::*;

#[tokio::test]
async fn auth_none_is_the_anonymous_user() {
    let (server, mut c, root) = setup().await;
    let open = mkdir_mode(&mut c, &root, "open", 0o777).await.0;
    let mut anon = harness::mount_as(&server, "/export", opaque_auth::default()).await;
    anon.null().await.expect("NULL with AUTH_NONE");

    let (fh, a) = create_file(&mut anon, &open, "anon-file").await;
    assert_eq!((a.uid, a.gid), (65534, 65534), "created as nobody:nogroup");
    let (_, d) = mkdir_mode(&mut anon, &open, "anon-dir", 0o755).await;
    assert_eq!((d.uid, d.gid), (65534, 65534));
    write(&mut anon, &fh, 0, b"anonymous").await;
    assert_eq!(read_all(&mut c, &fh).await, b"anonymous");

    let how = createhow3::GUARDED(sattr3::default());
    expect_err(
        create_res(&mut anon, &root, b"nope", how).await,
        nfsstat3::NFS3ERR_ACCES,
        "AUTH_NONE creating in the 0755 root",
    );
    let (root_file, _) = create_file(&mut c, &root, "root-file").await;
    expect_err(
        setattr_res(&mut anon, &root_file, sattr_mode(0o777), None).await,
        nfsstat3::NFS3ERR_PERM,
        "AUTH_NONE chmod of root's file",
    );
    let r = c
        .access(&ACCESS3args {
            object: root_file,
            access: ACCESS3_READ | ACCESS3_MODIFY,
        })
        .await
        .expect("ACCESS rpc");
    assert_eq!(
        ok(r, "ACCESS").access,
        ACCESS3_READ | ACCESS3_MODIFY,
        "root, for contrast"
    );
}
