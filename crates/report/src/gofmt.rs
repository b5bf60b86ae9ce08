//! Go's `fmt` float verbs that pprof's reports use (`%.Nf`, `%.Ng`, `%g`),
//! reproduced exactly: Rust's exact float formatting rounds half to even on
//! the binary value, as Go's strconv does, so only the layout differs.

/// Go's `%.{prec}f`.
pub fn fmt_f(x: f64, prec: usize) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    format!("{x:.prec$}")
}

fn non_finite(x: f64) -> Option<String> {
    if x.is_nan() {
        Some("NaN".to_string())
    } else if x == f64::INFINITY {
        Some("+Inf".to_string())
    } else if x == f64::NEG_INFINITY {
        Some("-Inf".to_string())
    } else {
        None
    }
}

/// Decimal digits of `|x|` rounded to `prec` significant digits (trailing
/// zeros trimmed) and the decimal point position, as strconv's `decimalSlice`.
fn digits(x: f64, prec: usize) -> (Vec<u8>, i32) {
    let x = x.abs();
    if x == 0.0 {
        return (Vec::new(), 0);
    }
    let s = format!("{:.*e}", prec.saturating_sub(1), x);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    (d, exp + 1)
}

/// Shortest round-trip digits of `|x|`, as strconv with precision -1.
fn shortest_digits(x: f64) -> (Vec<u8>, i32) {
    let x = x.abs();
    if x == 0.0 {
        return (Vec::new(), 0);
    }
    let s = format!("{x:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    (d, exp + 1)
}

fn fmt_e(neg: bool, d: &[u8], dp: i32, prec: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push(if d.is_empty() { '0' } else { d[0] as char });
    if prec > 0 {
        out.push('.');
        let mut i = 1;
        let m = d.len().min(prec as usize + 1);
        while i < m {
            out.push(d[i] as char);
            i += 1;
        }
        while i <= prec as usize {
            out.push('0');
            i += 1;
        }
    }
    out.push('e');
    let mut exp = dp - 1;
    if d.is_empty() {
        exp = 0;
    }
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
    out
}

fn fmt_fd(neg: bool, d: &[u8], dp: i32, prec: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp > 0 {
        let m = (dp as usize).min(d.len());
        for &c in &d[..m] {
            out.push(c as char);
        }
        for _ in m..dp as usize {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = dp + i - 1;
            let c = if j >= 0 && (j as usize) < d.len() {
                d[j as usize] as char
            } else {
                '0'
            };
            out.push(c);
        }
    }
    out
}

/// Go's `%.{prec}g` (`prec` = None means plain `%g`, shortest digits).
pub fn fmt_g(x: f64, prec: Option<usize>) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let neg = x.is_sign_negative();
    let shortest = prec.is_none();
    let mut prec = prec.map(|p| p.max(1) as i32).unwrap_or(-1);
    let (d, dp) = match prec {
        -1 => shortest_digits(x),
        p => digits(x, p as usize),
    };
    let nd = d.len() as i32;
    let mut eprec = prec;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
        prec = nd;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        if prec > nd {
            prec = nd;
        }
        return fmt_e(neg, &d, dp, prec - 1);
    }
    if prec > dp {
        prec = nd;
    }
    fmt_fd(neg, &d, dp, (prec - dp).max(0))
}

/// Right-aligns `s` in `width` columns (Go's `%{width}s`; width counts runes).
pub fn pad_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.to_string()
    } else {
        format!("{}{s}", " ".repeat(width - n))
    }
}

/// Left-aligns `s` in `width` columns (Go's `%-{width}s`).
pub fn pad_right(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_with_precision() {
        // Expected values printed by Go 1.27 `fmt.Sprintf("%.2g", x)`.
        let cases = [
            (0.00073, "0.00073"),
            (1e-05, "1e-05"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.5, "0.5"),
            (0.0625, "0.062"),
            (0.086, "0.086"),
            (0.19, "0.19"),
            (0.125, "0.12"),
            (0.375, "0.38"),
            (2.5, "2.5"),
            (99.0, "99"),
            (100.0, "1e+02"),
            (123456.0, "1.2e+05"),
            (0.99999, "1"),
            (0.000099, "9.9e-05"),
        ];
        for (x, want) in cases {
            assert_eq!(fmt_g(x, Some(2)), want, "{x}");
        }
        assert_eq!(pad_left(&fmt_g(0.19, Some(2)), 5), " 0.19");
    }

    #[test]
    fn g_shortest() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (0.1, "0.1"),
            (1e-05, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (2.5e20, "2.5e+20"),
            (f64::INFINITY, "+Inf"),
        ];
        for (x, want) in cases {
            assert_eq!(fmt_g(x, None), want, "{x}");
        }
    }

    #[test]
    fn f_rounding_half_even() {
        assert_eq!(fmt_f(0.125, 2), "0.12");
        assert_eq!(fmt_f(0.375, 2), "0.38");
        assert_eq!(fmt_f(-0.0, 2), "-0.00");
        assert_eq!(fmt_f(2.5, 0), "2");
        assert_eq!(fmt_f(1.005, 2), "1.00");
    }
}
