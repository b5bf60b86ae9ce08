//! Contention texts: Go's `block?debug=1` (`--- contention:`) and
//! `mutex?debug=1` (`--- mutex:`), and C++ `--- contentionz` (pprof's
//! `parseContention`).

use super::scan::{self, Scanner};
use super::{Builder, Outcome, malformed, parsed};
use crate::error::ParseError;
use crate::model::Sample;
use crate::parse::{ParseOptions, SourceFormat};
use regex::Regex;
use std::sync::OnceLock;

fn sample_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"([0-9]+) *([0-9]+) @([ x0-9a-f]*)").expect("static regex"))
}

/// `cycles count @ addrs` in Go's canonical spacing, else the regex.
fn split_sample(line: &str) -> Option<(&str, &str, &str)> {
    let fast = (|| {
        let (v1, r) = line.split_once(' ')?;
        let (v2, addrs) = r.split_once(" @")?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let addr_ok = addrs
            .bytes()
            .all(|c| matches!(c, b' ' | b'x' | b'0'..=b'9' | b'a'..=b'f'));
        (digits(v1) && digits(v2) && addr_ok).then_some((v1, v2, addrs))
    })();
    fast.or_else(|| {
        let m = sample_re().captures(line)?;
        let g = |i| m.get(i).map_or("", |x: regex::Match<'_>| x.as_str());
        Some((g(1), g(2), g(3)))
    })
}

enum Row {
    Sample(Vec<i64>, Vec<u64>),
    Unrecognized,
}

/// pprof's `parseContentionSample`.
fn parse_sample(line: &str, period: i64, cpu_hz: i64) -> Result<Row, ParseError> {
    let Some((s1, s2, addrs)) = split_sample(line) else {
        return Ok(Row::Unrecognized);
    };
    let err = |s: &str| {
        malformed(format!(
            "malformed sample: {line}: strconv.ParseInt: parsing \"{s}\": value out of range"
        ))
    };
    let mut v1 = scan::parse_int(s1, 10).ok_or_else(|| err(s1))?;
    let mut v2 = scan::parse_int(s2, 10).ok_or_else(|| err(s2))?;
    if period > 0 {
        if cpu_hz > 0 {
            let cpu_ghz = cpu_hz as f64 / 1e9;
            #[expect(
                clippy::cast_possible_truncation,
                reason = "Go's int64(float64): truncation toward zero in range, which `as` \
                          matches; out of range Go is implementation-defined and `as` \
                          saturates (NaN to 0)"
            )]
            let scaled = (v1 as f64 * period as f64 / cpu_ghz) as i64;
            v1 = scaled;
        }
        v2 = v2.wrapping_mul(period);
    }
    let addrs = scan::parse_hex_addresses(addrs)
        .map_err(|e| malformed(format!("malformed sample: {line}: {e}")))?;
    Ok(Row::Sample(vec![v2, v1], addrs))
}

pub(crate) fn parse(text: &str, opts: &ParseOptions) -> Result<Outcome, ParseError> {
    let mut s = Scanner::new(text);
    if !s.scan() {
        if let Some(e) = s.err() {
            return Err(malformed(e));
        }
        return Ok(Outcome::Unrecognized);
    }
    let first = s.text();
    if !(first.starts_with("--- contentionz ")
        || first.starts_with("--- mutex:")
        || first.starts_with("--- contention:"))
    {
        return Ok(Outcome::Unrecognized);
    }
    let mut b = Builder::new(opts);
    b.set_types(
        &[("contentions", "count"), ("delay", "nanoseconds")],
        ("contentions", "count"),
        1,
    );
    let mut cpu_hz: i64 = 0;
    while s.scan() {
        let line = scan::trim_space(s.text());
        if scan::is_space_or_comment(line) {
            continue;
        }
        if line.starts_with("---") {
            break;
        }
        let Some((key, val)) = line.split_once('=') else {
            break;
        };
        let (key, val) = (scan::trim_space(key), scan::trim_space(val));
        let num = || scan::parse_int(val, 0);
        match key {
            "cycles/second" => match num() {
                Some(v) => cpu_hz = v,
                None => return Ok(Outcome::Unrecognized),
            },
            "sampling period" => match num() {
                Some(v) => b.profile.period = v,
                None => return Ok(Outcome::Unrecognized),
            },
            "ms since reset" => match num() {
                Some(ms) => b.profile.duration_nanos = ms.wrapping_mul(1_000_000),
                None => return Ok(Outcome::Unrecognized),
            },
            "discarded samples" => {}
            // "format", "resolution" (Java profiles) and anything else.
            _ => return Ok(Outcome::Unrecognized),
        }
    }
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    loop {
        let line = scan::trim_space(s.text());
        if line.starts_with("---") {
            break;
        }
        if scan::is_space_or_comment(line) {
            if line.starts_with('#') {
                b.comment(line);
            }
        } else {
            let period = b.profile.period;
            match parse_sample(line, period, cpu_hz)? {
                Row::Unrecognized => return Ok(Outcome::Unrecognized),
                Row::Sample(values, addrs) => {
                    let locations = addrs
                        .into_iter()
                        .map(|a| b.loc(a.wrapping_sub(1)))
                        .collect::<Result<_, _>>()?;
                    b.push_sample(Sample {
                        locations,
                        values,
                        ..Sample::default()
                    });
                }
            }
        }
        if !s.scan() {
            break;
        }
    }
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    let mappings = super::count::additional_sections(&mut s)?;
    Ok(parsed(
        b.finish(mappings)?,
        SourceFormat::LegacyContention,
        None,
    ))
}
