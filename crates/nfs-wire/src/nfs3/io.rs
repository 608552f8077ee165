//! READ, WRITE and COMMIT: the procedures that move file data. Payloads are
//! `Bytes` slices of the received record on decode and separate segments of
//! the reply on encode, so they are never copied here.

use bytes::Bytes;
use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use super::result::NfsResult;
use super::types::{MAX_DATA, NfsFh3, PostOpAttr, StableHow, WccData, WriteVerf3};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Read3Args {
    pub file: NfsFh3,
    pub offset: u64,
    pub count: u32,
}

impl Xdr for Read3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.file.encode(w);
        w.u64(self.offset);
        w.u32(self.count);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file: NfsFh3::decode(r)?,
            offset: r.u64()?,
            count: r.u32()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Read3ResOk {
    pub file_attributes: PostOpAttr,
    /// Bytes read; the RFC sends it next to `data`'s own length.
    pub count: u32,
    pub eof: bool,
    pub data: Bytes,
}

impl Xdr for Read3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.file_attributes.as_ref());
        w.u32(self.count);
        w.bool(self.eof);
        w.opaque_bytes(self.data.clone());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file_attributes: r.optional()?,
            count: r.u32()?,
            eof: r.bool()?,
            data: r.opaque(MAX_DATA)?,
        })
    }
}

/// The failure body is the file's `post_op_attr`.
pub type Read3Res = NfsResult<Read3ResOk, PostOpAttr>;

/// WRITE arguments. `count` and `data.len()` are decoded independently; the
/// server checks that they agree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Write3Args {
    pub file: NfsFh3,
    pub offset: u64,
    pub count: u32,
    pub stable: StableHow,
    pub data: Bytes,
}

impl Xdr for Write3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.file.encode(w);
        w.u64(self.offset);
        w.u32(self.count);
        self.stable.encode(w);
        w.opaque_bytes(self.data.clone());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file: NfsFh3::decode(r)?,
            offset: r.u64()?,
            count: r.u32()?,
            stable: StableHow::decode(r)?,
            data: r.opaque(MAX_DATA)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Write3ResOk {
    pub file_wcc: WccData,
    pub count: u32,
    pub committed: StableHow,
    pub verf: WriteVerf3,
}

impl Xdr for Write3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        self.file_wcc.encode(w);
        w.u32(self.count);
        self.committed.encode(w);
        w.fixed(&self.verf);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file_wcc: WccData::decode(r)?,
            count: r.u32()?,
            committed: StableHow::decode(r)?,
            verf: r.fixed()?,
        })
    }
}

/// The failure body is the file's `wcc_data`.
pub type Write3Res = NfsResult<Write3ResOk, WccData>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Commit3Args {
    pub file: NfsFh3,
    pub offset: u64,
    /// Bytes to commit from `offset`; zero means to the end of the file.
    pub count: u32,
}

impl Xdr for Commit3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.file.encode(w);
        w.u64(self.offset);
        w.u32(self.count);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file: NfsFh3::decode(r)?,
            offset: r.u64()?,
            count: r.u32()?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Commit3ResOk {
    pub file_wcc: WccData,
    pub verf: WriteVerf3,
}

impl Xdr for Commit3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        self.file_wcc.encode(w);
        w.fixed(&self.verf);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file_wcc: WccData::decode(r)?,
            verf: r.fixed()?,
        })
    }
}

/// The failure body is the file's `wcc_data`.
pub type Commit3Res = NfsResult<Commit3ResOk, WccData>;
