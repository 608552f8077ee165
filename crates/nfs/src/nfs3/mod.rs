//! NFSv3 (RFC 1813): the procedure table and one handler per procedure.
//! Every handler decodes, makes one service call, and encodes; permissions,
//! names and WCC data are the services' business.

mod attrs;
mod convert;
mod fs;
mod io;
mod listing;
mod names;
mod request;

use std::sync::Arc;

use dittofs_meta::{FileHandle, FsResult};
use dittofs_nfs_wire::nfs3::{NfsFh3, PostOpAttr, Procedure, WccData};
use dittofs_runtime::Share;
use dittofs_xdr::{XdrReader, XdrWriter};

use tracing::Instrument;

use crate::rpc::{CallFailure, Caller, ProcResult, Programs, call};
use request::Call;

pub(crate) async fn handle(
    p: &Programs,
    c: &Caller,
    proc_: u32,
    args: &mut XdrReader,
) -> ProcResult {
    use Procedure as P;
    let procedure = Procedure::from_u32(proc_).ok_or(CallFailure::ProcUnavail)?;
    // The adapter's own bucket first: a call it turns away takes no token
    // from the server-wide one.
    if procedure != P::Null && !(p.limit.admit() && p.registry.admit()) {
        return Ok(convert::jukebox(procedure));
    }
    let call = Call {
        peer: c.peer,
        procedure,
        args: args.clone(),
    };
    let span = call.span();
    call.scope(run(p, c, procedure, args))
        .instrument(span)
        .await
}

async fn run(p: &Programs, c: &Caller, procedure: Procedure, args: &mut XdrReader) -> ProcResult {
    use Procedure as P;
    match procedure {
        P::Null => Ok(XdrWriter::new()),
        P::GetAttr => call(args, |a| attrs::getattr(p, c, a)).await,
        P::SetAttr => call(args, |a| attrs::setattr(p, c, a)).await,
        P::Lookup => call(args, |a| names::lookup(p, c, a)).await,
        P::Access => call(args, |a| attrs::access(p, c, a)).await,
        P::ReadLink => call(args, |a| attrs::readlink(p, c, a)).await,
        P::Read => call(args, |a| io::read(p, c, a)).await,
        P::Write => call(args, |a| io::write(p, c, a)).await,
        P::Create => call(args, |a| names::create(p, c, a)).await,
        P::Mkdir => call(args, |a| names::mkdir(p, c, a)).await,
        P::Symlink => call(args, |a| names::symlink(p, c, a)).await,
        P::Mknod => call(args, |a| names::mknod(p, c, a)).await,
        P::Remove => call(args, |a| names::remove(p, c, a)).await,
        P::Rmdir => call(args, |a| names::rmdir(p, c, a)).await,
        P::Rename => call(args, |a| names::rename(p, c, a)).await,
        P::Link => call(args, |a| names::link(p, c, a)).await,
        P::ReadDir => call(args, |a| listing::readdir(p, c, a)).await,
        P::ReadDirPlus => call(args, |a| listing::readdirplus(p, c, a)).await,
        P::FsStat => call(args, |a| fs::fsstat(p, c, a)).await,
        P::FsInfo => call(args, |a| fs::fsinfo(p, c, a)).await,
        P::PathConf => call(args, |a| fs::pathconf(p, c, a)).await,
        P::Commit => call(args, |a| io::commit(p, c, a)).await,
    }
}

impl Programs {
    /// The share and decoded handle behind a wire handle.
    pub(crate) fn resolve(&self, fh: &NfsFh3) -> FsResult<(Arc<Share>, FileHandle)> {
        self.registry.resolve(&fh.0)
    }

    /// Attributes for a failure reply, when the object can still be read.
    pub(crate) async fn post_op(&self, c: &Caller, fh: &NfsFh3) -> PostOpAttr {
        let (share, h) = self.resolve(fh).ok()?;
        let inode = share.meta.attrs_if_any(&c.auth, &h).await?;
        Some(convert::fattr(share.id, &inode))
    }

    pub(crate) async fn wcc_after(&self, c: &Caller, fh: &NfsFh3) -> WccData {
        WccData {
            before: None,
            after: self.post_op(c, fh).await,
        }
    }
}
