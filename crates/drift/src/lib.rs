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
    Report::new(all)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DriftError {
    #[error("snapshot {index}: time stamp earlier than the previous snapshot's")]
    OutOfOrder { index: usize },
    #[error("snapshot {index}: not a heap profile (no inuse_space sample type)")]
    NotHeap { index: usize },
    #[error("snapshot {index}: not a goroutine profile (expected one goroutine/count sample type)")]
    NotGoroutine { index: usize },
}
