//! Block stores: where file content lives, as immutable blobs named by the
//! BLAKE3 hash of their bytes.
//!
//! This crate owns the [`BlockStore`] trait, the [`BlockId`] type, the
//! in-memory store and the conformance suite every block store must pass.
//! [`FsBlockStore`] keeps blocks as files under a local directory, durably
//! and crash-safely.
//! A block store knows nothing about files, offsets, permissions, caching or
//! protocols: it puts, gets (ranges of), deletes and lists blobs. Which
//! blocks a file uses, and how many files share one, is kept by the metadata
//! store; the content service in `dittofs-content` is the only caller.

mod fs;
mod id;
mod memory;
mod store;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use fs::FsBlockStore;
pub use id::BlockId;
pub use memory::MemoryBlockStore;
pub use store::{BlockError, BlockStore, Capacity};
