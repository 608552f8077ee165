//! Every NFSv3 procedure against the real server, driven by `nfs3_client`:
//! status codes, attributes and WCC data, success and the RFC 1813 errors.
//!
//! Helpers live here; each submodule covers a group of procedures.

#![allow(dead_code)]

mod attrs;
mod auth;
mod concurrency;
mod create;
mod fs;
mod handles;
mod io;
mod link;
mod lookup;
mod readdir;
mod remove;
mod rename;

use std::collections::BTreeMap;
use std::fmt::Debug;

use nfs3_client::rpc::RpcClient;
use nfs3_client::tokio::TokioIo;
use nfs3_types::nfs3::*;
use nfs3_types::rpc::opaque_auth;
use nfs3_types::xdr_codec::{Opaque, Pack, Unpack};

use crate::harness::{self, Connection, Server, auth_sys};

pub type Conn = Connection;

/// A started server, a root connection and the share's root handle.
pub async fn setup() -> (Server, Conn, nfs_fh3) {
    let server = Server::start();
    let c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    (server, c, root)
}

/// A connection as `uid`/`gid` with supplementary `gids`.
pub async fn user(server: &Server, uid: u32, gid: u32, gids: &[u32]) -> Conn {
    harness::mount_as(server, "/export", auth_sys(uid, gid, gids)).await
}

pub fn name(s: &str) -> filename3<'static> {
    filename3::from(s.as_bytes().to_vec())
}

pub fn bname(b: &[u8]) -> filename3<'static> {
    filename3::from(b.to_vec())
}

pub fn dirop(dir: &nfs_fh3, n: &str) -> diropargs3<'static> {
    diropargs3 {
        dir: dir.clone(),
        name: name(n),
    }
}

pub fn fh_of(bytes: &[u8]) -> nfs_fh3 {
    nfs_fh3 {
        data: Opaque::owned(bytes.to_vec()),
    }
}

/// The status of any NFSv3 result.
pub fn status_of<T, E>(r: &Nfs3Result<T, E>) -> nfsstat3 {
    match r {
        Nfs3Result::Ok(_) => nfsstat3::NFS3_OK,
        Nfs3Result::Err((s, _)) => *s,
    }
}

/// The success body of a result that must have succeeded.
#[track_caller]
pub fn ok<T, E: Debug>(r: Nfs3Result<T, E>, what: &str) -> T {
    match r {
        Nfs3Result::Ok(v) => v,
        Nfs3Result::Err((s, e)) => panic!("{what}: {s} (failure body {e:?})"),
    }
}

/// The failure body of a result that must have failed with `want`.
#[track_caller]
pub fn expect_err<T: Debug, E: Debug>(r: Nfs3Result<T, E>, want: nfsstat3, what: &str) -> E {
    match r {
        Nfs3Result::Ok(v) => panic!("{what}: expected {want}, got NFS3_OK: {v:?}"),
        Nfs3Result::Err((s, e)) => {
            assert_eq!(s, want, "{what}: wrong status (failure body {e:?})");
            e
        }
    }
}

#[track_caller]
pub fn attrs(a: post_op_attr, what: &str) -> fattr3 {
    match a {
        Nfs3Option::Some(a) => a,
        Nfs3Option::None => panic!("{what}: attributes missing"),
    }
}

#[track_caller]
pub fn handle(h: post_op_fh3, what: &str) -> nfs_fh3 {
    match h {
        Nfs3Option::Some(h) => h,
        Nfs3Option::None => panic!("{what}: handle missing"),
    }
}

#[track_caller]
pub fn pre(p: &pre_op_attr, what: &str) -> wcc_attr {
    match p {
        Nfs3Option::Some(p) => *p,
        Nfs3Option::None => panic!("{what}: pre-op attributes missing"),
    }
}

/// Attributes as a comparable string (`fattr3` has no `PartialEq`).
pub fn show(a: &fattr3) -> String {
    format!("{a:?}")
}

/// Checks that WCC data brackets a change: `before` is what the object
/// looked like (`prev`), `after` is what it looks like now (`now`).
#[track_caller]
pub fn assert_wcc(w: &wcc_data, prev: &fattr3, now: &fattr3, what: &str) {
    let b = pre(&w.before, what);
    assert_eq!(b.size, prev.size, "{what}: wcc before.size");
    assert_eq!(b.mtime, prev.mtime, "{what}: wcc before.mtime");
    assert_eq!(b.ctime, prev.ctime, "{what}: wcc before.ctime");
    let a = match &w.after {
        Nfs3Option::Some(a) => a,
        Nfs3Option::None => panic!("{what}: wcc after missing"),
    };
    assert_eq!(show(a), show(now), "{what}: wcc after differs from GETATTR");
}

pub fn time_le(a: nfstime3, b: nfstime3) -> bool {
    (a.seconds, a.nseconds) <= (b.seconds, b.nseconds)
}

pub fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as u32
}

pub fn sattr_mode(mode: u32) -> sattr3 {
    sattr3 {
        mode: Nfs3Option::Some(mode),
        ..Default::default()
    }
}

// ---- one call each, returning the raw result -------------------------------

pub async fn getattr_res(c: &mut Conn, fh: &nfs_fh3) -> GETATTR3res {
    c.getattr(&GETATTR3args { object: fh.clone() })
        .await
        .expect("GETATTR rpc")
}

pub async fn getattr(c: &mut Conn, fh: &nfs_fh3) -> fattr3 {
    getattr_res(c, fh).await.expect("GETATTR").obj_attributes
}

pub async fn setattr_res(
    c: &mut Conn,
    fh: &nfs_fh3,
    new: sattr3,
    guard: Option<nfstime3>,
) -> SETATTR3res {
    let guard = match guard {
        Some(t) => Nfs3Option::Some(t),
        None => Nfs3Option::None,
    };
    c.setattr(&SETATTR3args {
        object: fh.clone(),
        new_attributes: new,
        guard,
    })
    .await
    .expect("SETATTR rpc")
}

pub async fn setattr(c: &mut Conn, fh: &nfs_fh3, new: sattr3) -> wcc_data {
    setattr_res(c, fh, new, None)
        .await
        .expect("SETATTR")
        .obj_wcc
}

pub async fn chmod(c: &mut Conn, fh: &nfs_fh3, mode: u32) {
    setattr(c, fh, sattr_mode(mode)).await;
}

pub async fn chown(c: &mut Conn, fh: &nfs_fh3, uid: u32, gid: u32) {
    let s = sattr3 {
        uid: Nfs3Option::Some(uid),
        gid: Nfs3Option::Some(gid),
        ..Default::default()
    };
    setattr(c, fh, s).await;
}

pub async fn lookup_res(c: &mut Conn, dir: &nfs_fh3, n: &[u8]) -> LOOKUP3res {
    c.lookup(&LOOKUP3args {
        what: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
    })
    .await
    .expect("LOOKUP rpc")
}

/// LOOKUP that must succeed: the handle and attributes.
pub async fn lookup(c: &mut Conn, dir: &nfs_fh3, n: &str) -> (nfs_fh3, fattr3) {
    let r = ok(
        lookup_res(c, dir, n.as_bytes()).await,
        &format!("LOOKUP {n:?}"),
    );
    (r.object, attrs(r.obj_attributes, "LOOKUP"))
}

pub async fn lookup_status(c: &mut Conn, dir: &nfs_fh3, n: &[u8]) -> nfsstat3 {
    status_of(&lookup_res(c, dir, n).await)
}

pub async fn create_res(c: &mut Conn, dir: &nfs_fh3, n: &[u8], how: createhow3) -> CREATE3res {
    c.create(&CREATE3args {
        where_: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
        how,
    })
    .await
    .expect("CREATE rpc")
}

/// A new regular file with `mode` (GUARDED): its handle and attributes.
pub async fn create_mode(c: &mut Conn, dir: &nfs_fh3, n: &str, mode: u32) -> (nfs_fh3, fattr3) {
    let how = createhow3::GUARDED(sattr_mode(mode));
    let r = ok(
        create_res(c, dir, n.as_bytes(), how).await,
        &format!("CREATE {n:?}"),
    );
    (handle(r.obj, "CREATE"), attrs(r.obj_attributes, "CREATE"))
}

pub async fn create_file(c: &mut Conn, dir: &nfs_fh3, n: &str) -> (nfs_fh3, fattr3) {
    create_mode(c, dir, n, 0o644).await
}

/// A new file holding `data`.
pub async fn file_with(c: &mut Conn, dir: &nfs_fh3, n: &str, data: &[u8]) -> nfs_fh3 {
    let (fh, _) = create_file(c, dir, n).await;
    write(c, &fh, 0, data).await;
    fh
}

pub async fn mkdir_res(c: &mut Conn, dir: &nfs_fh3, n: &[u8], mode: u32) -> MKDIR3res {
    c.mkdir(&MKDIR3args {
        where_: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
        attributes: sattr_mode(mode),
    })
    .await
    .expect("MKDIR rpc")
}

pub async fn mkdir_mode(c: &mut Conn, dir: &nfs_fh3, n: &str, mode: u32) -> (nfs_fh3, fattr3) {
    let r = ok(
        mkdir_res(c, dir, n.as_bytes(), mode).await,
        &format!("MKDIR {n:?}"),
    );
    (handle(r.obj, "MKDIR"), attrs(r.obj_attributes, "MKDIR"))
}

pub async fn mkdir(c: &mut Conn, dir: &nfs_fh3, n: &str) -> nfs_fh3 {
    mkdir_mode(c, dir, n, 0o755).await.0
}

pub async fn write_res(
    c: &mut Conn,
    fh: &nfs_fh3,
    offset: u64,
    data: &[u8],
    stable: stable_how,
) -> WRITE3res {
    c.write(&WRITE3args {
        file: fh.clone(),
        offset,
        count: data.len() as u32,
        stable,
        data: Opaque::borrowed(data),
    })
    .await
    .expect("WRITE rpc")
}

pub async fn write(c: &mut Conn, fh: &nfs_fh3, offset: u64, data: &[u8]) -> WRITE3resok {
    let ok = write_res(c, fh, offset, data, stable_how::FILE_SYNC)
        .await
        .expect("WRITE");
    assert_eq!(ok.count as usize, data.len(), "WRITE count");
    ok
}

pub async fn read_res(c: &mut Conn, fh: &nfs_fh3, offset: u64, count: u32) -> READ3res<'static> {
    c.read(&READ3args {
        file: fh.clone(),
        offset,
        count,
    })
    .await
    .expect("READ rpc")
}

/// READ that must succeed: the bytes and the eof flag.
pub async fn read(c: &mut Conn, fh: &nfs_fh3, offset: u64, count: u32) -> (Vec<u8>, bool) {
    let ok = read_res(c, fh, offset, count).await.expect("READ");
    assert_eq!(ok.count as usize, ok.data.len(), "READ count vs data");
    (ok.data.into_owned(), ok.eof)
}

/// The whole content of a file.
pub async fn read_all(c: &mut Conn, fh: &nfs_fh3) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let (data, eof) = read(c, fh, out.len() as u64, 1 << 20).await;
        out.extend_from_slice(&data);
        if eof {
            return out;
        }
        assert!(!data.is_empty(), "READ returned nothing before eof");
    }
}

pub async fn remove_res(c: &mut Conn, dir: &nfs_fh3, n: &[u8]) -> REMOVE3res {
    c.remove(&REMOVE3args {
        object: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
    })
    .await
    .expect("REMOVE rpc")
}

pub async fn rmdir_res(c: &mut Conn, dir: &nfs_fh3, n: &[u8]) -> RMDIR3res {
    c.rmdir(&RMDIR3args {
        object: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
    })
    .await
    .expect("RMDIR rpc")
}

pub async fn rename_res(
    c: &mut Conn,
    from: &nfs_fh3,
    from_name: &str,
    to: &nfs_fh3,
    to_name: &str,
) -> RENAME3res {
    c.rename(&RENAME3args {
        from: dirop(from, from_name),
        to: dirop(to, to_name),
    })
    .await
    .expect("RENAME rpc")
}

pub async fn link_res(c: &mut Conn, file: &nfs_fh3, dir: &nfs_fh3, n: &[u8]) -> LINK3res {
    c.link(&LINK3args {
        file: file.clone(),
        link: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
    })
    .await
    .expect("LINK rpc")
}

pub async fn symlink_res(c: &mut Conn, dir: &nfs_fh3, n: &[u8], target: &[u8]) -> SYMLINK3res {
    c.symlink(&SYMLINK3args {
        where_: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
        symlink: symlinkdata3 {
            symlink_attributes: sattr3::default(),
            symlink_data: nfspath3::from(target.to_vec()),
        },
    })
    .await
    .expect("SYMLINK rpc")
}

pub async fn mknod_res(c: &mut Conn, dir: &nfs_fh3, n: &[u8], what: mknoddata3) -> MKNOD3res {
    c.mknod(&MKNOD3args {
        where_: diropargs3 {
            dir: dir.clone(),
            name: bname(n),
        },
        what,
    })
    .await
    .expect("MKNOD rpc")
}

pub async fn readdir_res(
    c: &mut Conn,
    dir: &nfs_fh3,
    cookie: u64,
    verf: cookieverf3,
    count: u32,
) -> READDIR3res<'static> {
    c.readdir(&READDIR3args {
        dir: dir.clone(),
        cookie,
        cookieverf: verf,
        count,
    })
    .await
    .expect("READDIR rpc")
}

/// One READDIR entry, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    pub fileid: u64,
    pub cookie: u64,
}

/// Every entry of a directory by READDIR with a `count` budget, and how
/// many replies it took.
pub async fn readdir_all(c: &mut Conn, dir: &nfs_fh3, count: u32) -> (Vec<Entry>, usize) {
    let mut out = Vec::new();
    let (mut cookie, mut verf, mut pages) = (0, cookieverf3::default(), 0);
    loop {
        let r = readdir_res(c, dir, cookie, verf, count).await;
        let size = r.packed_size();
        assert!(
            size <= count as usize,
            "a {size}-byte READDIR reply for count {count}"
        );
        let ok = ok(r, "READDIR");
        pages += 1;
        assert!(pages < 10_000, "READDIR never reached eof");
        verf = ok.cookieverf;
        let n = ok.reply.entries.0.len();
        for e in ok.reply.entries.0 {
            cookie = e.cookie;
            out.push(Entry {
                name: e.name.0.into_owned(),
                fileid: e.fileid,
                cookie: e.cookie,
            });
        }
        if ok.reply.eof {
            return (out, pages);
        }
        assert!(n > 0, "READDIR returned no entries and no eof");
    }
}

/// The names in a directory (without "." and ".."), with their fileids.
pub async fn listing(c: &mut Conn, dir: &nfs_fh3) -> BTreeMap<String, u64> {
    let (entries, _) = readdir_all(c, dir, 8192).await;
    let mut map = BTreeMap::new();
    for e in entries {
        let n = String::from_utf8_lossy(&e.name).into_owned();
        if n == "." || n == ".." {
            continue;
        }
        assert!(
            map.insert(n.clone(), e.fileid).is_none(),
            "{n:?} listed twice"
        );
    }
    map
}

pub async fn names(c: &mut Conn, dir: &nfs_fh3) -> Vec<String> {
    listing(c, dir).await.into_keys().collect()
}

// ---- raw calls for what nfs3_client cannot encode ---------------------------

/// Arguments already in XDR.
pub struct RawArgs(pub Vec<u8>);

impl Pack for RawArgs {
    fn packed_size(&self) -> usize {
        self.0.len()
    }

    fn pack(&self, out: &mut impl std::io::Write) -> nfs3_types::xdr_codec::Result<usize> {
        out.write_all(&self.0)?;
        Ok(self.0.len())
    }
}

pub fn xdr_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}

pub fn xdr_opaque(buf: &mut Vec<u8>, b: &[u8]) {
    xdr_u32(buf, b.len() as u32);
    buf.extend_from_slice(b);
    buf.resize(buf.len() + (4 - b.len() % 4) % 4, 0);
}

/// One NFSv3 call with hand-encoded arguments on a fresh connection.
pub async fn raw_nfs_call<R: Unpack>(
    server: &Server,
    cred: opaque_auth<'static>,
    proc_: NFS_PROGRAM,
    args: Vec<u8>,
) -> R {
    let io = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let mut rpc = RpcClient::new_with_auth(TokioIo::new(io), cred, opaque_auth::default());
    rpc.call::<RawArgs, R>(PROGRAM, VERSION, proc_ as u32, &RawArgs(args))
        .await
        .expect("raw rpc")
}
