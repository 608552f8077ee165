//! From a file and the environment to a checked [`Config`].
//!
//! The file is parsed with its line numbers; then every scalar key can be
//! overridden by `DITTOFS_<PATH>` (the key path upper-cased, `_` between
//! parts, list items by index: `DITTOFS_ADAPTERS_NFS_PORT`,
//! `DITTOFS_SHARES_0_READ_ONLY`); then the result is checked as a whole.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Config;

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// No file: the built-in defaults.
    Defaults,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Defaults => f.write_str("built-in defaults"),
        }
    }
}

/// A configuration problem: where, which key, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source: String,
    /// The key path, like `adapters.nfs.port` or `shares[1].name`.
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A configuration ready to use, and what shaped it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub source: Source,
    /// The `DITTOFS_*` variables that changed a key.
    pub overrides: Vec<String>,
}

/// Variables named `DITTOFS_*` that are not configuration keys.
const NOT_KEYS: &[&str] = &["DITTOFS_CONFIG"];

/// Reads `path` (or takes the defaults), applies the `DITTOFS_*` variables
/// in `env`, and checks the result.
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let (config, source, text) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                source: p.display().to_string(),
                key: String::new(),
                line: None,
                message: format!("cannot read: {e}"),
            })?;
            let config = parse_yaml(&text, &p.display().to_string())?;
            (config, Source::File(p.to_path_buf()), text)
        }
        None => (Config::default(), Source::Defaults, String::new()),
    };
    let (config, overrides) = apply_env(config, env, &source)?;
    super::check::check(&config).map_err(|(key, message)| {
        // A rule broken by a variable's value is that variable's fault.
        match overrides
            .iter()
            .find(|o| o.key == key || key.starts_with(&format!("{}.", o.key)))
        {
            Some(o) => ConfigError {
                source: format!("environment variable {}", o.var),
                key,
                line: None,
                message,
            },
            None => ConfigError {
                source: source.to_string(),
                line: super::locate::locate(&text, &key),
                key,
                message,
            },
        }
    })?;
    let overrides = overrides.into_iter().map(|o| o.var).collect();
    Ok(Loaded {
        config,
        source,
        overrides,
    })
}

/// Parses YAML text, naming the key path and line of the first problem.
pub fn parse_yaml(text: &str, source: &str) -> Result<Config, ConfigError> {
    // An empty file (or one of only comments) means "all defaults".
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Config::default());
    }
    let mut key = String::new();
    serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            key = e.path().to_string();
            e.into_inner()
        })
    })
    .map_err(|e| {
        let full = e.to_string();
        let (line, message) = split_location(&full);
        ConfigError {
            source: source.to_owned(),
            key: if key == "." { String::new() } else { key },
            line,
            message,
        }
    })
}

/// serde-saphyr reports `line L column C: message` followed by a snippet;
/// keep the line number and the message.
fn split_location(full: &str) -> (Option<usize>, String) {
    let first = full.lines().next().unwrap_or(full);
    let first = first.trim_start_matches("error: ");
    if let Some(rest) = first.strip_prefix("line ") {
        let (num, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(line) = num.parse() {
            let message = tail.split_once(": ").map_or(tail, |(_, m)| m).trim();
            return (Some(line), plain_words(message));
        }
    }
    (None, first.trim().to_owned())
}

/// Says what the integer types mean to someone editing a file.
fn plain_words(message: &str) -> String {
    const RANGES: &[(&str, &str)] = &[
        ("invalid u16", "expected a whole number from 0 to 65535"),
        (
            "invalid u32",
            "expected a whole number from 0 to 4294967295",
        ),
        (
            "invalid u64",
            "expected a whole number from 0 to 18446744073709551615",
        ),
    ];
    RANGES
        .iter()
        .find(|(k, _)| message == *k)
        .map_or_else(|| message.to_owned(), |(_, v)| (*v).to_owned())
}

/// The variable that overrides the key at `path`.
fn env_name(path: &[String]) -> String {
    let mut s = String::from("DITTOFS");
    for part in path {
        s.push('_');
        s.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
    }
    s
}

/// A key path as serde_path_to_error prints it: `shares[0].read_only`.
fn key_path(path: &[String]) -> String {
    let mut s = String::new();
    for part in path {
        if part.parse::<usize>().is_ok() {
            s.push_str(&format!("[{part}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(part);
        }
    }
    s
}

/// Every overridable key: scalars, and lists of scalars (set as a comma
/// separated value).
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut BTreeMap<String, Vec<String>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(k.clone());
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            for (i, child) in items.iter().enumerate() {
                path.push(i.to_string());
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => {
            out.insert(env_name(path), path.clone());
        }
    }
}

fn slot<'a>(root: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |v, part| match v {
        Value::Object(m) => m.get_mut(part),
        Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

/// The value of a variable, shaped like the value it replaces.
fn coerce(old: &Value, raw: &str) -> Result<Value, String> {
    let number = |s: &str| {
        s.parse::<u64>()
            .map(Value::from)
            .or_else(|_| s.parse::<i64>().map(Value::from))
            .or_else(|_| s.parse::<f64>().map(Value::from))
    };
    Ok(match old {
        Value::Bool(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Bool(true),
            "false" | "0" | "no" | "off" => Value::Bool(false),
            _ => return Err(format!("{raw:?} is not true or false")),
        },
        Value::Number(_) => number(raw.trim()).map_err(|_| format!("{raw:?} is not a number"))?,
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        Value::Null => number(raw.trim()).unwrap_or_else(|_| Value::String(raw.to_owned())),
        _ => Value::String(raw.to_owned()),
    })
}

/// A variable that set a key.
#[derive(Debug)]
struct Override {
    var: String,
    key: String,
}

fn apply_env(
    config: Config,
    env: impl IntoIterator<Item = (String, String)>,
    source: &Source,
) -> Result<(Config, Vec<Override>), ConfigError> {
    let env_error = |var: &str, key: String, message: String| ConfigError {
        source: format!("environment variable {var}"),
        key,
        line: None,
        message,
    };
    let mut tree =
        serde_json::to_value(&config).map_err(|e| env_error("-", String::new(), e.to_string()))?;
    let mut keys = BTreeMap::new();
    leaves(&tree, &mut Vec::new(), &mut keys);
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("DITTOFS_") && !NOT_KEYS.contains(&k.as_str()))
        .collect();
    vars.sort();
    if vars.is_empty() {
        return Ok((config, Vec::new()));
    }
    let mut applied = Vec::new();
    for (var, raw) in &vars {
        let Some(path) = keys.get(var) else {
            return Err(env_error(
                var,
                String::new(),
                format!(
                    "no configuration key is called this (keys in {source} and the defaults can be set as DITTOFS_<SECTION>_<KEY>, see docs/CONFIGURATION.md)"
                ),
            ));
        };
        let key = key_path(path);
        if let Some(v) = slot(&mut tree, path) {
            *v = coerce(v, raw).map_err(|m| env_error(var, key.clone(), m))?;
            applied.push(Override {
                var: var.clone(),
                key,
            });
        }
    }
    // The file parsed, so whatever fails now came from a variable.
    let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
        let key = e.path().to_string();
        let var = vars
            .iter()
            .find(|(v, _)| keys.get(v).is_some_and(|p| key_path(p) == key))
            .map_or("DITTOFS_*", |(v, _)| v.as_str())
            .to_owned();
        env_error(&var, key, e.into_inner().to_string())
    })?;
    Ok((config, applied))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let e = parse_yaml("adapters:\n  nfs:\n    port: 70000\n", "c.yaml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.key, "adapters.nfs.port", "{e}");
        let e = parse_yaml("adapters:\n  nfs:\n    prot: 1\n", "c.yaml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("unknown field `prot`"), "{e}");
        assert!(e.to_string().starts_with("c.yaml:3: adapters.nfs"), "{e}");
    }

    #[test]
    fn env_overrides_scalars_lists_and_list_items() {
        let (c, applied) = apply_env(
            Config::default(),
            env(&[
                ("DITTOFS_ADAPTERS_NFS_PORT", "3049"),
                ("DITTOFS_LOGGING_LEVEL", "DEBUG"),
                ("DITTOFS_SERVER_SHUTDOWN_TIMEOUT", "5s"),
                ("DITTOFS_SHARES_0_READ_ONLY", "true"),
                (
                    "DITTOFS_SHARES_0_ALLOWED_CLIENTS",
                    "10.0.0.0/8, 192.168.0.0/16",
                ),
                ("DITTOFS_SHARES_0_ROOT_UID", "1000"),
                ("HOME", "/root"),
            ]),
            &Source::Defaults,
        )
        .unwrap();
        assert_eq!(c.adapters.nfs.port, 3049);
        assert_eq!(c.logging.level, "DEBUG");
        assert_eq!(
            c.server.shutdown_timeout.0,
            std::time::Duration::from_secs(5)
        );
        assert!(c.shares[0].read_only);
        assert_eq!(
            c.shares[0].allowed_clients,
            vec!["10.0.0.0/8", "192.168.0.0/16"]
        );
        assert_eq!(c.shares[0].root.uid, Some(1000));
        assert_eq!(applied.len(), 6);
        assert!(
            applied
                .iter()
                .any(|o| o.key == "shares[0].root.uid" && o.var == "DITTOFS_SHARES_0_ROOT_UID")
        );
    }

    #[test]
    fn bad_or_unknown_variables_are_errors() {
        let e = apply_env(
            Config::default(),
            env(&[("DITTOFS_ADAPTERS_NFS_PORT", "big")]),
            &Source::Defaults,
        )
        .unwrap_err();
        assert_eq!(e.key, "adapters.nfs.port");
        assert!(e.source.contains("DITTOFS_ADAPTERS_NFS_PORT"), "{e}");
        let e = apply_env(
            Config::default(),
            env(&[("DITTOFS_ADAPTERS_NFS_PORT", "70000")]),
            &Source::Defaults,
        )
        .unwrap_err();
        assert!(e.to_string().contains("adapters.nfs.port"), "{e}");
        let e = apply_env(
            Config::default(),
            env(&[("DITTOFS_ADAPTERS_NFS_PROT", "1")]),
            &Source::Defaults,
        )
        .unwrap_err();
        assert!(e.to_string().contains("DITTOFS_ADAPTERS_NFS_PROT"), "{e}");
        assert!(
            apply_env(
                Config::default(),
                env(&[("DITTOFS_CONFIG", "/x")]),
                &Source::Defaults
            )
            .is_ok()
        );
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(
            parse_yaml("# nothing\n\n", "c.yaml").unwrap(),
            Config::default()
        );
    }
}
