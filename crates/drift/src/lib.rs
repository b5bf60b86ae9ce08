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

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DriftError {
    #[error("snapshot {index}: time stamp earlier than the previous snapshot's")]
    OutOfOrder { index: usize },
    #[error("snapshot {index}: not a heap profile (no inuse_space sample type)")]
    NotHeap { index: usize },
    #[error("snapshot {index}: not a goroutine profile (expected one goroutine/count sample type)")]
    NotGoroutine { index: usize },
}
