//! READDIR and READDIRPLUS, plus the exact encoded sizes the server needs to
//! fill a reply up to the client's `count` / `maxcount` without going over.

use bytes::Bytes;
use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use super::result::NfsResult;
use super::types::{
    CookieVerf3, NfsFh3, PostOpAttr, PostOpFh3, decode_name, encode_name, post_op_attr_size,
};
use crate::list::{decode_list, encode_list};

const fn padded(len: usize) -> usize {
    len.div_ceil(4) * 4
}

/// Encoded size of a `post_op_fh3`: `None`, or a handle of that many bytes.
pub const fn post_op_fh3_size(handle_len: Option<usize>) -> usize {
    match handle_len {
        Some(len) => 4 + 4 + padded(len),
        None => 4,
    }
}

/// Bytes one `entry3` with a name of `name_len` bytes adds to a READDIR
/// reply, counting the "value follows" flag in front of it.
pub const fn entry3_xdr_size(name_len: usize) -> usize {
    4 + 8 + 4 + padded(name_len) + 8
}

/// Bytes one `entryplus3` adds to a READDIRPLUS reply, counting the "value
/// follows" flag in front of it.
pub const fn entryplus3_xdr_size(
    name_len: usize,
    has_attributes: bool,
    handle_len: Option<usize>,
) -> usize {
    entry3_xdr_size(name_len) + post_op_attr_size(has_attributes) + post_op_fh3_size(handle_len)
}

/// Bytes of a `READDIR3resok` without entries: directory attributes, cookie
/// verifier, the list's end marker and `eof`. The status word in front of it
/// is `STATUS_SIZE` more.
pub const fn readdir3_resok_overhead(has_dir_attributes: bool) -> usize {
    post_op_attr_size(has_dir_attributes) + 8 + 4 + 4
}

/// Bytes of a `READDIRPLUS3resok` without entries; same layout as READDIR's.
pub const fn readdirplus3_resok_overhead(has_dir_attributes: bool) -> usize {
    readdir3_resok_overhead(has_dir_attributes)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReadDir3Args {
    pub dir: NfsFh3,
    pub cookie: u64,
    pub cookieverf: CookieVerf3,
    /// Maximum bytes of the `READDIR3resok`.
    pub count: u32,
}

impl Xdr for ReadDir3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.dir.encode(w);
        w.u64(self.cookie);
        w.fixed(&self.cookieverf);
        w.u32(self.count);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            dir: NfsFh3::decode(r)?,
            cookie: r.u64()?,
            cookieverf: r.fixed()?,
            count: r.u32()?,
        })
    }
}

/// `entry3`, without its link to the next entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Entry3 {
    pub fileid: u64,
    /// `filename3`, at most `MAX_NAME_LEN` bytes on decode.
    pub name: Bytes,
    pub cookie: u64,
}

impl Entry3 {
    /// See [`entry3_xdr_size`].
    pub fn xdr_size(&self) -> usize {
        entry3_xdr_size(self.name.len())
    }
}

impl Xdr for Entry3 {
    fn encode(&self, w: &mut XdrWriter) {
        w.u64(self.fileid);
        encode_name(w, &self.name);
        w.u64(self.cookie);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            fileid: r.u64()?,
            name: decode_name(r)?,
            cookie: r.u64()?,
        })
    }
}

/// `READDIR3resok`, with `dirlist3` flattened into `entries` and `eof`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReadDir3ResOk {
    pub dir_attributes: PostOpAttr,
    pub cookieverf: CookieVerf3,
    pub entries: Vec<Entry3>,
    pub eof: bool,
}

impl ReadDir3ResOk {
    /// Encoded size, without the status word.
    pub fn xdr_size(&self) -> usize {
        readdir3_resok_overhead(self.dir_attributes.is_some())
            + self.entries.iter().map(Entry3::xdr_size).sum::<usize>()
    }
}

impl Xdr for ReadDir3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.dir_attributes.as_ref());
        w.fixed(&self.cookieverf);
        encode_list(w, &self.entries, |w, e| e.encode(w));
        w.bool(self.eof);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            dir_attributes: r.optional()?,
            cookieverf: r.fixed()?,
            entries: decode_list(r, Entry3::decode)?,
            eof: r.bool()?,
        })
    }
}

/// The failure body is the directory's `post_op_attr`.
pub type ReadDir3Res = NfsResult<ReadDir3ResOk, PostOpAttr>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReadDirPlus3Args {
    pub dir: NfsFh3,
    pub cookie: u64,
    pub cookieverf: CookieVerf3,
    /// Maximum bytes of directory information (fileid, name, cookie).
    pub dircount: u32,
    /// Maximum bytes of the whole `READDIRPLUS3resok`.
    pub maxcount: u32,
}

impl Xdr for ReadDirPlus3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.dir.encode(w);
        w.u64(self.cookie);
        w.fixed(&self.cookieverf);
        w.u32(self.dircount);
        w.u32(self.maxcount);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            dir: NfsFh3::decode(r)?,
            cookie: r.u64()?,
            cookieverf: r.fixed()?,
            dircount: r.u32()?,
            maxcount: r.u32()?,
        })
    }
}

/// `entryplus3`, without its link to the next entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EntryPlus3 {
    pub fileid: u64,
    /// `filename3`, at most `MAX_NAME_LEN` bytes on decode.
    pub name: Bytes,
    pub cookie: u64,
    pub name_attributes: PostOpAttr,
    pub name_handle: PostOpFh3,
}

impl EntryPlus3 {
    /// See [`entryplus3_xdr_size`].
    pub fn xdr_size(&self) -> usize {
        entryplus3_xdr_size(
            self.name.len(),
            self.name_attributes.is_some(),
            self.name_handle.as_ref().map(|fh| fh.0.len()),
        )
    }

    /// The part of [`Self::xdr_size`] that counts against `dircount`:
    /// everything but the attributes and the handle.
    pub fn dir_xdr_size(&self) -> usize {
        entry3_xdr_size(self.name.len())
    }
}

impl Xdr for EntryPlus3 {
    fn encode(&self, w: &mut XdrWriter) {
        w.u64(self.fileid);
        encode_name(w, &self.name);
        w.u64(self.cookie);
        w.optional(self.name_attributes.as_ref());
        w.optional(self.name_handle.as_ref());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            fileid: r.u64()?,
            name: decode_name(r)?,
            cookie: r.u64()?,
            name_attributes: r.optional()?,
            name_handle: r.optional()?,
        })
    }
}

/// `READDIRPLUS3resok`, with `dirlistplus3` flattened into `entries` and `eof`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReadDirPlus3ResOk {
    pub dir_attributes: PostOpAttr,
    pub cookieverf: CookieVerf3,
    pub entries: Vec<EntryPlus3>,
    pub eof: bool,
}

impl ReadDirPlus3ResOk {
    /// Encoded size, without the status word.
    pub fn xdr_size(&self) -> usize {
        readdirplus3_resok_overhead(self.dir_attributes.is_some())
            + self.entries.iter().map(EntryPlus3::xdr_size).sum::<usize>()
    }
}

impl Xdr for ReadDirPlus3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.dir_attributes.as_ref());
        w.fixed(&self.cookieverf);
        encode_list(w, &self.entries, |w, e| e.encode(w));
        w.bool(self.eof);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            dir_attributes: r.optional()?,
            cookieverf: r.fixed()?,
            entries: decode_list(r, EntryPlus3::decode)?,
            eof: r.bool()?,
        })
    }
}

/// The failure body is the directory's `post_op_attr`.
pub type ReadDirPlus3Res = NfsResult<ReadDirPlus3ResOk, PostOpAttr>;
