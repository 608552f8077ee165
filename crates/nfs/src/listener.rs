use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::connection;
use crate::rpc::Programs;

/// Accepts on every listener until shutdown, then waits for the
/// connections to finish what they were doing.
pub(crate) async fn serve(
    listeners: Vec<TcpListener>,
    programs: Arc<Programs>,
    max_connections: usize,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(if max_connections == 0 {
        Semaphore::MAX_PERMITS
    } else {
        max_connections
    }));
    for l in &listeners {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, "nfs listening");
        }
    }
    let mut accepts = JoinSet::new();
    for listener in listeners {
        let (programs, slots, shutdown) = (programs.clone(), slots.clone(), shutdown.clone());
        accepts.spawn(accept_loop(listener, programs, slots, shutdown));
    }
    while accepts.join_next().await.is_some() {}
}

async fn accept_loop(
    listener: TcpListener,
    programs: Arc<Programs>,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
) {
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(v) => v,
            Err(e) => {
                // Out of descriptors and similar: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let guard = programs.meter.connection();
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: max_connections reached");
            drop(stream);
            guard.force_closed();
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (programs, shutdown) = (programs.clone(), shutdown.clone());
        conns.spawn(async move {
            if connection::serve(stream, peer, programs, shutdown).await {
                guard.closed();
            } else {
                guard.force_closed();
            }
            drop(permit);
        });
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}
