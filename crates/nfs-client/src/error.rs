//! Everything that can go wrong between the client and a server, each as
//! one line that names the server, the program or procedure, and the cause.

use std::net::SocketAddr;
use std::time::Duration;

use dittofs_nfs_wire::mount::MountStat3;
use dittofs_nfs_wire::nfs3::NfsStat3;
use dittofs_xdr::{AcceptStat, AuthStat, RejectedReply, ReplyHeader};

use crate::url::UrlError;

/// An error of the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot connect to {addr} ({service}): {reason}")]
    Connect {
        addr: SocketAddr,
        service: &'static str,
        reason: String,
    },
    /// The URL gives no port and the portmapper cannot be reached.
    #[error(
        "cannot ask the portmapper at {addr} for the NFS and MOUNT ports: {reason} (or give the port in the URL: nfs://HOST:PORT/...)"
    )]
    NoPortmapper { addr: SocketAddr, reason: String },
    /// The portmapper answered, but has no TCP port for the program.
    #[error(
        "the portmapper at {addr} knows no {program} version {version} over TCP (give the port in the URL: nfs://HOST:PORT/...)"
    )]
    NotRegistered {
        addr: SocketAddr,
        program: &'static str,
        version: u32,
    },
    /// The connection failed or was closed while a call was under way.
    #[error("{program} {procedure} to {addr}: {reason}")]
    Io {
        addr: SocketAddr,
        program: &'static str,
        procedure: &'static str,
        reason: String,
    },
    /// An earlier call on this connection failed in a way that leaves the
    /// stream unusable (a timeout, an I/O error, a malformed reply).
    #[error("the connection to {addr} is unusable after an earlier error")]
    Broken { addr: SocketAddr },
    #[error("{program} {procedure} to {addr}: no reply within {}s", after.as_secs_f64())]
    Timeout {
        addr: SocketAddr,
        program: &'static str,
        procedure: &'static str,
        after: Duration,
    },
    /// The server refused the call at the RPC level.
    #[error("{program} {procedure} to {addr}: the server refused the call: {denial}")]
    Rpc {
        addr: SocketAddr,
        program: &'static str,
        procedure: &'static str,
        denial: RpcDenial,
    },
    /// MNT answered with an error status.
    #[error("cannot mount {path} from {addr}: {} ({})", mount_stat_name(*.status), mount_stat_text(*.status))]
    Mount {
        addr: SocketAddr,
        path: String,
        status: MountStat3,
    },
    /// An NFS procedure answered with an error status.
    #[error("NFS {procedure}{}: {} ({})", what.as_deref().map(|w| format!(" {w}")).unwrap_or_default(), nfs_stat_name(*.status), nfs_stat_text(*.status))]
    Nfs {
        procedure: &'static str,
        /// The name or object the call was about, when there is one.
        what: Option<String>,
        status: NfsStat3,
    },
    /// A reply that does not decode, or answers another call.
    #[error("{program} {procedure} to {addr}: malformed reply: {detail}")]
    Malformed {
        addr: SocketAddr,
        program: &'static str,
        procedure: &'static str,
        detail: String,
    },
}

impl ClientError {
    /// The NFS status, for errors that carry one.
    pub fn nfs_status(&self) -> Option<NfsStat3> {
        match self {
            Self::Nfs { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Why the server refused a call before running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RpcDenial {
    #[error("program unavailable (PROG_UNAVAIL)")]
    ProgUnavail,
    #[error("program version not served, it serves {low} to {high} (PROG_MISMATCH)")]
    ProgMismatch { low: u32, high: u32 },
    #[error("procedure unavailable (PROC_UNAVAIL)")]
    ProcUnavail,
    #[error("arguments not understood (GARBAGE_ARGS)")]
    GarbageArgs,
    #[error("server error (SYSTEM_ERR)")]
    SystemErr,
    #[error("RPC version not served, it serves {low} to {high} (RPC_MISMATCH)")]
    RpcMismatch { low: u32, high: u32 },
    #[error("authentication failed ({})", auth_stat_name(*.0))]
    Auth(AuthStat),
}

impl RpcDenial {
    /// The denial a reply header carries; `None` for a successful call.
    pub fn from_header(h: &ReplyHeader) -> Option<Self> {
        match h {
            ReplyHeader::Accepted { stat, .. } => match stat {
                AcceptStat::Success => None,
                AcceptStat::ProgUnavail => Some(Self::ProgUnavail),
                AcceptStat::ProgMismatch { low, high } => Some(Self::ProgMismatch {
                    low: *low,
                    high: *high,
                }),
                AcceptStat::ProcUnavail => Some(Self::ProcUnavail),
                AcceptStat::GarbageArgs => Some(Self::GarbageArgs),
                AcceptStat::SystemErr => Some(Self::SystemErr),
            },
            ReplyHeader::Denied(RejectedReply::RpcMismatch { low, high }) => {
                Some(Self::RpcMismatch {
                    low: *low,
                    high: *high,
                })
            }
            ReplyHeader::Denied(RejectedReply::AuthError(s)) => Some(Self::Auth(*s)),
        }
    }
}

fn auth_stat_name(s: AuthStat) -> &'static str {
    match s {
        AuthStat::Ok => "AUTH_OK",
        AuthStat::BadCred => "AUTH_BADCRED",
        AuthStat::RejectedCred => "AUTH_REJECTEDCRED",
        AuthStat::BadVerf => "AUTH_BADVERF",
        AuthStat::RejectedVerf => "AUTH_REJECTEDVERF",
        AuthStat::TooWeak => "AUTH_TOOWEAK",
        AuthStat::InvalidResp => "AUTH_INVALIDRESP",
        AuthStat::Failed => "AUTH_FAILED",
    }
}

/// The RFC 1813 name of a MOUNT status (`MNT3ERR_NOENT`).
pub fn mount_stat_name(s: MountStat3) -> &'static str {
    match s {
        MountStat3::Ok => "MNT3_OK",
        MountStat3::Perm => "MNT3ERR_PERM",
        MountStat3::NoEnt => "MNT3ERR_NOENT",
        MountStat3::Io => "MNT3ERR_IO",
        MountStat3::Acces => "MNT3ERR_ACCES",
        MountStat3::NotDir => "MNT3ERR_NOTDIR",
        MountStat3::Inval => "MNT3ERR_INVAL",
        MountStat3::NameTooLong => "MNT3ERR_NAMETOOLONG",
        MountStat3::NotSupp => "MNT3ERR_NOTSUPP",
        MountStat3::ServerFault => "MNT3ERR_SERVERFAULT",
    }
}

fn mount_stat_text(s: MountStat3) -> &'static str {
    match s {
        MountStat3::Ok => "success",
        MountStat3::Perm => "not owner",
        MountStat3::NoEnt => "no such export or directory",
        MountStat3::Io => "I/O error",
        MountStat3::Acces => "permission denied",
        MountStat3::NotDir => "not a directory",
        MountStat3::Inval => "invalid argument",
        MountStat3::NameTooLong => "path too long",
        MountStat3::NotSupp => "operation not supported",
        MountStat3::ServerFault => "server fault",
    }
}

/// The RFC 1813 name of an NFS status (`NFS3ERR_NOENT`).
pub fn nfs_stat_name(s: NfsStat3) -> &'static str {
    match s {
        NfsStat3::Ok => "NFS3_OK",
        NfsStat3::Perm => "NFS3ERR_PERM",
        NfsStat3::NoEnt => "NFS3ERR_NOENT",
        NfsStat3::Io => "NFS3ERR_IO",
        NfsStat3::NxIo => "NFS3ERR_NXIO",
        NfsStat3::Acces => "NFS3ERR_ACCES",
        NfsStat3::Exist => "NFS3ERR_EXIST",
        NfsStat3::XDev => "NFS3ERR_XDEV",
        NfsStat3::NoDev => "NFS3ERR_NODEV",
        NfsStat3::NotDir => "NFS3ERR_NOTDIR",
        NfsStat3::IsDir => "NFS3ERR_ISDIR",
        NfsStat3::Inval => "NFS3ERR_INVAL",
        NfsStat3::FBig => "NFS3ERR_FBIG",
        NfsStat3::NoSpc => "NFS3ERR_NOSPC",
        NfsStat3::RoFs => "NFS3ERR_ROFS",
        NfsStat3::MLink => "NFS3ERR_MLINK",
        NfsStat3::NameTooLong => "NFS3ERR_NAMETOOLONG",
        NfsStat3::NotEmpty => "NFS3ERR_NOTEMPTY",
        NfsStat3::DQuot => "NFS3ERR_DQUOT",
        NfsStat3::Stale => "NFS3ERR_STALE",
        NfsStat3::Remote => "NFS3ERR_REMOTE",
        NfsStat3::BadHandle => "NFS3ERR_BADHANDLE",
        NfsStat3::NotSync => "NFS3ERR_NOT_SYNC",
        NfsStat3::BadCookie => "NFS3ERR_BAD_COOKIE",
        NfsStat3::NotSupp => "NFS3ERR_NOTSUPP",
        NfsStat3::TooSmall => "NFS3ERR_TOOSMALL",
        NfsStat3::ServerFault => "NFS3ERR_SERVERFAULT",
        NfsStat3::BadType => "NFS3ERR_BADTYPE",
        NfsStat3::Jukebox => "NFS3ERR_JUKEBOX",
    }
}

fn nfs_stat_text(s: NfsStat3) -> &'static str {
    match s {
        NfsStat3::Ok => "success",
        NfsStat3::Perm => "not owner",
        NfsStat3::NoEnt => "no such file or directory",
        NfsStat3::Io => "I/O error",
        NfsStat3::NxIo => "no such device or address",
        NfsStat3::Acces => "permission denied",
        NfsStat3::Exist => "file exists",
        NfsStat3::XDev => "cross-device link",
        NfsStat3::NoDev => "no such device",
        NfsStat3::NotDir => "not a directory",
        NfsStat3::IsDir => "is a directory",
        NfsStat3::Inval => "invalid argument",
        NfsStat3::FBig => "file too large",
        NfsStat3::NoSpc => "no space left on device",
        NfsStat3::RoFs => "read-only file system",
        NfsStat3::MLink => "too many links",
        NfsStat3::NameTooLong => "name too long",
        NfsStat3::NotEmpty => "directory not empty",
        NfsStat3::DQuot => "quota exceeded",
        NfsStat3::Stale => "stale file handle",
        NfsStat3::Remote => "too many levels of remote in path",
        NfsStat3::BadHandle => "bad file handle",
        NfsStat3::NotSync => "setattr guard mismatch",
        NfsStat3::BadCookie => "stale directory cookie",
        NfsStat3::NotSupp => "operation not supported",
        NfsStat3::TooSmall => "buffer too small",
        NfsStat3::ServerFault => "server fault",
        NfsStat3::BadType => "type not supported",
        NfsStat3::Jukebox => "try again later",
    }
}

/// `io::Error` as a short lower-case phrase ("connection refused") rather
/// than the platform's text with its error number.
pub(crate) fn describe_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset by the server".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::BrokenPipe => "connection closed by the server".into(),
        K::UnexpectedEof => "connection closed by the server".into(),
        K::TimedOut => "timed out".into(),
        K::AddrNotAvailable => "address not available".into(),
        K::HostUnreachable => "host unreachable".into(),
        K::NetworkUnreachable => "network unreachable".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_readable_line() {
        let addr: SocketAddr = "127.0.0.1:2049".parse().unwrap();
        let e = ClientError::Connect {
            addr,
            service: "MOUNT",
            reason: describe_io(&std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        };
        assert_eq!(
            e.to_string(),
            "cannot connect to 127.0.0.1:2049 (MOUNT): connection refused"
        );
        let e = ClientError::Nfs {
            procedure: "CREATE",
            what: Some("\"f\"".into()),
            status: NfsStat3::Exist,
        };
        assert_eq!(
            e.to_string(),
            "NFS CREATE \"f\": NFS3ERR_EXIST (file exists)"
        );
        assert_eq!(e.nfs_status(), Some(NfsStat3::Exist));
        let e = ClientError::Mount {
            addr,
            path: "/nope".into(),
            status: MountStat3::NoEnt,
        };
        assert_eq!(
            e.to_string(),
            "cannot mount /nope from 127.0.0.1:2049: MNT3ERR_NOENT (no such export or directory)"
        );
        let e = ClientError::Rpc {
            addr,
            program: "NFS",
            procedure: "NULL",
            denial: RpcDenial::ProgMismatch { low: 4, high: 4 },
        };
        assert!(e.to_string().contains("PROG_MISMATCH"), "{e}");
        let e = ClientError::Timeout {
            addr,
            program: "NFS",
            procedure: "COMMIT",
            after: Duration::from_millis(1500),
        };
        assert_eq!(
            e.to_string(),
            "NFS COMMIT to 127.0.0.1:2049: no reply within 1.5s"
        );
    }

    #[test]
    fn every_status_has_a_name() {
        for s in NfsStat3::ALL {
            assert!(nfs_stat_name(*s).starts_with("NFS3"));
        }
        for s in MountStat3::ALL {
            assert!(mount_stat_name(*s).starts_with("MNT3"));
        }
    }
}
