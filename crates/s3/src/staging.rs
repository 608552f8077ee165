//! The hidden directory where an object is written before it replaces the
//! old one in one rename (so a failed or cut-off PUT leaves the old object
//! whole), and where multipart uploads keep their parts. Its janitor
//! removes what crashed requests and abandoned uploads leave behind.

use std::sync::Arc;
use std::time::Duration;

use dittofs_meta::{
    AuthContext, CreateMode, FileHandle, FsError, FsResult, Inode, SetAttrs, Timestamp,
};
use dittofs_runtime::Share;
use tokio_util::sync::CancellationToken;

use crate::keys::STAGING;
use crate::service::{Caller, Gateway, handle};
use crate::tree::child;

const TMP: &str = "tmp";
pub(crate) const UPLOADS: &str = "uploads";
/// A temporary file this old belongs to no request still running.
const TMP_MAX_AGE: Duration = Duration::from_secs(3600);

/// 16 random bytes in hex: temporary names and upload ids.
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 16];
    // Time alone still makes names distinct enough for a retry loop.
    if getrandom::fill(&mut b).is_err() {
        let t = Timestamp::now();
        b[..8].copy_from_slice(&t.secs.to_le_bytes());
        b[8..12].copy_from_slice(&t.nanos.to_le_bytes());
    }
    crate::info::hex(&b)
}

/// A directory below `dir`, made (writable by every key, sticky like
/// /tmp) when missing.
async fn shared_dir(
    share: &Share,
    caller: &Caller,
    dir: &FileHandle,
    name: &str,
) -> FsResult<FileHandle> {
    if let Some(d) = child(share, caller, dir, name).await? {
        return if d.is_dir() {
            Ok(handle(share, &d))
        } else {
            Err(FsError::NotDir)
        };
    }
    let attrs = SetAttrs {
        mode: Some(0o1777),
        ..SetAttrs::default()
    };
    match share
        .meta
        .mkdir(&caller.ctx, dir, name.as_bytes(), attrs)
        .await
    {
        Ok(c) => Ok(handle(share, &c.attrs)),
        Err(FsError::Exists) => match child(share, caller, dir, name).await? {
            Some(d) if d.is_dir() => Ok(handle(share, &d)),
            _ => Err(FsError::NotDir),
        },
        Err(e) => Err(e),
    }
}

/// `.dittofs-s3/<area>` of the share.
pub(crate) async fn area(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
    area: &str,
) -> FsResult<FileHandle> {
    let staging = shared_dir(share, caller, root, STAGING).await?;
    shared_dir(share, caller, &staging, area).await
}

/// A new empty file to write an object into.
pub(crate) struct Temp {
    pub dir: FileHandle,
    pub name: String,
    pub file: FileHandle,
}

pub(crate) async fn create_temp(
    share: &Share,
    caller: &Caller,
    root: &FileHandle,
) -> FsResult<Temp> {
    let dir = area(share, caller, root, TMP).await?;
    create_in(share, caller, dir, format!("{}.tmp", random_id())).await
}

pub(crate) async fn create_in(
    share: &Share,
    caller: &Caller,
    dir: FileHandle,
    name: String,
) -> FsResult<Temp> {
    let how = CreateMode::Guarded(SetAttrs {
        mode: Some(0o644),
        ..SetAttrs::default()
    });
    let c = share
        .meta
        .create(&caller.ctx, &dir, name.as_bytes(), how)
        .await?;
    Ok(Temp {
        dir,
        name,
        file: handle(share, &c.attrs),
    })
}

impl Temp {
    /// Removes the file, after a failure; a file already moved is not
    /// there any more, which is fine.
    pub async fn discard(&self, share: &Share, caller: &Caller) {
        let _ = share
            .meta
            .remove(&caller.ctx, &self.dir, self.name.as_bytes())
            .await;
    }
}

/// Removes a directory and everything in it (an upload's parts).
pub(crate) async fn remove_tree(
    share: &Share,
    ctx: &AuthContext,
    parent: &FileHandle,
    name: &str,
) -> FsResult<()> {
    let caller = Caller {
        key: None,
        ctx: ctx.clone(),
        meter: None,
    };
    let Some(dir) = child(share, &caller, parent, name).await? else {
        return Err(FsError::NotFound);
    };
    let fh = handle(share, &dir);
    loop {
        let page = share.meta.list_names(ctx, &fh, None, 256).await?;
        if page.is_empty() {
            break;
        }
        for (n, inode) in page {
            let n = String::from_utf8_lossy(&n).into_owned();
            let r = if inode.is_dir() {
                Box::pin(remove_tree(share, ctx, &fh, &n)).await
            } else {
                share.meta.remove(ctx, &fh, n.as_bytes()).await.map(|_| ())
            };
            match r {
                Ok(()) | Err(FsError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
    }
    match share.meta.rmdir(ctx, parent, name.as_bytes()).await {
        Ok(_) | Err(FsError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

fn age(inode: &Inode) -> Duration {
    let now = Timestamp::now();
    Duration::from_secs(now.secs.saturating_sub(inode.ctime.secs).max(0) as u64)
}

/// Every so often, in every bucket: temporary files of requests long gone,
/// and uploads older than `expiry`, are removed.
pub(crate) async fn janitor(gw: Arc<Gateway>, expiry: Duration, shutdown: CancellationToken) {
    let every = (expiry / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let mut first = true;
    loop {
        let wait = if first {
            expiry.min(Duration::from_secs(10))
        } else {
            every
        };
        first = false;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        for share in gw.registry.shares() {
            if share.bucket.name.is_some() {
                sweep(&gw, &share, expiry).await;
            }
        }
    }
}

/// One bucket's sweep; returns how many entries it removed.
pub(crate) async fn sweep(gw: &Gateway, share: &Share, expiry: Duration) -> usize {
    let ctx = AuthContext::root();
    let caller = Caller {
        key: None,
        ctx: ctx.clone(),
        meter: None,
    };
    let Ok(root) = gw.root(share).await else {
        return 0;
    };
    let Ok(Some(staging)) = child(share, &caller, &root, STAGING).await else {
        return 0;
    };
    let staging = handle(share, &staging);
    let mut removed = 0;
    for (area, max_age) in [(TMP, TMP_MAX_AGE), (UPLOADS, expiry)] {
        let Ok(Some(dir)) = child(share, &caller, &staging, area).await else {
            continue;
        };
        let dir = handle(share, &dir);
        let mut after: Option<bytes::Bytes> = None;
        loop {
            let Ok(page) = share
                .meta
                .list_names(&ctx, &dir, after.as_deref(), 256)
                .await
            else {
                break;
            };
            let done = page.len() < 256;
            after = page.last().map(|(n, _)| n.clone());
            for (name, inode) in page {
                if age(&inode) < max_age {
                    continue;
                }
                let name = String::from_utf8_lossy(&name).into_owned();
                let r = if inode.is_dir() {
                    remove_tree(share, &ctx, &dir, &name).await
                } else {
                    share
                        .meta
                        .remove(&ctx, &dir, name.as_bytes())
                        .await
                        .map(|_| ())
                };
                match r {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        tracing::warn!(bucket = ?share.bucket.name, %name, error = %e, "could not remove stale staging entry")
                    }
                }
            }
            if done {
                break;
            }
        }
    }
    if removed > 0 {
        tracing::info!(bucket = ?share.bucket.name, removed, "removed abandoned uploads and temporary files");
    }
    removed
}
