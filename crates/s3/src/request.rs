//! The S3 request being served: its trace span, and the context of the one
//! log line a request that failed on the server's side leaves.
//!
//! Neither costs anything per request unless used: the span is disabled
//! unless traces are exported, and the context is read only when a failure
//! is logged.

use std::net::SocketAddr;

use hyper::Uri;
use tracing::Span;
use tracing::field::Empty;

tokio::task_local! {
    static CURRENT: Call;
}

/// Who asked for what.
pub(crate) struct Call {
    pub peer: SocketAddr,
    pub method: hyper::Method,
    /// `/bucket/key`, for the log line.
    pub uri: Uri,
}

impl Call {
    pub fn new<B>(peer: SocketAddr, req: &hyper::Request<B>) -> Self {
        Self {
            peer,
            method: req.method().clone(),
            uri: req.uri().clone(),
        }
    }

    /// The request's span in a trace, renamed after the S3 operation once
    /// it is known ([`routed`]).
    pub fn span(&self) -> Span {
        tracing::info_span!(
            target: "dittofs_trace",
            "s3",
            otel.name = Empty,
            otel.kind = "server",
            http.request.method = %self.method,
            url.path = self.uri.path(),
            client.address = %self.peer.ip(),
            client.port = self.peer.port(),
        )
    }

    /// Runs `f` with this request as the context of its failure logs.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }
}

/// Names the request's span after the operation s3s routed it to. Called
/// before the operation makes any store call: the exporter fixes a span's
/// name when its first child starts.
pub(crate) fn routed(operation: &str) {
    let span = Span::current();
    if !span.is_disabled() {
        span.record("otel.name", operation);
    }
}

/// Logs a request that failed in the stores, with who asked and for what.
pub(crate) fn log_failure(error: &dyn std::fmt::Display) {
    let logged = CURRENT.try_with(|c| {
        tracing::error!(
            client = %c.peer,
            method = %c.method,
            path = c.uri.path(),
            %error,
            "S3 request failed"
        )
    });
    if logged.is_err() {
        tracing::error!(%error, "S3 request failed");
    }
}
