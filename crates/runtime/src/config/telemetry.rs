//! The `telemetry` section, and `telemetry.endpoint` as the URL spans are
//! POSTed to.

use serde::{Deserialize, Serialize};

/// Traces of requests, sent to an OpenTelemetry collector over OTLP/HTTP
/// (protobuf).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telemetry {
    pub enabled: bool,
    /// `host:port` or an `http(s)://` URL; a URL without a path gets
    /// `/v1/traces`.
    pub endpoint: String,
    /// For an endpoint without a scheme: plain HTTP when true, else HTTPS.
    pub insecure: bool,
    /// The fraction of requests traced, 0 to 1.
    pub sample_rate: f64,
    /// `service.name` of the traces.
    pub service_name: String,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: "localhost:4318".into(),
            insecure: true,
            sample_rate: 1.0,
            service_name: "dittofs".into(),
        }
    }
}

/// The OTLP/HTTP path for traces, added to an endpoint given without one.
const TRACES_PATH: &str = "/v1/traces";

impl Telemetry {
    /// The URL of the collector's traces receiver, or why `endpoint` is
    /// not one.
    pub fn traces_url(&self) -> Result<String, String> {
        let endpoint = self.endpoint.trim();
        let (scheme, rest) = match endpoint.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None if self.insecure => ("http".to_owned(), endpoint),
            None => ("https".to_owned(), endpoint),
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "{endpoint:?}: the scheme must be http or https (traces go over OTLP/HTTP)"
            ));
        }
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        authority_ok(authority).map_err(|why| {
            format!("{endpoint:?} is not a collector address like localhost:4318 ({why})")
        })?;
        let path = if path.is_empty() || path == "/" {
            TRACES_PATH
        } else {
            path
        };
        Ok(format!("{scheme}://{authority}{path}"))
    }
}

/// `host`, `host:port` or `[v6]:port`, nothing more (no user info).
fn authority_ok(a: &str) -> Result<(), &'static str> {
    if a.is_empty() {
        return Err("no host");
    }
    if a.contains('@') || a.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("unexpected characters");
    }
    let port = if let Some(v6) = a.strip_prefix('[') {
        let (ip, after) = v6.split_once(']').ok_or("unclosed [")?;
        ip.parse::<std::net::Ipv6Addr>()
            .map_err(|_| "not an IPv6 address in [ ]")?;
        match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after ]")?),
        }
    } else {
        match a.split_once(':') {
            None => None,
            Some(("", _)) => return Err("no host"),
            Some((_, p)) => Some(p),
        }
    };
    match port.map(str::parse::<u16>) {
        None | Some(Ok(1..)) => Ok(()),
        Some(_) => Err("the port must be between 1 and 65535"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(endpoint: &str, insecure: bool) -> Result<String, String> {
        Telemetry {
            endpoint: endpoint.into(),
            insecure,
            ..Telemetry::default()
        }
        .traces_url()
    }

    #[test]
    fn endpoints_become_traces_urls() {
        let ok = |e, insecure| url(e, insecure).unwrap();
        assert_eq!(
            ok("localhost:4318", true),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(
            ok("localhost:4318", false),
            "https://localhost:4318/v1/traces"
        );
        assert_eq!(ok("collector", true), "http://collector/v1/traces");
        assert_eq!(
            ok("https://otel.example:443/", true),
            "https://otel.example:443/v1/traces"
        );
        assert_eq!(
            ok("http://[::1]:4318/custom/traces", false),
            "http://[::1]:4318/custom/traces"
        );
    }

    #[test]
    fn bad_endpoints_are_refused() {
        for bad in [
            "",
            "grpc://localhost:4317",
            "localhost:0",
            "localhost:99999",
            "localhost:port",
            ":4318",
            "http://",
            "user@host:4318",
            "[::1:4318",
            "local host:4318",
        ] {
            assert!(url(bad, true).is_err(), "{bad:?} accepted");
        }
    }
}
