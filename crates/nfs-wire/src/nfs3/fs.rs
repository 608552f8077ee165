//! FSSTAT, FSINFO and PATHCONF: the procedures that describe the file
//! system rather than one file. All fail with the object's `post_op_attr`.

use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use super::result::NfsResult;
use super::types::{NfsFh3, NfsTime3, PostOpAttr};

/// FSINFO `properties` bits.
pub const FSF3_LINK: u32 = 0x0001;
pub const FSF3_SYMLINK: u32 = 0x0002;
pub const FSF3_HOMOGENEOUS: u32 = 0x0008;
pub const FSF3_CANSETTIME: u32 = 0x0010;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FsStat3Args {
    pub fsroot: NfsFh3,
}

impl Xdr for FsStat3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.fsroot.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            fsroot: NfsFh3::decode(r)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FsStat3ResOk {
    pub obj_attributes: PostOpAttr,
    /// Total, free, and free-to-this-user bytes.
    pub tbytes: u64,
    pub fbytes: u64,
    pub abytes: u64,
    /// Total, free, and free-to-this-user file slots.
    pub tfiles: u64,
    pub ffiles: u64,
    pub afiles: u64,
    /// Seconds for which these values will not change.
    pub invarsec: u32,
}

impl Xdr for FsStat3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.obj_attributes.as_ref());
        w.u64(self.tbytes);
        w.u64(self.fbytes);
        w.u64(self.abytes);
        w.u64(self.tfiles);
        w.u64(self.ffiles);
        w.u64(self.afiles);
        w.u32(self.invarsec);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            obj_attributes: r.optional()?,
            tbytes: r.u64()?,
            fbytes: r.u64()?,
            abytes: r.u64()?,
            tfiles: r.u64()?,
            ffiles: r.u64()?,
            afiles: r.u64()?,
            invarsec: r.u32()?,
        })
    }
}

pub type FsStat3Res = NfsResult<FsStat3ResOk, PostOpAttr>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FsInfo3Args {
    pub fsroot: NfsFh3,
}

impl Xdr for FsInfo3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.fsroot.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            fsroot: NfsFh3::decode(r)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FsInfo3ResOk {
    pub obj_attributes: PostOpAttr,
    pub rtmax: u32,
    pub rtpref: u32,
    pub rtmult: u32,
    pub wtmax: u32,
    pub wtpref: u32,
    pub wtmult: u32,
    pub dtpref: u32,
    pub maxfilesize: u64,
    pub time_delta: NfsTime3,
    /// `FSF3_*` bits.
    pub properties: u32,
}

impl Xdr for FsInfo3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.obj_attributes.as_ref());
        w.u32(self.rtmax);
        w.u32(self.rtpref);
        w.u32(self.rtmult);
        w.u32(self.wtmax);
        w.u32(self.wtpref);
        w.u32(self.wtmult);
        w.u32(self.dtpref);
        w.u64(self.maxfilesize);
        self.time_delta.encode(w);
        w.u32(self.properties);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            obj_attributes: r.optional()?,
            rtmax: r.u32()?,
            rtpref: r.u32()?,
            rtmult: r.u32()?,
            wtmax: r.u32()?,
            wtpref: r.u32()?,
            wtmult: r.u32()?,
            dtpref: r.u32()?,
            maxfilesize: r.u64()?,
            time_delta: NfsTime3::decode(r)?,
            properties: r.u32()?,
        })
    }
}

pub type FsInfo3Res = NfsResult<FsInfo3ResOk, PostOpAttr>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathConf3Args {
    pub object: NfsFh3,
}

impl Xdr for PathConf3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.object.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            object: NfsFh3::decode(r)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PathConf3ResOk {
    pub obj_attributes: PostOpAttr,
    pub linkmax: u32,
    pub name_max: u32,
    pub no_trunc: bool,
    pub chown_restricted: bool,
    pub case_insensitive: bool,
    pub case_preserving: bool,
}

impl Xdr for PathConf3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.obj_attributes.as_ref());
        w.u32(self.linkmax);
        w.u32(self.name_max);
        w.bool(self.no_trunc);
        w.bool(self.chown_restricted);
        w.bool(self.case_insensitive);
        w.bool(self.case_preserving);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            obj_attributes: r.optional()?,
            linkmax: r.u32()?,
            name_max: r.u32()?,
            no_trunc: r.bool()?,
            chown_restricted: r.bool()?,
            case_insensitive: r.bool()?,
            case_preserving: r.bool()?,
        })
    }
}

pub type PathConf3Res = NfsResult<PathConf3ResOk, PostOpAttr>;
