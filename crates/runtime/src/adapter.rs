use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::Registry;

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{adapter}: cannot listen on {addr}: {source}")]
    Bind {
        adapter: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("{adapter}: {detail}")]
    Failed {
        adapter: &'static str,
        detail: String,
    },
}

/// A protocol front door. It serves every share of the registry until the
/// token is cancelled, then stops accepting and returns once its
/// connections are done.
#[async_trait]
pub trait Adapter: Send + Sync {
    fn name(&self) -> &'static str;

    /// Binds its listeners. Called for every adapter before any serves, so
    /// a port conflict stops start-up before anything is served.
    async fn bind(&mut self) -> Result<(), AdapterError>;

    async fn serve(
        self: Box<Self>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Result<(), AdapterError>;
}

/// Binds every adapter, then serves until `shutdown` is cancelled or one
/// adapter fails (which cancels the rest). Once cancelled, adapters get
/// `grace` to finish the requests they are serving; after that they are
/// dropped, which closes their connections.
pub async fn run_adapters(
    mut adapters: Vec<Box<dyn Adapter>>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
    grace: std::time::Duration,
) -> Result<(), AdapterError> {
    for a in &mut adapters {
        a.bind().await?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for a in adapters {
        let (registry, shutdown) = (registry.clone(), shutdown.clone());
        tasks.spawn(async move {
            let name = a.name();
            let r = a.serve(registry, shutdown.clone()).await;
            if r.is_err() {
                shutdown.cancel();
            }
            (name, r)
        });
    }
    let mut first_error = None;
    let mut deadline = None;
    loop {
        let next = match deadline {
            None => tokio::select! {
                n = tasks.join_next() => n,
                _ = shutdown.cancelled() => {
                    deadline = Some(tokio::time::Instant::now() + grace);
                    continue;
                }
            },
            Some(at) => match tokio::time::timeout_at(at, tasks.join_next()).await {
                Ok(n) => n,
                Err(_) => {
                    tracing::warn!(
                        ?grace,
                        "shutdown timeout reached; closing the remaining connections"
                    );
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            },
        };
        let Some(done) = next else { break };
        match done {
            Ok((name, Ok(()))) => tracing::info!(adapter = name, "adapter stopped"),
            Ok((_, Err(e))) => {
                tracing::error!(error = %e, "adapter failed");
                first_error.get_or_insert(e);
            }
            Err(e) => {
                shutdown.cancel();
                first_error.get_or_insert(AdapterError::Failed {
                    adapter: "runtime",
                    detail: format!("adapter task panicked: {e}"),
                });
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}
