//! The `fs` block store: one file per block in a local directory.

mod layout;
mod open_files;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;

use crate::store::clamp_range;
use crate::{BlockError, BlockId, BlockStore, Capacity};

use layout::Layout;
use open_files::{OpenBlock, OpenFiles};

/// Reads up to this size run on the calling thread.
const INLINE_READ: u64 = 128 * 1024;

/// Blocks as files under a local directory, `<root>/blocks/ab/cd/<hex>`.
///
/// A put writes a temporary file in `<root>/tmp/`, syncs it, renames it into
/// place and syncs the directory, so a crash leaves either no block or the
/// whole block, and a put that returned survives power loss. Reads are
/// positioned reads of only the requested range. All file system work runs
/// on tokio's blocking pool.
///
/// One store at a time may have a root open: [`open`](Self::open) takes an
/// advisory lock on `<root>/lock`, held until the store (and any of its
/// operations still running) is dropped.
pub struct FsBlockStore {
    inner: Arc<Inner>,
}

struct Inner {
    layout: Layout,
    /// Puts between their rename and the sync of its directory, so a
    /// concurrent put of the same id that finds the file does not return
    /// before the block is durable.
    in_flight: Mutex<HashMap<BlockId, usize>>,
    /// Leaf directories (by their two-byte prefix) this instance has made
    /// sure exist durably; a put into one of them skips the `mkdir`s.
    synced_leaves: DurableDirs,
    /// The same for the first-level directories (by their first byte), so
    /// `blocks/` itself is synced once per first-level directory, not once
    /// per new leaf.
    synced_level1: DurableDirs,
    open: OpenFiles,
    /// Unlocked when dropped.
    _lock: File,
}

/// Temporary file names are unique within the process by this counter, and
/// across processes by the pid in them (and by the root lock).
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl FsBlockStore {
    /// Opens (creating if needed) a store rooted at `root`.
    ///
    /// Checks the root is a writable directory, locks it, and removes the
    /// temporary files of puts cut short by a crash. It never reads the
    /// blocks themselves, so opening takes the same time whatever the store
    /// holds. This is blocking file system work: call it at startup or from
    /// a blocking task.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlockError> {
        let layout = Layout::new(root.into());
        let root = &layout.root;
        let created_root = match fs::metadata(root) {
            Ok(m) if m.is_dir() => false,
            Ok(_) => {
                return Err(BlockError::Unavailable(format!(
                    "{} is not a directory",
                    root.display()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(root).map_err(|e| io_at(root, e))?;
                true
            }
            Err(e) => return Err(io_at(root, e)),
        };
        let lock_path = layout.lock_file();
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_at(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(BlockError::Unavailable(format!(
                    "{} is in use by another block store",
                    root.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(io_at(&lock_path, e)),
        }
        let mut created = created_root;
        created |= ensure_dir(&layout.blocks)?;
        created |= ensure_dir(&layout.tmp)?;
        clean_tmp(&layout.tmp)?;
        check_writable(&layout)?;
        if created {
            // Make the new directories themselves survive power loss, or
            // every block put into them could vanish with them.
            sync_dir(root)?;
            if created_root && let Some(parent) = root.parent() {
                sync_dir(parent)?;
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                layout,
                in_flight: Mutex::new(HashMap::new()),
                synced_leaves: DurableDirs::new(1 << 16),
                synced_level1: DurableDirs::new(1 << 8),
                open: OpenFiles::new(),
                _lock: lock,
            }),
        })
    }

    /// The directory the store was opened on.
    pub fn root(&self) -> &Path {
        &self.inner.layout.root
    }

    /// Runs `f` on tokio's blocking pool with this store's state.
    async fn blocking<T, F>(&self, f: F) -> Result<T, BlockError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, BlockError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            // Not on a tokio runtime: there is no blocking pool to use.
            return f(&inner);
        };
        match handle.spawn_blocking(move || f(&inner)).await {
            Ok(r) => r,
            Err(e) if e.is_cancelled() => Err(BlockError::Unavailable(
                "the runtime is shutting down".to_owned(),
            )),
            Err(e) => Err(BlockError::Io(io::Error::other(format!(
                "block store task failed: {e}"
            )))),
        }
    }
}

impl fmt::Debug for FsBlockStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsBlockStore")
            .field("root", &self.inner.layout.root)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl BlockStore for FsBlockStore {
    fn kind(&self) -> &'static str {
        "fs"
    }

    async fn put(&self, id: &BlockId, data: Bytes) -> Result<(), BlockError> {
        let id = *id;
        self.blocking(move |inner| inner.put(&id, &data)).await
    }

    async fn get(&self, id: &BlockId, range: Range<u64>) -> Result<Bytes, BlockError> {
        // A small read is nearly always served from the page cache, in a
        // few microseconds: less than handing it to another thread costs.
        if range.end.saturating_sub(range.start) <= INLINE_READ {
            return self.inner.get(id, range);
        }
        let id = *id;
        self.blocking(move |inner| inner.get(&id, range)).await
    }

    fn is_local(&self) -> bool {
        true
    }

    async fn contains(&self, id: &BlockId) -> Result<bool, BlockError> {
        let id = *id;
        self.blocking(move |inner| inner.contains(&id)).await
    }

    async fn delete(&self, id: &BlockId) -> Result<(), BlockError> {
        let id = *id;
        self.blocking(move |inner| inner.delete(&id)).await
    }

    async fn delete_many(&self, ids: &[BlockId]) -> Result<(), BlockError> {
        let ids = ids.to_vec();
        self.blocking(move |inner| ids.iter().try_for_each(|id| inner.delete(id)))
            .await
    }

    async fn list(
        &self,
        after: Option<&BlockId>,
        limit: usize,
    ) -> Result<Vec<BlockId>, BlockError> {
        let after = after.copied();
        self.blocking(move |inner| {
            layout::list(&inner.layout.blocks, after.as_ref(), limit)
                .map_err(|e| io_at(&inner.layout.blocks, e))
        })
        .await
    }

    async fn capacity(&self) -> Result<Capacity, BlockError> {
        self.blocking(|inner| {
            let root = &inner.layout.root;
            let st = rustix::fs::statvfs(root).map_err(|e| io_at(root, e.into()))?;
            Ok(Capacity {
                total_bytes: st.f_blocks.saturating_mul(st.f_frsize),
                free_bytes: st.f_bavail.saturating_mul(st.f_frsize),
            })
        })
        .await
    }
}

impl Inner {
    fn put(&self, id: &BlockId, data: &[u8]) -> Result<(), BlockError> {
        let path = self.layout.block(id);
        if self.is_block_file(id, &path)? {
            // Its data was synced before it got this name; its directory
            // entry may not be yet if another put is still finishing.
            if self.in_flight.lock().contains_key(id) {
                let leaf = self.layout.leaf(id);
                sync_dir(&leaf)?;
            }
            return Ok(());
        }
        let _in_flight = InFlight::new(self, *id);
        let tmp = self.write_temp(id, data)?;
        let placed = self
            .ensure_leaf(id)
            .and_then(|()| fs::rename(&tmp, &path).map_err(|e| io_at(&path, e)));
        if let Err(e) = placed {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        sync_dir(&self.layout.leaf(id))
    }

    /// Writes `data` to a new temporary file and syncs it; returns its path.
    fn write_temp(&self, id: &BlockId, data: &[u8]) -> Result<PathBuf, BlockError> {
        let mut attempts = 0;
        let (path, mut file) = loop {
            let path = self
                .layout
                .temp(id, TEMP_SEQ.fetch_add(1, Ordering::Relaxed));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => break (path, f),
                // Left by a process with our pid that crashed; try the
                // next name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => {
                    attempts += 1;
                }
                Err(e) => return Err(io_at(&path, e)),
            }
        };
        let written = file.write_all(data).and_then(|()| file.sync_data());
        drop(file);
        match written {
            Ok(()) => Ok(path),
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(io_at(&path, e))
            }
        }
    }

    /// Makes sure the fan-out directories for `id` exist and their names
    /// are durable, once per leaf for the life of this instance.
    fn ensure_leaf(&self, id: &BlockId) -> Result<(), BlockError> {
        let top = usize::from(id.0[0]);
        let leaf = (top << 8) | usize::from(id.0[1]);
        if self.synced_leaves.has(leaf) {
            return Ok(());
        }
        // Sync each parent even when the directory was already there: it
        // may have been made a moment ago by a put that has not synced it.
        let level1 = self.layout.level1(id);
        if !self.synced_level1.has(top) {
            ensure_dir(&level1)?;
            sync_dir(&self.layout.blocks)?;
            self.synced_level1.mark(top);
        }
        ensure_dir(&self.layout.leaf(id))?;
        sync_dir(&level1)?;
        self.synced_leaves.mark(leaf);
        Ok(())
    }

    fn open_block(&self, id: &BlockId) -> Result<Arc<OpenBlock>, BlockError> {
        if let Some(open) = self.open.get(id) {
            return Ok(open);
        }
        let path = self.layout.block(id);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BlockError::NotFound(*id));
            }
            Err(e) => return Err(io_at(&path, e)),
        };
        let meta = file.metadata().map_err(|e| io_at(&path, e))?;
        if !meta.is_file() {
            return Err(not_a_file(id, &path));
        }
        let open = Arc::new(OpenBlock {
            file,
            len: meta.len(),
        });
        self.open.insert(id, open.clone());
        Ok(open)
    }

    fn get(&self, id: &BlockId, range: Range<u64>) -> Result<Bytes, BlockError> {
        let open = self.open_block(id)?;
        let r = clamp_range(id, range, open.len)?;
        let mut buf = vec![0u8; r.len()];
        if !buf.is_empty() {
            match open.file.read_exact_at(&mut buf, r.start as u64) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(BlockError::Corrupt {
                        id: *id,
                        detail: format!(
                            "{} shrank while being read",
                            self.layout.block(id).display()
                        ),
                    });
                }
                Err(e) => return Err(io_at(&self.layout.block(id), e)),
            }
        }
        Ok(Bytes::from(buf))
    }

    fn contains(&self, id: &BlockId) -> Result<bool, BlockError> {
        self.is_block_file(id, &self.layout.block(id))
    }

    /// Whether `path` holds block `id`; something other than a file in
    /// its place is damage.
    fn is_block_file(&self, id: &BlockId, path: &Path) -> Result<bool, BlockError> {
        match fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(true),
            Ok(_) => Err(not_a_file(id, path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_at(path, e)),
        }
    }

    /// Removes the file. The directory is not synced: a block that comes
    /// back after a power cut is unreferenced, and the next garbage
    /// collection finds it again through `list`.
    fn delete(&self, id: &BlockId) -> Result<(), BlockError> {
        let path = self.layout.block(id);
        let removed = fs::remove_file(&path);
        self.open.forget(id);
        match removed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_at(&path, e)),
        }
    }
}

/// Marks a put of an id as in flight while alive.
struct InFlight<'a> {
    inner: &'a Inner,
    id: BlockId,
}

impl<'a> InFlight<'a> {
    fn new(inner: &'a Inner, id: BlockId) -> Self {
        *inner.in_flight.lock().entry(id).or_insert(0) += 1;
        Self { inner, id }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut map = self.inner.in_flight.lock();
        if let Some(n) = map.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.id);
            }
        }
    }
}

/// Fan-out directories, by number, known to exist with durable names.
struct DurableDirs(Box<[AtomicU64]>);

impl DurableDirs {
    fn new(count: usize) -> Self {
        Self((0..count.div_ceil(64)).map(|_| AtomicU64::new(0)).collect())
    }

    fn has(&self, n: usize) -> bool {
        self.0[n / 64].load(Ordering::Acquire) & (1 << (n % 64)) != 0
    }

    fn mark(&self, n: usize) {
        self.0[n / 64].fetch_or(1 << (n % 64), Ordering::Release);
    }
}

/// Creates `dir` if it is missing; says whether it did.
fn ensure_dir(dir: &Path) -> Result<bool, BlockError> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::metadata(dir).map_err(|e| io_at(dir, e))?.is_dir() {
                Ok(false)
            } else {
                Err(BlockError::Unavailable(format!(
                    "{} is not a directory",
                    dir.display()
                )))
            }
        }
        Err(e) => Err(io_at(dir, e)),
    }
}

/// Flushes `dir`'s entries (new names, renames) to stable storage.
fn sync_dir(dir: &Path) -> Result<(), BlockError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_at(dir, e))
}

/// Removes what puts cut short by a crash left in `tmp`. Only called with
/// the root locked, so no live put owns any of it.
fn clean_tmp(tmp: &Path) -> Result<(), BlockError> {
    for entry in fs::read_dir(tmp).map_err(|e| io_at(tmp, e))? {
        let entry = entry.map_err(|e| io_at(tmp, e))?;
        let path = entry.path();
        let removed = if entry.file_type().map_err(|e| io_at(&path, e))?.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&path, e)),
        }
    }
    Ok(())
}

/// Creates and removes a file in `tmp`, where every put starts.
fn check_writable(layout: &Layout) -> Result<(), BlockError> {
    let probe = layout.tmp.join(format!("probe.{}.tmp", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| io_at(&probe, e))?;
    fs::remove_file(&probe).map_err(|e| io_at(&probe, e))
}

fn not_a_file(id: &BlockId, path: &Path) -> BlockError {
    BlockError::Corrupt {
        id: *id,
        detail: format!("{} is not a regular file", path.display()),
    }
}

/// `e`, keeping its kind, with the path it happened on.
fn io_at(path: &Path, e: io::Error) -> BlockError {
    BlockError::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}
