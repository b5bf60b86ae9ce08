//! `heapdrift pprof SOURCE...` without an output format: go tool pprof's
//! interactive shell. What a line means is `report::shell`'s; this is the
//! loop around it: prompt, read, act. It reads as pprof's plain UI does
//! (the prompt on stdout; its messages, the header and errors on stderr;
//! reports on stdout), so a scripted session (`printf 'top\n' | heapdrift
//! pprof FILE`) prints what go tool pprof prints, and can be diffed. The
//! profile is parsed once; each command works on a copy, as pprof's.

use std::io::{self, BufRead, IsTerminal, Write};

use profile::Profile;
use report::driver;
use report::shell::{Action, Shell};

use crate::pprof_cli::PprofArgs;
use crate::pprof_cmd::{Session, emit_report};
use report::driver::check_supported;

const PROMPT: &str = "(pprof) ";

/// Where the shell's lines come from.
trait Lines {
    /// The next line after the prompt; `None` at the end of input.
    fn read(&mut self) -> anyhow::Result<Option<String>>;
}

/// Piped input: pprof's plain UI, byte for byte.
#[derive(Default)]
struct Piped {
    line: String,
}

impl Lines for Piped {
    fn read(&mut self) -> anyhow::Result<Option<String>> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(PROMPT.as_bytes())?;
        stdout.flush()?;
        drop(stdout);
        self.line.clear();
        // pprof reads up to a newline; a last line without one still
        // counts, and the next read ends the session.
        if io::stdin().lock().read_line(&mut self.line)? == 0 {
            return Ok(None);
        }
        Ok(Some(std::mem::take(&mut self.line)))
    }
}

/// A terminal: line editing, history kept across sessions, and tab
/// completion of commands, options, their values and the profile's
/// function names (`report::shell::Shell::complete`).
struct Terminal {
    editor: rustyline::Editor<Completion, rustyline::history::FileHistory>,
    history: Option<std::path::PathBuf>,
}

impl Terminal {
    fn new(shell: &Shell, p: &Profile) -> anyhow::Result<Terminal> {
        let config = rustyline::Config::builder()
            .completion_type(rustyline::CompletionType::List)
            .auto_add_history(true)
            .max_history_size(1000)?
            .build();
        let mut editor = rustyline::Editor::with_config(config)?;
        let mut functions: Vec<String> = p.functions.iter().map(|f| f.name.clone()).collect();
        functions.sort_unstable();
        functions.dedup();
        editor.set_helper(Some(Completion {
            shell: shell.clone(),
            functions,
        }));
        let history = history_file();
        if let Some(h) = &history {
            // A first session has no history yet.
            let _ = editor.load_history(h);
        }
        Ok(Terminal { editor, history })
    }
}

impl Lines for Terminal {
    fn read(&mut self) -> anyhow::Result<Option<String>> {
        use rustyline::error::ReadlineError;
        match self.editor.readline(PROMPT) {
            Ok(line) => {
                if let Some(h) = &self.history {
                    if let Some(dir) = h.parent() {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    // History is a convenience: a full disk must not end
                    // the session.
                    let _ = self.editor.append_history(h);
                }
                Ok(Some(line))
            }
            // Ctrl-C drops the line being typed, as in a shell.
            Err(ReadlineError::Interrupted) => Ok(Some(String::new())),
            Err(ReadlineError::Eof) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// `$XDG_STATE_HOME/heapdrift/pprof_history`, else under
/// `~/.local/state`.
fn history_file() -> Option<std::path::PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".local/state")))?;
    Some(state.join("heapdrift/pprof_history"))
}

/// rustyline's helper: completion from the shell; no hints, highlighting
/// or validation.
struct Completion {
    shell: Shell,
    functions: Vec<String>,
}

impl rustyline::completion::Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(self.shell.complete(line, pos, &self.functions))
    }
}

impl rustyline::hint::Hinter for Completion {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Completion {}
impl rustyline::validate::Validator for Completion {}
impl rustyline::Helper for Completion {}

/// Runs the shell until `quit` or the end of input.
pub fn run(p: Profile, args: &PprofArgs) -> anyhow::Result<()> {
    let mut stderr = io::stderr();
    let mut shell = Shell::new(&p, args.config.clone());
    // pprof runs each command on a fresh copy decoded from the profile's
    // encoding, which drops what the encoding cannot hold (numeric labels
    // of value 0 without a unit, for one). The same changes, made once up
    // front without encoding (checked against pprof's `Copy` in the
    // profile crate's oracle tests), give the profile each command uses.
    // It shares the samples with the original until a change needs its own.
    let mut copy = p.clone();
    profile::passes::roundtrip_normalize(&mut copy);
    let copy = std::sync::Arc::new(copy);
    // The header is the original's, as in pprof; then only the copy stays.
    greet(p, &shell.config, &mut stderr)?;
    // Reports share what preparing the copy for one report gives the next.
    // `combine_sources` checked the profile, and the round trip's changes
    // change only labels, the period type and kernel mappings.
    let mut source = driver::ReportSource::session(copy.clone()).checked();
    // `top` is what a session starts with: its report is made while the
    // user reads the header and types, and the first command finds it, as
    // typed (ten nodes: its graph is one more build than the whole list's).
    let (top, warm_cfg) = shell
        .command_of("top")
        .expect("top is in pprof's command table");
    let mut warming = Some(std::thread::spawn(move || {
        source.warm(top, &warm_cfg);
        source
    }));
    let mut source = None;
    let mut lines: Box<dyn Lines> = if io::stdin().is_terminal() {
        Box::new(Terminal::new(&shell, &copy)?)
    } else {
        Box::new(Piped::default())
    };
    loop {
        let Some(line) = lines.read()? else {
            return Ok(());
        };
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
                            if let Some(w) = warming.take() {
                                source =
                                    Some(w.join().map_err(|_| {
                                        anyhow::anyhow!("the report thread panicked")
                                    })?);
                            }
                            let source = source.as_mut().expect("joined above");
                            emit_report(
                                source,
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
fn greet(p: Profile, cfg: &report::config::Config, stderr: &mut dyn Write) -> io::Result<()> {
    let many_sample_types = p.sample_types.len() > 1;
    if let Some((labels, total)) = driver::greetings(p, cfg, stderr) {
        let mut text = labels.join("\n");
        if !text.ends_with('\n') {
            text.push('\n');
        }
        stderr.write_all(text.as_bytes())?;
        if total == 0 && many_sample_types {
            stderr.write_all(
                b"No samples were found with the default sample value type.\n\
                  Try \"sample_index\" command to analyze different sample values.\n",
            )?;
        }
    }
    stderr.write_all(b"Entering interactive mode (type \"help\" for commands, \"o\" for options)\n")
}
