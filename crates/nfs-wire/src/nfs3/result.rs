//! The shape shared by every NFSv3 result: a status, then the success body
//! for `NFS3_OK` or the failure body for any other status.

use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use super::types::{NfsStat3, PostOpAttr, WccData};
use super::{Link3ResOk, Rename3ResOk};

/// Encoded size of the status word in front of every result body.
pub const STATUS_SIZE: usize = 4;

/// A procedure result: `Ok` is sent as `NFS3_OK` followed by `T`, `Fail` as
/// its status followed by `F`.
///
/// `Fail` must not carry `NfsStat3::Ok`: it would be read back as `Ok`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NfsResult<T, F> {
    Ok(T),
    Fail(NfsStat3, F),
}

impl<T, F> NfsResult<T, F> {
    /// The status word this result is sent with.
    pub fn status(&self) -> NfsStat3 {
        match self {
            Self::Ok(_) => NfsStat3::Ok,
            Self::Fail(stat, _) => *stat,
        }
    }
}

/// The failure body of an [`NfsResult`].
///
/// A separate trait from `Xdr` because several failure bodies are a bare
/// `post_op_attr`, i.e. `Option<Fattr3>`, and `Xdr` (a foreign trait) cannot
/// be implemented for `Option` here.
pub trait FailBody: Sized {
    fn encode_fail(&self, w: &mut XdrWriter);
    fn decode_fail(r: &mut XdrReader) -> Result<Self, XdrError>;
}

impl FailBody for PostOpAttr {
    fn encode_fail(&self, w: &mut XdrWriter) {
        w.optional(self.as_ref());
    }

    fn decode_fail(r: &mut XdrReader) -> Result<Self, XdrError> {
        r.optional()
    }
}

macro_rules! fail_body_via_xdr {
    ($($ty:ty),+) => {
        $(
            impl FailBody for $ty {
                fn encode_fail(&self, w: &mut XdrWriter) {
                    self.encode(w);
                }

                fn decode_fail(r: &mut XdrReader) -> Result<Self, XdrError> {
                    <$ty as Xdr>::decode(r)
                }
            }
        )+
    };
}

fail_body_via_xdr!((), WccData, Rename3ResOk, Link3ResOk);

impl<T: Xdr, F: FailBody> Xdr for NfsResult<T, F> {
    fn encode(&self, w: &mut XdrWriter) {
        match self {
            Self::Ok(body) => {
                NfsStat3::Ok.encode(w);
                body.encode(w);
            }
            Self::Fail(stat, body) => {
                debug_assert_ne!(*stat, NfsStat3::Ok, "a failure needs an error status");
                stat.encode(w);
                body.encode_fail(w);
            }
        }
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        match NfsStat3::decode(r)? {
            NfsStat3::Ok => Ok(Self::Ok(T::decode(r)?)),
            stat => Ok(Self::Fail(stat, F::decode_fail(r)?)),
        }
    }
}
