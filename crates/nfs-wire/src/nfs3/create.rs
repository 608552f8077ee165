//! CREATE, MKDIR, SYMLINK and MKNOD: the procedures that make a new name in
//! a directory. They share one success body (the new handle and attributes
//! plus the directory's `wcc_data`) and fail with the directory's `wcc_data`.

use bytes::Bytes;
use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use super::result::NfsResult;
use super::types::{
    CreateVerf3, DirOpArgs3, Ftype3, PostOpAttr, PostOpFh3, Sattr3, SpecData3, WccData, decode_path,
};

/// `createhow3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreateHow3 {
    Unchecked(Sattr3),
    Guarded(Sattr3),
    Exclusive(CreateVerf3),
}

impl Default for CreateHow3 {
    fn default() -> Self {
        Self::Unchecked(Sattr3::default())
    }
}

impl Xdr for CreateHow3 {
    fn encode(&self, w: &mut XdrWriter) {
        match self {
            Self::Unchecked(attrs) => {
                w.u32(0);
                attrs.encode(w);
            }
            Self::Guarded(attrs) => {
                w.u32(1);
                attrs.encode(w);
            }
            Self::Exclusive(verf) => {
                w.u32(2);
                w.fixed(verf);
            }
        }
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        match r.u32()? {
            0 => Ok(Self::Unchecked(Sattr3::decode(r)?)),
            1 => Ok(Self::Guarded(Sattr3::decode(r)?)),
            2 => Ok(Self::Exclusive(r.fixed()?)),
            value => Err(XdrError::BadValue {
                what: "createmode3",
                value,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Create3Args {
    /// `where` in the RFC, a Rust keyword.
    pub where_: DirOpArgs3,
    pub how: CreateHow3,
}

impl Xdr for Create3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.where_.encode(w);
        self.how.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            where_: DirOpArgs3::decode(r)?,
            how: CreateHow3::decode(r)?,
        })
    }
}

/// The success body of CREATE, MKDIR, SYMLINK and MKNOD.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Create3ResOk {
    pub obj: PostOpFh3,
    pub obj_attributes: PostOpAttr,
    pub dir_wcc: WccData,
}

impl Xdr for Create3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.obj.as_ref());
        w.optional(self.obj_attributes.as_ref());
        self.dir_wcc.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            obj: r.optional()?,
            obj_attributes: r.optional()?,
            dir_wcc: WccData::decode(r)?,
        })
    }
}

pub type Create3Res = NfsResult<Create3ResOk, WccData>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Mkdir3Args {
    pub where_: DirOpArgs3,
    pub attributes: Sattr3,
}

impl Xdr for Mkdir3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.where_.encode(w);
        self.attributes.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            where_: DirOpArgs3::decode(r)?,
            attributes: Sattr3::decode(r)?,
        })
    }
}

pub type Mkdir3ResOk = Create3ResOk;
pub type Mkdir3Res = NfsResult<Mkdir3ResOk, WccData>;

/// `symlinkdata3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SymlinkData3 {
    pub symlink_attributes: Sattr3,
    /// The link target (`nfspath3`).
    pub symlink_data: Bytes,
}

impl Xdr for SymlinkData3 {
    fn encode(&self, w: &mut XdrWriter) {
        self.symlink_attributes.encode(w);
        w.opaque(&self.symlink_data);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            symlink_attributes: Sattr3::decode(r)?,
            symlink_data: decode_path(r)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Symlink3Args {
    pub where_: DirOpArgs3,
    pub symlink: SymlinkData3,
}

impl Xdr for Symlink3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.where_.encode(w);
        self.symlink.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            where_: DirOpArgs3::decode(r)?,
            symlink: SymlinkData3::decode(r)?,
        })
    }
}

pub type Symlink3ResOk = Create3ResOk;
pub type Symlink3Res = NfsResult<Symlink3ResOk, WccData>;

/// `devicedata3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeviceData3 {
    pub dev_attributes: Sattr3,
    pub spec: SpecData3,
}

impl Xdr for DeviceData3 {
    fn encode(&self, w: &mut XdrWriter) {
        self.dev_attributes.encode(w);
        self.spec.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            dev_attributes: Sattr3::decode(r)?,
            spec: SpecData3::decode(r)?,
        })
    }
}

/// `mknoddata3`, discriminated by the file type to create. The regular,
/// directory and symlink arms carry nothing; the server answers them with
/// NFS3ERR_BADTYPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MknodData3 {
    Chr(DeviceData3),
    Blk(DeviceData3),
    Sock(Sattr3),
    Fifo(Sattr3),
    Reg,
    Dir,
    Lnk,
}

impl MknodData3 {
    pub fn ftype(&self) -> Ftype3 {
        match self {
            Self::Chr(_) => Ftype3::Chr,
            Self::Blk(_) => Ftype3::Blk,
            Self::Sock(_) => Ftype3::Sock,
            Self::Fifo(_) => Ftype3::Fifo,
            Self::Reg => Ftype3::Reg,
            Self::Dir => Ftype3::Dir,
            Self::Lnk => Ftype3::Lnk,
        }
    }
}

impl Xdr for MknodData3 {
    fn encode(&self, w: &mut XdrWriter) {
        self.ftype().encode(w);
        match self {
            Self::Chr(dev) | Self::Blk(dev) => dev.encode(w),
            Self::Sock(attrs) | Self::Fifo(attrs) => attrs.encode(w),
            Self::Reg | Self::Dir | Self::Lnk => {}
        }
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(match Ftype3::decode(r)? {
            Ftype3::Chr => Self::Chr(DeviceData3::decode(r)?),
            Ftype3::Blk => Self::Blk(DeviceData3::decode(r)?),
            Ftype3::Sock => Self::Sock(Sattr3::decode(r)?),
            Ftype3::Fifo => Self::Fifo(Sattr3::decode(r)?),
            Ftype3::Reg => Self::Reg,
            Ftype3::Dir => Self::Dir,
            Ftype3::Lnk => Self::Lnk,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mknod3Args {
    pub where_: DirOpArgs3,
    pub what: MknodData3,
}

impl Xdr for Mknod3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.where_.encode(w);
        self.what.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            where_: DirOpArgs3::decode(r)?,
            what: MknodData3::decode(r)?,
        })
    }
}

pub type Mknod3ResOk = Create3ResOk;
pub type Mknod3Res = NfsResult<Mknod3ResOk, WccData>;
