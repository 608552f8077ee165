//! A share's tree walked in S3 key order. A directory `d` holds keys
//! `d/...`, which sort by `d/`, not by `d`: `d-1` comes before them and
//! `d0` after, though a listing by name gives `d`, `d-1`, `d0`. Each
//! directory is therefore read page by page into a heap ordered by key,
//! and an entry leaves the heap only once no name still to be read can
//! sort before it. Starting points (`start-after`, continuation tokens,
//! prefixes) are reached by looking names up, not by reading from the top.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use bytes::Bytes;
use dittofs_meta::{FileHandle, FileKind, FsResult, Inode};
use dittofs_runtime::Share;

use crate::info::DIR_OBJECT_XATTR;
use crate::keys::STAGING;
use crate::service::{Caller, handle};
use crate::tree::child;

/// Directory entries read per page.
const PAGE: usize = 512;

/// What the walk meets, in key order.
#[derive(Debug)]
pub(crate) enum Item {
    Object {
        key: String,
        inode: Inode,
    },
    /// A directory: every key below it starts with `prefix` (which ends in
    /// `/`). The caller enters it or not.
    Dir {
        prefix: String,
        inode: Inode,
        fh: FileHandle,
        /// It is itself the object `prefix`, and that key is in range.
        object: bool,
    },
}

struct Entry {
    sort: Vec<u8>,
    name: Bytes,
    inode: Inode,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.sort == other.sort
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort.cmp(&other.sort)
    }
}

fn entry(name: Bytes, inode: Inode) -> Option<Entry> {
    let mut sort = name.to_vec();
    match inode.kind {
        FileKind::Directory => sort.push(b'/'),
        FileKind::Regular => {}
        // Symlinks, devices and the like made over NFS are not objects.
        _ => return None,
    }
    Some(Entry { sort, name, inode })
}

struct Cursor {
    dir: FileHandle,
    /// The key prefix of this directory's entries: "" or "a/b/".
    prefix: String,
    /// The last name read, in name order; names after it are unread.
    after: Option<Bytes>,
    done: bool,
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Cursor {
    fn new(dir: FileHandle, prefix: String, after: Option<Bytes>) -> Self {
        Self {
            dir,
            prefix,
            after,
            done: false,
            heap: BinaryHeap::new(),
        }
    }

    /// The smallest entry may leave: nothing unread sorts before it (an
    /// unread name is after `after`, and its key is at least the name).
    fn ready(&self) -> bool {
        match (self.heap.peek(), &self.after) {
            _ if self.done => true,
            (Some(Reverse(e)), Some(after)) => e.sort.as_slice() <= after.as_ref(),
            _ => false,
        }
    }
}

pub(crate) struct Walk<'a> {
    share: &'a Share,
    caller: &'a Caller,
    stack: Vec<Cursor>,
    /// Keys below `prefix` only.
    prefix: String,
    /// Keys from here: after it, or from it when the flag says so.
    from: String,
    inclusive: bool,
    pending: Option<Item>,
}

impl<'a> Walk<'a> {
    /// A walk of the keys under `prefix` that come after `after` (or from
    /// the first under `prefix` when `after` is before them).
    pub async fn new(
        share: &'a Share,
        caller: &'a Caller,
        root: FileHandle,
        prefix: &str,
        after: Option<&str>,
    ) -> FsResult<Walk<'a>> {
        let (from, inclusive) = match after {
            Some(a) if a >= prefix => (a.to_owned(), false),
            _ => (prefix.to_owned(), true),
        };
        let mut w = Walk {
            share,
            caller,
            stack: Vec::new(),
            prefix: prefix.to_owned(),
            from,
            inclusive,
            pending: None,
        };
        w.seek(root).await?;
        Ok(w)
    }

    fn before_start(&self, key: &str) -> bool {
        match key.cmp(self.from.as_str()) {
            Ordering::Less => true,
            Ordering::Equal => !self.inclusive,
            Ordering::Greater => false,
        }
    }

    async fn seek(&mut self, root: FileHandle) -> FsResult<()> {
        let from = self.from.clone();
        let mut dir = root;
        let mut dprefix = String::new();
        let mut rel = from.as_str();
        loop {
            let (c, rest) = match rel.find('/') {
                Some(i) => (&rel[..i], Some(&rel[i + 1..])),
                None => (rel, None),
            };
            let after = (!c.is_empty()).then(|| Bytes::copy_from_slice(c.as_bytes()));
            let mut cur = Cursor::new(dir, dprefix.clone(), after);
            if c.is_empty() {
                self.stack.push(cur);
                return Ok(());
            }
            // Names before `c` whose keys sort after it: `c`'s prefixes
            // followed in `c` by a byte below '/', when they are directories.
            for (k, b) in c.bytes().enumerate().skip(1) {
                if b < b'/'
                    && let Some(i) = child(self.share, self.caller, &dir, &c[..k]).await?
                    && i.is_dir()
                    && let Some(e) = entry(Bytes::copy_from_slice(&c.as_bytes()[..k]), i)
                {
                    cur.heap.push(Reverse(e));
                }
            }
            let found = child(self.share, self.caller, &dir, c).await?;
            match (found, rest) {
                (Some(i), Some(r)) if i.is_dir() => {
                    self.stack.push(cur);
                    dir = handle(self.share, &i);
                    dprefix = format!("{dprefix}{c}/");
                    if r.is_empty() && i.xattrs.contains_key(DIR_OBJECT_XATTR) && self.inclusive {
                        self.pending = Some(Item::Object {
                            key: dprefix.clone(),
                            inode: i,
                        });
                    }
                    rel = r;
                }
                (found, rest) => {
                    if let Some(i) = found
                        && (rest.is_none() || !i.is_dir())
                        && let Some(e) = entry(Bytes::copy_from_slice(c.as_bytes()), i)
                    {
                        cur.heap.push(Reverse(e));
                    }
                    self.stack.push(cur);
                    return Ok(());
                }
            }
        }
    }

    /// Goes into a directory the walk returned.
    pub fn enter(&mut self, fh: FileHandle, prefix: String) {
        self.stack.push(Cursor::new(fh, prefix, None));
    }

    /// Whether a directory has no entries at all.
    pub async fn is_empty(&self, fh: &FileHandle) -> FsResult<bool> {
        Ok(self
            .share
            .meta
            .list_names(&self.caller.ctx, fh, None, 1)
            .await?
            .is_empty())
    }

    async fn fill(&mut self) -> FsResult<()> {
        let share = self.share;
        let ctx = &self.caller.ctx;
        let Some(top) = self.stack.last_mut() else {
            return Ok(());
        };
        while !top.ready() {
            let page = share
                .meta
                .list_names(ctx, &top.dir, top.after.as_deref(), PAGE)
                .await?;
            if page.len() < PAGE {
                top.done = true;
            }
            if let Some((last, _)) = page.last() {
                top.after = Some(last.clone());
            }
            for (name, inode) in page {
                if top.prefix.is_empty() && name.as_ref() == STAGING.as_bytes() {
                    continue;
                }
                if let Some(e) = entry(name, inode) {
                    top.heap.push(Reverse(e));
                }
            }
        }
        Ok(())
    }

    pub async fn next(&mut self) -> FsResult<Option<Item>> {
        loop {
            if let Some(p) = self.pending.take() {
                return Ok(Some(p));
            }
            self.fill().await?;
            let Some(top) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(Reverse(e)) = top.heap.pop() else {
                self.stack.pop();
                continue;
            };
            let name = String::from_utf8_lossy(&e.name);
            let key = format!("{}{}", top.prefix, name);
            if e.inode.kind == FileKind::Regular {
                if name.as_bytes() != e.name.as_ref() || self.before_start(&key) {
                    continue;
                }
                if !key.starts_with(&self.prefix) {
                    if key.as_str() > self.prefix.as_str() {
                        self.stack.clear();
                        return Ok(None);
                    }
                    continue;
                }
                return Ok(Some(Item::Object {
                    key,
                    inode: e.inode,
                }));
            }
            let prefix = format!("{key}/");
            // Names that are not UTF-8 cannot be keys.
            if name.as_bytes() != e.name.as_ref() {
                continue;
            }
            if prefix < self.from && !self.from.starts_with(&prefix) {
                continue;
            }
            if !prefix.starts_with(&self.prefix) && !self.prefix.starts_with(&prefix) {
                if prefix > self.prefix {
                    self.stack.clear();
                    return Ok(None);
                }
                continue;
            }
            let object = e.inode.xattrs.contains_key(DIR_OBJECT_XATTR)
                && prefix.starts_with(&self.prefix)
                && !self.before_start(&prefix);
            let fh = handle(self.share, &e.inode);
            return Ok(Some(Item::Dir {
                prefix,
                inode: e.inode,
                fh,
                object,
            }));
        }
    }
}
