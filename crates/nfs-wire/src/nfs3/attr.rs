//! GETATTR, SETATTR, LOOKUP, ACCESS and READLINK: the procedures that read
//! or set what is known about one file.

use bytes::Bytes;
use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use super::result::NfsResult;
use super::types::{
    DirOpArgs3, Fattr3, NfsFh3, NfsTime3, PostOpAttr, Sattr3, WccData, decode_path,
};

/// ACCESS bits (`access` in ACCESS args and result).
pub const ACCESS3_READ: u32 = 0x0001;
pub const ACCESS3_LOOKUP: u32 = 0x0002;
pub const ACCESS3_MODIFY: u32 = 0x0004;
pub const ACCESS3_EXTEND: u32 = 0x0008;
pub const ACCESS3_DELETE: u32 = 0x0010;
pub const ACCESS3_EXECUTE: u32 = 0x0020;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GetAttr3Args {
    pub object: NfsFh3,
}

impl Xdr for GetAttr3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.object.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            object: NfsFh3::decode(r)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GetAttr3ResOk {
    pub obj_attributes: Fattr3,
}

impl Xdr for GetAttr3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        self.obj_attributes.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            obj_attributes: Fattr3::decode(r)?,
        })
    }
}

/// GETATTR sends nothing after an error status.
pub type GetAttr3Res = NfsResult<GetAttr3ResOk, ()>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SetAttr3Args {
    pub object: NfsFh3,
    pub new_attributes: Sattr3,
    /// `sattrguard3`: apply only if the object's ctime equals this.
    pub guard: Option<NfsTime3>,
}

impl Xdr for SetAttr3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.object.encode(w);
        self.new_attributes.encode(w);
        w.optional(self.guard.as_ref());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            object: NfsFh3::decode(r)?,
            new_attributes: Sattr3::decode(r)?,
            guard: r.optional()?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SetAttr3ResOk {
    pub obj_wcc: WccData,
}

impl Xdr for SetAttr3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        self.obj_wcc.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            obj_wcc: WccData::decode(r)?,
        })
    }
}

/// The failure body is the object's `wcc_data`.
pub type SetAttr3Res = NfsResult<SetAttr3ResOk, WccData>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Lookup3Args {
    pub what: DirOpArgs3,
}

impl Xdr for Lookup3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.what.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            what: DirOpArgs3::decode(r)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Lookup3ResOk {
    pub object: NfsFh3,
    pub obj_attributes: PostOpAttr,
    pub dir_attributes: PostOpAttr,
}

impl Xdr for Lookup3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        self.object.encode(w);
        w.optional(self.obj_attributes.as_ref());
        w.optional(self.dir_attributes.as_ref());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            object: NfsFh3::decode(r)?,
            obj_attributes: r.optional()?,
            dir_attributes: r.optional()?,
        })
    }
}

/// The failure body is the directory's `post_op_attr`.
pub type Lookup3Res = NfsResult<Lookup3ResOk, PostOpAttr>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Access3Args {
    pub object: NfsFh3,
    /// `ACCESS3_*` bits to check.
    pub access: u32,
}

impl Xdr for Access3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.object.encode(w);
        w.u32(self.access);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            object: NfsFh3::decode(r)?,
            access: r.u32()?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access3ResOk {
    pub obj_attributes: PostOpAttr,
    /// The subset of the requested `ACCESS3_*` bits that are granted.
    pub access: u32,
}

impl Xdr for Access3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.obj_attributes.as_ref());
        w.u32(self.access);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            obj_attributes: r.optional()?,
            access: r.u32()?,
        })
    }
}

/// The failure body is the object's `post_op_attr`.
pub type Access3Res = NfsResult<Access3ResOk, PostOpAttr>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReadLink3Args {
    pub symlink: NfsFh3,
}

impl Xdr for ReadLink3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.symlink.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            symlink: NfsFh3::decode(r)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReadLink3ResOk {
    pub symlink_attributes: PostOpAttr,
    /// The link target (`nfspath3`).
    pub data: Bytes,
}

impl Xdr for ReadLink3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.symlink_attributes.as_ref());
        w.opaque(&self.data);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            symlink_attributes: r.optional()?,
            data: decode_path(r)?,
        })
    }
}

/// The failure body is the link's `post_op_attr`.
pub type ReadLink3Res = NfsResult<ReadLink3ResOk, PostOpAttr>;
