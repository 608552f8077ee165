//! Moving written data from memory and the journal into the stores: dirty
//! ranges become blocks (hashed, deduplicated, uploaded a few at a time),
//! one metadata transaction maps them into the file, and then the memory
//! and, after the metadata store syncs, the journal space are freed.
//!
//! A file is cut into windows of `block_size` (4 MiB by default). A window
//! that writes filled completely becomes one block, so files written the
//! same way dedup block for block. An overwrite inside a large file becomes
//! a block of just the bytes written, and the extent map points into it,
//! leaving the rest of the old block in place; runs under 64 KiB from one
//! flush share one block (a pack), so scattered 4 KiB writes cost one
//! block-store write per flush, not one each. Once a window is made of more
//! than `MAX_EXTENTS_PER_WINDOW` pieces, the next flush into it rewrites the
//! whole window as one block: a window is rewritten only after hundreds of
//! small writes have each been cheap, which bounds both the extent map and
//! the rewriting to a small multiple of what was written. A file of at
//! most `MAX_INLINE` bytes flushed whole becomes one inline extent instead:
//! its bytes go into the metadata store with the commit, and no block is
//! written, synced or later read for it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use dittofs_blocks::BlockId;
use dittofs_meta::extents::NewExtent;
use dittofs_meta::{Extent, FlushCommit, FlushRange, FsError, FsResult, InodeId, MAX_INLINE};

use crate::core::{Core, unavailable};
use crate::dirty::{Piece, Snapshot};
use crate::journal::Lsn;

pub const MAX_EXTENTS_PER_WINDOW: usize = 256;
/// Runs shorter than this share one block (a pack) per flush, so scattered
/// small writes cost one block store write, not one each.
const PACK_BELOW: usize = 64 * 1024;
/// Blocks uploaded at once by one flush.
const UPLOADS: usize = 4;
/// Files flushed at once by the background flusher.
const FILES: usize = 4;
const TICK: Duration = Duration::from_millis(100);
/// A file this long without writes is flushed whole.
const IDLE: Duration = Duration::from_secs(1);
/// Dirty data older than this is flushed whole, so the journal stays short.
const MAX_AGE: Duration = Duration::from_secs(5);
/// Blocks at least this big are hashed off the async threads.
const HASH_OFF_THREAD: usize = 256 * 1024;

/// A block to store, and the file ranges it holds: one for a run of
/// written bytes or a rewritten window, several for a pack of small runs.
struct NewBlock {
    data: Bytes,
    /// (file offset, length, offset in the block)
    parts: Vec<(u64, u64, u64)>,
}

impl NewBlock {
    fn whole(start: u64, data: Bytes) -> Self {
        let len = data.len() as u64;
        Self {
            data,
            parts: vec![(start, len, 0)],
        }
    }
}

/// What a flush writes: blocks, or a small file's whole content inline.
struct Planned {
    blocks: Vec<NewBlock>,
    inline: Option<Extent>,
}

/// Concatenates touching pieces into runs, cut at window boundaries.
fn runs(pieces: &[Piece], window: u64) -> Vec<Vec<Piece>> {
    let mut out: Vec<Vec<Piece>> = Vec::new();
    for p in pieces {
        // Split at window boundaries first.
        let mut at = p.start;
        while at < p.end() {
            let w_end = (at / window + 1) * window;
            let hi = p.end().min(w_end);
            let part = Piece {
                start: at,
                data: p
                    .data
                    .slice((at - p.start) as usize..(hi - p.start) as usize),
                lsn: p.lsn,
            };
            match out.last_mut() {
                Some(run)
                    if run.last().is_some_and(|l| l.end() == at)
                        && run[0].start / window == at / window =>
                {
                    run.push(part)
                }
                _ => out.push(vec![part]),
            }
            at = hi;
        }
    }
    out
}

fn concat(run: &[Piece]) -> Bytes {
    if let [one] = run {
        return one.data.clone();
    }
    let mut b = BytesMut::with_capacity(run.iter().map(|p| p.data.len()).sum());
    for p in run {
        b.extend_from_slice(&p.data);
    }
    b.freeze()
}

pub(crate) async fn hash(data: Bytes) -> FsResult<(BlockId, Bytes)> {
    if data.len() < HASH_OFF_THREAD {
        return Ok((BlockId::of(&data), data));
    }
    tokio::task::spawn_blocking(move || (BlockId::of(&data), data))
        .await
        .map_err(|e| unavailable(format!("hash task: {e}")))
}

impl Core {
    /// The blocks a flush of `snap` writes: a run per touched window, or
    /// the whole window when it has become too fragmented.
    async fn plan(&self, inode: InodeId, snap: &Snapshot) -> FsResult<Planned> {
        let window = self.block_size;
        if snap.whole && !snap.pieces.is_empty() && snap.size <= MAX_INLINE as u64 {
            // A small file: all of it, inline in its one extent.
            let existing = self.store().extents(inode, 0, snap.size).await?;
            let runs = runs(&snap.pieces, window);
            let data = self.rewrite_window(&existing, &runs, 0, snap.size).await?;
            return Ok(Planned {
                blocks: Vec::new(),
                inline: Some(Extent::inline(0, data)),
            });
        }
        let mut blocks = Vec::new();
        let mut pack = BytesMut::new();
        let mut packed = Vec::new();
        let runs = runs(&snap.pieces, window);
        let mut i = 0;
        while i < runs.len() {
            let w = runs[i][0].start / window;
            let mut j = i;
            while j < runs.len() && runs[j][0].start / window == w {
                j += 1;
            }
            let (ws, we) = (w * window, ((w + 1) * window).min(snap.size));
            let existing = self.store().extents(inode, ws, we).await?;
            if existing.len() + (j - i) > MAX_EXTENTS_PER_WINDOW && ws < we {
                let data = self.rewrite_window(&existing, &runs[i..j], ws, we).await?;
                blocks.push(NewBlock::whole(ws, data));
            } else {
                for run in &runs[i..j] {
                    let data = concat(run);
                    if data.len() >= PACK_BELOW {
                        blocks.push(NewBlock::whole(run[0].start, data));
                        continue;
                    }
                    if pack.len() + data.len() > window as usize {
                        blocks.push(NewBlock {
                            data: std::mem::take(&mut pack).freeze(),
                            parts: std::mem::take(&mut packed),
                        });
                    }
                    packed.push((run[0].start, data.len() as u64, pack.len() as u64));
                    pack.extend_from_slice(&data);
                }
            }
            i = j;
        }
        if !packed.is_empty() {
            blocks.push(NewBlock {
                data: pack.freeze(),
                parts: packed,
            });
        }
        Ok(Planned {
            blocks,
            inline: None,
        })
    }

    /// The whole of window `ws..we`: what is stored, then the new writes.
    async fn rewrite_window(
        &self,
        existing: &[Extent],
        runs: &[Vec<Piece>],
        ws: u64,
        we: u64,
    ) -> FsResult<Bytes> {
        let mut buf = BytesMut::zeroed((we - ws) as usize);
        for e in existing {
            let lo = e.offset.max(ws);
            let hi = e.end().min(we);
            if lo >= hi {
                continue;
            }
            let piece = self.extent_bytes(e, lo, hi).await?;
            let at = (lo - ws) as usize;
            buf[at..at + piece.len()].copy_from_slice(&piece);
        }
        for p in runs.iter().flatten() {
            let hi = p.end().min(we);
            if p.start >= hi {
                continue;
            }
            let at = (p.start - ws) as usize;
            let n = (hi - p.start) as usize;
            buf[at..at + n].copy_from_slice(&p.data[..n]);
        }
        Ok(buf.freeze())
    }

    /// Flushes a file's dirty data: all of it with `whole`, else the full
    /// windows. The caller holds the file's flush lock. Returns the journal
    /// position up to which the file's records are no longer needed.
    pub async fn flush_locked(&self, inode: InodeId, whole: bool) -> FsResult<Option<Lsn>> {
        let Some(snap) = self.dirty.snapshot(inode, whole, self.block_size) else {
            return Ok(None);
        };
        if snap.pieces.is_empty() && !snap.whole {
            return Ok(None);
        }
        let planned = self.plan(inode, &snap).await?;
        let mut hashed = Vec::with_capacity(planned.blocks.len());
        for b in planned.blocks {
            let (id, data) = hash(b.data).await?;
            hashed.push((b.parts, id, data));
        }
        let _locks = self
            .block_locks
            .lock_all(hashed.iter().map(|(_, id, _)| *id))
            .await;
        let ids: Vec<_> = hashed.iter().map(|(_, id, _)| *id).collect();
        let _lease = self.store().lease_blocks(&ids).await?;
        let mut uploaded = Vec::new();
        let mut uploads = tokio::task::JoinSet::new();
        for (_, id, data) in &hashed {
            // A block the metadata store references is in the block store
            // (the lock keeps it there): dedup.
            if self.store().block_ref(id).await?.is_some() {
                continue;
            }
            while uploads.len() >= UPLOADS {
                if let Some(r) = uploads.join_next().await {
                    r.map_err(unavailable)??;
                }
            }
            let (blocks, id, data) = (self.blocks.clone(), *id, data.clone());
            uploaded.push(id);
            uploads.spawn(async move { blocks.put(&id, data).await });
        }
        while let Some(r) = uploads.join_next().await {
            r.map_err(unavailable)??;
        }
        let inline = planned.inline.map(|e| FlushRange {
            start: e.offset,
            end: e.end(),
            extents: vec![NewExtent::inline(e)],
        });
        let commit = FlushCommit {
            ranges: inline
                .into_iter()
                .chain(hashed.iter().flat_map(|(parts, id, data)| {
                    parts
                        .iter()
                        .map(move |&(start, len, block_offset)| FlushRange {
                            start,
                            end: start + len,
                            extents: vec![NewExtent {
                                extent: Extent::in_block(start, len, *id, block_offset),
                                block_size: data.len() as u64,
                            }],
                        })
                }))
                .collect(),
            size: snap.size,
            mtime: snap.mtime,
        };
        match self.meta.commit_flush(inode, &commit).await {
            Ok(()) => {}
            Err(FsError::Stale) => {
                // The file went away: its data and its new blocks go too.
                drop(_lease);
                drop(_locks);
                self.budget.release(self.dirty.remove(inode));
                self.reclaim(uploaded).await;
                return Ok(Some(Lsn::MAX));
            }
            Err(e) => return Err(e),
        }
        drop(_lease);
        drop(_locks);
        self.budget.release(self.dirty.flushed(inode, &snap));
        // Records of this file after the oldest still dirty are needed.
        let upto = match self.dirty.oldest_lsn(inode) {
            Some(l) => l.saturating_sub(1).min(snap.last_lsn),
            None => snap.last_lsn,
        };
        Ok(Some(upto))
    }

    pub async fn flush(&self, inode: InodeId, whole: bool) -> FsResult<()> {
        let _file = self.file_locks.lock(inode).await;
        if let Some(upto) = self.flush_locked(inode, whole).await? {
            self.defer_release(inode, upto);
        }
        Ok(())
    }

    /// One round of background flushing: full windows, and whole files that
    /// went idle or have held dirty data too long; then, if memory is still
    /// short, every file whole, oldest first. Full windows go first so a
    /// file being written sequentially is not cut into partial blocks
    /// (which would no longer dedup against a copy of it).
    async fn flush_round(self: &Arc<Self>) {
        self.flush_pass(false).await;
        if self.budget.under_pressure() {
            self.flush_pass(true).await;
        }
        if let Err(e) = self.release_flushed().await {
            tracing::warn!(error = %e, "metadata sync failed; journal space is kept until it succeeds");
        }
    }

    async fn flush_pass(self: &Arc<Self>, pressure: bool) {
        let mut work = tokio::task::JoinSet::new();
        for c in self.dirty.candidates() {
            let whole = pressure || c.idle >= IDLE || c.age >= MAX_AGE;
            while work.len() >= FILES {
                work.join_next().await;
            }
            let core = self.clone();
            work.spawn(async move {
                if let Err(e) = core.flush(c.inode, whole).await {
                    tracing::warn!(inode = c.inode, error = %e, "flush failed; will retry");
                }
            });
        }
        while work.join_next().await.is_some() {}
    }
}

/// The background flusher of one share; it ends when the share is dropped.
pub(crate) fn spawn_flusher(core: Weak<Core>) {
    tokio::spawn(async move {
        loop {
            let Some(c) = core.upgrade() else { return };
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = c.wake.notified() => {}
                _ = c.budget.pressure.notified() => {}
            }
            c.flush_round().await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(start: u64, len: usize, lsn: Lsn) -> Piece {
        Piece {
            start,
            data: Bytes::from(vec![lsn as u8; len]),
            lsn,
        }
    }

    #[test]
    fn runs_join_touching_pieces_within_a_window() {
        let pieces = vec![
            piece(0, 10, 1),
            piece(10, 20, 2),
            piece(40, 10, 3),
            piece(95, 10, 4),
        ];
        let r = runs(&pieces, 100);
        let shape: Vec<Vec<(u64, u64)>> = r
            .iter()
            .map(|run| run.iter().map(|p| (p.start, p.end())).collect())
            .collect();
        assert_eq!(
            shape,
            vec![
                vec![(0, 10), (10, 30)],
                vec![(40, 50)],
                vec![(95, 100)],
                vec![(100, 105)]
            ],
            "a piece crossing a window boundary is cut there"
        );
        assert_eq!(concat(&r[0]).len(), 30);
    }

    /// A file written (with a hole and an overwrite) and flushed while
    /// small is one inline extent; once it grows past `MAX_INLINE` its new
    /// bytes go to blocks and the inline part stays.
    #[tokio::test]
    async fn a_small_file_is_flushed_inline() {
        use crate::Stability;
        use crate::testing::share;
        use dittofs_meta::{AuthContext, CreateMode, SetAttrs};

        let s = share().await;
        let ctx = AuthContext::root();
        let meta = s.content.metadata().clone();
        let created = meta
            .create(
                &ctx,
                &s.root,
                b"f",
                CreateMode::Guarded(SetAttrs::default()),
            )
            .await
            .expect("create");
        let fh = dittofs_meta::FileHandle {
            share: s.root.share,
            inode: created.attrs.id,
            generation: created.attrs.generation,
        };
        let write = |at: u64, data: Vec<u8>| {
            let (content, ctx) = (s.content.clone(), ctx.clone());
            async move {
                content
                    .write(&ctx, &fh, at, Bytes::from(data), Stability::Unstable)
                    .await
                    .expect("write");
            }
        };
        write(0, vec![1; 3000]).await;
        write(5000, vec![2; 1000]).await;
        s.content.flush_all().await.expect("flush");
        write(100, vec![3; 10]).await;
        s.content.flush_all().await.expect("flush");
        let mut want = vec![1u8; 3000];
        want.resize(5000, 0);
        want.extend([2u8; 1000]);
        want[100..110].fill(3);
        let extents = s
            .store
            .extents(fh.inode, 0, u64::MAX)
            .await
            .expect("extents");
        assert_eq!(extents, vec![Extent::inline(0, Bytes::from(want.clone()))]);
        assert!(s.blocks.is_empty(), "no block for a small file");

        write(6000, vec![4; MAX_INLINE]).await;
        s.content.flush_all().await.expect("flush");
        want.extend(vec![4u8; MAX_INLINE]);
        let read = s.content.read(&ctx, &fh, 0, u32::MAX).await.expect("read");
        assert_eq!(read.data, Bytes::from(want));
        let extents = s
            .store
            .extents(fh.inode, 0, u64::MAX)
            .await
            .expect("extents");
        assert!(extents[0].block().is_none(), "the inline part stays");
        assert!(extents[1..].iter().all(|e| e.block().is_some()));
    }
}
