//! Results: every measurement of every round, the medians over rounds, and
//! their rendering as tables or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::{Workload, format_size};
use crate::stats::median;

/// One workload at one connection count, on one target, in one round.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub workload: Workload,
    pub connections: usize,
    /// Wall time of the measured part.
    pub seconds: f64,
    /// Operations measured: RPCs, or files for small-files.
    pub ops: u64,
    /// Payload bytes moved.
    pub bytes: u64,
    /// The headline figure, in `unit`.
    pub throughput: f64,
    /// `MB/s` (10^6 bytes per second), `ops/s`, `files/s` or `entries/s`.
    pub unit: &'static str,
    /// What the latency percentiles are of.
    pub latency_of: &'static str,
    /// Latency samples taken.
    pub samples: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    /// Payload throughput, for the I/O workloads.
    pub mb_per_s: Option<f64>,
    /// The longest COMMIT, for the write workloads.
    pub commit_ms: Option<f64>,
    /// Entries listed, for listing.
    pub entries: Option<u64>,
    /// The median time of one full listing, for listing.
    pub listing_ms: Option<f64>,
}

/// A server measured.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// `A`, or `B` for `--vs`.
    pub label: String,
    pub url: String,
    /// The NFS service's address.
    pub nfs_addr: String,
    /// WRITE size of seq-write.
    pub write_size: u32,
    /// READ size of seq-read.
    pub read_size: u32,
    /// FSINFO's limits.
    pub wtmax: u32,
    pub rtmax: u32,
}

/// The options the run used.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub workloads: Vec<Workload>,
    pub connections: Vec<usize>,
    pub file_size: u64,
    pub ops: u64,
    pub duration_s: Option<f64>,
    pub entries: u64,
    pub listings: u64,
    pub rounds: u32,
}

/// Everything one target did in one round.
#[derive(Debug, Clone, Serialize)]
pub struct RoundResults {
    pub round: u32,
    pub target: String,
    pub results: Vec<Measurement>,
}

/// The figures compared, each the median over rounds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub throughput: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub listing_ms: Option<f64>,
}

/// One table row: a workload at a connection count.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    pub workload: Workload,
    pub connections: usize,
    pub unit: &'static str,
    pub latency_of: &'static str,
    #[serde(rename = "A")]
    pub a: Figures,
    #[serde(rename = "B", skip_serializing_if = "Option::is_none")]
    pub b: Option<Figures>,
    /// A divided by B, figure by figure (null where B is 0).
    #[serde(rename = "A/B", skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Figures>,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub targets: Vec<TargetInfo>,
    pub settings: Settings,
    pub rounds: Vec<RoundResults>,
    pub summary: Vec<SummaryRow>,
}

impl Report {
    pub fn new(targets: Vec<TargetInfo>, settings: Settings, rounds: Vec<RoundResults>) -> Self {
        let mut report = Self {
            targets,
            settings,
            rounds,
            summary: Vec::new(),
        };
        report.summary = report.summarize();
        report
    }

    fn figures(&self, target: &str, w: Workload, c: usize) -> Option<(Figures, &Measurement)> {
        let ms: Vec<&Measurement> = self
            .rounds
            .iter()
            .filter(|r| r.target == target)
            .flat_map(|r| &r.results)
            .filter(|m| m.workload == w && m.connections == c)
            .collect();
        let first = *ms.first()?;
        let med = |f: fn(&Measurement) -> f64| median(&ms.iter().map(|m| f(m)).collect::<Vec<_>>());
        Some((
            Figures {
                throughput: med(|m| m.throughput),
                p50_us: med(|m| m.p50_us),
                p99_us: med(|m| m.p99_us),
                listing_ms: first
                    .listing_ms
                    .map(|_| med(|m| m.listing_ms.unwrap_or(0.0))),
            },
            first,
        ))
    }

    fn summarize(&self) -> Vec<SummaryRow> {
        let mut rows = Vec::new();
        for w in Workload::ALL {
            for &c in &self.settings.connections {
                let Some((a, m)) = self.figures("A", w, c) else {
                    continue;
                };
                let b = self.figures("B", w, c).map(|(f, _)| f);
                rows.push(SummaryRow {
                    workload: w,
                    connections: c,
                    unit: m.unit,
                    latency_of: m.latency_of,
                    a,
                    b,
                    ratio: b.map(|b| Figures {
                        throughput: ratio(a.throughput, b.throughput),
                        p50_us: ratio(a.p50_us, b.p50_us),
                        p99_us: ratio(a.p99_us, b.p99_us),
                        listing_ms: a.listing_ms.zip(b.listing_ms).map(|(a, b)| ratio(a, b)),
                    }),
                });
            }
        }
        rows
    }

    /// Pretty JSON of the whole report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// One table per workload, rows per connection count.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let vs = self.targets.len() > 1;
        for t in &self.targets {
            let _ = writeln!(
                out,
                "{} = {}  (NFS at {}; WRITE {}, READ {})",
                t.label,
                t.url,
                t.nfs_addr,
                format_size(u64::from(t.write_size)),
                format_size(u64::from(t.read_size)),
            );
        }
        let s = &self.settings;
        let counts = match s.duration_s {
            Some(d) => format!("{d}s per random/small-files/listing run"),
            None => format!(
                "{} ops per connection, {} listings per connection",
                s.ops, s.listings
            ),
        };
        let _ = writeln!(
            out,
            "data {} per connection count, {counts}, {} entries, {} round{}{}",
            format_size(s.file_size),
            s.entries,
            s.rounds,
            if s.rounds == 1 { "" } else { "s" },
            if s.rounds > 1 {
                " (figures are medians over rounds)"
            } else {
                ""
            },
        );
        if vs {
            let _ = writeln!(
                out,
                "A/B: above 1 means A is faster for throughput, slower for latency"
            );
        }
        for w in Workload::ALL {
            let rows: Vec<&SummaryRow> = self.summary.iter().filter(|r| r.workload == w).collect();
            let Some(first) = rows.first() else {
                continue;
            };
            let _ = writeln!(out, "\n{w}: {}", self.describe(w));
            let mut table = Table::default();
            table.column("conns", rows.iter().map(|r| r.connections.to_string()));
            let tp = |f: &Figures| fmt_throughput(f.throughput, first.unit);
            let lat50 = |f: &Figures| fmt_us(f.p50_us);
            let lat99 = |f: &Figures| fmt_us(f.p99_us);
            let list = |f: &Figures| f.listing_ms.map(fmt_ms).unwrap_or_default();
            let mut figure = |name: &str,
                              render: &dyn Fn(&Figures) -> String,
                              ratio_of: fn(&Figures) -> Option<f64>| {
                if vs {
                    table.column(&format!("{name} A"), rows.iter().map(|r| render(&r.a)));
                    table.column(
                        &format!("{name} B"),
                        rows.iter()
                            .map(|r| r.b.as_ref().map(render).unwrap_or_default()),
                    );
                    table.column(
                        "A/B",
                        rows.iter().map(|r| {
                            r.ratio
                                .as_ref()
                                .and_then(ratio_of)
                                .map(fmt_ratio)
                                .unwrap_or_default()
                        }),
                    );
                } else {
                    table.column(name, rows.iter().map(|r| render(&r.a)));
                }
            };
            figure(first.unit, &tp, |f| Some(f.throughput));
            if w == Workload::Listing {
                figure("listing", &list, |f| f.listing_ms);
            }
            figure("p50", &lat50, |f| Some(f.p50_us));
            figure("p99", &lat99, |f| Some(f.p99_us));
            out.push_str(&table.render());
        }
        out
    }

    fn describe(&self, w: Workload) -> String {
        let sizes = |f: fn(&TargetInfo) -> u32| {
            let v: Vec<String> = self
                .targets
                .iter()
                .map(|t| format_size(u64::from(f(t))))
                .collect();
            if v.windows(2).all(|p| p[0] == p[1]) {
                v.first().cloned().unwrap_or_default()
            } else {
                v.join(" (A) / ") + " (B)"
            }
        };
        match w {
            Workload::SeqWrite => format!(
                "sequential {} UNSTABLE WRITEs, one file per connection, then COMMIT (counted); latency of each WRITE",
                sizes(|t| t.write_size)
            ),
            Workload::SeqRead => format!(
                "sequential {} READs, one file per connection; latency of each READ",
                sizes(|t| t.read_size)
            ),
            Workload::RandRead => {
                "random 4 KiB READs at 4 KiB-aligned offsets; latency of each READ".into()
            }
            Workload::RandWrite => "random 4 KiB UNSTABLE WRITEs, then COMMIT (counted); latency of each WRITE".into(),
            Workload::SmallFiles => "CREATE + WRITE 4 KiB + GETATTR + REMOVE, one directory per connection; latency of each file".into(),
            Workload::SmallFilesSync => "CREATE + WRITE 4 KiB FILE_SYNC + GETATTR + REMOVE, one directory per connection; latency of each file".into(),
            Workload::Listing => format!(
                "full READDIRPLUS listings of {} entries; listing = one whole listing, latency of each READDIRPLUS",
                self.settings.entries
            ),
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

fn fmt_throughput(v: f64, unit: &str) -> String {
    if unit == "MB/s" {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn fmt_ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "-".into()
    }
}

/// `48 µs`, `2.41 ms`, `31.2 ms`, `1.52 s`.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        fmt_ms(us / 1000.0)
    }
}

fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Right-aligned columns.
#[derive(Default)]
struct Table {
    columns: Vec<(String, Vec<String>)>,
}

impl Table {
    fn column(&mut self, header: &str, cells: impl Iterator<Item = String>) {
        self.columns.push((header.to_string(), cells.collect()));
    }

    fn render(&self) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .map(|(h, cells)| {
                cells
                    .iter()
                    .map(|c| c.chars().count())
                    .chain([h.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let rows = self.columns.first().map_or(0, |(_, c)| c.len());
        let mut out = String::new();
        let line = |out: &mut String, cell: &dyn Fn(usize) -> String| {
            for (i, w) in widths.iter().enumerate() {
                let text = cell(i);
                let pad = w.saturating_sub(text.chars().count());
                out.push_str(if i == 0 { "  " } else { "   " });
                out.push_str(&" ".repeat(pad));
                out.push_str(&text);
            }
            out.push('\n');
        };
        line(&mut out, &|i| self.columns[i].0.clone());
        for r in 0..rows {
            line(&mut out, &|i| {
                self.columns[i].1.get(r).cloned().unwrap_or_default()
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(w: Workload, c: usize, throughput: f64, p50: f64) -> Measurement {
        Measurement {
            workload: w,
            connections: c,
            seconds: 1.0,
            ops: 10,
            bytes: 0,
            throughput,
            unit: "ops/s",
            latency_of: "READ",
            samples: 10,
            p50_us: p50,
            p99_us: p50 * 2.0,
            mean_us: p50,
            mb_per_s: None,
            commit_ms: None,
            entries: None,
            listing_ms: None,
        }
    }

    fn settings(rounds: u32) -> Settings {
        Settings {
            workloads: vec![Workload::RandRead],
            connections: vec![1, 4],
            file_size: 1 << 20,
            ops: 10,
            duration_s: None,
            entries: 10,
            listings: 1,
            rounds,
        }
    }

    fn target(label: &str) -> TargetInfo {
        TargetInfo {
            label: label.into(),
            url: format!("nfs://{label}/e"),
            nfs_addr: "127.0.0.1:2049".into(),
            write_size: 1 << 20,
            read_size: 1 << 20,
            wtmax: 1 << 20,
            rtmax: 1 << 20,
        }
    }

    #[test]
    fn medians_over_rounds_and_ratios() {
        let w = Workload::RandRead;
        let rounds = vec![
            RoundResults {
                round: 1,
                target: "A".into(),
                results: vec![m(w, 1, 100.0, 10.0), m(w, 4, 400.0, 20.0)],
            },
            RoundResults {
                round: 1,
                target: "B".into(),
                results: vec![m(w, 1, 50.0, 20.0), m(w, 4, 0.0, 40.0)],
            },
            RoundResults {
                round: 2,
                target: "A".into(),
                results: vec![m(w, 1, 300.0, 30.0), m(w, 4, 400.0, 20.0)],
            },
            RoundResults {
                round: 2,
                target: "B".into(),
                results: vec![m(w, 1, 150.0, 20.0), m(w, 4, 0.0, 40.0)],
            },
        ];
        let r = Report::new(vec![target("A"), target("B")], settings(2), rounds);
        assert_eq!(r.summary.len(), 2);
        let row = &r.summary[0];
        assert_eq!(row.a.throughput, 200.0);
        assert_eq!(row.b.unwrap().throughput, 100.0);
        assert_eq!(row.ratio.unwrap().throughput, 2.0);
        assert_eq!(row.ratio.unwrap().p50_us, 1.0);
        assert!(r.summary[1].ratio.unwrap().throughput.is_nan());
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["summary"][0]["A/B"]["throughput"], 2.0);
        assert!(json["summary"][1]["A/B"]["throughput"].is_null());
        assert_eq!(json["rounds"].as_array().unwrap().len(), 4);
        let table = r.to_table();
        assert!(table.contains("ops/s A"), "{table}");
        assert!(table.contains("A/B"), "{table}");
        assert!(table.contains("2.00"), "{table}");
    }

    #[test]
    fn single_target_table() {
        let w = Workload::RandRead;
        let rounds = vec![RoundResults {
            round: 1,
            target: "A".into(),
            results: vec![m(w, 1, 1234.4, 48.0), m(w, 4, 4000.0, 2410.0)],
        }];
        let r = Report::new(vec![target("A")], settings(1), rounds);
        let t = r.to_table();
        assert!(t.contains("rand-read: random 4 KiB READs"), "{t}");
        assert!(t.contains("1234"), "{t}");
        assert!(t.contains("48 µs"), "{t}");
        assert!(t.contains("2.41 ms"), "{t}");
        assert!(!t.contains("A/B"), "{t}");
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert!(json["summary"][0].get("B").is_none());
    }
}
