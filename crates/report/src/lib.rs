//! heapdrift's reports: pprof's measurement units, call graph and every text
//! report, byte-identical to `go tool pprof`. Pure: reports write to
//! `impl std::io::Write`, source files come through a reader callback.
//!
//! Typical use, following pprof's `generateRawReport`:
//! 1. `Options::for_sample_index(&prof, index, format)`, then set the CLI
//!    flags (`node_count` is 0 for text/top, 80 for tree/dot/traces/tags;
//!    peek/list/callgrind zero the count and fractions, as the driver does).
//! 2. `Report::new(prof, options)` computes the total *before* filters.
//! 3. Apply the filters (`focus::compile`, then the profile crate's passes)
//!    and granularity aggregation through `Report::profile_mut`.
//! 4. `Report::generate(&mut w)`, or `Report::print_source(&mut w, &read)`
//!    for `list`.

mod assembly;
pub mod config;
pub mod dotgraph;
pub mod driver;
pub mod flame;
pub mod focus;
pub mod gofmt;
pub mod graph;
pub mod measurement;
pub mod obj;
pub mod report;
pub mod shell;
pub mod shortnames;
pub mod source;
pub mod tabwriter;
mod weblist;

pub use report::{Options, OutputFormat, Report, ReportError};
