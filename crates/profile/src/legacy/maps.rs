//! The `/proc/self/maps` trailer of legacy profiles and pprof's mapping
//! heuristics (`ParseMemoryMapFromScanner`, `massageMappings`,
//! `remapMappingIDs`).

use super::scan::Scanner;
use crate::error::ParseError;
use crate::model::{Location, Mapping, table_index};
use regex::Regex;
use std::sync::OnceLock;

// Go's `\s` is ASCII-only and `\S` its complement; spelled out so that the
// Rust patterns match the same strings.
const SP: &str = r"[\t\n\f\r ]";
const NSP: &str = r"[^\t\n\f\r ]";

struct MapRes {
    proc_maps: Regex,
    brief_maps: Regex,
    log_info: Regex,
    lib: Regex,
}

fn res() -> &'static MapRes {
    static RES: OnceLock<MapRes> = OnceLock::new();
    RES.get_or_init(|| {
        let c_hex = r"(?:0x)?([[:xdigit:]]+)";
        let c_hex_range = format!(r"{SP}*{c_hex}(?:{SP}|-)?{SP}*{c_hex}:?");
        let c_perm = format!(r"(?:{SP}+([-rwxp]+))?");
        let c_space_hex = format!(r"(?:{SP}+([[:xdigit:]]+))?");
        let hex_pair = format!(r"{SP}+[[:xdigit:]]+:[[:xdigit:]]+");
        let space_digits = format!(r"{SP}+[0-9]+");
        let c_space_string = format!(r"(?:{SP}+({NSP}+))?");
        let c_space_at_offset = format!(r"(?:{SP}+\(@([[:xdigit:]]+)\))?");
        let proc =
            format!("^{c_hex_range}{c_perm}{c_space_hex}{hex_pair}{space_digits}{c_space_string}");
        let brief =
            format!("^{c_hex_range}{c_perm}{c_space_string}{c_space_at_offset}{c_space_hex}");
        MapRes {
            proc_maps: Regex::new(&proc).expect("static regex"),
            brief_maps: Regex::new(&brief).expect("static regex"),
            log_info: Regex::new(&format!(r"^[^\[\]]+:[0-9]+\]{SP}")).expect("static regex"),
            lib: Regex::new(r"([.]so$|[.]so[._][0-9]+)").expect("static regex"),
        }
    })
}

/// Go's `strings.NewReplacer(pairs...)`: at each position the first pair
/// (in argument order) whose old string matches wins.
fn replace_all(line: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    'outer: while i < line.len() {
        for (old, new) in pairs {
            if line[i..].starts_with(old.as_str()) {
                out.push_str(new);
                i += old.len();
                continue 'outer;
            }
        }
        let c = line[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

enum Entry {
    Mapping(Mapping),
    Skip,
    Unrecognized,
}

fn parse_mapping_entry(l: &str) -> Entry {
    let r = res();
    let (start, end, perm, file, offset, build_id);
    if let Some(m) = r.proc_maps.captures(l) {
        let g = |i| m.get(i).map_or("", |x: regex::Match<'_>| x.as_str());
        (start, end, perm, offset, file, build_id) = (g(1), g(2), g(3), g(4), g(5), "");
    } else if let Some(m) = r.brief_maps.captures(l) {
        let g = |i| m.get(i).map_or("", |x: regex::Match<'_>| x.as_str());
        (start, end, perm, file, offset, build_id) = (g(1), g(2), g(3), g(4), g(5), g(6));
    } else {
        return Entry::Unrecognized;
    }
    if !perm.is_empty() && !perm.contains('x') {
        return Entry::Skip;
    }
    let Some(start) = super::scan::parse_uint(start, 16) else {
        return Entry::Unrecognized;
    };
    let Some(limit) = super::scan::parse_uint(end, 16) else {
        return Entry::Unrecognized;
    };
    let offset = if offset.is_empty() {
        0
    } else {
        match super::scan::parse_uint(offset, 16) {
            Some(o) => o,
            None => return Entry::Unrecognized,
        }
    };
    Entry::Mapping(Mapping {
        start,
        limit,
        offset,
        file: file.to_string(),
        build_id: build_id.to_string(),
        ..Mapping::default()
    })
}

/// pprof's `parseProcMapsFromScanner`: mappings from the remaining lines;
/// `attr=value` lines define `$attr` substitutions; other lines are ignored.
pub(crate) fn parse_proc_maps(s: &mut Scanner<'_>) -> Vec<Mapping> {
    let r = res();
    let mut out = Vec::new();
    let mut attrs: Vec<(String, String)> = Vec::new();
    while s.scan() {
        let raw = s.text();
        let raw = match r.log_info.find(raw) {
            Some(m) => &raw[m.end()..],
            None => raw,
        };
        let line = replace_all(raw, &attrs);
        match parse_mapping_entry(&line) {
            Entry::Mapping(m) => out.push(m),
            Entry::Skip => {}
            Entry::Unrecognized => {
                if let Some((k, v)) = line.split_once('=') {
                    attrs.push((
                        format!("${}", super::scan::trim_space(k)),
                        super::scan::trim_space(v).to_string(),
                    ));
                }
            }
        }
    }
    out
}

fn adjacent(m1: &Mapping, m2: &Mapping) -> bool {
    if !m1.file.is_empty() && !m2.file.is_empty() && m1.file != m2.file {
        return false;
    }
    if !m1.build_id.is_empty() && !m2.build_id.is_empty() && m1.build_id != m2.build_id {
        return false;
    }
    if m1.limit != m2.start {
        return false;
    }
    if m1.offset != 0 && m2.offset != 0 {
        let offset = m1.offset.wrapping_add(m1.limit.wrapping_sub(m1.start));
        if offset != m2.offset {
            return false;
        }
    }
    true
}

/// pprof's `massageMappings`. Legacy locations have no mapping yet at this
/// point, so there are no location references to update.
pub(crate) fn massage_mappings(mappings: &mut Vec<Mapping>) {
    if mappings.len() > 1 {
        let mut merged: Vec<Mapping> = Vec::with_capacity(mappings.len());
        for m in mappings.drain(..) {
            if let Some(lm) = merged.last_mut()
                && adjacent(lm, &m)
            {
                lm.limit = m.limit;
                if !m.file.is_empty() {
                    lm.file = m.file;
                }
                if !m.build_id.is_empty() {
                    lm.build_id = m.build_id;
                }
                continue;
            }
            merged.push(m);
        }
        *mappings = merged;
    }
    let lib = &res().lib;
    for i in 0..mappings.len() {
        let file = mappings[i].file.replace("(deleted)", "");
        let file = super::scan::trim_space(&file);
        if file.is_empty() || lib.is_match(file) || file.starts_with('[') {
            continue;
        }
        mappings.swap(0, i);
        break;
    }
    for (i, m) in mappings.iter_mut().enumerate() {
        m.id = i as u64 + 1;
    }
}

/// pprof's `remapMappingIDs`: assigns each location with a non-zero address
/// to the mapping containing it, creating one catch-all mapping when needed.
pub(crate) fn remap_mappings(
    mappings: &mut Vec<Mapping>,
    locations: &mut [Location],
) -> Result<(), ParseError> {
    if mappings.len() > 1
        && mappings[0].file.starts_with("/anon_hugepage")
        && mappings[0].limit == mappings[1].start
    {
        mappings.remove(0);
    }
    if let Some(m) = mappings.first_mut()
        && m.start.wrapping_sub(m.offset) == 0x400000
    {
        m.start = 0x400000;
        m.offset = 0;
    }
    let mut fake: Option<usize> = None;
    'next: for l in locations.iter_mut() {
        let a = l.address;
        if l.mapping.is_some() || a == 0 {
            continue;
        }
        for (i, m) in mappings.iter().enumerate() {
            if m.start <= a && a < m.limit {
                l.mapping = Some(table_index(i, "mappings")?);
                continue 'next;
            }
        }
        for (i, m) in mappings.iter_mut().enumerate() {
            if m.offset != 0 && m.start.wrapping_sub(m.offset) <= a && a < m.start {
                m.start = m.start.wrapping_sub(m.offset);
                m.offset = 0;
                l.mapping = Some(table_index(i, "mappings")?);
                continue 'next;
            }
        }
        let idx = *fake.get_or_insert_with(|| {
            mappings.push(Mapping {
                id: 1,
                limit: u64::MAX,
                ..Mapping::default()
            });
            mappings.len() - 1
        });
        l.mapping = Some(table_index(idx, "mappings")?);
    }
    for (i, m) in mappings.iter_mut().enumerate() {
        m.id = i as u64 + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(text: &str) -> Vec<Mapping> {
        let mut s = Scanner::new(text);
        parse_proc_maps(&mut s)
    }

    #[test]
    fn proc_maps_lines() {
        // Cases from pprof's legacy_profile_test.go TestParseMappingEntry.
        let m = maps("02e00000-02e8a000 r-xp 02a00000 00:00 15953927   /foo/bin\n");
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].start, m[0].limit, m[0].offset),
            (0x2e00000, 0x2e8a000, 0x2a00000)
        );
        assert_eq!(m[0].file, "/foo/bin");
        let m = maps("02e00000-02e8a000 r--p 02a00000 00:00 15953927   /foo/bin\n");
        assert!(m.is_empty());
        let m = maps("7f5e5435e000-7f5e5455e000 ---p 00002000 00:00 1531        /foo/lib.so\n");
        assert!(m.is_empty());
        let m = maps("0x40000-0x80000 /path/to/binary      (@FF00)            abc123456\n");
        assert_eq!(
            (m[0].start, m[0].limit, m[0].offset),
            (0x40000, 0x80000, 0xff00)
        );
        assert_eq!(
            (m[0].file.as_str(), m[0].build_id.as_str()),
            ("/path/to/binary", "abc123456")
        );
        let m = maps("W0713 00:24:50.123 12345 log.cc:42] 0x40000-0x80000 /bin/x\n");
        assert_eq!(m[0].file, "/bin/x");
        let m = maps("dir=/opt\n0x1000-0x2000 $dir/app\n");
        assert_eq!(m[0].file, "/opt/app");
    }

    #[test]
    fn fake_mapping_for_unmapped() {
        let mut ms = Vec::new();
        let mut locs = vec![
            Location {
                address: 5,
                ..Location::default()
            },
            Location {
                address: 0,
                ..Location::default()
            },
        ];
        remap_mappings(&mut ms, &mut locs).unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].limit, u64::MAX);
        assert_eq!(locs[0].mapping, Some(0));
        assert_eq!(locs[1].mapping, None);
    }
}
