//! The S3 adapter: every share that has a bucket name is an S3 bucket, and
//! an object key `a/b/c` is the file `c` in directories `a/b` of that share,
//! so NFS and S3 clients see the same files.
//!
//! It owns the S3 protocol (through `s3s`: HTTP routing, XML, SigV4 in
//! headers and presigned URLs, aws-chunked bodies), the mapping of keys to
//! paths, object metadata (ETag, Content-Type, `x-amz-meta-*`, checksums,
//! kept in extended attributes), listings in S3's order, multipart uploads
//! staged as hidden files, and bucket permissions by access key. It must
//! not know stores or block layout: everything goes through the metadata
//! and content services, which also decide every file permission.

mod access;
mod body;
mod buckets;
mod conditions;
mod copy;
mod digest;
mod error;
mod info;
mod keys;
mod listing;
mod meter;
mod multipart;
mod objects;
mod remove;
mod request;
mod service;
mod staging;
mod tree;
mod walk;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dittofs_runtime::config::{RateLimiting, S3Access};
use dittofs_runtime::{Adapter, AdapterError, Registry, RequestLimit};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use service::Gateway;

/// A key that may sign requests, and who it acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub secret_key: String,
    pub uid: u32,
    pub gid: u32,
    /// Its access to buckets it did not create and that do not list it.
    pub default_access: S3Access,
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bind: String,
    pub port: u16,
    pub region: String,
    pub credentials: Vec<Credential>,
    /// Uploads neither completed nor aborted are removed after this long.
    pub multipart_expiry: Duration,
    /// S3's own request rate (`adapters.s3.rate_limiting`), asked before
    /// the registry's server-wide one.
    pub rate_limit: RateLimiting,
}

/// The S3 front door.
pub struct S3Adapter {
    settings: S3Settings,
    listener: Option<TcpListener>,
}

impl S3Adapter {
    pub fn new(settings: S3Settings) -> Self {
        Self {
            settings,
            listener: None,
        }
    }
}

/// The answer to a request over `server.rate_limiting`.
fn slow_down() -> hyper::Response<s3s::Body> {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    let mut res = hyper::Response::new(s3s::Body::from(xml.to_owned()));
    *res.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    res
}

/// `Expect: 100-continue` on an empty body gets no "100 Continue" (there is
/// no body to ask for), and botocore then misreads the next response on
/// the same connection; such a connection is closed after its response.
fn expects_continue_without_body<B>(req: &hyper::Request<B>) -> bool {
    let h = req.headers();
    h.get(hyper::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
        && h.get(hyper::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
}

/// The client's address, put into each request for the share's client
/// rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

#[async_trait]
impl Adapter for S3Adapter {
    fn name(&self) -> &'static str {
        "s3"
    }

    async fn bind(&mut self) -> Result<(), AdapterError> {
        // An IPv6 address needs brackets once a port follows it.
        let addr = match self.settings.bind.parse::<std::net::IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, self.settings.port).to_string(),
            Err(_) => format!("{}:{}", self.settings.bind, self.settings.port),
        };
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| AdapterError::Bind {
                adapter: "s3",
                addr: addr.clone(),
                source,
            })?;
        tracing::info!(%addr, "S3 listening");
        self.listener = Some(listener);
        Ok(())
    }

    async fn serve(
        self: Box<Self>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Result<(), AdapterError> {
        let listener = self.listener.ok_or_else(|| AdapterError::Failed {
            adapter: "s3",
            detail: "serve before bind".into(),
        })?;
        let credentials: HashMap<String, Credential> = self
            .settings
            .credentials
            .iter()
            .map(|c| (c.access_key.clone(), c.clone()))
            .collect();
        let gateway_registry = registry.clone();
        let gateway = Arc::new(Gateway::new(
            registry,
            Arc::new(credentials),
            self.settings.region.clone(),
        ));
        let meter = gateway.meter.clone();
        let service = service::build(gateway.clone());
        let janitor = tokio::spawn(staging::janitor(
            gateway,
            self.settings.multipart_expiry,
            shutdown.clone(),
        ));
        let limit = Arc::new(RequestLimit::new(&self.settings.rate_limit));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        loop {
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors and the like: wait, do not spin.
                        tracing::warn!(error = %e, "S3 accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let guard = meter.connection();
            let _ = stream.set_nodelay(true);
            let svc = service.clone();
            let registry = gateway_registry.clone();
            let meter = meter.clone();
            let limit = limit.clone();
            let with_peer = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut().insert(Peer(peer));
                let mut timer = meter.start(meter::OTHER_OPERATION);
                let slot = timer.as_ref().map(|_| {
                    let slot = Arc::new(meter::OperationSlot::new());
                    req.extensions_mut().insert(slot.clone());
                    slot
                });
                let unanswered = expects_continue_without_body(&req);
                // The adapter's own bucket first: a request it turns away
                // takes no token from the server-wide one.
                let admitted = limit.admit() && registry.admit();
                let request = request::Call::new(peer, &req);
                let span = request.span();
                let call = hyper::service::Service::call(&svc, req);
                let call = request.scope(call).instrument(span);
                async move {
                    let mut res = if admitted { call.await? } else { slow_down() };
                    if unanswered {
                        res.headers_mut().insert(
                            hyper::header::CONNECTION,
                            hyper::header::HeaderValue::from_static("close"),
                        );
                    }
                    // Timed to the response head: a GET's body streams on.
                    if let (Some(mut t), Some(slot)) = (timer.take(), slot) {
                        t.set_operation(slot.get());
                        t.finish(meter::status(res.status().as_u16()));
                    }
                    Ok::<_, s3s::HttpError>(res)
                }
            });
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), with_peer);
            let conn = graceful.watch(conn.into_owned());
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "S3 connection ended");
                }
                guard.closed();
            });
        }
        drop(listener);
        janitor.abort();
        // Requests in progress finish; the runtime drops us after its grace.
        graceful.shutdown().await;
        Ok(())
    }
}
