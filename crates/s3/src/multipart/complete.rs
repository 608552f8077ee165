//! CompleteMultipartUpload: the listed parts checked, then one new file
//! pointed at their blocks (no data copied) and published like a PUT.

use bytes::Bytes;
use dittofs_meta::{FileKind, Inode};
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{Found, MAX_PART_NUMBER, MIN_PART, find, part_name};
use crate::conditions::Conditions;
use crate::copy::copy_bytes;
use crate::error::{About, fs};
use crate::info::{self, ObjectInfo};
use crate::keys;
use crate::objects::check_write_conditions;
use crate::objects::{self, publish};
use crate::service::{Caller, Gateway, handle};
use crate::staging;
use dittofs_runtime::config::S3Access;

/// The parts of an upload, in part order: (number, inode).
pub(super) async fn parts(
    f: &Found,
    caller: &Caller,
    after: i32,
    limit: usize,
) -> S3Result<Vec<(i32, Inode)>> {
    let mut out = Vec::new();
    let mut cursor = Some(Bytes::from(part_name(after)));
    loop {
        let page = f
            .share
            .meta
            .list_names(&caller.ctx, &f.dir, cursor.as_deref(), 256)
            .await
            .map_err(|e| fs(e, About::Upload))?;
        let done = page.len() < 256;
        cursor = page.last().map(|(n, _)| n.clone());
        for (name, inode) in page {
            // Parts being written are "NNNNN.<id>.tmp".
            if name.len() != 5 || inode.kind != FileKind::Regular {
                continue;
            }
            if let Some(n) = std::str::from_utf8(&name).ok().and_then(|s| s.parse().ok()) {
                out.push((n, inode));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        if done {
            return Ok(out);
        }
    }
}

pub(crate) async fn complete(
    gw: &Gateway,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let f = find(
        gw,
        &caller,
        &i.bucket,
        &i.key,
        &i.upload_id,
        S3Access::Write,
    )
    .await?;
    let listed = i
        .multipart_upload
        .and_then(|m| m.parts)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| s3_error!(MalformedXML, "You must specify at least one part"))?;
    let path = keys::parse(&i.key)?;
    let conditions = Conditions {
        if_match: i.if_match,
        if_none_match: i.if_none_match,
        ..Conditions::default()
    };
    check_write_conditions(&f.share, &caller, &f.root, &path, &conditions).await?;
    let stored = parts(&f, &caller, 0, MAX_PART_NUMBER as usize).await?;
    let mut chosen = Vec::with_capacity(listed.len());
    let mut previous = 0;
    for (idx, p) in listed.iter().enumerate() {
        let n = p.part_number.ok_or_else(|| s3_error!(InvalidPart))?;
        if n <= previous {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number."
            ));
        }
        previous = n;
        let Some((_, inode)) = stored.iter().find(|(m, _)| *m == n) else {
            return Err(s3_error!(InvalidPart, "part {n} was not uploaded"));
        };
        let info = ObjectInfo::of(inode);
        if let Some(tag) = &p.e_tag
            && tag.value().trim_matches('"') != info.etag
        {
            return Err(s3_error!(InvalidPart, "part {n} has another ETag"));
        }
        if idx + 1 < listed.len() && inode.size < MIN_PART {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            ));
        }
        chosen.push((inode.clone(), info));
    }
    let temp = staging::create_temp(&f.share, &caller, &f.root)
        .await
        .map_err(|e| fs(e, About::Object))?;
    let done = async {
        let mut offset = 0;
        let mut md5s = Vec::with_capacity(chosen.len() * 16);
        let mut sizes = Vec::with_capacity(chosen.len());
        for (inode, info) in &chosen {
            let part = handle(&f.share, inode);
            copy_bytes(
                &caller,
                &f.share,
                &part,
                0..inode.size,
                &f.share,
                &temp.file,
                offset,
            )
            .await?;
            offset += inode.size;
            sizes.push(inode.size);
            let digest = info::unhex(&info.etag).ok_or_else(|| s3_error!(InternalError))?;
            md5s.extend_from_slice(&digest);
        }
        let info = ObjectInfo {
            etag: format!("{}-{}", info::hex(&Md5::checksum(&md5s)), chosen.len()),
            headers: f.upload.headers.clone(),
            parts: Some(chosen.len() as u32),
            part_sizes: sizes,
            ..ObjectInfo::default()
        };
        publish(&f.share, &caller, &f.root, &i.key, &path, &temp, info).await
    }
    .await;
    let info = match done {
        Ok(i) => i,
        Err(e) => {
            temp.discard(&f.share, &caller).await;
            return Err(e);
        }
    };
    let upload_id = i.upload_id.clone();
    if let Err(e) = staging::remove_tree(&f.share, &caller.ctx, &f.area, &upload_id).await {
        tracing::warn!(upload = %upload_id, error = %e, "completed upload's parts stay until the janitor runs");
    }
    let _ = objects::sync(&f.share).await;
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        bucket: Some(i.bucket.clone()),
        key: Some(i.key.clone()),
        e_tag: Some(ETag::Strong(info.etag)),
        location: Some(format!("/{}/{}", i.bucket, i.key)),
        ..CompleteMultipartUploadOutput::default()
    }))
}
