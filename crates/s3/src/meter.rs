//! The names the S3 adapter reports its requests under: the S3 operation
//! (as `s3s` routed it; known once the access check runs) and the HTTP
//! status of the response.

use std::sync::atomic::{AtomicUsize, Ordering};

use dittofs_runtime::meter::Vocabulary;

pub(crate) const VOCABULARY: Vocabulary = Vocabulary {
    adapter: "s3",
    operations: OPERATIONS,
    statuses: STATUSES,
};

/// The operations the gateway implements, then everything else (refused
/// before routing, unsigned, or answered `NotImplemented`).
const OPERATIONS: &[&str] = &[
    "ListBuckets",
    "CreateBucket",
    "HeadBucket",
    "DeleteBucket",
    "GetBucketLocation",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "DeleteObjects",
    "CopyObject",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
    "OTHER",
];

pub(crate) const OTHER_OPERATION: usize = OPERATIONS.len() - 1;

const STATUSES: &[&str] = &[
    "200", "204", "206", "304", "400", "403", "404", "405", "409", "411", "412", "416", "500",
    "501", "503", "OTHER",
];

pub(crate) fn operation(name: &str) -> usize {
    OPERATIONS[..OTHER_OPERATION]
        .iter()
        .position(|o| *o == name)
        .unwrap_or(OTHER_OPERATION)
}

pub(crate) fn status(code: u16) -> usize {
    let text = match code {
        200 => "200",
        204 => "204",
        206 => "206",
        304 => "304",
        400 => "400",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        411 => "411",
        412 => "412",
        416 => "416",
        500 => "500",
        501 => "501",
        503 => "503",
        _ => "OTHER",
    };
    STATUSES.iter().position(|s| *s == text).unwrap_or(0)
}

/// Where the access check leaves the operation `s3s` routed a request to,
/// for the meter to read once the response is ready. Put into a request
/// only while metrics are on.
#[derive(Debug)]
pub(crate) struct OperationSlot(AtomicUsize);

impl OperationSlot {
    pub fn new() -> Self {
        Self(AtomicUsize::new(OTHER_OPERATION))
    }

    pub fn set(&self, name: &str) {
        self.0.store(operation(name), Ordering::Relaxed);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_index() {
        assert_eq!(OPERATIONS[operation("PutObject")], "PutObject");
        assert_eq!(OPERATIONS[operation("PutBucketPolicy")], "OTHER");
        assert_eq!(STATUSES[status(206)], "206");
        assert_eq!(STATUSES[status(418)], "OTHER");
        let slot = OperationSlot::new();
        assert_eq!(slot.get(), OTHER_OPERATION);
        slot.set("GetObject");
        assert_eq!(OPERATIONS[slot.get()], "GetObject");
    }
}
