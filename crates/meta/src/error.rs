use dittofs_blocks::BlockError;

/// What a metadata store can report. Stores know nothing of permissions or
/// names, so their errors are about storage only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another transaction changed what this one read; retry it.
    #[error("transaction conflict")]
    Conflict,
    #[error("metadata store unavailable: {0}")]
    Unavailable(String),
    #[error("metadata store is damaged: {0}")]
    Corrupt(String),
    #[error("metadata store I/O: {0}")]
    Io(String),
}

/// The error of the service layer, in the file system's own words. Each
/// adapter maps it to its protocol's codes in exactly one place.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("no such file or directory")]
    NotFound,
    #[error("file exists")]
    Exists,
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    #[error("directory not empty")]
    NotEmpty,
    #[error("permission denied")]
    AccessDenied,
    #[error("operation not permitted")]
    NotPermitted,
    #[error("name longer than 255 bytes")]
    NameTooLong,
    #[error("invalid argument")]
    Invalid,
    #[error("read-only share")]
    ReadOnly,
    #[error("stale file handle")]
    Stale,
    #[error("malformed or forged file handle")]
    BadHandle,
    #[error("operation across shares")]
    CrossShare,
    #[error("too many links")]
    TooManyLinks,
    #[error("attributes changed since the guard was read")]
    NotSync,
    #[error("directory cookie is no longer valid")]
    BadCookie,
    #[error("operation not supported")]
    NotSupported,
    #[error("file type not supported here")]
    BadType,
    #[error("no space left")]
    NoSpace,
    #[error("file too large")]
    FileTooLarge,
    /// The server is pushing back (memory or rate bound); retry later.
    #[error("server busy, retry later")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Block(#[from] BlockError),
}

pub type FsResult<T> = Result<T, FsError>;
