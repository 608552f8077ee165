//! The NFSv3 data types shared by many procedures (RFC 1813 section 2.5 and
//! 2.6): status codes, file handles, times, attributes and their updates.

use bytes::Bytes;
use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

pub const NFS3_FHSIZE: usize = 64;
pub const NFS3_COOKIEVERFSIZE: usize = 8;
pub const NFS3_CREATEVERFSIZE: usize = 8;
pub const NFS3_WRITEVERFSIZE: usize = 8;

/// Decode bound on a `filename3`. Far above NAME_MAX on purpose: the server
/// must answer NFS3ERR_NAMETOOLONG itself, which it cannot do for arguments
/// that fail to decode.
pub const MAX_NAME_LEN: usize = 4096;
/// Decode bound on an `nfspath3` (symlink targets).
pub const MAX_PATH_LEN: usize = 4096;
/// Decode bound on READ/WRITE payloads; the record-size cap is the real limit.
pub const MAX_DATA: usize = 64 << 20;

pub type CookieVerf3 = [u8; NFS3_COOKIEVERFSIZE];
pub type CreateVerf3 = [u8; NFS3_CREATEVERFSIZE];
pub type WriteVerf3 = [u8; NFS3_WRITEVERFSIZE];

wire_enum! {
    /// `nfsstat3`.
    pub enum NfsStat3("nfsstat3") {
        Ok = 0,
        Perm = 1,
        NoEnt = 2,
        Io = 5,
        NxIo = 6,
        Acces = 13,
        Exist = 17,
        XDev = 18,
        NoDev = 19,
        NotDir = 20,
        IsDir = 21,
        Inval = 22,
        FBig = 27,
        NoSpc = 28,
        RoFs = 30,
        MLink = 31,
        NameTooLong = 63,
        NotEmpty = 66,
        DQuot = 69,
        Stale = 70,
        Remote = 71,
        BadHandle = 10001,
        NotSync = 10002,
        BadCookie = 10003,
        NotSupp = 10004,
        TooSmall = 10005,
        ServerFault = 10006,
        BadType = 10007,
        Jukebox = 10008,
    }
}

wire_enum! {
    /// `ftype3`.
    pub enum Ftype3("ftype3") {
        Reg = 1,
        Dir = 2,
        Blk = 3,
        Chr = 4,
        Lnk = 5,
        Sock = 6,
        Fifo = 7,
    }
}

wire_enum! {
    /// `stable_how`: how durable a WRITE must be before the reply.
    pub enum StableHow("stable_how") {
        Unstable = 0,
        DataSync = 1,
        FileSync = 2,
    }
}

pub(crate) fn encode_name(w: &mut XdrWriter, name: &Bytes) {
    w.opaque(name);
}

pub(crate) fn decode_name(r: &mut XdrReader) -> Result<Bytes, XdrError> {
    r.opaque(MAX_NAME_LEN)
}

pub(crate) fn decode_path(r: &mut XdrReader) -> Result<Bytes, XdrError> {
    r.opaque(MAX_PATH_LEN)
}

/// `specdata3`: major and minor device numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SpecData3 {
    pub specdata1: u32,
    pub specdata2: u32,
}

impl Xdr for SpecData3 {
    fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.specdata1);
        w.u32(self.specdata2);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            specdata1: r.u32()?,
            specdata2: r.u32()?,
        })
    }
}

/// `nfs_fh3`: an opaque file handle of at most `NFS3_FHSIZE` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NfsFh3(pub Bytes);

impl Xdr for NfsFh3 {
    fn encode(&self, w: &mut XdrWriter) {
        w.opaque(&self.0);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        r.opaque(NFS3_FHSIZE).map(Self)
    }
}

/// `nfstime3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct NfsTime3 {
    pub seconds: u32,
    pub nseconds: u32,
}

impl Xdr for NfsTime3 {
    fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.seconds);
        w.u32(self.nseconds);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            seconds: r.u32()?,
            nseconds: r.u32()?,
        })
    }
}

/// `fattr3`: the full attributes of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fattr3 {
    /// `type` in the RFC.
    pub ftype: Ftype3,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub used: u64,
    pub rdev: SpecData3,
    pub fsid: u64,
    pub fileid: u64,
    pub atime: NfsTime3,
    pub mtime: NfsTime3,
    pub ctime: NfsTime3,
}

/// Encoded size of a `fattr3`.
pub const FATTR3_SIZE: usize = 84;

impl Xdr for Fattr3 {
    fn encode(&self, w: &mut XdrWriter) {
        self.ftype.encode(w);
        w.u32(self.mode);
        w.u32(self.nlink);
        w.u32(self.uid);
        w.u32(self.gid);
        w.u64(self.size);
        w.u64(self.used);
        self.rdev.encode(w);
        w.u64(self.fsid);
        w.u64(self.fileid);
        self.atime.encode(w);
        self.mtime.encode(w);
        self.ctime.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            ftype: Ftype3::decode(r)?,
            mode: r.u32()?,
            nlink: r.u32()?,
            uid: r.u32()?,
            gid: r.u32()?,
            size: r.u64()?,
            used: r.u64()?,
            rdev: SpecData3::decode(r)?,
            fsid: r.u64()?,
            fileid: r.u64()?,
            atime: NfsTime3::decode(r)?,
            mtime: NfsTime3::decode(r)?,
            ctime: NfsTime3::decode(r)?,
        })
    }
}

/// `post_op_attr`: attributes after the operation, if the server has them.
pub type PostOpAttr = Option<Fattr3>;

/// Encoded size of a `post_op_attr`, with or without attributes.
pub const fn post_op_attr_size(present: bool) -> usize {
    if present { 4 + FATTR3_SIZE } else { 4 }
}

/// `wcc_attr`: the attributes a client checks for changes by others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WccAttr {
    pub size: u64,
    pub mtime: NfsTime3,
    pub ctime: NfsTime3,
}

impl Xdr for WccAttr {
    fn encode(&self, w: &mut XdrWriter) {
        w.u64(self.size);
        self.mtime.encode(w);
        self.ctime.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            size: r.u64()?,
            mtime: NfsTime3::decode(r)?,
            ctime: NfsTime3::decode(r)?,
        })
    }
}

/// `pre_op_attr`.
pub type PreOpAttr = Option<WccAttr>;

/// `wcc_data`: weak cache consistency data around a modifying operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WccData {
    pub before: PreOpAttr,
    pub after: PostOpAttr,
}

impl Xdr for WccData {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.before.as_ref());
        w.optional(self.after.as_ref());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            before: r.optional()?,
            after: r.optional()?,
        })
    }
}

/// `post_op_fh3`.
pub type PostOpFh3 = Option<NfsFh3>;

/// `set_atime` / `set_mtime` (discriminated by `time_how`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SetTime {
    #[default]
    DontChange,
    ServerTime,
    ClientTime(NfsTime3),
}

impl Xdr for SetTime {
    fn encode(&self, w: &mut XdrWriter) {
        match self {
            Self::DontChange => w.u32(0),
            Self::ServerTime => w.u32(1),
            Self::ClientTime(t) => {
                w.u32(2);
                t.encode(w);
            }
        }
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        match r.u32()? {
            0 => Ok(Self::DontChange),
            1 => Ok(Self::ServerTime),
            2 => Ok(Self::ClientTime(NfsTime3::decode(r)?)),
            value => Err(XdrError::BadValue {
                what: "time_how",
                value,
            }),
        }
    }
}

/// `sattr3`: attributes to set; `None` leaves a field unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Sattr3 {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: SetTime,
    pub mtime: SetTime,
}

impl Xdr for Sattr3 {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.mode.as_ref());
        w.optional(self.uid.as_ref());
        w.optional(self.gid.as_ref());
        w.optional(self.size.as_ref());
        self.atime.encode(w);
        self.mtime.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            mode: r.optional()?,
            uid: r.optional()?,
            gid: r.optional()?,
            size: r.optional()?,
            atime: SetTime::decode(r)?,
            mtime: SetTime::decode(r)?,
        })
    }
}

/// `diropargs3`: a name in a directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DirOpArgs3 {
    pub dir: NfsFh3,
    /// `filename3`, at most `MAX_NAME_LEN` bytes on decode.
    pub name: Bytes,
}

impl Xdr for DirOpArgs3 {
    fn encode(&self, w: &mut XdrWriter) {
        self.dir.encode(w);
        encode_name(w, &self.name);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            dir: NfsFh3::decode(r)?,
            name: decode_name(r)?,
        })
    }
}
