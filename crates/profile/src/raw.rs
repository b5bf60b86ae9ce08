//! `-raw`: pprof's `Profile.String()`, byte for byte.
use crate::model::{Location, Mapping, Profile, Sample};
use std::fmt::Write;

/// Appends pprof's `Profile.String()` rendering of `p` to `out`. `Time:` is
/// printed in UTC, as `go tool pprof` does with `TZ=UTC`.
pub fn write_raw(p: &Profile, out: &mut String) {
    for c in &p.comments {
        let _ = writeln!(out, "Comment: {c}");
    }
    if !p.doc_url.is_empty() {
        let _ = writeln!(out, "Doc: {}", p.doc_url);
    }
    if let Some(pt) = &p.period_type {
        let _ = writeln!(out, "PeriodType: {} {}", pt.r#type, pt.unit);
    }
    let _ = writeln!(out, "Period: {}", p.period);
    if p.time_nanos != 0 {
        out.push_str("Time: ");
        go_time_utc(out, p.time_nanos);
        out.push('\n');
    }
    if p.duration_nanos != 0 {
        // `%.4v` of a Duration truncates its String() to 4 runes.
        let d = go_duration(p.duration_nanos);
        let _ = writeln!(out, "Duration: {}", d.chars().take(4).collect::<String>());
    }
    out.push_str("Samples:\n");
    let mut header = String::new();
    for st in &p.sample_types {
        let dflt = if st.r#type == p.default_sample_type {
            "[dflt]"
        } else {
            ""
        };
        let _ = write!(header, "{}/{}{} ", st.r#type, st.unit, dflt);
    }
    out.push_str(header.trim());
    out.push('\n');
    for s in &p.samples {
        write_sample(p, s, out);
    }
    out.push_str("Locations\n");
    for l in &p.locations {
        write_location(p, l, out);
    }
    out.push_str("Mappings\n");
    for m in &p.mappings {
        write_mapping(m, out);
    }
}

const LABEL_INDENT: &str = "                ";

fn write_sample(p: &Profile, s: &Sample, out: &mut String) {
    for v in &s.values {
        let _ = write!(out, " {v:>10}");
    }
    out.push_str(": ");
    for &l in &s.locations {
        let _ = write!(out, "{} ", p.locations[l as usize].id);
    }
    out.push('\n');
    if !s.labels.is_empty() {
        let mut parts: Vec<String> = group_keys(s.labels.iter().map(|l| &*l.key))
            .into_iter()
            .map(|k| {
                let vals: Vec<&str> = s.label_values(k).collect();
                format!("{k}:[{}]", vals.join(" "))
            })
            .collect();
        parts.sort();
        out.push_str(LABEL_INDENT);
        out.push_str(&parts.join(" "));
        out.push('\n');
    }
    if !s.num_labels.is_empty() {
        let mut parts: Vec<String> = group_keys(s.num_labels.iter().map(|l| &*l.key))
            .into_iter()
            .map(|k| {
                let ls: Vec<_> = s.num_labels.iter().filter(|l| *l.key == *k).collect();
                // pprof's units list is empty or one per value.
                let with_units = ls.iter().any(|l| l.unit.is_some());
                let vals: Vec<String> = ls
                    .iter()
                    .map(|l| {
                        if with_units {
                            format!("{} {}", l.value, l.unit.as_deref().unwrap_or(""))
                        } else {
                            l.value.to_string()
                        }
                    })
                    .collect();
                format!("{k}:[{}]", vals.join(" "))
            })
            .collect();
        parts.sort();
        out.push_str(LABEL_INDENT);
        out.push_str(&parts.join(" "));
        out.push('\n');
    }
}

/// Distinct keys in first-seen order.
fn group_keys<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for k in keys {
        if !seen.contains(&k) {
            seen.push(k);
        }
    }
    seen
}

fn write_location(p: &Profile, l: &Location, out: &mut String) {
    let mut head = format!("{:>6}: {:#x} ", l.id, l.address);
    if let Some(m) = l.mapping {
        let _ = write!(head, "M={} ", p.mappings[m as usize].id);
    }
    if l.is_folded {
        head.push_str("[F] ");
    }
    if l.lines.is_empty() {
        out.push_str(&head);
        out.push('\n');
        return;
    }
    for (i, ln) in l.lines.iter().enumerate() {
        out.push_str(if i == 0 { &head } else { "             " });
        match ln.function {
            Some(f) => {
                let f = &p.functions[f as usize];
                let _ = write!(
                    out,
                    "{} {}:{}:{} s={}",
                    f.name, f.filename, ln.line, ln.column, f.start_line
                );
                if f.name != f.system_name {
                    let _ = write!(out, "({})", f.system_name);
                }
            }
            None => out.push_str("??"),
        }
        out.push('\n');
    }
}

fn write_mapping(m: &Mapping, out: &mut String) {
    let mut bits = String::new();
    if m.has_functions {
        bits.push_str("[FN]");
    }
    if m.has_filenames {
        bits.push_str("[FL]");
    }
    if m.has_line_numbers {
        bits.push_str("[LN]");
    }
    if m.has_inline_frames {
        bits.push_str("[IN]");
    }
    let _ = writeln!(
        out,
        "{}: {:#x}/{:#x}/{:#x} {} {} {}",
        m.id, m.start, m.limit, m.offset, m.file, m.build_id, bits
    );
}

/// Go's `time.Unix(0, nanos).String()` in UTC:
/// `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn go_time_utc(out: &mut String, nanos: i64) {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = crate::civil::civil_from_days(days);
    if y < 0 {
        let _ = write!(out, "-{:04}", -y);
    } else {
        let _ = write!(out, "{y:04}");
    }
    let _ = write!(
        out,
        "-{:02}-{:02} {:02}:{:02}:{:02}",
        mo,
        d,
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!(".{frac:09}");
        out.push_str(f.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
}

/// Go's `time.Duration.String()`: `72h3m0.5s`, `1.5s`, `2ms`, `3µs`, `0s`.
pub fn go_duration(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut s = String::new();
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".into();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (frac, int) = frac_part(u, prec);
        s.push_str(&int.to_string());
        s.push_str(&frac);
        s.push_str(unit);
    } else {
        let (frac, rest) = frac_part(u, 9);
        u = rest;
        let secs = format!("{}{}s", u % 60, frac);
        u /= 60;
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            if u > 0 {
                s.push_str(&format!("{u}h"));
            }
            s.push_str(&format!("{mins}m"));
        }
        s.push_str(&secs);
    }
    if neg {
        s.insert(0, '-');
    }
    s
}

/// Go's `fmtFrac`: the fraction of v/10^prec as ".ddd" without trailing
/// zeros (empty when zero), and v/10^prec.
fn frac_part(v: u64, prec: u32) -> (String, u64) {
    if prec == 0 {
        return (String::new(), v);
    }
    let p = 10u64.pow(prec);
    let f = v % p;
    if f == 0 {
        return (String::new(), v / p);
    }
    let digits = format!("{:0width$}", f, width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), v / p)
}
