//! `/status`: the running server's state as JSON, and its rendering for a
//! terminal (`dittofs status`).

use std::fmt::Write;
use std::sync::Arc;

use dittofs_runtime::meter::ConnectionCounts;
use dittofs_runtime::{NamedStore, StoreHandle};
use serde::{Deserialize, Serialize};

use crate::State;
use crate::health::probe_stores;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: String,
    pub uptime_seconds: u64,
    /// Every store answered its probe.
    pub ready: bool,
    pub shares: Vec<ShareReport>,
    pub stores: Vec<StoreReport>,
    pub adapters: Vec<AdapterReport>,
    pub cache: CacheReport,
    pub dirty: DirtyReport,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareReport {
    pub name: String,
    pub bucket: Option<String>,
    /// The configured store names (the type when a store has none, as for
    /// shares made by CreateBucket on unnamed stores).
    pub metadata_store: String,
    pub payload_store: String,
    pub durability: String,
    /// Made at run time by S3 CreateBucket.
    pub created: bool,
    pub journal: JournalReport,
    pub dirty_bytes: u64,
    /// Files waiting for the flusher.
    pub dirty_files: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalReport {
    pub segments: usize,
    pub bytes: u64,
    pub unsynced_bytes: u64,
    pub appended_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreReport {
    /// `metadata` or `payload`.
    pub section: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub probe_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterReport {
    pub name: String,
    pub connections: ConnectionCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheReport {
    pub bytes: u64,
    pub capacity: u64,
    pub chunks: u64,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirtyReport {
    pub bytes: u64,
    pub limit: u64,
}

fn store_name(stores: &[NamedStore], same: impl Fn(&StoreHandle) -> bool, kind: &str) -> String {
    stores
        .iter()
        .find(|s| same(&s.store))
        .map_or_else(|| kind.to_owned(), |s| s.name.clone())
}

impl Report {
    pub(crate) async fn gather(state: &State) -> Self {
        let probes = probe_stores(&state.stores).await;
        let stores: Vec<StoreReport> = state
            .stores
            .iter()
            .zip(probes)
            .map(|(s, p)| StoreReport {
                section: s.section.to_owned(),
                name: s.name.clone(),
                kind: s.kind.clone(),
                reachable: p.error.is_none(),
                error: p.error,
                probe_ms: p.elapsed.as_millis() as u64,
            })
            .collect();
        let shares = state
            .registry
            .shares()
            .iter()
            .map(|share| {
                let meta = share.meta.metadata_store();
                let blocks = share.content.block_store();
                let s = share.content.stats();
                ShareReport {
                    name: share.name.clone(),
                    bucket: share.bucket.name.clone(),
                    metadata_store: store_name(
                        &state.stores,
                        |h| matches!(h, StoreHandle::Metadata(m) if Arc::ptr_eq(m, meta)),
                        meta.kind(),
                    ),
                    payload_store: store_name(
                        &state.stores,
                        |h| matches!(h, StoreHandle::Blocks(b) if Arc::ptr_eq(b, blocks)),
                        blocks.kind(),
                    ),
                    durability: format!("{:?}", share.content.durability()).to_lowercase(),
                    created: share.created,
                    journal: JournalReport {
                        segments: s.journal.segments,
                        bytes: s.journal.bytes,
                        unsynced_bytes: s.journal.unsynced_bytes,
                        appended_bytes: s.journal.appended_bytes,
                    },
                    dirty_bytes: s.dirty_bytes,
                    dirty_files: s.dirty_files,
                }
            })
            .collect();
        let data = state.registry.data_path();
        let c = data.cache.stats();
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_seconds: state.started.elapsed().map_or(0, |d| d.as_secs()),
            ready: stores.iter().all(|s| s.reachable),
            shares,
            stores,
            adapters: state
                .registry
                .meters()
                .iter()
                .map(|m| AdapterReport {
                    name: m.adapter().to_owned(),
                    connections: m.connections(),
                })
                .collect(),
            cache: CacheReport {
                bytes: c.bytes,
                capacity: c.capacity,
                chunks: c.chunks,
                hits: c.hits,
                misses: c.misses,
                evictions: c.evictions,
            },
            dirty: DirtyReport {
                bytes: data.budget.used(),
                limit: data.budget.limit(),
            },
        }
    }

    /// The report as `dittofs status` prints it.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "dittofs {}, up {}, {}",
            self.version,
            duration(self.uptime_seconds),
            if self.ready {
                "ready"
            } else {
                "NOT READY (a store does not answer)"
            }
        );
        let _ = writeln!(o, "\nShares");
        let mut rows = vec![
            [
                "NAME",
                "BUCKET",
                "METADATA",
                "PAYLOAD",
                "DURABILITY",
                "DIRTY",
                "FLUSH QUEUE",
                "JOURNAL",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for s in &self.shares {
            rows.push(vec![
                s.name.clone() + if s.created { " (created)" } else { "" },
                s.bucket.clone().unwrap_or_else(|| "-".into()),
                s.metadata_store.clone(),
                s.payload_store.clone(),
                s.durability.clone(),
                bytes(s.dirty_bytes),
                format!("{} files", s.dirty_files),
                if s.journal.segments == 0 {
                    "none".into()
                } else {
                    format!(
                        "{} in {} segment{}, {} unsynced",
                        bytes(s.journal.bytes),
                        s.journal.segments,
                        if s.journal.segments == 1 { "" } else { "s" },
                        bytes(s.journal.unsynced_bytes)
                    )
                },
            ]);
        }
        table(&mut o, &rows);
        let _ = writeln!(o, "\nStores");
        let mut rows = vec![
            ["SECTION", "NAME", "TYPE", "STATE"]
                .map(String::from)
                .to_vec(),
        ];
        for s in &self.stores {
            rows.push(vec![
                s.section.clone(),
                s.name.clone(),
                s.kind.clone(),
                match &s.error {
                    None => format!("ok ({} ms)", s.probe_ms),
                    Some(e) => format!("UNREACHABLE: {e}"),
                },
            ]);
        }
        table(&mut o, &rows);
        let _ = writeln!(o, "\nConnections");
        let mut rows = vec![
            ["ADAPTER", "ACTIVE", "ACCEPTED", "CLOSED", "FORCE-CLOSED"]
                .map(String::from)
                .to_vec(),
        ];
        for a in &self.adapters {
            let c = a.connections;
            rows.push(vec![
                a.name.clone(),
                c.active.to_string(),
                c.accepted.to_string(),
                c.closed.to_string(),
                c.force_closed.to_string(),
            ]);
        }
        table(&mut o, &rows);
        let c = &self.cache;
        let lookups = c.hits + c.misses;
        let _ = writeln!(
            o,
            "\nCache: {} of {} in {} chunks; {} hits, {} misses{}, {} evictions",
            bytes(c.bytes),
            bytes(c.capacity),
            c.chunks,
            c.hits,
            c.misses,
            if lookups > 0 {
                format!(" ({:.1}% hits)", c.hits as f64 * 100.0 / lookups as f64)
            } else {
                String::new()
            },
            c.evictions
        );
        let _ = writeln!(
            o,
            "Unflushed data: {} of {}",
            bytes(self.dirty.bytes),
            bytes(self.dirty.limit)
        );
        o
    }
}

fn table(o: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::from("  ");
        for (i, c) in r.iter().enumerate() {
            let _ = write!(line, "{c:<w$}  ", w = widths[i]);
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_section() {
        let r = Report {
            version: "0.1.0".into(),
            uptime_seconds: 3725,
            ready: false,
            shares: vec![ShareReport {
                name: "/export".into(),
                bucket: Some("export".into()),
                metadata_store: "default".into(),
                payload_store: "blocks".into(),
                durability: "local".into(),
                created: false,
                journal: JournalReport {
                    segments: 2,
                    bytes: 3 << 20,
                    unsynced_bytes: 4096,
                    appended_bytes: 5 << 20,
                },
                dirty_bytes: 1536,
                dirty_files: 3,
            }],
            stores: vec![StoreReport {
                section: "payload".into(),
                name: "blocks".into(),
                kind: "s3".into(),
                reachable: false,
                error: Some("no answer within 2s".into()),
                probe_ms: 2000,
            }],
            adapters: vec![AdapterReport {
                name: "nfs".into(),
                connections: ConnectionCounts {
                    active: 1,
                    accepted: 4,
                    closed: 2,
                    force_closed: 1,
                },
            }],
            cache: CacheReport {
                bytes: 1 << 20,
                capacity: 1 << 30,
                chunks: 8,
                hits: 3,
                misses: 1,
                evictions: 0,
            },
            dirty: DirtyReport {
                bytes: 1536,
                limit: 512 << 20,
            },
        };
        let text = r.render();
        for want in [
            "dittofs 0.1.0, up 1h 2m, NOT READY",
            "/export",
            "3.0 MiB in 2 segments, 4.0 KiB unsynced",
            "3 files",
            "UNREACHABLE: no answer within 2s",
            "nfs",
            "(75.0% hits)",
            "Unflushed data: 1.5 KiB of 512.0 MiB",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), r);
    }
}
