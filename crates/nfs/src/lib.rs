//! The NFS adapter: ONC-RPC over TCP carrying the portmapper (v2), MOUNT v3
//! and NFSv3 programs.
//!
//! It owns the wire: record framing, call dispatch, authentication
//! (AUTH_SYS, AUTH_NONE) and the translation between XDR types and service
//! calls. It never touches a store and never decides a permission: every
//! request becomes calls on the share's metadata and content services,
//! found through the runtime's registry by the share id in the handle.

mod connection;
mod listener;
mod meter;
mod mount;
mod nfs3;
mod portmap;
mod rpc;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use dittofs_runtime::config::RateLimiting;
use dittofs_runtime::{Adapter, AdapterError, Registry, RequestLimit};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The default NFS (and MOUNT, and portmapper) port.
pub const DEFAULT_PORT: u16 = 12049;

/// Sizes this server accepts and offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NfsLimits {
    /// Largest READ or WRITE payload (FSINFO rtmax/wtmax).
    pub max_io: u32,
    /// Largest RPC record; a bigger one closes its connection unread.
    pub max_record: usize,
    /// Requests processed at once per connection; further ones wait in
    /// the socket.
    pub max_in_flight: usize,
}

impl Default for NfsLimits {
    fn default() -> Self {
        let max_io = 1 << 20;
        Self {
            max_io,
            max_record: max_io as usize + 64 * 1024,
            max_in_flight: 64,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NfsConfig {
    pub bind: SocketAddr,
    /// Also answer the portmapper on this port (111 for clients that only
    /// know the standard port).
    pub portmap_port: Option<u16>,
    /// 0 means no limit.
    pub max_connections: usize,
    pub limits: NfsLimits,
    /// NFS's own request rate (`adapters.nfs.rate_limiting`), asked before
    /// the registry's server-wide one.
    pub rate_limit: RateLimiting,
}

impl Default for NfsConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            portmap_port: None,
            max_connections: 0,
            limits: NfsLimits::default(),
            rate_limit: RateLimiting::default(),
        }
    }
}

pub struct NfsAdapter {
    config: NfsConfig,
    listeners: Vec<TcpListener>,
}

impl NfsAdapter {
    pub fn new(config: NfsConfig) -> Self {
        Self {
            config,
            listeners: Vec::new(),
        }
    }

    /// The address NFS is served on, once bound (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listeners.first().and_then(|l| l.local_addr().ok())
    }
}

#[async_trait]
impl Adapter for NfsAdapter {
    fn name(&self) -> &'static str {
        "nfs"
    }

    async fn bind(&mut self) -> Result<(), AdapterError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| AdapterError::Bind {
                    adapter: "nfs",
                    addr: addr.to_string(),
                    source,
                })
        };
        self.listeners.push(bind(self.config.bind).await?);
        if let Some(port) = self.config.portmap_port {
            let addr = SocketAddr::new(self.config.bind.ip(), port);
            self.listeners.push(bind(addr).await?);
        }
        Ok(())
    }

    async fn serve(
        self: Box<Self>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Result<(), AdapterError> {
        let port = self
            .local_addr()
            .map_or(self.config.bind.port(), |a| a.port());
        let meter = registry.meter(meter::VOCABULARY);
        let programs = Arc::new(rpc::Programs {
            registry,
            meter,
            mounts: mount::MountTable::default(),
            limits: self.config.limits,
            port,
            limit: RequestLimit::new(&self.config.rate_limit),
        });
        listener::serve(
            self.listeners,
            programs,
            self.config.max_connections,
            shutdown,
        )
        .await;
        Ok(())
    }
}
