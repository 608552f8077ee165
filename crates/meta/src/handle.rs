use crate::error::FsError;
use crate::types::InodeId;

/// Which share a handle belongs to: derived from the share name, so it is
/// the same on every start and on every server configured alike.
pub type ShareId = u64;

pub fn share_id(name: &str) -> ShareId {
    let h = blake3::hash(name.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_be_bytes(b)
}

/// What a file handle says, once its MAC has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileHandle {
    pub share: ShareId,
    pub inode: InodeId,
    pub generation: u32,
}

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 8 + 8 + 4;
const MAC_LEN: usize = 16;
pub const HANDLE_LEN: usize = BODY_LEN + MAC_LEN;

/// The wire form of a handle: version, share, inode, generation and a MAC.
pub type HandleBytes = [u8; HANDLE_LEN];

/// The per-server secret that signs file handles, so a client cannot forge
/// or alter one to reach an inode it was never given.
#[derive(Clone)]
pub struct HandleKey([u8; 32]);

impl std::fmt::Debug for HandleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandleKey(..)")
    }
}

impl HandleKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self(key))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, body: &[u8]) -> [u8; MAC_LEN] {
        let full = blake3::keyed_hash(&self.0, body);
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full.as_bytes()[..MAC_LEN]);
        out
    }

    pub fn seal(&self, fh: &FileHandle) -> HandleBytes {
        let mut out = [0u8; HANDLE_LEN];
        out[0] = VERSION;
        out[1..9].copy_from_slice(&fh.share.to_be_bytes());
        out[9..17].copy_from_slice(&fh.inode.to_be_bytes());
        out[17..21].copy_from_slice(&fh.generation.to_be_bytes());
        let mac = self.mac(&out[..BODY_LEN]);
        out[BODY_LEN..].copy_from_slice(&mac);
        out
    }

    /// Checks and decodes a handle. Anything not sealed by this key, of the
    /// wrong length or version, is `BadHandle`.
    pub fn open(&self, bytes: &[u8]) -> Result<FileHandle, FsError> {
        if bytes.len() != HANDLE_LEN || bytes[0] != VERSION {
            return Err(FsError::BadHandle);
        }
        let want = self.mac(&bytes[..BODY_LEN]);
        let diff = want
            .iter()
            .zip(&bytes[BODY_LEN..])
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(FsError::BadHandle);
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let mut g = [0u8; 4];
        g.copy_from_slice(&bytes[17..21]);
        Ok(FileHandle {
            share: u64_at(1),
            inode: u64_at(9),
            generation: u32::from_be_bytes(g),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_handles_open_and_tampering_is_caught() {
        let key = HandleKey::from_bytes([7; 32]);
        let fh = FileHandle {
            share: share_id("/export"),
            inode: 42,
            generation: 9,
        };
        let h = key.seal(&fh);
        assert!(h.len() <= 64);
        assert_eq!(key.open(&h).unwrap(), fh);
        for i in 0..h.len() {
            let mut bad = h;
            bad[i] ^= 1;
            assert!(
                matches!(key.open(&bad), Err(FsError::BadHandle)),
                "byte {i}"
            );
        }
        assert!(key.open(&h[..20]).is_err());
        let other = HandleKey::from_bytes([8; 32]);
        assert!(other.open(&h).is_err());
    }

    #[test]
    fn share_ids_are_stable_and_distinct() {
        assert_eq!(share_id("/export"), share_id("/export"));
        assert_ne!(share_id("/export"), share_id("/archive"));
    }
}
