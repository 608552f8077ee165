//! MOUNT v3: NULL, MNT, DUMP, UMNT, UMNTALL and EXPORT against the real
//! server, through `nfs3_client`'s mount client.

use nfs3_client::tokio::TokioIo;
use nfs3_client::{MountClient, MountError, RpcError};
use nfs3_types::mount::{dirpath, mountstat3};
use nfs3_types::nfs3::*;
use nfs3_types::rpc::opaque_auth;
use nfs3_types::xdr_codec::Opaque;

use crate::harness::{self, Server, auth_sys};

type Mount = MountClient<TokioIo<tokio::net::TcpStream>>;

/// A mount client on its own TCP connection.
async fn mount_client(server: &Server, cred: opaque_auth<'static>) -> Mount {
    let io = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    MountClient::new_with_auth(TokioIo::new(io), cred, opaque_auth::default())
}

async fn root_client(server: &Server) -> Mount {
    mount_client(server, auth_sys(0, 0, &[])).await
}

fn path(p: &str) -> dirpath<'static> {
    dirpath(Opaque::owned(p.as_bytes().to_vec()))
}

/// MNT that must succeed: the handle and the auth flavors.
async fn mnt(m: &mut Mount, p: &str) -> (nfs_fh3, Vec<u32>) {
    let ok = m
        .mnt(path(p))
        .await
        .unwrap_or_else(|e| panic!("MNT {p}: {e}"));
    (
        nfs_fh3 {
            data: Opaque::owned(ok.fhandle.0.to_vec()),
        },
        ok.auth_flavors,
    )
}

/// MNT that must be refused: the status.
async fn mnt_refused(m: &mut Mount, p: &str) -> mountstat3 {
    match m.mnt(path(p)).await {
        Ok(ok) => panic!("MNT {p}: expected a refusal, got {ok:?}"),
        Err(MountError::Denied(s)) => s,
        Err(e) => panic!("MNT {p}: {e}"),
    }
}

/// The mount list as (host, path) strings.
async fn dump(m: &mut Mount) -> Vec<(String, String)> {
    let list = m.dump().await.expect("DUMP");
    let mut v: Vec<_> = list
        .0
        .into_iter()
        .map(|b| {
            (
                String::from_utf8_lossy(&b.ml_hostname.0).into_owned(),
                String::from_utf8_lossy(&b.ml_directory.0).into_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn local(paths: &[&str]) -> Vec<(String, String)> {
    let mut v: Vec<_> = paths
        .iter()
        .map(|p| ("127.0.0.1".to_string(), p.to_string()))
        .collect();
    v.sort();
    v
}

fn mount_stat(s: mountstat3) -> u32 {
    s as u32
}

#[tokio::test]
async fn null_answers() {
    let server = Server::start();
    let mut m = root_client(&server).await;
    m.null().await.expect("MOUNTPROC3_NULL");
    let mut anon = mount_client(&server, opaque_auth::default()).await;
    anon.null().await.expect("MOUNTPROC3_NULL with AUTH_NONE");
}

#[tokio::test]
async fn mnt_gives_the_share_root() {
    let server = Server::start();
    let mut m = root_client(&server).await;
    let (fh, flavors) = mnt(&mut m, "/export").await;
    assert_eq!(fh.data.len(), 37, "a DittoFS handle");
    assert!(flavors.contains(&1), "AUTH_SYS offered: {flavors:?}");
    assert!(flavors.contains(&0), "AUTH_NONE offered: {flavors:?}");

    let (again, _) = mnt(&mut m, "/export").await;
    assert_eq!(again, fh, "the root handle is stable");
    let (slash, _) = mnt(&mut m, "/export/").await;
    assert_eq!(slash, fh, "a trailing slash names the same directory");

    let mut c = harness::mount(&server).await;
    assert_eq!(c.root_nfs_fh3(), fh);
    let a = c
        .getattr(&GETATTR3args { object: fh.clone() })
        .await
        .expect("GETATTR rpc")
        .expect("GETATTR of the mounted root");
    assert_eq!(a.obj_attributes.type_, ftype3::NF3DIR);
    // The handle from the mount works for NFS calls on another connection.
    let r = c
        .lookup(&LOOKUP3args {
            what: diropargs3 {
                dir: fh,
                name: filename3::from(b"..".to_vec()),
            },
        })
        .await
        .expect("LOOKUP rpc");
    assert!(
        matches!(r, Nfs3Result::Ok(_)),
        "LOOKUP through the mounted handle"
    );
}

#[tokio::test]
async fn mnt_of_paths_inside_the_share() {
    let server = Server::start();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let sub = make(&mut c, &root, "sub", true).await;
    let deep = make(&mut c, &sub, "deep", true).await;
    make(&mut c, &root, "file", false).await;
    let private = make(&mut c, &root, "private", true).await;
    make(&mut c, &private, "inner", true).await;
    let s = sattr3 {
        mode: Nfs3Option::Some(0o700),
        ..Default::default()
    };
    c.setattr(&SETATTR3args {
        object: private,
        new_attributes: s,
        guard: Nfs3Option::None,
    })
    .await
    .expect("SETATTR rpc")
    .expect("chmod 0700");

    let mut m = root_client(&server).await;
    assert_eq!(
        mnt(&mut m, "/export/sub").await.0,
        sub,
        "MNT of a subdirectory"
    );
    assert_eq!(mnt(&mut m, "/export/sub/deep").await.0, deep);
    assert_eq!(
        mnt(&mut m, "/export//sub///deep/").await.0,
        deep,
        "empty components"
    );
    assert_eq!(
        mnt(&mut m, "/export/private/inner").await.0.data.len(),
        37,
        "root passes 0700"
    );

    for (p, want) in [
        ("/nonexistent", mountstat3::MNT3ERR_NOENT),
        ("/exportfoo", mountstat3::MNT3ERR_NOENT),
        ("/", mountstat3::MNT3ERR_NOENT),
        ("", mountstat3::MNT3ERR_NOENT),
        ("/export/missing", mountstat3::MNT3ERR_NOENT),
        ("/export/file", mountstat3::MNT3ERR_NOTDIR),
        ("/export/file/x", mountstat3::MNT3ERR_NOTDIR),
    ] {
        let got = mnt_refused(&mut m, p).await;
        assert_eq!(mount_stat(got), mount_stat(want), "MNT {p:?}: {got}");
    }
    let mut user = mount_client(&server, auth_sys(1000, 1000, &[])).await;
    let got = mnt_refused(&mut user, "/export/private/inner").await;
    assert_eq!(
        mount_stat(got),
        mount_stat(mountstat3::MNT3ERR_ACCES),
        "MNT through a 0700 directory as uid 1000: {got}"
    );
    assert_eq!(
        mnt(&mut user, "/export/sub").await.0,
        sub,
        "uid 1000 may mount sub"
    );
    // Refused mounts are not recorded; the harness's own mount of
    // /export is.
    let want = [
        "/export",
        "/export/private/inner",
        "/export/sub",
        "/export/sub/deep",
        "/export//sub///deep/",
    ];
    assert_eq!(dump(&mut m).await, local(&want));
}

#[tokio::test]
async fn a_path_longer_than_mntpathlen_is_garbage() {
    let server = Server::start();
    let mut m = root_client(&server).await;
    let long = format!("/export/{}", "a".repeat(1100));
    match m.mnt(path(&long)).await {
        Err(MountError::Rpc(RpcError::GarbageArgs)) => {}
        other => panic!("MNT of a {}-byte path: {other:?}", long.len()),
    }
    // The connection is still usable.
    m.null().await.expect("NULL after GARBAGE_ARGS");
}

async fn make(c: &mut harness::Connection, dir: &nfs_fh3, n: &str, is_dir: bool) -> nfs_fh3 {
    let where_ = diropargs3 {
        dir: dir.clone(),
        name: filename3::from(n.as_bytes().to_vec()),
    };
    let obj = if is_dir {
        c.mkdir(&MKDIR3args {
            where_,
            attributes: sattr3::default(),
        })
        .await
        .expect("MKDIR rpc")
        .expect("MKDIR")
        .obj
    } else {
        c.create(&CREATE3args {
            where_,
            how: createhow3::GUARDED(sattr3::default()),
        })
        .await
        .expect("CREATE rpc")
        .expect("CREATE")
        .obj
    };
    match obj {
        Nfs3Option::Some(fh) => fh,
        Nfs3Option::None => panic!("no handle for {n}"),
    }
}

#[tokio::test]
async fn dump_umnt_and_umntall_keep_the_mount_list() {
    let server = Server::start();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    make(&mut c, &root, "a", true).await;
    make(&mut c, &root, "b", true).await;

    let mut m = root_client(&server).await;
    m.umntall().await.expect("UMNTALL");
    assert!(dump(&mut m).await.is_empty(), "UMNTALL emptied the list");

    mnt(&mut m, "/export").await;
    mnt(&mut m, "/export/a").await;
    mnt(&mut m, "/export/b").await;
    mnt(&mut m, "/export/a").await;
    assert_eq!(
        dump(&mut m).await,
        local(&["/export", "/export/a", "/export/b"]),
        "each mount listed once"
    );

    m.umnt(path("/export/a")).await.expect("UMNT");
    assert_eq!(dump(&mut m).await, local(&["/export", "/export/b"]));
    m.umnt(path("/export/a"))
        .await
        .expect("UMNT of what is no longer mounted");
    m.umnt(path("/never-mounted"))
        .await
        .expect("UMNT of an unknown path");
    assert_eq!(dump(&mut m).await, local(&["/export", "/export/b"]));

    // UMNT and UMNTALL only change the list: handles stay valid.
    m.umntall().await.expect("UMNTALL");
    assert!(
        dump(&mut m).await.is_empty(),
        "UMNTALL removed every entry of this client"
    );
    let r = c
        .getattr(&GETATTR3args { object: root })
        .await
        .expect("GETATTR rpc");
    assert!(
        matches!(r, Nfs3Result::Ok(_)),
        "NFS still served after UMNTALL"
    );

    // The list is the server's, not the connection's.
    mnt(&mut m, "/export").await;
    let mut other = mount_client(&server, opaque_auth::default()).await;
    assert_eq!(dump(&mut other).await, local(&["/export"]));
}

#[tokio::test]
async fn unmount_through_the_connection() {
    let server = Server::start();
    let c = harness::mount(&server).await;
    let mut m = root_client(&server).await;
    assert_eq!(
        dump(&mut m).await,
        local(&["/export"]),
        "the harness mount is listed"
    );
    c.unmount().await.expect("UMNT via the connection");
    assert!(dump(&mut m).await.is_empty());
}

#[tokio::test]
async fn export_lists_the_share() {
    let server = Server::start();
    let mut m = root_client(&server).await;
    let exports = m.export().await.expect("EXPORT");
    let list: Vec<(String, usize)> = exports
        .0
        .iter()
        .map(|e| {
            (
                String::from_utf8_lossy(&e.ex_dir.0).into_owned(),
                e.ex_groups.0.len(),
            )
        })
        .collect();
    assert_eq!(
        list,
        [("/export".to_string(), 0)],
        "one share, open to every host"
    );
    let mut anon = mount_client(&server, opaque_auth::default()).await;
    assert_eq!(
        anon.export().await.expect("EXPORT with AUTH_NONE").0.len(),
        1
    );
}

#[tokio::test]
async fn mnt_with_auth_none() {
    let server = Server::start();
    let mut anon = mount_client(&server, opaque_auth::default()).await;
    let (fh, _) = mnt(&mut anon, "/export").await;
    let mut root = root_client(&server).await;
    assert_eq!(
        mnt(&mut root, "/export").await.0,
        fh,
        "same root for every flavor"
    );
}
