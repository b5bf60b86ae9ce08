//! Leak analysis over a series of snapshots of one Go process: robust trend
//! statistics ([`stats`]), per-allocation-site heap series ([`series`]),
//! goroutine groups ([`goroutine`]), MemStats accounting ([`memory`]), the
//! verdict model ([`verdict`]) and the findings it produces ([`finding`]).
//!
//! Pure: profiles in, findings out. The thresholds and their reasons are in
//! docs/drift-model.md.

pub mod finding;
pub mod frames;
pub mod goroutine;
pub mod memory;
pub mod render;
pub mod series;
pub mod stats;
pub mod verdict;

pub use finding::{Evidence, Finding, Kind, Report, Verdict};

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
    if let Some(h) = inputs.heap {
        all.extend(verdict::analyze_heap(h, &opts.heap));
    }
    if let Some(g) = inputs.goroutines {
        all.extend(goroutine::analyze_goroutines(g, &opts.goroutines));
    }
    let th = opts.memory.clone().unwrap_or_else(Thresholds::heap);
    all.extend(memory::analyze_memory(
        inputs.memory,
        inputs.memory_breaks,
        &th,
    ));
    goroutine::link_http_callers(&mut all, inputs.heap);
    link_tickers(&mut all);
    link_stacks(&mut all);
    Report::new(all)
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
                && f.signature.as_deref() == Some("ticker never stopped")
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
            f.signature = Some("ticker loop never stopped".into());
            f.root_cause = "a goroutine loops over a ticker's channel; both are started per object and never stopped (the heap grows at time.NewTicker in the same function)".into();
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
        if f.kind != Kind::Memory
            || f.function != memory::COMPONENTS[2]
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
        f.root_cause =
            "goroutine stacks grow: more goroutines, or deeper stacks; see the goroutine findings"
                .into();
        f.fix_hint = "fix the growing goroutine groups".into();
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
            unit: "bytes".into(),
            confidence: 0.9,
            score: 0.0,
            rule: None,
            signature: None,
            state: None,
            created_by: None,
            created_at: None,
            blocking_frame: None,
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
        let stacks = || finding(Kind::Memory, Verdict::Plateau, memory::COMPONENTS[2]);
        let mut all = vec![
            finding(Kind::Goroutine, Verdict::Leak, "main.f.func1"),
            stacks(),
            finding(Kind::Memory, Verdict::Plateau, memory::COMPONENTS[3]),
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
}
