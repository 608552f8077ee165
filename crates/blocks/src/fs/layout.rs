//! Where blocks live on disk, and the ordered walk that lists them.
//!
//! ```text
//! <root>/lock                    held (flock) while a store has the root open
//! <root>/tmp/<hex>.<pid>.<n>.tmp a put in progress (removed at open)
//! <root>/blocks/ab/cd/<hex>      one file per block, named by its full id
//! ```
//!
//! The two fan-out levels are the first and second byte of the id, so a
//! leaf directory holds about 1/65536 of the blocks, and lowercase hex names
//! sort the same way as the ids do.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::BlockId;

pub(super) struct Layout {
    pub root: PathBuf,
    pub blocks: PathBuf,
    pub tmp: PathBuf,
}

impl Layout {
    pub fn new(root: PathBuf) -> Self {
        Self {
            blocks: root.join("blocks"),
            tmp: root.join("tmp"),
            root,
        }
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// `<root>/blocks/ab`
    pub fn level1(&self, id: &BlockId) -> PathBuf {
        self.blocks.join(hex_byte(id.0[0]))
    }

    /// `<root>/blocks/ab/cd`
    pub fn leaf(&self, id: &BlockId) -> PathBuf {
        self.level1(id).join(hex_byte(id.0[1]))
    }

    /// `<root>/blocks/ab/cd/<hex>`
    pub fn block(&self, id: &BlockId) -> PathBuf {
        self.leaf(id).join(id.to_hex())
    }

    /// A fresh name in `<root>/tmp/` for a put of `id`.
    pub fn temp(&self, id: &BlockId, seq: u64) -> PathBuf {
        self.tmp
            .join(format!("{}.{}.{seq}.tmp", id.to_hex(), std::process::id()))
    }
}

fn hex_byte(b: u8) -> String {
    format!("{b:02x}")
}

/// The byte a fan-out directory name stands for: exactly two lowercase hex
/// digits, as [`hex_byte`] writes them.
fn parse_hex_byte(name: &str) -> Option<u8> {
    let b = name.as_bytes();
    if b.len() != 2 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u8::from_str_radix(name, 16).ok()
}

/// The id a block file name stands for: 64 lowercase hex digits.
fn parse_block_name(name: &str) -> Option<BlockId> {
    let b = name.as_bytes();
    if b.len() != 64 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    BlockId::from_hex(name)
}

/// Entries of `dir`; a directory that is not there has none.
fn entries(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(rd) => rd.collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The fan-out subdirectories of `dir`, by the byte they stand for, in
/// ascending order. Anything else in `dir` is ignored.
fn fan_out(dir: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries(dir)? {
        let Some(b) = e.file_name().to_str().and_then(parse_hex_byte) else {
            continue;
        };
        if e.file_type()?.is_dir() {
            out.push(b);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The blocks in the leaf directory `dir` for prefix `[b0, b1]`, in
/// ascending order. Files that are not named like a block, or that name a
/// block of another prefix, are ignored.
fn leaf_ids(dir: &Path, b0: u8, b1: u8) -> io::Result<Vec<BlockId>> {
    let mut out = Vec::new();
    for e in entries(dir)? {
        let Some(id) = e.file_name().to_str().and_then(parse_block_name) else {
            continue;
        };
        if id.0[0] != b0 || id.0[1] != b1 || e.file_type()?.is_dir() {
            continue;
        }
        out.push(id);
    }
    out.sort_unstable();
    Ok(out)
}

/// Up to `limit` ids after `after`, ascending. Starts at the fan-out
/// directories of `after`'s prefix and reads one leaf directory at a time,
/// stopping as soon as the page is full.
pub(super) fn list(
    blocks: &Path,
    after: Option<&BlockId>,
    limit: usize,
) -> io::Result<Vec<BlockId>> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let start = after.map_or([0, 0], |a| [a.0[0], a.0[1]]);
    for b0 in fan_out(blocks)? {
        if b0 < start[0] {
            continue;
        }
        let l1 = blocks.join(hex_byte(b0));
        for b1 in fan_out(&l1)? {
            if b0 == start[0] && b1 < start[1] {
                continue;
            }
            let ids = leaf_ids(&l1.join(hex_byte(b1)), b0, b1)?;
            let from = match after {
                Some(a) => ids.partition_point(|id| id <= a),
                None => 0,
            };
            for id in &ids[from..] {
                out.push(*id);
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in [0u8, 9, 10, 0xab, 0xff] {
            assert_eq!(parse_hex_byte(&hex_byte(b)), Some(b));
        }
        for bad in ["", "a", "abc", "AB", "g0", "0x"] {
            assert_eq!(parse_hex_byte(bad), None, "{bad:?}");
        }
        let id = BlockId::of(b"x");
        assert_eq!(parse_block_name(&id.to_hex()), Some(id));
        assert_eq!(parse_block_name(&id.to_hex().to_uppercase()), None);
        assert_eq!(parse_block_name(&id.to_hex()[1..]), None);
        assert_eq!(parse_block_name(&format!("{}.tmp", id.to_hex())), None);
    }

    #[test]
    fn block_path_fans_out_by_the_first_two_bytes() {
        let l = Layout::new(PathBuf::from("/r"));
        let id = BlockId([0xab; 32]);
        let hex = id.to_hex();
        assert_eq!(
            l.block(&id),
            PathBuf::from(format!("/r/blocks/ab/ab/{hex}"))
        );
        let mut bytes = [0u8; 32];
        bytes[0] = 0x01;
        bytes[1] = 0xf0;
        let id = BlockId(bytes);
        assert_eq!(
            l.block(&id),
            PathBuf::from(format!("/r/blocks/01/f0/{}", id.to_hex()))
        );
    }
}
