//! `dittofs bench`: the command line of the NFSv3 benchmark; the work is
//! in `dittofs-bench`.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use dittofs_bench::{Config, Progress, Url, Workload, parse_duration, parse_size};

use crate::cli_config::Error;

const AFTER_HELP: &str = "\
URL: nfs://HOST[:PORT]/EXPORT[/PATH][?version=3&nfsport=P&mountport=P&uid=U&gid=G]
  :PORT is the NFS and MOUNT port (nfsport/mountport override it); without
  ports the portmapper on port 111 is asked. The whole path is mounted; for
  servers that mount only export roots, use nfs://HOST/EXPORT and --dir.
  uid/gid default to this process's.

Everything is created in a fresh directory dittofs-bench-<random> (under
--dir if given) and removed at the end, also after a failure or Ctrl-C.
The defaults take 30 to 60 s against DittoFS on a 2-core machine (--vs:
that per server and round). See docs/BENCHMARKS.md.";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct BenchArgs {
    /// The server to measure (A), as an nfs:// URL (see below)
    #[arg(value_name = "URL")]
    url: String,
    /// A second server to compare with (B): rounds run A B A B ..., and the
    /// tables show A, B and A/B
    #[arg(long, value_name = "URL2")]
    vs: Option<String>,
    /// Workloads to run, comma-separated: seq-write, seq-read, rand-read,
    /// rand-write, small-files, listing, and (only when named)
    /// small-files-sync
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "seq-write,seq-read,rand-read,rand-write,small-files,listing"
    )]
    workloads: Vec<Workload>,
    /// Connection counts, comma-separated; every workload runs at each
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "1,4"
    )]
    connections: Vec<usize>,
    /// Data written by seq-write and read by seq-read at each connection
    /// count, one file of SIZE/N per connection; rand-read and rand-write
    /// use the same files
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    file_size: u64,
    /// WRITE and READ size of seq-write and seq-read [default: the server's
    /// wtmax and rtmax, at most 1MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    io_size: Option<u64>,
    /// 4 KiB operations of rand-read and rand-write, and files of
    /// small-files and small-files-sync, per connection
    #[arg(long, value_name = "N", default_value_t = dittofs_bench::DEFAULT_OPS)]
    ops: u64,
    /// Run each of rand-read, rand-write, the small-files ones and listing for this
    /// long at each connection count, instead of counting --ops and
    /// --listings (e.g. 10s)
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Entries in the directory listing lists (created beforehand, not
    /// timed)
    #[arg(long, value_name = "N", default_value_t = dittofs_bench::DEFAULT_ENTRIES)]
    entries: u64,
    /// Full READDIRPLUS listings of that directory per connection
    #[arg(long, value_name = "N", default_value_t = dittofs_bench::DEFAULT_LISTINGS)]
    listings: u64,
    /// Rounds; tables show the median over rounds [default: 2 with --vs,
    /// else 1]
    #[arg(long, value_name = "N")]
    rounds: Option<u32>,
    /// Work in this existing directory below the mounted path
    #[arg(long, value_name = "PATH")]
    dir: Option<String>,
    /// Print every figure of every round as JSON instead of tables
    #[arg(long)]
    json: bool,
    /// Deadline of each call (connecting gives up after 5s)
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
}

fn config(args: &BenchArgs) -> Result<Config, Error> {
    let mut cfg = Config::new(Url::parse(&args.url)?);
    cfg.versus = args.vs.as_deref().map(Url::parse).transpose()?;
    cfg.dir = args.dir.clone();
    cfg.workloads = args.workloads.clone();
    cfg.connections = args.connections.clone();
    cfg.file_size = args.file_size;
    cfg.io_size = args.io_size.map(|s| u32::try_from(s).unwrap_or(u32::MAX));
    cfg.ops = args.ops;
    cfg.duration = args.duration;
    cfg.entries = args.entries;
    cfg.listings = args.listings;
    cfg.rounds = args
        .rounds
        .unwrap_or(if cfg.versus.is_some() { 2 } else { 1 });
    cfg.client.call_timeout = args.timeout;
    cfg.validate()?;
    Ok(cfg)
}

pub fn run(args: BenchArgs) -> Result<(), Error> {
    let cfg = config(&args)?;
    let progress = Progress::new(std::io::stdout().is_terminal());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(dittofs_bench::run(&cfg, &progress, async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }))?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: BenchArgs,
    }

    #[test]
    fn command_line_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["bench", "nfs://h/e"]).unwrap();
        let cfg = config(&cli.args).unwrap();
        let lib = Config::new(Url::parse("nfs://h/e").unwrap());
        assert_eq!(cfg.workloads, lib.workloads);
        assert_eq!(cfg.connections, lib.connections);
        assert_eq!(cfg.file_size, lib.file_size);
        assert_eq!(cfg.io_size, lib.io_size);
        assert_eq!(cfg.ops, lib.ops);
        assert_eq!(cfg.entries, lib.entries);
        assert_eq!(cfg.listings, lib.listings);
        assert_eq!(cfg.rounds, 1);
        let cli = Cli::try_parse_from(["bench", "nfs://h/e", "--vs", "nfs://g/e"]).unwrap();
        assert_eq!(config(&cli.args).unwrap().rounds, 2);
    }

    #[test]
    fn lists_and_sizes_parse() {
        let cli = Cli::try_parse_from([
            "bench",
            "nfs://h/e",
            "--workloads",
            "listing,seq-read",
            "--connections",
            "1,2,16",
            "--file-size",
            "2MiB",
            "--io-size",
            "64KiB",
            "--duration",
            "3s",
        ])
        .unwrap();
        let cfg = config(&cli.args).unwrap();
        assert_eq!(cfg.workloads, [Workload::Listing, Workload::SeqRead]);
        assert_eq!(cfg.connections, [1, 2, 16]);
        assert_eq!(cfg.file_size, 2 << 20);
        assert_eq!(cfg.io_size, Some(64 << 10));
        assert_eq!(cfg.duration, Some(Duration::from_secs(3)));
        assert!(Cli::try_parse_from(["bench", "nfs://h/e", "--workloads", "fast"]).is_err());
        let cli = Cli::try_parse_from(["bench", "nfs:/x"]).unwrap();
        let e = config(&cli.args).err().unwrap().to_string();
        assert!(e.starts_with("invalid URL \"nfs:/x\""), "{e}");
    }
}
