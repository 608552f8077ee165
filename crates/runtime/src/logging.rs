//! Logging as `logging` in the configuration says: level, text or JSON, and
//! where to; plus any other layer the binary adds (trace export).

use std::io::IsTerminal;
use std::sync::Mutex;

use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, Logging};

/// A layer of the global subscriber.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber: the log, and `traces` beside it. Fails
/// if the output file cannot be opened; calling it twice keeps the first
/// subscriber.
pub fn init(cfg: &Logging, traces: Option<BoxedLayer>) -> Result<(), String> {
    let level = cfg.level.trim().to_ascii_lowercase();
    let filter =
        EnvFilter::try_new(&level).map_err(|e| format!("logging.level {:?}: {e}", cfg.level))?;
    // The spans of requests and store calls are for traces: if the log
    // took them too, it would format their fields on every request.
    let filter = filter.and(filter_fn(|m| {
        !(m.is_span() && m.target() == "dittofs_trace")
    }));
    let (writer, terminal) = match cfg.output.trim() {
        "stdout" => (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        ),
        "stderr" => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
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
            (BoxMakeWriter::new(Mutex::new(file)), false)
        }
    };
    let json = cfg.format == LogFormat::Json;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(!json && terminal)
        .with_writer(writer);
    let log: BoxedLayer = if json {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let layers: Vec<BoxedLayer> = std::iter::once(log).chain(traces).collect();
    // A subscriber already installed (tests) is not an error.
    let _ = tracing_subscriber::registry().with(layers).try_init();
    Ok(())
}
