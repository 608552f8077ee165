//! The rules a configuration must follow beyond its shape: names that refer
//! to something, addresses that parse, values in range.

use std::collections::BTreeMap;
use std::net::IpAddr;

use dittofs_meta::Cidr;

use super::schema::{Config, ShareConfig};
use super::stores::{METADATA_STORE_TYPES, PAYLOAD_STORE_TYPES, PostgresConfig};
use super::telemetry::Telemetry;

/// A problem: the key path and what was expected.
pub type Problem = (String, String);

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

fn known_type(key: String, kind: &str, known: &[&str]) -> Result<(), Problem> {
    if known.contains(&kind) {
        Ok(())
    } else {
        Err((
            key,
            format!(
                "unknown store type {kind:?} (expected one of: {})",
                known.join(", ")
            ),
        ))
    }
}

/// Store names become directory names under the data directory.
fn store_name(section: &str, name: &str) -> Result<(), Problem> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err((
            format!("{section}.stores.{name}"),
            "store names use letters, digits, '-', '_' and '.' only".into(),
        ))
    }
}

fn port(key: String, p: u16) -> Result<(), Problem> {
    if p == 0 {
        Err((key, "port must be between 1 and 65535".into()))
    } else {
        Ok(())
    }
}

/// Whether S3 clients accept `name` as a bucket name (the DNS-compatible
/// rules: 3 to 63 lowercase letters, digits, `.` and `-`, starting and
/// ending with a letter or digit, no `..`, not an IPv4 address).
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
        && !name.contains("-.")
        && name.parse::<std::net::Ipv4Addr>().is_err()
}

/// The bucket a share is served as over S3, if any.
pub fn share_bucket(s: &ShareConfig) -> Option<String> {
    let name = if s.s3.bucket.is_empty() {
        s.name.trim_start_matches('/')
    } else {
        s.s3.bucket.as_str()
    };
    valid_bucket_name(name).then(|| name.to_owned())
}

fn check_s3(c: &Config) -> Result<(), Problem> {
    let s3 = &c.adapters.s3;
    let mut buckets: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in c.shares.iter().enumerate() {
        if !s.s3.bucket.is_empty() && !valid_bucket_name(&s.s3.bucket) {
            return Err((
                format!("shares[{i}].s3.bucket"),
                format!(
                    "{:?} is not a bucket name (3 to 63 lowercase letters, digits, '.' and '-')",
                    s.s3.bucket
                ),
            ));
        }
        if let Some(b) = share_bucket(s)
            && let Some(first) = buckets.insert(b.clone(), i)
        {
            return Err((
                format!("shares[{i}].s3.bucket"),
                format!("bucket {b:?} is also shares[{first}]; set s3.bucket on one of them"),
            ));
        }
        for key in s.s3.access.keys() {
            if !s3.credentials.iter().any(|k| &k.access_key == key) {
                return Err((
                    format!("shares[{i}].s3.access.{key}"),
                    format!("no key {key:?} in adapters.s3.credentials"),
                ));
            }
        }
    }
    if !s3.enabled {
        return Ok(());
    }
    s3.bind.parse::<IpAddr>().map_err(|_| {
        (
            "adapters.s3.bind".to_owned(),
            format!("{:?} is not an IP address", s3.bind),
        )
    })?;
    port("adapters.s3.port".into(), s3.port)?;
    let nfs = &c.adapters.nfs;
    if nfs.enabled
        && (s3.port == nfs.port || (nfs.portmapper.enabled && s3.port == nfs.portmapper.port))
    {
        return Err((
            "adapters.s3.port".into(),
            format!("{} is already the NFS port", s3.port),
        ));
    }
    if s3.region.trim().is_empty() {
        return Err(("adapters.s3.region".into(), "must not be empty".into()));
    }
    let mut keys = BTreeMap::new();
    for (i, k) in s3.credentials.iter().enumerate() {
        let at = |f: &str| format!("adapters.s3.credentials[{i}].{f}");
        let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic());
        if k.access_key.len() < 3
            || k.access_key.len() > 128
            || !printable(&k.access_key)
            || k.access_key.contains([':', '/', ',', '='])
        {
            return Err((
                at("access_key"),
                "3 to 128 printable characters, without ':', '/', ',' or '='".into(),
            ));
        }
        if k.secret_key.len() < 8 || !printable(&k.secret_key) {
            return Err((at("secret_key"), "at least 8 printable characters".into()));
        }
        if let Some(first) = keys.insert(k.access_key.as_str(), i) {
            return Err((
                at("access_key"),
                format!("{:?} is also credentials[{first}]", k.access_key),
            ));
        }
    }
    let b = &s3.buckets;
    if b.metadata_store.is_empty() != b.payload_store.is_empty() {
        return Err((
            "adapters.s3.buckets".into(),
            "set both metadata_store and payload_store, or neither (the first share's)".into(),
        ));
    }
    if !b.metadata_store.is_empty() {
        if !c.metadata.stores.contains_key(&b.metadata_store) {
            return Err((
                "adapters.s3.buckets.metadata_store".into(),
                format!(
                    "no metadata store named {:?} in metadata.stores",
                    b.metadata_store
                ),
            ));
        }
        if !c.payload.stores.contains_key(&b.payload_store) {
            return Err((
                "adapters.s3.buckets.payload_store".into(),
                format!(
                    "no payload store named {:?} in payload.stores",
                    b.payload_store
                ),
            ));
        }
        if let Some((i, s)) = c.shares.iter().enumerate().find(|(_, s)| {
            s.payload_store == b.payload_store && s.metadata_store != b.metadata_store
        }) {
            return Err((
                "adapters.s3.buckets.payload_store".into(),
                format!(
                    "payload store {:?} already serves shares[{i}] with metadata store {:?}; a payload store's blocks are counted by one metadata store",
                    b.payload_store, s.metadata_store
                ),
            ));
        }
    }
    Ok(())
}

fn check_fuse(c: &Config) -> Result<(), Problem> {
    let fuse = &c.adapters.fuse;
    if !fuse.enabled {
        return Ok(());
    }
    if fuse.mounts.is_empty() {
        return Err((
            "adapters.fuse.mounts".into(),
            "list at least one share and mount point when the FUSE adapter is enabled".into(),
        ));
    }
    if !(1..=64).contains(&fuse.threads) {
        return Err((
            "adapters.fuse.threads".into(),
            "must be between 1 and 64".into(),
        ));
    }
    let mut points = BTreeMap::new();
    for (i, m) in fuse.mounts.iter().enumerate() {
        if !c.shares.iter().any(|s| s.name == m.share) {
            return Err((
                format!("adapters.fuse.mounts[{i}].share"),
                format!("no share named {:?} in shares", m.share),
            ));
        }
        if !m.mountpoint.starts_with('/') {
            return Err((
                format!("adapters.fuse.mounts[{i}].mountpoint"),
                format!("{:?} is not an absolute path", m.mountpoint),
            ));
        }
        let point = m.mountpoint.trim_end_matches('/');
        if let Some(first) = points.insert(point, i) {
            return Err((
                format!("adapters.fuse.mounts[{i}].mountpoint"),
                format!("{:?} is also mounts[{first}]", m.mountpoint),
            ));
        }
    }
    Ok(())
}

fn check_telemetry(t: &Telemetry) -> Result<(), Problem> {
    // `!contains` also refuses NaN.
    if !(0.0..=1.0).contains(&t.sample_rate) {
        return Err((
            "telemetry.sample_rate".into(),
            format!("{} is not between 0 and 1", t.sample_rate),
        ));
    }
    if !t.enabled {
        return Ok(());
    }
    t.traces_url()
        .map_err(|why| ("telemetry.endpoint".to_owned(), why))?;
    if t.service_name.trim().is_empty() {
        return Err(("telemetry.service_name".into(), "must not be empty".into()));
    }
    Ok(())
}

pub fn check(c: &Config) -> Result<(), Problem> {
    let level = c.logging.level.trim().to_ascii_lowercase();
    if !LEVELS.contains(&level.as_str()) && tracing_subscriber::EnvFilter::try_new(&level).is_err()
    {
        return Err((
            "logging.level".into(),
            format!(
                "{:?} is not a level (expected TRACE, DEBUG, INFO, WARN or ERROR, or a filter like info,dittofs_nfs=debug)",
                c.logging.level
            ),
        ));
    }
    if c.logging.output.trim().is_empty() {
        return Err((
            "logging.output".into(),
            "expected stdout, stderr or a file path".into(),
        ));
    }
    for (key, rl) in [
        ("server.rate_limiting", &c.server.rate_limiting),
        ("adapters.nfs.rate_limiting", &c.adapters.nfs.rate_limiting),
        ("adapters.s3.rate_limiting", &c.adapters.s3.rate_limiting),
    ] {
        if rl.enabled && (rl.requests_per_second == 0 || rl.burst == 0) {
            return Err((
                key.into(),
                "requests_per_second and burst must be above 0 when enabled".into(),
            ));
        }
    }
    check_telemetry(&c.telemetry)?;
    let m = &c.server.metrics;
    if m.enabled {
        m.bind.parse::<IpAddr>().map_err(|_| {
            (
                "server.metrics.bind".to_owned(),
                format!("{:?} is not an IP address", m.bind),
            )
        })?;
        port("server.metrics.port".into(), m.port)?;
        let (nfs, s3) = (&c.adapters.nfs, &c.adapters.s3);
        let taken = [
            (nfs.enabled, nfs.port, "adapters.nfs.port"),
            (
                nfs.enabled && nfs.portmapper.enabled,
                nfs.portmapper.port,
                "adapters.nfs.portmapper.port",
            ),
            (s3.enabled, s3.port, "adapters.s3.port"),
        ];
        if let Some((_, _, other)) = taken.iter().find(|(on, p, _)| *on && *p == m.port) {
            return Err((
                "server.metrics.port".into(),
                format!("{} is also {other}", m.port),
            ));
        }
    }
    if c.cache.max_size.0 < (1 << 20) {
        return Err(("cache.max_size".into(), "must be at least 1MiB".into()));
    }
    for (name, s) in &c.metadata.stores {
        store_name("metadata", name)?;
        known_type(
            format!("metadata.stores.{name}.type"),
            &s.kind,
            METADATA_STORE_TYPES,
        )?;
        if s.embedded.is_some() && s.kind != "embedded" {
            return Err((
                format!("metadata.stores.{name}.embedded"),
                format!("settings for type embedded on a store of type {:?}", s.kind),
            ));
        }
        if s.postgres.is_some() && s.kind != "postgres" {
            return Err((
                format!("metadata.stores.{name}.postgres"),
                format!("settings for type postgres on a store of type {:?}", s.kind),
            ));
        }
        if s.kind == "postgres" {
            postgres(name, &s.postgres.clone().unwrap_or_default())?;
        }
    }
    for (name, s) in &c.payload.stores {
        store_name("payload", name)?;
        known_type(
            format!("payload.stores.{name}.type"),
            &s.kind,
            PAYLOAD_STORE_TYPES,
        )?;
        if !(64 << 10..=64 << 20).contains(&s.block_size.0) {
            return Err((
                format!("payload.stores.{name}.block_size"),
                "must be between 64KiB and 64MiB".into(),
            ));
        }
        if s.fs.is_some() && s.kind != "fs" {
            return Err((
                format!("payload.stores.{name}.fs"),
                format!("settings for type fs on a store of type {:?}", s.kind),
            ));
        }
        if s.s3.is_some() && s.kind != "s3" {
            return Err((
                format!("payload.stores.{name}.s3"),
                format!("settings for type s3 on a store of type {:?}", s.kind),
            ));
        }
        if s.kind == "s3" {
            let s3 = s.s3.clone().unwrap_or_default();
            if s3.bucket.is_empty() {
                return Err((
                    format!("payload.stores.{name}.s3.bucket"),
                    "a store of type s3 needs the bucket its blocks go to".into(),
                ));
            }
            let web = s3.endpoint.starts_with("http://") || s3.endpoint.starts_with("https://");
            if !s3.endpoint.is_empty() && !web {
                return Err((
                    format!("payload.stores.{name}.s3.endpoint"),
                    format!("{:?} is not an http:// or https:// URL", s3.endpoint),
                ));
            }
            if s3.access_key.is_empty() != s3.secret_key.is_empty() {
                return Err((
                    format!("payload.stores.{name}.s3.secret_key"),
                    "give access_key and secret_key together, or neither (then the AWS_* environment variables are used)".into(),
                ));
            }
        }
    }
    if c.shares.is_empty() {
        return Err((
            "shares".into(),
            "no share is defined; a server needs at least one".into(),
        ));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut counted_by: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (i, s) in c.shares.iter().enumerate() {
        let at = |k: &str| format!("shares[{i}].{k}");
        let odd_part = s
            .name
            .split('/')
            .skip(1)
            .any(|p| p.is_empty() || p == "." || p == "..");
        if !s.name.starts_with('/') || odd_part {
            return Err((
                at("name"),
                format!("{:?} is not an export path like /export", s.name),
            ));
        }
        if let Some(first) = seen.insert(&s.name, i) {
            return Err((
                at("name"),
                format!("duplicate share name {:?} (also shares[{first}])", s.name),
            ));
        }
        if !c.metadata.stores.contains_key(&s.metadata_store) {
            return Err((
                at("metadata_store"),
                format!(
                    "no metadata store named {:?} in metadata.stores",
                    s.metadata_store
                ),
            ));
        }
        if !c.payload.stores.contains_key(&s.payload_store) {
            return Err((
                at("payload_store"),
                format!(
                    "no payload store named {:?} in payload.stores",
                    s.payload_store
                ),
            ));
        }
        // Block references are counted in the metadata store: two of them
        // counting one payload store's blocks would each delete blocks the
        // other still uses.
        match counted_by.get(s.payload_store.as_str()) {
            Some(&(first, meta)) if meta != s.metadata_store => {
                return Err((
                    at("payload_store"),
                    format!(
                        "payload store {:?} already serves shares[{first}] with metadata store {meta:?}; a payload store's blocks are counted by one metadata store, so its shares must all use the same one",
                        s.payload_store
                    ),
                ));
            }
            Some(_) => {}
            None => {
                counted_by.insert(&s.payload_store, (i, &s.metadata_store));
            }
        }
        for (field, list) in [
            ("allowed_clients", &s.allowed_clients),
            ("denied_clients", &s.denied_clients),
        ] {
            for (j, cidr) in list.iter().enumerate() {
                cidr.parse::<Cidr>()
                    .map_err(|e| (format!("shares[{i}].{field}[{j}]"), e.to_string()))?;
            }
        }
    }
    if !c.adapters.nfs.enabled && !c.adapters.s3.enabled && !c.adapters.fuse.enabled {
        return Err((
            "adapters".into(),
            "no adapter is enabled; enable adapters.nfs, adapters.s3 or adapters.fuse".into(),
        ));
    }
    check_s3(c)?;
    check_fuse(c)?;
    let nfs = &c.adapters.nfs;
    if !nfs.enabled {
        return Ok(());
    }
    nfs.bind.parse::<IpAddr>().map_err(|_| {
        (
            "adapters.nfs.bind".to_owned(),
            format!("{:?} is not an IP address", nfs.bind),
        )
    })?;
    port("adapters.nfs.port".into(), nfs.port)?;
    let io = nfs.max_io_size.0;
    if !(4096..=(16 << 20)).contains(&io) || !io.is_multiple_of(4096) {
        return Err((
            "adapters.nfs.max_io_size".into(),
            "must be a multiple of 4KiB between 4KiB and 16MiB".into(),
        ));
    }
    if nfs.max_record_size.0 < io + 4096 || nfs.max_record_size.0 > (64 << 20) {
        return Err((
            "adapters.nfs.max_record_size".into(),
            "must hold max_io_size plus 4KiB of headers, and be at most 64MiB".into(),
        ));
    }
    if nfs.portmapper.enabled {
        port("adapters.nfs.portmapper.port".into(), nfs.portmapper.port)?;
        if nfs.portmapper.port == nfs.port {
            return Err((
                "adapters.nfs.portmapper.port".into(),
                "must differ from adapters.nfs.port (the portmapper already answers there)".into(),
            ));
        }
    }
    Ok(())
}

fn postgres(name: &str, p: &PostgresConfig) -> Result<(), Problem> {
    let at = |k: &str| format!("metadata.stores.{name}.postgres.{k}");
    const MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];
    if !MODES.contains(&p.sslmode.as_str()) {
        return Err((
            at("sslmode"),
            format!("{:?}: expected one of {}", p.sslmode, MODES.join(", ")),
        ));
    }
    let schema = &p.schema;
    let valid = schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err((
            at("schema"),
            format!("{schema:?}: lower-case letters, digits and _ (not first), at most 63"),
        ));
    }
    if p.max_conns == 0 {
        return Err((at("max_conns"), "must be at least 1".into()));
    }
    if p.dsn.trim().is_empty() && (p.host.is_empty() || p.database.is_empty() || p.user.is_empty())
    {
        return Err((at("host"), "give a dsn, or host, database and user".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
