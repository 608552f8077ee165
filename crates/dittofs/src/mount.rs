//! `dittofs mount`: one share of the configuration mounted at a directory
//! through FUSE, with no network adapter, until SIGINT or SIGTERM.

use std::path::PathBuf;

use dittofs_fuse::MountSpec;
use dittofs_runtime::Server;
use tokio_util::sync::CancellationToken;

use crate::cli_config::{self, Error};
use crate::start::{fuse_adapter, stop_on_signal};

pub fn run(share: String, mountpoint: PathBuf, config: Option<PathBuf>) -> Result<(), Error> {
    let loaded = cli_config::load(config)?;
    let cfg = &loaded.config;
    if !cfg.shares.iter().any(|s| s.name == share) {
        let names: Vec<&str> = cfg.shares.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "no share named {share:?} in {} (shares: {})",
            loaded.source,
            names.join(", ")
        )
        .into());
    }
    let mountpoint =
        std::path::absolute(&mountpoint).map_err(|e| format!("{}: {e}", mountpoint.display()))?;
    dittofs_runtime::logging::init(&cfg.logging, None)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let server = Server::start(cfg, &crate::stores::kinds()).await?;
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            config = %loaded.source,
            data_dir = %server.data_dir.path().display(),
            "dittofs mount starting"
        );
        let adapter = fuse_adapter(cfg, vec![MountSpec { share, mountpoint }]);
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        server.run(vec![Box::new(adapter)], shutdown).await?;
        Ok(())
    })
}
