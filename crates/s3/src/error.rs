//! Service errors as S3 errors: the one place a `FsError` becomes an S3
//! code and HTTP status.

use dittofs_meta::{FsError, StoreError};
use hyper::StatusCode;
use s3s::{S3Error, S3ErrorCode, s3_error};

/// What a failing call was about, since S3 names the missing thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum About {
    Object,
    Bucket,
    Upload,
}

/// The key's path cannot be made: a directory where a file must go, or a
/// file where a directory must go.
pub(crate) fn conflict(key: &str, detail: &str) -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("KeyPathConflict".into()),
        format!("key {key:?} cannot be stored: {detail}"),
    );
    e.set_status_code(StatusCode::CONFLICT);
    e
}

pub(crate) fn fs(e: FsError, about: About) -> S3Error {
    match e {
        FsError::NotFound | FsError::Stale | FsError::NotDir | FsError::IsDir => match about {
            About::Object => s3_error!(NoSuchKey),
            About::Bucket => s3_error!(NoSuchBucket),
            About::Upload => s3_error!(NoSuchUpload),
        },
        FsError::AccessDenied | FsError::NotPermitted | FsError::CrossShare => {
            s3_error!(AccessDenied)
        }
        FsError::ReadOnly => s3_error!(AccessDenied, "the bucket's share is read-only"),
        FsError::NameTooLong => s3_error!(KeyTooLongError),
        FsError::Invalid | FsError::BadType | FsError::NotSupported => {
            s3_error!(InvalidArgument, "{e}")
        }
        FsError::NotEmpty => match about {
            About::Bucket => s3_error!(BucketNotEmpty),
            _ => s3_error!(
                InvalidRequest,
                "a directory that is not empty is in the way"
            ),
        },
        FsError::Exists => s3_error!(InvalidRequest, "{e}"),
        FsError::FileTooLarge => s3_error!(EntityTooLarge),
        FsError::NoSpace => {
            let mut err = s3_error!(ServiceUnavailable, "no space left on the server");
            err.set_status_code(StatusCode::INSUFFICIENT_STORAGE);
            err
        }
        FsError::Busy | FsError::Store(StoreError::Conflict) => s3_error!(SlowDown),
        FsError::Store(StoreError::Unavailable(ref why)) => {
            tracing::error!(error = %why, "S3 request failed: metadata store unavailable");
            s3_error!(
                ServiceUnavailable,
                "the metadata store is unavailable; retry later"
            )
        }
        FsError::TooManyLinks
        | FsError::NotSync
        | FsError::BadCookie
        | FsError::BadHandle
        | FsError::Store(_) => {
            crate::request::log_failure(&e);
            s3_error!(InternalError)
        }
        FsError::Block(b) => {
            crate::request::log_failure(&b);
            match b {
                dittofs_meta::BlockError::Unavailable(_) => s3_error!(ServiceUnavailable),
                _ => s3_error!(InternalError),
            }
        }
    }
}
