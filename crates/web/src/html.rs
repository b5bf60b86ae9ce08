//! Escaping for every context a profile-derived string lands in: HTML text
//! and attributes, URLs, and JSON inlined in a page.
//!
//! Function names are attacker-controlled as far as the browser is
//! concerned (a profile can come from anywhere), so nothing from a profile
//! reaches a page without going through one of these.

/// The Content-Security-Policy of every page: only our own embedded
/// scripts and styles, no inline code, no network beyond this server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes JSON safe inside `<script type="application/json">`: no `<`
/// (so no `</script>` or `<!--`), `>` and `&` for good measure. Only
/// string contents can hold these bytes, where `\u00XX` means the same.
pub fn json_for_script(json: &[u8]) -> String {
    let mut out = String::with_capacity(json.len() + 64);
    for c in String::from_utf8_lossy(json).chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query component (`application/x-www-form-urlencoded`
/// as browsers read it: space as `%20`, which every decoder accepts).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `regexp.QuoteMeta`: a pattern matching `s` literally. Used for the
/// focus links of names (`^name$`), as pprof's UI does.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An ordered list of query parameters: the state of a view. Links keep
/// every parameter (including the opaque `src`/`base`) and change some.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The first value of `key`, as Go's `url.Values.Get` (and pprof) reads it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A copy with `key` set to `value` (replacing every earlier value), or
    /// removed when `value` is empty.
    pub fn with(&self, key: &str, value: &str) -> Params {
        let mut out: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| k != key).cloned().collect();
        if !value.is_empty() {
            out.push((key.to_string(), value.to_string()));
        }
        Params(out)
    }

    /// A copy keeping only the given keys.
    pub fn only(&self, keys: &[&str]) -> Params {
        Params(
            self.0
                .iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// `?k=v&...` (empty string when there are none), not yet HTML-escaped.
    pub fn query(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        format!("?{}", parts.join("&"))
    }

    /// `path?query`, HTML-escaped for an `href`.
    pub fn href(&self, path: &str) -> String {
        esc(&format!("{path}{}", self.query()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert(1)</script> "q" 'a' &amp;"#),
            "&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &#39;a&#39; &amp;amp;"
        );
    }

    #[test]
    fn inline_json_cannot_close_the_script() {
        let j = serde_json::to_vec(&serde_json::json!({"n": "</script><!-- & \u{2028}"})).unwrap();
        let s = json_for_script(&j);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["n"], "</script><!-- & \u{2028}");
    }

    #[test]
    fn params_carry_and_replace() {
        let p = Params(vec![
            ("src".into(), "a b&c".into()),
            ("f".into(), "x".into()),
        ]);
        assert_eq!(p.with("f", "y").query(), "?src=a%20b%26c&f=y");
        assert_eq!(p.with("f", "").query(), "?src=a%20b%26c");
        assert_eq!(p.only(&["f"]).href("top"), "top?f=x");
        assert_eq!(p.get("src"), Some("a b&c"));
        assert_eq!(quote_meta("main.(*T).f"), r"main\.\(\*T\)\.f");
    }
}
