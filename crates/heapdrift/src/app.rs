//! The command line's one dispatch: arguments become a [`Command`] (or an
//! early exit: help, a usage error), the command runs to a `Result<ExitCode>`,
//! and this module alone turns errors into the `heapdrift SUBCOMMAND:
//! message` line with exit status 2, and a closed stdout into success.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::flame_cmd::FlameArgs;
use crate::hunt_cmd::HuntArgs;
use crate::pprof_cli::{self, CliExit, PprofArgs};
use crate::push_cmd::PushArgs;
use crate::serve_cmd::ServeArgs;
use crate::shell::{CompletionsArgs, ManArgs};
use crate::watch_cmd::WatchArgs;

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
   heapdrift push --to pyroscope://HOST:PORT --service NAME <archive or files> ...
                                                    back-fill recorded snapshots into Pyroscope
   heapdrift completions bash|zsh|fish|elvish|powershell
                                                    shell completions, on stdout
   heapdrift man [SUBCOMMAND]                       the manual page (roff), on stdout
   heapdrift --version
   heapdrift help
";

/// Exit status of bad usage and of every error, as go tool pprof's.
pub const EXIT_ERROR: u8 = 2;

/// A parsed command line, ready to run. (The big argument structs are
/// boxed to keep the enum small.)
#[derive(Debug)]
pub enum Command {
    Help,
    Version,
    Pprof(Box<PprofArgs>),
    Hunt(HuntArgs),
    Flame(Box<FlameArgs>),
    Watch(WatchArgs),
    Serve(ServeArgs),
    Push(PushArgs),
    Completions(CompletionsArgs),
    Man(ManArgs),
}

impl Command {
    /// The subcommand's name, for the error line.
    fn name(&self) -> &'static str {
        match self {
            Command::Help | Command::Version => "",
            Command::Pprof(_) => "pprof",
            Command::Hunt(_) => "hunt",
            Command::Flame(_) => "flame",
            Command::Watch(_) => "watch",
            Command::Serve(_) => "serve",
            Command::Push(_) => "push",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

/// What parsing ends with when there is nothing to run.
#[derive(Debug)]
pub enum EarlyExit {
    /// Text asked for (`--help`): stdout, exit 0.
    Help(String),
    /// go tool pprof's own outcome: its exact stderr text and status.
    Pprof(CliExit),
    /// A usage error: one line, exit 2.
    Usage {
        command: &'static str,
        message: String,
    },
    /// No arguments at all: the overview on stderr, exit 2.
    NoCommand,
}

/// A run that ends with a status other than 0 or 2 and a message, such as
/// a watch that stored nothing (1). [`run`] prints it as any error.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Every subcommand, in the tree's order: pprof (Go-style flags), then
/// those with clap definitions.
pub(crate) const SUBCOMMANDS: &[&str] = &[
    "pprof",
    "hunt",
    "flame",
    "watch",
    "serve",
    "push",
    "completions",
    "man",
];

/// The subcommands with clap definitions.
const CLAP_SUBCOMMANDS: &[&str] = SUBCOMMANDS.split_at(1).1;

/// Turns the arguments (without the program name) into a command.
pub fn parse(args: &[String]) -> Result<Command, EarlyExit> {
    let Some(first) = args.first() else {
        return Err(EarlyExit::NoCommand);
    };
    let rest = &args[1..];
    match first.as_str() {
        "help" | "-h" | "-help" | "--help" => Ok(Command::Help),
        "--version" | "-version" | "version" => Ok(Command::Version),
        // pprof's flags follow Go's flag package (one dash, `-flag value`,
        // stop at the first non-flag), which clap does not parse.
        "pprof" => pprof_cli::parse(rest)
            .map(|a| Command::Pprof(Box::new(a)))
            .map_err(EarlyExit::Pprof),
        "hunt" => clap_parse::<HuntArgs>("hunt", rest).map(Command::Hunt),
        "flame" => clap_parse::<FlameArgs>("flame", rest).map(|a| Command::Flame(Box::new(a))),
        "watch" => clap_parse::<WatchArgs>("watch", rest).map(Command::Watch),
        "serve" => clap_parse::<ServeArgs>("serve", &crate::serve_cmd::go_style_flags(rest))
            .map(Command::Serve),
        "completions" => {
            clap_parse::<CompletionsArgs>("completions", rest).map(Command::Completions)
        }
        "push" => clap_parse::<PushArgs>("push", rest).map(Command::Push),
        "man" => clap_parse::<ManArgs>("man", rest).map(Command::Man),
        other => Err(EarlyExit::Usage {
            command: "",
            message: format!("unknown command {other:?}; try `heapdrift help`"),
        }),
    }
}

/// Parses a subcommand's arguments with its clap definition.
fn clap_parse<T: CommandFactory + FromArgMatches>(
    name: &'static str,
    args: &[String],
) -> Result<T, EarlyExit> {
    debug_assert!(CLAP_SUBCOMMANDS.contains(&name));
    let argv = std::iter::once(OsString::from(format!("heapdrift {name}")))
        .chain(args.iter().map(OsString::from));
    let mut cmd = subcommand::<T>(name);
    let matches = cmd
        .try_get_matches_from_mut(argv)
        .map_err(|e| clap_exit(name, &e))?;
    T::from_arg_matches(&matches).map_err(|e| clap_exit(name, &e))
}

/// A subcommand's clap definition, named as `heapdrift NAME`.
pub(crate) fn subcommand<T: CommandFactory>(name: &'static str) -> clap::Command {
    T::command()
        .name(name)
        .bin_name(format!("heapdrift {name}"))
}

fn clap_exit(command: &'static str, e: &clap::Error) -> EarlyExit {
    if !e.use_stderr() {
        return EarlyExit::Help(e.render().to_string());
    }
    // clap's first block is the error (and any tip); its usage block and
    // "For more information" line give way to one pointer to --help.
    let text = e.render().to_string();
    let message = text
        .split("\n\n")
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    EarlyExit::Usage {
        command,
        message: format!("{message} (see `heapdrift {command} --help`)"),
    }
}

/// Runs the command line and returns the process exit status.
pub fn run(args: &[String]) -> ExitCode {
    let command = match parse(args) {
        Ok(c) => c,
        Err(early) => return early_exit(early),
    };
    let name = command.name();
    match run_command(command) {
        Ok(code) => code,
        Err(e) => report_error(name, &e),
    }
}

/// Each subcommand's `run`.
fn run_command(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Help => write_stdout(HELP.as_bytes()),
        Command::Version => {
            write_stdout(format!("heapdrift {}\n", env!("CARGO_PKG_VERSION")).as_bytes())
        }
        Command::Pprof(a) => crate::pprof_cmd::run(*a),
        Command::Hunt(a) => crate::hunt_cmd::run(&a),
        Command::Flame(a) => crate::flame_cmd::run(&a),
        Command::Watch(a) => crate::watch_cmd::run(a),
        Command::Serve(a) => crate::serve_cmd::run(&a),
        Command::Push(a) => crate::push_cmd::run(&a),
        Command::Completions(a) => crate::shell::completions(&a),
        Command::Man(a) => crate::shell::man(&a),
    }
}

fn early_exit(early: EarlyExit) -> ExitCode {
    let mut stderr = io::stderr().lock();
    match early {
        EarlyExit::Help(text) => {
            return match write_stdout(text.as_bytes()) {
                Ok(code) => code,
                Err(e) => report_error("", &e),
            };
        }
        EarlyExit::Pprof(exit) => {
            let _ = stderr.write_all(exit.stderr_text().as_bytes());
            return ExitCode::from(exit.exit_code());
        }
        EarlyExit::Usage { command, message } => {
            let _ = writeln!(stderr, "{}: {message}", prefix(command));
        }
        EarlyExit::NoCommand => {
            let _ = stderr.write_all(HELP.as_bytes());
        }
    }
    ExitCode::from(EXIT_ERROR)
}

/// The one place errors reach the user: a closed pipe (`| head`) is a
/// normal way to stop, as in ripgrep; anything else is one line.
fn report_error(command: &'static str, e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::SUCCESS;
    }
    let code = e.downcast_ref::<Exit>().map_or(EXIT_ERROR, |x| x.code);
    let mut stderr = io::stderr().lock();
    if command == "pprof" {
        // go tool pprof's messages, as it prints them (some span lines:
        // each unreadable source, then "failed to fetch any source
        // profiles").
        let _ = writeln!(stderr, "{e:#}");
    } else {
        let message = format!("{e:#}").replace('\n', " ");
        let _ = writeln!(stderr, "{}: {message}", prefix(command));
    }
    ExitCode::from(code)
}

fn prefix(command: &str) -> String {
    if command.is_empty() {
        "heapdrift".into()
    } else {
        format!("heapdrift {command}")
    }
}

pub(crate) fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The whole command tree, for completions and manual pages. pprof's
/// flags come from its flag table.
pub fn command_tree() -> clap::Command {
    clap::Command::new("heapdrift")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Find memory and goroutine leaks in Go services; a faster go tool pprof")
        .long_about(
            "heapdrift finds memory and goroutine leaks in Go services from their pprof data \
             (heap, goroutine and goroutineleak profiles over time), and is a drop-in \
             `go tool pprof` for its reports.",
        )
        .subcommand_required(true)
        .subcommand(pprof_cli::clap_command())
        .subcommand(subcommand::<HuntArgs>("hunt"))
        .subcommand(subcommand::<FlameArgs>("flame"))
        .subcommand(subcommand::<WatchArgs>("watch"))
        .subcommand(subcommand::<ServeArgs>("serve"))
        .subcommand(subcommand::<PushArgs>("push"))
        .subcommand(subcommand::<CompletionsArgs>("completions"))
        .subcommand(subcommand::<ManArgs>("man"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn dispatch_exit_codes() {
        let two = ExitCode::from(EXIT_ERROR);
        assert_eq!(run(&s(&["--version"])), ExitCode::SUCCESS);
        assert_eq!(run(&s(&["nope"])), two);
        assert_eq!(run(&s(&["pprof", "-top", "x"])), two);
        assert_eq!(run(&s(&["hunt"])), two);
        assert_eq!(run(&s(&["flame"])), two);
        assert_eq!(run(&s(&["flame", "/nonexistent"])), two);
        assert_eq!(run(&s(&["hunt", "/nonexistent"])), two);
        assert_eq!(run(&s(&["watch"])), two);
        assert_eq!(run(&s(&["serve"])), two);
        assert_eq!(run(&s(&["serve", "/nonexistent"])), two);
        assert_eq!(run(&s(&["watch", "--every", "0", "127.0.0.1:1"])), two);
        assert_eq!(run(&s(&["watch", "--every", "5x", "127.0.0.1:1"])), two);
        assert_eq!(run(&s(&["completions", "tcsh"])), two);
        assert_eq!(run(&s(&["man", "nope"])), two);
    }

    /// Every subcommand of the tree is dispatched, and `--help` of each is
    /// help (exit 0), not an error.
    #[test]
    fn the_tree_and_the_dispatch_agree() {
        let tree = command_tree();
        let names: Vec<&str> = tree.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(names[0], "pprof");
        assert_eq!(&names[1..], CLAP_SUBCOMMANDS);
        for name in &names[1..] {
            match parse(&s(&[name, "--help"])) {
                Err(EarlyExit::Help(text)) => {
                    assert!(
                        text.contains(&format!("heapdrift {name}")),
                        "{name}: {text}"
                    )
                }
                other => panic!("{name} --help: {other:?}"),
            }
        }
        assert!(matches!(
            parse(&s(&["pprof", "-h"])),
            Err(EarlyExit::Pprof(CliExit::Help))
        ));
        tree.debug_assert();
    }

    #[test]
    fn usage_errors_are_one_line_naming_the_subcommand() {
        match parse(&s(&["hunt", "--jsn", "x"])) {
            Err(EarlyExit::Usage { command, message }) => {
                assert_eq!(command, "hunt");
                assert!(message.contains("--jsn"), "{message}");
                assert!(
                    message.ends_with("(see `heapdrift hunt --help`)"),
                    "{message}"
                );
                assert!(!message.contains('\n'));
            }
            other => panic!("{other:?}"),
        }
        match parse(&s(&["flame"])) {
            Err(EarlyExit::Usage { message, .. }) => assert!(
                message
                    .starts_with("the following required arguments were not provided: <PROFILE>"),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_exit_carries_its_status() {
        let e = anyhow::Error::new(Exit {
            code: 1,
            message: "no snapshot stored".into(),
        });
        assert_eq!(report_error("watch", &e), ExitCode::from(1));
        assert_eq!(
            report_error("watch", &anyhow::anyhow!("x")),
            ExitCode::from(2)
        );
    }
}
