use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_blocks::BlockId;
use parking_lot::RwLock;

use crate::overlay::{Changes, Committed, WriterLock};
use crate::store::{MetaTxn, MetadataStore, StoreResult};
use crate::types::{BlockRef, DirEntry, Extent, Inode, InodeId, StoreStats};

/// Metadata in maps in memory; gone when the process exits.
///
/// Writers are serialized and keep their changes in an overlay until
/// commit, so readers never see a half-done operation and never wait for
/// more than the moment a commit takes to apply.
#[derive(Default)]
pub struct MemoryMetadataStore {
    state: Arc<Maps>,
    writer: WriterLock,
}

impl MemoryMetadataStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Default)]
struct Maps(RwLock<State>);

#[derive(Default)]
struct State {
    inodes: HashMap<InodeId, Inode>,
    dirs: HashMap<InodeId, Dir>,
    extents: HashMap<InodeId, BTreeMap<u64, Extent>>,
    blocks: HashMap<BlockId, BlockRef>,
    roots: HashMap<String, InodeId>,
    last_id: InodeId,
    block_bytes: u64,
}

#[derive(Default)]
struct Dir {
    by_name: BTreeMap<Bytes, DirEntry>,
    by_cookie: BTreeMap<u64, Bytes>,
}

fn after(a: Option<&[u8]>) -> Bound<&[u8]> {
    a.map_or(Bound::Unbounded, Bound::Excluded)
}

impl Committed for Maps {
    fn inode(&self, id: InodeId) -> StoreResult<Option<Inode>> {
        Ok(self.0.read().inodes.get(&id).cloned())
    }

    fn entry(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        Ok(self
            .0
            .read()
            .dirs
            .get(&dir)
            .and_then(|d| d.by_name.get(name).cloned()))
    }

    fn entry_names(
        &self,
        dir: InodeId,
        from: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<Bytes>> {
        let state = self.0.read();
        Ok(state.dirs.get(&dir).map_or_else(Vec::new, |d| {
            d.by_name
                .range::<[u8], _>((after(from), Bound::Unbounded))
                .take(limit)
                .map(|(k, _)| k.clone())
                .collect()
        }))
    }

    fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        let state = self.0.read();
        let Some(map) = state.extents.get(&inode) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Extent> = map
            .range(..end)
            .rev()
            .take_while(|(_, e)| e.end() > start)
            .map(|(_, e)| e.clone())
            .collect();
        out.reverse();
        Ok(out)
    }

    fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        Ok(self.0.read().blocks.get(id).copied())
    }

    fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>> {
        Ok(self.0.read().roots.get(share).copied())
    }

    fn last_inode_id(&self) -> StoreResult<InodeId> {
        Ok(self.0.read().last_id)
    }

    fn apply(&self, changes: Changes) -> StoreResult<()> {
        let mut state = self.0.write();
        for (id, v) in changes.inodes {
            match v {
                Some(inode) => {
                    state.inodes.insert(id, inode);
                }
                None => {
                    state.inodes.remove(&id);
                    state.dirs.remove(&id);
                    state.extents.remove(&id);
                }
            }
        }
        for ((dir, name), v) in changes.entries {
            let d = state.dirs.entry(dir).or_default();
            if let Some(old) = d.by_name.remove(&name) {
                d.by_cookie.remove(&old.cookie);
            }
            if let Some(e) = v {
                d.by_cookie.insert(e.cookie, name.clone());
                d.by_name.insert(name, e);
            }
        }
        for ((inode, off), v) in changes.extents {
            match v {
                Some(e) => {
                    state.extents.entry(inode).or_default().insert(off, e);
                }
                None => {
                    if let Some(m) = state.extents.get_mut(&inode) {
                        m.remove(&off);
                        if m.is_empty() {
                            state.extents.remove(&inode);
                        }
                    }
                }
            }
        }
        for (id, v) in changes.blocks {
            let old = match v {
                Some(r) => state.blocks.insert(id, r),
                None => state.blocks.remove(&id),
            };
            state.block_bytes -= old.map_or(0, |r| r.size);
            state.block_bytes += v.map_or(0, |r| r.size);
        }
        for (share, root) in changes.roots {
            match root {
                Some(root) => state.roots.insert(share, root),
                None => state.roots.remove(&share),
            };
        }
        if let Some(id) = changes.last_id {
            state.last_id = id;
        }
        Ok(())
    }
}

#[async_trait]
impl MetadataStore for MemoryMetadataStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn begin(&self) -> StoreResult<Box<dyn MetaTxn>> {
        Ok(Box::new(self.writer.begin(self.state.clone()).await))
    }

    async fn get_inode(&self, id: InodeId) -> StoreResult<Option<Inode>> {
        self.state.inode(id)
    }

    async fn lookup(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        self.state.entry(dir, name)
    }

    async fn list_by_cookie(
        &self,
        dir: InodeId,
        after_cookie: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        let state = self.state.0.read();
        let Some(d) = state.dirs.get(&dir) else {
            return Ok(Vec::new());
        };
        Ok(d.by_cookie
            .range((Bound::Excluded(after_cookie), Bound::Unbounded))
            .take(limit)
            .filter_map(|(_, name)| d.by_name.get(name).cloned())
            .collect())
    }

    async fn list_by_name(
        &self,
        dir: InodeId,
        from: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        let state = self.state.0.read();
        let Some(d) = state.dirs.get(&dir) else {
            return Ok(Vec::new());
        };
        Ok(d.by_name
            .range::<[u8], _>((after(from), Bound::Unbounded))
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        self.state.extents(inode, start, end)
    }

    async fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        self.state.block_ref(id)
    }

    async fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>> {
        self.state.share_root(share)
    }

    async fn list_shares(&self) -> StoreResult<Vec<(String, InodeId)>> {
        let mut out: Vec<_> = self
            .state
            .0
            .read()
            .roots
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        out.sort();
        Ok(out)
    }

    async fn stats(&self) -> StoreResult<StoreStats> {
        let state = self.state.0.read();
        Ok(StoreStats {
            inodes: state.inodes.len() as u64,
            block_bytes: state.block_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemoryMetadataStore;
    use crate::store::MetadataStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_conformance_suite() {
        crate::conformance::run(|| async {
            Arc::new(MemoryMetadataStore::new()) as Arc<dyn MetadataStore>
        })
        .await;
    }

    /// The memory store is not persistent: "reopening" one shared instance
    /// only checks that the reopen suite itself holds together.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reopen_suite_on_a_shared_instance() {
        let shared: Arc<dyn MetadataStore> = Arc::new(MemoryMetadataStore::new());
        crate::conformance::run_reopen(move || {
            let store = shared.clone();
            async move { store }
        })
        .await;
    }
}
