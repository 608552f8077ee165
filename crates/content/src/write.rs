//! WRITE: permission from the metadata service, the bytes to the journal
//! and into memory, the reply; the flusher does the rest later.

use std::time::Duration;

use bytes::Bytes;
use dittofs_meta::{
    AuthContext, FileHandle, FsError, FsResult, PreAttrs, S_ISGID, S_ISUID, Timestamp, WriteOutcome,
};

use crate::ContentService;
use crate::core::{Durability, unavailable};
use crate::journal::Record;
use crate::service::{MAX_FILE_SIZE, Stability, WriteResult};

/// How long a write waits for the flushers to free memory before the
/// client is told to retry (NFS3ERR_JUKEBOX).
const BACKPRESSURE_WAIT: Duration = Duration::from_secs(1);

impl ContentService {
    /// Writes `data` at `offset`: journalled and held in memory before the
    /// reply; stable writes also wait for what the share's durability asks.
    pub async fn write(
        &self,
        ctx: &AuthContext,
        fh: &FileHandle,
        offset: u64,
        data: Bytes,
        requested: Stability,
    ) -> FsResult<WriteResult> {
        let core = &self.core;
        let inode = core.meta.check_write(ctx, fh).await?;
        let len = data.len() as u64;
        let end = offset
            .checked_add(len)
            .filter(|e| *e <= MAX_FILE_SIZE)
            .ok_or(FsError::FileTooLarge)?;
        let before = PreAttrs::from(&inode);
        if len == 0 {
            return Ok(WriteResult {
                count: 0,
                committed: requested,
                verifier: self.verifier,
                outcome: WriteOutcome {
                    before,
                    after: inode,
                },
            });
        }
        if !core.budget.reserve(len, BACKPRESSURE_WAIT).await {
            return Err(FsError::Busy);
        }
        let mtime = Timestamp::now();
        let record = Record::Write {
            inode: inode.id,
            offset,
            mtime,
            data: data.clone(),
        };
        let lsn = match core.journal.append(&record) {
            Ok(lsn) => lsn,
            Err(e) => {
                core.budget.release(len);
                tracing::error!(error = %e, "journal append failed");
                return Err(unavailable(e));
            }
        };
        let charged = core
            .dirty
            .insert(inode.id, offset, data, lsn, mtime, inode.size);
        core.budget.release((len as i64 - charged).max(0) as u64);
        if inode.mode & (S_ISUID | S_ISGID) != 0 {
            core.meta.drop_set_id_bits(ctx, fh).await?;
        }
        let mut after = inode;
        after.size = after.size.max(end);
        after.mtime = mtime;
        after.ctime = mtime;
        let committed = match requested {
            Stability::Unstable => Stability::Unstable,
            Stability::DataSync | Stability::FileSync => {
                self.make_stable(after.id, true).await?;
                if core.durability == Durability::None {
                    requested
                } else {
                    Stability::FileSync
                }
            }
        };
        Ok(WriteResult {
            count: len as u32,
            committed,
            verifier: self.verifier,
            outcome: WriteOutcome { before, after },
        })
    }
}
