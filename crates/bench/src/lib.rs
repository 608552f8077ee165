//! `dittofs bench`: NFSv3 workloads run against any server through
//! `dittofs-nfs-client`, with their statistics and reports.
//!
//! It owns: the workloads (sequential and random I/O, small files,
//! directory listings), running them on several connections at once,
//! latency percentiles and throughput, medians over rounds and the A/B
//! comparison, the report as tables or JSON, the progress bar, and removing
//! everything a run created.
//!
//! It must not know any server: it talks NFS only through
//! `dittofs-nfs-client` (itself built on `dittofs-xdr` and
//! `dittofs-nfs-wire`), so DittoFS is measured exactly like any other
//! server, over the network, and nothing here depends on a server crate.
//! The command line (`clap`) lives in the `dittofs` binary.

mod config;
mod data;
mod progress;
mod report;
mod runner;
mod s3;
mod stats;
mod workloads;

pub use config::{
    Config, DEFAULT_CONNECTIONS, DEFAULT_ENTRIES, DEFAULT_FILE_SIZE, DEFAULT_LISTINGS, DEFAULT_OPS,
    MAX_CONNECTIONS, MAX_DEFAULT_IO, SMALL_IO, Workload, format_size, parse_duration, parse_size,
};
pub use dittofs_nfs_client::{ClientOptions, Url};
pub use progress::Progress;
pub use report::{
    Figures, Measurement, Report, RoundResults, Settings, SummaryRow, TargetInfo, fmt_us,
};
pub use runner::{BenchError, run};
pub use s3::{S3Config, S3Row, run_s3, s3_table};
pub use stats::{Samples, median};
