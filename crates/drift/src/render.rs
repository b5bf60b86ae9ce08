//! The human report of `heapdrift hunt` and the envelope of its JSON form.
//!
//! Pure: a [`Report`] and a [`Header`] (what the caller read) in, text out
//! through `impl Write`. Colour is the caller's decision (a TTY, `NO_COLOR`).

use crate::finding::{Finding, Kind, Report, Verdict};
use crate::units::{Unit, amount, rate, signed_count};
use profile::civil::civil_from_days;
use serde::Serialize;
use std::io::{self, Write};

/// The smallest series for which the trend test can reach a leak verdict
/// (`Thresholds::min_points`); below it the report says more are needed.
pub const MIN_CONFIDENT_SNAPSHOTS: usize = 6;

/// What the caller read, for the report's header.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Header {
    /// The process, as far as the profiles tell (main binary's name).
    pub process: String,
    /// The main binary's build id, when the profiles carry one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub build_id: String,
    /// Snapshots used per kind (`heap`, `goroutine`, `goroutineleak`,
    /// `memstats`), in display order; kinds with none are left out.
    pub snapshots: Vec<(String, usize)>,
    /// Unix nanoseconds of the first and last snapshot used.
    pub start_unix_nanos: i64,
    pub end_unix_nanos: i64,
    /// Heap sites and goroutine groups examined (reported or not).
    pub heap_sites: usize,
    pub goroutine_groups: usize,
    /// Acquiring sites of tracked resources examined, all custom profiles
    /// together.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resource_sites: usize,
    /// Extra lines for the header (input rules applied, files skipped).
    pub notes: Vec<String>,
}

impl Header {
    /// The longest series among the kinds that get trend statistics.
    pub fn longest_series(&self) -> usize {
        self.snapshots
            .iter()
            .filter(|(k, _)| k != "goroutineleak")
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
    }

    pub fn span_seconds(&self) -> f64 {
        (self.end_unix_nanos - self.start_unix_nanos) as f64 / 1e9
    }
}

#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// ANSI colours for verdicts and headings.
    pub color: bool,
    /// Leave out the full stacks.
    pub no_stacks: bool,
}

/// The notes a header carries, including the one about too few snapshots.
pub fn header_notes(h: &Header) -> Vec<String> {
    let mut notes = h.notes.clone();
    let n = h.longest_series();
    if n < MIN_CONFIDENT_SNAPSHOTS {
        notes.push(format!(
            "only {n} snapshot{}: more snapshots are needed for confidence (at least {MIN_CONFIDENT_SNAPSHOTS}, spread over several minutes); findings are at most \"suspect\"",
            if n == 1 { "" } else { "s" }
        ));
    }
    let span = h.span_seconds();
    if n >= 2
        && (span < crate::verdict::MIN_RATE_SPAN_SECS
            || span / ((n - 1) as f64) < crate::verdict::MIN_SNAPSHOT_GAP_SECS)
    {
        notes.push(format!(
            "the snapshots span only {span:.3} s: no growth rate and no leak verdict can come from that (were their times a copy's file times? put the capture time in the file names)"
        ));
    }
    notes
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn verdict(&self, v: Verdict) -> String {
        let text = v.as_str().to_uppercase();
        let code = match v {
            Verdict::Leak => "1;31",
            Verdict::Suspect => "1;33",
            Verdict::Plateau => "36",
            Verdict::Stuck => "35",
            Verdict::Stable => "2",
        };
        self.paint(code, &text)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Writes the human report: header, ranked findings with their evidence and
/// stacks, and a one-line summary.
pub fn render_text(
    w: &mut impl Write,
    header: &Header,
    findings: &[Finding],
    opts: &RenderOptions,
) -> io::Result<()> {
    let st = Style { on: opts.color };
    let mut process = header.process.clone();
    if !header.build_id.is_empty() {
        let id: String = header.build_id.chars().take(12).collect();
        process.push_str(&format!(" (build id {id})"));
    }
    writeln!(w, "{} {}", st.bold("heapdrift hunt:"), process)?;
    let counts: Vec<String> = header
        .snapshots
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let counts = if counts.is_empty() {
        "no snapshots".to_string()
    } else {
        counts.join(", ")
    };
    writeln!(
        w,
        "snapshots: {counts}; {} from {} to {}",
        duration(header.span_seconds()),
        clock(header.start_unix_nanos),
        clock(header.end_unix_nanos)
    )?;
    writeln!(
        w,
        "examined: {} heap site{}, {} goroutine group{}",
        header.heap_sites,
        plural(header.heap_sites),
        header.goroutine_groups,
        plural(header.goroutine_groups)
    )?;
    if header.resource_sites > 0 {
        writeln!(
            w,
            "examined: {} acquiring site{} of tracked resources",
            header.resource_sites,
            plural(header.resource_sites)
        )?;
    }
    for n in header_notes(header) {
        writeln!(w, "note: {n}")?;
    }
    writeln!(w)?;
    if findings.is_empty() {
        writeln!(
            w,
            "No leaks: no heap site, goroutine group, tracked resource or memory component grows."
        )?;
        return Ok(());
    }
    for (i, f) in findings.iter().enumerate() {
        render_finding(w, &st, i + 1, f, opts)?;
        writeln!(w)?;
    }
    let count = |v: Verdict| findings.iter().filter(|f| f.verdict == v).count();
    let mut parts = Vec::new();
    for v in Verdict::BY_SEVERITY {
        let n = count(v);
        if n > 0 {
            let word = match (v, n) {
                (Verdict::Leak, 1) => "leak".to_string(),
                (Verdict::Leak, _) => "leaks".to_string(),
                (v, _) => v.as_str().to_string(),
            };
            parts.push(format!("{n} {word}"));
        }
    }
    writeln!(w, "{}", st.bold(&format!("summary: {}", parts.join(", "))))?;
    Ok(())
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn render_finding(
    w: &mut impl Write,
    st: &Style,
    rank: usize,
    f: &Finding,
    opts: &RenderOptions,
) -> io::Result<()> {
    let kind = match f.kind {
        Kind::Heap => "heap",
        Kind::Goroutine => "goroutines",
        Kind::Memory => "memory",
        Kind::Resource => "resource",
    };
    writeln!(
        w,
        "#{rank} {} {kind}  confidence {:.2}",
        st.verdict(f.verdict),
        f.confidence
    )?;
    if f.kind == Kind::Memory {
        writeln!(w, "   component  {}", st.bold(&f.function))?;
    } else {
        writeln!(
            w,
            "   site       {} {}",
            st.bold(&f.function),
            site(&f.file, f.line)
        )?;
    }
    if let Some(r) = &f.resource {
        writeln!(
            w,
            "   resource   {r} (custom profile: held, by acquiring stack)"
        )?;
    }
    let ev = &f.evidence;
    let rate_known = f.rate_known();
    let mut growth = if rate_known {
        rate(f.growth_per_min, f.unit)
    } else {
        "no rate: the snapshots span too little time (see the note)".to_string()
    };
    if let Some(o) = ev.objects_per_min.filter(|_| rate_known) {
        growth.push_str(&format!(", {} objects/min", signed_count(o)));
    }
    if ev.share_of_growth > 0.0 {
        growth.push_str(&format!(
            "; {:.0}% of the growth of all {}",
            ev.share_of_growth * 100.0,
            match f.kind {
                Kind::Heap => "heap sites",
                Kind::Goroutine => "goroutine groups",
                Kind::Memory => "memory components",
                Kind::Resource => "acquiring sites of this resource",
            }
        ));
    }
    writeln!(w, "   growth     {growth}")?;
    if let Some(state) = &f.state {
        let mut line = format!("   blocked    {state}");
        if let Some(b) = &f.blocking_frame
            && (b.function != f.function || b.line != f.line)
        {
            line.push_str(&format!(" at {} {}", b.function, site(&b.file, b.line)));
        }
        writeln!(w, "{line}")?;
    }
    if let Some(c) = &f.created_by {
        let at = f
            .created_at
            .as_ref()
            .map(|c| format!(" {}", site(&c.file, c.line)))
            .unwrap_or_default();
        writeln!(w, "   created by {c}{at}")?;
    }
    let n = ev.values.len();
    let span = ev.times.last().copied().unwrap_or(0.0) - ev.times.first().copied().unwrap_or(0.0);
    writeln!(
        w,
        "   evidence   {}  {} -> {} over {n} snapshot{} in {}",
        sparkline(&ev.values),
        amount(ev.first, f.unit),
        amount(ev.last, f.unit),
        plural(n),
        duration(span)
    )?;
    let slope = if rate_known {
        format!("slope {}, ", rate(ev.slope_per_min, f.unit))
    } else {
        String::new()
    };
    let mut stats = format!(
        "              {slope}Mann-Kendall p = {}, R² = {:.2}",
        p_value(ev.p_value),
        ev.r_squared
    );
    if let Some(l) = ev.late_ratio {
        stats.push_str(&format!(", late/overall slope {l:.2}"));
    }
    writeln!(w, "{stats}")?;
    if let (Some(a), Some(t)) = (ev.alloc_per_min, ev.turnover) {
        writeln!(
            w,
            "              allocated {}/min, {t:.1}x the mean in-use size",
            amount(a, Unit::Bytes)
        )?;
    }
    if !ev.wait_minutes.is_empty()
        && let Some(Some(wm)) = ev.wait_minutes.last()
    {
        writeln!(w, "              longest wait {wm} min")?;
    }
    if let Some(s) = f.signature {
        writeln!(w, "   signature  {s}")?;
    }
    if !f.root_cause.is_empty() {
        writeln!(w, "   cause      {}", f.root_cause)?;
    }
    if !f.fix_hint.is_empty() {
        writeln!(w, "   fix        {}", f.fix_hint)?;
    }
    for n in &f.notes {
        writeln!(w, "   note       {n}")?;
    }
    if !opts.no_stacks && !f.stack.is_empty() {
        writeln!(w, "   stack (leaf first):")?;
        for fr in &f.stack {
            let here = fr.function == f.function && fr.line == f.line && fr.file == f.file;
            let text = format!("{} {}", fr.function, site(&fr.file, fr.line));
            if here {
                writeln!(w, "    > {}", st.bold(&text))?;
            } else {
                writeln!(w, "      {}", st.dim(&text))?;
            }
        }
    }
    Ok(())
}

fn site(file: &str, line: i64) -> String {
    match (file.is_empty(), line > 0) {
        (true, _) => String::new(),
        (false, true) => format!("{file}:{line}"),
        (false, false) => file.to_string(),
    }
}

/// `▁▂▃▄▅▆▇█` scaled between the series' minimum and maximum; at most 48
/// characters (longer series are bucketed by their maximum, so a spike
/// stays visible). A constant series is a flat line.
pub fn sparkline(values: &[f64]) -> String {
    const WIDTH: usize = 48;
    if values.len() <= WIDTH {
        return bars(values);
    }
    let buckets: Vec<f64> = (0..WIDTH)
        .map(|i| {
            let a = i * values.len() / WIDTH;
            let b = ((i + 1) * values.len() / WIDTH).max(a + 1);
            values[a..b]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    bars(&buckets)
}

/// One bar per value, `▁` at the minimum to `█` at the maximum; a constant
/// series (and any value that is not finite) is `▁`.
pub fn bars(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() || hi <= lo {
                return BARS[0];
            }
            let i = ((v - lo) / (hi - lo) * 7.0).round() as usize;
            BARS[i.min(7)]
        })
        .collect()
}

fn p_value(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// `1m25s`, `42s`, `2h03m`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `2026-11-26 17:00:38 UTC`.
pub fn clock(unix_nanos: i64) -> String {
    let secs = unix_nanos.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        tod / 3600,
        (tod % 3600) / 60,
        tod % 60
    )
}

/// Keeps the findings at or above `min_confidence`, in rank order, with
/// their references to each other settled on what is kept
/// ([`crate::settle_references`]).
pub fn filter(report: &Report, min_confidence: f64) -> Vec<Finding> {
    let mut kept: Vec<Finding> = report
        .findings
        .iter()
        .filter(|f| f.confidence >= min_confidence)
        .cloned()
        .collect();
    crate::settle_references(&mut kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_min_to_max() {
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[5.0, 5.0, 5.0]), "▁▁▁");
        assert_eq!(sparkline(&[]), "");
        let long: Vec<f64> = (0..500).map(|i| i as f64).collect();
        let s = sparkline(&long);
        assert_eq!(s.chars().count(), 48);
        assert!(s.starts_with('▁') && s.ends_with('█'));
    }

    #[test]
    fn durations() {
        assert_eq!(duration(85.0), "1m25s");
        assert_eq!(duration(7380.0), "2h03m");
    }

    #[test]
    fn clock_prints_utc() {
        assert_eq!(clock(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(clock(1_795_712_438_000_000_000), "2026-11-26 17:00:38 UTC");
    }

    #[test]
    fn few_snapshots_say_so() {
        let h = Header {
            snapshots: vec![("heap".into(), 2), ("goroutineleak".into(), 9)],
            ..Default::default()
        };
        assert!(header_notes(&h)[0].contains("more snapshots are needed"));
        let h = Header {
            snapshots: vec![("heap".into(), 6)],
            end_unix_nanos: 60_000_000_000,
            ..Default::default()
        };
        assert!(header_notes(&h).is_empty());
        // Six snapshots within 20 ms: times that are no capture times.
        let h = Header {
            snapshots: vec![("heap".into(), 6)],
            end_unix_nanos: 20_000_000,
            ..Default::default()
        };
        assert!(header_notes(&h)[0].contains("no growth rate"));
    }
}
