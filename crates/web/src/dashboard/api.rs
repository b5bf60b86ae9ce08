//! The JSON documents behind the dashboard (shapes in docs/dashboard.md).
//! Pure: an [`Analysis`] in, serialisable values out.

use drift::memory::Breakdown;
use drift::stats::{Series, theil_sen};
use drift::{Finding, Verdict};
use serde::Serialize;

use super::data::{Analysis, Points, SnapMeta, TargetView};

/// `GET /api/targets`.
#[derive(Serialize)]
pub struct TargetsDoc {
    /// `archive` or `files`.
    pub source: &'static str,
    pub path: String,
    pub targets: Vec<TargetView>,
}

/// `GET /api/series/{id}/findings`.
#[derive(Serialize)]
pub struct FindingsDoc<'a> {
    pub series: &'a str,
    pub process: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub build_id: &'a str,
    pub start: i64,
    pub end: i64,
    pub span_seconds: f64,
    pub notes: Vec<String>,
    pub findings: Vec<FindingView<'a>>,
}

/// One finding: drift's finding (the `hunt --json` fields) plus what the
/// dashboard draws.
#[derive(Serialize)]
pub struct FindingView<'a> {
    /// 1-based, in drift's rank order.
    pub rank: usize,
    #[serde(flatten)]
    pub finding: &'a Finding,
    /// The growth rate as the text report prints it (`+1.2 MiB/min`).
    pub rate: String,
    /// The series' points: time (Unix ns), value, and the snapshot it was
    /// read from (null when unknown).
    pub points: Vec<Point>,
    /// The Theil–Sen line of the finding's statistics, one piece per
    /// segment (restarts split a series).
    pub trend: Option<Trend>,
    /// For a plateau: the level it settled at (median of the last third).
    pub plateau: Option<f64>,
    /// The flame graph of the latest snapshot, and the diff flame graph of
    /// the last snapshot against the first.
    pub flame: Option<String>,
    pub diff: Option<String>,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
    pub snapshot: Option<String>,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct Trend {
    /// Units per second.
    pub slope_per_sec: f64,
    pub segments: Vec<TrendSegment>,
}

/// The line `v = intercept + slope_per_sec × (t − t0)/1e9` over the points
/// `from..=to`, where `t0` is the series' first time; its end points are
/// given too.
#[derive(Serialize, Debug, PartialEq)]
pub struct TrendSegment {
    pub from: usize,
    pub to: usize,
    pub t0: i64,
    pub intercept: f64,
    pub t_start: i64,
    pub v_start: f64,
    pub t_end: i64,
    pub v_end: f64,
}

/// `GET /api/series/{id}/memory`: the MemStats accounting per snapshot,
/// bytes, in the stacking order of [`MEMORY_COMPONENTS`].
#[derive(Serialize)]
pub struct MemoryDoc<'a> {
    pub series: &'a str,
    pub components: [&'static str; 6],
    pub points: Vec<MemoryPoint>,
    pub breaks: &'a [usize],
}

pub const MEMORY_COMPONENTS: [&str; 6] = [
    "heap in use",
    "heap free (idle, not released)",
    "heap released",
    "goroutine stacks",
    "runtime metadata",
    "other runtime memory",
];

#[derive(Serialize)]
pub struct MemoryPoint {
    pub t: i64,
    pub snapshot: Option<String>,
    pub values: [u64; 6],
    /// The footer's MaxRSS (a peak), when printed.
    pub max_rss: Option<u64>,
}

/// `GET /api/series/{id}/snapshots`.
#[derive(Serialize)]
pub struct SnapshotsDoc<'a> {
    pub series: &'a str,
    pub snapshots: &'a [SnapMeta],
}

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

pub fn findings<'a>(series: &'a str, a: &'a Analysis) -> FindingsDoc<'a> {
    let findings = a
        .report
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| finding_view(i + 1, f, a))
        .collect();
    FindingsDoc {
        series,
        process: &a.header.process,
        build_id: &a.header.build_id,
        start: a.header.start_unix_nanos,
        end: a.header.end_unix_nanos,
        span_seconds: a.header.span_seconds(),
        notes: drift::render::header_notes(&a.header),
        findings,
    }
}

fn finding_view<'a>(rank: usize, f: &'a Finding, a: &'a Analysis) -> FindingView<'a> {
    let src: &Points = match f.kind {
        drift::Kind::Heap => &a.heap,
        drift::Kind::Goroutine => &a.goroutines,
        drift::Kind::Memory => &a.memory,
    };
    let ev = &f.evidence;
    // The evidence covers the whole series of its kind, point for point;
    // if it ever does not, times come from the evidence alone.
    let aligned = src.time_nanos.len() == ev.values.len();
    let t0 = src.time_nanos.first().copied().unwrap_or(0);
    let points: Vec<Point> = ev
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| Point {
            t: if aligned {
                src.time_nanos[i]
            } else {
                t0 + (ev.times.get(i).copied().unwrap_or(0.0) * 1e9) as i64
            },
            v,
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
            points.first().map_or(0, |p| p.t),
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
pub fn trend(times: &[f64], values: &[f64], breaks: &[usize], t0: i64) -> Option<Trend> {
    let s = Series::new(times.to_vec(), values.to_vec()).with_breaks(breaks.to_vec());
    let line = theil_sen(&s)?;
    let at = |secs: f64| t0 + (secs * 1e9).round() as i64;
    let segments = s
        .segments()
        .into_iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(k, r)| {
            let (from, to) = (r.start, r.end - 1);
            TrendSegment {
                from,
                to,
                t0,
                intercept: line.intercepts.get(k).copied().unwrap_or(0.0),
                t_start: at(s.x[from]),
                v_start: line.at(k, s.x[from]),
                t_end: at(s.x[to]),
                v_end: line.at(k, s.x[to]),
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

pub fn memory<'a>(series: &'a str, a: &'a Analysis) -> MemoryDoc<'a> {
    let points = a
        .memory_points
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let b = Breakdown::from_memstats(&m.stats);
            MemoryPoint {
                t: m.time_nanos,
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
            }
        })
        .collect();
    MemoryDoc {
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
        assert_eq!((t.segments[0].from, t.segments[0].to), (0, 3));
        assert_eq!(t.segments[0].v_start, 10.0);
        assert_eq!(t.segments[1].v_end, 100.0 + 140.0);
        assert_eq!(t.segments[1].t_end, 1_000_000_000 + 70_000_000_000);
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
