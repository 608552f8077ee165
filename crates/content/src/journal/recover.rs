//! Reading the journal back at start-up, before any request is served.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::JournalError;
use super::record::{self, Decoded, Lsn, Record};

/// What the journal holds, in order.
pub struct Recovered {
    pub records: Vec<(Lsn, Record)>,
    /// Segment numbers found, ascending.
    pub segments: Vec<u32>,
}

pub fn segment_path(dir: &Path, segment: u32) -> PathBuf {
    dir.join(format!("{segment:08x}.seg"))
}

fn segment_number(name: &str) -> Option<u32> {
    let hex = name.strip_suffix(".seg")?;
    (hex.len() == 8)
        .then(|| u32::from_str_radix(hex, 16).ok())
        .flatten()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads every segment. A damaged record with nothing intact after it, at
/// the end of the last segment, is a write the crash tore: it is cut off.
/// Damage anywhere else is an error naming the segment and offset: records
/// after it may hold acknowledged writes, so nothing is skipped silently.
pub fn recover(dir: &Path) -> Result<Recovered, JournalError> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if let Some(n) = entry.file_name().to_str().and_then(segment_number) {
            segments.push(n);
        }
    }
    segments.sort_unstable();
    let mut records = Vec::new();
    for (i, &segment) in segments.iter().enumerate() {
        let path = segment_path(dir, segment);
        let buf = Bytes::from(std::fs::read(&path).map_err(io(&path))?);
        let mut at = 0usize;
        while at < buf.len() {
            let lsn = record::lsn(segment, at as u32);
            match record::decode(&buf.slice(at..), lsn) {
                Decoded::Record(lsn, rec, size) => {
                    records.push((lsn, rec));
                    at += size;
                }
                Decoded::Short | Decoded::Bad => {
                    let last = i + 1 == segments.len();
                    if last && record::intact_record_after(&buf, at, segment).is_none() {
                        tracing::warn!(segment = %path.display(), offset = at, "discarding a torn record at the end of the journal");
                        let f = std::fs::OpenOptions::new()
                            .write(true)
                            .open(&path)
                            .map_err(io(&path))?;
                        f.set_len(at as u64).map_err(io(&path))?;
                        f.sync_all().map_err(io(&path))?;
                        break;
                    }
                    return Err(JournalError::Corrupt {
                        path,
                        offset: at as u64,
                    });
                }
            }
        }
    }
    Ok(Recovered { records, segments })
}
