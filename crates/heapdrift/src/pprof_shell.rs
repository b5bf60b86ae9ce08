//! `heapdrift pprof SOURCE...` without an output format: go tool pprof's
//! interactive shell. What a line means is `report::shell`'s; this is the
//! loop around it: prompt, read, act. It reads as pprof's plain UI does
//! (the prompt on stdout; its messages, the header and errors on stderr;
//! reports on stdout), so a scripted session (`printf 'top\n' | heapdrift
//! pprof FILE`) prints what go tool pprof prints, and can be diffed. The
//! profile is parsed once; each command works on a copy, as pprof's.

use std::io::{self, BufRead, Write};

use profile::Profile;
use report::driver;
use report::shell::{Action, Shell};

use crate::pprof_cli::PprofArgs;
use crate::pprof_cmd::{Session, emit_report};
use report::driver::check_supported;

const PROMPT: &[u8] = b"(pprof) ";

/// Runs the shell until `quit` or the end of input.
pub fn run(p: Profile, args: &PprofArgs) -> anyhow::Result<()> {
    let mut stderr = io::stderr();
    let mut shell = Shell::new(&p, args.config.clone());
    greet(&p, &shell.config, &mut stderr)?;
    // pprof runs each command on a fresh copy decoded from the profile's
    // encoding, which drops what the encoding cannot hold (numeric labels
    // of value 0 without a unit, for one). One round trip up front gives
    // the same profile, which each command then clones.
    let copy = profile::proto::decode(&profile::proto::encode(&p))?;
    let mut input = io::stdin().lock();
    let mut line = String::new();
    loop {
        let mut stdout = io::stdout().lock();
        stdout.write_all(PROMPT)?;
        stdout.flush()?;
        drop(stdout);
        line.clear();
        // pprof reads up to a newline; a last line without one still
        // counts, and the next read ends the session.
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        for action in shell.line(&copy, &line) {
            match action {
                Action::Print(text) => stderr.write_all(text.as_bytes())?,
                Action::Quit => return Ok(()),
                Action::Run {
                    command,
                    arg,
                    config,
                } => {
                    let result = check_supported(command)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| {
                            emit_report(
                                copy.clone(),
                                command,
                                arg.as_deref(),
                                &config,
                                Session::Interactive,
                                &mut stderr,
                            )
                        });
                    if let Err(e) = result {
                        // A closed stdout ends the session (app treats it
                        // as a normal stop).
                        if crate::app::is_broken_pipe(&e) {
                            return Err(e);
                        }
                        // pprof prints the error and waits for the next
                        // command.
                        writeln!(stderr, "{e:#}")?;
                    }
                }
            }
        }
    }
}

/// pprof's `greetings`: the profile's header, a hint when the default
/// sample type has no samples, and how to get help.
fn greet(p: &Profile, cfg: &report::config::Config, stderr: &mut dyn Write) -> io::Result<()> {
    if let Some((labels, total)) = driver::greetings(p, cfg, stderr) {
        let mut text = labels.join("\n");
        if !text.ends_with('\n') {
            text.push('\n');
        }
        stderr.write_all(text.as_bytes())?;
        if total == 0 && p.sample_types.len() > 1 {
            stderr.write_all(
                b"No samples were found with the default sample value type.\n\
                  Try \"sample_index\" command to analyze different sample values.\n",
            )?;
        }
    }
    stderr.write_all(b"Entering interactive mode (type \"help\" for commands, \"o\" for options)\n")
}
