//! ListObjects (v1) and ListObjectsV2: a page of keys and common prefixes
//! from the key-ordered walk, with S3's rules for markers, delimiters and
//! URL encoding.

use dittofs_meta::Inode;
use dittofs_runtime::Share;
use dittofs_runtime::config::S3Access;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::error::{About, fs};
use crate::info::{self, ObjectInfo};
use crate::service::{Caller, Gateway};
use crate::walk::{Item, Walk};

/// The most keys one page holds, as in S3.
const MAX_KEYS: i32 = 1000;

pub(crate) struct Page {
    pub objects: Vec<(String, Inode)>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix in the page.
    pub last: Option<String>,
}

/// The common prefix `key` rolls up into, if any.
fn rolled<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.strip_prefix(prefix)?;
    rest.find(d).map(|i| &key[..prefix.len() + i + d.len()])
}

pub(crate) async fn page(
    share: &Share,
    caller: &Caller,
    root: dittofs_meta::FileHandle,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max: usize,
) -> S3Result<Page> {
    let mut page = Page {
        objects: Vec::new(),
        prefixes: Vec::new(),
        truncated: false,
        last: None,
    };
    if max == 0 {
        return Ok(page);
    }
    let mut walk = Walk::new(share, caller, root, prefix, after)
        .await
        .map_err(|e| fs(e, About::Bucket))?;
    // A page that ended on a common prefix resumes after all its keys.
    let skip = after.filter(|a| rolled(a, prefix, delimiter) == Some(*a));
    let mut count = 0;
    let mut last_cp: Option<String> = None;
    loop {
        let item = walk.next().await.map_err(|e| fs(e, About::Bucket))?;
        let Some(item) = item else { break };
        let (key, inode) = match item {
            Item::Object { key, inode } => (key, inode),
            Item::Dir {
                prefix: kp,
                inode,
                fh,
                object,
            } => {
                if skip.is_some_and(|s| kp.starts_with(s)) {
                    continue;
                }
                if let Some(cp) = kp
                    .starts_with(prefix)
                    .then(|| rolled(&kp, prefix, delimiter))
                    .flatten()
                {
                    if last_cp.as_deref() == Some(cp)
                        || (!object
                            && walk.is_empty(&fh).await.map_err(|e| fs(e, About::Bucket))?)
                    {
                        continue;
                    }
                    if count == max {
                        page.truncated = true;
                        break;
                    }
                    page.prefixes.push(cp.to_owned());
                    page.last = Some(cp.to_owned());
                    last_cp = Some(cp.to_owned());
                    count += 1;
                    continue;
                }
                walk.enter(fh, kp.clone());
                if !object {
                    continue;
                }
                (kp, inode)
            }
        };
        if skip.is_some_and(|s| key.starts_with(s)) {
            continue;
        }
        if let Some(cp) = rolled(&key, prefix, delimiter) {
            if last_cp.as_deref() == Some(cp) {
                continue;
            }
            if count == max {
                page.truncated = true;
                break;
            }
            page.prefixes.push(cp.to_owned());
            page.last = Some(cp.to_owned());
            last_cp = Some(cp.to_owned());
            count += 1;
            continue;
        }
        if count == max {
            page.truncated = true;
            break;
        }
        page.last = Some(key.clone());
        page.objects.push((key, inode));
        count += 1;
    }
    Ok(page)
}

/// `encoding-type=url`: what S3 percent-encodes in listed keys.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn max_keys(m: Option<i32>) -> S3Result<usize> {
    match m {
        None => Ok(MAX_KEYS as usize),
        Some(m) if m < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(m) => Ok(m.min(MAX_KEYS) as usize),
    }
}

fn object(key: String, inode: &Inode, owner: Option<Owner>, encode: bool) -> Object {
    let info = ObjectInfo::of(inode);
    let size = if inode.is_dir() { 0 } else { inode.size };
    Object {
        key: Some(if encode { url_encode(&key) } else { key }),
        e_tag: Some(ETag::Strong(info.etag)),
        last_modified: Some(info::s3_time(inode.mtime)),
        size: Some(size as i64),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        owner,
        checksum_algorithm: info.checksums.kind.as_ref().map(|_| {
            let c = &info.checksums;
            let mut algs = Vec::new();
            for (present, name) in [
                (c.crc32.is_some(), ChecksumAlgorithm::CRC32),
                (c.crc32c.is_some(), ChecksumAlgorithm::CRC32C),
                (c.crc64nvme.is_some(), ChecksumAlgorithm::CRC64NVME),
                (c.sha1.is_some(), ChecksumAlgorithm::SHA1),
                (c.sha256.is_some(), ChecksumAlgorithm::SHA256),
            ] {
                if present {
                    algs.push(ChecksumAlgorithm::from_static(name));
                }
            }
            algs
        }),
        checksum_type: info.checksums.kind.map(ChecksumType::from),
        ..Object::default()
    }
}

pub(crate) fn owner_of(inode: &Inode) -> Owner {
    Owner {
        id: Some(inode.uid.to_string()),
        display_name: Some(inode.uid.to_string()),
    }
}

fn is_url(e: &Option<EncodingType>) -> S3Result<bool> {
    match e {
        None => Ok(false),
        Some(e) if e.as_str().eq_ignore_ascii_case("url") => Ok(true),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request"
        )),
    }
}

/// A page of a listing request: its keys and prefixes, whether to
/// URL-encode them, the page size used, and the prefix.
#[allow(clippy::too_many_arguments)]
async fn listed(
    gw: &Gateway,
    caller: &Caller,
    bucket: &str,
    prefix: &Option<String>,
    delimiter: &Option<String>,
    encoding: &Option<EncodingType>,
    max_keys_asked: Option<i32>,
    after: Option<&str>,
) -> S3Result<(Page, bool, usize, String)> {
    let share = gw.bucket_for(bucket, caller, S3Access::Read).await?;
    let encode = is_url(encoding)?;
    let max = max_keys(max_keys_asked)?;
    let prefix = prefix.clone().unwrap_or_default();
    let root = gw.root(&share).await?;
    let delimiter = delimiter.as_deref().filter(|d| !d.is_empty());
    let p = page(&share, caller, root, &prefix, delimiter, after, max).await?;
    Ok((p, encode, max, prefix))
}

pub(crate) async fn list_v1(
    gw: &Gateway,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let (p, encode, max, prefix) = listed(
        gw,
        &caller,
        &i.bucket,
        &i.prefix,
        &i.delimiter,
        &i.encoding_type,
        i.max_keys,
        i.marker.as_deref().filter(|m| !m.is_empty()),
    )
    .await?;
    let enc = |s: String| if encode { url_encode(&s) } else { s };
    let next_marker = (p.truncated && i.delimiter.as_deref().is_some_and(|d| !d.is_empty()))
        .then(|| p.last.clone())
        .flatten()
        .map(enc);
    Ok(S3Response::new(ListObjectsOutput {
        name: Some(i.bucket),
        prefix: Some(enc(prefix)),
        marker: Some(enc(i.marker.unwrap_or_default())),
        max_keys: Some(max as i32),
        delimiter: i.delimiter.filter(|d| !d.is_empty()).map(enc),
        is_truncated: Some(p.truncated),
        next_marker,
        contents: Some(
            p.objects
                .into_iter()
                .map(|(k, inode)| {
                    let owner = owner_of(&inode);
                    object(k, &inode, Some(owner), encode)
                })
                .collect(),
        ),
        common_prefixes: Some(
            p.prefixes
                .into_iter()
                .map(|c| CommonPrefix {
                    prefix: Some(enc(c)),
                })
                .collect(),
        ),
        encoding_type: i.encoding_type,
        ..ListObjectsOutput::default()
    }))
}

fn token(key: &str) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(key.as_bytes())
}

fn untoken(t: &str) -> S3Result<String> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

pub(crate) async fn list_v2(
    gw: &Gateway,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let after = match &i.continuation_token {
        Some(t) => Some(untoken(t)?),
        None => i.start_after.clone().filter(|s| !s.is_empty()),
    };
    let (p, encode, max, prefix) = listed(
        gw,
        &caller,
        &i.bucket,
        &i.prefix,
        &i.delimiter,
        &i.encoding_type,
        i.max_keys,
        after.as_deref(),
    )
    .await?;
    let enc = |s: String| if encode { url_encode(&s) } else { s };
    let fetch_owner = i.fetch_owner.unwrap_or(false);
    let key_count = (p.objects.len() + p.prefixes.len()) as i32;
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(i.bucket),
        prefix: Some(enc(prefix)),
        max_keys: Some(max as i32),
        key_count: Some(key_count),
        continuation_token: i.continuation_token,
        start_after: i.start_after.map(enc),
        delimiter: i.delimiter.filter(|d| !d.is_empty()).map(enc),
        is_truncated: Some(p.truncated),
        next_continuation_token: p.truncated.then(|| p.last.as_deref().map(token)).flatten(),
        contents: Some(
            p.objects
                .into_iter()
                .map(|(k, inode)| {
                    let owner = fetch_owner.then(|| owner_of(&inode));
                    object(k, &inode, owner, encode)
                })
                .collect(),
        ),
        common_prefixes: Some(
            p.prefixes
                .into_iter()
                .map(|c| CommonPrefix {
                    prefix: Some(enc(c)),
                })
                .collect(),
        ),
        encoding_type: i.encoding_type,
        ..ListObjectsV2Output::default()
    }))
}

/// ListObjectVersions of a bucket that keeps no versions: every object is
/// its only version, "null", as S3 lists an unversioned bucket. Backup
/// tools and test suites ask for it before emptying a bucket.
pub(crate) async fn list_versions(
    gw: &Gateway,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let caller = gw.caller(&req);
    let i = req.input;
    let after = i.key_marker.as_deref().filter(|m| !m.is_empty());
    let (p, encode, max, prefix) = listed(
        gw,
        &caller,
        &i.bucket,
        &i.prefix,
        &i.delimiter,
        &i.encoding_type,
        i.max_keys,
        after,
    )
    .await?;
    let enc = |s: String| if encode { url_encode(&s) } else { s };
    let versions = p
        .objects
        .into_iter()
        .map(|(k, inode)| {
            let o = object(k, &inode, Some(owner_of(&inode)), encode);
            ObjectVersion {
                key: o.key,
                e_tag: o.e_tag,
                last_modified: o.last_modified,
                size: o.size,
                owner: o.owner,
                checksum_algorithm: o.checksum_algorithm,
                checksum_type: o.checksum_type,
                is_latest: Some(true),
                version_id: Some("null".into()),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                ..ObjectVersion::default()
            }
        })
        .collect();
    let next = p.truncated.then(|| p.last.clone()).flatten();
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(i.bucket),
        prefix: Some(enc(prefix)),
        key_marker: i.key_marker.map(enc),
        version_id_marker: i.version_id_marker,
        max_keys: Some(max as i32),
        delimiter: i.delimiter.filter(|d| !d.is_empty()).map(enc),
        is_truncated: Some(p.truncated),
        next_version_id_marker: next.as_ref().map(|_| "null".to_owned()),
        next_key_marker: next.map(enc),
        versions: Some(versions),
        common_prefixes: Some(
            p.prefixes
                .into_iter()
                .map(|c| CommonPrefix {
                    prefix: Some(enc(c)),
                })
                .collect(),
        ),
        encoding_type: i.encoding_type,
        ..ListObjectVersionsOutput::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roll_up_at_the_delimiter_after_the_prefix() {
        assert_eq!(rolled("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(rolled("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(rolled("a/b", "a/", Some("/")), None);
        assert_eq!(rolled("a/b", "x", Some("/")), None);
        assert_eq!(rolled("foo-bar-baz", "", Some("-")), Some("foo-"));
        assert_eq!(rolled("a/b", "", None), None);
        assert_eq!(rolled("a/b", "", Some("")), None);
    }

    #[test]
    fn tokens_round_trip_and_urls_encode() {
        for k in ["", "a/b", "ünï cödé/+?&"] {
            assert_eq!(untoken(&token(k)).unwrap(), k);
        }
        assert!(untoken("!!!").is_err());
        assert_eq!(url_encode("a b+c/ü"), "a%20b%2Bc/%C3%BC");
    }
}
