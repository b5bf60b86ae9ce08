//! Reading Go double-quoted string literals, as written by `%q`
//! (`# labels:` lines) and by the runtime's `quoted` (traceback labels).

/// Parses a Go double-quoted literal at the start of `s`. Returns the
/// unquoted value and the rest of `s` after the closing quote.
pub(crate) fn unquote_prefix(s: &str) -> Option<(String, &str)> {
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &rest[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v: u32 = 0;
                        for _ in 0..n {
                            let (_, h) = chars.next()?;
                            v = v * 16 + h.to_digit(16)?;
                        }
                        if e == 'x' {
                            // A byte escape: Go strings may hold invalid
                            // UTF-8; keep what is valid.
                            out.push(char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{fffd}'));
                        } else {
                            out.push(char::from_u32(v)?);
                        }
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            let (_, o) = chars.next()?;
                            v = v * 8 + o.to_digit(8)?;
                        }
                        out.push(char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{fffd}'));
                    }
                    _ => return None,
                }
            }
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_go_escapes() {
        let (v, rest) = unquote_prefix(r#""drain \"x\"\t\u00e9\x41\xff", x"#).unwrap();
        assert_eq!(v, "drain \"x\"\téA\u{fffd}");
        assert_eq!(rest, ", x");
        assert_eq!(unquote_prefix(r#""a\101""#).unwrap().0, "aA");
        assert!(unquote_prefix(r#""open"#).is_none());
        assert!(unquote_prefix("bare").is_none());
    }
}
