//! Shared by the legacy_* tests: pprof's `Profile.String()` (what
//! `go tool pprof -raw` prints) for the profiles legacy parsing builds.
#![allow(dead_code)]

use profile::Profile;
use std::fmt::Write;

/// Go's `time.Duration.String()` for non-negative durations.
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let trim = |v: f64| {
        let s = format!("{v:.9}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", trim(ns as f64 / 1e3));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", trim(ns as f64 / 1e6));
    }
    let h = ns / 3_600_000_000_000;
    let m = ns / 60_000_000_000 % 60;
    let s = (ns % 60_000_000_000) as f64 / 1e9;
    let mut out = String::new();
    if h > 0 {
        write!(out, "{h}h").unwrap();
    }
    if h > 0 || m > 0 {
        write!(out, "{m}m").unwrap();
    }
    write!(out, "{}s", trim(s)).unwrap();
    out
}

/// pprof's `Profile.String()` for what legacy parsing produces (no
/// comments, times or string labels without symbolization).
pub fn raw(p: &Profile) -> String {
    let mut s = String::new();
    if let Some(pt) = &p.period_type {
        writeln!(s, "PeriodType: {} {}", pt.r#type, pt.unit).unwrap();
    }
    writeln!(s, "Period: {}", p.period).unwrap();
    if p.duration_nanos != 0 {
        let d: String = go_duration(p.duration_nanos).chars().take(4).collect();
        writeln!(s, "Duration: {d}").unwrap();
    }
    writeln!(s, "Samples:").unwrap();
    let types: Vec<String> = p
        .sample_types
        .iter()
        .map(|t| format!("{}/{}", t.r#type, t.unit))
        .collect();
    writeln!(s, "{}", types.join(" ")).unwrap();
    for smp in &p.samples {
        let mut line = String::new();
        for v in &smp.values {
            write!(line, " {v:>10}").unwrap();
        }
        line.push_str(": ");
        for &l in &smp.locations {
            write!(line, "{} ", p.location(l).id).unwrap();
        }
        writeln!(s, "{line}").unwrap();
        if !smp.labels.is_empty() {
            let mut keys: Vec<&str> = smp.labels.iter().map(|l| &*l.key).collect();
            keys.sort();
            keys.dedup();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{k}:[{}]",
                        smp.label_values(k).collect::<Vec<_>>().join(" ")
                    )
                })
                .collect();
            writeln!(s, "                {}", parts.join(" ")).unwrap();
        }
        if !smp.num_labels.is_empty() {
            let mut keys: Vec<&str> = smp.num_labels.iter().map(|l| &*l.key).collect();
            keys.dedup();
            let mut parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    let vals: Vec<String> =
                        smp.num_label_values(k).map(|v| v.to_string()).collect();
                    format!("{k}:[{}]", vals.join(" "))
                })
                .collect();
            parts.sort();
            writeln!(s, "                {}", parts.join(" ")).unwrap();
        }
    }
    writeln!(s, "Locations").unwrap();
    for l in &p.locations {
        let mut ls = format!("{:>6}: {:#x} ", l.id, l.address);
        if let Some(m) = l.mapping {
            write!(ls, "M={} ", p.mapping(m).id).unwrap();
        }
        if l.lines.is_empty() {
            writeln!(s, "{ls}").unwrap();
        }
        for ln in &l.lines {
            let f = ln.function.map(|f| p.function(f));
            let text = match f {
                Some(f) => {
                    let mut t = format!(
                        "{} {}:{}:{} s={}",
                        f.name, f.filename, ln.line, ln.column, f.start_line
                    );
                    if f.name != f.system_name {
                        write!(t, "({})", f.system_name).unwrap();
                    }
                    t
                }
                None => "??".to_string(),
            };
            writeln!(s, "{ls}{text}").unwrap();
            ls = "             ".to_string();
        }
    }
    writeln!(s, "Mappings").unwrap();
    for m in &p.mappings {
        let mut bits = String::new();
        for (on, b) in [
            (m.has_functions, "[FN]"),
            (m.has_filenames, "[FL]"),
            (m.has_line_numbers, "[LN]"),
            (m.has_inline_frames, "[IN]"),
        ] {
            if on {
                bits.push_str(b);
            }
        }
        writeln!(
            s,
            "{}: {:#x}/{:#x}/{:#x} {} {} {}",
            m.id, m.start, m.limit, m.offset, m.file, m.build_id, bits
        )
        .unwrap();
    }
    s
}
