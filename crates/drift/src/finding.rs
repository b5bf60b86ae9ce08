//! The findings model and its JSON form (`{"findings": [...]}`, rank order).
//! Fields named in issue 3 (`kind`, `verdict`, `function`, `file`, `line`,
//! `growth_per_min`, `unit`, `confidence`) are stable; the rest is evidence.

use crate::goroutine::Rule;
use crate::memory::Component;
use crate::series::Frame;
use crate::units::Unit;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Heap,
    Goroutine,
    Memory,
    /// An acquiring site in a custom profile of held resources
    /// (`pprof.NewProfile`, heapdriftprobe's `Track`).
    Resource,
}

/// Ordered by severity: `Stable < Plateau < Stuck < Suspect < Leak`.
/// `Stuck` (goroutines the runtime proved can never wake, whose number
/// does not grow) is listed, but below anything that grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Stable,
    Plateau,
    Stuck,
    Suspect,
    Leak,
}

impl Verdict {
    /// Most severe first, as reports list them.
    pub const BY_SEVERITY: [Verdict; 5] = [
        Verdict::Leak,
        Verdict::Suspect,
        Verdict::Stuck,
        Verdict::Plateau,
        Verdict::Stable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Stable => "stable",
            Verdict::Plateau => "plateau",
            Verdict::Stuck => "stuck",
            Verdict::Suspect => "suspect",
            Verdict::Leak => "leak",
        }
    }
}

/// A named pattern from the catalogue (go-leak-signals §6): what the stack
/// or the memory accounting says the cause is. JSON keeps the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Signature {
    /// Heap: growth at `time.NewTicker`/`time.Tick`.
    #[serde(rename = "ticker never stopped")]
    TickerNeverStopped,
    /// Heap: growth at `time.NewTimer`/`time.After`.
    #[serde(rename = "timers in a loop")]
    TimersInALoop,
    /// Heap (derived contexts) or goroutines (`context.propagateCancel`).
    #[serde(rename = "context never cancelled")]
    ContextNeverCancelled,
    /// Heap (connection buffers, or the linked call site) or goroutines
    /// (`persistConn` read and write loops).
    #[serde(rename = "HTTP response bodies never closed")]
    HttpBodiesNeverClosed,
    /// Heap: growth under map assignment.
    #[serde(rename = "map that only grows")]
    MapThatOnlyGrows,
    /// Heap: 64 KiB or more per in-use object.
    #[serde(rename = "large buffers retained")]
    LargeBuffersRetained,
    /// Memory: RSS grows beyond Go's own memory.
    #[serde(rename = "not a Go-heap leak")]
    NotAGoHeapLeak,
    /// Goroutines: `select {}` or a select on nil channels only.
    #[serde(rename = "select with no way out")]
    SelectWithNoWayOut,
    /// Goroutines: a send or receive on a nil channel.
    #[serde(rename = "operation on a nil channel")]
    NilChannel,
    /// Goroutines: the finalizer goroutine blocks.
    #[serde(rename = "finalizer goroutine blocked")]
    FinalizerBlocked,
    /// Goroutines: a loop over a ticker's channel, never stopped.
    #[serde(rename = "ticker loop never stopped")]
    TickerLoopNeverStopped,
}

impl Signature {
    /// The name, as the reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Signature::TickerNeverStopped => "ticker never stopped",
            Signature::TimersInALoop => "timers in a loop",
            Signature::ContextNeverCancelled => "context never cancelled",
            Signature::HttpBodiesNeverClosed => "HTTP response bodies never closed",
            Signature::MapThatOnlyGrows => "map that only grows",
            Signature::LargeBuffersRetained => "large buffers retained",
            Signature::NotAGoHeapLeak => "not a Go-heap leak",
            Signature::SelectWithNoWayOut => "select with no way out",
            Signature::NilChannel => "operation on a nil channel",
            Signature::FinalizerBlocked => "finalizer goroutine blocked",
            Signature::TickerLoopNeverStopped => "ticker loop never stopped",
        }
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The statistics behind a verdict.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Seconds since the first snapshot of the series.
    pub times: Vec<f64>,
    pub values: Vec<f64>,
    /// Indexes where a new segment (process restart) starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<usize>,
    pub first: f64,
    pub last: f64,
    /// Theil–Sen slope, units per minute.
    pub slope_per_min: f64,
    /// Fitted growth over the covered time (slope × span).
    pub rise: f64,
    /// Mann–Kendall normal score and one-sided p-value of an increase.
    pub mann_kendall_z: f64,
    pub p_value: f64,
    /// R² of the Theil–Sen line.
    pub r_squared: f64,
    /// Robust noise (1.4826 × median absolute residual).
    pub noise: f64,
    /// Fraction of non-zero steps that go up.
    pub monotonic_fraction: f64,
    /// Slope of the last third / overall slope (absent under 6 points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_ratio: Option<f64>,
    /// Allocated bytes per minute (heap sites with alloc_space).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alloc_per_min: Option<f64>,
    /// Heap sites: Theil–Sen slope of in-use objects, per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_per_min: Option<f64>,
    /// Allocated bytes / mean in-use bytes over the series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turnover: Option<f64>,
    /// This finding's share of the positive growth of its kind (0..1).
    pub share_of_growth: f64,
    /// Goroutines: the longest wait (`N minutes` of debug=2 dumps) per
    /// snapshot, `null` where unknown; absent when never known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wait_minutes: Vec<Option<u64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    pub verdict: Verdict,
    /// Package-qualified, as pprof prints it; for memory findings the
    /// component (`heap in use`, `stacks`, ...).
    pub function: String,
    pub file: String,
    pub line: i64,
    pub growth_per_min: f64,
    /// The unit of `growth_per_min` and of the evidence's values.
    pub unit: Unit,
    /// Confidence in the verdict, 0..1.
    pub confidence: f64,
    /// The ranking score (higher first within a verdict).
    pub score: f64,
    /// Goroutines: the LeakProf-style rule (`chan send`, `chan receive`,
    /// `select`, `sync`, `io`, `sleep`, `running`, `other`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// A named signature from the catalogue, when one matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// Goroutines: the state as the runtime printed it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Goroutines: the `created by` function, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Goroutines: the `created by` call site, when known (debug=2 dumps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Frame>,
    /// Goroutines: where the group is blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking_frame: Option<Frame>,
    /// Resources: the custom profile's name (`pprof.NewProfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub root_cause: String,
    pub fix_hint: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Leaf first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<Frame>,
    pub evidence: Evidence,
}

impl Finding {
    /// Whether the finding names a place in the program's own code. A
    /// MemStats component is a symptom (the heap or stacks grow) and a
    /// standard-library site is where the library allocates or blocks, not
    /// where the program goes wrong: among findings of one verdict, the
    /// ones that point at code the user can change come first. A tier
    /// rather than a score factor, so that a large symptom (heap in use
    /// growing by all leaks together, with 100% of the memory growth)
    /// never outranks its cause.
    pub fn at_own_code(&self) -> bool {
        self.kind != Kind::Memory && !crate::frames::is_standard(&self.function)
    }

    /// Whether the evidence spans enough time for a rate
    /// ([`crate::verdict::too_short_for_a_rate`]); without one,
    /// `growth_per_min` is 0 and says nothing.
    pub fn rate_known(&self) -> bool {
        let ev = &self.evidence;
        let s = crate::stats::Series::new(ev.times.clone(), ev.values.clone())
            .with_breaks(ev.breaks.clone());
        crate::verdict::too_short_for_a_rate(&s).is_none()
    }

    /// For a memory finding, the component it is about (its `function` is
    /// the component's name).
    pub fn component(&self) -> Option<Component> {
        if self.kind != Kind::Memory {
            return None;
        }
        Component::ALL
            .into_iter()
            .find(|c| c.as_str() == self.function)
    }
}

/// Findings in rank order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// Sorts into rank order: verdict (leak first), then findings at the
    /// program's own code before the rest, then score, then growth, then
    /// site, so equal inputs always give the same order.
    pub fn new(mut findings: Vec<Finding>) -> Report {
        findings.sort_by(|a, b| {
            b.verdict
                .cmp(&a.verdict)
                .then(b.at_own_code().cmp(&a.at_own_code()))
                .then(b.score.total_cmp(&a.score))
                .then(
                    b.evidence
                        .share_of_growth
                        .total_cmp(&a.evidence.share_of_growth),
                )
                .then(a.kind.cmp(&b.kind))
                .then_with(|| a.function.cmp(&b.function))
                .then_with(|| a.file.cmp(&b.file))
                .then(a.line.cmp(&b.line))
        });
        Report { findings }
    }

    pub fn leaks(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == Verdict::Leak)
    }
}
