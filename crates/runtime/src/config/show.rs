//! The effective configuration as YAML, with secrets blanked out.

use serde_json::Value;

use super::Config;

/// Keys whose values are never printed.
const SECRET_KEYS: &[&str] = &[
    "password",
    "secret",
    "secret_key",
    "secret_access_key",
    "dsn",
    "token",
];
const REDACTED: &str = "<redacted>";

fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if SECRET_KEYS.contains(&k.as_str())
                    && !child.is_null()
                    && child.as_str() != Some("")
                {
                    *child = Value::String(REDACTED.into());
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The configuration as YAML that `load` reads back to the same values
/// (secrets excepted).
pub fn to_yaml(config: &Config) -> Result<String, String> {
    let mut tree = serde_json::to_value(config).map_err(|e| e.to_string())?;
    redact(&mut tree);
    serde_saphyr::to_string(&tree).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_config_reads_back_the_same() {
        let c = Config::default();
        let text = to_yaml(&c).unwrap();
        assert_eq!(super::super::parse_yaml(&text, "shown").unwrap(), c);
    }

    #[test]
    fn secrets_are_blanked() {
        let mut v = serde_json::json!({"a": {"password": "hunter2", "user": "x"}, "b": [{"secret_access_key": "k"}]});
        redact(&mut v);
        assert_eq!(v["a"]["password"], REDACTED);
        assert_eq!(v["a"]["user"], "x");
        assert_eq!(v["b"][0]["secret_access_key"], REDACTED);
    }
}
