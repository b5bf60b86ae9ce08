//! Leak analysis over a series of snapshots of one Go process: robust trend
//! statistics ([`stats`]), per-allocation-site heap series ([`series`]),
//! goroutine groups ([`goroutine`]), MemStats accounting ([`memory`]), the
//! verdict model ([`verdict`]) and the findings it produces ([`finding`]).
//!
//! Pure: profiles in, findings out. The thresholds and their reasons are in
//! docs/drift-model.md.

pub mod cycles;
pub mod finding;
pub mod fleet;
pub mod frames;
pub mod goroutine;
pub mod memory;
pub mod render;
pub mod resource;
pub mod series;
pub mod stats;
pub mod units;
pub mod verdict;

pub use finding::{Evidence, Finding, Kind, Report, Signature, Verdict};
pub use goroutine::Rule;
pub use memory::Component;
pub use units::Unit;

use goroutine::{GoroutineOptions, GoroutineSeries};
use memory::MemPoint;
use series::HeapSeries;
use verdict::{HeapOptions, Thresholds};

/// Everything `hunt` analyses; any part may be empty.
#[derive(Clone, Debug, Default)]
pub struct Inputs<'a> {
    pub heap: Option<&'a HeapSeries>,
    pub goroutines: Option<&'a GoroutineSeries>,
    /// MemStats footers (and RSS, if known), time-ordered.
    pub memory: &'a [MemPoint],
    /// Restart indexes of `memory`.
    pub memory_breaks: &'a [usize],
    /// Custom profiles of tracked resources, one series per profile.
    pub resources: &'a [resource::ResourceSeries],
}

/// Options of `hunt`.
#[derive(Clone, Debug, Default)]
pub struct HuntOptions {
    pub heap: HeapOptions,
    pub goroutines: GoroutineOptions,
    /// Defaults to `Thresholds::heap()` when `None`.
    pub memory: Option<Thresholds>,
}

/// The whole analysis: heap sites, goroutine groups and memory components,
/// ranked together (see docs/drift-model.md).
pub fn hunt(inputs: &Inputs<'_>, opts: &HuntOptions) -> Report {
    let mut all = Vec::new();
    let cycles = inputs
        .heap
        .map(|h| cycles::HeapCycles::new(h, inputs.memory, inputs.memory_breaks));
    if let (Some(h), Some(c)) = (inputs.heap, &cycles) {
        all.extend(verdict::analyze_heap_cycles(h, c, &opts.heap));
    }
    if let Some(g) = inputs.goroutines {
        all.extend(goroutine::analyze_goroutines(g, &opts.goroutines));
    }
    for r in inputs.resources {
        all.extend(resource::analyze_resources(r, &opts.goroutines));
    }
    let th = opts.memory.clone().unwrap_or_else(Thresholds::heap);
    all.extend(memory::analyze_memory(
        inputs.memory,
        inputs.memory_breaks,
        &th,
    ));
    goroutine::link_http_callers(&mut all, inputs.heap.zip(cycles.as_ref()));
    link_tickers(&mut all);
    link_stacks(&mut all);
    if let Some(g) = inputs.goroutines {
        cap_stacks_without_more_goroutines(&mut all, g, &opts.goroutines.thresholds);
    }
    link_memory(&mut all, inputs.heap);
    settle_references(&mut all);
    Report::new(all)
}

/// Makes every text that points at other findings ("see the heap
/// findings", "the heap grows at time.NewTicker") agree with the findings
/// that are there: a memory component's cause points at heap or goroutine
/// findings only when such findings grow, and says what is known instead
/// when none does. `render::filter` settles again after leaving findings
/// out, so a reference never outlives what it refers to.
pub fn settle_references(all: &mut [Finding]) {
    let grows = |kind: Kind| {
        all.iter()
            .any(|f| f.kind == kind && f.verdict >= Verdict::Suspect)
    };
    let heap_sites_grow = grows(Kind::Heap);
    let others = memory::Others {
        heap_sites_grow,
        goroutines_grow: grows(Kind::Goroutine),
        heap_grows: heap_sites_grow
            || all.iter().any(|f| {
                f.component() == Some(Component::HeapInUse) && f.verdict >= Verdict::Suspect
            }),
    };
    let ticker_heap = all.iter().any(|f| {
        f.kind == Kind::Heap
            && f.verdict >= Verdict::Suspect
            && f.signature == Some(Signature::TickerNeverStopped)
    });
    for f in all.iter_mut() {
        if let Some(c) = f.component()
            && f.verdict >= Verdict::Suspect
        {
            let (cause, fix) = c.cause(Some(&others));
            (f.root_cause, f.fix_hint) = (cause.into(), fix.into());
        }
        if f.kind == Kind::Goroutine
            && f.signature == Some(Signature::TickerLoopNeverStopped)
            && f.verdict >= Verdict::Suspect
        {
            f.root_cause = if ticker_heap {
                TICKER_LOOP_LINKED
            } else {
                goroutine::TICKER_LOOP
            }
            .into();
        }
    }
}

/// The cause of a ticker loop that never stops when the heap shows its
/// tickers.
const TICKER_LOOP_LINKED: &str = "a goroutine loops over a ticker's channel; both are started per object and never stopped (the heap grows at time.NewTicker in the same function)";

/// The least part of a MemStats component's growth that growing heap sites
/// must account for to explain it. The heap profile counts live objects,
/// sampled; `HeapInuse` counts whole spans, so it grows somewhat faster
/// than the objects in them (globalmap: sites 201 MB/min, HeapInuse 245).
const EXPLAINED: f64 = 0.5;

/// A growing Go heap shows twice: at its allocation sites and as MemStats'
/// heap in use (with the runtime metadata that follows the heap's span
/// count). When the growing heap sites account for a component's growth,
/// the memory finding says nothing new: it is dropped and its numbers go
/// into a note on the largest growing heap site. A component they do not
/// account for (growth the sampled sites miss, or a flat heap) is kept,
/// with a note saying how much the sites explain.
fn link_memory(all: &mut Vec<Finding>, heap: Option<&HeapSeries>) {
    let growing_heap = |f: &Finding| {
        f.kind == Kind::Heap && f.verdict >= Verdict::Suspect && f.growth_per_min > 0.0
    };
    let sites_growth: f64 = all
        .iter()
        .filter(|f| growing_heap(f))
        .map(|f| f.growth_per_min)
        .sum();
    let follows_heap = |f: &Finding| {
        matches!(
            f.component(),
            Some(Component::HeapInUse | Component::RuntimeMetadata)
        ) && f.verdict >= Verdict::Suspect
            && f.growth_per_min > 0.0
    };
    let mut explained = Vec::new();
    let mut keep = vec![true; all.len()];
    for (i, f) in all.iter_mut().enumerate() {
        if !follows_heap(f) {
            continue;
        }
        let part = sites_growth / f.growth_per_min;
        if part >= EXPLAINED {
            explained.push(format!(
                "{} {}",
                f.function,
                units::rate(f.growth_per_min, f.unit)
            ));
            keep[i] = false;
        } else {
            if sites_growth > 0.0 {
                f.notes.push(format!(
                    "the growing heap sites account for {:.0}% of it: the rest is growth the sampled heap profile does not attribute (many small sites, fragmentation)",
                    part * 100.0
                ));
            }
            if f.verdict == Verdict::Leak
                && f.component() == Some(Component::HeapInUse)
                && let Some(h) = heap
            {
                objects_must_follow(f, h);
            }
        }
    }
    if explained.is_empty() {
        return;
    }
    let mut i = 0;
    all.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    let top = all
        .iter_mut()
        .filter(|f| growing_heap(f))
        .max_by(|a, b| a.growth_per_min.total_cmp(&b.growth_per_min));
    if let Some(top) = top {
        top.notes.push(format!(
            "MemStats agree: {} (the growing heap sites, {}, account for it)",
            explained.join(", "),
            units::rate(sites_growth, Unit::Bytes)
        ));
    }
}

/// Heap in use that grows with no heap site growing is a leak only if the
/// live objects grow with it. The heap profile's total in-use bytes (all
/// sites, unsampled) estimate the live objects without bias, however
/// small each site: growth spread over many small sites shows there. When
/// the total does not follow HeapInuse, the growth is in whole spans (a
/// few live objects pinning spans: fragmentation, which levels off), or
/// is too slow for the sampling rate to tell (under a few samples over
/// the window): either way no more than `suspect`. Seen on bounded zoo
/// controls (timeafter, queuehead at 64 KiB sampling): HeapInuse
/// +0.8 MiB over three minutes, every site flat.
fn objects_must_follow(f: &mut Finding, h: &HeapSeries) {
    if h.len() < 6 {
        return;
    }
    let totals = h.totals(series::Metric::InuseSpace);
    let Some(line) =
        stats::theil_sen(&stats::Series::new(h.seconds(), totals).with_breaks(h.breaks.clone()))
    else {
        return;
    };
    let objects_per_min = line.slope * 60.0;
    if objects_per_min >= EXPLAINED * f.growth_per_min {
        return;
    }
    let window_min = h.seconds().last().copied().unwrap_or(0.0) / 60.0;
    let period = (0..h.len()).find_map(|i| h.period(i)).unwrap_or(0) as f64;
    let samples = if period > 0.0 {
        f.growth_per_min * window_min / period
    } else {
        f64::INFINITY
    };
    f.verdict = Verdict::Suspect;
    f.confidence = f.confidence.min(0.5);
    f.score = verdict::score(f.confidence, f.evidence.share_of_growth);
    f.notes.push(if samples < 3.0 {
        format!(
            "the heap profile cannot tell: {} over the window is under 3 samples at its sampling rate",
            units::bytes(f.growth_per_min * window_min)
        )
    } else {
        format!(
            "the live objects of the heap profile grow {} (all sites together), not with it: HeapInuse counts whole spans, which a few live objects can hold (fragmentation, which levels off)",
            units::rate(objects_per_min, Unit::Bytes)
        )
    });
}

/// A goroutine stack blocked in a ticker loop shows no ticker frame, but the
/// ticker's allocation does: a growing goroutine group started by (or being a
/// closure of) the function whose heap site grows at `time.NewTicker` is the
/// ticker's loop, never stopped.
fn link_tickers(all: &mut [Finding]) {
    let tickers: Vec<String> = all
        .iter()
        .filter(|f| {
            f.kind == Kind::Heap
                && f.verdict >= Verdict::Suspect
                && f.signature == Some(Signature::TickerNeverStopped)
        })
        .map(|f| f.function.clone())
        .collect();
    if tickers.is_empty() {
        return;
    }
    for f in all.iter_mut() {
        if f.kind != Kind::Goroutine || f.verdict < Verdict::Suspect || f.signature.is_some() {
            continue;
        }
        let started_by = |t: &String| {
            f.created_by.as_deref() == Some(t.as_str())
                || f.function
                    .strip_prefix(t.as_str())
                    .is_some_and(|rest| rest.starts_with(".func"))
        };
        if tickers.iter().any(started_by) {
            f.signature = Some(Signature::TickerLoopNeverStopped);
            f.root_cause = TICKER_LOOP_LINKED.into();
            f.fix_hint = "stop the ticker and return from the loop when the owner closes (a done channel or ctx.Done())".into();
        }
    }
}

/// `StackSys` grows in whole stack spans, so the stacks of goroutines that
/// pile up at a steady rate read as a few steps, and a step near the start
/// looks like a warm-up. While goroutine groups leak, stack memory that grew
/// is their stacks, not a plateau.
fn link_stacks(all: &mut [Finding]) {
    let leaking = all
        .iter()
        .filter(|f| f.kind == Kind::Goroutine && f.verdict == Verdict::Leak)
        .count();
    if leaking == 0 {
        return;
    }
    for f in all.iter_mut() {
        if f.component() != Some(Component::GoroutineStacks)
            || f.verdict != Verdict::Plateau
            || f.evidence.rise <= 0.0
        {
            continue;
        }
        f.verdict = Verdict::Suspect;
        f.confidence = f.confidence.min(0.5);
        f.score = verdict::score(f.confidence, f.evidence.share_of_growth);
        f.notes.retain(|n| !n.contains("not a leak"));
        f.notes.push(format!(
            "{leaking} goroutine group{} leak; stack memory grows with them in steps of whole stack spans, so its late flat stretch is no plateau",
            if leaking == 1 { "" } else { "s" }
        ));
    }
}

/// Stack memory (`StackSys`) is the goroutines' stacks: each starts small
/// and is copied to twice its size when a call needs more, up to the
/// deepest call it makes, and dead goroutines' stacks are reused or freed
/// at GC. With as many goroutines at the end as at the start, stack memory
/// can only grow towards the deepest stacks and the peak of concurrent
/// goroutines, both bounded: no leak. So when goroutine profiles were read
/// and their total count does not grow, a `leak` of goroutine stacks is at
/// most `suspect` (a zoo control, syncpool, was called leaking once on
/// stacks alone).
fn cap_stacks_without_more_goroutines(all: &mut [Finding], g: &GoroutineSeries, th: &Thresholds) {
    if g.len() < 2 {
        return;
    }
    let totals: Vec<f64> = (0..g.len())
        .map(|snap| g.count_total(snap) as f64)
        .collect();
    let total = stats::Series::new(g.seconds(), totals).with_breaks(g.breaks.clone());
    if verdict::assess(&total, th).verdict >= Verdict::Suspect {
        return;
    }
    for f in all.iter_mut() {
        if f.component() == Some(Component::GoroutineStacks) && f.verdict == Verdict::Leak {
            f.verdict = Verdict::Suspect;
            f.confidence = f.confidence.min(0.5);
            f.score = verdict::score(f.confidence, f.evidence.share_of_growth);
            f.notes.push(format!(
                "the number of goroutines does not grow ({} to {} over the goroutine profiles): existing stacks deepen or are reused, which is bounded; at most suspect",
                g.count_total(0),
                g.count_total(g.len() - 1)
            ));
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DriftError {
    #[error("snapshot {index}: time stamp earlier than the previous snapshot's")]
    OutOfOrder { index: usize },
    #[error("snapshot {index}: not a heap profile (no inuse_space sample type)")]
    NotHeap { index: usize },
    #[error("snapshot {index}: not a goroutine profile (expected one goroutine/count sample type)")]
    NotGoroutine { index: usize },
    #[error("heap series parts: {0}")]
    Parts(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: Kind, verdict: Verdict, function: &str) -> Finding {
        Finding {
            kind,
            verdict,
            function: function.into(),
            file: String::new(),
            line: 0,
            growth_per_min: 1.0,
            unit: Unit::Bytes,
            confidence: 0.9,
            score: 0.0,
            rule: None,
            signature: None,
            state: None,
            created_by: None,
            created_at: None,
            blocking_frame: None,
            resource: None,
            root_cause: String::new(),
            fix_hint: String::new(),
            notes: vec!["grew, then levelled off: a warm-up (cache, pool), not a leak".into()],
            stack: Vec::new(),
            evidence: Evidence {
                rise: 1.0,
                ..Default::default()
            },
        }
    }

    #[test]
    fn stacks_of_leaking_goroutines_are_no_plateau() {
        let stacks = || {
            finding(
                Kind::Memory,
                Verdict::Plateau,
                Component::GoroutineStacks.as_str(),
            )
        };
        let mut all = vec![
            finding(Kind::Goroutine, Verdict::Leak, "main.f.func1"),
            stacks(),
            finding(
                Kind::Memory,
                Verdict::Plateau,
                Component::RuntimeMetadata.as_str(),
            ),
        ];
        link_stacks(&mut all);
        assert_eq!(all[1].verdict, Verdict::Suspect);
        assert!(all[1].confidence <= 0.5);
        assert!(all[1].notes.iter().all(|n| !n.contains("not a leak")));
        assert_eq!(
            all[2].verdict,
            Verdict::Plateau,
            "other components keep theirs"
        );
        // Without a goroutine leak the plateau stands.
        let mut alone = vec![
            finding(Kind::Goroutine, Verdict::Suspect, "main.g"),
            stacks(),
        ];
        link_stacks(&mut alone);
        assert_eq!(alone[1].verdict, Verdict::Plateau);
    }

    const MB: u64 = 1 << 20;
    const MIN: i64 = 60_000_000_000;

    /// One heap site whose in-use bytes grow `site_per_min` bytes/min over
    /// 12 one-minute snapshots, and MemStats whose heap in use grows
    /// `inuse_per_min` and stacks `stacks_per_min`.
    fn series(site_per_min: u64, inuse_per_min: u64, stacks_per_min: u64) -> Report {
        series_of(1, site_per_min, inuse_per_min, stacks_per_min)
    }

    /// As [`series`], with the sites' growth spread evenly over `sites`
    /// sites.
    fn series_of(sites: u64, site_per_min: u64, inuse_per_min: u64, stacks_per_min: u64) -> Report {
        let n = 12u64;
        let site = |k: u64| series::Site {
            function: format!("main.cacheResult{k}"),
            file: "svc/main.go".into(),
            line: 42 + k as i64,
            user: true,
            stack: Vec::new(),
        };
        let rows = (0..n)
            .map(|i| {
                (0..sites)
                    .map(|_| {
                        let b = ((MB + site_per_min * i) / sites) as i64;
                        [b, b / 64, 2 * b, b / 32]
                    })
                    .collect()
            })
            .collect();
        let heap = HeapSeries::from_parts(
            (0..n as i64).map(|i| i * MIN).collect(),
            Vec::new(),
            (0..sites).map(site).collect(),
            [true; 4],
            rows,
            None,
        )
        .unwrap();
        let memory: Vec<MemPoint> = (0..n)
            .map(|i| {
                let inuse = 30 * MB + inuse_per_min * i;
                let stacks = 2 * MB + stacks_per_min * i;
                MemPoint {
                    time_nanos: i as i64 * MIN,
                    stats: profile::legacy::MemStats {
                        heap_inuse: inuse,
                        heap_idle: 8 * MB,
                        heap_released: 4 * MB,
                        heap_sys: inuse + 8 * MB,
                        stack_inuse: stacks,
                        stack_sys: stacks,
                        // Metadata follows the heap.
                        mspan_sys: MB + inuse / 64,
                        gc_sys: 2 * MB + inuse / 32,
                        other_sys: MB,
                        sys: inuse + 8 * MB + stacks + 4 * MB + inuse / 64 + inuse / 32,
                        ..Default::default()
                    },
                    rss: None,
                    anon_rss: None,
                }
            })
            .collect();
        hunt(
            &Inputs {
                heap: Some(&heap),
                goroutines: None,
                memory: &memory,
                memory_breaks: &[],
                resources: &[],
            },
            &HuntOptions::default(),
        )
    }

    fn memory_findings(r: &Report) -> Vec<(&str, Verdict)> {
        r.findings
            .iter()
            .filter(|f| f.kind == Kind::Memory)
            .map(|f| (f.function.as_str(), f.verdict))
            .collect()
    }

    /// Issue 9, honesty 7: "heap in use grows; see the heap findings" came
    /// with no heap finding (the zoo's chansend: its goroutines leak, and
    /// what they hold is spread over small sites). A reference is made
    /// only to findings that are there, also after --min-confidence.
    #[test]
    fn references_point_only_at_findings_that_are_there() {
        let cause = |r: &[Finding]| {
            r.iter()
                .find(|f| f.component() == Some(Component::HeapInUse))
                .map(|f| f.root_cause.clone())
                .unwrap()
        };
        // Heap in use grows with a heap site: it points there.
        let r = series(MB / 2, 5 * MB, 0).findings;
        assert!(cause(&r).contains("see the heap findings"), "{}", cause(&r));
        // With no heap site at all, it says so.
        let r = series(0, 5 * MB, 0).findings;
        assert!(!cause(&r).contains("see the"), "{}", cause(&r));
        assert!(
            cause(&r).contains("no heap site stands out"),
            "{}",
            cause(&r)
        );
        // Leaking goroutines, no heap site: it points at the goroutines.
        let mut with_goroutines = r.clone();
        with_goroutines.push(finding(Kind::Goroutine, Verdict::Leak, "main.f.func1"));
        settle_references(&mut with_goroutines);
        assert!(
            cause(&with_goroutines).contains("see the goroutine findings"),
            "{}",
            cause(&with_goroutines)
        );
        // --min-confidence drops the heap site: the reference goes too.
        let mut r = series(MB / 2, 5 * MB, 0);
        for f in &mut r.findings {
            if f.kind == Kind::Heap {
                f.confidence = 0.1;
            }
        }
        let kept = render::filter(&r, 0.3);
        assert!(kept.iter().all(|f| f.kind != Kind::Heap));
        assert!(!cause(&kept).contains("see the heap"), "{}", cause(&kept));
    }

    #[test]
    fn heap_growth_is_reported_once() {
        // The site grows 4 MiB/min, HeapInuse 5 MiB/min (spans, not objects).
        let r = series(4 * MB, 5 * MB, 0);
        assert_eq!(r.findings[0].kind, Kind::Heap);
        assert_eq!(r.findings[0].verdict, Verdict::Leak);
        assert_eq!(memory_findings(&r), [], "{:#?}", r.findings);
        let note = r.findings[0]
            .notes
            .iter()
            .find(|n| n.starts_with("MemStats agree: heap in use +5.0 MiB/min"))
            .expect("note");
        assert!(note.contains("runtime metadata"), "{note}");
    }

    #[test]
    fn heap_growth_the_sites_do_not_explain_stays() {
        // The sites account for a fifth of HeapInuse's growth: kept, but the
        // rest is not live objects (the profile's total follows the sites).
        let r = series(MB, 5 * MB, 0);
        let inuse = r
            .findings
            .iter()
            .find(|f| f.component() == Some(Component::HeapInUse))
            .expect("heap in use kept");
        assert_eq!(inuse.verdict, Verdict::Suspect);
        assert!(
            inuse
                .notes
                .iter()
                .any(|n| n.contains("account for 20% of it")),
            "{:?}",
            inuse.notes
        );
    }

    #[test]
    fn heap_in_use_without_live_objects_growing_is_no_leak() {
        // Every site flat, HeapInuse +1 MiB/min: whole spans, not objects.
        let r = series(0, MB, 0);
        let inuse = r
            .findings
            .iter()
            .find(|f| f.component() == Some(Component::HeapInUse))
            .expect("heap in use reported");
        assert_eq!(inuse.verdict, Verdict::Suspect, "{inuse:#?}");
        assert!(
            inuse
                .notes
                .iter()
                .any(|n| n.contains("HeapInuse counts whole spans")),
            "{:?}",
            inuse.notes
        );
        // Growth spread over 200 sites, each below the noise floor on its
        // own: the profile's total follows HeapInuse, and it is a leak.
        let r = series_of(200, MB, MB + MB / 5, 0);
        assert!(
            r.findings
                .iter()
                .all(|f| f.kind != Kind::Heap || f.verdict < Verdict::Suspect),
            "no single site stands out"
        );
        let inuse = r
            .findings
            .iter()
            .find(|f| f.component() == Some(Component::HeapInUse))
            .expect("heap in use reported");
        assert_eq!(inuse.verdict, Verdict::Leak, "{inuse:#?}");
    }

    #[test]
    fn growing_stacks_over_a_flat_heap_are_reported() {
        let r = series(0, 0, MB);
        assert!(r.findings.iter().all(|f| f.kind == Kind::Memory));
        assert_eq!(memory_findings(&r), [("goroutine stacks", Verdict::Leak)]);
        // And beside a growing heap, stack growth is no heap growth.
        let r = series(4 * MB, 5 * MB, MB);
        assert_eq!(memory_findings(&r), [("goroutine stacks", Verdict::Leak)]);
    }
}
