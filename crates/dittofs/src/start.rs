//! `dittofs start`: configuration, logging, stores, adapters, signals.

use std::net::SocketAddr;
use std::path::PathBuf;

use dittofs_admin::AdminEndpoint;
use dittofs_fuse::{FuseAdapter, FuseSettings, MountSpec};
use dittofs_nfs::{NfsAdapter, NfsConfig, NfsLimits};
use dittofs_runtime::config::{Config, Metrics, NfsAdapterConfig, S3Access, S3AdapterConfig};
use dittofs_runtime::{Adapter, DataDir, Server};
use dittofs_s3::{Credential, S3Adapter, S3Settings};
use tokio_util::sync::CancellationToken;

use crate::cli_config::{self, Error};

fn nfs_config(c: &NfsAdapterConfig) -> Result<NfsConfig, Error> {
    let ip = c
        .bind
        .parse()
        .map_err(|_| format!("adapters.nfs.bind: {:?} is not an IP address", c.bind))?;
    Ok(NfsConfig {
        bind: SocketAddr::new(ip, c.port),
        portmap_port: c.portmapper.enabled.then_some(c.portmapper.port),
        max_connections: c.max_connections as usize,
        limits: NfsLimits {
            max_io: c.max_io_size.0 as u32,
            max_record: c.max_record_size.0 as usize,
            ..NfsLimits::default()
        },
        rate_limit: c.rate_limiting.clone(),
    })
}

/// The S3 keys: the configured ones, or the server's generated key pair,
/// which acts as root and may do anything (like the NFS root user).
fn s3_settings(c: &S3AdapterConfig, data_dir: &DataDir) -> Result<S3Settings, Error> {
    let credentials = if c.credentials.is_empty() {
        let (access_key, secret_key) = data_dir.s3_credentials()?;
        tracing::info!(
            file = %data_dir.s3_credentials_path().display(),
            %access_key,
            "S3 key pair (use with AWS_SHARED_CREDENTIALS_FILE)"
        );
        vec![Credential {
            access_key,
            secret_key,
            uid: 0,
            gid: 0,
            default_access: S3Access::Owner,
        }]
    } else {
        c.credentials
            .iter()
            .map(|k| Credential {
                access_key: k.access_key.clone(),
                secret_key: k.secret_key.clone(),
                uid: k.uid,
                gid: k.gid,
                default_access: k.default_access,
            })
            .collect()
    };
    Ok(S3Settings {
        bind: c.bind.clone(),
        port: c.port,
        region: c.region.clone(),
        credentials,
        multipart_expiry: c.multipart_expiry.0,
        rate_limit: c.rate_limiting.clone(),
    })
}

/// The FUSE adapter for `mounts` (the configured ones, or the one
/// `dittofs mount` names).
pub fn fuse_adapter(cfg: &Config, mounts: Vec<MountSpec>) -> FuseAdapter {
    FuseAdapter::new(FuseSettings {
        mounts,
        threads: cfg.adapters.fuse.threads as usize,
        unmount_grace: cfg.server.shutdown_timeout.0,
    })
}

pub fn admin_addr(m: &Metrics) -> Result<SocketAddr, Error> {
    let ip = m
        .bind
        .parse()
        .map_err(|_| format!("server.metrics.bind: {:?} is not an IP address", m.bind))?;
    Ok(SocketAddr::new(ip, m.port))
}

pub fn run(config: Option<PathBuf>) -> Result<(), Error> {
    let loaded = cli_config::load(config)?;
    let (traces, layer) = crate::telemetry::start(&loaded.config.telemetry)?.unzip();
    dittofs_runtime::logging::init(&loaded.config.logging, layer)?;
    if traces.is_some() {
        let t = &loaded.config.telemetry;
        tracing::info!(url = ?t.traces_url(), sample_rate = t.sample_rate, "exporting traces");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = rt.block_on(async move {
        let cfg = &loaded.config;
        // Before the server starts, so that what it builds is metered.
        let prometheus = cfg
            .server
            .metrics
            .enabled
            .then(dittofs_admin::install_recorder)
            .transpose()?;
        let server = Server::start(cfg, &crate::stores::kinds()).await?;
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            config = %loaded.source,
            data_dir = %server.data_dir.path().display(),
            "dittofs starting"
        );
        let mut adapters: Vec<Box<dyn Adapter>> = Vec::new();
        if cfg.adapters.nfs.enabled {
            adapters.push(Box::new(NfsAdapter::new(nfs_config(&cfg.adapters.nfs)?)));
        }
        if cfg.adapters.s3.enabled {
            let settings = s3_settings(&cfg.adapters.s3, &server.data_dir)?;
            adapters.push(Box::new(S3Adapter::new(settings)));
        }
        if cfg.adapters.fuse.enabled {
            let mounts = cfg
                .adapters
                .fuse
                .mounts
                .iter()
                .map(|m| MountSpec {
                    share: m.share.clone(),
                    mountpoint: m.mountpoint.clone().into(),
                })
                .collect();
            adapters.push(Box::new(fuse_adapter(cfg, mounts)));
        }
        if adapters.is_empty() {
            return Err(
                "no adapter is enabled (adapters.nfs, adapters.s3 and adapters.fuse are all disabled)"
                    .into(),
            );
        }
        if let Some(prometheus) = prometheus {
            adapters.push(Box::new(AdminEndpoint::new(
                admin_addr(&cfg.server.metrics)?,
                prometheus,
                server.stores.clone(),
            )));
        }
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        server.run(adapters, shutdown).await?;
        Ok::<_, Error>(())
    });
    // Tasks still running (connections past the grace, idle flushers) are
    // dropped; blocking work in flight gets a moment to end.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    if let Some(t) = traces {
        t.shut_down();
    }
    if served.is_ok() {
        tracing::info!("dittofs stopped");
    }
    served
}

pub async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
    shutdown.cancel();
}
