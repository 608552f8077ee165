//! Wire types of the portmapper (v2), MOUNT v3 (RFC 1813 appendix I) and
//! NFSv3 (RFC 1813) programs, each with its XDR encoding in both directions.

#[macro_use]
mod macros;
mod list;

pub mod mount;
pub mod nfs3;
pub mod portmap;

pub use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};
