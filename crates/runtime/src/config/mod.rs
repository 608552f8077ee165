//! The configuration: one YAML file, `DITTOFS_*` environment overrides, and
//! the checks that make a bad configuration fail before anything starts.

mod adapters;
mod check;
mod load;
mod locate;
mod schema;
mod show;
mod stores;
mod telemetry;
mod template;
mod units;

pub use adapters::*;
pub use check::{share_bucket, valid_bucket_name};
pub use load::{ConfigError, Loaded, Source, load, parse_yaml};
pub use schema::*;
pub use show::to_yaml;
pub use stores::*;
pub use telemetry::Telemetry;
pub use template::TEMPLATE;
pub use units::{ByteSize, Mode, Seconds};

use std::path::PathBuf;

/// `$XDG_CONFIG_HOME/dittofs/config.yaml`, else `~/.config/dittofs/config.yaml`.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("dittofs").join("config.yaml"))
}
