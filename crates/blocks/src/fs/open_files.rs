//! Block files kept open between reads.
//!
//! A small random read from the page cache costs a few microseconds; the
//! `open` of `blocks/ab/cd/<hex>` before it (a path walk) and the `close`
//! after cost as much again. Blocks never change once written, so an open
//! descriptor stays good for as long as the block exists, and even a stale
//! one (of a block deleted and put again) reads the same bytes.

use std::fs::File;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::BlockId;

/// An open block file and its length.
pub struct OpenBlock {
    pub file: File,
    pub len: u64,
}

/// A direct-mapped table of open block files: a block's slot is fixed by
/// its id, and a newcomer replaces whatever held the slot. No list to
/// maintain, one short lock per read, and at most `SLOTS` descriptors.
pub struct OpenFiles {
    slots: Box<[Slot]>,
}

const SLOTS: usize = 512;

type Slot = Mutex<Option<(BlockId, Arc<OpenBlock>)>>;

impl OpenFiles {
    pub fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }

    fn slot(&self, id: &BlockId) -> &Slot {
        // Block ids are hashes: any two bytes are uniform.
        let b = id.as_bytes();
        &self.slots[usize::from(u16::from_le_bytes([b[0], b[1]])) % SLOTS]
    }

    pub fn get(&self, id: &BlockId) -> Option<Arc<OpenBlock>> {
        match &*self.slot(id).lock() {
            Some((held, open)) if held == id => Some(open.clone()),
            _ => None,
        }
    }

    pub fn insert(&self, id: &BlockId, open: Arc<OpenBlock>) {
        *self.slot(id).lock() = Some((*id, open));
    }

    /// Closes the block's file, if held, so a deleted block's space is
    /// freed now rather than when its slot is next taken.
    pub fn forget(&self, id: &BlockId) {
        let mut slot = self.slot(id).lock();
        if matches!(&*slot, Some((held, _)) if held == id) {
            *slot = None;
        }
    }
}
