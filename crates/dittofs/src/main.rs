//! The `dittofs` command: parses the command line and hands over to the
//! runtime. Besides the command line, only the trace exporter lives here
//! (`telemetry`), to keep the OpenTelemetry crates out of the others.

mod bench;
mod bench_s3;
mod cli_config;
mod init;
mod mount;
mod start;
mod status;
mod stores;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// A server allocates and frees many small buffers per request; mimalloc
/// does that several times faster than the system allocator here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "dittofs",
    version,
    about = "One storage server for NFSv3 (and more) over pluggable metadata and block stores",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ConfigArg {
    /// Configuration file [default: $DITTOFS_CONFIG, else
    /// $XDG_CONFIG_HOME/dittofs/config.yaml when it exists, else built-in
    /// defaults]
    #[arg(long, short, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented default configuration file.
    Init {
        /// Where to write it [default: $XDG_CONFIG_HOME/dittofs/config.yaml]
        #[arg(long, short, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Start the server and serve until SIGINT or SIGTERM.
    Start(ConfigArg),
    /// Mount one share at a directory through FUSE (no NFS client needed)
    /// and serve it until SIGINT or SIGTERM, which unmount it.
    Mount {
        /// The share's name, as in `shares[].name` (e.g. /export).
        share: String,
        /// An existing directory to mount it on.
        mountpoint: PathBuf,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print a running server's shares, stores, connections, cache and
    /// journals (needs server.metrics.enabled).
    Status(status::StatusArgs),
    /// Check or print the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Measure an NFSv3 server (this one or any other): throughput and
    /// latency of sequential and random I/O, small files and listings.
    Bench(Box<bench::BenchArgs>),
    /// Measure an S3 endpoint (this one or any other): PUT and GET of
    /// objects of several sizes at several concurrencies.
    BenchS3(Box<bench_s3::BenchS3Args>),
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the configuration (file plus DITTOFS_* variables) and report
    /// the first problem.
    Validate(ConfigArg),
    /// Print the effective configuration after DITTOFS_* overrides, with
    /// secrets redacted.
    Show(ConfigArg),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => {
            println!("dittofs {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Init { config, force } => init::run(config, force),
        Command::Start(a) => start::run(a.config),
        Command::Mount {
            share,
            mountpoint,
            config,
        } => mount::run(share, mountpoint, config.config),
        Command::Status(a) => status::run(a),
        Command::Bench(a) => bench::run(*a),
        Command::BenchS3(a) => bench_s3::run(*a),
        Command::Config(ConfigCommand::Validate(a)) => cli_config::validate(a.config),
        Command::Config(ConfigCommand::Show(a)) => cli_config::show(a.config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dittofs: {e}");
            ExitCode::FAILURE
        }
    }
}
