//! What to run: the workloads, the connection counts, the sizes, and the
//! parsers the command line uses for them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use dittofs_nfs_client::{ClientOptions, Url};
use serde::Serialize;

/// One kind of load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Sequential UNSTABLE writes of a large file, then COMMIT.
    SeqWrite,
    /// Sequential reads of that file.
    SeqRead,
    /// Random 4 KiB reads at 4 KiB-aligned offsets.
    RandRead,
    /// Random 4 KiB UNSTABLE writes, then COMMIT.
    RandWrite,
    /// CREATE + WRITE 4 KiB + GETATTR + REMOVE per file.
    SmallFiles,
    /// The same with a FILE_SYNC WRITE: each file made durable before the
    /// next call, as an S3 PUT is.
    SmallFilesSync,
    /// Full READDIRPLUS listings of a large directory.
    Listing,
}

impl Workload {
    /// Every workload, in the order they run.
    pub const ALL: [Workload; 7] = [
        Self::SeqWrite,
        Self::SeqRead,
        Self::RandRead,
        Self::RandWrite,
        Self::SmallFiles,
        Self::SmallFilesSync,
        Self::Listing,
    ];

    /// Whether it runs when no workloads are named: all but
    /// small-files-sync, which mostly measures the disk's flushes.
    pub fn runs_by_default(self) -> bool {
        self != Self::SmallFilesSync
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::SeqWrite => "seq-write",
            Self::SeqRead => "seq-read",
            Self::RandRead => "rand-read",
            Self::RandWrite => "rand-write",
            Self::SmallFiles => "small-files",
            Self::SmallFilesSync => "small-files-sync",
            Self::Listing => "listing",
        }
    }

    /// Whether it works on the large data files.
    pub(crate) fn uses_data_files(self) -> bool {
        matches!(
            self,
            Self::SeqWrite | Self::SeqRead | Self::RandRead | Self::RandWrite
        )
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|w| w.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|w| w.name()).collect();
                format!("unknown workload {s:?} (known: {})", names.join(", "))
            })
    }
}

/// A whole benchmark run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server measured (A).
    pub target: Url,
    /// The server compared against (B), run alternately with A.
    pub versus: Option<Url>,
    /// A directory inside each mount to work in (looked up from the mount's
    /// root, `/`-separated); `None` for the root.
    pub dir: Option<String>,
    /// Workloads to run; they run in [`Workload::ALL`] order.
    pub workloads: Vec<Workload>,
    /// Connection counts; every workload runs at each.
    pub connections: Vec<usize>,
    /// Total bytes of the data files at each connection count (split into
    /// one file per connection).
    pub file_size: u64,
    /// READ and WRITE size of the sequential workloads; `None`: the
    /// server's wtmax (rtmax for reads), at most 1 MiB.
    pub io_size: Option<u32>,
    /// Random reads, random writes, and small files per connection.
    pub ops: u64,
    /// Run random I/O, small files and listings for this long per
    /// connection count instead of counting `ops` and `listings`.
    pub duration: Option<Duration>,
    /// Entries in the directory the listing workload lists.
    pub entries: u64,
    /// Full listings per connection.
    pub listings: u64,
    /// Rounds; with `versus`, each round runs A then B.
    pub rounds: u32,
    pub client: ClientOptions,
}

pub const DEFAULT_FILE_SIZE: u64 = 1 << 30;
pub const DEFAULT_OPS: u64 = 10_000;
pub const DEFAULT_ENTRIES: u64 = 10_000;
pub const DEFAULT_LISTINGS: u64 = 10;
pub const DEFAULT_CONNECTIONS: [usize; 2] = [1, 4];
/// The size of each random READ/WRITE and of each small file.
pub const SMALL_IO: u32 = 4096;
/// The largest default sequential I/O size.
pub const MAX_DEFAULT_IO: u32 = 1 << 20;
pub const MAX_CONNECTIONS: usize = 256;

impl Config {
    /// A configuration with every default for `target`.
    pub fn new(target: Url) -> Self {
        Self {
            target,
            versus: None,
            dir: None,
            workloads: Workload::ALL
                .into_iter()
                .filter(|w| w.runs_by_default())
                .collect(),
            connections: DEFAULT_CONNECTIONS.to_vec(),
            file_size: DEFAULT_FILE_SIZE,
            io_size: None,
            ops: DEFAULT_OPS,
            duration: None,
            entries: DEFAULT_ENTRIES,
            listings: DEFAULT_LISTINGS,
            rounds: 1,
            client: ClientOptions::default(),
        }
    }

    /// Checks what the types allow but a run cannot do.
    pub fn validate(&self) -> Result<(), String> {
        if self.workloads.is_empty() {
            return Err("--workloads names no workload".into());
        }
        if self.connections.is_empty() {
            return Err("--connections names no count".into());
        }
        if let Some(c) = self
            .connections
            .iter()
            .find(|c| **c == 0 || **c > MAX_CONNECTIONS)
        {
            return Err(format!(
                "--connections: {c} is not between 1 and {MAX_CONNECTIONS}"
            ));
        }
        if self.rounds == 0 {
            return Err("--rounds must be at least 1".into());
        }
        if let Some(io) = self.io_size
            && !(512..=64 << 20).contains(&io)
        {
            return Err(format!(
                "--io-size {} is not between 512 B and 64 MiB",
                format_size(u64::from(io))
            ));
        }
        let data = self.workloads.iter().any(|w| w.uses_data_files());
        if data {
            let most = self.connections.iter().copied().max().unwrap_or(1) as u64;
            if self.file_size / most < u64::from(SMALL_IO) {
                return Err(format!(
                    "--file-size {} leaves less than 4 KiB per file with {most} connections",
                    format_size(self.file_size)
                ));
            }
        }
        if self.duration.is_none() && self.ops == 0 {
            let needs_ops = self.workloads.iter().any(|w| {
                matches!(
                    w,
                    Workload::RandRead
                        | Workload::RandWrite
                        | Workload::SmallFiles
                        | Workload::SmallFilesSync
                )
            });
            if needs_ops {
                return Err("--ops must be at least 1".into());
            }
        }
        if self.workloads.contains(&Workload::Listing) {
            if self.entries == 0 {
                return Err("--entries must be at least 1".into());
            }
            if self.duration.is_none() && self.listings == 0 {
                return Err("--listings must be at least 1".into());
            }
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return Err("--duration must be more than 0".into());
        }
        if let Some(dir) = &self.dir
            && dir.split('/').any(|p| p == "..")
        {
            return Err(format!("--dir {dir:?} may not contain \"..\""));
        }
        Ok(())
    }
}

/// Parses a byte size: a number with an optional binary suffix, `K`/`KiB`,
/// `M`/`MiB`, `G`/`GiB` (case-insensitive; a bare number or `B` is bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "{s:?}: unknown unit {other:?} (use B, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 4KiB, 256MiB, 1GiB)"))?;
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration: a number with `ms`, `s`, `m` or `h` (a bare number is
/// seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let secs: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 10s, 2m)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!("{s:?}: unknown unit {other:?} (use ms, s, m or h)"));
        }
    };
    Duration::try_from_secs_f64(secs * scale).map_err(|_| format!("{s:?} is out of range"))
}

/// `1 MiB`, `256 MiB`, `4 KiB`, `1.5 GiB`, `100 B`.
pub fn format_size(n: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, size) in UNITS {
        if n >= size {
            let v = n as f64 / size as f64;
            return if n.is_multiple_of(size) {
                format!("{} {name}", n / size)
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    format!("{n} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("4k").unwrap(), 4096);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("2 MiB").unwrap(), 2 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert!(
            parse_size("12 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_size("MiB").unwrap_err().contains("not a size"));
        assert!(parse_size("-1").is_err());
        assert!(parse_size("256MB").unwrap_err().contains("use B, KiB"));
        assert_eq!(format_size(256 << 20), "256 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_size(100), "100 B");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn workloads_by_name() {
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>().unwrap(), w);
        }
        assert!(
            "seq"
                .parse::<Workload>()
                .unwrap_err()
                .contains("known: seq-write")
        );
    }

    #[test]
    fn validation() {
        let url = Url::parse("nfs://h/e").unwrap();
        let ok = Config::new(url);
        assert!(ok.validate().is_ok());
        let bad = |f: fn(&mut Config)| {
            let mut c = ok.clone();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(bad(|c| c.connections = vec![1, 0]).contains("--connections"));
        assert!(bad(|c| c.workloads.clear()).contains("--workloads"));
        assert!(bad(|c| c.rounds = 0).contains("--rounds"));
        assert!(bad(|c| c.file_size = 1000).contains("--file-size"));
        assert!(bad(|c| c.ops = 0).contains("--ops"));
        assert!(bad(|c| c.entries = 0).contains("--entries"));
        assert!(bad(|c| c.io_size = Some(1)).contains("--io-size"));
        assert!(bad(|c| c.dir = Some("a/../b".into())).contains("--dir"));
    }
}
