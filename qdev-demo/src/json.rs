//! A minimal JSON object writer (the crate takes no serialization dependency).

use std::fmt::Write as _;

/// Writes one JSON object, field by field, into a `String`.
///
/// ```
/// use qdev_demo::json::JsonObject;
/// let mut inner = JsonObject::new();
/// inner.u64("p99_ns", 420);
/// let mut obj = JsonObject::new();
/// obj.str("mode", "rcu").f64("ratio", 1.5).bool("ok", true).object("latency", inner);
/// assert_eq!(obj.finish(), r#"{"mode":"rcu","ratio":1.5,"ok":true,"latency":{"p99_ns":420}}"#);
/// ```
#[derive(Debug, Default)]
pub struct JsonObject {
    buf: String,
}

/// Appends `s` as a JSON string literal.
///
/// ```
/// let mut out = String::new();
/// qdev_demo::json::write_escaped(&mut out, "a\"b\n");
/// assert_eq!(out, r#""a\"b\n""#);
/// ```
pub fn write_escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> Self {
        Self {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        write_escaped(&mut self.buf, key);
        self.buf.push(':');
    }

    /// Adds a string field.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_escaped(&mut self.buf, value);
        self
    }

    /// Adds an unsigned integer field.
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    /// Adds a number field; non-finite values become `null`.
    pub fn f64(&mut self, key: &str, value: f64) -> &mut Self {
        self.key(key);
        if value.is_finite() {
            let _ = write!(self.buf, "{value}");
        } else {
            self.buf.push_str("null");
        }
        self
    }

    /// Adds a boolean field.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a nested object.
    pub fn object(&mut self, key: &str, value: JsonObject) -> &mut Self {
        self.key(key);
        self.buf.push_str(&value.finish());
        self
    }

    /// Closes the object and returns its text.
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_escaped() {
        assert_eq!(JsonObject::new().finish(), "{}");
        let mut o = JsonObject::new();
        o.str("k\u{1}", "tab\there\\");
        assert_eq!(o.finish(), r#"{"k\u0001":"tab\there\\"}"#);
    }

    #[test]
    fn numbers() {
        let mut o = JsonObject::new();
        o.f64("nan", f64::NAN)
            .f64("x", 0.25)
            .u64("n", u64::MAX)
            .bool("f", false);
        assert_eq!(
            o.finish(),
            r#"{"nan":null,"x":0.25,"n":18446744073709551615,"f":false}"#
        );
    }
}
