//! Fetching from a running server's admin endpoint, for `dittofs status`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::{AdminError, Report};

/// How long a server may take to answer, probes of slow stores included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `host:port` from `http://host:port[/]` or `host:port`.
fn authority(url: &str) -> Result<String, AdminError> {
    let bad = |detail: &str| AdminError::BadAnswer {
        url: url.to_owned(),
        detail: detail.to_owned(),
    };
    if url.starts_with("https://") {
        return Err(bad("the admin endpoint speaks plain HTTP; use http://"));
    }
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(bad("expected http://HOST:PORT"));
    }
    if host
        .rsplit_once(':')
        .is_none_or(|(_, p)| p.parse::<u16>().is_err())
    {
        return Err(bad("expected a port, as in http://127.0.0.1:9090"));
    }
    Ok(host.to_owned())
}

/// GETs `path` from the endpoint at `url`: the status and the body.
pub async fn get(url: &str, path: &str) -> Result<(u16, Bytes), AdminError> {
    let host = authority(url)?;
    let unreachable = |detail: String| {
        AdminError::Unreachable(format!(
            "no DittoFS server answers at http://{host} ({detail}); is it running, with server.metrics.enabled: true?"
        ))
    };
    let fetch = async {
        let stream = TcpStream::connect(&host)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        tokio::spawn(conn);
        let req = Request::get(path)
            .header(hyper::header::HOST, host.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(|e| unreachable(e.to_string()))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = res.status().as_u16();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(TIMEOUT, fetch)
        .await
        .map_err(|_| unreachable(format!("no answer within {TIMEOUT:?}")))?
}

/// The running server's `/status`.
pub async fn status(url: &str) -> Result<Report, AdminError> {
    let (code, body) = get(url, "/status").await?;
    let bad = |detail: String| AdminError::BadAnswer {
        url: url.to_owned(),
        detail,
    };
    if code != 200 {
        return Err(bad(format!(
            "/status answered {code}: {}",
            String::from_utf8_lossy(&body).trim()
        )));
    }
    serde_json::from_slice(&body).map_err(|e| bad(format!("/status is not a DittoFS report: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_host_and_port() {
        assert_eq!(
            authority("http://127.0.0.1:9090/").unwrap(),
            "127.0.0.1:9090"
        );
        assert_eq!(authority("localhost:9").unwrap(), "localhost:9");
        assert_eq!(authority("http://[::1]:9090").unwrap(), "[::1]:9090");
        assert!(authority("https://h:1").is_err());
        assert!(authority("http://h").is_err());
        assert!(authority("http://h:1/status").is_err());
    }

    #[tokio::test]
    async fn a_dead_port_is_a_clear_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = status(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("no DittoFS server answers"), "{text}");
        assert!(text.contains("server.metrics.enabled"), "{text}");
    }
}
