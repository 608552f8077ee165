//! The HTTP/1.1 listener and its four routes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::health::probe_stores;
use crate::{Report, State, exporter};

/// How often histograms are folded into their buckets between scrapes,
/// which bounds the memory of samples waiting for a scrape.
const UPKEEP: Duration = Duration::from_secs(5);

pub(crate) async fn serve(listener: TcpListener, state: Arc<State>, shutdown: CancellationToken) {
    let mut conns = JoinSet::new();
    let mut upkeep = tokio::time::interval(UPKEEP);
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = upkeep.tick() => {
                state.prometheus.run_upkeep();
                continue;
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let state = state.clone();
        conns.spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(route(&state, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "admin connection ended");
            }
        });
    }
    // A scrape cut short by shutdown is retried by Prometheus; nothing
    // here needs to finish.
    conns.abort_all();
}

fn answer(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

async fn route(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut res = answer(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET\n");
        res.headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    match req.uri().path() {
        "/metrics" => {
            exporter::publish(&state.registry);
            answer(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                state.prometheus.render(),
            )
        }
        "/health" => answer(StatusCode::OK, TEXT, "ok\n"),
        "/health/ready" => ready(state).await,
        "/status" => {
            let report = Report::gather(state).await;
            match serde_json::to_vec_pretty(&report) {
                Ok(body) => answer(StatusCode::OK, JSON, body),
                Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, TEXT, e.to_string()),
            }
        }
        _ => answer(
            StatusCode::NOT_FOUND,
            TEXT,
            "not found; try /metrics, /health, /health/ready or /status\n",
        ),
    }
}

/// 200 when every store answers, else 503; the body says which did not.
async fn ready(state: &State) -> Response<Full<Bytes>> {
    let probes = probe_stores(&state.stores).await;
    let mut body = String::new();
    let mut all = true;
    for (s, p) in state.stores.iter().zip(&probes) {
        match &p.error {
            None => body.push_str(&format!("{}.stores.{}: ok\n", s.section, s.name)),
            Some(e) => {
                all = false;
                body.push_str(&format!("{}.stores.{}: {e}\n", s.section, s.name));
            }
        }
    }
    let status = if all {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    answer(status, TEXT, body)
}
