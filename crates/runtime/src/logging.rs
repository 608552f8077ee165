//! Logging as `logging` in the configuration says: level, text or JSON, and
//! where to.

use std::io::IsTerminal;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Logging};

/// Installs the global subscriber. Fails if the output file cannot be
/// opened; calling it twice keeps the first subscriber.
pub fn init(cfg: &Logging) -> Result<(), String> {
    let level = cfg.level.trim().to_ascii_lowercase();
    let filter =
        EnvFilter::try_new(&level).map_err(|e| format!("logging.level {:?}: {e}", cfg.level))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let json = cfg.format == LogFormat::Json;
    let result = match cfg.output.trim() {
        "stdout" => {
            let b = builder
                .with_ansi(!json && std::io::stdout().is_terminal())
                .with_writer(std::io::stdout);
            if json {
                b.json().try_init()
            } else {
                b.try_init()
            }
        }
        "stderr" => {
            let b = builder
                .with_ansi(!json && std::io::stderr().is_terminal())
                .with_writer(std::io::stderr);
            if json {
                b.json().try_init()
            } else {
                b.try_init()
            }
        }
        path => {
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| format!("logging.output {path}: {e}"))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("logging.output {path}: {e}"))?;
            let b = builder.with_ansi(false).with_writer(Mutex::new(file));
            if json {
                b.json().try_init()
            } else {
                b.try_init()
            }
        }
    };
    // A subscriber already installed (tests) is not an error.
    let _ = result;
    Ok(())
}
