use bytes::Bytes;

use crate::auth::MAX_AUTH_BYTES;
use crate::codec::{Xdr, XdrError, XdrReader, XdrWriter};

pub const RPC_VERSION: u32 = 2;
const MSG_CALL: u32 = 0;
const MSG_REPLY: u32 = 1;
const MSG_ACCEPTED: u32 = 0;
const MSG_DENIED: u32 = 1;

/// A credential or verifier: a flavor and up to 400 bytes of body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpaqueAuth {
    pub flavor: u32,
    pub body: Bytes,
}

impl Xdr for OpaqueAuth {
    fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.flavor);
        w.opaque(&self.body);
    }
    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            flavor: r.u32()?,
            body: r.opaque(MAX_AUTH_BYTES)?,
        })
    }
}

/// The fixed part of an RPC call. The procedure arguments follow it in the
/// same reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader {
    pub xid: u32,
    pub rpcvers: u32,
    pub prog: u32,
    pub vers: u32,
    pub proc_: u32,
    pub cred: OpaqueAuth,
    pub verf: OpaqueAuth,
}

impl CallHeader {
    pub fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.xid);
        w.u32(MSG_CALL);
        w.u32(self.rpcvers);
        w.u32(self.prog);
        w.u32(self.vers);
        w.u32(self.proc_);
        self.cred.encode(w);
        self.verf.encode(w);
    }
}

/// Why a record could not be read as a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("record too short to hold a transaction id")]
    Unreadable,
    #[error("message {xid:#x} is not a call")]
    NotACall { xid: u32 },
    #[error("call {xid:#x} has a malformed header")]
    BadHeader { xid: u32 },
    /// Another RPC version: the rest of the header is not read, since its
    /// layout belongs to that version (RFC 5531 section 9).
    #[error("call {xid:#x} is of RPC version {rpcvers}")]
    RpcMismatch { xid: u32, rpcvers: u32 },
    #[error("call {xid:#x} has a malformed credential")]
    BadCred { xid: u32 },
    #[error("call {xid:#x} has a malformed verifier")]
    BadVerf { xid: u32 },
}

/// Reads a call header, leaving the reader at the procedure arguments.
pub fn decode_call_header(r: &mut XdrReader) -> Result<CallHeader, CallError> {
    let xid = r.u32().map_err(|_| CallError::Unreadable)?;
    let bad = |_| CallError::BadHeader { xid };
    if r.u32().map_err(bad)? != MSG_CALL {
        return Err(CallError::NotACall { xid });
    }
    let rpcvers = r.u32().map_err(bad)?;
    if rpcvers != RPC_VERSION {
        return Err(CallError::RpcMismatch { xid, rpcvers });
    }
    let prog = r.u32().map_err(bad)?;
    let vers = r.u32().map_err(bad)?;
    let proc_ = r.u32().map_err(bad)?;
    let cred = OpaqueAuth::decode(r).map_err(|_| CallError::BadCred { xid })?;
    let verf = OpaqueAuth::decode(r).map_err(|_| CallError::BadVerf { xid })?;
    Ok(CallHeader {
        xid,
        rpcvers,
        prog,
        vers,
        proc_,
        cred,
        verf,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStat {
    Success,
    ProgUnavail,
    ProgMismatch { low: u32, high: u32 },
    ProcUnavail,
    GarbageArgs,
    SystemErr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum AuthStat {
    Ok = 0,
    BadCred = 1,
    RejectedCred = 2,
    BadVerf = 3,
    RejectedVerf = 4,
    TooWeak = 5,
    InvalidResp = 6,
    Failed = 7,
}

impl AuthStat {
    fn from_u32(v: u32) -> Result<Self, XdrError> {
        Ok(match v {
            0 => Self::Ok,
            1 => Self::BadCred,
            2 => Self::RejectedCred,
            3 => Self::BadVerf,
            4 => Self::RejectedVerf,
            5 => Self::TooWeak,
            6 => Self::InvalidResp,
            7 => Self::Failed,
            value => {
                return Err(XdrError::BadValue {
                    what: "auth_stat",
                    value,
                });
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectedReply {
    RpcMismatch { low: u32, high: u32 },
    AuthError(AuthStat),
}

/// The header of a reply; for `Accepted { stat: Success }` the procedure's
/// result follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyHeader {
    Accepted { verf: OpaqueAuth, stat: AcceptStat },
    Denied(RejectedReply),
}

impl ReplyHeader {
    pub fn success() -> Self {
        Self::Accepted {
            verf: OpaqueAuth::default(),
            stat: AcceptStat::Success,
        }
    }

    pub fn accepted(stat: AcceptStat) -> Self {
        Self::Accepted {
            verf: OpaqueAuth::default(),
            stat,
        }
    }

    pub fn encode(&self, xid: u32, w: &mut XdrWriter) {
        w.u32(xid);
        w.u32(MSG_REPLY);
        match self {
            Self::Accepted { verf, stat } => {
                w.u32(MSG_ACCEPTED);
                verf.encode(w);
                match stat {
                    AcceptStat::Success => w.u32(0),
                    AcceptStat::ProgUnavail => w.u32(1),
                    AcceptStat::ProgMismatch { low, high } => {
                        w.u32(2);
                        w.u32(*low);
                        w.u32(*high);
                    }
                    AcceptStat::ProcUnavail => w.u32(3),
                    AcceptStat::GarbageArgs => w.u32(4),
                    AcceptStat::SystemErr => w.u32(5),
                }
            }
            Self::Denied(rej) => {
                w.u32(MSG_DENIED);
                match rej {
                    RejectedReply::RpcMismatch { low, high } => {
                        w.u32(0);
                        w.u32(*low);
                        w.u32(*high);
                    }
                    RejectedReply::AuthError(stat) => {
                        w.u32(1);
                        w.u32(*stat as u32);
                    }
                }
            }
        }
    }

    /// Reads a reply header, returning the xid it answers. Used by clients
    /// and tests.
    pub fn decode(r: &mut XdrReader) -> Result<(u32, Self), XdrError> {
        let xid = r.u32()?;
        let mtype = r.u32()?;
        if mtype != MSG_REPLY {
            return Err(XdrError::BadValue {
                what: "msg_type",
                value: mtype,
            });
        }
        let header = match r.u32()? {
            MSG_ACCEPTED => {
                let verf = OpaqueAuth::decode(r)?;
                let stat = match r.u32()? {
                    0 => AcceptStat::Success,
                    1 => AcceptStat::ProgUnavail,
                    2 => AcceptStat::ProgMismatch {
                        low: r.u32()?,
                        high: r.u32()?,
                    },
                    3 => AcceptStat::ProcUnavail,
                    4 => AcceptStat::GarbageArgs,
                    5 => AcceptStat::SystemErr,
                    value => {
                        return Err(XdrError::BadValue {
                            what: "accept_stat",
                            value,
                        });
                    }
                };
                Self::Accepted { verf, stat }
            }
            MSG_DENIED => Self::Denied(match r.u32()? {
                0 => RejectedReply::RpcMismatch {
                    low: r.u32()?,
                    high: r.u32()?,
                },
                1 => RejectedReply::AuthError(AuthStat::from_u32(r.u32()?)?),
                value => {
                    return Err(XdrError::BadValue {
                        what: "reject_stat",
                        value,
                    });
                }
            }),
            value => {
                return Err(XdrError::BadValue {
                    what: "reply_stat",
                    value,
                });
            }
        };
        Ok((xid, header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_header_round_trips() {
        let call = CallHeader {
            xid: 7,
            rpcvers: 2,
            prog: 100003,
            vers: 3,
            proc_: 1,
            cred: OpaqueAuth {
                flavor: 1,
                body: Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0]),
            },
            verf: OpaqueAuth::default(),
        };
        let mut w = XdrWriter::new();
        call.encode(&mut w);
        w.u32(42);
        let mut r = XdrReader::new(w.into_bytes());
        assert_eq!(decode_call_header(&mut r).unwrap(), call);
        assert_eq!(r.u32().unwrap(), 42);
    }

    #[test]
    fn every_reply_header_round_trips() {
        let headers = [
            ReplyHeader::success(),
            ReplyHeader::accepted(AcceptStat::ProgUnavail),
            ReplyHeader::accepted(AcceptStat::ProgMismatch { low: 3, high: 3 }),
            ReplyHeader::accepted(AcceptStat::ProcUnavail),
            ReplyHeader::accepted(AcceptStat::GarbageArgs),
            ReplyHeader::accepted(AcceptStat::SystemErr),
            ReplyHeader::Denied(RejectedReply::RpcMismatch { low: 2, high: 2 }),
            ReplyHeader::Denied(RejectedReply::AuthError(AuthStat::TooWeak)),
        ];
        for h in headers {
            let mut w = XdrWriter::new();
            h.encode(99, &mut w);
            let mut r = XdrReader::new(w.into_bytes());
            assert_eq!(ReplyHeader::decode(&mut r).unwrap(), (99, h));
            assert!(r.finish().is_ok());
        }
    }

    #[test]
    fn header_errors_keep_the_xid_when_they_can() {
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0]));
        assert_eq!(decode_call_header(&mut r), Err(CallError::Unreadable));
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 0, 5, 0, 0, 0, 1]));
        assert_eq!(
            decode_call_header(&mut r),
            Err(CallError::NotACall { xid: 5 })
        );
        let mut w = XdrWriter::new();
        for v in [9, 0, 2, 100003, 3, 0, 1, 500] {
            w.u32(v);
        }
        let mut r = XdrReader::new(w.into_bytes());
        assert_eq!(
            decode_call_header(&mut r),
            Err(CallError::BadCred { xid: 9 })
        );
    }

    #[test]
    fn other_rpc_versions_are_refused_before_the_rest_is_read() {
        let mut w = XdrWriter::new();
        for v in [4, 0, 3] {
            w.u32(v);
        }
        let mut r = XdrReader::new(w.into_bytes());
        assert_eq!(
            decode_call_header(&mut r),
            Err(CallError::RpcMismatch { xid: 4, rpcvers: 3 })
        );
        let mut w = XdrWriter::new();
        for v in [5, 0, 1, 100003, 3, 0, 1, 500] {
            w.u32(v);
        }
        let mut r = XdrReader::new(w.into_bytes());
        assert_eq!(
            decode_call_header(&mut r),
            Err(CallError::RpcMismatch { xid: 5, rpcvers: 1 })
        );
    }
}
