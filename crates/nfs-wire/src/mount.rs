//! MOUNT version 3 (RFC 1813 appendix I): the program that hands out the
//! root file handle of an export and lists exports and mounts.

use bytes::Bytes;
use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use crate::list::{decode_list, encode_list};
use crate::nfs3::NfsFh3;

pub const PROGRAM: u32 = 100005;
pub const VERSION: u32 = 3;
/// Maximum bytes in a `dirpath`.
pub const MNTPATHLEN: usize = 1024;
/// Maximum bytes in a `name`.
pub const MNTNAMLEN: usize = 255;
/// Maximum bytes in a `fhandle3`.
pub const FHSIZE3: usize = 64;
/// Bound on the flavor list of a MNT reply; the RFC leaves it open.
pub const MAX_AUTH_FLAVORS: usize = 256;

wire_enum! {
    /// MOUNT procedure numbers.
    pub enum Procedure("mount procedure") {
        Null = 0,
        Mnt = 1,
        Dump = 2,
        Umnt = 3,
        UmntAll = 4,
        Export = 5,
    }
}

wire_enum! {
    /// `mountstat3`.
    pub enum MountStat3("mountstat3") {
        Ok = 0,
        Perm = 1,
        NoEnt = 2,
        Io = 5,
        Acces = 13,
        NotDir = 20,
        Inval = 22,
        NameTooLong = 63,
        NotSupp = 10004,
        ServerFault = 10006,
    }
}

/// A `dirpath` on its own: the argument of MNT and UMNT.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DirPath(pub Bytes);

impl Xdr for DirPath {
    fn encode(&self, w: &mut XdrWriter) {
        w.opaque(&self.0);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        r.opaque(MNTPATHLEN).map(Self)
    }
}

/// `fhandle3`: the same bytes as an NFSv3 file handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FHandle3(pub Bytes);

impl Xdr for FHandle3 {
    fn encode(&self, w: &mut XdrWriter) {
        w.opaque(&self.0);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        r.opaque(FHSIZE3).map(Self)
    }
}

impl From<NfsFh3> for FHandle3 {
    fn from(fh: NfsFh3) -> Self {
        Self(fh.0)
    }
}

impl From<FHandle3> for NfsFh3 {
    fn from(fh: FHandle3) -> Self {
        Self(fh.0)
    }
}

/// `mountres3`, the MNT result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountRes3 {
    Ok {
        fhandle: FHandle3,
        /// RPC authentication flavors the client may use on the export.
        auth_flavors: Vec<u32>,
    },
    /// Any status but `MountStat3::Ok` (which would be read back as `Ok`).
    Err(MountStat3),
}

impl Xdr for MountRes3 {
    fn encode(&self, w: &mut XdrWriter) {
        match self {
            Self::Ok {
                fhandle,
                auth_flavors,
            } => {
                MountStat3::Ok.encode(w);
                fhandle.encode(w);
                w.array(auth_flavors);
            }
            Self::Err(stat) => {
                debug_assert_ne!(
                    *stat,
                    MountStat3::Ok,
                    "an error reply needs an error status"
                );
                stat.encode(w);
            }
        }
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        match MountStat3::decode(r)? {
            MountStat3::Ok => Ok(Self::Ok {
                fhandle: FHandle3::decode(r)?,
                auth_flavors: r.array(MAX_AUTH_FLAVORS)?,
            }),
            stat => Ok(Self::Err(stat)),
        }
    }
}

/// One `mountbody`: a client host and the path it mounted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountEntry {
    /// `name`, at most `MNTNAMLEN` bytes.
    pub hostname: Bytes,
    /// `dirpath`, at most `MNTPATHLEN` bytes.
    pub directory: Bytes,
}

/// `mountlist`, the DUMP result, a linked list on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountList(pub Vec<MountEntry>);

impl Xdr for MountList {
    fn encode(&self, w: &mut XdrWriter) {
        encode_list(w, &self.0, |w, e| {
            w.opaque(&e.hostname);
            w.opaque(&e.directory);
        });
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        decode_list(r, |r| {
            Ok(MountEntry {
                hostname: r.opaque(MNTNAMLEN)?,
                directory: r.opaque(MNTPATHLEN)?,
            })
        })
        .map(Self)
    }
}

/// One `exportnode`: an exported path and the groups allowed to mount it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportEntry {
    /// `dirpath`, at most `MNTPATHLEN` bytes.
    pub dir: Bytes,
    /// The `groups` linked list; each `name` at most `MNTNAMLEN` bytes.
    pub groups: Vec<Bytes>,
}

/// `exports`, the EXPORT result, a linked list of linked lists on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exports(pub Vec<ExportEntry>);

impl Xdr for Exports {
    fn encode(&self, w: &mut XdrWriter) {
        encode_list(w, &self.0, |w, e| {
            w.opaque(&e.dir);
            encode_list(w, &e.groups, |w, g| w.opaque(g));
        });
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        decode_list(r, |r| {
            Ok(ExportEntry {
                dir: r.opaque(MNTPATHLEN)?,
                groups: decode_list(r, |r| r.opaque(MNTNAMLEN))?,
            })
        })
        .map(Self)
    }
}
