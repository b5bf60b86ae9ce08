//! heapdrift's local web UI: pprof's views over HTTP.

pub mod pprof_ui;
