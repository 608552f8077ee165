//! Several shares on different named stores in one server, with the share
//! rules that a real NFS client sees: client CIDRs, squash, read-only.

use nfs3_client::Nfs3ConnectionBuilder;
use nfs3_client::tokio::TokioConnector;
use nfs3_client::{ConnectError, MountError};
use nfs3_types::mount::mountstat3;
use nfs3_types::nfs3::*;

use crate::harness::{Connection, Server, auth_sys};
use crate::nfs3_procs::{
    create_file, create_res, expect_err, getattr, mkdir_res, ok, sattr_mode, setattr_res, status_of,
};

const CONFIG: &str = r#"
metadata:
  stores:
    meta-a: { type: memory }
    meta-b: { type: memory }
payload:
  stores:
    blocks-a: { type: memory }
    blocks-b: { type: memory }
shares:
  - name: /open
    metadata_store: meta-a
    payload_store: blocks-a
    squash:
      map_privileged_to_anonymous: true
      anonymous_uid: 4242
      anonymous_gid: 4343
    root: { mode: "0777" }
  - name: /sibling
    metadata_store: meta-a
    payload_store: blocks-a
    root: { mode: "0777" }
  - name: /readonly
    metadata_store: meta-b
    payload_store: blocks-b
    read_only: true
  - name: /denied
    metadata_store: meta-b
    payload_store: blocks-b
    allowed_clients: ["127.0.0.0/8"]
    denied_clients: ["127.0.0.1/32"]
  - name: /elsewhere
    metadata_store: meta-b
    payload_store: blocks-b
    allowed_clients: ["10.0.0.0/8"]
"#;

async fn try_mount(server: &Server, path: &str, uid: u32) -> Result<Connection, ConnectError> {
    Nfs3ConnectionBuilder::new(TokioConnector, "127.0.0.1", path)
        .mount_port(server.port)
        .nfs3_port(server.port)
        .connect_from_privileged_port(false)
        .credential(auth_sys(uid, uid, &[]))
        .mount()
        .await
}

async fn mount(server: &Server, path: &str, uid: u32) -> Connection {
    try_mount(server, path, uid)
        .await
        .unwrap_or_else(|e| panic!("mount {path}: {e}"))
}

#[tokio::test]
async fn denied_clients_get_mnt3err_acces() {
    let server = Server::start_with_config(Some(CONFIG), &[]);
    for path in ["/denied", "/elsewhere"] {
        match try_mount(&server, path, 0).await {
            Err(ConnectError::Mount(MountError::Denied(mountstat3::MNT3ERR_ACCES))) => {}
            Err(e) => panic!("{path}: expected MNT3ERR_ACCES, got {e:?}"),
            Ok(_) => panic!("{path}: a denied client mounted"),
        }
    }
    // The rules hold for handles obtained elsewhere too: the denied share's
    // root cannot be used even by a client that got it another way. Other
    // shares on the same store stay available.
    mount(&server, "/readonly", 0).await;
}

#[tokio::test]
async fn root_squash_makes_root_the_anonymous_user() {
    let server = Server::start_with_config(Some(CONFIG), &[]);
    let mut root = mount(&server, "/open", 0).await;
    let dir = root.root_nfs_fh3();
    let (_, attrs) = create_file(&mut root, &dir, "made-by-root").await;
    assert_eq!(
        (attrs.uid, attrs.gid),
        (4242, 4343),
        "root's file belongs to the anonymous identity"
    );
    // Squashed root has no root powers: it cannot give the file away.
    let (another, _) = create_file(&mut root, &dir, "another").await;
    let r = setattr_res(
        &mut root,
        &another,
        sattr3 {
            uid: set_uid3::Some(0),
            ..Default::default()
        },
        None,
    )
    .await;
    assert_eq!(
        status_of(&r),
        nfsstat3::NFS3ERR_PERM,
        "squashed root cannot chown to 0"
    );
    // The same uid 0 on a share without squash stays root.
    let mut plain = mount(&server, "/sibling", 0).await;
    let sdir = plain.root_nfs_fh3();
    let (_, attrs) = create_file(&mut plain, &sdir, "made-by-root").await;
    assert_eq!((attrs.uid, attrs.gid), (0, 0));
    // An ordinary user is not squashed by root squash.
    let mut user = mount(&server, "/open", 1000).await;
    let (_, attrs) = create_file(&mut user, &dir, "made-by-1000").await;
    assert_eq!(attrs.uid, 1000);
}

#[tokio::test]
async fn read_only_share_answers_rofs_to_writes() {
    let server = Server::start_with_config(Some(CONFIG), &[]);
    let mut c = mount(&server, "/readonly", 0).await;
    let dir = c.root_nfs_fh3();
    let r = create_res(&mut c, &dir, b"f", createhow3::UNCHECKED(sattr3::default())).await;
    expect_err(r, nfsstat3::NFS3ERR_ROFS, "create on a read-only share");
    expect_err(
        mkdir_res(&mut c, &dir, b"d", 0o755).await,
        nfsstat3::NFS3ERR_ROFS,
        "mkdir",
    );
    expect_err(
        setattr_res(&mut c, &dir, sattr_mode(0o700), None).await,
        nfsstat3::NFS3ERR_ROFS,
        "setattr",
    );
    // Reading still works.
    let attrs = getattr(&mut c, &dir).await;
    assert_eq!(attrs.type_, ftype3::NF3DIR);
    let access = c
        .access(&ACCESS3args {
            object: dir.clone(),
            access: ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND,
        })
        .await
        .unwrap();
    let granted = ok(access, "access").access;
    assert_eq!(
        granted & (ACCESS3_MODIFY | ACCESS3_EXTEND),
        0,
        "no write access is granted"
    );
}

/// Inodes in the store behind a connection's share.
async fn files(c: &mut Connection) -> u64 {
    let fsroot = c.root_nfs_fh3();
    let r = c.fsstat(&FSSTAT3args { fsroot }).await.unwrap();
    let st = ok(r, "fsstat");
    st.tfiles - st.ffiles
}

#[tokio::test]
async fn shares_on_one_named_store_share_it_and_others_do_not() {
    let server = Server::start_with_config(Some(CONFIG), &[]);
    let mut open = mount(&server, "/open", 1000).await;
    let mut sibling = mount(&server, "/sibling", 1000).await;
    let mut other = mount(&server, "/readonly", 1000).await;
    let (a0, s0, o0) = (
        files(&mut open).await,
        files(&mut sibling).await,
        files(&mut other).await,
    );
    let dir = open.root_nfs_fh3();
    for i in 0..5 {
        create_file(&mut open, &dir, &format!("f{i}")).await;
    }
    let (a1, s1, o1) = (
        files(&mut open).await,
        files(&mut sibling).await,
        files(&mut other).await,
    );
    assert_eq!(a1 - a0, 5, "five more inodes in /open's store");
    assert_eq!(
        s1 - s0,
        5,
        "/sibling names the same store (one instance, shared)"
    );
    assert_eq!(o1, o0, "/readonly's store is another one");
    // Each share still has its own tree: /sibling does not see /open's files.
    let sdir = sibling.root_nfs_fh3();
    let r = sibling
        .lookup(&LOOKUP3args {
            what: diropargs3 {
                dir: sdir,
                name: b"f0".as_slice().into(),
            },
        })
        .await
        .unwrap();
    assert_eq!(status_of(&r), nfsstat3::NFS3ERR_NOENT);
    // A handle of one share used through another share's file is refused:
    // renames across shares are XDEV.
    let (f, _) = create_file(&mut open, &dir, "mover").await;
    let _ = f;
    let sroot = sibling.root_nfs_fh3();
    let r = open
        .rename(&RENAME3args {
            from: diropargs3 {
                dir: dir.clone(),
                name: b"mover".as_slice().into(),
            },
            to: diropargs3 {
                dir: sroot,
                name: b"moved".as_slice().into(),
            },
        })
        .await
        .unwrap();
    assert_eq!(status_of(&r), nfsstat3::NFS3ERR_XDEV);
}
