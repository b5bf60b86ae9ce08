//! gperftools' binary CPU profile (pprof's `parseCPU` / `cpuProfile`). The
//! Java variant (third header word 1) is parsed by `super::java`.

use super::scan::Scanner;
use super::{Builder, Outcome, parsed};
use crate::error::ParseError;
use crate::model::Sample;
use crate::parse::{ParseOptions, SourceFormat};
use std::collections::HashMap;

pub(crate) type Word = fn(&[u8]) -> (u64, Option<&[u8]>);

fn get32l(b: &[u8]) -> (u64, Option<&[u8]>) {
    match b.first_chunk::<4>() {
        Some(w) => (u64::from(u32::from_le_bytes(*w)), Some(&b[4..])),
        None => (0, None),
    }
}
fn get32b(b: &[u8]) -> (u64, Option<&[u8]>) {
    match b.first_chunk::<4>() {
        Some(w) => (u64::from(u32::from_be_bytes(*w)), Some(&b[4..])),
        None => (0, None),
    }
}
fn get64l(b: &[u8]) -> (u64, Option<&[u8]>) {
    match b.first_chunk::<8>() {
        Some(w) => (u64::from_le_bytes(*w), Some(&b[8..])),
        None => (0, None),
    }
}
fn get64b(b: &[u8]) -> (u64, Option<&[u8]>) {
    match b.first_chunk::<8>() {
        Some(w) => (u64::from_be_bytes(*w), Some(&b[8..])),
        None => (0, None),
    }
}

/// Go's `parse(b)` on a possibly nil slice: nil in, nil out.
fn word(f: Word, b: Option<&[u8]>) -> (u64, Option<&[u8]>) {
    match b {
        Some(b) => f(b),
        None => (0, None),
    }
}

pub(crate) fn parse(data: &[u8], opts: &ParseOptions) -> Result<Outcome, ParseError> {
    for f in [get32l as Word, get32b, get64l, get64b] {
        let (n1, t) = word(f, Some(data));
        let (n2, t) = word(f, t);
        let (n3, t) = word(f, t);
        let (n4, t) = word(f, t);
        let (n5, t) = word(f, t);
        if let Some(rest) = t
            && n1 == 0
            && n2 == 3
            && n4 > 0
            && n5 == 0
        {
            if n3 == 0 {
                return cpu_profile(rest, n4.cast_signed(), f, opts);
            }
            if n3 == 1 {
                return super::java::cpu_profile(rest, n4.cast_signed(), f, opts);
            }
        }
    }
    Ok(Outcome::Unrecognized)
}

fn cpu_profile(
    data: &[u8],
    period: i64,
    f: Word,
    opts: &ParseOptions,
) -> Result<Outcome, ParseError> {
    let mut b = Builder::new(opts);
    let period = period.wrapping_mul(1000);
    b.set_types(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period,
    );
    let Some(rest) = read_samples(data, f, true, &mut b)? else {
        return Ok(Outcome::Unrecognized);
    };

    // Strip a second frame shared by (nearly) all samples: a frame pushed
    // by the signal handler.
    let p = &mut b.profile;
    let margin = p.samples.len() / 32;
    for _ in 0..2 {
        let mut addr1: HashMap<u64, usize> = HashMap::new();
        for s in &p.samples {
            if s.locations.len() > 1 {
                *addr1
                    .entry(p.locations[s.locations[1] as usize].address)
                    .or_default() += 1;
            }
        }
        // At most one address can reach the threshold, so map order does
        // not matter.
        if let Some((&id1, _)) = addr1.iter().find(|&(_, &c)| c >= p.samples.len() - margin) {
            for s in &mut p.samples {
                if s.locations.len() > 1 && p.locations[s.locations[1] as usize].address == id1 {
                    s.locations.remove(1);
                }
            }
        }
    }

    let text = String::from_utf8_lossy(rest);
    let mut s = Scanner::new(&text);
    let mappings = super::maps::parse_proc_maps(&mut s);
    let mut prof = b.finish(mappings)?;
    super::thread::cleanup_duplicate_locations(&mut prof);
    Ok(parsed(prof, SourceFormat::LegacyCpu, None))
}

/// pprof's `parseCPUSamples`: `(count, depth, addrs...)` records up to the
/// end-of-data record, into `b`'s samples and locations (one per distinct
/// address, in order of first use). `adjust` moves caller addresses back
/// onto their call instruction (C++; Java's are method ids). `None` is
/// `errUnrecognized` (a truncated record); else the bytes after the
/// records.
pub(crate) fn read_samples<'a>(
    data: &'a [u8],
    f: Word,
    adjust: bool,
    b: &mut Builder,
) -> Result<Option<&'a [u8]>, ParseError> {
    let period = b.profile.period;
    let mut rest: Option<&[u8]> = Some(data);
    while rest.is_some_and(|r| !r.is_empty()) {
        let (count, r) = word(f, rest);
        let (nstk, r) = word(f, r);
        let Some(r) = r else {
            return Ok(None);
        };
        // Checked before allocating: a depth can claim more words than
        // there are bytes.
        let Some(nstk) = usize::try_from(nstk).ok().filter(|&n| n <= r.len() / 4) else {
            return Ok(None);
        };
        let mut cur = Some(r);
        let mut addrs = Vec::with_capacity(nstk);
        for _ in 0..nstk {
            let (a, n) = word(f, cur);
            addrs.push(a);
            cur = n;
        }
        rest = cur;
        if count == 0 && nstk == 1 && addrs[0] == 0 {
            break;
        }
        let locations = addrs
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                b.loc(if adjust && i > 0 {
                    a.wrapping_sub(1)
                } else {
                    a
                })
            })
            .collect::<Result<_, _>>()?;
        b.profile.samples.push(Sample {
            locations,
            values: vec![
                count.cast_signed(),
                count.cast_signed().wrapping_mul(period),
            ],
            ..Sample::default()
        });
    }
    // A record cut short leaves Go's nil slice: what follows is empty.
    Ok(Some(rest.unwrap_or(&[])))
}
