//! Portmapper version 2 (RFC 1833 section 3): the program that tells clients
//! which port serves a given RPC program, version and transport.

use bytes::Bytes;
use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use crate::list::{decode_list, encode_list};

pub const PROGRAM: u32 = 100000;
pub const VERSION: u32 = 2;
/// The well-known port the portmapper listens on.
pub const PMAP_PORT: u32 = 111;

pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;

/// Bound on the opaque arguments and results carried through CALLIT; the
/// record-size cap is the real limit.
pub const MAX_CALLIT_DATA: usize = 64 << 20;

wire_enum! {
    /// Portmapper procedure numbers.
    pub enum Procedure("pmap procedure") {
        Null = 0,
        Set = 1,
        Unset = 2,
        GetPort = 3,
        Dump = 4,
        CallIt = 5,
    }
}

/// One (program, version, protocol) to port binding; the argument of SET,
/// UNSET and GETPORT (whose `port` is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mapping {
    pub prog: u32,
    pub vers: u32,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub prot: u32,
    pub port: u32,
}

impl Xdr for Mapping {
    fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.prog);
        w.u32(self.vers);
        w.u32(self.prot);
        w.u32(self.port);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            prog: r.u32()?,
            vers: r.u32()?,
            prot: r.u32()?,
            port: r.u32()?,
        })
    }
}

/// The DUMP result (`pmaplist`), a linked list on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PmapList(pub Vec<Mapping>);

impl Xdr for PmapList {
    fn encode(&self, w: &mut XdrWriter) {
        encode_list(w, &self.0, |w, m| m.encode(w));
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        decode_list(r, Mapping::decode).map(Self)
    }
}

/// CALLIT arguments: a call to forward to a local program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallArgs {
    pub prog: u32,
    pub vers: u32,
    /// The procedure to call (`proc` in the RFC, a Rust keyword).
    pub procedure: u32,
    pub args: Bytes,
}

impl Xdr for CallArgs {
    fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.prog);
        w.u32(self.vers);
        w.u32(self.procedure);
        w.opaque_bytes(self.args.clone());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            prog: r.u32()?,
            vers: r.u32()?,
            procedure: r.u32()?,
            args: r.opaque(MAX_CALLIT_DATA)?,
        })
    }
}

/// CALLIT result: the port of the called program and its reply body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallResult {
    pub port: u32,
    pub res: Bytes,
}

impl Xdr for CallResult {
    fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.port);
        w.opaque_bytes(self.res.clone());
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            port: r.u32()?,
            res: r.opaque(MAX_CALLIT_DATA)?,
        })
    }
}
