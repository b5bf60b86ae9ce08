//! The heapdrift binary's library half: command-line parsing, dispatch and
//! wiring, kept out of main.rs so it is testable. The pipeline itself lives
//! in `report::driver`, where the web UI shares it.

pub mod alloc;
pub mod app;
pub mod binaries;
pub mod flame_cmd;
pub mod hunt_cmd;
pub mod pprof_cli;
pub mod pprof_cmd;
pub mod pprof_shell;
pub mod push_cmd;
pub mod serve_cmd;
pub mod shell;
pub mod sources;
pub mod store_args;
pub mod watch_cmd;
