//! READ: dirty data overlaid on the extent map, blocks from the cache, and
//! read-ahead for sequential readers.

use bytes::{Bytes, BytesMut};
use dittofs_blocks::BlockError;
use dittofs_meta::{AuthContext, ExtentData, FileHandle, FsError, FsResult, Inode};

use crate::ContentService;
use crate::service::ReadOutcome;

async fn core_exists(core: &crate::core::Core, inode: &Inode) -> FsResult<()> {
    match core.store().get_inode(inode.id).await? {
        Some(i) if i.generation == inode.generation => Ok(()),
        _ => Err(FsError::Stale),
    }
}

/// How far ahead of a sequential reader blocks are fetched.
const READ_AHEAD: u64 = 4 << 20;
/// Sequential-reader positions remembered at most.
const READERS: usize = 4096;

impl ContentService {
    pub async fn read(
        &self,
        ctx: &AuthContext,
        fh: &FileHandle,
        offset: u64,
        count: u32,
    ) -> FsResult<ReadOutcome> {
        let meta = &self.core.meta;
        let inode = meta.check_read(ctx, fh).await?;
        // A block can be reclaimed between reading the extent map and
        // fetching it when a write replaces it; the second try sees the map
        // after that write.
        match self.read_range(&inode, offset, count).await {
            Err(FsError::Block(BlockError::NotFound(_))) => {
                let inode = meta.check_read(ctx, fh).await?;
                self.read_range(&inode, offset, count).await
            }
            r => r,
        }
    }

    async fn read_range(&self, inode: &Inode, offset: u64, count: u32) -> FsResult<ReadOutcome> {
        let end = offset.saturating_add(count as u64).min(inode.size);
        let done = |data: Bytes| ReadOutcome {
            data,
            eof: end >= inode.size,
            attrs: inode.clone(),
        };
        if offset >= end {
            // The size may be that of a file removed since it was looked
            // up (its unflushed data gone with it): a gone file is Stale,
            // not empty.
            core_exists(&self.core, inode).await?;
            return Ok(ReadOutcome {
                data: Bytes::new(),
                eof: offset >= inode.size,
                attrs: inode.clone(),
            });
        }
        let core = &self.core;
        // Dirty data first: a flush that lands in between moves it into
        // the extent map read next, so nothing falls between the two.
        let pieces = core.dirty.overlay(inode.id, offset, end);
        if let [p] = pieces.as_slice()
            && p.start == offset
            && p.end() == end
        {
            return Ok(done(p.data.clone()));
        }
        let extents = core.meta.extents(inode, offset, end).await?;
        self.read_ahead(inode, offset, end);
        if pieces.is_empty()
            && let [e] = extents.as_slice()
            && e.offset <= offset
            && e.end() >= end
        {
            return Ok(done(core.extent_bytes(e, offset, end).await?));
        }
        let mut buf = BytesMut::zeroed((end - offset) as usize);
        for e in &extents {
            let lo = e.offset.max(offset);
            let hi = e.end().min(end);
            if lo >= hi {
                continue;
            }
            let piece = core.extent_bytes(e, lo, hi).await?;
            let at = (lo - offset) as usize;
            buf[at..at + piece.len()].copy_from_slice(&piece);
        }
        for p in &pieces {
            let at = (p.start - offset) as usize;
            buf[at..at + p.data.len()].copy_from_slice(&p.data);
        }
        Ok(done(buf.freeze()))
    }

    /// A reader continuing where it stopped gets the next blocks fetched
    /// into the cache before it asks.
    fn read_ahead(&self, inode: &Inode, offset: u64, end: u64) {
        let core = &self.core;
        // A local store's reads go through the kernel, which reads ahead.
        if core.blocks.is_local() {
            return;
        }
        let sequential = {
            let mut readers = core.readers.lock();
            if readers.len() > READERS {
                readers.clear();
            }
            readers.insert(inode.id, end) == Some(offset)
        };
        if !sequential || end >= inode.size {
            return;
        }
        let (core, inode, ahead) = (
            core.clone(),
            inode.clone(),
            (end + READ_AHEAD).min(inode.size),
        );
        tokio::spawn(async move {
            if let Ok(extents) = core.meta.extents(&inode, end, ahead).await {
                for e in extents {
                    let lo = e.offset.max(end);
                    let hi = e.end().min(ahead);
                    if lo < hi
                        && let ExtentData::Block { id, offset } = e.slice(lo, hi).data
                    {
                        core.cache
                            .prefetch(&core.blocks, id, offset..offset + (hi - lo));
                    }
                }
            }
        });
    }
}
