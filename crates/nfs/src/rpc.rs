//! One RPC call in, one reply out: header checks, authentication, and
//! routing to the program that answers.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use dittofs_meta::AuthContext;
use dittofs_nfs_wire::{mount, nfs3, portmap};
use dittofs_runtime::meter::AdapterMeter;
use dittofs_runtime::{Registry, RequestLimit};
use dittofs_xdr::{
    AcceptStat, AuthFlavor, AuthStat, AuthSys, CallError, CallHeader, RPC_VERSION, RejectedReply,
    ReplyHeader, Xdr, XdrReader, XdrWriter, decode_call_header, record_mark,
};

use crate::NfsLimits;
use crate::meter;
use crate::mount::MountTable;

/// Who sent a call, after authentication.
pub(crate) struct Caller {
    pub auth: AuthContext,
    pub peer: SocketAddr,
}

/// Why a call got no procedure result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallFailure {
    ProcUnavail,
    GarbageArgs,
}

pub(crate) type ProcResult = Result<XdrWriter, CallFailure>;

/// Everything the programs need, shared by all connections.
pub(crate) struct Programs {
    pub registry: Arc<Registry>,
    pub mounts: MountTable,
    pub limits: NfsLimits,
    /// The port NFS and MOUNT are served on, for GETPORT.
    pub port: u16,
    pub meter: Arc<AdapterMeter>,
    /// `adapters.nfs.rate_limiting`.
    pub limit: RequestLimit,
}

/// Decodes the arguments, runs the procedure, encodes its result.
/// Trailing bytes after the arguments are tolerated, as the kernel does.
pub(crate) async fn call<A, R, F, Fut>(args: &mut XdrReader, f: F) -> ProcResult
where
    A: Xdr,
    R: Xdr,
    F: FnOnce(A) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    let a = A::decode(args).map_err(|_| CallFailure::GarbageArgs)?;
    let result = f(a).await;
    let mut w = XdrWriter::with_capacity(512);
    result.encode(&mut w);
    Ok(w)
}

fn reply(xid: u32, header: ReplyHeader, body: Option<XdrWriter>) -> Vec<Bytes> {
    let mut w = XdrWriter::with_capacity(64);
    header.encode(xid, &mut w);
    let mut segs = w.into_segments();
    if let Some(body) = body {
        segs.extend(body.into_segments());
    }
    let len = segs.iter().map(Bytes::len).sum();
    segs.insert(0, record_mark(len));
    segs
}

fn denied(xid: u32, r: RejectedReply) -> Vec<Bytes> {
    reply(xid, ReplyHeader::Denied(r), None)
}

fn accepted(xid: u32, stat: AcceptStat) -> Vec<Bytes> {
    reply(xid, ReplyHeader::accepted(stat), None)
}

/// The credential as the services will see it.
fn authenticate(call: &CallHeader, peer: SocketAddr) -> Result<AuthContext, AuthStat> {
    match call.cred.flavor {
        f if f == AuthFlavor::Sys as u32 => {
            let sys = AuthSys::decode(call.cred.body.clone()).map_err(|_| AuthStat::BadCred)?;
            Ok(AuthContext::new(sys.uid, sys.gid, sys.gids).with_client(peer))
        }
        f if f == AuthFlavor::None as u32 => Ok(AuthContext::anonymous().with_client(peer)),
        _ => Err(AuthStat::BadCred),
    }
}

/// Answers one record: `None` when it deserves no reply (it is not a call
/// or has no transaction id to answer to).
pub(crate) async fn dispatch(
    programs: &Programs,
    record: Bytes,
    peer: SocketAddr,
) -> Option<Vec<Bytes>> {
    let mut r = XdrReader::new(record);
    let call = match decode_call_header(&mut r) {
        Ok(c) => c,
        Err(CallError::Unreadable | CallError::NotACall { .. }) => return None,
        Err(CallError::BadHeader { xid }) => return Some(accepted(xid, AcceptStat::GarbageArgs)),
        Err(CallError::RpcMismatch { xid, .. }) => {
            return Some(denied(
                xid,
                RejectedReply::RpcMismatch {
                    low: RPC_VERSION,
                    high: RPC_VERSION,
                },
            ));
        }
        Err(CallError::BadCred { xid }) => {
            return Some(denied(xid, RejectedReply::AuthError(AuthStat::BadCred)));
        }
        Err(CallError::BadVerf { xid }) => {
            return Some(denied(xid, RejectedReply::AuthError(AuthStat::BadVerf)));
        }
    };
    let timer = programs
        .meter
        .start(meter::operation(call.prog, call.proc_));
    let (reply, status) = answer(programs, call, r, peer, timer.is_some()).await;
    if let Some(t) = timer {
        t.finish(status);
    }
    Some(reply)
}

/// The reply to a decoded call, and its status index for the meter (read
/// from the result only when `metered`).
async fn answer(
    programs: &Programs,
    call: CallHeader,
    mut r: XdrReader,
    peer: SocketAddr,
    metered: bool,
) -> (Vec<Bytes>, usize) {
    let xid = call.xid;
    let caller = match authenticate(&call, peer) {
        Ok(auth) => Caller { auth, peer },
        Err(stat) => {
            return (
                denied(xid, RejectedReply::AuthError(stat)),
                meter::AUTH_ERROR,
            );
        }
    };
    let supported = match call.prog {
        portmap::PROGRAM => portmap::VERSION,
        mount::PROGRAM => mount::VERSION,
        nfs3::PROGRAM => nfs3::VERSION,
        _ => return (accepted(xid, AcceptStat::ProgUnavail), meter::PROG_UNAVAIL),
    };
    if call.vers != supported {
        let mismatch = AcceptStat::ProgMismatch {
            low: supported,
            high: supported,
        };
        return (accepted(xid, mismatch), meter::PROG_MISMATCH);
    }
    let run = async {
        match call.prog {
            portmap::PROGRAM => crate::portmap::handle(programs, call.proc_, &mut r),
            mount::PROGRAM => crate::mount::handle(programs, &caller, call.proc_, &mut r).await,
            _ => crate::nfs3::handle(programs, &caller, call.proc_, &mut r).await,
        }
    };
    // A bug in one procedure must cost that call, not the connection (whose
    // client would otherwise wait for this reply forever).
    let Ok(result) = CatchUnwind(Box::pin(run)).await else {
        tracing::error!(%peer, prog = call.prog, proc_ = call.proc_, "procedure panicked");
        return (accepted(xid, AcceptStat::SystemErr), meter::SYSTEM_ERR);
    };
    match result {
        Ok(body) => {
            let status = if metered {
                meter::result_status(call.prog, call.proc_, &body)
            } else {
                meter::OK
            };
            (reply(xid, ReplyHeader::success(), Some(body)), status)
        }
        Err(CallFailure::ProcUnavail) => {
            (accepted(xid, AcceptStat::ProcUnavail), meter::PROC_UNAVAIL)
        }
        Err(CallFailure::GarbageArgs) => {
            (accepted(xid, AcceptStat::GarbageArgs), meter::GARBAGE_ARGS)
        }
    }
}

/// Turns a panic while polling into an error result.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
