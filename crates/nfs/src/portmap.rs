//! Portmapper v2 on the NFS port (and on port 111 when configured), so a
//! client finds NFS and MOUNT without rpcbind on the machine. It only knows
//! this server's own programs; SET and UNSET are refused.

use dittofs_nfs_wire::portmap::{IPPROTO_TCP, Mapping, PmapList, Procedure};
use dittofs_nfs_wire::{mount, nfs3, portmap};
use dittofs_xdr::{XdrReader, XdrWriter};

use crate::rpc::{CallFailure, ProcResult, Programs};

fn mappings(port: u16) -> Vec<Mapping> {
    [
        (portmap::PROGRAM, portmap::VERSION),
        (mount::PROGRAM, mount::VERSION),
        (nfs3::PROGRAM, nfs3::VERSION),
    ]
    .into_iter()
    .map(|(prog, vers)| Mapping {
        prog,
        vers,
        prot: IPPROTO_TCP,
        port: port as u32,
    })
    .collect()
}

pub(crate) fn handle(programs: &Programs, proc_: u32, args: &mut XdrReader) -> ProcResult {
    let mut w = XdrWriter::new();
    match Procedure::from_u32(proc_).ok_or(CallFailure::ProcUnavail)? {
        Procedure::Null => {}
        Procedure::Set | Procedure::Unset => {
            Mapping::decode_from(args)?;
            w.bool(false);
        }
        Procedure::GetPort => {
            let want = Mapping::decode_from(args)?;
            let port = mappings(programs.port)
                .into_iter()
                .find(|m| m.prog == want.prog && m.vers == want.vers && m.prot == want.prot)
                .map_or(0, |m| m.port);
            w.u32(port);
        }
        Procedure::Dump => {
            dittofs_xdr::Xdr::encode(&PmapList(mappings(programs.port)), &mut w);
        }
        // Forwarding calls to other programs is an amplification vector
        // and nothing here needs it.
        Procedure::CallIt => return Err(CallFailure::ProcUnavail),
    }
    Ok(w)
}

trait DecodeFrom: Sized {
    fn decode_from(r: &mut XdrReader) -> Result<Self, CallFailure>;
}

impl DecodeFrom for Mapping {
    fn decode_from(r: &mut XdrReader) -> Result<Self, CallFailure> {
        <Mapping as dittofs_xdr::Xdr>::decode(r).map_err(|_| CallFailure::GarbageArgs)
    }
}
