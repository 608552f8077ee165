//! Buckets: the shares that have a bucket name. Configured shares are
//! buckets as configured; CreateBucket makes a new share on the stores the
//! S3 section names, owned by the creating key, and DeleteBucket removes
//! only such shares, and only when empty.

use bytes::Bytes;
use dittofs_meta::{AuthContext, FsError};
use dittofs_runtime::config::{S3Access, valid_bucket_name};
use dittofs_runtime::{BucketSettings, CREATED_XATTR, RegistryError};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::error::{About, fs};
use crate::info::{self, BUCKET_XATTR};
use crate::keys::STAGING;
use crate::service::{Gateway, xattr_name};
use crate::staging;
use crate::tree::child;

pub(crate) async fn list(
    gw: &Gateway,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let caller = gw.caller(&req);
    let prefix = req.input.prefix.clone().unwrap_or_default();
    let mut buckets = Vec::new();
    for share in gw.registry.shares() {
        let Some(name) = share.bucket.name.clone() else {
            continue;
        };
        if !name.starts_with(&prefix)
            || gw.access(&share, caller.key.as_deref()).await < S3Access::Read
        {
            continue;
        }
        let created = match gw.root(&share).await {
            Ok(root) => share.meta.getattr(&AuthContext::root(), &root).await.ok(),
            Err(_) => None,
        };
        let creation_date = created.map(|i| {
            let secs = i
                .xattrs
                .get(CREATED_XATTR)
                .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
                .unwrap_or(i.ctime.secs);
            info::from_epoch_secs(secs).unwrap_or_else(|| info::s3_time(i.ctime))
        });
        buckets.push(Bucket {
            name: Some(name),
            creation_date,
            bucket_region: Some(gw.region.clone()),
        });
    }
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let owner = caller.key.clone().map(|k| Owner {
        id: Some(k.clone()),
        display_name: Some(k),
    });
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        owner,
        prefix: req.input.prefix,
        ..ListBucketsOutput::default()
    }))
}

pub(crate) async fn create(
    gw: &Gateway,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let caller = gw.caller(&req);
    let name = req.input.bucket;
    let Some(key) = caller.key.clone() else {
        return Err(s3_error!(AccessDenied));
    };
    if !valid_bucket_name(&name) {
        return Err(s3_error!(InvalidBucketName));
    }
    if let Some(c) = req
        .input
        .create_bucket_configuration
        .and_then(|c| c.location_constraint)
        && !c.as_str().is_empty()
        && c.as_str() != gw.region
    {
        return Err(s3_error!(
            InvalidLocationConstraint,
            "this server's region is {}",
            gw.region
        ));
    }
    if let Some(existing) = gw.registry.bucket(&name) {
        return Err(
            if gw.access(&existing, Some(&key)).await == S3Access::Owner {
                s3_error!(BucketAlreadyOwnedByYou)
            } else {
                s3_error!(BucketAlreadyExists)
            },
        );
    }
    let (uid, gid) = (caller.ctx.uid, caller.ctx.gid);
    let settings = BucketSettings {
        name: Some(name.clone()),
        ..BucketSettings::default()
    };
    let marks = vec![(
        xattr_name(BUCKET_XATTR),
        Some(Bytes::from(key.clone().into_bytes())),
    )];
    match gw
        .registry
        .create_share(&name, (uid, gid), marks, settings)
        .await
    {
        Ok(_) => {}
        Err(RegistryError::NoFactory) => {
            return Err(s3_error!(AccessDenied, "this server creates no buckets"));
        }
        Err(RegistryError::Open {
            source: FsError::Exists,
            ..
        }) => return Err(s3_error!(BucketAlreadyExists)),
        Err(e) => {
            tracing::error!(bucket = %name, error = %e, "could not create bucket");
            return Err(s3_error!(InternalError));
        }
    }
    gw.set_owner(&format!("/{name}"), Some(key));
    tracing::info!(bucket = %name, uid, gid, "bucket created");
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{name}")),
    }))
}

pub(crate) async fn head(
    gw: &Gateway,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let caller = gw.caller(&req);
    gw.bucket_for(&req.input.bucket, &caller, S3Access::Read)
        .await?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(gw.region.clone()),
        ..HeadBucketOutput::default()
    }))
}

pub(crate) async fn delete(
    gw: &Gateway,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let caller = gw.caller(&req);
    let share = gw
        .bucket_for(&req.input.bucket, &caller, S3Access::Owner)
        .await?;
    if !share.created {
        return Err(s3_error!(
            MethodNotAllowed,
            "this bucket is a share of the server's configuration; remove it there"
        ));
    }
    let root = gw.root(&share).await?;
    // Only the hidden staging directory may stand between the bucket and
    // empty: pending uploads go with the bucket, as in S3.
    let others = share
        .meta
        .list_names(&AuthContext::root(), &root, None, 2)
        .await
        .map_err(|e| fs(e, About::Bucket))?;
    if others.iter().any(|(n, _)| n.as_ref() != STAGING.as_bytes()) {
        return Err(s3_error!(BucketNotEmpty));
    }
    if child(&share, &caller, &root, STAGING)
        .await
        .map_err(|e| fs(e, About::Bucket))?
        .is_some()
    {
        staging::remove_tree(&share, &AuthContext::root(), &root, STAGING)
            .await
            .map_err(|e| fs(e, About::Bucket))?;
    }
    gw.registry
        .remove_share(&share.name, &caller.ctx)
        .await
        .map_err(|e| fs(e, About::Bucket))?;
    gw.forget_owner(&share.name);
    tracing::info!(bucket = %req.input.bucket, "bucket deleted");
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub(crate) async fn location(
    gw: &Gateway,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let caller = gw.caller(&req);
    gw.bucket_for(&req.input.bucket, &caller, S3Access::Read)
        .await?;
    // us-east-1 is the empty constraint, as in S3.
    let location_constraint =
        (gw.region != "us-east-1").then(|| BucketLocationConstraint::from(gw.region.clone()));
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint,
    }))
}
