//! The life of one mount: mounting a share at a directory, serving it on
//! fuser's threads, and unmounting it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dittofs_meta::AuthContext;
use dittofs_runtime::Registry;
use fuser::{BackgroundSession, Config, MountOption, SessionACL};
use rustix::io::Errno as SysErrno;
use rustix::mount::{UnmountFlags, unmount};
use tokio::sync::oneshot;

use crate::MountSpec;
use crate::fs::Fs;
use crate::volume::Volume;

/// A mounted share, served until its session ends.
pub(crate) struct Mounted {
    pub(crate) share: String,
    pub(crate) mountpoint: PathBuf,
    /// The FUSE connection's number under /sys/fs/fuse/connections.
    connection: Option<u64>,
    volume: Arc<Volume>,
    /// Set, and sent on, when fuser's threads have stopped: the kernel
    /// closed the connection (an unmount). A plain thread waits for them,
    /// so a mount that never ends cannot hold up the runtime's exit.
    ended: Arc<AtomicBool>,
    session: oneshot::Receiver<()>,
}

/// Checks that a mount point can be mounted on. One left behind by a
/// server that died ("transport endpoint is not connected") is detached
/// first.
pub(crate) fn prepare(mountpoint: &Path) -> Result<(), String> {
    match rustix::fs::stat(mountpoint) {
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::Directory =>
        {
            Ok(())
        }
        Ok(_) => Err(format!("{} is not a directory", mountpoint.display())),
        Err(SysErrno::NOTCONN) => {
            tracing::warn!(mountpoint = %mountpoint.display(), "detaching a dead FUSE mount");
            unmount(mountpoint, UnmountFlags::DETACH)
                .map_err(|e| format!("{}: cannot detach a dead mount: {e}", mountpoint.display()))
        }
        Err(e) => Err(format!("{}: {e}", mountpoint.display())),
    }
}

pub(crate) async fn mount(
    registry: &Registry,
    spec: &MountSpec,
    threads: usize,
) -> Result<Mounted, String> {
    let share = registry
        .share(&spec.share)
        .ok_or_else(|| format!("no share named {:?}", spec.share))?;
    let root = share
        .meta
        .root_handle(&AuthContext::root())
        .await
        .map_err(|e| format!("share {:?}: {e}", spec.share))?;
    let (_, root) = registry
        .resolve(&root)
        .map_err(|e| format!("share {:?}: {e}", spec.share))?;
    let volume = Arc::new(Volume::new(share, root));
    let fs = Fs {
        volume: volume.clone(),
        rt: tokio::runtime::Handle::current(),
    };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(format!("dittofs:{}", spec.share)),
        MountOption::Subtype("dittofs".into()),
    ];
    // Every user reaches the files as themselves; the metadata service
    // decides what each may do. Without root, the mount helper allows only
    // the mounting user (unless /etc/fuse.conf says user_allow_other).
    config.acl = if rustix::process::geteuid().is_root() {
        SessionACL::All
    } else {
        SessionACL::Owner
    };
    config.n_threads = Some(threads.max(1));
    let mountpoint = spec.mountpoint.clone();
    let session: BackgroundSession = tokio::task::spawn_blocking(move || {
        fuser::Session::new(fs, &mountpoint, &config).and_then(|s| s.spawn())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot mount {}: {e}", spec.mountpoint.display()))?;
    let mountpoint = spec.mountpoint.clone();
    let connection = tokio::task::spawn_blocking(move || {
        rustix::fs::stat(&mountpoint)
            .ok()
            .map(|st| rustix::fs::minor(st.st_dev) as u64)
    })
    .await
    .ok()
    .flatten();
    tracing::info!(share = %spec.share, mountpoint = %spec.mountpoint.display(), "mounted");
    let ended = Arc::new(AtomicBool::new(false));
    let (done, session_rx) = oneshot::channel();
    let flag = ended.clone();
    let share_name = spec.share.clone();
    std::thread::Builder::new()
        .name("fuse-session".into())
        .spawn(move || {
            if let Err(e) = session.join() {
                tracing::warn!(share = %share_name, error = %e, "FUSE session ended with an error");
            }
            flag.store(true, Ordering::Release);
            let _ = done.send(());
        })
        .map_err(|e| format!("cannot start the FUSE session thread: {e}"))?;
    Ok(Mounted {
        share: spec.share.clone(),
        mountpoint: spec.mountpoint.clone(),
        connection,
        volume,
        ended,
        session: session_rx,
    })
}

impl Mounted {
    /// Whether the kernel has closed the connection.
    pub(crate) fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Unmounts and waits for the session to end. A mount still in use is
    /// detached (it goes once its files are closed); if its users are
    /// still there after `grace`, the connection is aborted.
    pub(crate) async fn unmount(mut self, grace: Duration) {
        if !self.ended() {
            let mountpoint = self.mountpoint.clone();
            let result = tokio::task::spawn_blocking(move || {
                match unmount(&mountpoint, UnmountFlags::empty()) {
                    Err(SysErrno::BUSY) => unmount(&mountpoint, UnmountFlags::DETACH),
                    r => r,
                }
            })
            .await;
            match result {
                Ok(Ok(())) | Ok(Err(SysErrno::INVAL)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(mountpoint = %self.mountpoint.display(), error = %e, "unmount failed")
                }
                Err(e) => tracing::warn!(error = %e, "unmount task failed"),
            }
        }
        if tokio::time::timeout(grace, &mut self.session)
            .await
            .is_err()
        {
            tracing::warn!(mountpoint = %self.mountpoint.display(), "files still open after the shutdown timeout; aborting the FUSE connection");
            if let Some(c) = self.connection {
                let _ = std::fs::write(format!("/sys/fs/fuse/connections/{c}/abort"), "1");
            }
            let _ = tokio::time::timeout(grace / 2, &mut self.session).await;
        }
        // Files the kernel never released (the connection was aborted).
        self.volume.release_all().await;
        tracing::info!(share = %self.share, mountpoint = %self.mountpoint.display(), "unmounted");
    }
}
