//! The one place a service error becomes an errno.

use dittofs_meta::{FsError, StoreError};
use fuser::Errno;

pub(crate) fn errno(e: &FsError) -> Errno {
    match e {
        FsError::NotFound => Errno::ENOENT,
        FsError::Exists => Errno::EEXIST,
        FsError::NotDir => Errno::ENOTDIR,
        FsError::IsDir => Errno::EISDIR,
        FsError::NotEmpty => Errno::ENOTEMPTY,
        FsError::AccessDenied => Errno::EACCES,
        FsError::NotPermitted => Errno::EPERM,
        FsError::NameTooLong => Errno::ENAMETOOLONG,
        FsError::Invalid | FsError::BadCookie => Errno::EINVAL,
        FsError::ReadOnly => Errno::EROFS,
        FsError::Stale | FsError::BadHandle => Errno::ESTALE,
        FsError::CrossShare => Errno::EXDEV,
        FsError::TooManyLinks => Errno::EMLINK,
        FsError::NotSupported | FsError::BadType => Errno::EOPNOTSUPP,
        FsError::NoSpace => Errno::ENOSPC,
        FsError::FileTooLarge => Errno::EFBIG,
        // Guarded changes are never asked for here; a conflict the service
        // gave up retrying is worth another try by the caller.
        FsError::NotSync | FsError::Busy | FsError::Store(StoreError::Conflict) => Errno::EAGAIN,
        FsError::Store(_) | FsError::Block(_) => Errno::EIO,
    }
}

/// A failed call: a service error, or an errno decided here (a request
/// the service is never asked, such as an unknown inode number).
#[derive(Debug)]
pub(crate) enum Failure {
    Fs(FsError),
    Errno(Errno),
}

impl From<FsError> for Failure {
    fn from(e: FsError) -> Self {
        Self::Fs(e)
    }
}

impl From<Errno> for Failure {
    fn from(e: Errno) -> Self {
        Self::Errno(e)
    }
}

impl Failure {
    pub(crate) fn errno(&self) -> Errno {
        match self {
            Self::Fs(e) => errno(e),
            Self::Errno(e) => *e,
        }
    }
}

pub(crate) type Outcome<T> = Result<T, Failure>;
