//! Heap texts: Go's `heap?debug=1` (`@ heap/R`), and the older
//! `heapz_v2`, `heapprofile`, `growthz` and `fragmentationz` headers
//! (pprof's `parseHeap`).

use super::scan::{self, Scanner};
use super::{Builder, MemStats, Outcome, malformed, parsed};
use crate::error::ParseError;
use crate::model::{NumLabel, Sample};
use crate::parse::{ParseOptions, SourceFormat};
use regex::Regex;
use std::sync::{Arc, OnceLock};

struct HeapRes {
    header: Regex,
    growth: Regex,
    fragmentation: Regex,
    sample: Regex,
}

fn res() -> &'static HeapRes {
    static RES: OnceLock<HeapRes> = OnceLock::new();
    RES.get_or_init(|| {
        let counts = r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\]";
        HeapRes {
            header: Regex::new(&format!(r"{counts} *@ *(heap[_a-z0-9]*)/?([0-9]*)"))
                .expect("static regex"),
            growth: Regex::new(&format!(r"{counts} @ growthz?")).expect("static regex"),
            fragmentation: Regex::new(&format!(r"{counts} @ fragmentationz?"))
                .expect("static regex"),
            sample: Regex::new(
                r"(-?[0-9]+): *(-?[0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @([ x0-9a-f]*)",
            )
            .expect("static regex"),
        }
    })
}

#[derive(PartialEq)]
enum Sampling {
    None,
    V2,
}

/// pprof's `parseHeapHeader`; `None` is `errUnrecognized`.
fn parse_header(line: &str) -> Option<(Sampling, i64, bool)> {
    let h = res().header.captures(line)?;
    let g = |i| h.get(i).map_or("", |m: regex::Match<'_>| m.as_str());
    let mut period = 0;
    if !g(6).is_empty() {
        period = scan::parse_int(g(6), 10)?;
    }
    let has_alloc = (g(3) != g(1) && g(3) != "0") || (g(4) != g(2) && g(4) != "0");
    match g(5) {
        "heapz_v2" | "heap_v2" => Some((Sampling::V2, period, has_alloc)),
        "heapprofile" => Some((Sampling::None, 1, has_alloc)),
        "heap" => Some((Sampling::V2, period / 2, has_alloc)),
        _ => None,
    }
}

/// pprof's `scaleHeapSample`: Poisson unsampling, probability of a sample of
/// average size S being collected at rate R is 1-exp(-S/R).
#[expect(
    clippy::cast_possible_truncation,
    reason = "Go's int64(float64): truncation toward zero in range, which `as` matches; \
              out of range Go is implementation-defined and `as` saturates (NaN to 0)"
)]
pub(crate) fn scale_heap_sample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        return (count, size);
    }
    let avg = size as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-avg / rate as f64).exp());
    ((count as f64 * scale) as i64, (size as f64 * scale) as i64)
}

/// The four numbers and the address text of a sample line.
struct RawSample<'a> {
    nums: [&'a str; 4],
    addrs: &'a str,
}

/// Go's canonical `A: B [C: D] @ 0x.. 0x..` without the regex; `None` for
/// anything else (the caller then uses the regex, which is the spec).
fn fast_sample(line: &str) -> Option<RawSample<'_>> {
    fn num(s: &str, neg: bool) -> Option<(&str, &str)> {
        let b = s.as_bytes();
        let mut i = usize::from(neg && b.first() == Some(&b'-'));
        let start_digits = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i > start_digits).then(|| (&s[..i], &s[i..]))
    }
    let (a, r) = num(line, true)?;
    let r = r.strip_prefix(": ")?;
    let (b, r) = num(r, true)?;
    let r = r.strip_prefix(" [")?;
    let (c, r) = num(r, false)?;
    let r = r.strip_prefix(": ")?;
    let (d, r) = num(r, false)?;
    let addrs = r.strip_prefix("] @")?;
    if !addrs
        .bytes()
        .all(|c| matches!(c, b' ' | b'x' | b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    Some(RawSample {
        nums: [a, b, c, d],
        addrs,
    })
}

fn slow_sample(line: &str) -> Option<RawSample<'_>> {
    let m = res().sample.captures(line)?;
    let g = |i| m.get(i).map_or("", |x: regex::Match<'_>| x.as_str());
    Some(RawSample {
        nums: [g(1), g(2), g(3), g(4)],
        addrs: g(5),
    })
}

fn go_parse_err(line: &str, s: &str) -> ParseError {
    let why = if s
        .bytes()
        .skip(usize::from(s.starts_with('-')))
        .all(|b| b.is_ascii_digit())
    {
        "value out of range"
    } else {
        "invalid syntax"
    };
    malformed(format!(
        "malformed sample: {line}: strconv.ParseInt: parsing \"{s}\": {why}"
    ))
}

/// pprof's `parseHeapSample`: values, block size, addresses.
fn parse_sample(
    line: &str,
    rate: i64,
    sampling: &Sampling,
    include_alloc: bool,
) -> Result<(Vec<i64>, i64, Vec<u64>), ParseError> {
    let Some(raw) = fast_sample(line).or_else(|| slow_sample(line)) else {
        return Err(malformed(
            "unexpected number of sample values: got 0, want 6",
        ));
    };
    let mut values = Vec::with_capacity(4);
    let mut blocksize = 0;
    let mut add = |cs: &str, ss: &str, label: &str| -> Result<(), ParseError> {
        let count = scan::parse_int(cs, 10).ok_or_else(|| go_parse_err(line, cs))?;
        let size = scan::parse_int(ss, 10).ok_or_else(|| go_parse_err(line, ss))?;
        if count == 0 && size != 0 {
            return Err(malformed(format!(
                "{label} count was 0 but {label} bytes was {size}"
            )));
        }
        let (mut c, mut s) = (count, size);
        if count != 0 {
            blocksize = size / count;
            if *sampling == Sampling::V2 {
                (c, s) = scale_heap_sample(count, size, rate);
            }
        }
        values.push(c);
        values.push(s);
        Ok(())
    };
    if include_alloc {
        add(raw.nums[2], raw.nums[3], "allocation")?;
    }
    add(raw.nums[0], raw.nums[1], "inuse")?;
    let addrs = scan::parse_hex_addresses(raw.addrs)
        .map_err(|e| malformed(format!("malformed sample: {line}: {e}")))?;
    Ok((values, blocksize, addrs))
}

pub(crate) fn parse(text: &str, opts: &ParseOptions) -> Result<Outcome, ParseError> {
    let mut s = Scanner::new(text);
    if !s.scan() {
        if let Some(e) = s.err() {
            return Err(malformed(e));
        }
        return Ok(Outcome::Unrecognized);
    }
    let line = s.text();
    let r = res();
    let (sampling, period, has_alloc) = if r.header.is_match(line) {
        match parse_header(line) {
            Some(h) => h,
            None => return Ok(Outcome::Unrecognized),
        }
    } else if r.growth.is_match(line) || r.fragmentation.is_match(line) {
        (Sampling::None, 1, false)
    } else {
        return Ok(Outcome::Unrecognized);
    };

    let mut b = Builder::new(opts);
    if has_alloc {
        b.set_types(
            &[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ],
            ("space", "bytes"),
            period,
        );
    } else {
        b.set_types(
            &[("objects", "count"), ("space", "bytes")],
            ("space", "bytes"),
            period,
        );
    }
    let bytes_key: Arc<str> = Arc::from("bytes");

    while s.scan() {
        let line = scan::trim_space(s.text());
        if scan::is_space_or_comment(line) {
            if line.starts_with('#') {
                b.comment(line);
            }
            continue;
        }
        if scan::is_memory_map_sentinel(line) {
            break;
        }
        let (values, blocksize, addrs) = parse_sample(line, period, &sampling, has_alloc)?;
        let locations = addrs
            .into_iter()
            .map(|a| b.loc(a.wrapping_sub(1)))
            .collect::<Result<_, _>>()?;
        b.push_sample(Sample {
            locations,
            values,
            labels: Vec::new(),
            num_labels: vec![NumLabel {
                key: bytes_key.clone(),
                value: blocksize,
                unit: None,
            }],
        });
    }
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    let mappings = super::count::additional_sections(&mut s)?;
    let memstats = MemStats::parse(text);
    let profile = b.finish(mappings)?;
    Ok(parsed(profile, SourceFormat::LegacyHeap, memstats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let h = parse_header("heap profile: 1: 2 [3: 4] @ heap/1048576").unwrap();
        assert!(h.0 == Sampling::V2 && h.1 == 524288 && h.2);
        let h = parse_header("heap profile: 1: 2 [1: 2] @ heap_v2/524288").unwrap();
        assert!(h.0 == Sampling::V2 && h.1 == 524288 && !h.2);
        let h = parse_header("heap profile: 1: 2 [0: 0] @ heapprofile").unwrap();
        assert!(h.0 == Sampling::None && h.1 == 1 && !h.2);
        assert!(parse_header("heap profile: 1: 2 [0: 0] @ heapz/1").is_none());
    }

    #[test]
    fn scaling_matches_pprof() {
        // From pprof's TestScaleHeapSample-style expectations.
        assert_eq!(scale_heap_sample(0, 10, 1), (0, 0));
        assert_eq!(scale_heap_sample(5, 50, 1), (5, 50));
        // scale = 1 / (1 - e^-2) = 1.1565...; int64(1 * scale), int64(8192 * scale).
        assert_eq!(scale_heap_sample(1, 8192, 4096), (1, 9474));
    }

    #[test]
    fn fast_and_slow_sample_agree() {
        for line in [
            "1: 81920 [1: 81920] @ 0x47dc3a 0x481027",
            "-1: -5 [3: 40] @ 0x1",
            "0: 0 [0: 0] @",
        ] {
            let f = fast_sample(line).unwrap();
            let s = slow_sample(line).unwrap();
            assert_eq!(f.nums, s.nums);
            assert_eq!(f.addrs, s.addrs);
        }
        assert!(fast_sample("1:  2 [3: 4] @ 0x1").is_none());
        assert!(slow_sample("1:  2 [3: 4] @ 0x1").is_some());
    }
}
