//! Content written whole, straight into the stores: for a writer that makes
//! a new file in one go and publishes it with one metadata transaction (an
//! S3 PUT or part). Nothing goes through the journal or the dirty map, so
//! the bytes are written once: each window of `block_size` becomes a block
//! as soon as it is full (hashed and stored while the next one arrives),
//! and what remains becomes a last block or, when the whole file is small,
//! an inline extent that the publishing transaction carries. A small file
//! then costs one metadata transaction and one metadata sync, and no block.
//!
//! Until it is published the content belongs to no file; blocks stored for
//! content that is dropped instead are reclaimed.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use dittofs_blocks::BlockId;
use dittofs_meta::extents::NewExtent;
use dittofs_meta::{
    AuthContext, Extent, FileHandle, FsError, FsResult, Inode, MAX_INLINE, NewFile, Timestamp,
};
use tokio::task::JoinSet;

use crate::ContentService;
use crate::core::{Core, unavailable};
use crate::flush::hash;

/// Blocks of one writer being hashed and stored at once.
const UPLOADS: usize = 2;
/// How long an append waits for memory before the caller is pushed back.
const PATIENCE: Duration = Duration::from_secs(1);

/// A window stored as a block.
struct Stored {
    /// Which window of the content it is.
    index: u64,
    id: BlockId,
    len: u64,
    /// Whether this writer put it (rather than finding it referenced).
    put: bool,
}

/// The blocks of `stored` that their writer put: what is reclaimed when
/// the content is never published.
fn put_by_writer(stored: &[Stored]) -> Vec<BlockId> {
    stored.iter().filter(|s| s.put).map(|s| s.id).collect()
}

/// A new file's content being written, from offset 0 on.
pub struct DirectWriter {
    core: Arc<Core>,
    pending: BytesMut,
    size: u64,
    windows: u64,
    /// Made at the first block: most objects are small and store none.
    uploads: Option<JoinSet<FsResult<Stored>>>,
    stored: Vec<Stored>,
    expected: Option<u64>,
    /// Full windows kept back while the whole might still be small enough
    /// to go inline (a block size below `MAX_INLINE`).
    held: Vec<Bytes>,
}

/// Content ready to publish: extents of blocks already stored (or inline).
pub struct DirectContent {
    core: Arc<Core>,
    extents: Vec<NewExtent>,
    size: u64,
    /// Blocks this content stored, reclaimed unless it is published.
    put: Vec<BlockId>,
}

impl ContentService {
    /// Starts writing a new file's whole content straight into the stores;
    /// [`publish`](Self::publish) makes it a file. `size_hint` is the size
    /// the content is expected to have, if known.
    pub fn direct_writer(&self, size_hint: Option<u64>) -> DirectWriter {
        DirectWriter {
            core: self.core.clone(),
            pending: BytesMut::new(),
            size: 0,
            windows: 0,
            uploads: None,
            stored: Vec::new(),
            expected: size_hint,
            held: Vec::new(),
        }
    }

    /// Makes `content` a new regular file at `name` in `dir`, modified at
    /// `mtime`, with extended attributes `xattrs`, replacing the file there,
    /// in one metadata transaction (`MetadataService::publish_new`). The
    /// metadata store is not synced: the caller does that once it has
    /// nothing else to change. After a failure `content` may be published
    /// again (or dropped, which reclaims its blocks).
    pub async fn publish(
        &self,
        ctx: &AuthContext,
        content: &mut DirectContent,
        dir: &FileHandle,
        name: &[u8],
        mtime: Timestamp,
        xattrs: &[(Bytes, Bytes)],
    ) -> FsResult<Inode> {
        let core = &self.core;
        let mut ids: Vec<BlockId> = content
            .extents
            .iter()
            .filter_map(|n| n.extent.block().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        // Reclamation deletes a block only under its lock after seeing no
        // reference; holding the locks from this check to the commit means
        // every block is there when the file starts pointing at it.
        let locks = core.block_locks.lock_all(ids.iter().copied()).await;
        let lease = core.store().lease_blocks(&ids).await?;
        for id in &ids {
            if core.store().block_ref(id).await?.is_none() && !core.blocks.contains(id).await? {
                // Reclaimed after this writer found it stored or put it:
                // the bytes are gone, the client has to send them again.
                tracing::warn!(block = %id, "a block of new content was reclaimed before it was published");
                return Err(FsError::Busy);
            }
        }
        let published = core
            .meta
            .publish_new(
                ctx,
                dir,
                name,
                &NewFile {
                    content: &content.extents,
                    size: content.size,
                    mtime,
                    xattrs,
                },
            )
            .await;
        drop(lease);
        drop(locks);
        if published.is_ok() {
            content.put.clear();
        }
        published
    }
}

impl DirectWriter {
    /// Bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `data`. `Busy` when memory stayed full: nothing was taken,
    /// and the same data may be appended again.
    pub async fn append(&mut self, data: Bytes) -> FsResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let n = data.len() as u64;
        if self
            .size
            .checked_add(n)
            .is_none_or(|e| e > crate::MAX_FILE_SIZE)
        {
            return Err(FsError::FileTooLarge);
        }
        if !self.core.budget.reserve(n, PATIENCE).await {
            return Err(FsError::Busy);
        }
        self.size += n;
        let window = self.core.block_size as usize;
        let mut data = data;
        while !data.is_empty() {
            let take = (window - self.pending.len()).min(data.len());
            if self.pending.is_empty() && take == window {
                // A whole window in one piece: no copy.
                self.full_window(data.split_to(take)).await?;
                continue;
            }
            if self.pending.capacity() == 0 {
                // The window's bytes, or as many as the content is expected
                // to have left: never grown (copied) as it fills, and never
                // a whole window for a small file.
                let start = self.windows * window as u64;
                let left = self
                    .expected
                    .map_or(window as u64, |e| e.saturating_sub(start));
                self.pending
                    .reserve((left.clamp(take as u64, window as u64)) as usize);
            }
            self.pending.extend_from_slice(&data.split_to(take));
            if self.pending.len() == window {
                let full = std::mem::take(&mut self.pending).freeze();
                self.full_window(full).await?;
            }
        }
        Ok(())
    }

    /// A window is full: stored, unless the content may still go inline.
    async fn full_window(&mut self, data: Bytes) -> FsResult<()> {
        if self.size <= MAX_INLINE as u64 {
            self.held.push(data);
            return Ok(());
        }
        for held in std::mem::take(&mut self.held) {
            self.store_window(held).await?;
        }
        self.store_window(data).await
    }

    /// Hashes and stores one window's bytes in the background, after
    /// waiting for room among this writer's uploads.
    async fn store_window(&mut self, data: Bytes) -> FsResult<()> {
        while self.uploads.as_ref().is_some_and(|u| u.len() >= UPLOADS) {
            self.join_one().await?;
        }
        let index = self.windows;
        self.windows += 1;
        let core = self.core.clone();
        let uploads = self.uploads.get_or_insert_with(JoinSet::new);
        uploads.spawn(async move {
            let len = data.len() as u64;
            let stored = store_block(&core, data).await;
            core.budget.release(len);
            stored.map(|(id, put)| Stored {
                index,
                id,
                len,
                put,
            })
        });
        Ok(())
    }

    async fn join_one(&mut self) -> FsResult<()> {
        let Some(uploads) = self.uploads.as_mut() else {
            return Ok(());
        };
        if let Some(r) = uploads.join_next().await {
            let stored = r.map_err(|e| unavailable(format!("block upload task: {e}")))??;
            self.stored.push(stored);
        }
        Ok(())
    }

    /// Stores what remains and waits for every block: the content, ready
    /// to publish.
    pub async fn finish(mut self) -> FsResult<DirectContent> {
        let inline = self.size <= MAX_INLINE as u64;
        let mut rest = std::mem::take(&mut self.held);
        rest.push(std::mem::take(&mut self.pending).freeze());
        let rest = if inline {
            self.core.budget.release(self.size);
            if let [one] = rest.as_slice() {
                // The usual small object: its one piece, not copied.
                one.clone()
            } else {
                let mut all = BytesMut::with_capacity(self.size as usize);
                for piece in &rest {
                    all.extend_from_slice(piece);
                }
                all.freeze()
            }
        } else {
            for piece in rest {
                if !piece.is_empty() {
                    self.store_window(piece).await?;
                }
            }
            Bytes::new()
        };
        while self.uploads.as_ref().is_some_and(|u| !u.is_empty()) {
            self.join_one().await?;
        }
        let window = self.core.block_size;
        let mut stored = std::mem::take(&mut self.stored);
        stored.sort_unstable_by_key(|s| s.index);
        let mut extents: Vec<NewExtent> = stored
            .iter()
            .map(|s| NewExtent {
                extent: Extent::in_block(s.index * window, s.len, s.id, 0),
                block_size: s.len,
            })
            .collect();
        if inline && !rest.is_empty() {
            extents.push(NewExtent::inline(Extent::inline(0, rest)));
        }
        let put = put_by_writer(&stored);
        Ok(DirectContent {
            core: self.core.clone(),
            extents,
            size: self.size,
            put,
        })
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        // Abandoned (a failed or cut-off upload): what it stored goes.
        let kept: usize = self.held.iter().map(|h| h.len()).sum();
        self.core.budget.release((self.pending.len() + kept) as u64);
        let put = put_by_writer(&self.stored);
        reclaim_later(&self.core, self.uploads.take(), put);
    }
}

impl DirectContent {
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Drop for DirectContent {
    fn drop(&mut self) {
        reclaim_later(&self.core, None, std::mem::take(&mut self.put));
    }
}

/// Reclaims, in the background, the blocks `put` and those of `uploads`
/// (once they finish) that were put: content nothing will publish.
fn reclaim_later(
    core: &Arc<Core>,
    uploads: Option<JoinSet<FsResult<Stored>>>,
    mut put: Vec<BlockId>,
) {
    let uploads = uploads.filter(|u| !u.is_empty());
    if uploads.is_none() && put.is_empty() {
        return;
    }
    let core = core.clone();
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            if let Some(mut uploads) = uploads {
                while let Some(r) = uploads.join_next().await {
                    if let Ok(Ok(Stored { id, put: true, .. })) = r {
                        put.push(id);
                    }
                }
            }
            put.sort_unstable();
            put.dedup();
            core.reclaim(put).await;
        });
    }
}

/// Hashes `data` and stores it unless the metadata store already
/// references a block with those bytes. Returns its id and whether it was
/// put.
async fn store_block(core: &Core, data: Bytes) -> FsResult<(BlockId, bool)> {
    let (id, data) = hash(data).await?;
    if core.store().block_ref(&id).await?.is_some() {
        return Ok((id, false));
    }
    core.blocks.put(&id, data).await?;
    Ok((id, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Share, WINDOW, share};

    fn bytes(n: usize, seed: u8) -> Bytes {
        (0..n)
            .map(|i| {
                (i as u8)
                    .wrapping_mul(7)
                    .wrapping_add(seed ^ (i >> 12) as u8)
            })
            .collect()
    }

    /// Writes `data` in pieces of `piece` bytes and publishes it at `name`.
    async fn put(s: &Share, name: &str, data: &Bytes, piece: usize) -> Inode {
        let mut w = s.content.direct_writer(Some(data.len() as u64));
        for c in data.chunks(piece) {
            w.append(Bytes::copy_from_slice(c)).await.expect("append");
        }
        let mut content = w.finish().await.expect("finish");
        let now = Timestamp::now();
        s.content
            .publish(
                &AuthContext::root(),
                &mut content,
                &s.root,
                name.as_bytes(),
                now,
                &[],
            )
            .await
            .expect("publish")
    }

    async fn read(s: &Share, inode: &Inode) -> Bytes {
        let fh = FileHandle {
            share: s.root.share,
            inode: inode.id,
            generation: inode.generation,
        };
        let r = s
            .content
            .read(&AuthContext::root(), &fh, 0, u32::MAX)
            .await
            .expect("read");
        r.data
    }

    /// Waits for background reclamation to leave `n` blocks.
    async fn blocks_become(s: &Share, n: usize) {
        for _ in 0..200 {
            if s.blocks.len() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(s.blocks.len(), n, "blocks left in the block store");
    }

    #[tokio::test]
    async fn a_small_file_is_one_inline_extent_and_no_block() {
        let s = share().await;
        // Windows (4 KiB here) fill up before the end is known.
        let data = bytes(MAX_INLINE, 1);
        let f = put(&s, "small", &data, 1000).await;
        assert_eq!(f.size, data.len() as u64);
        assert_eq!(read(&s, &f).await, data);
        assert!(s.blocks.is_empty(), "no block for a small file");
        let extents = s.store.extents(f.id, 0, u64::MAX).await.expect("extents");
        assert_eq!(extents, vec![Extent::inline(0, data)]);
    }

    #[tokio::test]
    async fn a_big_file_is_one_block_per_window_and_a_copy_stores_nothing_new() {
        let s = share().await;
        // Windows filled by pieces that straddle them, then a partial one.
        let data = bytes(5 * WINDOW as usize + 100, 2);
        let f = put(&s, "big", &data, 1500).await;
        assert_eq!(read(&s, &f).await, data);
        let extents = s.store.extents(f.id, 0, u64::MAX).await.expect("extents");
        assert_eq!(extents.len(), 6);
        assert!(extents.iter().all(|e| e.block().is_some()));
        assert_eq!(s.blocks.len(), 6);
        // The same bytes again, in one piece: every block is found stored.
        let g = put(&s, "again", &data, data.len()).await;
        assert_eq!(read(&s, &g).await, data);
        assert_eq!(s.blocks.len(), 6, "deduplicated");
    }

    #[tokio::test]
    async fn the_file_it_replaces_lets_its_blocks_go() {
        let s = share().await;
        let old = bytes(5 * WINDOW as usize, 3);
        put(&s, "obj", &old, 4096).await;
        assert_eq!(s.blocks.len(), 5);
        let new = bytes(100, 4);
        let f = put(&s, "obj", &new, 4096).await;
        assert_eq!(read(&s, &f).await, new);
        blocks_become(&s, 0).await;
    }

    #[tokio::test]
    async fn abandoned_content_leaves_no_block_behind() {
        let s = share().await;
        let mut w = s.content.direct_writer(None);
        w.append(bytes(5 * WINDOW as usize + 10, 5))
            .await
            .expect("append");
        drop(w);
        blocks_become(&s, 0).await;
        let mut w = s.content.direct_writer(None);
        w.append(bytes(5 * WINDOW as usize, 6))
            .await
            .expect("append");
        let content = w.finish().await.expect("finish");
        assert_eq!(s.blocks.len(), 5);
        drop(content);
        blocks_become(&s, 0).await;
    }
}
