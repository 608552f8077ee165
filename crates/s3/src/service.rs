//! The gateway every operation works through (shares by bucket, who the
//! caller is, what they may do) and the `s3s` service around it.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_meta::{AuthContext, FileHandle, Inode};
use dittofs_runtime::config::S3Access;
use dittofs_runtime::meter::AdapterMeter;
use dittofs_runtime::{Registry, Share};
use parking_lot::Mutex;
use s3s::dto::*;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use crate::error::{About, fs};
use crate::info::BUCKET_XATTR;
use crate::{Credential, Peer};

/// Everything an operation needs, shared by all requests.
pub struct Gateway {
    pub(crate) registry: Arc<Registry>,
    pub(crate) keys: Arc<HashMap<String, Credential>>,
    pub(crate) region: String,
    /// The key that created each created bucket, by share name.
    owners: Mutex<HashMap<String, Option<String>>>,
    pub(crate) meter: Arc<AdapterMeter>,
}

/// Who is asking: the key (if the request was signed) and the identity it
/// acts as on files.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub key: Option<String>,
    pub ctx: AuthContext,
    /// Counts the bytes a client's request moves; `None` for the
    /// server's own housekeeping.
    pub meter: Option<Arc<AdapterMeter>>,
}

impl Gateway {
    pub fn new(
        registry: Arc<Registry>,
        keys: Arc<HashMap<String, Credential>>,
        region: String,
    ) -> Self {
        Self {
            meter: registry.meter(crate::meter::VOCABULARY),
            registry,
            keys,
            region,
            owners: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn caller<T>(&self, req: &S3Request<T>) -> Caller {
        let key = req.credentials.as_ref().map(|c| c.access_key.clone());
        let mut ctx = match key.as_deref().and_then(|k| self.keys.get(k)) {
            Some(c) => AuthContext::new(c.uid, c.gid, Vec::new()),
            None => AuthContext::anonymous(),
        };
        if let Some(Peer(addr)) = req.extensions.get::<Peer>() {
            ctx = ctx.with_client(*addr);
        }
        Caller {
            key,
            ctx,
            meter: Some(self.meter.clone()),
        }
    }

    pub(crate) fn bucket(&self, name: &str) -> S3Result<Arc<Share>> {
        self.registry
            .bucket(name)
            .ok_or_else(|| s3_error!(NoSuchBucket))
    }

    /// A bucket the caller may use at `need`.
    pub(crate) async fn bucket_for(
        &self,
        name: &str,
        caller: &Caller,
        need: S3Access,
    ) -> S3Result<Arc<Share>> {
        let share = self.bucket(name)?;
        if self.access(&share, caller.key.as_deref()).await >= need {
            Ok(share)
        } else {
            Err(s3_error!(AccessDenied))
        }
    }

    /// What `key` (`None`: an unsigned request) may do in a bucket.
    pub(crate) async fn access(&self, share: &Share, key: Option<&str>) -> S3Access {
        let Some(key) = key else {
            return if share.bucket.anonymous_read {
                S3Access::Read
            } else {
                S3Access::None
            };
        };
        if let Some(a) = share.bucket.access.get(key) {
            return *a;
        }
        if share.created && self.owner(share).await.as_deref() == Some(key) {
            return S3Access::Owner;
        }
        self.keys
            .get(key)
            .map_or(S3Access::None, |c| c.default_access)
    }

    async fn owner(&self, share: &Share) -> Option<String> {
        if let Some(o) = self.owners.lock().get(&share.name) {
            return o.clone();
        }
        let root = self.root(share).await.ok()?;
        let owner = share
            .meta
            .getattr(&AuthContext::root(), &root)
            .await
            .ok()
            .and_then(|i| i.xattrs.get(BUCKET_XATTR).cloned())
            .and_then(|v| String::from_utf8(v.to_vec()).ok());
        self.owners.lock().insert(share.name.clone(), owner.clone());
        owner
    }

    pub(crate) fn set_owner(&self, share: &str, key: Option<String>) {
        self.owners.lock().insert(share.to_owned(), key);
    }

    pub(crate) fn forget_owner(&self, share: &str) {
        self.owners.lock().remove(share);
    }

    /// The share's root directory.
    pub(crate) async fn root(&self, share: &Share) -> S3Result<FileHandle> {
        share
            .meta
            .root_fh(&AuthContext::root())
            .await
            .map_err(|e| fs(e, About::Bucket))
    }
}

/// The handle of an inode of a share.
pub(crate) fn handle(share: &Share, inode: &Inode) -> FileHandle {
    FileHandle {
        share: share.id,
        inode: inode.id,
        generation: inode.generation,
    }
}

pub(crate) fn xattr_name(name: &'static [u8]) -> Bytes {
    Bytes::from_static(name)
}

pub(crate) fn build(gateway: Arc<Gateway>) -> S3Service {
    let mut b = S3ServiceBuilder::new(Api(gateway.clone()));
    b.set_auth(crate::access::Keys(gateway.keys.clone()));
    b.set_access(crate::access::BucketAccess(gateway));
    b.build()
}

/// The operations, each in the module of its kind.
pub(crate) struct Api(pub Arc<Gateway>);

#[async_trait]
impl S3 for Api {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        crate::buckets::list(&self.0, req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        crate::buckets::create(&self.0, req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        crate::buckets::head(&self.0, req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        crate::buckets::delete(&self.0, req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        crate::buckets::location(&self.0, req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        crate::objects::put(&self.0, req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        crate::objects::get(&self.0, req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        crate::objects::head(&self.0, req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        crate::remove::delete(&self.0, req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        crate::remove::delete_many(&self.0, req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        crate::copy::copy(&self.0, req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        crate::listing::list_v1(&self.0, req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        crate::listing::list_v2(&self.0, req).await
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        crate::listing::list_versions(&self.0, req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        crate::multipart::create(&self.0, req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        crate::multipart::upload_part(&self.0, req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        crate::multipart::upload_part_copy(&self.0, req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        crate::multipart::complete(&self.0, req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        crate::multipart::abort(&self.0, req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        crate::multipart::list_parts(&self.0, req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        crate::multipart::list_uploads(&self.0, req).await
    }
}
