//! Written bytes not yet in the block store, per file, in memory: what
//! reads overlay on the extent map and what the flusher turns into blocks.
//! Every byte held is charged to a budget shared by all shares; when it is
//! spent, writers wait and then get pushed back.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dittofs_meta::{InodeId, PendingAttrs, Timestamp};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::journal::Lsn;

/// Writes smaller than this are copied out of the network buffer, so a
/// 4 KiB write does not keep a 64 KiB receive buffer alive.
const COPY_BELOW: usize = 64 * 1024;

/// Memory for dirty data, shared by every share of the server.
pub struct DirtyBudget {
    used: AtomicU64,
    limit: u64,
    freed: Notify,
    /// Wakes the flushers when memory gets tight.
    pub(crate) pressure: Notify,
}

impl DirtyBudget {
    pub fn new(limit: u64) -> Self {
        Self {
            used: AtomicU64::new(0),
            limit: limit.max(1 << 20),
            freed: Notify::new(),
            pressure: Notify::new(),
        }
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes `n` bytes, waiting up to `patience` for the flushers to free
    /// room. `false` means the caller must push back.
    pub async fn reserve(&self, n: u64, patience: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let freed = self.freed.notified();
            let used = self.used.load(Ordering::Acquire);
            // A write larger than the whole budget still goes through when
            // nothing else is held, or it could never be written.
            if used + n <= self.limit || used == 0 {
                if self
                    .used
                    .compare_exchange(used, used + n, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    if used + n > self.limit / 2 {
                        self.pressure.notify_waiters();
                    }
                    return true;
                }
                continue;
            }
            self.pressure.notify_waiters();
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return false;
            }
        }
    }

    /// Takes `n` bytes whatever the limit (journal replay at start-up).
    pub fn force(&self, n: u64) {
        self.used.fetch_add(n, Ordering::AcqRel);
    }

    pub fn release(&self, n: u64) {
        if n > 0 {
            self.used.fetch_sub(n, Ordering::AcqRel);
            self.freed.notify_waiters();
        }
    }

    pub fn under_pressure(&self) -> bool {
        self.used() > self.limit / 2
    }
}

/// One written range, from one journal record (or part of one).
#[derive(Debug, Clone)]
pub struct Piece {
    pub start: u64,
    pub data: Bytes,
    pub lsn: Lsn,
}

impl Piece {
    pub fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

struct DirtyFile {
    /// Non-overlapping ranges by start offset.
    ranges: BTreeMap<u64, Piece>,
    size: u64,
    mtime: Timestamp,
    last_lsn: Lsn,
    bytes: u64,
    first_dirty: Instant,
    last_write: Instant,
}

/// The dirty data of one share.
pub struct DirtyMap {
    files: Mutex<HashMap<InodeId, DirtyFile>>,
}

/// What a flush takes from one file.
pub struct Snapshot {
    pub pieces: Vec<Piece>,
    pub size: u64,
    pub mtime: Timestamp,
    pub last_lsn: Lsn,
    /// Whether every dirty range of the file is in `pieces`.
    pub whole: bool,
}

/// How a file's dirty data looks to the flusher.
pub struct Candidate {
    pub inode: InodeId,
    pub age: Duration,
    pub idle: Duration,
}

impl DirtyMap {
    pub fn new() -> Self {
        Self {
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Records a write of `data` at `offset`; `base_size` is the file's
    /// size before it. Returns the bytes now held minus the bytes it
    /// replaced (what the budget must be charged, which may be negative).
    pub fn insert(
        &self,
        inode: InodeId,
        offset: u64,
        data: Bytes,
        lsn: Lsn,
        mtime: Timestamp,
        base_size: u64,
    ) -> i64 {
        let data = if data.len() < COPY_BELOW {
            Bytes::copy_from_slice(&data)
        } else {
            data
        };
        let now = Instant::now();
        let mut files = self.files.lock();
        let f = files.entry(inode).or_insert_with(|| DirtyFile {
            ranges: BTreeMap::new(),
            size: base_size,
            mtime,
            last_lsn: lsn,
            bytes: 0,
            first_dirty: now,
            last_write: now,
        });
        let end = offset + data.len() as u64;
        let before = f.bytes;
        cut(f, offset, end, |_| true);
        f.bytes += data.len() as u64;
        f.ranges.insert(
            offset,
            Piece {
                start: offset,
                data,
                lsn,
            },
        );
        f.size = f.size.max(end);
        if mtime > f.mtime {
            f.mtime = mtime;
        }
        f.last_lsn = f.last_lsn.max(lsn);
        f.last_write = now;
        f.bytes as i64 - before as i64
    }

    /// The dirty pieces overlapping `start..end`, clipped to it.
    pub fn overlay(&self, inode: InodeId, start: u64, end: u64) -> Vec<Piece> {
        let files = self.files.lock();
        let Some(f) = files.get(&inode) else {
            return Vec::new();
        };
        overlapping(f, start, end)
            .map(|p| {
                let lo = p.start.max(start);
                let hi = p.end().min(end);
                Piece {
                    start: lo,
                    data: p
                        .data
                        .slice((lo - p.start) as usize..(hi - p.start) as usize),
                    lsn: p.lsn,
                }
            })
            .collect()
    }

    pub fn pending(&self, inode: InodeId) -> Option<PendingAttrs> {
        self.files.lock().get(&inode).map(|f| PendingAttrs {
            size: f.size,
            mtime: f.mtime,
        })
    }

    /// Files with dirty data, oldest first.
    pub fn candidates(&self) -> Vec<Candidate> {
        let now = Instant::now();
        let mut v: Vec<Candidate> = self
            .files
            .lock()
            .iter()
            .map(|(inode, f)| Candidate {
                inode: *inode,
                age: now.duration_since(f.first_dirty),
                idle: now.duration_since(f.last_write),
            })
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.age));
        v
    }

    /// The ranges of `inode` to flush: with `whole`, everything; else only
    /// the windows of `window` bytes that writes have filled completely.
    pub fn snapshot(&self, inode: InodeId, whole: bool, window: u64) -> Option<Snapshot> {
        let files = self.files.lock();
        let f = files.get(&inode)?;
        let pieces: Vec<Piece> = if whole {
            f.ranges.values().cloned().collect()
        } else {
            full_windows(f, window)
        };
        let all = pieces.len() == f.ranges.len();
        Some(Snapshot {
            pieces,
            size: f.size,
            mtime: f.mtime,
            last_lsn: f.last_lsn,
            whole: all,
        })
    }

    /// Forgets what a flush put in the stores: the parts of the snapshot's
    /// pieces that no later write replaced. Returns the bytes freed.
    pub fn flushed(&self, inode: InodeId, snap: &Snapshot) -> u64 {
        let mut files = self.files.lock();
        let Some(f) = files.get_mut(&inode) else {
            return 0;
        };
        let before = f.bytes;
        for p in &snap.pieces {
            let lsn = p.lsn;
            cut(f, p.start, p.end(), |q| q.lsn == lsn);
        }
        let freed = before - f.bytes;
        if f.ranges.is_empty() && f.last_lsn == snap.last_lsn {
            files.remove(&inode);
        } else if f.ranges.is_empty() {
            // Nothing dirty is left, only size and time of later writes
            // (a write of zero length): keep them until the next flush.
            f.first_dirty = Instant::now();
        }
        freed
    }

    /// The file was cut to `size`: nothing beyond it may come back.
    pub fn truncate(&self, inode: InodeId, size: u64) -> u64 {
        let mut files = self.files.lock();
        let Some(f) = files.get_mut(&inode) else {
            return 0;
        };
        let before = f.bytes;
        cut(f, size, u64::MAX, |_| true);
        f.size = size;
        let freed = before - f.bytes;
        if f.ranges.is_empty() {
            files.remove(&inode);
        }
        freed
    }

    /// `start..end` of the file now comes from elsewhere: what is held
    /// there is dropped, the size stays. Returns the bytes freed.
    pub fn discard(&self, inode: InodeId, start: u64, end: u64) -> u64 {
        let mut files = self.files.lock();
        let Some(f) = files.get_mut(&inode) else {
            return 0;
        };
        let before = f.bytes;
        cut(f, start, end, |_| true);
        let freed = before - f.bytes;
        if f.ranges.is_empty() {
            files.remove(&inode);
        }
        freed
    }

    /// The file is gone. Returns the bytes freed.
    pub fn remove(&self, inode: InodeId) -> u64 {
        self.files.lock().remove(&inode).map_or(0, |f| f.bytes)
    }

    /// Bytes held for `inode`.
    pub fn file_bytes(&self, inode: InodeId) -> u64 {
        self.files.lock().get(&inode).map_or(0, |f| f.bytes)
    }

    /// The journal position of the oldest write still held for `inode`.
    pub fn oldest_lsn(&self, inode: InodeId) -> Option<Lsn> {
        self.files
            .lock()
            .get(&inode)
            .and_then(|f| f.ranges.values().map(|p| p.lsn).min())
    }

    pub fn bytes(&self) -> u64 {
        self.files.lock().values().map(|f| f.bytes).sum()
    }

    /// Files holding data not yet flushed: the flusher's queue.
    pub fn files(&self) -> usize {
        self.files.lock().len()
    }
}

fn overlapping(f: &DirtyFile, start: u64, end: u64) -> impl Iterator<Item = &Piece> {
    // The piece starting before `start` may reach into the range.
    let first = f
        .ranges
        .range(..start)
        .next_back()
        .map(|(k, _)| *k)
        .unwrap_or(start);
    f.ranges
        .range(first..end)
        .map(|(_, p)| p)
        .filter(move |p| p.end() > start && p.start < end)
}

/// Removes from `start..end` every part of a piece `select` accepts,
/// splitting pieces that reach past either end.
fn cut(f: &mut DirtyFile, start: u64, end: u64, select: impl Fn(&Piece) -> bool) {
    let hit: Vec<u64> = overlapping(f, start, end)
        .filter(|p| select(p))
        .map(|p| p.start)
        .collect();
    for key in hit {
        let Some(p) = f.ranges.remove(&key) else {
            continue;
        };
        f.bytes -= p.data.len() as u64;
        if p.start < start {
            let head = p.data.slice(..(start - p.start) as usize);
            f.bytes += head.len() as u64;
            f.ranges.insert(
                p.start,
                Piece {
                    start: p.start,
                    data: head,
                    lsn: p.lsn,
                },
            );
        }
        if p.end() > end {
            let tail = p.data.slice((end - p.start) as usize..);
            f.bytes += tail.len() as u64;
            f.ranges.insert(
                end,
                Piece {
                    start: end,
                    data: tail,
                    lsn: p.lsn,
                },
            );
        }
    }
}

/// The pieces lying in windows (aligned `window`-sized ranges) that dirty
/// data covers from end to end.
fn full_windows(f: &DirtyFile, window: u64) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut run: Vec<&Piece> = Vec::new();
    let flush_run = |run: &mut Vec<&Piece>, out: &mut Vec<Piece>| {
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            let lo = first.start.div_ceil(window) * window;
            let hi = last.end() / window * window;
            if lo < hi {
                for p in run.iter() {
                    let s = p.start.max(lo);
                    let e = p.end().min(hi);
                    if s < e {
                        out.push(Piece {
                            start: s,
                            data: p.data.slice((s - p.start) as usize..(e - p.start) as usize),
                            lsn: p.lsn,
                        });
                    }
                }
            }
        }
        run.clear();
    };
    for p in f.ranges.values() {
        if run.last().is_some_and(|l| l.end() != p.start) {
            flush_run(&mut run, &mut out);
        }
        run.push(p);
    }
    flush_run(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t() -> Timestamp {
        Timestamp::default()
    }

    /// The byte-level model: what reads should see.
    fn read(m: &DirtyMap, size: usize) -> Vec<Option<u8>> {
        let mut out = vec![None; size];
        for p in m.overlay(1, 0, size as u64) {
            for (i, b) in p.data.iter().enumerate() {
                out[p.start as usize + i] = Some(*b);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn overlapping_writes_read_as_the_last_one(writes in proptest::collection::vec((0u64..300, 1usize..90), 1..30)) {
            let m = DirtyMap::new();
            let mut want = vec![None; 400];
            let mut charged = 0i64;
            for (i, (off, len)) in writes.iter().enumerate() {
                let byte = i as u8 + 1;
                charged += m.insert(1, *off, Bytes::from(vec![byte; *len]), i as u64, t(), 0);
                for k in 0..*len {
                    want[*off as usize + k] = Some(byte);
                }
            }
            prop_assert_eq!(read(&m, 400), want.clone());
            prop_assert_eq!(charged as u64, m.bytes());
            prop_assert_eq!(m.bytes(), want.iter().filter(|b| b.is_some()).count() as u64);
        }

        #[test]
        fn a_flush_forgets_only_what_no_later_write_replaced(
            first in proptest::collection::vec((0u64..300, 1usize..90), 1..15),
            later in proptest::collection::vec((0u64..300, 1usize..90), 0..15),
        ) {
            let m = DirtyMap::new();
            for (i, (off, len)) in first.iter().enumerate() {
                m.insert(1, *off, Bytes::from(vec![i as u8 + 1; *len]), i as u64, t(), 0);
            }
            let snap = m.snapshot(1, true, 64).unwrap();
            let mut want = vec![None; 400];
            for (i, (off, len)) in later.iter().enumerate() {
                let byte = 100 + i as u8;
                m.insert(1, *off, Bytes::from(vec![byte; *len]), 1000 + i as u64, t(), 0);
                for k in 0..*len {
                    want[*off as usize + k] = Some(byte);
                }
            }
            m.flushed(1, &snap);
            prop_assert_eq!(read(&m, 400), want);
        }
    }

    #[test]
    fn only_full_windows_are_taken_unless_asked_for_all() {
        let m = DirtyMap::new();
        m.insert(1, 0, Bytes::from(vec![1; 100]), 1, t(), 0);
        m.insert(1, 100, Bytes::from(vec![2; 200]), 2, t(), 0);
        m.insert(1, 400, Bytes::from(vec![3; 10]), 3, t(), 0);
        let s = m.snapshot(1, false, 128).unwrap();
        let covered: Vec<(u64, u64)> = s.pieces.iter().map(|p| (p.start, p.end())).collect();
        assert_eq!(
            covered,
            vec![(0, 100), (100, 256)],
            "windows 0 and 1 are full, 2 and 3 are not"
        );
        assert!(!s.whole);
        assert!(m.snapshot(1, true, 128).unwrap().whole);
    }

    #[test]
    fn truncate_drops_what_lies_beyond() {
        let m = DirtyMap::new();
        m.insert(1, 0, Bytes::from(vec![1; 100]), 1, t(), 0);
        m.insert(1, 200, Bytes::from(vec![2; 100]), 2, t(), 0);
        assert_eq!(m.truncate(1, 50), 150);
        assert_eq!(m.pending(1).unwrap().size, 50);
        assert_eq!(m.overlay(1, 0, 1000).len(), 1);
        assert_eq!(m.bytes(), 50);
    }

    #[test]
    fn discard_drops_a_range_and_keeps_the_size() {
        let m = DirtyMap::new();
        m.insert(1, 0, Bytes::from(vec![1; 100]), 1, t(), 0);
        m.insert(1, 200, Bytes::from(vec![2; 100]), 2, t(), 0);
        assert_eq!(m.discard(1, 50, 250), 100);
        assert_eq!(m.pending(1).unwrap().size, 300);
        let left: Vec<(u64, u64)> = m
            .overlay(1, 0, 1000)
            .iter()
            .map(|p| (p.start, p.end()))
            .collect();
        assert_eq!(left, vec![(0, 50), (250, 300)]);
        assert_eq!(m.discard(1, 0, 1000), 100);
        assert!(
            m.pending(1).is_none(),
            "nothing held: the file is forgotten"
        );
    }

    #[tokio::test]
    async fn the_budget_makes_writers_wait_then_push_back() {
        let b = std::sync::Arc::new(DirtyBudget::new(2 << 20));
        assert!(b.reserve(2 << 20, Duration::ZERO).await);
        assert!(
            !b.reserve(1, Duration::from_millis(20)).await,
            "full: push back after waiting"
        );
        let b2 = b.clone();
        let waiter = tokio::spawn(async move { b2.reserve(1 << 20, Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.release(1 << 20);
        assert!(waiter.await.unwrap(), "room freed while waiting");
    }
}
