//! LOOKUP and directory listings.

use bytes::Bytes;

use crate::error::{FsError, FsResult};
use crate::handle::{FileHandle, HandleBytes};
use crate::types::{AuthContext, Inode, InodeId};

use super::MetadataService;
use super::access::{R, X, require};
use super::names::{Name, parse};

/// One entry of a listing; attributes and handle only when asked for and
/// the entry still existed when they were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEntry {
    pub name: Bytes,
    pub cookie: u64,
    pub inode: InodeId,
    pub attrs: Option<Inode>,
    pub handle: Option<HandleBytes>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirListing {
    pub dir: Inode,
    pub verifier: [u8; 8],
    pub entries: Vec<ListedEntry>,
    pub eof: bool,
}

const DOT_COOKIE: u64 = 1;
const DOTDOT_COOKIE: u64 = 2;

/// Cookies never go stale (they only grow and are never reused), so the
/// verifier only has to tell one directory from another.
fn cookie_verifier(dir: &Inode) -> [u8; 8] {
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&dir.generation.to_be_bytes());
    v[4..].copy_from_slice(&(dir.id as u32).to_be_bytes());
    v
}

impl MetadataService {
    /// Finds `name` in a directory: the child's handle and attributes, and
    /// the directory's.
    pub async fn lookup(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        name: &[u8],
    ) -> FsResult<(HandleBytes, Inode, Inode)> {
        let ctx = self.effective(ctx)?;
        // These reads are not one transaction: a name can be found just
        // before the inode it named loses its last link (a RENAME over it
        // commits between the two reads), or a directory read just before
        // it moves and its old parent goes. Then the name (or "..") names
        // something else by now, and another look finds it.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let d = self.attrs(dir).await?;
            match self.child_of(&ctx, &d, name).await? {
                Some(child) => return Ok((self.handle_of(&child), self.present(child), d)),
                None if attempt < super::MAX_ATTEMPTS => continue,
                // "." or ".." of a directory that went away is stale.
                None => match parse(name)? {
                    Name::Plain(_) => return Err(FsError::NotFound),
                    _ => return Err(FsError::Stale),
                },
            }
        }
    }

    /// Finds `name` in the directory `dir`, whose attributes this service
    /// has just returned (the previous step of a path walk), without
    /// reading them again. A name whose inode goes away meanwhile is
    /// `NotFound`.
    pub async fn lookup_in(&self, ctx: &AuthContext, dir: &Inode, name: &[u8]) -> FsResult<Inode> {
        let ctx = self.effective(ctx)?;
        let child = self.child_of(&ctx, dir, name).await?;
        child.map(|c| self.present(c)).ok_or(FsError::NotFound)
    }

    /// What `name` names in the directory `d` (attributes just read), as
    /// `ctx` (already the effective identity) may search it. `None` when
    /// the entry's inode (or the parent) went away between the reads.
    async fn child_of(&self, ctx: &AuthContext, d: &Inode, name: &[u8]) -> FsResult<Option<Inode>> {
        if !d.is_dir() {
            return Err(FsError::NotDir);
        }
        require(ctx, d, X)?;
        Ok(match parse(name)? {
            Name::Dot => Some(d.clone()),
            Name::DotDot => self.store().get_inode(d.parent).await?,
            Name::Plain(n) => {
                let entry = self
                    .store()
                    .lookup(d.id, n)
                    .await?
                    .ok_or(FsError::NotFound)?;
                let before = self.pending_of(entry.inode);
                let child = self.store().get_inode(entry.inode).await?;
                child.map(|c| self.present_after(c, before))
            }
        })
    }

    /// Up to `limit` entries after `cookie` (0 = from the start, "." and
    /// ".." included), optionally with attributes and handles.
    pub async fn readdir(
        &self,
        ctx: &AuthContext,
        dir: &FileHandle,
        cookie: u64,
        verifier: [u8; 8],
        limit: usize,
        plus: bool,
    ) -> FsResult<DirListing> {
        let ctx = self.effective(ctx)?;
        let d = self.attrs(dir).await?;
        if !d.is_dir() {
            return Err(FsError::NotDir);
        }
        require(&ctx, &d, R)?;
        let ours = cookie_verifier(&d);
        if cookie != 0 && verifier != [0; 8] && verifier != ours {
            return Err(FsError::BadCookie);
        }
        if cookie >= d.next_cookie.max(DOTDOT_COOKIE + 1) {
            return Err(FsError::BadCookie);
        }
        let limit = limit.max(1);
        let mut entries = Vec::new();
        let dots: [(&'static [u8], u64, InodeId); 2] =
            [(b".", DOT_COOKIE, d.id), (b"..", DOTDOT_COOKIE, d.parent)];
        for (name, c, inode) in dots {
            if cookie < c && entries.len() < limit {
                entries.push(ListedEntry {
                    name: Bytes::from_static(name),
                    cookie: c,
                    inode,
                    attrs: None,
                    handle: None,
                });
            }
        }
        let want = limit - entries.len();
        let mut page = self
            .store()
            .list_by_cookie(d.id, cookie.max(DOTDOT_COOKIE), want + 1)
            .await?;
        let eof = page.len() <= want;
        page.truncate(want);
        entries.extend(page.into_iter().map(|e| ListedEntry {
            name: e.name,
            cookie: e.cookie,
            inode: e.inode,
            attrs: None,
            handle: None,
        }));
        if plus {
            let ids: Vec<InodeId> = entries.iter().map(|e| e.inode).collect();
            let before: Vec<_> = ids.iter().map(|id| self.pending_of(*id)).collect();
            let inodes = self.store().get_inodes(&ids).await?;
            for ((e, inode), b) in entries.iter_mut().zip(inodes).zip(before) {
                if let Some(inode) = inode {
                    e.handle = Some(self.handle_of(&inode));
                    e.attrs = Some(self.present_after(inode, b));
                }
            }
        }
        Ok(DirListing {
            dir: d,
            verifier: ours,
            entries,
            eof,
        })
    }
}
