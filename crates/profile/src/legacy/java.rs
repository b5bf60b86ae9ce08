//! Java legacy profiles, read as pprof's `legacy_java_profile.go` reads
//! them: the binary CPU profile whose header marks a Java program (third
//! word 1, see `super::cpu`), and the `--- heapz 1 ---` and
//! `--- contentionz 1 ---` texts.
//!
//! Their "addresses" are method ids, not PCs. Each profile ends with a
//! symbol section, `0xID function (File.java:line)` per id, from which
//! pprof builds one Function per name; then it zeroes every address so
//! that equal frames merge. Nothing here depends on
//! `ParseOptions::symbolize_text`: pprof itself uses these symbols.

use super::cpu::{Word, read_samples};
use super::heap::scale_heap_sample;
use super::scan;
use super::{Builder, Outcome, malformed, parsed};
use crate::error::ParseError;
use crate::model::{Function, Line, Mapping, NumLabel, Profile, Sample, ValueType, table_index};
use crate::parse::{ParseOptions, SourceFormat};
use regex::{Captures, Regex};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, OnceLock};

/// The heapz agent samples one allocation per 512 KiB on average.
const HEAPZ_SAMPLING_RATE: i64 = 512 * 1024;

/// pprof's regexes. Go's `\w`, `\d`, `[[:xdigit:]]` and `\s` are ASCII
/// (`\s` is `[\t\n\f\r ]`, without `\v`); the `regex` crate's are Unicode,
/// so the classes are spelled out. Both engines give leftmost-first
/// submatches, so the captures are Go's.
struct Res {
    attribute: Regex,
    sample: Regex,
    location: Regex,
    file_line: Regex,
    path: Regex,
}

fn res() -> &'static Res {
    static RES: OnceLock<Res> = OnceLock::new();
    RES.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("static regex");
        Res {
            attribute: re(r"([0-9A-Za-z_ ]+)=([0-9A-Za-z_ ]+)"),
            sample: re(r" *([0-9]+) +([0-9]+) +@ +([ x0-9a-f]*)"),
            location: re(r"^[\t\n\f\r ]*0x([0-9A-Fa-f]+)[\t\n\f\r ]+(.*)[\t\n\f\r ]*$"),
            file_line: re(r"^(.*)[\t\n\f\r ]+\((.+):(-?[0-9]+)\)$"),
            path: re(r"^(.*)[\t\n\f\r ]+\((.*)\)$"),
        }
    })
}

/// Capture `i`, empty if it did not take part.
fn group<'h>(c: &Captures<'h>, i: usize) -> &'h str {
    c.get(i).map_or("", |m| m.as_str())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Heap,
    Contention,
}

/// pprof's `javaCPUProfile`: `data` is what follows the five header words,
/// `period` the sampling period in microseconds.
pub(crate) fn cpu_profile(
    data: &[u8],
    period: i64,
    f: Word,
    opts: &ParseOptions,
) -> Result<Outcome, ParseError> {
    let mut b = Builder::new(opts);
    b.set_types(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period.wrapping_mul(1000),
    );
    let Some(rest) = read_samples(data, f, false, &mut b)? else {
        return Ok(Outcome::Unrecognized);
    };
    let profile = symbolize(b, &String::from_utf8_lossy(rest))?;
    Ok(parsed(profile, SourceFormat::LegacyJava, None))
}

/// pprof's `parseJavaProfile`: the heapz and contentionz texts.
pub(crate) fn parse(text: &str, opts: &ParseOptions) -> Result<Outcome, ParseError> {
    let Some((first, body)) = text.split_once('\n') else {
        return Ok(Outcome::Unrecognized);
    };
    let kind = match scan::trim_space(first) {
        "--- heapz 1 ---" => Kind::Heap,
        "--- contentionz 1 ---" => Kind::Contention,
        _ => return Ok(Outcome::Unrecognized),
    };
    let mut b = Builder::new(opts);
    // pprof sets an empty period type; `-raw` prints it ("PeriodType:  ").
    b.profile.period_type = Some(ValueType::new("", ""));
    let Some(body) = read_attributes(kind, body, &mut b.profile)? else {
        return Ok(Outcome::Unrecognized);
    };
    let symbols = read_text_samples(kind, body, &mut b)?;
    let profile = symbolize(b, symbols)?;
    Ok(parsed(profile, SourceFormat::LegacyJava, None))
}

/// Go's `strconv.ParseInt(s, 0, 64)` with pprof's wording of the failure.
fn int(s: &str, context: impl FnOnce() -> String) -> Result<i64, ParseError> {
    crate::strconv::parse_int(s, 0).map_err(|e| {
        malformed(format!(
            "{}: {}",
            context(),
            scan::num_error("ParseInt", s, e)
        ))
    })
}

/// pprof's `parseJavaHeader`: the `key = value` lines after the header.
/// Only `\n`-terminated lines count (pprof looks for the next newline), and
/// the first line that is no attribute starts the samples. `None` is
/// `errUnrecognized`: another format's attribute, or a format other than
/// java.
fn read_attributes<'a>(
    kind: Kind,
    mut b: &'a str,
    p: &mut Profile,
) -> Result<Option<&'a str>, ParseError> {
    while let Some((raw, next)) = b.split_once('\n') {
        let line = scan::trim_space(raw);
        if !line.is_empty() {
            // Unanchored, as in pprof: `# a = b` is attribute "a".
            let Some(c) = res().attribute.captures(line) else {
                return Ok(Some(b));
            };
            let attr = scan::trim_space(group(&c, 1));
            let value = scan::trim_space(group(&c, 2));
            let number = || int(value, || format!("failed to parse attribute {line}"));
            match (kind, attr) {
                (_, "format") => {
                    if value != "java" {
                        return Ok(None);
                    }
                }
                (Kind::Heap, "resolution") => {
                    p.sample_types = vec![
                        ValueType::new("inuse_objects", "count"),
                        ValueType::new("inuse_space", value),
                    ];
                }
                (Kind::Contention, "resolution") => {
                    p.sample_types = vec![
                        ValueType::new("contentions", "count"),
                        ValueType::new("delay", value),
                    ];
                }
                (Kind::Contention, "sampling period") => {
                    p.period_type = Some(ValueType::new("contentions", "count"));
                    p.period = number()?;
                }
                (Kind::Contention, "ms since reset") => {
                    p.duration_nanos = number()?.wrapping_mul(1_000_000);
                }
                _ => return Ok(None),
            }
        }
        b = next;
    }
    Ok(Some(b))
}

/// pprof's `parseJavaSamples`: `total count @ 0xid...` lines (the reverse
/// of the usual count-first order) up to the first other line, which starts
/// the symbol section. Returns that section.
fn read_text_samples<'a>(
    kind: Kind,
    mut b: &'a str,
    bld: &mut Builder,
) -> Result<&'a str, ParseError> {
    let bytes_key: Arc<str> = Arc::from("bytes");
    while let Some((raw, next)) = b.split_once('\n') {
        let line = scan::trim_space(raw);
        if !line.is_empty() {
            let Some(c) = res().sample.captures(line) else {
                return Ok(b);
            };
            let (total, count) = (group(&c, 1), group(&c, 2));
            let addrs = scan::parse_hex_addresses(group(&c, 3))
                .map_err(|e| malformed(format!("malformed sample: {line}: {e}")))?;
            let locations = addrs
                .into_iter()
                .map(|a| bld.loc(a))
                .collect::<Result<_, _>>()?;
            let context = || format!("parsing sample {line}");
            let mut values = [int(count, context)?, int(total, context)?];
            let mut num_labels = Vec::new();
            match kind {
                Kind::Heap => {
                    if values[0] == 0 {
                        return Err(malformed(format!(
                            "parsing sample {line}: second value must be non-zero"
                        )));
                    }
                    // The average object size, before unsampling.
                    num_labels.push(NumLabel {
                        key: bytes_key.clone(),
                        value: values[1].wrapping_div(values[0]),
                        unit: None,
                    });
                    let (n, size) = scale_heap_sample(values[0], values[1], HEAPZ_SAMPLING_RATE);
                    values = [n, size];
                }
                Kind::Contention => {
                    let period = bld.profile.period;
                    if period != 0 {
                        values = values.map(|v| v.wrapping_mul(period));
                    }
                }
            }
            bld.profile.samples.push(Sample {
                locations,
                values: values.to_vec(),
                labels: Vec::new(),
                num_labels,
            });
        }
        b = next;
    }
    Ok(b)
}

/// Go's `filepath.Base` on Unix.
fn base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit_once('/').map_or(trimmed, |(_, last)| last)
}

/// What one symbol line says about its location: function name, file, line.
fn shape(desc: &str) -> (&str, &str, i64) {
    let r = res();
    if let Some(c) = r.file_line.captures(desc) {
        // Unparsable or non-positive line numbers are unknown (0).
        let line = scan::parse_int(group(&c, 3), 10)
            .filter(|&n| n > 0)
            .unwrap_or(0);
        return (group(&c, 1), group(&c, 2), line);
    }
    if let Some(c) = r.path.captures(desc) {
        // A native frame names its shared library; only the file name is kept.
        return (group(&c, 1), base(group(&c, 2)), 0);
    }
    if desc.contains("generated stub/JIT") {
        return ("STUB", "", 0);
    }
    // Agent states such as "GC" or "VM" are functions of their own.
    (desc, "", 0)
}

/// pprof's `parseJavaLocations` and what follows it: the symbol section
/// gives locations their line, then the ids are renumbered, locations
/// without a symbol get a fake mapping, and every address is zeroed
/// (`Aggregate(..., address=false)`).
fn symbolize(bld: Builder, text: &str) -> Result<Profile, ParseError> {
    let r = res();
    // One function per name; the file of its first line wins.
    let mut functions: Vec<Function> = Vec::new();
    let mut by_name: HashMap<String, u32> = HashMap::new();
    let mut lines: Vec<Option<Line>> = vec![None; bld.profile.locations.len()];
    // Every line, the last one also without a newline.
    for raw in text.split('\n') {
        let line = scan::trim_space(raw);
        if line.is_empty() {
            continue;
        }
        let Some(c) = r.location.captures(line) else {
            continue;
        };
        let hex = group(&c, 1);
        let addr = crate::strconv::parse_uint(hex, 16).map_err(|e| {
            malformed(format!(
                "parsing sample {line}: {}",
                scan::num_error("ParseUint", hex, e)
            ))
        })?;
        // Ids no sample uses are skipped.
        let Some(loc) = bld.location_at(addr) else {
            continue;
        };
        let (name, file, line_no) = shape(group(&c, 2));
        let fi = match by_name.entry(name.to_string()) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let fi = table_index(functions.len(), "functions")?;
                functions.push(Function {
                    id: 0,
                    name: name.to_string(),
                    system_name: name.to_string(),
                    filename: file.to_string(),
                    start_line: 0,
                });
                *e.insert(fi)
            }
        };
        // A repeated id: its last line wins.
        lines[loc as usize] = Some(Line {
            function: Some(fi),
            line: line_no,
            column: 0,
        });
    }

    let mut p = bld.profile;
    // remapLocationIDs would keep the table as it is: locations were
    // created in order of first use by the samples, and every one is used.
    // remapFunctionIDs numbers functions in order of use by locations and
    // drops those no location kept (an id whose line was replaced).
    let mut old_functions: Vec<Option<Function>> = functions.into_iter().map(Some).collect();
    let mut new_index: Vec<Option<u32>> = vec![None; old_functions.len()];
    for (l, line) in p.locations.iter_mut().zip(lines) {
        let Some(mut line) = line else { continue };
        if let Some(old) = line.function {
            let slot = &mut new_index[old as usize];
            let idx = match *slot {
                Some(idx) => idx,
                None => {
                    let idx = table_index(p.functions.len(), "functions")?;
                    let mut f = old_functions[old as usize].take().unwrap_or_default();
                    f.id = u64::from(idx) + 1;
                    p.functions.push(f);
                    *slot = Some(idx);
                    idx
                }
            };
            line.function = Some(idx);
        }
        l.lines = vec![line];
        // Symbolized locations lose their address before the mappings are
        // made.
        l.address = 0;
    }
    // remapMappingIDs: a location that kept its address gets the one fake
    // mapping, which covers everything. Then Aggregate(address=false)
    // zeroes every address.
    let mut fake: Option<u32> = None;
    for (i, l) in p.locations.iter_mut().enumerate() {
        l.id = i as u64 + 1;
        if l.address != 0 {
            if fake.is_none() {
                p.mappings.push(Mapping {
                    id: 1,
                    limit: u64::MAX,
                    ..Mapping::default()
                });
                fake = Some(0);
            }
            l.mapping = fake;
            l.address = 0;
        }
    }

    // Aggregate ends with CheckValid; of its checks only this one can fail
    // here (a heapz or contentionz text without a `resolution` line).
    if p.sample_types.is_empty() && !p.samples.is_empty() {
        return Err(malformed("missing sample type information"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_base_like_go() {
        for (path, want) in [
            ("", "."),
            ("/", "/"),
            ("///", "/"),
            ("/usr/lib/libjvm.so", "libjvm.so"),
            ("lib/", "lib"),
            ("a.so", "a.so"),
        ] {
            assert_eq!(base(path), want, "{path:?}");
        }
    }

    #[test]
    fn symbol_shapes() {
        // Expectations from go tool pprof 1.27 on the same lines.
        for (desc, want) in [
            ("com.x.F.run (F.java:12)", ("com.x.F.run", "F.java", 12)),
            ("a.b (A.java:-3)", ("a.b", "A.java", 0)),
            ("zero (z.java:0099)", ("zero", "z.java", 99)),
            ("f  (:1)", ("f ", ":1", 0)),
            ("f (x) (a:b:7)", ("f (x)", "a:b", 7)),
            ("lib (/usr/lib/libjvm.so)", ("lib", "libjvm.so", 0)),
            ("g ()", ("g", ".", 0)),
            ("gen generated stub/JIT thing", ("STUB", "", 0)),
            ("GC", ("GC", "", 0)),
            ("big (B.java:99999999999999999999)", ("big", "B.java", 0)),
        ] {
            assert_eq!(shape(desc), want, "{desc:?}");
        }
    }

    #[test]
    fn heapz_without_every_symbol() {
        let text = "--- heapz 1 ---\nformat = java\nresolution = bytes\n 100 10 @ 0x1 0x2 0x0\n\n0x1 f (a:1)\n";
        let Outcome::Parsed(p) = parse(text, &ParseOptions::default()).unwrap() else {
            panic!("unrecognized");
        };
        let p = p.profile;
        assert_eq!(p.period_type, Some(ValueType::new("", "")));
        assert_eq!(p.samples.len(), 1);
        // 10 objects of 10 bytes, unsampled at 512 KiB.
        assert_eq!(p.samples[0].values, [524293, 5242930]);
        assert_eq!(p.samples[0].num_labels[0].value, 10);
        // Only 0x2 kept its address until the mappings were made.
        let maps: Vec<_> = p.locations.iter().map(|l| l.mapping).collect();
        assert_eq!(maps, [None, Some(0), None]);
        assert_eq!(p.mappings[0].limit, u64::MAX);
        assert!(p.locations.iter().all(|l| l.address == 0));
        assert_eq!(p.functions.len(), 1);
        assert_eq!(p.functions[0].filename, "a");
    }

    #[test]
    fn replaced_lines_drop_their_function() {
        let text = "--- contentionz 1 ---\nresolution=us\n 1 1 @ 0x1 0x2\n\n0x2 old (O.java:3)\n0x1 dup (B.java:1)\n0x2 dup (C.java:2)\n";
        let Outcome::Parsed(p) = parse(text, &ParseOptions::default()).unwrap() else {
            panic!("unrecognized");
        };
        let p = p.profile;
        let names: Vec<_> = p
            .functions
            .iter()
            .map(|f| (f.id, f.name.as_str()))
            .collect();
        assert_eq!(names, [(1, "dup")]);
        let lines: Vec<_> = p.locations.iter().map(|l| l.lines[0].line).collect();
        assert_eq!(lines, [1, 2]);
    }
}
