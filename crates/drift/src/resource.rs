//! Tracked resources: custom pprof profiles (`pprof.NewProfile`, as
//! heapdriftprobe's `Track` makes them) count what is held (open files,
//! connections, subscriptions) by the stack that acquired it, exactly as
//! the goroutine profile counts goroutines by stack. A series of them is
//! grouped as goroutines are ([`GoroutineSeriesBuilder`]) and each
//! acquiring site's count is judged by the same trend model: a count that
//! keeps growing is a resource acquired and not released on some path.
//!
//! Unlike the heap, the counts are exact (every acquisition is recorded,
//! nothing is sampled) and nothing frees them behind the program's back
//! (no GC, no cache eviction), so a count that only grows has one cause: a
//! path that never releases. A pool filled at start-up is a plateau; a
//! resource held per request rises and falls with the load (churn).
//!
//! [`GoroutineSeriesBuilder`]: crate::goroutine::GoroutineSeriesBuilder

use crate::finding::{Finding, Kind, Verdict};
use crate::goroutine::{GoroutineOptions, GoroutineSeries};
use crate::stats::{Series, median};
use crate::units::Unit;
use crate::verdict::{assess, evidence, set_shares};

/// One custom profile's series: its name (the profile's sample type, the
/// name given to `pprof.NewProfile`) and its counts per acquiring stack.
#[derive(Clone, Debug, Default)]
pub struct ResourceSeries {
    pub name: String,
    pub series: GoroutineSeries,
}

/// Resources held in flight (each request holds one for a while) are, at a
/// steady load, an M/G/∞ queue: the number held at a moment is Poisson
/// distributed around its mean, with the square root of the mean as its
/// standard deviation, whatever the holding times. A rise within this many
/// such deviations of the series' median is the load's noise, not a
/// pattern; a leak's rise grows with time and soon clears it.
const CHURN_DEVIATIONS: f64 = 3.0;

/// One finding per acquiring site whose count is not stable (or every site
/// with `include_stable`), unranked. The thresholds are the goroutines':
/// both are exact counts of things that should come and go.
pub fn analyze_resources(r: &ResourceSeries, opts: &GoroutineOptions) -> Vec<Finding> {
    let gs = &r.series;
    let x = gs.seconds();
    let mut out = Vec::new();
    let mut all_rises = 0.0;
    for (gi, g) in gs.groups.iter().enumerate() {
        let y: Vec<f64> = (0..gs.len()).map(|s| gs.count(gi, s) as f64).collect();
        let s = Series::new(x.clone(), y).with_breaks(gs.breaks.clone());
        let mut a = assess(&s, &opts.thresholds);
        all_rises += a.rise.max(0.0);
        let mut notes = std::mem::take(&mut a.notes);
        let level = median(&s.y);
        if a.verdict >= Verdict::Suspect && a.rise < CHURN_DEVIATIONS * level.sqrt() {
            a.verdict = Verdict::Stable;
            notes.push(format!(
                "a rise of {:.1} is within the load's own fluctuation of a count held in flight around {level:.0} (±{:.1})",
                a.rise,
                level.sqrt()
            ));
        }
        if a.verdict == Verdict::Stable && !opts.include_stable {
            continue;
        }
        let last = gs.count(gi, gs.len().saturating_sub(1));
        notes.push(format!(
            "{last} held at the last snapshot (custom profile {:?})",
            r.name
        ));
        let (cause, fix) = cause(a.verdict, &r.name);
        // The stack begins at the caller of Acquire (pprof's skip): its
        // first frame in the program's own code is the acquiring line.
        let site = g.user.clone().unwrap_or_else(|| g.blocking.clone());
        out.push(Finding {
            kind: Kind::Resource,
            verdict: a.verdict,
            function: site.function.clone(),
            file: site.file.clone(),
            line: site.line,
            growth_per_min: a.slope * 60.0,
            unit: Unit::Held,
            confidence: a.confidence,
            score: 0.0,
            rule: None,
            signature: None,
            state: None,
            created_by: None,
            created_at: None,
            blocking_frame: None,
            resource: Some(r.name.clone()),
            root_cause: cause,
            fix_hint: fix.into(),
            notes,
            stack: g.stack.clone(),
            evidence: evidence(&s, &a),
        });
    }
    set_shares(&mut out, all_rises);
    out
}

fn cause(v: Verdict, name: &str) -> (String, &'static str) {
    match v {
        Verdict::Leak | Verdict::Suspect => (
            format!(
                "{name} acquired here is not released on some path: the number held only grows (an error path or early return that skips Release/Close)"
            ),
            "release on every path: `defer` the Release (or Close) right after a successful acquire, or release in each error branch",
        ),
        Verdict::Plateau => (
            format!(
                "{name} acquired here grew during warm-up and then stayed constant: a pool or a cache of bounded size"
            ),
            "",
        ),
        _ => (format!("the number of {name} held here does not grow"), ""),
    }
}
