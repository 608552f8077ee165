//! Values people write by hand: durations (`30s`), sizes (`256MiB`) and
//! file modes (`0755`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as `500ms`, `30s`, `5m` or `1h` (a bare number is
/// seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl Seconds {
    pub const fn from_secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (like 500ms, 30s, 5m, 1h)"))?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        u => return Err(format!("{s:?}: unknown unit {u:?} (use ms, s, m, h or d)")),
    };
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("{s:?}: {e}"))
}

fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if ms.is_multiple_of(86_400_000) && ms > 0 {
        format!("{}d", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextOrNumber("a duration like 30s"))
            .and_then(|v| match v {
                Raw::Text(s) => parse_duration(&s).map_err(de::Error::custom),
                Raw::Int(n) => Ok(Duration::from_secs(n)),
                Raw::Float(f) => Duration::try_from_secs_f64(f).map_err(de::Error::custom),
            })
            .map(Seconds)
    }
}

/// A size written as `4096`, `64KiB`, `256MiB`, `1GiB` (or decimal `MB`,
/// `GB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (like 4096, 64KiB, 256MiB, 1GiB)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ));
        }
    };
    let bytes = n * scale as f64;
    if !(0.0..=u64::MAX as f64).contains(&bytes) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

fn format_size(n: u64) -> String {
    for (unit, scale) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if n >= scale && n.is_multiple_of(scale) {
            return format!("{}{unit}", n / scale);
        }
    }
    n.to_string()
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_size(self.0))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextOrNumber("a size like 256MiB"))
            .and_then(|v| match v {
                Raw::Text(s) => parse_size(&s).map_err(de::Error::custom),
                Raw::Int(n) => Ok(n),
                Raw::Float(f) if f >= 0.0 && f.fract() == 0.0 => Ok(f as u64),
                Raw::Float(f) => Err(de::Error::custom(format!(
                    "{f} is not a whole number of bytes"
                ))),
            })
            .map(ByteSize)
    }
}

/// File permission bits, written in octal: `"0755"`, `0755` or `755`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

pub fn parse_mode(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.strip_prefix("0o").unwrap_or(t);
    let m = u32::from_str_radix(digits, 8)
        .map_err(|_| format!("{s:?} is not an octal mode like 0755"))?;
    if m > 0o7777 {
        return Err(format!("{s:?} is more than 07777"));
    }
    Ok(m)
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:04o}", self.0))
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // YAML reads `0755` as the number 755: its digits are the octal mode.
        d.deserialize_any(TextOrNumber("an octal mode like \"0755\""))
            .and_then(|v| {
                match v {
                    Raw::Text(s) => parse_mode(&s),
                    Raw::Int(n) => parse_mode(&n.to_string()),
                    Raw::Float(f) if f >= 0.0 && f.fract() == 0.0 => {
                        parse_mode(&(f as u64).to_string())
                    }
                    Raw::Float(f) => Err(format!("{f} is not an octal mode")),
                }
                .map_err(de::Error::custom)
            })
            .map(Mode)
    }
}

enum Raw {
    Text(String),
    Int(u64),
    Float(f64),
}

struct TextOrNumber(&'static str);

impl Visitor<'_> for TextOrNumber {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_owned()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        u64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom(format!("{v} is negative")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 days").is_err());
        for d in [
            Duration::from_millis(1500),
            Duration::from_secs(90),
            Duration::from_secs(7200),
            Duration::ZERO,
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5XB").is_err());
        for n in [0, 4096, 1 << 20, (1 << 20) + (64 << 10), 12345] {
            assert_eq!(parse_size(&format_size(n)).unwrap(), n);
        }
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0755").unwrap(), 0o755);
        assert_eq!(parse_mode("1777").unwrap(), 0o1777);
        assert_eq!(parse_mode("0o700").unwrap(), 0o700);
        assert!(parse_mode("0789").is_err());
        assert!(parse_mode("17777").is_err());
    }
}
