//! MOUNT v3: hands out the root handle of a share and keeps the list of
//! who mounted what, for DUMP.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use dittofs_meta::FsError;
use dittofs_nfs_wire::mount::{
    DirPath, ExportEntry, Exports, FHandle3, MountEntry, MountList, MountRes3, MountStat3,
    Procedure,
};
use dittofs_runtime::Share;
use dittofs_xdr::{AuthFlavor, XdrReader, XdrWriter};
use parking_lot::Mutex;

use crate::rpc::{CallFailure, Caller, ProcResult, Programs, call};

/// Active mounts as (client address, path), as rmtab keeps them.
#[derive(Default)]
pub(crate) struct MountTable {
    entries: Mutex<Vec<(IpAddr, Bytes)>>,
}

impl MountTable {
    fn add(&self, client: IpAddr, path: Bytes) {
        let mut e = self.entries.lock();
        if !e.iter().any(|(c, p)| *c == client && *p == path) {
            e.push((client, path));
        }
    }

    fn remove(&self, client: IpAddr, path: &[u8]) {
        self.entries
            .lock()
            .retain(|(c, p)| !(*c == client && p == path));
    }

    fn remove_all(&self, client: IpAddr) {
        self.entries.lock().retain(|(c, _)| *c != client);
    }

    fn list(&self) -> Vec<MountEntry> {
        self.entries
            .lock()
            .iter()
            .map(|(c, p)| MountEntry {
                hostname: Bytes::from(c.to_string()),
                directory: p.clone(),
            })
            .collect()
    }
}

fn mount_status(e: &FsError) -> MountStat3 {
    match e {
        FsError::NotFound => MountStat3::NoEnt,
        FsError::AccessDenied | FsError::NotPermitted => MountStat3::Acces,
        FsError::NotDir => MountStat3::NotDir,
        FsError::NameTooLong => MountStat3::NameTooLong,
        FsError::Invalid => MountStat3::Inval,
        _ => MountStat3::ServerFault,
    }
}

/// The share a mount path lies in: the longest share name that is the path
/// or a parent of it.
fn share_for(programs: &Programs, path: &str) -> Option<Arc<Share>> {
    programs
        .registry
        .shares()
        .into_iter()
        .filter(|s| {
            path.strip_prefix(s.name.as_str()).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('/') || s.name.ends_with('/')
            })
        })
        .max_by_key(|s| s.name.len())
}

/// Resolves a mount path: a share name, optionally followed by a path to a
/// directory inside it, looked up as the caller.
async fn mnt(programs: &Programs, caller: &Caller, path: &[u8]) -> Result<Bytes, MountStat3> {
    let text = std::str::from_utf8(path).map_err(|_| MountStat3::NoEnt)?;
    let share = share_for(programs, text).ok_or(MountStat3::NoEnt)?;
    let root = share
        .meta
        .root_handle(&caller.auth)
        .await
        .map_err(|e| mount_status(&e))?;
    let mut handle = Bytes::copy_from_slice(&root);
    for part in text[share.name.len()..]
        .split('/')
        .filter(|p| !p.is_empty())
    {
        let (_, fh) = programs
            .registry
            .resolve(&handle)
            .map_err(|e| mount_status(&e))?;
        let (child, attrs, _) = share
            .meta
            .lookup(&caller.auth, &fh, part.as_bytes())
            .await
            .map_err(|e| mount_status(&e))?;
        if !attrs.is_dir() {
            return Err(MountStat3::NotDir);
        }
        handle = Bytes::copy_from_slice(&child);
    }
    Ok(handle)
}

pub(crate) async fn handle(
    programs: &Programs,
    caller: &Caller,
    proc_: u32,
    args: &mut XdrReader,
) -> ProcResult {
    let client = caller.peer.ip();
    match Procedure::from_u32(proc_).ok_or(CallFailure::ProcUnavail)? {
        Procedure::Null => Ok(XdrWriter::new()),
        Procedure::Mnt => {
            call(args, |DirPath(path): DirPath| async move {
                match mnt(programs, caller, &path).await {
                    Ok(fh) => {
                        tracing::info!(client = %client, path = %String::from_utf8_lossy(&path), "mounted");
                        programs.mounts.add(client, path);
                        MountRes3::Ok {
                            fhandle: FHandle3(fh),
                            auth_flavors: vec![AuthFlavor::Sys as u32, AuthFlavor::None as u32],
                        }
                    }
                    Err(stat) => MountRes3::Err(stat),
                }
            })
            .await
        }
        Procedure::Dump => {
            let visible = programs
                .mounts
                .list()
                .into_iter()
                .filter(|m| {
                    let path = String::from_utf8_lossy(&m.directory);
                    share_for(programs, &path).is_none_or(|s| s.meta.may_list_mounts(client))
                })
                .collect();
            Ok(encoded(&MountList(visible)))
        }
        Procedure::Umnt => {
            call(args, |DirPath(path): DirPath| async move {
                programs.mounts.remove(client, &path);
            })
            .await
        }
        Procedure::UmntAll => {
            programs.mounts.remove_all(client);
            Ok(XdrWriter::new())
        }
        Procedure::Export => {
            let exports = programs
                .registry
                .shares()
                .iter()
                .map(|s| ExportEntry {
                    dir: Bytes::from(s.name.clone()),
                    groups: s.meta.options().clients.allowed.iter().map(|c| Bytes::from(c.to_string())).collect(),
                })
                .collect();
            Ok(encoded(&Exports(exports)))
        }
    }
}

fn encoded<T: dittofs_xdr::Xdr>(v: &T) -> XdrWriter {
    let mut w = XdrWriter::new();
    v.encode(&mut w);
    w
}
