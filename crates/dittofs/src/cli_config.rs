//! `dittofs config validate|show`, and finding the configuration file.

use std::path::PathBuf;

use dittofs_runtime::config::{self, Loaded};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The file to read: `--config`, else `$DITTOFS_CONFIG`, else the default
/// location when a file is there; `None` means the built-in defaults.
pub fn resolve(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit
        .or_else(|| {
            std::env::var_os("DITTOFS_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| config::default_path().filter(|p| p.exists()))
}

pub fn load(explicit: Option<PathBuf>) -> Result<Loaded, Error> {
    let path = resolve(explicit);
    Ok(config::load(path.as_deref(), std::env::vars())?)
}

pub fn validate(explicit: Option<PathBuf>) -> Result<(), Error> {
    let loaded = load(explicit)?;
    println!(
        "{}: valid ({} share{}, {} metadata store{}, {} payload store{}{})",
        loaded.source,
        loaded.config.shares.len(),
        plural(loaded.config.shares.len()),
        loaded.config.metadata.stores.len(),
        plural(loaded.config.metadata.stores.len()),
        loaded.config.payload.stores.len(),
        plural(loaded.config.payload.stores.len()),
        if loaded.overrides.is_empty() {
            String::new()
        } else {
            format!("; overridden by {}", loaded.overrides.join(", "))
        }
    );
    Ok(())
}

pub fn show(explicit: Option<PathBuf>) -> Result<(), Error> {
    let loaded = load(explicit)?;
    println!("# effective configuration from {}", loaded.source);
    for var in &loaded.overrides {
        println!("# overridden by {var}");
    }
    print!("{}", config::to_yaml(&loaded.config)?);
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
