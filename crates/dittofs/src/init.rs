//! `dittofs init`: writes the commented default configuration.

use std::io::Write;
use std::path::PathBuf;

use dittofs_runtime::config;

use crate::cli_config::Error;

pub fn run(path: Option<PathBuf>, force: bool) -> Result<(), Error> {
    let path = path
        .or_else(|| {
            std::env::var_os("DITTOFS_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| {
            std::env::var_os("DITTOFS_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(config::default_path)
        .ok_or("no configuration directory: set XDG_CONFIG_HOME or HOME, or pass --config")?;
    if path.exists() && !force {
        return Err(format!(
            "{} already exists; use --force to overwrite it",
            path.display()
        )
        .into());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(config::TEMPLATE.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}
