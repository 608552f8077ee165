//! `dittofs status`: the state of a running server, from its admin
//! endpoint (`server.metrics`).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use crate::cli_config::{self, Error};

#[derive(Args)]
pub struct StatusArgs {
    /// Configuration file, to find the server's admin endpoint
    /// (server.metrics) [default: as for `start`]
    #[arg(long, short, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The admin endpoint, instead of the configuration's
    /// (e.g. http://127.0.0.1:9090)
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    url: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Where the configuration says the endpoint is; a wildcard bind is asked
/// on loopback.
fn url_from_config(config: Option<PathBuf>) -> Result<String, Error> {
    let loaded = cli_config::load(config)?;
    let m = &loaded.config.server.metrics;
    if !m.enabled {
        return Err(format!(
            "server.metrics.enabled is false in {}: the server serves no status (enable it, or pass --url)",
            loaded.source
        )
        .into());
    }
    let ip: IpAddr = match m.bind.parse() {
        Ok(IpAddr::V4(v4)) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        Ok(IpAddr::V6(v6)) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => {
            return Err(format!("server.metrics.bind: {:?} is not an IP address", m.bind).into());
        }
    };
    Ok(format!("http://{}", std::net::SocketAddr::new(ip, m.port)))
}

pub fn run(a: StatusArgs) -> Result<(), Error> {
    let url = match a.url {
        Some(u) => u,
        None => url_from_config(a.config)?,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(dittofs_admin::client::status(&url))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(())
}
