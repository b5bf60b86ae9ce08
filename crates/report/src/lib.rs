//! heapdrift's reports: pprof's measurement units, call graph and every text
//! report, byte-identical to `go tool pprof`. Pure: reports write to
//! `impl std::io::Write`, source files come through a reader callback.

pub mod dotgraph;
pub mod focus;
pub mod gofmt;
pub mod graph;
pub mod measurement;
pub mod report;
pub mod source;
pub mod tabwriter;

pub use report::{Options, OutputFormat, Report, ReportError};
