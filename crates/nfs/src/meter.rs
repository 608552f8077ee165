//! The names the NFS adapter reports its calls under: one operation per
//! procedure of each program, and a status per reply (the `nfsstat3` name
//! without `NFS3ERR_`, which MOUNT's statuses share, or why the call got
//! no result).

use dittofs_nfs_wire::nfs3::NfsStat3;
use dittofs_nfs_wire::{mount, nfs3, portmap};
use dittofs_runtime::meter::Vocabulary;
use dittofs_xdr::XdrWriter;

pub(crate) const VOCABULARY: Vocabulary = Vocabulary {
    adapter: "nfs",
    operations: OPERATIONS,
    statuses: STATUSES,
};

const OPERATIONS: &[&str] = &[
    // NFSv3, by procedure number.
    "NULL",
    "GETATTR",
    "SETATTR",
    "LOOKUP",
    "ACCESS",
    "READLINK",
    "READ",
    "WRITE",
    "CREATE",
    "MKDIR",
    "SYMLINK",
    "MKNOD",
    "REMOVE",
    "RMDIR",
    "RENAME",
    "LINK",
    "READDIR",
    "READDIRPLUS",
    "FSSTAT",
    "FSINFO",
    "PATHCONF",
    "COMMIT",
    // MOUNT v3.
    "MOUNT_NULL",
    "MNT",
    "MOUNT_DUMP",
    "UMNT",
    "UMNTALL",
    "EXPORT",
    // Portmapper v2.
    "PMAP_NULL",
    "PMAP_SET",
    "PMAP_UNSET",
    "PMAP_GETPORT",
    "PMAP_DUMP",
    "PMAP_CALLIT",
    "OTHER",
];

const MOUNT_BASE: usize = 22;
const PORTMAP_BASE: usize = 28;
const OTHER_OPERATION: usize = 34;

/// In `NfsStat3::ALL` order, then the failures that have no result.
const STATUSES: &[&str] = &[
    "OK",
    "PERM",
    "NOENT",
    "IO",
    "NXIO",
    "ACCES",
    "EXIST",
    "XDEV",
    "NODEV",
    "NOTDIR",
    "ISDIR",
    "INVAL",
    "FBIG",
    "NOSPC",
    "ROFS",
    "MLINK",
    "NAMETOOLONG",
    "NOTEMPTY",
    "DQUOT",
    "STALE",
    "REMOTE",
    "BADHANDLE",
    "NOT_SYNC",
    "BAD_COOKIE",
    "NOTSUPP",
    "TOOSMALL",
    "SERVERFAULT",
    "BADTYPE",
    "JUKEBOX",
    "PROC_UNAVAIL",
    "GARBAGE_ARGS",
    "SYSTEM_ERR",
    "PROG_UNAVAIL",
    "PROG_MISMATCH",
    "AUTH_ERROR",
    "OTHER",
];

pub(crate) const OK: usize = 0;
pub(crate) const PROC_UNAVAIL: usize = 29;
pub(crate) const GARBAGE_ARGS: usize = 30;
pub(crate) const SYSTEM_ERR: usize = 31;
pub(crate) const PROG_UNAVAIL: usize = 32;
pub(crate) const PROG_MISMATCH: usize = 33;
pub(crate) const AUTH_ERROR: usize = 34;
const OTHER_STATUS: usize = 35;

/// The operation index of a call.
pub(crate) fn operation(prog: u32, proc_: u32) -> usize {
    let p = proc_ as usize;
    match prog {
        nfs3::PROGRAM if p < MOUNT_BASE => p,
        mount::PROGRAM if p < PORTMAP_BASE - MOUNT_BASE => MOUNT_BASE + p,
        portmap::PROGRAM if p < OTHER_OPERATION - PORTMAP_BASE => PORTMAP_BASE + p,
        _ => OTHER_OPERATION,
    }
}

/// The status index of a procedure's result: the status word it starts
/// with for NFSv3 procedures and MNT, which are unions on a status.
pub(crate) fn result_status(prog: u32, proc_: u32, body: &XdrWriter) -> usize {
    let has_status = match prog {
        nfs3::PROGRAM => proc_ != nfs3::Procedure::Null as u32,
        mount::PROGRAM => proc_ == mount::Procedure::Mnt as u32,
        _ => false,
    };
    if !has_status {
        return OK;
    }
    body.first_u32()
        .and_then(NfsStat3::from_u32)
        .and_then(|s| NfsStat3::ALL.iter().position(|a| *a == s))
        .unwrap_or(OTHER_STATUS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_line_up_with_the_wire() {
        for (i, s) in NfsStat3::ALL.iter().enumerate() {
            let wire = format!("{s:?}").to_ascii_uppercase();
            assert_eq!(STATUSES[i].replace('_', ""), wire, "status {i}");
        }
        assert_eq!(STATUSES[PROC_UNAVAIL], "PROC_UNAVAIL");
        assert_eq!(STATUSES[AUTH_ERROR], "AUTH_ERROR");
        assert_eq!(STATUSES[OTHER_STATUS], "OTHER");
        assert_eq!(OPERATIONS[operation(nfs3::PROGRAM, 7)], "WRITE");
        assert_eq!(OPERATIONS[operation(nfs3::PROGRAM, 21)], "COMMIT");
        assert_eq!(OPERATIONS[operation(nfs3::PROGRAM, 22)], "OTHER");
        assert_eq!(OPERATIONS[operation(mount::PROGRAM, 1)], "MNT");
        assert_eq!(OPERATIONS[operation(mount::PROGRAM, 5)], "EXPORT");
        assert_eq!(OPERATIONS[operation(portmap::PROGRAM, 3)], "PMAP_GETPORT");
        assert_eq!(OPERATIONS[operation(portmap::PROGRAM, 6)], "OTHER");
        assert_eq!(OPERATIONS[operation(1, 0)], "OTHER");
    }

    #[test]
    fn status_comes_from_the_result() {
        let mut w = XdrWriter::new();
        w.u32(NfsStat3::Jukebox as u32);
        assert_eq!(STATUSES[result_status(nfs3::PROGRAM, 7, &w)], "JUKEBOX");
        assert_eq!(STATUSES[result_status(portmap::PROGRAM, 3, &w)], "OK");
        let mut w = XdrWriter::new();
        w.u32(12345);
        assert_eq!(STATUSES[result_status(nfs3::PROGRAM, 1, &w)], "OTHER");
    }
}
