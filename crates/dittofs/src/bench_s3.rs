//! `dittofs bench-s3`: the command line of the S3 benchmark; the work is in
//! `dittofs-bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use dittofs_bench::{S3Config, parse_duration, parse_size, run_s3, s3_table};

use crate::cli_config::Error;

const AFTER_HELP: &str = "\
Keys: --credentials FILE (AWS shared-credentials format, [default] profile;
this server's generated key pair is <data dir>/s3-credentials), else
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.

Objects go under dittofs-bench-<random>/ in the bucket and are removed at
the end, also after a failure. See docs/BENCHMARKS.md.";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct BenchS3Args {
    /// The S3 endpoint, e.g. http://127.0.0.1:12080
    #[arg(long, default_value = "http://127.0.0.1:12080")]
    endpoint: String,
    /// The bucket to write into (it must exist)
    #[arg(long, default_value = "export")]
    bucket: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// A file with the key pair
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// Object sizes, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "4KiB,1MiB,64MiB", value_parser = parse_size)]
    sizes: Vec<u64>,
    /// Concurrent requests, comma-separated; every size runs at each
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    concurrency: Vec<usize>,
    /// How long each PUT and each GET phase runs
    #[arg(long, value_name = "TIME", default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// Sign requests with UNSIGNED-PAYLOAD (as AWS SDKs do over TLS)
    /// instead of the body's SHA-256
    #[arg(long)]
    unsigned_payload: bool,
}

fn keys(file: Option<&PathBuf>) -> Result<(String, String), Error> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let field = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_owned())
            })
        };
        return match (field("aws_access_key_id"), field("aws_secret_access_key")) {
            (Some(a), Some(s)) => Ok((a, s)),
            _ => Err(format!(
                "{}: no aws_access_key_id and aws_secret_access_key",
                f.display()
            )
            .into()),
        };
    }
    match (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Ok(a), Ok(s)) => Ok((a, s)),
        _ => Err(
            "no keys: give --credentials FILE or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                .into(),
        ),
    }
}

pub fn run(a: BenchS3Args) -> Result<(), Error> {
    let (access_key, secret_key) = keys(a.credentials.as_ref())?;
    if a.sizes.is_empty() || a.sizes.contains(&0) || a.concurrency.contains(&0) {
        return Err("--sizes and --concurrency must be positive".into());
    }
    let cfg = S3Config {
        endpoint: a.endpoint,
        bucket: a.bucket,
        region: a.region,
        access_key,
        secret_key,
        sizes: a.sizes,
        concurrency: a.concurrency,
        duration: a.duration,
        unsigned_payload: a.unsigned_payload,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(run_s3(&cfg, |r| {
        eprintln!(
            "{} {} x{}: {:.1} ops/s",
            r.op,
            dittofs_bench::format_size(r.size),
            r.concurrency,
            r.ops_per_sec()
        )
    }))?;
    print!("{}", s3_table(&rows));
    Ok(())
}
