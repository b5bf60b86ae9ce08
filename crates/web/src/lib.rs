//! heapdrift's local web UI: pprof's views (flame graph, top, graph, peek,
//! source) over HTTP, for `heapdrift pprof -http` and `heapdrift serve`.
//!
//! [`pprof_ui::pprof_ui_router`] builds the views under `/ui` over any
//! [`pprof_ui::ProfileSource`]; [`serve`] runs a router on a local address.
//! Everything the browser loads is embedded in the binary (`assets/`) and
//! every page carries a strict Content-Security-Policy.

pub mod dashboard;
pub mod html;
pub mod pprof_ui;
mod server;

pub use pprof_ui::{ProfileSource, pprof_ui_router, with_root_redirect};
pub use server::{parse_http_addr, serve};
