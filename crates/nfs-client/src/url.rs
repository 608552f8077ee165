//! `nfs://` URLs in the style of libnfs.
//!
//! ```text
//! nfs://HOST[:PORT]/EXPORT[/PATH][?version=3&nfsport=P&mountport=P&uid=U&gid=G]
//! ```
//!
//! - HOST is an IPv4 address, an IPv6 address in brackets (`[::1]`) or a
//!   name, resolved when the client connects.
//! - `:PORT` is the NFS port and, unless `mountport` is given, the MOUNT port
//!   too. `nfsport` and `mountport` override it. A port that is not given is
//!   asked of the portmapper on port 111.
//! - The whole path is what the client mounts: `nfs://h/export/a/b` sends
//!   `MNT /export/a/b`. DittoFS accepts directories inside a share; servers
//!   that only accept the export itself need `nfs://h/export` plus a
//!   directory looked up from there (the bench's `--dir`). `%XX` escapes in
//!   the path are decoded; a trailing `/` is dropped.
//! - `version` must be 3 when given; `uid` and `gid` are the AUTH_SYS
//!   identity (default: the process's own). Any other option is an error.

use std::fmt;

/// A parsed `nfs://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Host name or IP address, without brackets.
    pub host: String,
    /// `:PORT` after the host.
    pub port: Option<u16>,
    /// The path to mount, starting with `/`, percent-decoded.
    pub path: String,
    /// `nfsport=`.
    pub nfs_port: Option<u16>,
    /// `mountport=`.
    pub mount_port: Option<u16>,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `gid=`.
    pub gid: Option<u32>,
}

/// Why a string is not a usable `nfs://` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL {url:?}: {problem}")]
pub struct UrlError {
    pub url: String,
    pub problem: String,
}

const FORM: &str = "nfs://HOST[:PORT]/EXPORT[/PATH][?version=3&nfsport=P&mountport=P&uid=U&gid=G]";

impl Url {
    /// Parses `s`; see the module documentation for the accepted form.
    pub fn parse(s: &str) -> Result<Self, UrlError> {
        let fail = |problem: String| UrlError {
            url: s.to_string(),
            problem,
        };
        let Some(rest) = strip_prefix_ignore_case(s, "nfs://") else {
            return Err(fail(match s.find("://") {
                Some(i) => format!("the scheme is {:?}, not nfs (expected {FORM})", &s[..i]),
                None => format!("it does not start with nfs:// (expected {FORM})"),
            }));
        };
        let (before_query, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.find('/') {
            Some(i) => (&before_query[..i], &before_query[i..]),
            None => (before_query, ""),
        };
        let (host, port) = parse_authority(authority).map_err(fail)?;
        let path = percent_decode(path).map_err(fail)?;
        let path = normalize_path(&path);
        if path.is_empty() {
            return Err(fail(format!("it names no export (expected {FORM})")));
        }
        let mut url = Self {
            host,
            port,
            path,
            nfs_port: None,
            mount_port: None,
            uid: None,
            gid: None,
        };
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = |what: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| fail(format!("{key}={value:?} is not a {what}")))
            };
            match key {
                "version" => {
                    let v = number("number")?;
                    if v != 3 {
                        return Err(fail(format!(
                            "version={v} is not supported (only NFS version 3)"
                        )));
                    }
                }
                "nfsport" | "mountport" => {
                    let p = number("port number")?;
                    let p = u16::try_from(p)
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| fail(format!("{key}={p} is not a port number")))?;
                    if key == "nfsport" {
                        url.nfs_port = Some(p);
                    } else {
                        url.mount_port = Some(p);
                    }
                }
                "uid" | "gid" => {
                    let id = u32::try_from(number("number")?)
                        .map_err(|_| fail(format!("{key}={value} is out of range")))?;
                    if key == "uid" {
                        url.uid = Some(id);
                    } else {
                        url.gid = Some(id);
                    }
                }
                _ => {
                    return Err(fail(format!(
                        "unknown option {key:?} (known: version, nfsport, mountport, uid, gid)"
                    )));
                }
            }
        }
        Ok(url)
    }

    /// The NFS port, if the URL gives one (`nfsport=`, else `:PORT`).
    pub fn nfs_port(&self) -> Option<u16> {
        self.nfs_port.or(self.port)
    }

    /// The MOUNT port, if the URL gives one (`mountport=`, else `:PORT`).
    pub fn mount_port(&self) -> Option<u16> {
        self.mount_port.or(self.port)
    }
}

impl std::str::FromStr for Url {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nfs://")?;
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for b in self.path.bytes() {
            if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        let mut sep = '?';
        let mut opt = |f: &mut fmt::Formatter<'_>, k: &str, v: Option<u64>| {
            if let Some(v) = v {
                let r = write!(f, "{sep}{k}={v}");
                sep = '&';
                r
            } else {
                Ok(())
            }
        };
        opt(f, "nfsport", self.nfs_port.map(u64::from))?;
        opt(f, "mountport", self.mount_port.map(u64::from))?;
        opt(f, "uid", self.uid.map(u64::from))?;
        opt(f, "gid", self.gid.map(u64::from))
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn parse_authority(a: &str) -> Result<(String, Option<u16>), String> {
    if a.is_empty() {
        return Err(format!("it names no host (expected {FORM})"));
    }
    if a.contains('@') {
        return Err("user names are not supported; use ?uid=U&gid=G".into());
    }
    let (host, port) = if let Some(v6) = a.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or("an IPv6 address needs a closing ]")?;
        match after {
            "" => (host, None),
            p => match p.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(format!("unexpected {p:?} after the IPv6 address")),
            },
        }
    } else {
        match a.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, Some(p)),
            Some(_) => return Err("an IPv6 address must be in brackets: nfs://[::1]/...".into()),
            None => (a, None),
        }
    };
    if host.is_empty() {
        return Err(format!("it names no host (expected {FORM})"));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._:%".contains(*c)))
    {
        return Err(format!("{bad:?} cannot appear in a host name"));
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{p:?} is not a port number"))?,
        ),
    };
    Ok((host.to_string(), port))
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a % in the path must be followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the decoded path is not UTF-8".to_string())
}

/// Collapses repeated slashes and drops a trailing one; "" stays "" and "/"
/// stays "/".
fn normalize_path(p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match Url::parse(s) {
            Ok(u) => panic!("{s} parsed as {u:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn host_port_and_path() {
        let u = ok("nfs://127.0.0.1:12049/export");
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, Some(12049));
        assert_eq!(u.path, "/export");
        assert_eq!((u.nfs_port(), u.mount_port()), (Some(12049), Some(12049)));

        let u = ok("nfs://server.example/export/a/b/");
        assert_eq!(u.host, "server.example");
        assert_eq!(u.port, None);
        assert_eq!(u.path, "/export/a/b");
        assert_eq!((u.nfs_port(), u.mount_port()), (None, None));

        let u = ok("NFS://[::1]:2049//export//x");
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, Some(2049));
        assert_eq!(u.path, "/export/x");

        assert_eq!(ok("nfs://h/").path, "/");
        assert_eq!(ok("nfs://h/a%20b%2Fc").path, "/a b/c");
    }

    #[test]
    fn libnfs_options() {
        let u =
            ok("nfs://127.0.0.1/export?version=3&nfsport=2049&mountport=20048&uid=1000&gid=100");
        assert_eq!(u.port, None);
        assert_eq!(u.nfs_port(), Some(2049));
        assert_eq!(u.mount_port(), Some(20048));
        assert_eq!((u.uid, u.gid), (Some(1000), Some(100)));

        // nfsport overrides :PORT for NFS only.
        let u = ok("nfs://h:1000/e?nfsport=2000");
        assert_eq!((u.nfs_port(), u.mount_port()), (Some(2000), Some(1000)));
        // An empty query and empty pairs are fine.
        assert_eq!(ok("nfs://h/e?").path, "/e");
        assert_eq!(ok("nfs://h/e?&version=3&").path, "/e");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "nfs://127.0.0.1:12049/export",
            "nfs://[::1]/export/a%20b",
            "nfs://h/e?nfsport=1&mountport=2&uid=3&gid=4",
        ] {
            let u = ok(s);
            assert_eq!(u.to_string(), s);
            assert_eq!(ok(&u.to_string()), u);
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        assert!(
            err("nfs:/x").contains("does not start with nfs://"),
            "{}",
            err("nfs:/x")
        );
        assert!(err("http://h/x").contains("scheme is \"http\""));
        assert!(err("").contains("does not start with nfs://"));
        assert!(err("nfs://").contains("no host"));
        assert!(err("nfs:///export").contains("no host"));
        assert!(err("nfs://h").contains("no export"));
        assert!(err("nfs://h?version=3").contains("no export"));
        assert!(err("nfs://h:x/e").contains("not a port"));
        assert!(err("nfs://h:0/e").contains("not a port"));
        assert!(err("nfs://h:70000/e").contains("not a port"));
        assert!(err("nfs://::1/e").contains("brackets"));
        assert!(err("nfs://[::1/e").contains("closing ]"));
        assert!(err("nfs://u@h/e").contains("uid"));
        assert!(err("nfs://h/e?version=4").contains("only NFS version 3"));
        assert!(err("nfs://h/e?nfsport=abc").contains("not a port number"));
        assert!(err("nfs://h/e?uid=-1").contains("uid"));
        assert!(err("nfs://h/e?uid=4294967296").contains("out of range"));
        assert!(err("nfs://h/e?timeout=5").contains("unknown option \"timeout\""));
        assert!(err("nfs://h/e%zz").contains("two hex digits"));
        assert!(err("nfs://h/e%ff").contains("UTF-8"));
        assert!(err("nfs://h h/e").contains("host name"));
        // Every message names the URL and fits on one line.
        for s in ["nfs:/x", "http://h/x", "nfs://h/e?version=2"] {
            let e = err(s);
            assert!(e.contains(&format!("{s:?}")), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
