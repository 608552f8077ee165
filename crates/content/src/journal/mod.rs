//! The per-share write journal: append-only segment files, a checksum per
//! record, and group-committed `fdatasync`.
//!
//! A WRITE is acknowledged once its record is appended (a crash of the
//! process cannot lose it: the kernel has it); stable writes and COMMIT wait
//! for a sync covering their records, shared by everyone waiting. Segments
//! are deleted once every record in them has been flushed to the block and
//! metadata stores. The journal knows files only as inode numbers; it knows
//! nothing of permissions, blocks or protocols.

mod record;
mod recover;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dittofs_meta::InodeId;
use parking_lot::Mutex;

pub use record::{Lsn, Record};
pub use recover::Recovered;

use record::segment_of;
use recover::segment_path;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "journal segment {path} is damaged at offset {offset}; records after it may hold acknowledged writes, so start-up stops here"
    )]
    Corrupt { path: PathBuf, offset: u64 },
}

/// A share's journal as the admin endpoint reports it; all zero for a
/// share without one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Segment files kept, the active one included.
    pub segments: usize,
    /// Their size on disk.
    pub bytes: u64,
    /// Bytes appended since start.
    pub appended_bytes: u64,
    /// Bytes appended and not yet made durable by a sync.
    pub unsynced_bytes: u64,
}

/// Segments are cut at this size (a record may run past it).
pub const SEGMENT_SIZE: u64 = 64 << 20;

/// The journal of one share; `disabled` for shares whose metadata does not
/// outlive the process anyway.
pub struct Journal {
    disk: Option<Disk>,
    /// Next LSN handed out when there is no disk journal.
    counter: AtomicU64,
}

struct Disk {
    dir: PathBuf,
    active: Mutex<Active>,
    /// Everything below this position is on stable storage.
    synced: AtomicU64,
    /// Bytes appended, and how many of them the last sync covered.
    appended_bytes: AtomicU64,
    synced_bytes: AtomicU64,
    syncing: tokio::sync::Mutex<()>,
    /// Per segment, the files with records in it that are not yet flushed,
    /// and the last such record of each.
    live: Mutex<BTreeMap<u32, HashMap<InodeId, Lsn>>>,
}

struct Active {
    segment: u32,
    file: Arc<File>,
    len: u64,
    /// Earlier segments written since the last sync, and whether the
    /// directory gained a segment file since then.
    unsynced: Vec<(u32, Arc<File>)>,
    dir_changed: bool,
}

impl Journal {
    pub fn disabled() -> Self {
        Self {
            disk: None,
            counter: AtomicU64::new(1),
        }
    }

    /// Opens the journal in `dir`, returning what it held for replay. New
    /// records go to a fresh segment after the last one found.
    pub fn open(dir: &Path) -> Result<(Self, Recovered), JournalError> {
        let io = |source| JournalError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let recovered = recover::recover(dir)?;
        let segment = recovered.segments.last().map_or(0, |s| s + 1);
        let path = segment_path(dir, segment);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| JournalError::Io { path, source })?;
        sync_dir(dir).map_err(io)?;
        let mut live: BTreeMap<u32, HashMap<InodeId, Lsn>> = BTreeMap::new();
        for s in &recovered.segments {
            live.insert(*s, HashMap::new());
        }
        let start = record::lsn(segment, 0);
        Ok((
            Self {
                disk: Some(Disk {
                    dir: dir.to_path_buf(),
                    active: Mutex::new(Active {
                        segment,
                        file: Arc::new(file),
                        len: 0,
                        unsynced: Vec::new(),
                        dir_changed: false,
                    }),
                    synced: AtomicU64::new(start),
                    appended_bytes: AtomicU64::new(0),
                    synced_bytes: AtomicU64::new(0),
                    syncing: tokio::sync::Mutex::new(()),
                    live: Mutex::new(live),
                }),
                counter: AtomicU64::new(start),
            },
            recovered,
        ))
    }

    /// Appends a record; once this returns, a crash of the process cannot
    /// lose it.
    pub fn append(&self, rec: &Record) -> Result<Lsn, JournalError> {
        let Some(d) = &self.disk else {
            return Ok(self.counter.fetch_add(1, Ordering::Relaxed));
        };
        let mut a = d.active.lock();
        let (head, data) = record::encode(0, rec);
        let size = (head.len() + data.len()) as u64;
        if a.len > 0 && a.len + size > SEGMENT_SIZE {
            d.rotate(&mut a)?;
        }
        let at = record::lsn(a.segment, a.len as u32);
        let (head, data) = record::encode(at, rec);
        if let Err(source) = write_all(&a.file, &head, &data) {
            // Leave no partial record behind: it would read as damage in
            // the middle of the journal once later records follow it.
            let _ = a.file.set_len(a.len);
            return Err(JournalError::Io {
                path: segment_path(&d.dir, a.segment),
                source,
            });
        }
        a.len += size;
        d.appended_bytes.fetch_add(size, Ordering::AcqRel);
        let segment = a.segment;
        drop(a);
        let mut live = d.live.lock();
        let last = live
            .entry(segment)
            .or_default()
            .entry(rec.inode())
            .or_insert(at);
        *last = (*last).max(at);
        Ok(at)
    }

    /// The position after the last record appended.
    pub fn end(&self) -> Lsn {
        match &self.disk {
            Some(d) => {
                let a = d.active.lock();
                record::lsn(a.segment, a.len as u32)
            }
            None => self.counter.load(Ordering::Relaxed),
        }
    }

    /// Returns once everything appended before the call is on stable
    /// storage. Concurrent callers share one sync.
    pub async fn sync(&self) -> Result<(), JournalError> {
        let Some(d) = &self.disk else { return Ok(()) };
        let target = self.end();
        if d.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let _turn = d.syncing.lock().await;
        if d.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let (covered, covered_bytes, files, dir_changed, path) = {
            let mut a = d.active.lock();
            let covered_bytes = d.appended_bytes.load(Ordering::Acquire);
            let mut files: Vec<Arc<File>> = a.unsynced.iter().map(|(_, f)| f.clone()).collect();
            files.push(a.file.clone());
            let changed = std::mem::take(&mut a.dir_changed);
            (
                record::lsn(a.segment, a.len as u32),
                covered_bytes,
                files,
                changed,
                segment_path(&d.dir, a.segment),
            )
        };
        let dir = d.dir.clone();
        let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for f in &files {
                f.sync_data()?;
            }
            if dir_changed {
                sync_dir(&dir)?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        if let Err(source) = result {
            if dir_changed {
                d.active.lock().dir_changed = true;
            }
            return Err(JournalError::Io { path, source });
        }
        // A segment that rotated out after the snapshot was synced only up
        // to `covered`: keep it for the next sync.
        d.active
            .lock()
            .unsynced
            .retain(|(s, _)| *s >= segment_of(covered));
        d.synced.fetch_max(covered, Ordering::AcqRel);
        d.synced_bytes.fetch_max(covered_bytes, Ordering::AcqRel);
        Ok(())
    }

    /// Bytes a sync would have to write now.
    pub fn unsynced_bytes(&self) -> u64 {
        self.disk.as_ref().map_or(0, |d| {
            d.appended_bytes
                .load(Ordering::Acquire)
                .saturating_sub(d.synced_bytes.load(Ordering::Acquire))
        })
    }

    /// Registers a replayed record as not yet flushed, like `append` does.
    pub fn note_replayed(&self, lsn: Lsn, inode: InodeId) {
        if let Some(d) = &self.disk {
            let mut live = d.live.lock();
            let last = live
                .entry(segment_of(lsn))
                .or_default()
                .entry(inode)
                .or_insert(lsn);
            *last = (*last).max(lsn);
        }
    }

    /// Every record of `inode` up to `upto` is now in the stores (and the
    /// metadata store has synced that): segments left with nothing
    /// unflushed are deleted. `upto = Lsn::MAX` forgets the file entirely.
    pub fn release(&self, inode: InodeId, upto: Lsn) {
        self.release_where(|files| {
            if files.get(&inode).is_some_and(|last| *last <= upto) {
                files.remove(&inode);
            }
        });
    }

    /// Deletes the segments that hold nothing unflushed (after replay).
    pub fn prune(&self) {
        self.release_where(|_| {});
    }

    /// Deletes the oldest segments that hold nothing unflushed, stopping at
    /// the first that does: replay then always sees a suffix of history, in
    /// which every write is followed by everything that came after it.
    fn release_where(&self, mut update: impl FnMut(&mut HashMap<InodeId, Lsn>)) {
        let Some(d) = &self.disk else { return };
        let active = d.active.lock().segment;
        let mut live = d.live.lock();
        for files in live.values_mut() {
            update(files);
        }
        let done: Vec<u32> = live
            .iter()
            .take_while(|(segment, files)| files.is_empty() && **segment != active)
            .map(|(segment, _)| *segment)
            .collect();
        for segment in done {
            live.remove(&segment);
            let path = segment_path(&d.dir, segment);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(segment = %path.display(), error = %e, "could not delete a flushed journal segment");
            }
        }
    }

    /// Its size on disk now and what went through it since start.
    pub fn stats(&self) -> JournalStats {
        let Some(d) = &self.disk else {
            return JournalStats::default();
        };
        let active = d.active.lock().segment;
        let mut segments: Vec<u32> = d.live.lock().keys().copied().collect();
        if !segments.contains(&active) {
            segments.push(active);
        }
        // A segment deleted meanwhile simply counts nothing.
        let bytes = segments
            .iter()
            .filter_map(|s| std::fs::metadata(segment_path(&d.dir, *s)).ok())
            .map(|m| m.len())
            .sum();
        JournalStats {
            segments: segments.len(),
            bytes,
            appended_bytes: d.appended_bytes.load(Ordering::Acquire),
            unsynced_bytes: self.unsynced_bytes(),
        }
    }

    /// Segment files the journal keeps (the active one included).
    pub fn segments(&self) -> usize {
        let Some(d) = &self.disk else { return 0 };
        let active = d.active.lock().segment;
        let live = d.live.lock();
        live.len() + usize::from(!live.contains_key(&active))
    }
}

impl Disk {
    fn rotate(&self, a: &mut Active) -> Result<(), JournalError> {
        let next = a.segment + 1;
        let path = segment_path(&self.dir, next);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| JournalError::Io { path, source })?;
        let old = std::mem::replace(&mut a.file, Arc::new(file));
        a.unsynced.push((a.segment, old));
        a.segment = next;
        a.len = 0;
        a.dir_changed = true;
        self.live.lock().entry(next).or_default();
        Ok(())
    }
}

fn write_all(mut f: &File, head: &[u8], data: &[u8]) -> std::io::Result<()> {
    let mut parts = [head, data];
    let mut first = 0;
    while first < parts.len() {
        let slices: Vec<IoSlice<'_>> = parts[first..].iter().map(|p| IoSlice::new(p)).collect();
        let mut n = f.write_vectored(&slices)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while first < parts.len() && n >= parts[first].len() {
            n -= parts[first].len();
            first += 1;
        }
        if first < parts.len() {
            parts[first] = &parts[first][n..];
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
