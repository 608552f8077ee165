//! One TCP connection: a reader that cuts records and starts a task per
//! call, and a writer that sends replies in whatever order they finish.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use dittofs_xdr::{RecordError, RecordReader, write_segments};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::rpc::{Programs, dispatch};

/// Replies gathered into one vectored write at most.
const MAX_BATCH: usize = 32;

/// Serves until the client closes, the connection fails or shutdown;
/// false when the server cut it (a record over the size limit).
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    programs: Arc<Programs>,
    shutdown: CancellationToken,
) -> bool {
    tracing::debug!(%peer, "connection open");
    let limits = programs.limits;
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Vec<Bytes>>(limits.max_in_flight);
    let writer = tokio::spawn(write_replies(wr, rx));
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let mut records = RecordReader::new(rd, limits.max_record);
    let mut cut = false;
    loop {
        // Stop reading when the connection has as many calls in progress
        // as allowed; the client's further calls wait in the socket.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = in_flight.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let record = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = records.next() => r,
        };
        let record = match record {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(RecordError::TooLarge { len, max }) => {
                tracing::warn!(%peer, len, max, "record over the size limit; closing connection");
                cut = true;
                break;
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "connection read failed");
                break;
            }
        };
        let (programs, tx) = (programs.clone(), tx.clone());
        tokio::spawn(async move {
            if let Some(reply) = dispatch(&programs, record, peer).await {
                let _ = tx.send(reply).await;
            }
            drop(permit);
        });
    }
    // Calls already started still get their replies; the writer ends when
    // the last of them drops its sender.
    drop(tx);
    let _ = writer.await;
    tracing::debug!(%peer, "connection closed");
    !cut
}

async fn write_replies(mut wr: OwnedWriteHalf, mut rx: mpsc::Receiver<Vec<Bytes>>) {
    let mut batch: Vec<Bytes> = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.extend(first);
        for _ in 1..MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        if write_segments(&mut wr, &mut batch).await.is_err() {
            // The peer is gone; drain so senders never block.
            rx.close();
            while rx.recv().await.is_some() {}
            return;
        }
    }
    let _ = wr.shutdown().await;
}
