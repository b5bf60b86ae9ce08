//! The part of Go's net/url that `adjustURL` depends on: `url.Parse`,
//! `URL.String`, `URL.Query` and `Values.Encode`. Whether a source is a URL,
//! and the exact URL pprof fetches, follow from these rules, so they are
//! ported rule for rule (Go 1.27, including its strict colons in http hosts).

// Encoding modes, as in net/url.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    QueryComponent,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::QueryComponent => return true,
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Go's `unescape`; the error text is Go's (only its presence matters here).
pub(crate) fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    let mut has_plus = false;
    while i < b.len() {
        match b[i] {
            b'%' => {
                n += 1;
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    let end = (i + 3).min(b.len());
                    return Err(format!("invalid URL escape {:?}", &s[i..end]));
                }
                if mode == Mode::Host && unhex(b[i + 1]) < 8 && &s[i..i + 3] != "%25" {
                    return Err(format!("invalid URL escape {:?}", &s[i..i + 3]));
                }
                if mode == Mode::Zone {
                    let v = (unhex(b[i + 1]) << 4) | unhex(b[i + 2]);
                    if &s[i..i + 3] != "%25" && v != b' ' && should_escape(v, Mode::Host) {
                        return Err(format!("invalid URL escape {:?}", &s[i..i + 3]));
                    }
                }
                i += 3;
            }
            b'+' => {
                has_plus = mode == Mode::QueryComponent;
                i += 1;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!("invalid character {:?} in host name", c as char));
                }
                i += 1;
            }
        }
    }
    if n == 0 && !has_plus {
        return Ok(s.to_string());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                out.push((unhex(b[i + 1]) << 4) | unhex(b[i + 2]));
                i += 2;
            }
            b'+' if mode == Mode::QueryComponent => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    // Go strings hold arbitrary bytes; invalid UTF-8 only matters for the
    // (rare) re-escaping, which works on bytes, so keep them losslessly.
    Ok(String::from_utf8(out).unwrap_or_else(|e| {
        e.into_bytes()
            .iter()
            .map(|&b| {
                if b < 0x80 {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }))
}

pub(crate) fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c == b' ' && mode == Mode::QueryComponent {
            out.push('+');
        } else if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(c as char);
        }
    }
    out
}

fn valid_encoded(s: &str, mode: Mode) -> bool {
    s.bytes().all(|c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, mode)
    })
}

/// A parsed URL, with the fields `adjustURL` and `String` use.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GoUrl {
    pub scheme: String,
    pub opaque: String,
    /// Escaped `user[:password]`, as `Userinfo.String` prints it.
    pub user: Option<String>,
    pub host: String,
    pub path: String,
    pub raw_path: String,
    pub raw_query: String,
    pub force_query: bool,
    pub omit_host: bool,
    pub fragment: String,
    pub raw_fragment: String,
}

fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty() || (port.starts_with(':') && port[1..].bytes().all(|b| b.is_ascii_digit()))
}

fn parse_host(scheme: &str, host: &str) -> Result<String, String> {
    match host.rfind('[') {
        Some(i) if i > 0 => return Err("invalid IP-literal".into()),
        Some(_) => {
            let close = host.rfind(']').ok_or("missing ']' in host")?;
            let colon_port = &host[close + 1..];
            if !valid_optional_port(colon_port) {
                return Err(format!("invalid port {colon_port:?} after host"));
            }
            let colon_port = unescape(colon_port, Mode::Host)?;
            let hostname = &host[1..close];
            let unescaped = match hostname.find("%25") {
                Some(z) => {
                    unescape(&hostname[..z], Mode::Host)? + &unescape(&hostname[z..], Mode::Zone)?
                }
                None => unescape(hostname, Mode::Host)?,
            };
            // Only IPv6 (not IPv4) literals may be bracketed.
            let addr_part = unescaped.split('%').next().unwrap_or("");
            match addr_part.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V6(_)) => {}
                Ok(std::net::IpAddr::V4(_)) => return Err("invalid IP-literal".into()),
                Err(e) => return Err(format!("invalid host: {e}")),
            }
            return Ok(format!("[{unescaped}]{colon_port}"));
        }
        None => {}
    }
    if let Some(first) = host.find(':') {
        let last = host.rfind(':').unwrap_or(first);
        // Go 1.27 rejects extra colons in http(s) hosts only.
        let i = if last != first && scheme != "http" && scheme != "https" {
            last
        } else {
            first
        };
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
    }
    unescape(host, Mode::Host)
}

fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|r| {
        r.is_ascii_alphanumeric()
            || matches!(
                r,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

fn parse_authority(scheme: &str, authority: &str) -> Result<(Option<String>, String), String> {
    let at = authority.rfind('@');
    let host = parse_host(scheme, at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let userinfo = &authority[..i];
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match userinfo.split_once(':') {
        None => escape(&unescape(userinfo, Mode::UserPassword)?, Mode::UserPassword),
        Some((u, p)) => format!(
            "{}:{}",
            escape(&unescape(u, Mode::UserPassword)?, Mode::UserPassword),
            escape(&unescape(p, Mode::UserPassword)?, Mode::UserPassword)
        ),
    };
    Ok((Some(user), host))
}

impl GoUrl {
    /// Go's `url.Parse`.
    pub fn parse(raw: &str) -> Result<GoUrl, String> {
        let (u, frag) = match raw.split_once('#') {
            Some((u, f)) => (u, Some(f)),
            None => (raw, None),
        };
        let mut url = Self::parse_no_frag(u)?;
        if let Some(f) = frag.filter(|f| !f.is_empty()) {
            url.fragment = unescape(f, Mode::Fragment)?;
            url.raw_fragment = if escape(&url.fragment, Mode::Fragment) == f {
                String::new()
            } else {
                f.to_string()
            };
        }
        Ok(url)
    }

    fn parse_no_frag(raw: &str) -> Result<GoUrl, String> {
        if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
            return Err("net/url: invalid control character in URL".into());
        }
        let mut url = GoUrl::default();
        if raw == "*" {
            url.path = "*".into();
            return Ok(url);
        }
        let (scheme, rest) = get_scheme(raw)?;
        url.scheme = scheme.to_ascii_lowercase();
        let mut rest = rest;
        if rest.ends_with('?') && rest.matches('?').count() == 1 {
            url.force_query = true;
            rest = &rest[..rest.len() - 1];
        } else if let Some((r, q)) = rest.split_once('?') {
            rest = r;
            url.raw_query = q.to_string();
        }
        if !rest.starts_with('/') {
            if !url.scheme.is_empty() {
                url.opaque = rest.to_string();
                return Ok(url);
            }
            if rest.split('/').next().unwrap_or("").contains(':') {
                return Err("first path segment in URL cannot contain colon".into());
            }
        }
        if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
            let authority = &rest[2..];
            let (authority, r) = match authority.find('/') {
                Some(i) => (&authority[..i], &authority[i..]),
                None => (authority, ""),
            };
            rest = r;
            let (user, host) = parse_authority(&url.scheme, authority)?;
            url.user = user;
            url.host = host;
        } else if !url.scheme.is_empty() && rest.starts_with('/') {
            url.omit_host = true;
        }
        url.set_path(rest)?;
        Ok(url)
    }

    pub fn set_path(&mut self, p: &str) -> Result<(), String> {
        self.path = unescape(p, Mode::Path)?;
        self.raw_path = if escape(&self.path, Mode::Path) == p {
            String::new()
        } else {
            p.to_string()
        };
        Ok(())
    }

    fn escaped_path(&self) -> String {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).as_deref() == Ok(self.path.as_str())
        {
            return self.raw_path.clone();
        }
        if self.path == "*" {
            return "*".into();
        }
        escape(&self.path, Mode::Path)
    }

    fn escaped_fragment(&self) -> String {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape(&self.raw_fragment, Mode::Fragment).as_deref() == Ok(self.fragment.as_str())
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }

    /// Go's `url.Values` of the query (`URL.Query`), keys in first-seen
    /// order; malformed pairs are dropped as Go drops them.
    pub fn query(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for pair in self.raw_query.split('&') {
            if pair.contains(';') || pair.is_empty() {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (Ok(k), Ok(v)) = (
                unescape(k, Mode::QueryComponent),
                unescape(v, Mode::QueryComponent),
            ) else {
                continue;
            };
            match out.iter_mut().find(|(key, _)| *key == k) {
                Some((_, vs)) => vs.push(v),
                None => out.push((k, vec![v])),
            }
        }
        out
    }

    /// Go's `Values.Encode`: keys sorted, every value escaped.
    pub fn encode_query(values: &[(String, Vec<String>)]) -> String {
        let mut sorted: Vec<&(String, Vec<String>)> = values.iter().collect();
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut parts = Vec::new();
        for (k, vs) in sorted {
            let k = escape(k, Mode::QueryComponent);
            for v in vs {
                parts.push(format!("{k}={}", escape(v, Mode::QueryComponent)));
            }
        }
        parts.join("&")
    }

    /// Go's `URL.String`.
    pub fn to_go_string(&self) -> String {
        let mut buf = String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if !self.opaque.is_empty() {
            buf.push_str(&self.opaque);
        } else {
            let no_authority = self.host.is_empty() && self.user.is_none();
            let authority = !(self.scheme.is_empty() && no_authority);
            if authority && !(self.omit_host && no_authority) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.push_str("//");
                }
                if let Some(u) = &self.user {
                    buf.push_str(u);
                    buf.push('@');
                }
                buf.push_str(&escape(&self.host, Mode::Host));
            }
            let mut path = self.escaped_path();
            if self.omit_host
                && self.host.is_empty()
                && self.user.is_none()
                && path.starts_with("//")
            {
                buf.push_str("%2F");
                path.remove(0);
            }
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
                buf.push_str("./");
            }
            buf.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&self.escaped_fragment());
        }
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        for (raw, want) in [
            ("http://h/a b", "http://h/a%20b"),
            ("http://h/a%2Fb", "http://h/a%2Fb"),
            ("http://u:p@h:80/x#frag", "http://u:p@h:80/x#frag"),
            ("HTTP://H/P", "http://H/P"),
            ("http://[::1]:6060/x", "http://[::1]:6060/x"),
            ("mailto:x@y", "mailto:x@y"),
            ("/a/b?c", "/a/b?c"),
        ] {
            assert_eq!(GoUrl::parse(raw).unwrap().to_go_string(), want, "{raw}");
        }
        for bad in [
            ":x",
            "a:b/c",
            "http://h:x/",
            "http://a b/",
            "http://h/%zz",
            "http://[1.2.3.4]/",
            "http://a:1:2/",
            "http://h/\n",
        ] {
            let p = GoUrl::parse(bad);
            // "a:b/c" parses (scheme "a", opaque) — it has no host.
            if bad == "a:b/c" {
                assert!(p.unwrap().host.is_empty());
                continue;
            }
            assert!(p.is_err(), "{bad}: {p:?}");
        }
        // Extra colons are tolerated outside http(s).
        assert_eq!(GoUrl::parse("mongodb://a:1,b:2/").unwrap().host, "a:1,b:2");
    }

    #[test]
    fn query_round_trip() {
        let u = GoUrl::parse("http://h/p?x=a+b&y=%2F&z&b=1;c&x=2").unwrap();
        let q = u.query();
        assert_eq!(
            q,
            vec![
                ("x".to_string(), vec!["a b".to_string(), "2".to_string()]),
                ("y".to_string(), vec!["/".to_string()]),
                ("z".to_string(), vec![String::new()]),
            ]
        );
        assert_eq!(GoUrl::encode_query(&q), "x=a+b&x=2&y=%2F&z=");
    }
}
