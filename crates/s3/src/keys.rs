//! Object keys as paths: `a/b/c` is the file `c` in directories `a` and
//! `a/b`; a key ending in `/` is a directory object.

use s3s::{S3Error, s3_error};

/// The longest key S3 accepts.
pub(crate) const MAX_KEY: usize = 1024;
/// The directory at a share's root where uploads are staged; never a key.
pub(crate) const STAGING: &str = ".dittofs-s3";

/// A key checked to be storable as a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectPath<'a> {
    /// The directories, outermost first.
    pub dirs: Vec<&'a str>,
    /// The file's name; `None` for a directory object (`a/b/`).
    pub leaf: Option<&'a str>,
}

impl ObjectPath<'_> {
    pub fn is_dir(&self) -> bool {
        self.leaf.is_none()
    }
}

/// Why a key cannot be a path, in words for the error message.
fn refuse(key: &str, why: &str) -> S3Error {
    s3_error!(
        InvalidArgument,
        "key {key:?} cannot be stored as a path: {why}"
    )
}

pub(crate) fn parse(key: &str) -> Result<ObjectPath<'_>, S3Error> {
    if key.is_empty() {
        return Err(s3_error!(InvalidArgument, "the key is empty"));
    }
    if key.len() > MAX_KEY {
        return Err(s3_error!(KeyTooLongError));
    }
    let (body, dir_object) = match key.strip_suffix('/') {
        Some(b) => (b, true),
        None => (key, false),
    };
    let mut parts: Vec<&str> = body.split('/').collect();
    for p in &parts {
        if p.is_empty() {
            return Err(refuse(
                key,
                "an empty path component (\"//\" or a leading \"/\")",
            ));
        }
        if *p == "." || *p == ".." {
            return Err(refuse(key, "a \".\" or \"..\" component"));
        }
        if p.len() > dittofs_meta::MAX_NAME_LEN {
            return Err(refuse(key, "a component longer than 255 bytes"));
        }
        if p.contains('\0') {
            return Err(refuse(key, "a NUL character"));
        }
    }
    if parts[0] == STAGING {
        return Err(refuse(key, "the name is reserved for the server"));
    }
    let leaf = if dir_object { None } else { parts.pop() };
    Ok(ObjectPath { dirs: parts, leaf })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_paths() {
        let p = parse("a/b/c.txt").unwrap();
        assert_eq!(p.dirs, ["a", "b"]);
        assert_eq!(p.leaf, Some("c.txt"));
        let d = parse("a/b/").unwrap();
        assert_eq!(d.dirs, ["a", "b"]);
        assert!(d.is_dir());
        let top = parse("x").unwrap();
        assert!(top.dirs.is_empty());
        assert_eq!(top.leaf, Some("x"));
        let odd = parse("sp ace/ünï/\n").unwrap();
        assert_eq!(odd.leaf, Some("\n"));
    }

    #[test]
    fn unstorable_keys_are_refused() {
        for key in [
            "",
            "/a",
            "a//b",
            "a/./b",
            "../a",
            "a/..",
            "/",
            "a\0b",
            ".dittofs-s3/x",
        ] {
            assert!(parse(key).is_err(), "{key:?} should be refused");
        }
        let long = "x".repeat(256);
        assert!(parse(&long).is_err());
        assert!(parse(&format!("{}/y", "a".repeat(255))).is_ok());
        assert!(parse(&"a/".repeat(513)).is_err(), "over 1024 bytes");
    }
}
