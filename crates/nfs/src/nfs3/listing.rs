//! READDIR and READDIRPLUS, filled up to the byte budget the client gave.

use bytes::Bytes;
use dittofs_meta::FsError;
use dittofs_nfs_wire::nfs3::*;

use super::convert::{fattr, status};
use crate::rpc::{Caller, Programs};

/// The smallest an entry can encode to (a one-byte name); used to ask the
/// service for no more entries than could possibly fit.
const MIN_ENTRY: usize = 24;
const MAX_ENTRIES_PER_REPLY: usize = 4096;

/// The smallest a READDIRPLUS entry with attributes and a handle encodes
/// to; entries fetched past what `maxcount` can hold are wasted work.
const MIN_ENTRY_PLUS: usize = 160;

fn entry_limit(budget: u32, min_entry: usize) -> usize {
    (budget as usize / min_entry).clamp(1, MAX_ENTRIES_PER_REPLY)
}

pub(super) async fn readdir(p: &Programs, c: &Caller, a: ReadDir3Args) -> ReadDir3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.dir)?;
        let listing = s
            .meta
            .readdir(
                &c.auth,
                &fh,
                a.cookie,
                a.cookieverf,
                entry_limit(a.count, MIN_ENTRY),
                false,
            )
            .await?;
        let mut used = STATUS_SIZE + readdir3_resok_overhead(true);
        let mut entries = Vec::with_capacity(listing.entries.len());
        for e in &listing.entries {
            let size = entry3_xdr_size(e.name.len());
            if used + size > a.count as usize {
                break;
            }
            used += size;
            entries.push(Entry3 {
                fileid: e.inode,
                name: e.name.clone(),
                cookie: e.cookie,
            });
        }
        if entries.is_empty() && !listing.entries.is_empty() {
            return Err(None);
        }
        Ok(ReadDir3ResOk {
            dir_attributes: Some(fattr(s.id, &listing.dir)),
            cookieverf: listing.verifier,
            eof: listing.eof && entries.len() == listing.entries.len(),
            entries,
        })
    };
    match r
        .await
        .map_err(|e: Option<FsError>| e.map_or(NfsStat3::TooSmall, |e| status(&e)))
    {
        Ok(ok) => NfsResult::Ok(ok),
        Err(stat) => NfsResult::Fail(stat, p.post_op(c, &a.dir).await),
    }
}

pub(super) async fn readdirplus(p: &Programs, c: &Caller, a: ReadDirPlus3Args) -> ReadDirPlus3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.dir)?;
        let listing = s
            .meta
            .readdir(
                &c.auth,
                &fh,
                a.cookie,
                a.cookieverf,
                entry_limit(a.maxcount, MIN_ENTRY_PLUS),
                true,
            )
            .await?;
        let mut used = STATUS_SIZE + readdirplus3_resok_overhead(true);
        let mut entries = Vec::with_capacity(listing.entries.len());
        for e in &listing.entries {
            let entry = EntryPlus3 {
                fileid: e.inode,
                name: e.name.clone(),
                cookie: e.cookie,
                name_attributes: e.attrs.as_ref().map(|i| fattr(s.id, i)),
                name_handle: e.handle.map(|h| NfsFh3(Bytes::copy_from_slice(&h))),
            };
            // `dircount` is only a hint (as in the kernel server); the reply
            // must fit `maxcount`.
            let size = entry.xdr_size();
            if used + size > a.maxcount as usize {
                break;
            }
            used += size;
            entries.push(entry);
        }
        if entries.is_empty() && !listing.entries.is_empty() {
            return Err(None);
        }
        Ok(ReadDirPlus3ResOk {
            dir_attributes: Some(fattr(s.id, &listing.dir)),
            cookieverf: listing.verifier,
            eof: listing.eof && entries.len() == listing.entries.len(),
            entries,
        })
    };
    match r
        .await
        .map_err(|e: Option<FsError>| e.map_or(NfsStat3::TooSmall, |e| status(&e)))
    {
        Ok(ok) => NfsResult::Ok(ok),
        Err(stat) => NfsResult::Fail(stat, p.post_op(c, &a.dir).await),
    }
}
