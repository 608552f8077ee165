//! The NFSv3 call being served: its trace span, and the context of the one
//! log line a call that failed on the server's side leaves.
//!
//! Both cost nothing per call unless used: the span is disabled unless
//! traces are exported, and the context (the caller's address, the
//! procedure, the undecoded arguments) is only read, and the handle only
//! decoded and formatted, when a failure is logged.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use dittofs_meta::FsError;
use dittofs_nfs_wire::nfs3::{NfsFh3, NfsStat3, Procedure};
use dittofs_xdr::{Xdr, XdrReader};
use tracing::Span;
use tracing::field::Empty;

tokio::task_local! {
    static CURRENT: Call;
}

/// Who asked for what.
pub(super) struct Call {
    pub peer: SocketAddr,
    pub procedure: Procedure,
    /// The arguments, before decoding; every NFSv3 procedure but NULL
    /// begins with a file handle.
    pub args: XdrReader,
}

impl Call {
    fn handle(&self) -> Option<Bytes> {
        NfsFh3::decode(&mut self.args.clone()).ok().map(|h| h.0)
    }

    /// Runs `f` with this call as the context of its failure logs.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    /// The call's span in a trace: named after the procedure, with the
    /// client and the handle.
    pub fn span(&self) -> Span {
        let span = tracing::info_span!(
            target: "dittofs_trace",
            "nfs3",
            otel.name = name(self.procedure),
            otel.kind = "server",
            rpc.system = "onc_rpc",
            client.address = %self.peer.ip(),
            client.port = self.peer.port(),
            nfs.handle = Empty,
        );
        if !span.is_disabled()
            && let Some(h) = self.handle()
        {
            span.record("nfs.handle", tracing::field::display(Hex(&h)));
        }
        span
    }
}

/// Logs a failure that is the server's business: a store or block store
/// error (the client sees only NFS3ERR_IO), or a handle this server never
/// signed (forged, or made under another handle key). What a client
/// expects to see fail (no such name, permission denied, stale handles
/// after a remove) is not logged.
pub(super) fn log_failure(e: &FsError, status: NfsStat3) {
    let _ = CURRENT.try_with(|c| {
        let handle = c.handle();
        let handle = handle.as_deref().map(Hex);
        let (client, procedure) = (c.peer, name(c.procedure));
        match status {
            NfsStat3::BadHandle => tracing::warn!(
                %client, procedure, handle = handle.map(tracing::field::display),
                ?status, error = %e, "a file handle this server did not sign"
            ),
            _ => tracing::error!(
                %client, procedure, handle = handle.map(tracing::field::display),
                ?status, error = %e, "NFS request failed"
            ),
        }
    });
}

/// The procedure as RFC 1813 spells it.
pub(super) fn name(p: Procedure) -> &'static str {
    use Procedure as P;
    match p {
        P::Null => "NULL",
        P::GetAttr => "GETATTR",
        P::SetAttr => "SETATTR",
        P::Lookup => "LOOKUP",
        P::Access => "ACCESS",
        P::ReadLink => "READLINK",
        P::Read => "READ",
        P::Write => "WRITE",
        P::Create => "CREATE",
        P::Mkdir => "MKDIR",
        P::Symlink => "SYMLINK",
        P::Mknod => "MKNOD",
        P::Remove => "REMOVE",
        P::Rmdir => "RMDIR",
        P::Rename => "RENAME",
        P::Link => "LINK",
        P::ReadDir => "READDIR",
        P::ReadDirPlus => "READDIRPLUS",
        P::FsStat => "FSSTAT",
        P::FsInfo => "FSINFO",
        P::PathConf => "PATHCONF",
        P::Commit => "COMMIT",
    }
}

/// Bytes as lowercase hex, formatted only when written out.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}
