use std::time::Duration;

/// Whether the connection to PostgreSQL is encrypted, and how much of
/// the server's certificate is checked: libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it, certificate not checked.
    #[default]
    Prefer,
    /// TLS or no connection, certificate not checked.
    Require,
    /// TLS, the certificate chain checked against the roots.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    /// libpq's names: `disable`, `prefer`, `require`, `verify-ca`,
    /// `verify-full`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }
}

/// How a PostgreSQL store connects and where its tables live.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// A libpq connection string (`postgres://user:pass@host/db` or
    /// `host=... dbname=...`); when set, `host`, `port`, `database` and
    /// `user` are not used.
    pub dsn: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Used with `dsn` too, so a secret can come from the environment.
    pub password: String,
    pub sslmode: SslMode,
    /// PEM file of the certificates trusted for `verify-ca` and
    /// `verify-full`; empty means the system's store.
    pub ssl_root_cert: String,
    /// Connections in the pool.
    pub max_conns: usize,
    /// The PostgreSQL schema holding the tables, created if missing.
    pub schema: String,
    pub connect_timeout: Duration,
    /// How long FSSTAT's counts may be reused before rows are counted again.
    pub stats_ttl: Duration,
    /// Whether every commit waits for PostgreSQL to flush its WAL. When
    /// off, a commit is acknowledged once PostgreSQL has it in memory (a
    /// crash of PostgreSQL itself may lose the last fraction of a second,
    /// never corrupting anything) and [`sync`](dittofs_meta::MetadataStore::sync)
    /// flushes, which is when NFS COMMIT and FILE_SYNC need it.
    pub synchronous_commit: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            dsn: String::new(),
            host: "localhost".into(),
            port: 5432,
            database: "dittofs".into(),
            user: "dittofs".into(),
            password: String::new(),
            sslmode: SslMode::Prefer,
            ssl_root_cert: String::new(),
            max_conns: 16,
            schema: "dittofs".into(),
            connect_timeout: Duration::from_secs(5),
            stats_ttl: Duration::from_secs(5),
            synchronous_commit: true,
        }
    }
}

/// Whether `name` can be used unquoted as the store's schema.
pub fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

impl PostgresOptions {
    pub(crate) fn pg_config(&self) -> Result<tokio_postgres::Config, String> {
        if !valid_schema_name(&self.schema) {
            return Err(format!(
                "schema {:?} must be lower-case letters, digits and _ (not first), at most 63",
                self.schema
            ));
        }
        let mut c = if self.dsn.trim().is_empty() {
            let mut c = tokio_postgres::Config::new();
            c.host(&self.host)
                .port(self.port)
                .dbname(&self.database)
                .user(&self.user);
            c
        } else {
            self.dsn
                .trim()
                .parse::<tokio_postgres::Config>()
                .map_err(|e| format!("dsn: {e}"))?
        };
        if !self.password.is_empty() {
            c.password(&self.password);
        }
        c.ssl_mode(match self.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        c.connect_timeout(self.connect_timeout)
            .application_name("dittofs")
            // The tables are only ever read by key: index scans are right
            // even on a table too small for the planner to think so.
            .options(format!(
                "-c search_path={} -c enable_seqscan=off -c synchronous_commit={}",
                self.schema,
                if self.synchronous_commit { "on" } else { "off" }
            ));
        Ok(c)
    }
}
