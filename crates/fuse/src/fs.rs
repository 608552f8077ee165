//! The kernel's requests: FUSE's `Filesystem` trait, each method a call
//! into [`Volume`] on the tokio runtime and a reply.
//!
//! fuser runs these on its own threads, so blocking on the runtime here
//! never stalls a tokio worker.

use std::ffi::OsStr;
use std::future::Future;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use fuser::{
    AccessFlags, BsdFileFlags, Errno, FileHandle, Filesystem, FopenFlags, INodeNo, KernelConfig,
    LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use tokio::runtime::Handle;

use crate::errno::Outcome;
use crate::files::AttrChange;
use crate::identity::caller;
use crate::volume::{TTL, Volume, name};

/// The longest name, for statfs.
const NAME_MAX: u32 = 255;
/// Listing entries fetched per READDIR; the kernel's buffer takes fewer.
const LIST_BATCH: usize = 128;

pub(crate) struct Fs {
    pub(crate) volume: Arc<Volume>,
    pub(crate) rt: Handle,
}

impl Fs {
    fn run<T>(&self, op: &'static str, f: impl Future<Output = Outcome<T>>) -> Result<T, Errno> {
        self.rt.block_on(f).map_err(|e| {
            tracing::debug!(op, error = ?e, "fuse request failed");
            e.errno()
        })
    }
}

impl Filesystem for Fs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Timestamps are kept to the nanosecond.
        let _ = config.set_time_granularity(std::time::Duration::from_nanos(1));
        Ok(())
    }

    fn lookup(&self, req: &Request, parent: INodeNo, n: &OsStr, reply: ReplyEntry) {
        let ctx = caller(req);
        match self.run("lookup", self.volume.lookup(&ctx, parent, name(n))) {
            Ok(e) => reply.entry(&TTL, &e.attr, e.generation),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.volume.inodes.forget(ino, nlookup);
    }

    fn getattr(&self, req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let ctx = caller(req);
        match self.run("getattr", self.volume.getattr(&ctx, ino)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let ctx = caller(req);
        let change = AttrChange {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
            through_open_file: fh.is_some(),
        };
        match self.run("setattr", self.volume.setattr(&ctx, ino, change)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, req: &Request, ino: INodeNo, reply: ReplyData) {
        let ctx = caller(req);
        match self.run("readlink", self.volume.readlink(&ctx, ino)) {
            Ok(t) => reply.data(&t),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        n: &OsStr,
        mode: u32,
        _umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let ctx = caller(req);
        let made = self.volume.mknod(&ctx, parent, name(n), mode, rdev);
        match self.run("mknod", made) {
            Ok(e) => reply.entry(&TTL, &e.attr, e.generation),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        n: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let ctx = caller(req);
        match self.run("mkdir", self.volume.mkdir(&ctx, parent, name(n), mode)) {
            Ok(e) => reply.entry(&TTL, &e.attr, e.generation),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, req: &Request, parent: INodeNo, n: &OsStr, reply: ReplyEmpty) {
        let ctx = caller(req);
        match self.run("unlink", self.volume.unlink(&ctx, parent, name(n))) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, n: &OsStr, reply: ReplyEmpty) {
        let ctx = caller(req);
        match self.run("rmdir", self.volume.rmdir(&ctx, parent, name(n))) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let ctx = caller(req);
        let made =
            self.volume
                .symlink(&ctx, parent, name(link_name), target.as_os_str().as_bytes());
        match self.run("symlink", made) {
            Ok(e) => reply.entry(&TTL, &e.attr, e.generation),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        n: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let ctx = caller(req);
        let renamed =
            self.volume
                .rename(&ctx, (parent, name(n)), (newparent, name(newname)), flags);
        match self.run("rename", renamed) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let ctx = caller(req);
        match self.run(
            "link",
            self.volume.link(&ctx, ino, newparent, name(newname)),
        ) {
            Ok(e) => reply.entry(&TTL, &e.attr, e.generation),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let ctx = caller(req);
        match self.run("open", self.volume.open(&ctx, ino, flags.0)) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let ctx = caller(req);
        match self.run("read", self.volume.read(&ctx, ino, offset, size)) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let ctx = caller(req);
        match self.run("write", self.volume.write(&ctx, ino, offset, data, flags.0)) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // Written data is already in the journal; close(2) does not wait
        // for more, as on a local disk (fsync does).
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        match self.run("release", self.volume.release_file(fh.0)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsync(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let ctx = caller(req);
        match self.run("fsync", self.volume.fsync(&ctx, ino)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let ctx = caller(req);
        match self.run("opendir", self.volume.opendir(&ctx, ino)) {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let ctx = caller(req);
        match self.run(
            "readdir",
            self.volume.readdir(&ctx, ino, offset, LIST_BATCH),
        ) {
            Ok(entries) => {
                for e in entries {
                    if reply.add(e.ino, e.offset, e.kind, OsStr::from_bytes(&e.name)) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.run("fsyncdir", self.volume.fsyncdir()) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let ctx = caller(req);
        match self.run("statfs", self.volume.statfs(&ctx)) {
            Ok(s) => reply.statfs(
                s.blocks,
                s.bfree,
                s.bfree,
                s.files,
                s.ffree,
                crate::attrs::BLOCK_SIZE,
                NAME_MAX,
                crate::attrs::BLOCK_SIZE,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        let ctx = caller(req);
        match self.run("access", self.volume.access(&ctx, ino, mask)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        n: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let ctx = caller(req);
        match self.run(
            "create",
            self.volume.create(&ctx, parent, name(n), mode, flags),
        ) {
            Ok((e, fh)) => reply.created(
                &TTL,
                &e.attr,
                e.generation,
                FileHandle(fh),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }
}
