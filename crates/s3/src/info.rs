//! What S3 knows about an object beyond its bytes (ETag, content headers,
//! user metadata, checksums), kept in one extended attribute of the file.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dittofs_meta::{Inode, Timestamp};
use serde::{Deserialize, Serialize};

/// The attribute holding an object's [`ObjectInfo`].
pub(crate) const OBJECT_XATTR: &[u8] = b"dittofs.s3.object";
/// On a directory: it was created as the object `dir/`.
pub(crate) const DIR_OBJECT_XATTR: &[u8] = b"dittofs.s3.dir";
/// On a bucket's root: who created it.
pub(crate) const BUCKET_XATTR: &[u8] = b"dittofs.s3.bucket";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checksums {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// FULL_OBJECT or COMPOSITE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Checksums {
    pub fn is_empty(&self) -> bool {
        self.crc32.is_none()
            && self.crc32c.is_none()
            && self.crc64nvme.is_none()
            && self.sha1.is_none()
            && self.sha256.is_none()
    }
}

/// The headers an object was stored with and returns on GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Headers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// `x-amz-meta-*`, without the prefix.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjectInfo {
    /// Without quotes: the MD5 in hex, or for multipart uploads the MD5 of
    /// the parts' MD5s followed by `-<parts>`.
    pub etag: String,
    /// The file's size and mtime when the ETag was computed: a file changed
    /// since (over NFS) gets a derived ETag instead.
    pub size: u64,
    pub mtime: (i64, u32),
    #[serde(default)]
    pub headers: Headers,
    #[serde(default, skip_serializing_if = "Checksums::is_empty")]
    pub checksums: Checksums,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<u32>,
    /// Sizes of the parts of a multipart object, for GET ?partNumber=.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
}

/// The MD5 of nothing: the ETag of an empty object.
pub(crate) const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

impl ObjectInfo {
    pub fn to_xattr(&self) -> Bytes {
        // Serializing plain strings and maps cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The object's info as stored with the file, or as derived for a file
    /// S3 did not write (or that changed since): an ETag from its identity
    /// and times, the content headers kept, no checksums.
    pub fn of(inode: &Inode) -> Self {
        let stored: Option<ObjectInfo> = inode
            .xattrs
            .get(OBJECT_XATTR)
            .and_then(|v| serde_json::from_slice(v).ok());
        let mtime = (inode.mtime.secs, inode.mtime.nanos);
        if inode.is_dir() {
            // A directory object's size and times follow its entries.
            return stored.unwrap_or_else(|| Self {
                etag: EMPTY_MD5.into(),
                ..Self::default()
            });
        }
        match stored {
            Some(i) if i.size == inode.size && i.mtime == mtime => i,
            other => Self {
                etag: derived_etag(inode),
                size: inode.size,
                mtime,
                headers: other.map(|i| i.headers).unwrap_or_default(),
                checksums: Checksums::default(),
                parts: None,
                part_sizes: Vec::new(),
            },
        }
    }
}

/// An ETag for content S3 did not see being written: changes whenever the
/// file does, looks like an MD5, and is never mistaken for one of a
/// different file.
fn derived_etag(inode: &Inode) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&inode.id.to_le_bytes());
    h.update(&inode.generation.to_le_bytes());
    h.update(&inode.size.to_le_bytes());
    h.update(&inode.mtime.secs.to_le_bytes());
    h.update(&inode.mtime.nanos.to_le_bytes());
    hex(&h.finalize().as_bytes()[..16])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The bytes of lowercase or uppercase hex; `None` for anything else.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) fn system_time(t: Timestamp) -> SystemTime {
    if t.secs < 0 {
        return UNIX_EPOCH;
    }
    UNIX_EPOCH + Duration::new(t.secs as u64, t.nanos.min(999_999_999))
}

pub(crate) fn s3_time(t: Timestamp) -> s3s::dto::Timestamp {
    s3s::dto::Timestamp::from(system_time(t))
}

pub(crate) fn epoch_secs(t: &s3s::dto::Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

pub(crate) fn from_epoch_secs(secs: i64) -> Option<s3s::dto::Timestamp> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .map(s3s::dto::Timestamp::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64, secs: i64) -> Inode {
        Inode {
            id: 42,
            generation: 7,
            kind: dittofs_meta::FileKind::Regular,
            mode: 0o644,
            uid: 0,
            gid: 0,
            nlink: 1,
            size,
            atime: Timestamp::default(),
            mtime: Timestamp { secs, nanos: 5 },
            ctime: Timestamp::default(),
            rdev: (0, 0),
            parent: 0,
            symlink: None,
            create_verifier: None,
            next_cookie: 0,
            xattrs: Default::default(),
        }
    }

    #[test]
    fn hex_round_trips() {
        let d = [0u8, 1, 0xab, 0xff];
        assert_eq!(unhex(&hex(&d)).unwrap(), d);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }

    #[test]
    fn stored_info_holds_until_the_file_changes() {
        let mut f = file(3, 100);
        let info = ObjectInfo {
            etag: "0cc175b9c0f1b6a831c399e269772661".into(),
            size: 3,
            mtime: (100, 5),
            headers: Headers {
                content_type: Some("text/plain".into()),
                meta: [("k".to_owned(), "v".to_owned())].into(),
                ..Headers::default()
            },
            checksums: Checksums {
                crc32: Some("AAAAAA==".into()),
                ..Checksums::default()
            },
            parts: None,
            part_sizes: Vec::new(),
        };
        f.xattrs
            .insert(Bytes::from_static(OBJECT_XATTR), info.to_xattr());
        assert_eq!(ObjectInfo::of(&f), info);
        // Written over NFS since: a new ETag, no checksums, headers kept.
        f.size = 4;
        let derived = ObjectInfo::of(&f);
        assert_ne!(derived.etag, info.etag);
        assert_eq!(derived.etag.len(), 32);
        assert!(derived.checksums.is_empty());
        assert_eq!(derived.headers, info.headers);
        f.mtime.secs += 1;
        assert_ne!(
            ObjectInfo::of(&f).etag,
            derived.etag,
            "each change a new ETag"
        );
    }
}
