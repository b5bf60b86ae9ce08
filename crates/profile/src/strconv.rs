//! Go's `strconv.ParseUint` and `ParseInt` (64-bit), as the legacy text
//! parsers and the `go tool pprof` flags read integers: base 0 takes the
//! `0x`, `0o`, `0b` and leading-`0` prefixes and `_` between digits;
//! syntax is checked digit by digit and an overflow is a range error at
//! the digit where it happens, as in Go.

/// Why a number did not parse (Go's `ErrSyntax`, `ErrRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    Syntax,
    Range,
}

/// `strconv.ParseUint(s, base, 64)`; `base` is 0 or 2..=36 (anything
/// else is a syntax error here; Go reports an invalid base).
pub fn parse_uint(s: &str, base: u32) -> Result<u64, NumError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(NumError::Syntax);
    }
    let base0 = base == 0;
    let (base, digits) = match base {
        2..=36 => (base, b),
        0 if b[0] == b'0' => match b.get(1).map(|c| c | 0x20) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        },
        0 => (10, b),
        _ => return Err(NumError::Syntax),
    };
    let base = u64::from(base);
    let cutoff = u64::MAX / base + 1;
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            _ if (c | 0x20).is_ascii_lowercase() => u64::from((c | 0x20) - b'a' + 10),
            _ => return Err(NumError::Syntax),
        };
        if d >= base {
            return Err(NumError::Syntax);
        }
        if n >= cutoff {
            return Err(NumError::Range);
        }
        n = (n * base).checked_add(d).ok_or(NumError::Range)?;
    }
    if underscores && !underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    Ok(n)
}

/// `strconv.ParseInt(s, base, 64)`.
pub fn parse_int(s: &str, base: u32) -> Result<i64, NumError> {
    let (neg, body) = match s.as_bytes().first() {
        None => return Err(NumError::Syntax),
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        Some(_) => (false, s),
    };
    let un = parse_uint(body, base)?;
    const CUTOFF: u64 = 1 << 63;
    if neg {
        if un > CUTOFF {
            return Err(NumError::Range);
        }
        // un <= 2^63: its two's complement negation fits, 2^63 giving MIN.
        Ok(un.cast_signed().wrapping_neg())
    } else {
        i64::try_from(un).map_err(|_| NumError::Range)
    }
}

/// Go's `underscoreOK`: `_` only between digits, or right after a base
/// prefix; never first or last. (ParseFloat applies it too.)
pub fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let [b'+' | b'-', rest @ ..] = b {
        b = rest;
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::NumError::{Range, Syntax};
    use super::*;

    /// Cases from Go's strconv/atoi_test.go (parseUint64BaseTests,
    /// parseInt64BaseTests), base 0 and explicit bases.
    #[test]
    fn go_table() {
        let uint: &[(&str, u32, Result<u64, NumError>)] = &[
            ("", 0, Err(Syntax)),
            ("0", 0, Ok(0)),
            ("1", 0, Ok(1)),
            ("12345", 0, Ok(12345)),
            ("012345", 0, Ok(0o12345)),
            ("0x12345", 0, Ok(0x12345)),
            ("0X12345", 0, Ok(0x12345)),
            ("12345x", 0, Err(Syntax)),
            ("0xabcdefg123", 0, Err(Syntax)),
            ("123456789abc", 0, Err(Syntax)),
            ("98765432100", 0, Ok(98765432100)),
            ("18446744073709551615", 0, Ok(u64::MAX)),
            ("18446744073709551616", 0, Err(Range)),
            ("18446744073709551620", 0, Err(Range)),
            ("0xFFFFFFFFFFFFFFFF", 0, Ok(u64::MAX)),
            ("0x10000000000000000", 0, Err(Range)),
            ("01777777777777777777777", 0, Ok(u64::MAX)),
            ("01777777777777777777778", 0, Err(Syntax)),
            ("02000000000000000000000", 0, Err(Range)),
            ("0200000000000000000000", 0, Ok(1 << 61)),
            ("0b", 0, Err(Syntax)),
            ("0o", 0, Err(Syntax)),
            ("0x", 0, Err(Syntax)),
            ("0b1010", 0, Ok(10)),
            ("0o17", 0, Ok(15)),
            ("1_2_3_4_5", 0, Ok(12345)),
            ("_12345", 0, Err(Syntax)),
            ("1__2345", 0, Err(Syntax)),
            ("12345_", 0, Err(Syntax)),
            ("0x_1_2_3_4_5", 0, Ok(0x12345)),
            ("_0x12345", 0, Err(Syntax)),
            ("0x__12345", 0, Err(Syntax)),
            ("0x1__2345", 0, Err(Syntax)),
            ("0x1234__5", 0, Err(Syntax)),
            ("0x12345_", 0, Err(Syntax)),
            ("1_2_3_4_5", 10, Err(Syntax)),
            ("0x_12345", 16, Err(Syntax)),
            ("ff", 16, Ok(255)),
            ("FF", 16, Ok(255)),
            ("g", 16, Err(Syntax)),
            ("z", 36, Ok(35)),
            // An overflow is reported where it happens, before later
            // digits are looked at.
            ("99999999999999999999x", 0, Err(Range)),
        ];
        for &(s, base, want) in uint {
            assert_eq!(parse_uint(s, base), want, "ParseUint({s:?}, {base})");
        }
        let int: &[(&str, u32, Result<i64, NumError>)] = &[
            ("", 0, Err(Syntax)),
            ("-", 0, Err(Syntax)),
            ("+", 0, Err(Syntax)),
            ("-0", 0, Ok(0)),
            ("+1", 0, Ok(1)),
            ("-12345", 0, Ok(-12345)),
            ("-012345", 0, Ok(-0o12345)),
            ("-0x12345", 0, Ok(-0x12345)),
            ("9223372036854775807", 0, Ok(i64::MAX)),
            ("-9223372036854775808", 0, Ok(i64::MIN)),
            ("9223372036854775808", 0, Err(Range)),
            ("-9223372036854775809", 0, Err(Range)),
            ("-1_2_3_4_5", 0, Ok(-12345)),
            ("-_12345", 0, Err(Syntax)),
            ("+0x_1_2", 0, Ok(0x12)),
            ("-0x1__2", 0, Err(Syntax)),
            ("12", 10, Ok(12)),
            ("-7f", 16, Ok(-127)),
        ];
        for &(s, base, want) in int {
            assert_eq!(parse_int(s, base), want, "ParseInt({s:?}, {base})");
        }
    }
}
