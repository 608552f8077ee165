//! A body's MD5 and checksums, computed while it is written. A big body's
//! bytes are hashed on a thread of their own, so hashing (MD5 alone runs
//! at about 600 MB/s on one core here) overlaps with writing instead of
//! adding to it; a small body is hashed in place, where handing it to
//! another thread would cost more than the hashing.

use bytes::Bytes;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::{S3Result, s3_error};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bodies at least this long are hashed on another thread.
const OFFLOAD_FROM: u64 = 4 << 20;
/// Chunks in flight to the hashing thread: enough to keep it busy, few
/// enough that a body never piles up in memory waiting to be hashed.
const QUEUE: usize = 64;

type Sums = (Md5, ChecksumHasher);

pub(crate) enum BodyDigest {
    InPlace(Box<Sums>),
    Offloaded {
        chunks: mpsc::Sender<Bytes>,
        done: JoinHandle<Sums>,
    },
}

impl BodyDigest {
    pub(crate) fn new(sums: ChecksumHasher, length: Option<u64>) -> Self {
        let sums = (Md5::new(), sums);
        if length.is_none_or(|l| l < OFFLOAD_FROM) {
            return Self::InPlace(Box::new(sums));
        }
        let (chunks, mut rx) = mpsc::channel::<Bytes>(QUEUE);
        let done = tokio::task::spawn_blocking(move || {
            let (mut md5, mut sums) = sums;
            while let Some(chunk) = rx.blocking_recv() {
                md5.update(&chunk);
                sums.update(&chunk);
            }
            (md5, sums)
        });
        Self::Offloaded { chunks, done }
    }

    pub(crate) async fn update(&mut self, chunk: &Bytes) -> S3Result<()> {
        match self {
            Self::InPlace(s) => {
                s.0.update(chunk);
                s.1.update(chunk);
                Ok(())
            }
            Self::Offloaded { chunks, .. } => chunks
                .send(chunk.clone())
                .await
                .map_err(|_| s3_error!(InternalError, "the body's hashing thread stopped")),
        }
    }

    pub(crate) async fn finish(self) -> S3Result<Sums> {
        match self {
            Self::InPlace(s) => Ok(*s),
            Self::Offloaded { chunks, done } => {
                drop(chunks);
                done.await
                    .map_err(|e| s3_error!(InternalError, "hashing the body failed: {e}"))
            }
        }
    }
}
