//! The metadata layer of DittoFS.
//!
//! This crate owns the data model (inodes, directory entries, extent maps,
//! block reference counts), the [`MetadataStore`] trait with its in-memory
//! implementation and conformance suite, file handles, and the
//! [`MetadataService`]: identity (squash), permissions, name rules and
//! every namespace operation, each as one store transaction.
//!
//! Stores here are plain storage and must not check permissions or know a
//! protocol; the service must not know a wire format. Protocol adapters
//! call the service (never a store) through the share registry, and the
//! content service in `dittofs-content` uses it to check I/O and to map
//! written blocks into files.

pub mod codec;
mod error;
pub mod extents;
mod handle;
mod memory;
pub mod overlay;
mod service;
mod store;
mod types;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use dittofs_blocks::BlockError;
pub use error::{FsError, FsResult, StoreError};
pub use handle::{FileHandle, HANDLE_LEN, HandleBytes, HandleKey, ShareId, share_id};
pub use memory::MemoryMetadataStore;
pub use service::*;
pub use store::{BlockLease, MetaTxn, MetadataStore, StoreResult};
pub use types::*;
