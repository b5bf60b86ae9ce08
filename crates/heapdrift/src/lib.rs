//! The heapdrift binary's library half: command-line parsing and dispatch,
//! kept out of main.rs so it is testable and usable by the web UI.

pub mod app;
pub mod pprof_cli;
pub mod pprof_config;
pub mod pprof_driver;
pub mod sources;
