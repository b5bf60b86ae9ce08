//! Line scanning and number parsing with the exact semantics of the Go
//! functions pprof's legacy parsers use (`bufio.Scanner`, `strconv`), so
//! that edge cases are accepted or rejected exactly as pprof does.

/// `bufio.MaxScanTokenSize`: a longer line makes Go's scanner fail.
const MAX_TOKEN: usize = 64 * 1024;

/// A `bufio.Scanner` with `ScanLines`: lines split on `\n`, a trailing `\r`
/// dropped, and after the last line `text()` is empty as in Go.
pub(crate) struct Scanner<'a> {
    rest: &'a str,
    cur: &'a str,
    done: bool,
    too_long: bool,
    line_no: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner {
            rest: text,
            cur: "",
            done: false,
            too_long: false,
            line_no: 0,
        }
    }

    pub(crate) fn scan(&mut self) -> bool {
        if self.done {
            self.cur = "";
            return false;
        }
        if self.rest.is_empty() {
            self.done = true;
            self.cur = "";
            return false;
        }
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        if line.len() >= MAX_TOKEN {
            self.done = true;
            self.too_long = true;
            self.cur = "";
            return false;
        }
        self.rest = rest;
        self.cur = line.strip_suffix('\r').unwrap_or(line);
        self.line_no += 1;
        true
    }

    pub(crate) fn text(&self) -> &'a str {
        self.cur
    }

    /// The error Go's scanner would report (`s.Err()`).
    pub(crate) fn err(&self) -> Option<String> {
        self.too_long
            .then(|| "bufio.Scanner: token too long".to_string())
    }
}

/// Go's `strings.TrimSpace` (ASCII and Unicode white space).
pub(crate) fn trim_space(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace())
}

/// pprof's `isSpaceOrComment`.
pub(crate) fn is_space_or_comment(line: &str) -> bool {
    let t = trim_space(line);
    t.is_empty() || t.starts_with('#')
}

pub(crate) fn is_memory_map_sentinel(line: &str) -> bool {
    line.contains("--- Memory map: ---") || line.contains("MAPPED_LIBRARIES:")
}

/// Go's `strconv.ParseUint(s, base, 64)`, any error as `None`.
pub(crate) fn parse_uint(s: &str, base: u32) -> Option<u64> {
    crate::strconv::parse_uint(s, base).ok()
}

/// Go's `strconv.ParseInt(s, base, 64)`, any error as `None`.
pub(crate) fn parse_int(s: &str, base: u32) -> Option<i64> {
    crate::strconv::parse_int(s, base).ok()
}

/// The text of Go's `*strconv.NumError` from `strconv.{func}(s, ...)`.
/// Go quotes `s` with `%q`; the legacy parsers only pass digits and word
/// characters here, which it prints as they are.
pub(crate) fn num_error(func: &str, s: &str, e: crate::strconv::NumError) -> String {
    let why = match e {
        crate::strconv::NumError::Syntax => "invalid syntax",
        crate::strconv::NumError::Range => "value out of range",
    };
    format!("strconv.{func}: parsing \"{s}\": {why}")
}

/// pprof's `parseHexAddresses`: every `0x[0-9a-f]+` in `s`.
pub(crate) fn parse_hex_addresses(s: &str) -> Result<Vec<u64>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'0' && b[i + 1] == b'x' {
            let start = i + 2;
            let mut j = start;
            while j < b.len() && matches!(b[j], b'0'..=b'9' | b'a'..=b'f') {
                j += 1;
            }
            if j > start {
                let digits = &s[start..j];
                match parse_uint(digits, 16) {
                    Some(v) => out.push(v),
                    None => {
                        return Err(format!(
                            "failed to parse as hex 64-bit number: {}",
                            &s[i..j]
                        ));
                    }
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int_parsing() {
        assert_eq!(parse_int("10", 0), Some(10));
        assert_eq!(parse_int("010", 0), Some(8));
        assert_eq!(parse_int("09", 0), None);
        assert_eq!(parse_int("0x1f", 0), Some(31));
        assert_eq!(parse_int("0", 0), Some(0));
        assert_eq!(parse_int("1_000", 0), Some(1000));
        assert_eq!(parse_int("1_000", 10), None);
        assert_eq!(parse_int("-5", 10), Some(-5));
        assert_eq!(parse_int("9223372036854775808", 10), None);
        assert_eq!(parse_int("-9223372036854775808", 10), Some(i64::MIN));
        assert_eq!(parse_int("", 10), None);
        assert_eq!(parse_int("0x", 0), None);
    }

    #[test]
    fn hex_addresses() {
        assert_eq!(
            parse_hex_addresses(" 0x1 0xab x0x2").unwrap(),
            vec![1, 0xab, 2]
        );
        assert!(parse_hex_addresses(" 0x11112222333344445").is_err());
    }

    #[test]
    fn scanner_like_go() {
        let mut s = Scanner::new("a\r\nb\n\nc");
        let mut v = Vec::new();
        while s.scan() {
            v.push(s.text());
        }
        assert_eq!(v, ["a", "b", "", "c"]);
        assert_eq!(s.text(), "");
    }
}
