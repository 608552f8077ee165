//! What a name in a directory may be.

use crate::error::{FsError, FsResult};

/// The longest name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// "." and ".." are answered by the service, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name<'a> {
    Dot,
    DotDot,
    Plain(&'a [u8]),
}

/// Classifies a name from the wire. Empty names, names holding `/` or NUL,
/// and names over 255 bytes are refused before anything is looked up.
pub(crate) fn parse(name: &[u8]) -> FsResult<Name<'_>> {
    if name.len() > MAX_NAME_LEN {
        return Err(FsError::NameTooLong);
    }
    if name.is_empty() || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(FsError::Invalid);
    }
    Ok(match name {
        b"." => Name::Dot,
        b".." => Name::DotDot,
        n => Name::Plain(n),
    })
}

/// A name under which something new is created: "." and ".." already exist.
pub(crate) fn parse_new(name: &[u8]) -> FsResult<&[u8]> {
    match parse(name)? {
        Name::Plain(n) => Ok(n),
        Name::Dot | Name::DotDot => Err(FsError::Exists),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(parse(b"a").unwrap(), Name::Plain(b"a"));
        assert_eq!(parse(b".").unwrap(), Name::Dot);
        assert_eq!(parse(b"..").unwrap(), Name::DotDot);
        assert_eq!(parse(b"...").unwrap(), Name::Plain(b"..."));
        assert!(matches!(parse(b""), Err(FsError::Invalid)));
        assert!(matches!(parse(b"a/b"), Err(FsError::Invalid)));
        assert!(matches!(parse(b"a\0b"), Err(FsError::Invalid)));
        assert!(parse(&[b'x'; 255]).is_ok());
        assert!(matches!(parse(&[b'x'; 256]), Err(FsError::NameTooLong)));
        assert!(matches!(parse_new(b".."), Err(FsError::Exists)));
    }
}
