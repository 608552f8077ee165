//! XDR (RFC 4506) encoding and ONC-RPC (RFC 5531) messages, authentication
//! bodies and TCP record marking.
//!
//! This crate owns the bytes on the wire below any particular program: how a
//! value is laid out, how a call and a reply are framed, and how records are
//! cut out of a TCP stream under a size cap. It knows nothing about NFS, MOUNT
//! or the portmapper; `dittofs-nfs` builds those programs on top of it.
//!
//! Decoding works on [`bytes::Bytes`], so variable-length opaque data (a WRITE
//! payload) is a zero-copy slice of the received record. Encoding collects
//! segments, so a READ payload is handed to the socket without being copied
//! into the reply buffer.

mod auth;
mod codec;
mod record;
mod rpc;

pub use auth::{AuthFlavor, AuthSys, MAX_AUTH_BYTES, MAX_MACHINE_NAME, MAX_SUPPLEMENTARY_GIDS};
pub use codec::{Xdr, XdrError, XdrReader, XdrWriter};
pub use record::{RecordError, RecordReader, record_mark, write_record, write_segments};
pub use rpc::{
    AcceptStat, AuthStat, CallError, CallHeader, OpaqueAuth, RPC_VERSION, RejectedReply,
    ReplyHeader, decode_call_header,
};
