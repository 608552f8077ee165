//! The admin endpoint of a DittoFS server, on `server.metrics.port`:
//! `/metrics` (Prometheus text format), `/health` (the process answers),
//! `/health/ready` (every store answers), and `/status` (JSON: shares,
//! stores, connections, cache, journals), which `dittofs status` fetches
//! with [`client`] and prints with [`Report::render`].
//!
//! It owns the Prometheus recorder and the gauges read at scrape time
//! from the registry (connections, cache, journals, dirty data); what the
//! adapters and stores count on their own paths is in
//! `dittofs_runtime::meter`. It reads the registry and asks each store one
//! cheap question for readiness, but never changes anything, and knows no
//! file protocol. The binary adds it as one more [`Adapter`], so it binds
//! with the others and stops at shutdown.

pub mod client;
mod exporter;
mod health;
mod http;
mod report;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use dittofs_runtime::{Adapter, AdapterError, NamedStore, Registry};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use exporter::install_recorder;
pub use health::{Probe, probe_stores};
pub use report::{
    AdapterReport, CacheReport, DirtyReport, JournalReport, Report, ShareReport, StoreReport,
};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot install the Prometheus recorder: {0}")]
    Recorder(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{url}: {detail}")]
    BadAnswer { url: String, detail: String },
}

/// What the endpoint serves from, shared by its connections.
pub(crate) struct State {
    pub registry: Arc<Registry>,
    pub stores: Vec<NamedStore>,
    pub prometheus: PrometheusHandle,
    pub started: SystemTime,
}

pub struct AdminEndpoint {
    addr: SocketAddr,
    prometheus: PrometheusHandle,
    stores: Vec<NamedStore>,
    listener: Option<TcpListener>,
}

impl AdminEndpoint {
    /// `prometheus` comes from [`install_recorder`]; `stores` are the
    /// server's named stores, probed for readiness.
    pub fn new(addr: SocketAddr, prometheus: PrometheusHandle, stores: Vec<NamedStore>) -> Self {
        Self {
            addr,
            prometheus,
            stores,
            listener: None,
        }
    }
}

#[async_trait]
impl Adapter for AdminEndpoint {
    fn name(&self) -> &'static str {
        "admin"
    }

    async fn bind(&mut self) -> Result<(), AdapterError> {
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|source| AdapterError::Bind {
                adapter: "admin",
                addr: self.addr.to_string(),
                source,
            })?;
        tracing::info!(addr = %self.addr, "metrics, health and status listening");
        self.listener = Some(listener);
        Ok(())
    }

    async fn serve(
        self: Box<Self>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Result<(), AdapterError> {
        let listener = self.listener.ok_or_else(|| AdapterError::Failed {
            adapter: "admin",
            detail: "serve before bind".into(),
        })?;
        let state = Arc::new(State {
            registry,
            stores: self.stores,
            prometheus: self.prometheus,
            started: SystemTime::now(),
        });
        http::serve(listener, state, shutdown).await;
        Ok(())
    }
}
