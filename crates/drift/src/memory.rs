//! Memory accounting from the `# runtime.MemStats` footer of heap debug=1
//! texts: which part of the process's memory grows.
//!
//! What the footer can and cannot tell:
//! - `Sys` is everything the Go runtime obtained from the OS; `HeapReleased`
//!   of it was handed back, so Go's own share of RSS is at most
//!   `Sys − HeapReleased`.
//! - `MaxRSS` is the *peak* resident set size (`getrusage` `ru_maxrss`,
//!   converted to bytes by runtime/pprof). It never falls, so it shows
//!   growth of RSS only once RSS passes its previous peak; a flat MaxRSS
//!   does not prove a flat RSS. A caller that reads the current RSS
//!   (/proc/PID/status VmRSS, cgroup memory) can pass it instead.
//! - RSS growing while `Sys − HeapReleased` stays flat means memory outside
//!   the Go runtime grows (cgo, C libraries, mmap): "not a Go-heap leak".

use crate::finding::{Finding, Kind, Signature, Verdict};
use crate::stats::Series;
use crate::units::Unit;
use crate::verdict::{Thresholds, assess, evidence, set_shares};
use profile::legacy::MemStats;

/// One snapshot's accounting, bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Breakdown {
    /// Spans with at least one object (`HeapInuse`).
    pub heap_inuse: u64,
    /// Free heap spans not yet returned to the OS (`HeapIdle − HeapReleased`).
    pub heap_free: u64,
    /// Returned to the OS (`HeapReleased`); not resident.
    pub heap_released: u64,
    /// Goroutine stacks (`StackSys`).
    pub stacks: u64,
    /// Runtime metadata: span and mcache structures, GC metadata, profiling
    /// bucket hash table.
    pub metadata: u64,
    /// `OtherSys`.
    pub other: u64,
    /// `Sys − HeapReleased`: Go's upper bound of its own resident memory.
    pub go_resident: u64,
    /// The process's RSS (given, or MaxRSS), when known.
    pub rss: Option<u64>,
}

impl Breakdown {
    pub fn from_memstats(m: &MemStats) -> Breakdown {
        Breakdown {
            heap_inuse: m.heap_inuse,
            heap_free: m.heap_idle.saturating_sub(m.heap_released),
            heap_released: m.heap_released,
            stacks: m.stack_sys,
            metadata: m.mspan_sys + m.mcache_sys + m.gc_sys + m.buck_hash_sys,
            other: m.other_sys,
            go_resident: m.sys.saturating_sub(m.heap_released),
            rss: m.max_rss,
        }
    }
}

/// A MemStats snapshot with its time and, optionally, a current RSS that
/// overrides the footer's peak.
#[derive(Clone, Debug, PartialEq)]
pub struct MemPoint {
    pub time_nanos: i64,
    pub stats: MemStats,
    pub rss: Option<u64>,
    /// The anonymous part of `rss` (RssAnon + RssShmem), when the reading
    /// had it.
    pub anon_rss: Option<u64>,
}

/// A part of the process's memory, as the MemStats footer (and the RSS)
/// splits it. A memory finding's `function` is its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    /// `HeapInuse`.
    HeapInUse,
    /// `HeapIdle − HeapReleased`.
    FreeHeap,
    /// `StackSys`.
    GoroutineStacks,
    /// `MSpanSys + MCacheSys + GCSys + BuckHashSys`.
    RuntimeMetadata,
    /// `OtherSys`.
    OtherRuntime,
    /// RSS beyond `Sys − HeapReleased`.
    OutsideGo,
}

impl Component {
    /// In report order.
    pub const ALL: [Component; 6] = [
        Component::HeapInUse,
        Component::FreeHeap,
        Component::GoroutineStacks,
        Component::RuntimeMetadata,
        Component::OtherRuntime,
        Component::OutsideGo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::HeapInUse => "heap in use",
            Component::FreeHeap => "free heap not yet released",
            Component::GoroutineStacks => "goroutine stacks",
            Component::RuntimeMetadata => "runtime metadata",
            Component::OtherRuntime => "other runtime memory",
            Component::OutsideGo => "non-Go memory (RSS beyond Go's own)",
        }
    }

    /// Bookkeeping of something else: free heap not yet released (the
    /// scavenger's pace), runtime metadata (the heap's span count, the
    /// profiler's bucket table), other runtime memory. Their growth is at
    /// most `suspect`: by itself it is never the leak (a freshly started
    /// service's metadata grows for minutes; two end-to-end runs called
    /// that a leak on the zoo's controls), and growth that follows a
    /// leaking heap is the heap's finding.
    fn is_derived(self) -> bool {
        matches!(
            self,
            Component::FreeHeap | Component::RuntimeMetadata | Component::OtherRuntime
        )
    }

    /// The component's bytes in one snapshot; `None` for memory outside
    /// Go, which needs the whole series (`outside_go`).
    fn bytes(self, b: &Breakdown) -> Option<f64> {
        Some(match self {
            Component::HeapInUse => b.heap_inuse,
            Component::FreeHeap => b.heap_free,
            Component::GoroutineStacks => b.stacks,
            Component::RuntimeMetadata => b.metadata,
            Component::OtherRuntime => b.other,
            Component::OutsideGo => return None,
        } as f64)
    }

    /// (root cause, fix hint) of growth that goes on. Causes that point
    /// at other findings ("see the heap findings") do so only when
    /// `others` says those findings exist; without `others` (the memory
    /// analysis on its own) they point nowhere.
    pub(crate) fn cause(self, others: Option<&Others>) -> (&'static str, &'static str) {
        match (self, others) {
            (Component::HeapInUse, None) => (
                "live heap grows",
                "find the growing allocation sites in the heap profiles",
            ),
            (Component::HeapInUse, Some(o)) if o.heap_sites_grow => (
                "live heap grows; see the heap findings for the allocation sites",
                "fix the growing heap sites",
            ),
            (Component::HeapInUse, Some(o)) if o.goroutines_grow => (
                "live heap grows while no heap site stands out in the sampled heap profile; goroutines pile up, and what they reference (channels, closures, buffers) stays live: see the goroutine findings",
                "fix the growing goroutine groups first",
            ),
            (Component::HeapInUse, Some(_)) => (
                "live heap grows, but no heap site stands out in the sampled heap profile: the growth is spread over many small sites, or too slow for the sampling rate",
                "profile at a finer runtime.MemProfileRate to see the sites, or compare two heap profiles (pprof -diff_base)",
            ),
            (Component::FreeHeap, _) => (
                "free heap spans accumulate without being returned (fragmentation, or a past peak)",
                "usually harmless; debug.FreeOSMemory or a GOMEMLIMIT returns it sooner",
            ),
            (Component::GoroutineStacks, None) => (
                "goroutine stacks grow: more goroutines, or deeper stacks",
                "find the growing goroutines in goroutine profiles",
            ),
            (Component::GoroutineStacks, Some(o)) if o.goroutines_grow => (
                "goroutine stacks grow: more goroutines, or deeper stacks; see the goroutine findings",
                "fix the growing goroutine groups",
            ),
            (Component::GoroutineStacks, Some(_)) => (
                "goroutine stacks grow: more goroutines, or deeper stacks, though no goroutine group grows on its own (no goroutine profiles were read, or the growth is spread over many groups)",
                "take goroutine profiles (/debug/pprof/goroutine) alongside the heap to see which goroutines grow",
            ),
            (Component::RuntimeMetadata, Some(o)) if !o.heap_grows => (
                "runtime metadata grows (span structures, GC metadata, profiling buckets) while the heap shows no growth",
                "usually settles after warm-up; watch it over a longer window",
            ),
            (Component::RuntimeMetadata, _) => (
                "runtime metadata grows with the heap's span count",
                "follows heap growth; fix the heap first",
            ),
            (Component::OtherRuntime, _) => (
                "other runtime memory grows (profiling buckets, timers, OS threads' g0 stacks)",
                "check thread creation (threadcreate profile) and profiling rates",
            ),
            (Component::OutsideGo, _) => (
                "not a Go-heap leak: the process's memory grows by more than the Go runtime's own memory does (cgo, C libraries, mmap)",
                "look outside the Go heap: C allocations, mmap'd files, off-heap caches",
            ),
        }
    }
}

/// What the other findings of a report say, for the causes that point at
/// them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Others {
    /// A heap site grows (at least suspect).
    pub heap_sites_grow: bool,
    /// A goroutine group grows (at least suspect).
    pub goroutines_grow: bool,
    /// The heap grows: a heap site, or heap in use.
    pub heap_grows: bool,
}

const DERIVED_NOTE: &str = "runtime bookkeeping that follows the heap, the profiler and the scavenger: at most suspect on its own";

/// Where the RSS of the non-Go component comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RssSource {
    /// The anonymous part of the current RSS (`MemPoint::anon_rss`) at
    /// every point.
    Anonymous,
    /// The current RSS the caller read (`MemPoint::rss`) at every point.
    Current,
    /// The footer's MaxRSS at every point: a peak.
    Peak,
}

/// A lower bound of the memory outside Go, per point, and Go's own memory
/// it is measured against. Go's memory is all anonymous, and at most
/// `Sys − HeapReleased` of it is resident (released pages are handed back
/// with MADV_DONTNEED): the anonymous RSS minus that is the least the
/// process holds outside Go. Without the anonymous part, the whole RSS
/// stands in for it, file pages of the binary and libraries included.
///
/// With only the peak, Go's memory at the moment of the peak is unknown:
/// a churning heap rises between snapshots and the scavenger returns it,
/// so the peak outgrows any Go memory the snapshots saw (the zoo's
/// controls were called leaking that way). It was at most `Sys`, which
/// never falls: `MaxRSS − Sys` bounds the memory outside Go at the peak.
///
/// The bound is negative while Go holds more than the rest of the process
/// (pages Go counts that were never touched, or not at the peak): then it
/// shows nothing, and its rise may be Go touching its own pages. The
/// caller judges the trend on the bound and the growth on its positive
/// part.
fn outside_go(bds: &[Breakdown], points: &[MemPoint], source: RssSource) -> (Vec<f64>, Vec<f64>) {
    bds.iter()
        .zip(points)
        .map(|(b, p)| {
            let (rss, go) = match source {
                RssSource::Anonymous => (p.anon_rss, b.go_resident),
                RssSource::Current => (p.rss, b.go_resident),
                RssSource::Peak => (p.stats.max_rss, p.stats.sys),
            };
            let rss = rss.unwrap_or(0) as f64;
            (rss - go as f64, go as f64)
        })
        .unzip()
}

/// How much a series grew over the window: the larger of the fitted rise
/// and the level change, so that a warm-up early in the window counts in
/// full (the Theil–Sen slope of a rise that then stays flattens it).
fn growth(s: &Series) -> f64 {
    let reduced = crate::stats::reduce(s, crate::stats::MAX_PAIRWISE_POINTS);
    let rise = crate::stats::theil_sen(&reduced).map_or(0.0, |l| l.slope * s.span());
    rise.max(crate::stats::level_change(&reduced)).max(0.0)
}

/// Findings per component whose verdict is not stable. The non-Go
/// component needs an RSS at every point: the current one when the caller
/// gave it for all, else the footer's MaxRSS.
pub fn analyze_memory(points: &[MemPoint], breaks: &[usize], th: &Thresholds) -> Vec<Finding> {
    let Some(t0) = points.first().map(|p| p.time_nanos) else {
        return Vec::new();
    };
    let x: Vec<f64> = points
        .iter()
        .map(|p| (p.time_nanos - t0) as f64 / 1e9)
        .collect();
    let source = if points.iter().all(|p| p.anon_rss.is_some()) {
        Some(RssSource::Anonymous)
    } else if points.iter().all(|p| p.rss.is_some()) {
        Some(RssSource::Current)
    } else if points.iter().all(|p| p.stats.max_rss.is_some()) {
        Some(RssSource::Peak)
    } else {
        None
    };
    let bds: Vec<Breakdown> = points
        .iter()
        .map(|p| Breakdown::from_memstats(&p.stats))
        .collect();
    let mut out = Vec::new();
    for component in Component::ALL {
        let mut magnitudes = None;
        let y = if component == Component::OutsideGo {
            let Some(source) = source else {
                continue;
            };
            let (outside, go) = outside_go(&bds, points, source);
            magnitudes = Some((source, go));
            outside
        } else {
            bds.iter().filter_map(|b| component.bytes(b)).collect()
        };
        let s = Series::new(x.clone(), y).with_breaks(breaks.to_vec());
        let mut a = assess(&s, th);
        if component.is_derived() && a.verdict == Verdict::Leak {
            a.verdict = Verdict::Suspect;
            a.notes.push(DERIVED_NOTE.into());
        }
        if a.verdict == Verdict::Stable {
            continue;
        }
        let mut notes = a.notes.clone();
        if let Some((source, go)) = magnitudes {
            // Only the positive part of the bound proves memory outside
            // Go, so only its growth counts. It also grows when Go's own
            // memory does, by at most about Go's own growth (pages the
            // runtime counts become resident when first written: fresh
            // memory from the OS is not zeroed by the runtime), so memory
            // outside Go is reported when the proven part grows by more
            // than that: judged by magnitudes, never switched off while
            // Go's heap warms up.
            let proven: Vec<f64> = s.y.iter().map(|v| v.max(0.0)).collect();
            let outside = growth(&Series::new(x.clone(), proven).with_breaks(breaks.to_vec()));
            let go = growth(&Series::new(x.clone(), go).with_breaks(breaks.to_vec()));
            if outside <= go {
                continue;
            }
            let (rss, how, go_name) = match source {
                RssSource::Anonymous => (
                    "the anonymous RSS",
                    "the anonymous part of the current RSS (RssAnon + RssShmem; file pages of the binary and libraries are left out)",
                    "Sys − HeapReleased",
                ),
                RssSource::Current => (
                    "RSS",
                    "the current RSS the caller read (not the footer's MaxRSS)",
                    "Sys − HeapReleased",
                ),
                RssSource::Peak => (
                    "the peak RSS",
                    "the footer's MaxRSS, a peak: it shows growth only once RSS passes its old peak",
                    "Sys, all Go ever held",
                ),
            };
            notes.push(format!("RSS is {how}"));
            notes.push(format!(
                "beyond Go's own memory ({go_name}), {rss} grew by at least {} over the window, Go's own memory by {}",
                crate::units::amount(outside, Unit::Bytes),
                crate::units::amount(go, Unit::Bytes),
            ));
        }
        let (c, f) = if a.verdict == Verdict::Plateau {
            // The growth causes describe growth that goes on.
            ("grew during warm-up and then stayed level", "")
        } else {
            component.cause(None)
        };
        out.push(Finding {
            kind: Kind::Memory,
            verdict: a.verdict,
            function: component.as_str().into(),
            file: String::new(),
            line: 0,
            growth_per_min: a.slope * 60.0,
            unit: Unit::Bytes,
            confidence: a.confidence,
            score: 0.0,
            rule: None,
            signature: (component == Component::OutsideGo).then_some(Signature::NotAGoHeapLeak),
            state: None,
            created_by: None,
            created_at: None,
            blocking_frame: None,
            resource: None,
            root_cause: c.into(),
            fix_hint: f.into(),
            notes,
            stack: Vec::new(),
            evidence: evidence(&s, &a),
        });
    }
    let total: f64 = out.iter().map(|f| f.evidence.rise.max(0.0)).sum();
    set_shares(&mut out, total);
    out
}
