//! NFS version 3 (RFC 1813): program and procedure numbers, the shared data
//! types, and the arguments and results of all 22 procedures. Every result
//! is an [`NfsResult`] of a success body and a failure body.

mod attr;
mod create;
mod dir;
mod fs;
mod io;
mod names;
mod result;
mod types;

pub use attr::*;
pub use create::*;
pub use dir::*;
pub use fs::*;
pub use io::*;
pub use names::*;
pub use result::{FailBody, NfsResult, STATUS_SIZE};
pub use types::*;

pub const PROGRAM: u32 = 100003;
pub const VERSION: u32 = 3;

wire_enum! {
    /// NFSv3 procedure numbers.
    pub enum Procedure("nfs3 procedure") {
        Null = 0,
        GetAttr = 1,
        SetAttr = 2,
        Lookup = 3,
        Access = 4,
        ReadLink = 5,
        Read = 6,
        Write = 7,
        Create = 8,
        Mkdir = 9,
        Symlink = 10,
        Mknod = 11,
        Remove = 12,
        Rmdir = 13,
        Rename = 14,
        Link = 15,
        ReadDir = 16,
        ReadDirPlus = 17,
        FsStat = 18,
        FsInfo = 19,
        PathConf = 20,
        Commit = 21,
    }
}
