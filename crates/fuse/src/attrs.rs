//! Between service types and FUSE's: attributes, times, file types and
//! device numbers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dittofs_meta::{FileKind, Inode, SetTime, Timestamp};
use fuser::{FileAttr, FileType, INodeNo, TimeOrNow};

/// The block size `stat` reports.
pub(crate) const BLOCK_SIZE: u32 = 4096;

pub(crate) fn kind(k: FileKind) -> FileType {
    match k {
        FileKind::Regular => FileType::RegularFile,
        FileKind::Directory => FileType::Directory,
        FileKind::Symlink => FileType::Symlink,
        FileKind::CharDevice => FileType::CharDevice,
        FileKind::BlockDevice => FileType::BlockDevice,
        FileKind::Socket => FileType::Socket,
        FileKind::Fifo => FileType::NamedPipe,
    }
}

pub(crate) fn system_time(t: Timestamp) -> SystemTime {
    let nanos = Duration::from_nanos(t.nanos as u64);
    if t.secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + nanos
    }
}

pub(crate) fn timestamp(t: SystemTime) -> Timestamp {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        },
        Err(e) => {
            // Before the epoch: seconds round down, nanoseconds count up.
            let d = e.duration();
            let (mut secs, mut nanos) = (-(d.as_secs() as i64), d.subsec_nanos());
            if nanos > 0 {
                secs -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            Timestamp { secs, nanos }
        }
    }
}

pub(crate) fn set_time(t: Option<TimeOrNow>) -> SetTime {
    match t {
        None => SetTime::Unchanged,
        Some(TimeOrNow::Now) => SetTime::ServerNow,
        Some(TimeOrNow::SpecificTime(t)) => SetTime::Client(timestamp(t)),
    }
}

/// Linux's encoding of a device number (`makedev`).
pub(crate) fn rdev(major: u32, minor: u32) -> u32 {
    ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & !0xff) << 12)
}

/// The major and minor numbers of a Linux device number.
pub(crate) fn major_minor(rdev: u32) -> (u32, u32) {
    (
        (rdev >> 8) & 0xfff,
        (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    )
}

pub(crate) fn file_attr(ino: INodeNo, i: &Inode) -> FileAttr {
    FileAttr {
        ino,
        size: i.size,
        blocks: i.size.div_ceil(512),
        atime: system_time(i.atime),
        mtime: system_time(i.mtime),
        ctime: system_time(i.ctime),
        crtime: system_time(i.ctime),
        kind: kind(i.kind),
        perm: (i.mode & 0o7777) as u16,
        nlink: i.nlink,
        uid: i.uid,
        gid: i.gid,
        rdev: rdev(i.rdev.0, i.rdev.1),
        blksize: BLOCK_SIZE,
        flags: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_their_nanoseconds_both_ways() {
        for t in [
            Timestamp { secs: 0, nanos: 0 },
            Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_789,
            },
            Timestamp {
                secs: -1,
                nanos: 999_999_999,
            },
            Timestamp {
                secs: -86_400,
                nanos: 1,
            },
        ] {
            assert_eq!(timestamp(system_time(t)), t, "{t:?}");
        }
    }

    #[test]
    fn device_numbers_round_trip() {
        for (major, minor) in [(0, 0), (1, 3), (8, 17), (4095, 0xfffff), (259, 300)] {
            assert_eq!(major_minor(rdev(major, minor)), (major, minor));
        }
        // makedev(8, 1) on Linux.
        assert_eq!(rdev(8, 1), 0x801);
    }
}
