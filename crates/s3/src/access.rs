//! Who a request is (its key, checked by SigV4 in `s3s`) and what that key
//! may do in a bucket. File permissions are still the metadata service's:
//! a key acts as its configured uid and gid.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use dittofs_runtime::config::S3Access;
use s3s::access::{S3Access as S3AccessCheck, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};

use crate::Credential;
use crate::service::Gateway;

pub(crate) struct Keys(pub Arc<HashMap<String, Credential>>);

#[async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.get(access_key) {
            Some(c) => Ok(SecretKey::from(c.secret_key.as_str())),
            None => Err(s3_error!(InvalidAccessKeyId)),
        }
    }
}

/// What an operation needs in its bucket.
fn needed(op: &str) -> Option<S3Access> {
    Some(match op {
        "GetObject"
        | "HeadObject"
        | "ListObjects"
        | "ListObjectsV2"
        | "HeadBucket"
        | "GetBucketLocation"
        | "ListParts"
        | "ListMultipartUploads"
        | "GetObjectAttributes" => S3Access::Read,
        "PutObject"
        | "DeleteObject"
        | "DeleteObjects"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload" => S3Access::Write,
        // Any signed request may list its buckets or create one.
        "ListBuckets" | "CreateBucket" => return None,
        _ => S3Access::Owner,
    })
}

pub(crate) struct BucketAccess(pub Arc<Gateway>);

#[async_trait]
impl S3AccessCheck for BucketAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let slot = cx
            .extensions_mut()
            .get::<Arc<crate::meter::OperationSlot>>()
            .cloned();
        if let Some(slot) = slot {
            slot.set(cx.s3_op().name());
        }
        let key = cx.credentials().map(|c| c.access_key.clone());
        let bucket = match cx.s3_path() {
            S3Path::Root => None,
            S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } => Some(bucket.to_string()),
        };
        crate::request::routed(cx.s3_op().name());
        let Some(need) = needed(cx.s3_op().name()) else {
            return match key {
                Some(_) => Ok(()),
                None => Err(s3_error!(AccessDenied, "Signature is required")),
            };
        };
        let Some(bucket) = bucket else {
            return Err(s3_error!(AccessDenied));
        };
        match self.0.registry.bucket(&bucket) {
            Some(share) => {
                if self.0.access(&share, key.as_deref()).await >= need {
                    Ok(())
                } else {
                    Err(s3_error!(AccessDenied))
                }
            }
            // The operation answers NoSuchBucket, as S3 does to anyone.
            None => Ok(()),
        }
    }
}
