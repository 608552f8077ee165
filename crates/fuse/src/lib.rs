//! The FUSE adapter: a share mounted as a local file system, for machines
//! with no NFS client.
//!
//! It owns the mapping from the kernel's FUSE requests to the share's
//! `MetadataService` and `ContentService` (the same services NFS and S3
//! call), the kernel's inode numbers, the caller's identity (uid, gid and
//! the supplementary groups of the calling process) and the mount's life:
//! mounting, serving on fuser's threads, and unmounting at shutdown. It
//! never decides a permission (the metadata service does, for every
//! request) and never touches a store. The binary uses it for `dittofs
//! mount` and for `adapters.fuse` of `dittofs start`.

mod attrs;
mod errno;
mod files;
mod fs;
mod identity;
mod inodes;
mod mount;
mod names;
mod volume;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dittofs_runtime::{Adapter, AdapterError, Registry};
use tokio_util::sync::CancellationToken;

/// One share to mount, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub share: String,
    pub mountpoint: PathBuf,
}

#[derive(Debug, Clone)]
pub struct FuseSettings {
    pub mounts: Vec<MountSpec>,
    /// Threads serving the kernel's requests, per mount.
    pub threads: usize,
    /// How long open files may keep a mount alive at shutdown.
    pub unmount_grace: Duration,
}

pub struct FuseAdapter {
    settings: FuseSettings,
}

impl FuseAdapter {
    pub fn new(settings: FuseSettings) -> Self {
        Self { settings }
    }
}

fn failed(detail: String) -> AdapterError {
    AdapterError::Failed {
        adapter: "fuse",
        detail,
    }
}

#[async_trait]
impl Adapter for FuseAdapter {
    fn name(&self) -> &'static str {
        "fuse"
    }

    async fn bind(&mut self) -> Result<(), AdapterError> {
        for m in &self.settings.mounts {
            let mountpoint = m.mountpoint.clone();
            tokio::task::spawn_blocking(move || mount::prepare(&mountpoint))
                .await
                .map_err(|e| failed(e.to_string()))?
                .map_err(failed)?;
        }
        Ok(())
    }

    async fn serve(
        self: Box<Self>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Result<(), AdapterError> {
        let mut mounted = Vec::new();
        for spec in &self.settings.mounts {
            match mount::mount(&registry, spec, self.settings.threads).await {
                Ok(m) => mounted.push(m),
                Err(e) => {
                    for m in mounted {
                        m.unmount(self.settings.unmount_grace).await;
                    }
                    return Err(failed(e));
                }
            }
        }
        // Serve until shutdown, or until a mount is taken away from under
        // the server (umount from outside), which stops it too.
        let mut ended = None;
        while ended.is_none() {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    ended = mounted.iter().find(|m| m.ended()).map(|m| m.mountpoint.clone());
                }
            }
        }
        // All at once, within the runtime's own grace, which then drops
        // this task.
        let grace = self.settings.unmount_grace / 2;
        let mut unmounting = tokio::task::JoinSet::new();
        for m in mounted {
            unmounting.spawn(m.unmount(grace));
        }
        while unmounting.join_next().await.is_some() {}
        match ended {
            Some(mountpoint) => Err(failed(format!(
                "{} was unmounted from outside the server",
                mountpoint.display()
            ))),
            None => Ok(()),
        }
    }
}
