//! Between service types and NFSv3 wire types. [`status`] is the one place
//! a service error becomes an `nfsstat3`.

use dittofs_meta::{
    FileKind, FsError, Inode, PreAttrs, SetAttrs, SetTime, StoreError, Timestamp, Wcc,
};
use dittofs_nfs_wire::nfs3::{
    Fattr3, Ftype3, NfsStat3, NfsTime3, Sattr3, SetTime as WireSetTime, SpecData3, WccAttr, WccData,
};

pub(crate) fn status(e: &FsError) -> NfsStat3 {
    let status = wire_status(e);
    if matches!(status, NfsStat3::Io | NfsStat3::BadHandle) {
        super::request::log_failure(e, status);
    }
    status
}

fn wire_status(e: &FsError) -> NfsStat3 {
    match e {
        FsError::NotFound => NfsStat3::NoEnt,
        FsError::Exists => NfsStat3::Exist,
        FsError::NotDir => NfsStat3::NotDir,
        FsError::IsDir => NfsStat3::IsDir,
        FsError::NotEmpty => NfsStat3::NotEmpty,
        FsError::AccessDenied => NfsStat3::Acces,
        FsError::NotPermitted => NfsStat3::Perm,
        FsError::NameTooLong => NfsStat3::NameTooLong,
        FsError::Invalid => NfsStat3::Inval,
        FsError::ReadOnly => NfsStat3::RoFs,
        FsError::Stale => NfsStat3::Stale,
        FsError::BadHandle => NfsStat3::BadHandle,
        FsError::CrossShare => NfsStat3::XDev,
        FsError::TooManyLinks => NfsStat3::MLink,
        FsError::NotSync => NfsStat3::NotSync,
        FsError::BadCookie => NfsStat3::BadCookie,
        FsError::NotSupported => NfsStat3::NotSupp,
        FsError::BadType => NfsStat3::BadType,
        FsError::NoSpace => NfsStat3::NoSpc,
        FsError::FileTooLarge => NfsStat3::FBig,
        FsError::Busy | FsError::Store(StoreError::Conflict) => NfsStat3::Jukebox,
        FsError::Store(_) | FsError::Block(_) => NfsStat3::Io,
    }
}

pub(crate) fn time(t: Timestamp) -> NfsTime3 {
    NfsTime3 {
        seconds: t.secs.clamp(0, u32::MAX as i64) as u32,
        nseconds: t.nanos,
    }
}

pub(crate) fn timestamp(t: NfsTime3) -> Timestamp {
    Timestamp {
        secs: t.seconds as i64,
        nanos: t.nseconds.min(999_999_999),
    }
}

fn ftype(k: FileKind) -> Ftype3 {
    match k {
        FileKind::Regular => Ftype3::Reg,
        FileKind::Directory => Ftype3::Dir,
        FileKind::Symlink => Ftype3::Lnk,
        FileKind::CharDevice => Ftype3::Chr,
        FileKind::BlockDevice => Ftype3::Blk,
        FileKind::Socket => Ftype3::Sock,
        FileKind::Fifo => Ftype3::Fifo,
    }
}

pub(crate) fn fattr(fsid: u64, i: &Inode) -> Fattr3 {
    Fattr3 {
        ftype: ftype(i.kind),
        mode: i.mode,
        nlink: i.nlink,
        uid: i.uid,
        gid: i.gid,
        size: i.size,
        used: i.size.div_ceil(4096).saturating_mul(4096),
        rdev: SpecData3 {
            specdata1: i.rdev.0,
            specdata2: i.rdev.1,
        },
        fsid,
        fileid: i.id,
        atime: time(i.atime),
        mtime: time(i.mtime),
        ctime: time(i.ctime),
    }
}

pub(crate) fn pre(p: &PreAttrs) -> WccAttr {
    WccAttr {
        size: p.size,
        mtime: time(p.mtime),
        ctime: time(p.ctime),
    }
}

pub(crate) fn wcc(fsid: u64, w: &Wcc) -> WccData {
    WccData {
        before: Some(pre(&w.before)),
        after: Some(fattr(fsid, &w.after)),
    }
}

fn set_time(t: WireSetTime) -> SetTime {
    match t {
        WireSetTime::DontChange => SetTime::Unchanged,
        WireSetTime::ServerTime => SetTime::ServerNow,
        WireSetTime::ClientTime(t) => SetTime::Client(timestamp(t)),
    }
}

pub(crate) fn set_attrs(s: &Sattr3) -> SetAttrs {
    SetAttrs {
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        size: s.size,
        atime: set_time(s.atime),
        mtime: set_time(s.mtime),
    }
}

/// A procedure's reply of NFS3ERR_JUKEBOX with empty optional parts, for a
/// request turned away before any work (over `server.rate_limiting`). Per
/// RFC 1813 each failure body is made of `post_op_attr`s (one word when
/// empty) and `wcc_data`s (two words when empty).
pub(crate) fn jukebox(p: dittofs_nfs_wire::nfs3::Procedure) -> dittofs_xdr::XdrWriter {
    use dittofs_nfs_wire::nfs3::Procedure as P;
    let empty_words = match p {
        P::Null | P::GetAttr => 0,
        P::Lookup
        | P::Access
        | P::ReadLink
        | P::Read
        | P::ReadDir
        | P::ReadDirPlus
        | P::FsStat
        | P::FsInfo
        | P::PathConf => 1,
        P::SetAttr
        | P::Write
        | P::Create
        | P::Mkdir
        | P::Symlink
        | P::Mknod
        | P::Remove
        | P::Rmdir
        | P::Commit => 2,
        P::Link => 3,
        P::Rename => 4,
    };
    let mut w = dittofs_xdr::XdrWriter::new();
    w.u32(NfsStat3::Jukebox as u32);
    for _ in 0..empty_words {
        w.u32(0);
    }
    w
}
