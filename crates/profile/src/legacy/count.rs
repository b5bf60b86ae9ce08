//! Go count profiles: `goroutine`, `threadcreate`, `goroutineleak` and any
//! other `<type> profile: total N` text (pprof's `parseGoCount`).

use super::scan::{self, Scanner};
use super::{Builder, Outcome, malformed, parsed};
use crate::error::ParseError;
use crate::model::{Mapping, Sample};
use crate::parse::{ParseOptions, SourceFormat};

/// pprof's `parseAdditionalSections`: skip to a memory-map sentinel, then
/// read mappings from what follows.
pub(crate) fn additional_sections(s: &mut Scanner<'_>) -> Result<Vec<Mapping>, ParseError> {
    while !scan::is_memory_map_sentinel(s.text()) && s.scan() {}
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    let maps = super::maps::parse_proc_maps(s);
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    Ok(maps)
}

/// `\A(\S+) profile: total \d+\z`, returning the type.
fn count_start(line: &str) -> Option<&str> {
    let (ty, rest) = line.split_once(" profile: total ")?;
    let go_space = |c: char| matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ');
    // `\S+` cannot span a space, so the type is everything before the
    // first " profile: total " only when it has no white space.
    if ty.is_empty() || ty.contains(go_space) {
        return None;
    }
    (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then_some(ty)
}

/// `\A(\d+) @(( 0x[0-9a-f]+)+)\z`: the count text and the addresses text.
fn count_line(line: &str) -> Option<(&str, &str)> {
    let (n, addrs) = line.split_once(" @")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || addrs.is_empty() {
        return None;
    }
    let mut rest = addrs;
    while !rest.is_empty() {
        let r = rest.strip_prefix(" 0x")?;
        let end = r
            .bytes()
            .position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            .unwrap_or(r.len());
        if end == 0 {
            return None;
        }
        rest = &r[end..];
    }
    Some((n, addrs))
}

pub(crate) fn parse(text: &str, opts: &ParseOptions) -> Result<Outcome, ParseError> {
    let mut s = Scanner::new(text);
    while s.scan() && scan::is_space_or_comment(s.text()) {}
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    let Some(ty) = count_start(s.text()) else {
        return Ok(Outcome::Unrecognized);
    };
    let mut b = Builder::new(opts);
    b.set_types(&[(ty, "count")], (ty, "count"), 1);
    let bad = || malformed("malformed profile format");
    while s.scan() {
        let line = s.text();
        if scan::is_space_or_comment(line) {
            b.comment(line);
            continue;
        }
        if line.starts_with("---") {
            break;
        }
        let (n, addrs) = count_line(line).ok_or_else(bad)?;
        let n = scan::parse_int(n, 0).ok_or_else(bad)?;
        let mut locations = Vec::new();
        for a in addrs.split_ascii_whitespace() {
            let a = scan::parse_uint(a, 0).ok_or_else(bad)?;
            locations.push(b.loc(a.wrapping_sub(1))?);
        }
        b.push_sample(Sample {
            locations,
            values: vec![n],
            ..Sample::default()
        });
    }
    if let Some(e) = s.err() {
        return Err(malformed(e));
    }
    let mappings = additional_sections(&mut s)?;
    Ok(parsed(b.finish(mappings)?, SourceFormat::LegacyCount, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_and_count_lines() {
        assert_eq!(
            count_start("goroutine profile: total 13"),
            Some("goroutine")
        );
        assert_eq!(count_start("goroutine profile: total 13 "), None);
        assert_eq!(count_start("a b profile: total 1"), None);
        assert_eq!(
            count_line("4 @ 0x47f3aa 0x41512e"),
            Some(("4", " 0x47f3aa 0x41512e"))
        );
        assert_eq!(count_line("4 @ 0x47f3aa  0x41512e"), None);
        assert_eq!(count_line("4 @"), None);
        assert_eq!(count_line("4 @ 0x"), None);
        assert_eq!(count_line("4 @ 0xAB"), None);
    }
}
