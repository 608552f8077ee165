use std::io::Write;
use std::path::{Path, PathBuf};

use dittofs_meta::HandleKey;

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("no data directory: set XDG_DATA_HOME or HOME")]
    NoHome,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: handle key must be exactly 32 bytes, found {len}")]
    BadKey { path: PathBuf, len: usize },
    #[error("cannot generate a key: {0}")]
    Random(String),
    #[error("{path}: expected aws_access_key_id and aws_secret_access_key lines")]
    BadCredentials { path: PathBuf },
}

/// Where a server keeps what must outlive it: the handle key and, for
/// persistent stores, their data.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

const KEY_FILE: &str = "handle.key";
const S3_CREDENTIALS_FILE: &str = "s3-credentials";

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$XDG_DATA_HOME/dittofs`, else `~/.local/share/dittofs`.
    pub fn default_location() -> Result<Self, DataDirError> {
        let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .ok_or(DataDirError::NoHome)?,
            )
            .join(".local/share"),
        };
        Ok(Self::new(base.join("dittofs")))
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn create(&self) -> Result<(), DataDirError> {
        std::fs::create_dir_all(&self.root).map_err(|source| DataDirError::Io {
            path: self.root.clone(),
            source,
        })
    }

    /// The server's handle key, created (readable by the owner only) on the
    /// first start. Handles stay valid across restarts because it does.
    pub fn handle_key(&self) -> Result<HandleKey, DataDirError> {
        self.handle_key_in(&self.root.join(KEY_FILE))
    }

    /// The handle key kept in `path`, created there if missing: servers
    /// that share a metadata store share this file, so each accepts the
    /// others' handles.
    pub fn handle_key_in(&self, path: &Path) -> Result<HandleKey, DataDirError> {
        let path = path.to_path_buf();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| DataDirError::BadKey {
                            path: path.clone(),
                            len: bytes.len(),
                        })?;
                Ok(HandleKey::from_bytes(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.create_key(&path),
            Err(source) => Err(DataDirError::Io { path, source }),
        }
    }

    fn create_key(&self, path: &Path) -> Result<HandleKey, DataDirError> {
        let key = HandleKey::generate().map_err(|e| DataDirError::Random(e.to_string()))?;
        self.create_once(path, key.as_bytes())?;
        self.handle_key_in(path)
    }

    /// The S3 key pair used when the configuration names none, created on
    /// the first start in the AWS shared-credentials format, so
    /// `AWS_SHARED_CREDENTIALS_FILE=<this file> aws ...` works.
    pub fn s3_credentials(&self) -> Result<(String, String), DataDirError> {
        let path = self.s3_credentials_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let field = |name: &str| {
                    text.lines().find_map(|l| {
                        let (k, v) = l.split_once('=')?;
                        (k.trim() == name).then(|| v.trim().to_owned())
                    })
                };
                match (field("aws_access_key_id"), field("aws_secret_access_key")) {
                    (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() => Ok((a, s)),
                    _ => Err(DataDirError::BadCredentials { path }),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let access = format!("DFS{}", random_text(17, UPPER)?);
                let secret = random_text(40, ALNUM)?;
                let text = format!(
                    "# S3 credentials of this DittoFS server (generated; set adapters.s3.credentials to choose your own)\n[default]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n"
                );
                self.create_once(&path, text.as_bytes())?;
                self.s3_credentials()
            }
            Err(source) => Err(DataDirError::Io { path, source }),
        }
    }

    pub fn s3_credentials_path(&self) -> PathBuf {
        self.root.join(S3_CREDENTIALS_FILE)
    }

    /// Writes `contents` to `path` (readable by the owner only) unless it
    /// already exists; never a partial file.
    fn create_once(&self, path: &Path, contents: &[u8]) -> Result<(), DataDirError> {
        self.create()?;
        let io = |source| DataDirError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(contents).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        // A hard link appears whole or not at all and never replaces a file
        // another server created first; the loser reads the winner's.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                if let Ok(dir) = std::fs::File::open(&self.root) {
                    let _ = dir.sync_all();
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_text(n: usize, alphabet: &[u8]) -> Result<String, DataDirError> {
    let mut raw = vec![0u8; n];
    getrandom::fill(&mut raw).map_err(|e| DataDirError::Random(e.to_string()))?;
    // 256 is not a multiple of the alphabet sizes; the slight bias does not
    // matter for keys this long.
    Ok(raw
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir::new(dir.path().join("x"));
        let a = d.handle_key().unwrap();
        let b = d.handle_key().unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        std::fs::write(dir.path().join("x/handle.key"), b"short").unwrap();
        assert!(matches!(
            d.handle_key(),
            Err(DataDirError::BadKey { len: 5, .. })
        ));
    }

    #[test]
    fn s3_credentials_are_created_once_and_readable_by_aws_tools() {
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir::new(dir.path().join("x"));
        let (a, s) = d.s3_credentials().unwrap();
        assert!(a.starts_with("DFS") && a.len() == 20, "{a}");
        assert_eq!(s.len(), 40);
        assert_eq!(d.s3_credentials().unwrap(), (a.clone(), s.clone()));
        let text = std::fs::read_to_string(d.s3_credentials_path()).unwrap();
        assert!(text.contains(&format!(
            "[default]\naws_access_key_id = {a}\naws_secret_access_key = {s}\n"
        )));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.s3_credentials_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(d.s3_credentials_path(), "[default]\n").unwrap();
        assert!(matches!(
            d.s3_credentials(),
            Err(DataDirError::BadCredentials { .. })
        ));
    }
}
