//! A small async NFSv3 client: the portmapper (v2) to find ports, MOUNT v3
//! to get an export's root handle, and the NFSv3 procedures a benchmark or a
//! test needs, over TCP with AUTH_SYS.
//!
//! It owns: `nfs://` URL parsing ([`Url`]), name resolution and port
//! discovery, RPC framing on the client side (xids, record marking, one call
//! in flight per connection, a deadline on every connect and call, a call
//! answered NFS3ERR_JUKEBOX sent again after a growing pause, up to a
//! minute), and one readable error per failure ([`ClientError`]).
//!
//! It must not know any server: it is built only on `dittofs-xdr` and
//! `dittofs-nfs-wire`, the same wire types the server uses, so it never
//! depends on a server crate and works against any NFSv3 server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dittofs_nfs_client::ClientError> {
//! use dittofs_nfs_client::{ClientOptions, Mount, Url};
//! let url = Url::parse("nfs://127.0.0.1:12049/export")?;
//! let mount = Mount::mount(&url, &ClientOptions::default()).await?;
//! let mut nfs = mount.connect().await?;
//! let attrs = nfs.getattr(mount.root()).await?;
//! println!("root has mode {:o}", attrs.mode);
//! mount.unmount().await?;
//! # Ok(()) }
//! ```

mod error;
mod mount;
mod nfs;
mod rpc;
mod url;

pub use error::{ClientError, RpcDenial, mount_stat_name, nfs_stat_name};
pub use mount::{ClientOptions, Mount, resolve};
pub use nfs::{Created, NfsClient, READDIRPLUS_DIRCOUNT, READDIRPLUS_MAXCOUNT};
pub use url::{Url, UrlError};

/// The wire types the client's methods take and return.
pub use dittofs_nfs_wire as wire;
