//! Random numbers and write payloads.
//!
//! Every payload is unique: servers that deduplicate (DittoFS does, by
//! content hash) would otherwise store one block for the whole run and the
//! figures would measure the hash, not the store. Each 4 KiB of a payload
//! starts with a stamp (a per-run nonce and a counter) over random bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, Bytes, BytesMut};

/// SplitMix64: small, fast, good enough to pick offsets and fill buffers.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from the operating system.
    pub fn from_os() -> Self {
        let mut b = [0u8; 8];
        // Without OS randomness the clock is random enough for offsets.
        if getrandom::fill(&mut b).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            b = t.to_le_bytes();
        }
        Self::new(u64::from_le_bytes(b))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// `n` random lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }
}

const STAMP_EVERY: usize = 4096;

/// Makes unique payloads from one shared pool of random bytes.
#[derive(Debug, Clone)]
pub struct Payloads {
    pool: Arc<Vec<u8>>,
    nonce: u64,
    counter: Arc<AtomicU64>,
}

impl Payloads {
    /// A pool able to serve payloads of up to `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        let mut rng = Rng::from_os();
        let mut pool = vec![0u8; max_len + 64 * 1024];
        rng.fill(&mut pool);
        Self {
            pool: Arc::new(pool),
            nonce: rng.next_u64(),
            counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// `len` bytes no other payload of this run shares a 4 KiB piece with.
    pub fn make(&self, len: usize, rng: &mut Rng) -> Bytes {
        let len = len.min(self.pool.len() - 64 * 1024);
        let start = (rng.below(64 * 1024 / 8) * 8) as usize;
        let mut buf = BytesMut::with_capacity(len);
        buf.put_slice(&self.pool[start..start + len]);
        let pieces = len.div_ceil(STAMP_EVERY) as u64;
        let first = self.counter.fetch_add(pieces, Ordering::Relaxed);
        for (i, piece) in buf.chunks_mut(STAMP_EVERY).enumerate() {
            let mut stamp = [0u8; 16];
            stamp[..8].copy_from_slice(&self.nonce.to_le_bytes());
            stamp[8..].copy_from_slice(&(first + i as u64).to_le_bytes());
            let n = piece.len().min(16);
            piece[..n].copy_from_slice(&stamp[..n]);
        }
        buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn payloads_are_unique_per_piece() {
        let p = Payloads::new(1 << 20);
        let mut rng = Rng::new(1);
        let mut seen = HashSet::new();
        for len in [4096, 4096, 1 << 20, 10_000] {
            let b = p.make(len, &mut rng);
            assert_eq!(b.len(), len);
            for piece in b.chunks(4096) {
                assert!(seen.insert(piece.to_vec()), "a repeated 4 KiB piece");
            }
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(42);
        for n in [1, 2, 3, 1000, u64::MAX] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
        assert_eq!(r.hex(16).len(), 16);
    }
}
