//! Subcommand dispatch and process-level behaviour (exit codes, broken pipes).

use std::io::{self, Write};

use crate::pprof_cli::{self, PprofArgs};

const HELP: &str =
    "heapdrift: find memory and goroutine leaks in Go services; a faster go tool pprof

usage:
   heapdrift pprof [flags] [binary] <source> ...   same flags and output as go tool pprof
   heapdrift pprof -h                               pprof's flags
   heapdrift hunt [options] <archive, files or dirs> ...
                                                    leaks in a series of heap/goroutine profiles
   heapdrift hunt -h                                hunt's options
   heapdrift flame PROFILE... [--base OTHER] [-o out.svg] [--folded | --json]
                                                    interactive SVG flame graph (diff with --base)
   heapdrift watch TARGET... [--every 15s] [--for 30m] [--archive DIR] [--quiet]
                                                    archive a Go service's profiles on a schedule
   heapdrift serve <archive or files> ... [--http=[host]:port] [--no_browser]
                                                    leak dashboard and flame graphs in the browser
   heapdrift --version
   heapdrift help
";

/// Runs the command line and returns the process exit status.
pub fn run(args: &[String]) -> i32 {
    let result = match args.first().map(String::as_str) {
        None => {
            let _ = io::stderr().write_all(HELP.as_bytes());
            return 2;
        }
        Some("help" | "-h" | "-help" | "--help") => write_stdout(HELP.as_bytes()),
        Some("--version" | "-version" | "version") => {
            write_stdout(format!("heapdrift {}\n", env!("CARGO_PKG_VERSION")).as_bytes())
        }
        Some("pprof") => match pprof_cli::parse(&args[1..]) {
            Ok(a) => run_pprof(a),
            Err(exit) => {
                let _ = io::stderr().write_all(exit.stderr_text().as_bytes());
                return exit.exit_code();
            }
        },
        Some("hunt") => return crate::hunt_cmd::main(&args[1..]),
        Some("serve") => return crate::serve_cmd::main(&args[1..]),
        Some("flame") => return crate::flame_cmd::main(&args[1..]),
        Some("watch") => return crate::watch_cmd::main(args),
        Some(other) => {
            eprintln!("heapdrift: unknown command {other:?}; try `heapdrift help`");
            return 2;
        }
    };
    match result {
        Ok(()) => 0,
        // Like ripgrep: a closed pipe (`| head`) is a normal way to stop.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            eprintln!("{e:#}");
            2
        }
    }
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The pprof pipeline: fetch, merge, report (see `pprof_cmd`).
fn run_pprof(args: PprofArgs) -> anyhow::Result<()> {
    crate::pprof_cmd::run(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn dispatch_exit_codes() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(run(&s(&["--version"])), 0);
        assert_eq!(run(&s(&["nope"])), 2);
        assert_eq!(run(&s(&["pprof", "-top", "x"])), 2);
        assert_eq!(run(&s(&["hunt"])), 2);
        assert_eq!(run(&s(&["flame"])), 2);
        assert_eq!(run(&s(&["flame", "/nonexistent"])), 2);
        assert_eq!(run(&s(&["hunt", "/nonexistent"])), 2);
        assert_eq!(run(&s(&["watch"])), 2);
        assert_eq!(run(&s(&["serve"])), 2);
        assert_eq!(run(&s(&["serve", "/nonexistent"])), 2);
        assert_eq!(run(&s(&["watch", "--every", "0", "127.0.0.1:1"])), 2);
        assert_eq!(run(&s(&["watch", "--every", "5x", "127.0.0.1:1"])), 2);
    }
}
