//! Threadz texts (`--- threadz N ---`, `--- Thread X (name: n/N) stack: ---`),
//! pprof's `parseThread`. No `#` symbols exist in this format.

use super::scan::{self, Scanner};
use super::{Builder, Outcome, malformed, parsed};
use crate::error::ParseError;
use crate::model::{Profile, Sample};
use crate::parse::{ParseOptions, SourceFormat};
use regex::Regex;
use std::sync::OnceLock;

struct Res {
    threadz: Regex,
    thread: Regex,
}

fn res() -> &'static Res {
    static RES: OnceLock<Res> = OnceLock::new();
    RES.get_or_init(|| Res {
        threadz: Regex::new(r"--- threadz [0-9]+ ---").expect("static regex"),
        thread: Regex::new(r"--- Thread ([[:xdigit:]]+) \(name: (.*)/([0-9]+)\) stack: ---")
            .expect("static regex"),
    })
}

/// pprof's `parseThreadSample`: the line after the trace and its
/// addresses; `None` addresses for a "same as previous thread" marker.
fn thread_sample<'a>(s: &mut Scanner<'a>) -> Result<(&'a str, Option<Vec<u64>>), ParseError> {
    let mut line = "";
    let mut same = false;
    let mut addrs = Vec::new();
    while s.scan() {
        line = scan::trim_space(s.text());
        if line.is_empty() {
            continue;
        }
        if line.starts_with("---") {
            break;
        }
        if line.contains("same as previous thread") {
            same = true;
            continue;
        }
        let cur = scan::parse_hex_addresses(line)
            .map_err(|e| malformed(format!("malformed sample: {line}: {e}")))?;
        addrs.extend(cur);
    }
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    Ok((line, if same { None } else { Some(addrs) }))
}

/// pprof's `cleanupDuplicateLocations`: the leaf may appear twice, once
/// from the signal context and once, adjusted by -1, from unwinding.
pub(crate) fn cleanup_duplicate_locations(p: &mut Profile) {
    for s in &mut p.samples {
        if s.locations.len() > 1 {
            let a0 = p.locations[s.locations[0] as usize].address;
            let a1 = p.locations[s.locations[1] as usize].address;
            if a0 == a1.wrapping_add(1) {
                s.locations.remove(1);
            }
        }
    }
}

pub(crate) fn parse(text: &str, opts: &ParseOptions) -> Result<Outcome, ParseError> {
    let r = res();
    let mut s = Scanner::new(text);
    while s.scan() && scan::is_space_or_comment(s.text()) {}
    let mut line = s.text();
    if r.threadz.is_match(line) {
        while s.scan() {
            line = s.text();
            if scan::is_memory_map_sentinel(line) || line.starts_with('-') {
                break;
            }
        }
    } else if !r.thread.is_match(line) {
        return Ok(Outcome::Unrecognized);
    }
    let mut b = Builder::new(opts);
    b.set_types(&[("thread", "count")], ("thread", "count"), 1);
    while !scan::is_memory_map_sentinel(line) {
        if line.starts_with("---- no stack trace for") {
            break;
        }
        if !r.thread.is_match(line) {
            return Ok(Outcome::Unrecognized);
        }
        let (next, addrs) = thread_sample(&mut s)?;
        line = next;
        let addrs = match addrs {
            Some(a) if !a.is_empty() => a,
            _ => {
                if let Some(last) = b.profile.samples.last_mut() {
                    last.values[0] += 1;
                }
                continue;
            }
        };
        let locations = addrs
            .into_iter()
            .enumerate()
            .map(|(i, a)| b.loc(if i > 0 { a.wrapping_sub(1) } else { a }))
            .collect::<Result<_, _>>()?;
        b.push_sample(Sample {
            locations,
            values: vec![1],
            ..Sample::default()
        });
    }
    let mappings = super::count::additional_sections(&mut s)?;
    let mut p = b.finish(mappings)?;
    cleanup_duplicate_locations(&mut p);
    Ok(parsed(p, SourceFormat::LegacyThread, None))
}
