//! The JSON documents behind the dashboard (shapes in docs/dashboard.md).
//! Pure: an [`Analysis`] in, serialisable values out.

use drift::memory::Breakdown;
use drift::stats::{Series, theil_sen};
use drift::{Finding, Verdict};
use serde::Serialize;
use series::json::{
    FindingView, FindingsReport, Memory, MemoryPoint, Point, Report, Trend, TrendSegment,
};

use super::data::{Analysis, Points};

pub const MEMORY_COMPONENTS: [&str; 6] = [
    "heap in use",
    "heap free (idle, not released)",
    "heap released",
    "goroutine stacks",
    "runtime metadata",
    "other runtime memory",
];

/// The flame graph URL of a snapshot (against a base when given).
pub fn flame_url(src: &str, base: Option<&str>) -> String {
    let mut u = format!("/ui/flamegraph?src={}", query_escape(src));
    if let Some(b) = base {
        u.push_str("&base=");
        u.push_str(&query_escape(b));
    }
    u
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn findings<'a>(series: &'a str, a: &'a Analysis) -> FindingsReport<'a> {
    let findings = a
        .report
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| finding_view(i + 1, f, a))
        .collect();
    let mut report = Report::new(&a.header, findings);
    report.series = Some(series);
    report
}

fn finding_view<'a>(rank: usize, f: &'a Finding, a: &'a Analysis) -> FindingView<'a> {
    let none = Points::default();
    let src: &Points = match f.kind {
        drift::Kind::Heap => &a.heap,
        drift::Kind::Goroutine => &a.goroutines,
        drift::Kind::Memory => &a.memory,
        drift::Kind::Resource => a
            .resources
            .iter()
            .find(|(name, _)| Some(name) == f.resource.as_ref())
            .map_or(&none, |(_, p)| p),
    };
    let ev = &f.evidence;
    // Times come from the evidence: a heap point is timed at the GC it
    // shows, not at its snapshot's fetch (drift::cycles). When the
    // evidence covers the whole series of its kind, point for point, each
    // point links to its snapshot.
    let aligned = src.time_nanos.len() == ev.values.len();
    let t0 = src.time_nanos.first().copied().unwrap_or(0);
    let points: Vec<Point> = ev
        .values
        .iter()
        .enumerate()
        .map(|(i, &value)| Point {
            time_unix_nanos: t0 + (ev.times.get(i).copied().unwrap_or(0.0) * 1e9).round() as i64,
            value,
            snapshot: if aligned {
                src.snapshot[i].clone()
            } else {
                None
            },
        })
        .collect();
    let first = points.iter().find_map(|p| p.snapshot.clone());
    let last = points.iter().rev().find_map(|p| p.snapshot.clone());
    let plateau = (f.verdict == Verdict::Plateau).then(|| plateau_level(&ev.values));
    FindingView {
        rank,
        finding: f,
        rate: if f.rate_known() {
            drift::units::rate(f.growth_per_min, f.unit)
        } else {
            "no rate".into()
        },
        trend: trend(
            &ev.times,
            &ev.values,
            &ev.breaks,
            points.first().map_or(0, |p| p.time_unix_nanos),
        ),
        plateau,
        flame: last.as_deref().map(|l| flame_url(l, None)),
        diff: match (&first, &last) {
            (Some(a), Some(b)) if a != b => Some(flame_url(b, Some(a))),
            _ => None,
        },
        points,
    }
}

/// The Theil–Sen line drift fitted (same estimator, same reduction).
pub fn trend(times: &[f64], values: &[f64], breaks: &[usize], origin: i64) -> Option<Trend> {
    let s = Series::new(times.to_vec(), values.to_vec()).with_breaks(breaks.to_vec());
    let line = theil_sen(&s)?;
    let at = |secs: f64| origin + (secs * 1e9).round() as i64;
    let segments = s
        .segments()
        .into_iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(k, r)| {
            let (first, last) = (r.start, r.end - 1);
            TrendSegment {
                first_point: first,
                last_point: last,
                origin_unix_nanos: origin,
                intercept: line.intercepts.get(k).copied().unwrap_or(0.0),
                start_unix_nanos: at(s.x[first]),
                start_value: line.at(k, s.x[first]),
                end_unix_nanos: at(s.x[last]),
                end_value: line.at(k, s.x[last]),
            }
        })
        .collect();
    Some(Trend {
        slope_per_sec: line.slope,
        segments,
    })
}

/// The median of the last third of the values.
pub fn plateau_level(values: &[f64]) -> f64 {
    let n = values.len();
    let tail = &values[n - n.div_ceil(3).min(n)..];
    if tail.is_empty() {
        return 0.0;
    }
    drift::stats::median(tail)
}

pub fn memory<'a>(series: &'a str, a: &'a Analysis) -> Memory<'a> {
    let points = a
        .memory_points
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let b = Breakdown::from_memstats(&m.stats);
            MemoryPoint {
                time_unix_nanos: m.time_nanos,
                snapshot: a.memory.snapshot.get(i).cloned().flatten(),
                values: [
                    b.heap_inuse,
                    b.heap_free,
                    b.heap_released,
                    b.stacks,
                    b.metadata,
                    b.other,
                ],
                max_rss: m.stats.max_rss,
                rss: m.rss,
            }
        })
        .collect();
    Memory {
        series,
        components: MEMORY_COMPONENTS,
        points,
        breaks: &a.memory_breaks,
    }
}

/// JSON text safe to embed anywhere: `<`, `>` and `&` (which serde_json
/// only ever writes inside strings) become `\u003c`, `\u003e`, `\u0026`,
/// as Go's encoding/json does, so a function name like `</script>` can
/// never close a script element or start markup.
pub fn to_safe_json<T: Serialize>(v: &T) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("serialising: {e}") }).to_string()
    });
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_json_escapes_markup() {
        let s = to_safe_json(&serde_json::json!({"f": "<script>alert('x&y')</script>"}));
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["f"], "<script>alert('x&y')</script>");
    }

    #[test]
    fn trend_follows_a_line_per_segment() {
        // Two segments: 10 + 2x, then 100 + 2x.
        let x: Vec<f64> = (0..8).map(|i| i as f64 * 10.0).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, &x)| if i < 4 { 10.0 } else { 100.0 } + 2.0 * x)
            .collect();
        let t = trend(&x, &y, &[4], 1_000_000_000).unwrap();
        assert_eq!(t.slope_per_sec, 2.0);
        assert_eq!(t.segments.len(), 2);
        assert_eq!(
            (t.segments[0].first_point, t.segments[0].last_point),
            (0, 3)
        );
        assert_eq!(t.segments[0].start_value, 10.0);
        assert_eq!(t.segments[1].end_value, 100.0 + 140.0);
        assert_eq!(t.segments[1].end_unix_nanos, 1_000_000_000 + 70_000_000_000);
    }

    #[test]
    fn plateau_is_the_late_median() {
        assert_eq!(
            plateau_level(&[1.0, 5.0, 9.0, 10.0, 10.0, 11.0, 10.0]),
            10.0
        );
        assert_eq!(plateau_level(&[]), 0.0);
    }

    #[test]
    fn flame_urls_escape_their_ids() {
        assert_eq!(flame_url("12", Some("3")), "/ui/flamegraph?src=12&base=3");
        assert_eq!(flame_url("a&b", None), "/ui/flamegraph?src=a%26b");
    }
}
