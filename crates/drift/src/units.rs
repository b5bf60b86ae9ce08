//! Units of heapdrift's own output, and the one formatter for them: `hunt`'s
//! text report, `watch`'s live view and the web dashboard (whose
//! dashboard.js `bytes` rounds and spells as [`bytes`] does) all print
//! amounts through it. Bytes are 1024-based and spelled so: B, KiB, MiB,
//! GiB, TiB. pprof's own reports keep pprof's spelling (crates/report).

use serde::{Deserialize, Serialize};

/// What a finding's values and growth count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Bytes,
    Goroutines,
    /// Resources held (a custom profile's count).
    Held,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Goroutines => "goroutines",
            Unit::Held => "held",
        }
    }
}

const BINARY: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];

/// `v` with `digits` decimals, rounded as JavaScript's `toFixed` rounds (an
/// exact tie away from zero; Rust's formatting would take the even digit),
/// so that the dashboard prints what the text report prints.
fn fixed(v: f64, digits: usize) -> String {
    if is_tie(v, digits as i32) {
        let step = 10f64.powi(-(digits as i32));
        let away = v.signum() * (v.abs() + step / 2.0);
        return format!("{away:.digits$}");
    }
    format!("{v:.digits$}")
}

/// Whether `v` lies exactly halfway between two numbers of `digits`
/// decimals: v·10^d·2 is an odd integer. With v = m·2^e (m odd) that is
/// m·5^d·2^(d+e+1), odd exactly when d + e + 1 = 0.
fn is_tie(v: f64, digits: i32) -> bool {
    if !v.is_finite() || v == 0.0 {
        return false;
    }
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    let zeros = m.trailing_zeros() as i32;
    m >>= zeros;
    e += zeros;
    m != 0 && digits + e + 1 == 0
}

/// Bytes, 1024-based: `512 B`, `1.5 KiB`, `4.0 MiB`, `482 KiB` (one
/// decimal under 100 of the unit, none from 100).
pub fn bytes(v: f64) -> String {
    // Under a KiB (and NaN, which no unit makes any better).
    if v.abs() < 1024.0 || v.is_nan() {
        let s = fixed(v, 0);
        if s.trim_start_matches('-') != "1024" {
            return format!("{s} B");
        }
    }
    let mut x = v / 1024.0;
    let mut u = 0;
    while x.abs() >= 1024.0 && u + 1 < BINARY.len() {
        x /= 1024.0;
        u += 1;
    }
    let s = fixed(x, if x.abs() >= 100.0 { 0 } else { 1 });
    // 1023.7 KiB would print as "1024 KiB": say "1.0 MiB".
    if s.trim_start_matches('-') == "1024" && u + 1 < BINARY.len() {
        return format!("{} {}", fixed(x / 1024.0, 1), BINARY[u + 1]);
    }
    format!("{s} {}", BINARY[u])
}

/// A count: whole numbers as such, otherwise two significant decimals
/// under 10, one under 100, none from 100.
pub fn count(v: f64) -> String {
    let digits = if v.abs() >= 100.0 || v.fract() == 0.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    fixed(v, digits)
}

/// `formatted` with `+` before a positive value, `-` before a negative.
fn with_sign(v: f64, formatted: String) -> String {
    if v > 0.0 {
        format!("+{formatted}")
    } else if v < 0.0 {
        format!("-{formatted}")
    } else {
        formatted
    }
}

/// A signed count: `+1248`, `-3.5`.
pub fn signed_count(v: f64) -> String {
    with_sign(v, count(v.abs()))
}

/// A value in its unit: `4.0 MiB`, `1 goroutine`, `12 goroutines`.
pub fn amount(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => bytes(v),
        Unit::Goroutines => {
            format!("{} goroutine{}", count(v), if v == 1.0 { "" } else { "s" })
        }
        Unit::Held => format!("{} held", count(v)),
    }
}

/// A rate per minute with its sign: `+4.0 MiB/min`, `+144 goroutines/min`.
pub fn rate(per_min: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => format!("{}/min", with_sign(per_min, bytes(per_min.abs()))),
        Unit::Goroutines => format!("{} goroutines/min", signed_count(per_min)),
        Unit::Held => format!("{} held/min", signed_count(per_min)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    #[test]
    fn bytes_are_binary_and_spelled_so() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1023.4), "1023 B");
        assert_eq!(bytes(1023.7), "1.0 KiB");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(482.0 * 1024.0), "482 KiB");
        assert_eq!(bytes(4.0 * MIB), "4.0 MiB");
        assert_eq!(bytes(99.96 * MIB), "100.0 MiB");
        assert_eq!(bytes(1023.7 * 1024.0), "1.0 MiB");
        assert_eq!(bytes(3.0 * 1024.0 * MIB), "3.0 GiB");
        assert_eq!(bytes(5.0 * MIB * MIB), "5.0 TiB");
        assert_eq!(bytes(2048.0 * MIB * MIB), "2048 TiB");
        assert_eq!(bytes(-2048.0), "-2.0 KiB");
    }

    #[test]
    fn ties_round_away_from_zero_as_javascript_does() {
        // (0.25).toFixed(1) is "0.3" in JavaScript; Rust's "{:.1}" says "0.2".
        assert_eq!(fixed(0.25, 1), "0.3");
        assert_eq!(fixed(-0.25, 1), "-0.3");
        assert_eq!(fixed(2.5, 0), "3");
        assert_eq!(fixed(1536.5, 0), "1537");
        // 0.35 is 0.34999… in binary: no tie, rounded down by both.
        assert_eq!(fixed(0.35, 1), "0.3");
        assert_eq!(fixed(1.05, 1), "1.1");
        assert!(is_tie(0.125, 2) && !is_tie(0.125, 3) && !is_tie(3.0, 0));
        assert_eq!(bytes(2.25 * MIB), "2.3 MiB");
    }

    #[test]
    fn rates_and_counts() {
        assert_eq!(rate(4.1 * MIB, Unit::Bytes), "+4.1 MiB/min");
        assert_eq!(rate(-2048.0, Unit::Bytes), "-2.0 KiB/min");
        assert_eq!(rate(0.0, Unit::Bytes), "0 B/min");
        assert_eq!(rate(143.7, Unit::Goroutines), "+144 goroutines/min");
        assert_eq!(rate(5.0, Unit::Goroutines), "+5 goroutines/min");
        assert_eq!(amount(1.0, Unit::Goroutines), "1 goroutine");
        assert_eq!(amount(3.0, Unit::Goroutines), "3 goroutines");
        assert_eq!(signed_count(30.04), "+30.0");
        assert_eq!(signed_count(-8.314), "-8.31");
        assert_eq!(count(1248.4), "1248");
    }
}
