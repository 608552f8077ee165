//! The runtime of a DittoFS server: which shares exist, on which stores,
//! and the life of the protocol adapters that serve them.
//!
//! It reads and checks the configuration, opens each named store once
//! (through [`StoreKinds`], which the binary fills with the store types it
//! was built with), turns the shares into a [`Registry`] of [`Share`]s
//! (each a metadata service and a content service over its stores),
//! resolves a file handle to its share, keeps the server's handle key in
//! the data directory, sets up logging (and wraps the stores so their calls
//! are spans when traces are exported), and runs adapters until a shutdown
//! signal, then makes every share's written data durable. It knows no wire
//! protocol: adapters implement [`Adapter`] and are handed the registry. It
//! never reads or writes a store itself. It also holds what adapters and
//! stores count for `server.metrics` ([`meter`]), but not the exporter or
//! the admin endpoint (`dittofs-admin`).

mod adapter;
pub mod config;
mod datadir;
mod limits;
pub mod logging;
pub mod meter;
mod registry;
mod server;
mod stores;
mod traced;

pub use adapter::{Adapter, AdapterError, run_adapters};
pub use datadir::{DataDir, DataDirError};
pub use limits::RequestLimit;
pub use registry::{
    BucketSettings, CREATED_XATTR, Registry, RegistryError, Share, ShareFactory, ShareSpec,
};
pub use server::{NamedStore, Server, StartError, StoreHandle, share_options};
pub use stores::{MetadataStoreKind, OpenContext, PayloadStoreKind, StoreKinds};
