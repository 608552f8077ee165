use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dittofs_blocks::BlockId;

pub type InodeId = u64;

/// Seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Socket,
    Fifo,
}

/// Permission bits plus set-uid, set-gid and sticky.
pub const MODE_MASK: u32 = 0o7777;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;

/// One file, directory, symlink or special file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    pub id: InodeId,
    /// Random at creation: a handle to a deleted inode whose number was
    /// handed out again (a fresh memory store) is still detected as stale.
    pub generation: u32,
    pub kind: FileKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub size: u64,
    pub atime: Timestamp,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    /// Device numbers of character and block devices.
    pub rdev: (u32, u32),
    /// The directory containing a directory (itself for a share root);
    /// unused for other kinds, which may have many parents.
    pub parent: InodeId,
    /// Target of a symlink.
    pub symlink: Option<Bytes>,
    /// Verifier of an EXCLUSIVE create, kept so a retried create succeeds.
    pub create_verifier: Option<[u8; 8]>,
    /// Directories: the cookie the next entry will get.
    pub next_cookie: u64,
    /// Extended attributes by name (the S3 adapter keeps an object's ETag,
    /// Content-Type and user metadata here).
    pub xattrs: Xattrs,
}

pub type Xattrs = BTreeMap<Bytes, Bytes>;

/// The longest extended attribute name.
pub const MAX_XATTR_NAME: usize = 255;
/// The most bytes of names and values one inode may carry in extended
/// attributes (Linux allows 64 KiB per value; one inode record stays small).
pub const MAX_XATTR_BYTES: usize = 64 * 1024;

impl Inode {
    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Directory
    }
}

/// A name in a directory. `cookie` is unique within the directory and only
/// grows, so a listing resumes after any cookie no matter what was added
/// or removed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Bytes,
    pub inode: InodeId,
    pub cookie: u64,
}

/// Cookies 1 and 2 belong to "." and ".."; real entries start after.
pub const FIRST_ENTRY_COOKIE: u64 = 3;

/// The most bytes an extent may carry inline. Small enough that a small
/// file's content costs the metadata store about what its inode does.
pub const MAX_INLINE: usize = 16 * 1024;

/// Where the bytes of an extent are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtentData {
    /// In `id` of the block store, starting at `offset` in the block.
    Block { id: BlockId, offset: u64 },
    /// In the extent itself (at most [`MAX_INLINE`] bytes): the content of
    /// small files lives in the metadata store, so writing one costs one
    /// metadata transaction and no block.
    Inline(Bytes),
}

/// A piece of file content: `len` bytes at `offset` in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub len: u64,
    pub data: ExtentData,
}

impl Extent {
    /// `len` bytes at `offset` from `block`, starting at `block_offset`.
    pub fn in_block(offset: u64, len: u64, block: BlockId, block_offset: u64) -> Self {
        Self {
            offset,
            len,
            data: ExtentData::Block {
                id: block,
                offset: block_offset,
            },
        }
    }

    /// `bytes` at `offset`, kept in the extent.
    pub fn inline(offset: u64, bytes: Bytes) -> Self {
        Self {
            offset,
            len: bytes.len() as u64,
            data: ExtentData::Inline(bytes),
        }
    }

    pub fn end(&self) -> u64 {
        self.offset + self.len
    }

    /// The block it points into, if it is not inline.
    pub fn block(&self) -> Option<&BlockId> {
        match &self.data {
            ExtentData::Block { id, .. } => Some(id),
            ExtentData::Inline(_) => None,
        }
    }

    /// The part of it covering file bytes `lo..hi`, which must lie within
    /// it.
    pub fn slice(&self, lo: u64, hi: u64) -> Extent {
        debug_assert!(self.offset <= lo && lo <= hi && hi <= self.end());
        let skip = lo - self.offset;
        let data = match &self.data {
            ExtentData::Block { id, offset } => ExtentData::Block {
                id: *id,
                offset: offset + skip,
            },
            ExtentData::Inline(b) => {
                ExtentData::Inline(b.slice(skip as usize..(hi - self.offset) as usize))
            }
        };
        Extent {
            offset: lo,
            len: hi - lo,
            data,
        }
    }

    /// The same bytes at file offset `offset`.
    pub fn moved_to(mut self, offset: u64) -> Extent {
        self.offset = offset;
        self
    }
}

/// How many extents use a block, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub refs: u64,
    pub size: u64,
}

/// Counters a store keeps for FSSTAT, so nothing is counted per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    pub inodes: u64,
    pub block_bytes: u64,
}

/// Who is asking: the credential of the request after share squashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
    pub client: Option<SocketAddr>,
}

/// The conventional `nobody` identity.
pub const ANONYMOUS_ID: u32 = 65534;

impl AuthContext {
    pub fn new(uid: u32, gid: u32, gids: Vec<u32>) -> Self {
        Self {
            uid,
            gid,
            gids,
            client: None,
        }
    }

    pub fn root() -> Self {
        Self::new(0, 0, Vec::new())
    }

    pub fn anonymous() -> Self {
        Self::new(ANONYMOUS_ID, ANONYMOUS_ID, Vec::new())
    }

    pub fn with_client(mut self, client: SocketAddr) -> Self {
        self.client = Some(client);
        self
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.gids.contains(&gid)
    }
}

/// A time to set on an inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetTime {
    #[default]
    Unchanged,
    ServerNow,
    Client(Timestamp),
}

/// Attribute changes requested by SETATTR or given at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetAttrs {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: SetTime,
    pub mtime: SetTime,
}
