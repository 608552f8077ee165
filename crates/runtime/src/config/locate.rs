//! Finds the line of a key path in a block-style YAML file, so problems
//! found after parsing can still point at a line.

/// One step of a key path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `shares[1].squash.anonymous_uid` -> [shares, 1, squash, anonymous_uid].
fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Step::Key(rest[..i].to_owned()));
            }
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(n) = stripped[..end].parse() {
                    out.push(Step::Index(n));
                }
                rest = &stripped[end + 1..];
            }
        } else if !rest.is_empty() {
            out.push(Step::Key(rest.to_owned()));
        }
    }
    out
}

/// The 1-based line where `path` is written, if the file spells it out in
/// block style. Flow-style (`{a: 1}`) values are not searched.
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let want = steps(path);
    if want.is_empty() {
        return None;
    }
    // The path to the current line, each step with the column it starts at.
    let mut stack: Vec<(usize, Step)> = Vec::new();
    let mut counters: Vec<(usize, usize)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut col = line.len() - trimmed.len();
        let mut body = trimmed;
        while let Some(item) = body
            .strip_prefix("- ")
            .or_else(|| (body == "-").then_some(""))
        {
            stack.retain(|(c, _)| *c < col);
            counters.retain(|(c, _)| *c <= col);
            let index = match counters.last_mut() {
                Some((c, i)) if *c == col => {
                    *i += 1;
                    *i
                }
                _ => {
                    counters.push((col, 0));
                    0
                }
            };
            stack.push((col, Step::Index(index)));
            let skipped = body.len() - item.trim_start().len();
            col += skipped;
            body = item.trim_start();
        }
        // A key is followed by ": " or ends the line; "fd00::/8" is a value.
        let key = body
            .split_once(": ")
            .map(|(k, _)| k)
            .or_else(|| body.strip_suffix(':'));
        if let Some(key) = key {
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            stack.retain(|(c, _)| *c < col);
            counters.retain(|(c, _)| *c <= col);
            stack.push((col, Step::Key(key.to_owned())));
        }
        if stack.iter().map(|(_, s)| s).eq(want.iter()) {
            return Some(n + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
logging:
  level: INFO   # a comment
shares:
  - name: /export
    metadata_store: default
  - name: /other
    squash:
      anonymous_uid: 7
    allowed_clients:
      - 10.0.0.0/8
      - nonsense
adapters:
  nfs:
    port: 12049
";

    #[test]
    fn finds_keys_list_items_and_nested_lists() {
        assert_eq!(locate(YAML, "logging.level"), Some(2));
        assert_eq!(locate(YAML, "shares[0].name"), Some(4));
        assert_eq!(locate(YAML, "shares[1].name"), Some(6));
        assert_eq!(locate(YAML, "shares[1].squash.anonymous_uid"), Some(8));
        assert_eq!(locate(YAML, "shares[1].allowed_clients"), Some(9));
        assert_eq!(locate(YAML, "shares[1].allowed_clients[1]"), Some(11));
        assert_eq!(locate(YAML, "adapters.nfs.port"), Some(14));
        assert_eq!(locate(YAML, "adapters.nfs.bind"), None);
    }
}
