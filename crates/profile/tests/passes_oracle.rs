//! Runs every case of tests/data/passes/cases.txt through heapdrift's passes
//! and compares `write_raw` (plus the passes' results) with the goldens that
//! gen.sh made by running the same cases through pprof's own Go code.
use profile::passes::{self, merge::MergeError};
use profile::raw::write_raw;
use profile::{
    Function, Label, LabelStr, Line, Location, Mapping, NumLabel, Profile, Sample, ValueType,
};
use regex::Regex;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

fn tok(s: &str) -> String {
    if s == "_" { String::new() } else { unesc(s) }
}

/// Undoes the oracle's `%XX` escaping of bytes the syntax uses.
fn unesc(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn num(s: &str) -> i64 {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).unwrap(),
        None => s.parse::<i64>().unwrap(),
    };
    if neg { -v } else { v }
}

fn unum(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

fn list(s: &str) -> Vec<&str> {
    if s == "_" {
        Vec::new()
    } else {
        s.split(',').collect()
    }
}

fn re(s: &str) -> Option<Regex> {
    if s == "_" {
        None
    } else {
        Some(Regex::new(s).unwrap())
    }
}

fn rest<'a>(line: &'a str, kw: &str) -> &'a str {
    let r = line.strip_prefix(kw).unwrap();
    r.strip_prefix(' ').unwrap_or(r)
}

fn build(lines: &[String]) -> Profile {
    let mut p = Profile::default();
    let mut maps: HashMap<u64, u32> = HashMap::new();
    let mut funcs: HashMap<u64, u32> = HashMap::new();
    let mut locs: HashMap<u64, u32> = HashMap::new();
    let arc = |s: &str| -> LabelStr { Arc::from(s) };
    for line in lines {
        let fs: Vec<&str> = line.split_whitespace().collect();
        match fs[0] {
            "st" => p
                .sample_types
                .push(ValueType::new(&tok(fs[1]), &tok(fs[2]))),
            "dst" => p.default_sample_type = tok(fs[1]),
            "pt" => p.period_type = Some(ValueType::new(&tok(fs[1]), &tok(fs[2]))),
            "period" => p.period = num(fs[1]),
            "time" => p.time_nanos = num(fs[1]),
            "dur" => p.duration_nanos = num(fs[1]),
            "comment" => p.comments.push(rest(line, "comment").into()),
            "doc" => p.doc_url = rest(line, "doc").into(),
            "drop" => p.drop_frames = rest(line, "drop").into(),
            "keep" => p.keep_frames = rest(line, "keep").into(),
            "m" => {
                let b = fs[7].as_bytes();
                maps.insert(unum(fs[1]), p.mappings.len() as u32);
                p.mappings.push(Mapping {
                    id: unum(fs[1]),
                    start: unum(fs[2]),
                    limit: unum(fs[3]),
                    offset: unum(fs[4]),
                    file: tok(fs[5]),
                    build_id: tok(fs[6]),
                    has_functions: b[0] == b'1',
                    has_filenames: b[1] == b'1',
                    has_line_numbers: b[2] == b'1',
                    has_inline_frames: b[3] == b'1',
                    ..Default::default()
                });
            }
            "f" => {
                funcs.insert(unum(fs[1]), p.functions.len() as u32);
                p.functions.push(Function {
                    id: unum(fs[1]),
                    name: tok(fs[2]),
                    system_name: tok(fs[3]),
                    filename: tok(fs[4]),
                    start_line: num(fs[5]),
                });
            }
            "l" => {
                let mut l = Location {
                    id: unum(fs[1]),
                    address: unum(fs[3]),
                    is_folded: fs[4] == "1",
                    ..Default::default()
                };
                let m = unum(fs[2]);
                if m != 0 {
                    l.mapping = Some(maps[&m]);
                }
                for ln in &fs[5..] {
                    let parts: Vec<&str> = ln.split(':').collect();
                    let f = unum(parts[0]);
                    l.lines.push(Line {
                        function: if f == 0 { None } else { Some(funcs[&f]) },
                        line: num(parts[1]),
                        column: num(parts[2]),
                    });
                }
                locs.insert(l.id, p.locations.len() as u32);
                p.locations.push(l);
            }
            "s" => {
                let mut s = Sample {
                    values: list(fs[1]).into_iter().map(num).collect(),
                    locations: list(fs[2]).into_iter().map(|id| locs[&unum(id)]).collect(),
                    ..Default::default()
                };
                for lab in &fs[3..] {
                    if let Some(n) = lab.strip_prefix('#') {
                        let (k, vu) = n.split_once('=').unwrap();
                        let (v, u) = match vu.split_once(':') {
                            Some((v, u)) => (v, Some(arc(&unesc(u)))),
                            None => (vu, None),
                        };
                        s.num_labels.push(NumLabel {
                            key: arc(&unesc(k)),
                            value: num(v),
                            unit: u,
                        });
                    } else {
                        let (k, v) = lab.split_once('=').unwrap();
                        s.labels.push(Label {
                            key: arc(&unesc(k)),
                            value: arc(&unesc(v)),
                        });
                    }
                }
                p.samples.push(s);
            }
            other => panic!("unknown profile line {other}"),
        }
    }
    p
}

fn run(mut ps: Vec<Profile>, ops: &[String]) -> String {
    let mut out = String::new();
    for op in ops {
        let mut fs: Vec<&str> = op.split_whitespace().collect();
        let mut t = 0usize;
        if let Some(n) = fs[0].strip_prefix('@') {
            t = n.parse().unwrap();
            fs.remove(0);
        }
        match fs[0] {
            "merge" => match passes::merge(&ps) {
                Ok(m) => ps = vec![m],
                Err(_) => out.push_str("# merge error\n"),
            },
            "compact" => ps[t] = passes::compact(&ps[t]),
            "scale" => passes::scale(&mut ps[t], fs[1].parse().unwrap()),
            "scalen" => {
                let rs: Vec<f64> = list(fs[1]).iter().map(|r| r.parse().unwrap()).collect();
                if let Err(e) = passes::scale_n(&mut ps[t], &rs) {
                    let _ = writeln!(out, "# scalen: {e}");
                }
            }
            "normalize" => {
                let (a, b) = ps.split_at_mut(1);
                if passes::normalize(&mut a[0], &b[0]).is_err() {
                    out.push_str("# normalize error\n");
                }
            }
            "setlabel" => passes::set_label(&mut ps[t], fs[1], &list(fs[2])),
            "removelabel" => passes::remove_label(&mut ps[t], fs[1]),
            "setnumlabel" => {
                let vs: Vec<i64> = list(fs[2]).into_iter().map(num).collect();
                passes::set_num_label(&mut ps[t], fs[1], &vs, &list(fs[3]));
            }
            "aggregate" => {
                let a: Vec<bool> = fs[1].bytes().map(|c| c == b'1').collect();
                let r = passes::aggregate(&mut ps[t], a[0], a[1], a[2], a[3], a[4], a[5]);
                match r {
                    Ok(()) => out.push_str("# aggregate: <nil>\n"),
                    Err(profile::ParseError::Invalid(m)) => {
                        let _ = writeln!(out, "# aggregate: {m}");
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            "filter" => {
                let (f, i, h, s) = (re(fs[1]), re(fs[2]), re(fs[3]), re(fs[4]));
                let r = passes::filter_samples_by_name(
                    &mut ps[t],
                    f.as_ref(),
                    i.as_ref(),
                    h.as_ref(),
                    s.as_ref(),
                );
                let _ = writeln!(out, "# filter: {} {} {} {}", r.0, r.1, r.2, r.3);
            }
            "showfrom" => {
                let r = passes::show_from(&mut ps[t], &re(fs[1]).unwrap());
                let _ = writeln!(out, "# showfrom: {r}");
            }
            "tagfilter" => {
                let (s, h) = (re(fs[1]), re(fs[2]));
                let r = passes::filter_tags_by_name(&mut ps[t], s.as_ref(), h.as_ref());
                let _ = writeln!(out, "# tagfilter: {} {}", r.0, r.1);
            }
            "tagfocus" => {
                let (fk, fv, ik, iv) = (fs[1], fs[2], fs[3], fs[4]);
                let r = passes::filter_samples_by_tag(
                    &mut ps[t],
                    |s| fk == "_" || passes::has_label(s, fk, fv),
                    |s| ik != "_" && passes::has_label(s, ik, iv),
                );
                let _ = writeln!(out, "# tagfocus: {} {}", r.0, r.1);
            }
            "prune" => {
                let keep = re(fs[2]);
                passes::prune(&mut ps[t], &re(fs[1]).unwrap(), keep.as_ref());
            }
            "removeuninteresting" => {
                let r = passes::remove_uninteresting(&mut ps[t]).is_ok();
                let _ = writeln!(out, "# removeuninteresting: {r}");
            }
            "setframes" => {
                ps[t].drop_frames = tok(fs[1]);
                ps[t].keep_frames = tok(fs[2]);
            }
            "prunefrom" => passes::prune_from(&mut ps[t], &re(fs[1]).unwrap()),
            "tagroot" => {
                let r =
                    passes::add_label_nodes(
                        &mut ps[t],
                        &list(fs[1]),
                        &list(fs[2]),
                        |v, u| match u {
                            Some(u) => format!("{v}{u}U"),
                            None => v.to_string(),
                        },
                    );
                let _ = writeln!(out, "# tagroot: {} {}", r.0, r.1);
            }
            "compatibilize" => {
                if let Err(e) = passes::compatibilize_sample_types(&mut ps) {
                    assert_eq!(e, MergeError::EmptyCommonSampleTypes);
                    let _ = writeln!(out, "# compatibilize: {e}");
                }
            }
            "numlabelunits" => {
                let (units, ignored) = passes::num_label_units(&ps[t]);
                for (k, u) in &units {
                    let _ = writeln!(out, "# unit {k}={u}");
                }
                for (k, us) in &ignored {
                    let _ = writeln!(out, "# ignored {k}={}", us.join(","));
                }
            }
            "checkvalid" => match passes::check_valid(&ps[t]) {
                Ok(()) => out.push_str("# checkvalid: <nil>\n"),
                Err(profile::ParseError::Invalid(m)) => {
                    let _ = writeln!(out, "# checkvalid: {m}");
                }
                Err(e) => panic!("{e}"),
            },
            "copy" => ps[t] = passes::copy_profile(&ps[t]),
            "hasfunctions" => {
                let _ = writeln!(
                    out,
                    "# hasfunctions: {} {}",
                    passes::has_functions(&ps[t]),
                    passes::has_file_lines(&ps[t])
                );
            }
            other => panic!("unknown op {other}"),
        }
    }
    for (i, p) in ps.iter().enumerate() {
        let _ = writeln!(out, "=== {i}");
        write_raw(p, &mut out);
    }
    out
}

#[test]
fn passes_match_pprof_oracle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/passes");
    let mut spec = String::new();
    for line in std::fs::read_to_string(dir.join("cases.txt"))
        .unwrap()
        .lines()
    {
        match line.trim().strip_prefix("include ") {
            Some(f) => spec.push_str(&std::fs::read_to_string(dir.join(f)).unwrap()),
            None => spec.push_str(line),
        }
        spec.push('\n');
    }
    let mut profiles: HashMap<String, Vec<String>> = HashMap::new();
    let mut cur: Option<String> = None;
    let mut case: Option<(String, Vec<String>)> = None;
    let mut body: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for line in spec.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let fs: Vec<&str> = line.split_whitespace().collect();
        match fs[0] {
            "profile" => {
                cur = Some(fs[1].into());
                body.clear();
            }
            "case" => {
                case = Some((
                    fs[1].into(),
                    fs[2..].iter().map(|s| s.to_string()).collect(),
                ));
                body.clear();
            }
            "end" => {
                if let Some(name) = cur.take() {
                    profiles.insert(name, std::mem::take(&mut body));
                } else {
                    let (name, ps) = case.take().unwrap();
                    let ps: Vec<Profile> = ps.iter().map(|n| build(&profiles[n])).collect();
                    let got = run(ps, &body);
                    let want =
                        std::fs::read_to_string(dir.join("golden").join(format!("{name}.txt")))
                            .unwrap_or_else(|e| panic!("golden for {name}: {e}"));
                    ran += 1;
                    if got != want {
                        let line = got
                            .lines()
                            .zip(want.lines())
                            .position(|(a, b)| a != b)
                            .unwrap_or(got.lines().count().min(want.lines().count()));
                        failures.push(format!(
                            "{name}: first difference at line {}:\n  got:  {:?}\n  want: {:?}\n--- got\n{got}--- want\n{want}",
                            line + 1,
                            got.lines().nth(line),
                            want.lines().nth(line)
                        ));
                    }
                }
            }
            _ => body.push(line.to_string()),
        }
    }
    assert!(ran >= 268, "only {ran} cases ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
