//! go tool pprof's interactive shell, the pure part (pprof's
//! internal/driver/interactive.go): a line typed at the `(pprof) ` prompt
//! becomes settings, text for pprof's UI, or a report to run with a copy of
//! the settings. The binary owns the loop, the terminal and the files.

use std::collections::HashMap;
use std::fmt::Write as _;

use profile::Profile;

use crate::config::{self, CONFIG_FIELDS, Command, Config, FieldKind, go_quote};

/// pprof's comment marker in `options` lines, which an assignment strips
/// (so a line of `o` output can be pasted back).
const COMMENT_START: &str = "//:";

/// What one input asks for, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Text for pprof's UI (its `Print` and `PrintErr`, both stderr),
    /// newline-terminated.
    Print(String),
    /// A report, with the settings it runs under (the command line's
    /// overrides do not persist).
    Run {
        command: &'static Command,
        arg: Option<String>,
        config: Box<Config>,
    },
    Quit,
}

/// The shell's state: the current settings and the profile's shortcuts.
#[derive(Debug, Clone)]
pub struct Shell {
    pub config: Config,
    sample_types: Vec<String>,
    shortcuts: HashMap<String, Vec<String>>,
}

impl Shell {
    /// pprof's `interactive` set-up: `compact_labels` on, shortcuts for
    /// `:` and for each sample type (`inuse_space`, `total_inuse_space`,
    /// `mean_inuse_space`).
    pub fn new(p: &Profile, mut config: Config) -> Shell {
        config.compact_labels = true;
        let sample_types: Vec<String> = p.sample_types.iter().map(|t| t.r#type.clone()).collect();
        let mut shortcuts = HashMap::new();
        shortcuts.insert(
            ":".to_string(),
            ["focus=", "ignore=", "hide=", "tagfocus=", "tagignore="]
                .map(String::from)
                .to_vec(),
        );
        for t in &sample_types {
            let command = format!("sample_index={t}");
            shortcuts.insert(t.clone(), vec![command.clone()]);
            shortcuts.insert(format!("total_{t}"), vec!["mean=0".into(), command.clone()]);
            shortcuts.insert(format!("mean_{t}"), vec!["mean=1".into(), command]);
        }
        Shell {
            config,
            sample_types,
            shortcuts,
        }
    }

    /// One line read at the prompt (with or without its newline).
    pub fn line(&mut self, p: &Profile, line: &str) -> Vec<Action> {
        let line = line.trim();
        let inputs = match self.shortcuts.get(line) {
            Some(expanded) => expanded.clone(),
            None => vec![line.to_string()],
        };
        let mut actions = Vec::new();
        for input in inputs {
            if let Some(a) = self.input(p, &input) {
                let quit = a == Action::Quit;
                actions.push(a);
                if quit {
                    break;
                }
            }
        }
        actions
    }

    fn input(&mut self, p: &Profile, input: &str) -> Option<Action> {
        let (name, value) = match input.split_once('=') {
            Some((n, v)) => {
                let v = v.rfind(COMMENT_START).map_or(v, |i| &v[..i]);
                (n.trim(), Some(v.trim()))
            }
            None => (input.trim(), None),
        };
        if config::lookup(name).is_some() {
            return self.assign(p, name, value);
        }
        let tokens: Vec<&str> = input.split_whitespace().collect();
        match *tokens.first()? {
            "o" | "options" => Some(print(self.options())),
            "exit" | "quit" | "q" => Some(Action::Quit),
            "help" => Some(print(self.help(&tokens[1..].join(" ")))),
            _ => Some(match self.parse_command_line(&tokens) {
                Ok((command, arg, config)) => Action::Run {
                    command,
                    arg,
                    config: Box::new(config),
                },
                Err(e) => print(e),
            }),
        }
    }

    /// `name=value` (or a bare bool or choice name).
    fn assign(&mut self, p: &Profile, name: &str, value: Option<&str>) -> Option<Action> {
        if value.is_none() && !is_bool_config(name) {
            return Some(print(format!("please specify a value, e.g. {name}=<val>")));
        }
        let mut value = value.unwrap_or("").to_string();
        if name == "sample_index" {
            match crate::driver::sample_index_by_name(p, &value) {
                Ok(i) if i < p.sample_types.len() => value = p.sample_types[i].r#type.clone(),
                Ok(_) => {
                    return Some(print(format!("invalid sample_index {}", go_quote(&value))));
                }
                Err(e) => return Some(print(e.to_string())),
            }
        }
        match self.config.configure(name, &value) {
            Ok(()) => None,
            Err(e) => Some(print(e.to_string())),
        }
    }

    /// The command and settings that typing `line` (a command, not a
    /// setting) would run, without running it.
    pub fn command_of(&self, line: &str) -> Option<(&'static Command, Config)> {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.is_empty() {
            return None;
        }
        let (command, _, cfg) = self.parse_command_line(&tokens).ok()?;
        Some((command, cfg))
    }

    /// pprof's `parseCommandLine`: `top10 main -runtime -cum >out.txt`.
    fn parse_command_line(
        &self,
        tokens: &[&str],
    ) -> Result<(&'static Command, Option<String>, Config), String> {
        let mut name = tokens[0].to_string();
        let mut args: Vec<String> = tokens[1..].iter().map(|s| s.to_string()).collect();
        let mut command = config::command(&name);
        if command.is_none() {
            // Digits at the end abbreviate a count: `top10`.
            let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 && digits < name.len() {
                let d = name.split_off(name.len() - digits);
                args.insert(0, d);
                command = config::command(&name);
            }
        }
        let Some(command) = command else {
            if config_help_of(&name).is_some() {
                let value = args.first().map_or("<val>", String::as_str);
                return Err(format!("did you mean: {name}={value}"));
            }
            return Err(format!("unrecognized command: {}", go_quote(&name)));
        };
        let mut arg = None;
        if command.has_param {
            if args.is_empty() {
                return Err(format!("command {name} requires an argument"));
            }
            arg = Some(args.remove(0));
        }
        let mut cfg = self.config.clone();
        let (mut focus, mut ignore) = (String::new(), String::new());
        let mut i = 0;
        while i < args.len() {
            let t = &args[i];
            if let Ok(n) = t.parse::<i32>() {
                cfg.nodecount = i64::from(n);
            } else if let Some(file) = t.strip_prefix('>') {
                let file = if file.is_empty() {
                    i += 1;
                    args.get(i).ok_or("unexpected end of line after >")?.clone()
                } else {
                    file.to_string()
                };
                cfg.output = file;
            } else if let Some(re) = t.strip_prefix('-') {
                if t == "--cum" || t == "-cum" {
                    cfg.sort = "cum".into();
                } else {
                    cat_regex(&mut ignore, re);
                }
            } else {
                cat_regex(&mut focus, t);
            }
            i += 1;
        }
        if name == "tags" {
            if !focus.is_empty() {
                cfg.tagfocus = focus;
            }
            if !ignore.is_empty() {
                cfg.tagignore = ignore;
            }
        } else {
            if !focus.is_empty() {
                cfg.focus = focus;
            }
            if !ignore.is_empty() {
                cfg.ignore = ignore;
            }
        }
        if cfg.nodecount == -1 && (name == "text" || name == "top") {
            cfg.nodecount = 10;
        }
        Ok((command, arg, cfg))
    }

    /// pprof's `printCurrentOptions`.
    pub fn options(&self) -> String {
        let mut lines = Vec::new();
        for f in CONFIG_FIELDS {
            let n = f.name;
            let mut v = f.get_string(&self.config);
            let mut comment = String::new();
            if let FieldKind::Choice(choices) = f.kind {
                let mut values = choices.to_vec();
                values.sort_unstable();
                comment = format!("[{}]", values.join(" | "));
            } else if n == "sample_index" {
                if v.is_empty()
                    && let Some(last) = self.sample_types.last()
                {
                    v = last.clone();
                }
                comment = format!("[{}]", self.sample_types.join(" | "));
            } else if n == "source_path" {
                continue;
            } else if n == "nodecount" && v == "-1" {
                comment = "default".into();
            } else if v.is_empty() {
                v = "\"\"".into();
            }
            if n == "granularity" && v.is_empty() {
                v = "(default)".into();
            }
            if !comment.is_empty() {
                comment = format!("{COMMENT_START} {comment}");
            }
            lines.push(format!("  {n:<25} = {v:<20} {comment}"));
        }
        lines.sort();
        lines.join("\n")
    }

    /// `configHelp`, with the shell's addition to `sample_index`'s.
    fn config_help(&self, topic: &str) -> Option<String> {
        let mut h = config_help_of(topic)?;
        if topic == "sample_index" {
            let _ = writeln!(
                h,
                "Or use sample_index=name, with name in [{}].",
                self.sample_types.join(" ")
            );
        }
        Some(h)
    }

    /// pprof's `commandHelp`.
    pub fn help(&self, topic: &str) -> String {
        if topic.is_empty() {
            return format!(
                "{}\n  :   Clear focus/ignore/hide/tagfocus/tagignore\n\n  type \"help <cmd|option>\" for more information\n",
                config::usage(false)
            );
        }
        if let Some(c) = config::command(topic) {
            let mut message = format!("{}\n", c.description);
            let usage = command_usage(c.name);
            if !usage.is_empty() {
                message.push_str("  Usage:\n");
                for line in usage.split('\n') {
                    let _ = writeln!(message, "    {line}");
                }
            }
            message.push('\n');
            return message;
        }
        match self.config_help(topic) {
            Some(h) => format!("{h}\n"),
            None => format!("Unknown command: {topic}"),
        }
    }

    /// Completion at a terminal, richer than pprof's (which completes a word
    /// only when one candidate matches): the start of the word being typed at
    /// `pos` and every candidate for it, sorted. The first word completes to a
    /// command, an option (`nodecount=`) or a sample type shortcut; after
    /// `help`, to a command or option; after a report command, to the
    /// profile's function names containing the word (`-word` keeps its dash,
    /// an ignore); after `name=`, to the option's values where they are known.
    pub fn complete(&self, line: &str, pos: usize, functions: &[String]) -> (usize, Vec<String>) {
        let line = &line[..pos];
        let start = line.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &line[start..];
        let first = line[..start].split_whitespace().next();
        let out: Vec<String> = match first {
            None => {
                if let Some((name, value)) = word.split_once('=') {
                    let values = self.option_values(name);
                    return (
                        start + name.len() + 1,
                        sorted(
                            values
                                .into_iter()
                                .filter(|v| v.starts_with(value))
                                .collect(),
                        ),
                    );
                }
                let mut c = self.words_to_start_a_line();
                c.retain(|c| c.starts_with(word));
                c
            }
            Some("help") => {
                let mut c: Vec<String> = config::COMMANDS
                    .iter()
                    .map(|c| c.name.to_string())
                    .collect();
                c.extend(option_names());
                c.retain(|c| c.starts_with(word));
                c
            }
            Some(cmd)
                if cmd != "tags"
                    && config::command(cmd.trim_end_matches(|c: char| c.is_ascii_digit()))
                        .is_some() =>
            {
                let (dash, needle) = match word.strip_prefix('-') {
                    Some(rest) => ("-", rest),
                    None => ("", word),
                };
                if needle.is_empty() {
                    return (start, Vec::new());
                }
                functions
                    .iter()
                    .filter(|f| f.contains(needle))
                    .map(|f| format!("{dash}{f}"))
                    .collect()
            }
            Some(_) => Vec::new(),
        };
        (start, sorted(out))
    }

    /// Commands, `o`, `help`, `quit`, options as `name=` (bool options and
    /// choices bare too) and the sample type shortcuts.
    fn words_to_start_a_line(&self) -> Vec<String> {
        let mut c: Vec<String> = config::COMMANDS
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        c.extend(["o", "options", "help", "quit", "exit"].map(String::from));
        for f in CONFIG_FIELDS {
            match f.kind {
                FieldKind::Choice(choices) => c.extend(choices.iter().map(|s| s.to_string())),
                FieldKind::Bool => {
                    c.push(f.name.to_string());
                    c.push(format!("{}=", f.name));
                }
                _ => c.push(format!("{}=", f.name)),
            }
        }
        c.extend(self.shortcuts.keys().filter(|k| k.as_str() != ":").cloned());
        c
    }

    /// The values `name=` takes, where they are a known set.
    fn option_values(&self, name: &str) -> Vec<String> {
        match config::lookup(name).map(|f| (f.name, f.kind)) {
            Some(("sample_index", _)) => self.sample_types.clone(),
            Some((field, FieldKind::Choice(choices))) if field == name => {
                choices.iter().map(|s| s.to_string()).collect()
            }
            Some((_, FieldKind::Bool)) | Some((_, FieldKind::Choice(_))) => {
                vec!["true".into(), "false".into()]
            }
            Some(("unit", _)) => [
                "minimum", "auto", "b", "kb", "mb", "gb", "ns", "us", "ms", "s",
            ]
            .map(String::from)
            .to_vec(),
            _ => Vec::new(),
        }
    }
}

/// Every option name as typed in an assignment: `name=`.
fn option_names() -> Vec<String> {
    CONFIG_FIELDS
        .iter()
        .flat_map(|f| match f.kind {
            FieldKind::Choice(choices) => choices.iter().map(|c| c.to_string()).collect(),
            _ => vec![f.name.to_string()],
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// pprof's `configHelp[name]`: the help of a field or of a choice; none
/// for a choice group's own name (`sort`, `granularity`).
fn config_help_of(topic: &str) -> Option<String> {
    let f = config::lookup(topic)?;
    match f.kind {
        FieldKind::Choice(_) if f.name == topic => None,
        FieldKind::Choice(_) => Some(config::choice_help(topic).to_string()),
        _ => Some(f.help.to_string()),
    }
}

/// pprof's `isBoolConfig`: a bool field, or a choice of a choice field.
fn is_bool_config(name: &str) -> bool {
    match config::lookup(name) {
        Some(f) if f.name != name => true,
        Some(f) => matches!(f.kind, FieldKind::Bool),
        None => false,
    }
}

fn cat_regex(a: &mut String, b: &str) {
    if !a.is_empty() && !b.is_empty() {
        a.push('|');
    }
    a.push_str(b);
}

fn print(text: impl Into<String>) -> Action {
    let mut text = text.into();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Action::Print(text)
}

/// The usage lines of each command's help, as pprof's command table has
/// them (its `reportHelp` and `listHelp`).
pub fn command_usage(name: &str) -> String {
    let report = |cum: bool, redirect: bool| {
        let mut h = vec![
            format!("{name} [n] [focus_regex]* [-ignore_regex]*"),
            "Include up to n samples".to_string(),
            "Include samples matching focus_regex, and exclude ignore_regex.".to_string(),
        ];
        if cum {
            h[0] += " [-cum]";
            h.push("-cum sorts the output by cumulative weight".into());
        }
        if redirect {
            h[0] += " >f";
            h.push("Optionally save the report on the file f".into());
        }
        h.join("\n")
    };
    let list = |redirect: bool| {
        let mut h = vec![
            format!("{name}<func_regex|address> [-focus_regex]* [-ignore_regex]*"),
            "Include functions matching func_regex, or including the address specified."
                .to_string(),
            "Include samples matching focus_regex, and exclude ignore_regex.".to_string(),
        ];
        if redirect {
            h[0] += " >f";
            h.push("Optionally save the report on the file f".into());
        }
        h.join("\n")
    };
    match name {
        "disasm" => list(true),
        "list" | "weblist" => list(false),
        "peek" => "peek func_regex\nDisplay callers and callees of functions matching func_regex."
            .into(),
        "tags" => "tags [tag_regex]* [-ignore_regex]* [>file]\nList tags with key:value matching tag_regex and exclude ignore_regex.".into(),
        "text" | "top" | "tree" => report(true, true),
        "dot" | "callgrind" | "gif" | "pdf" | "png" | "ps" | "svg" => report(false, true),
        "eog" | "evince" | "gv" | "web" | "kcachegrind" => report(false, false),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use profile::ValueType;

    fn heap() -> Profile {
        Profile {
            sample_types: [
                "alloc_objects",
                "alloc_space",
                "inuse_objects",
                "inuse_space",
            ]
            .iter()
            .map(|t| {
                ValueType::new(
                    t,
                    if t.ends_with("space") {
                        "bytes"
                    } else {
                        "count"
                    },
                )
            })
            .collect(),
            ..Default::default()
        }
    }

    fn run(shell: &mut Shell, p: &Profile, line: &str) -> Vec<Action> {
        shell.line(p, line)
    }

    #[test]
    fn commands_take_counts_focus_ignore_and_redirection() {
        let p = heap();
        let mut s = Shell::new(&p, Config::default());
        let a = run(&mut s, &p, "top20 main -runtime x -cum >out.txt\n");
        let [
            Action::Run {
                command,
                arg,
                config,
            },
        ] = a.as_slice()
        else {
            panic!("{a:?}")
        };
        assert_eq!((command.name, arg.as_deref()), ("top", None));
        assert_eq!(config.nodecount, 20);
        assert_eq!(
            (config.focus.as_str(), config.ignore.as_str()),
            ("main|x", "runtime")
        );
        assert_eq!(
            (config.sort.as_str(), config.output.as_str()),
            ("cum", "out.txt")
        );
        // Overrides do not persist; top's default count is 10.
        let a = run(&mut s, &p, "top");
        let [Action::Run { config, .. }] = a.as_slice() else {
            panic!()
        };
        assert_eq!((config.nodecount, config.focus.as_str()), (10, ""));
        let a = run(&mut s, &p, "list");
        assert_eq!(a, [print("command list requires an argument")]);
        let a = run(&mut s, &p, "nodecount 5");
        assert_eq!(a, [print("did you mean: nodecount=5")]);
        let a = run(&mut s, &p, "bogus");
        assert_eq!(a, [print("unrecognized command: \"bogus\"")]);
        assert_eq!(
            run(&mut s, &p, "top >"),
            [print("unexpected end of line after >")]
        );
    }

    #[test]
    fn completion_offers_commands_options_values_and_functions() {
        let p = heap();
        let s = Shell::new(&p, Config::default());
        let fns: Vec<String> = ["main.handleLogin", "main.main", "runtime.mallocgc"]
            .map(String::from)
            .to_vec();
        let c = |line: &str| s.complete(line, line.len(), &fns);
        assert_eq!(c("tre"), (0, vec!["tree".to_string()]));
        assert_eq!(
            c("to").1,
            [
                "top",
                "topproto",
                "total_alloc_objects",
                "total_alloc_space",
                "total_inuse_objects",
                "total_inuse_space"
            ]
        );
        assert_eq!(c("nodec").1, ["nodecount="]);
        assert_eq!(c("inuse_s").1, ["inuse_space"]);
        assert_eq!(
            c("sample_index=in"),
            (13, vec!["inuse_objects".into(), "inuse_space".into()])
        );
        assert_eq!(
            c("granularity=f").1,
            ["filefunctions", "files", "functions"]
        );
        assert_eq!(c("help pe"), (5, vec!["peek".to_string()]));
        // After a report command, functions containing the word.
        assert_eq!(c("list Login"), (5, vec!["main.handleLogin".to_string()]));
        assert_eq!(c("top10 -malloc").1, ["-runtime.mallocgc"]);
        assert_eq!(c("peek main.").1, ["main.handleLogin", "main.main"]);
        // Nothing to offer: tags' arguments are tag values; unknown words.
        assert!(c("tags main").1.is_empty());
        assert!(c("bogus ma").1.is_empty());
    }

    #[test]
    fn assignments_and_shortcuts_persist() {
        let p = heap();
        let mut s = Shell::new(&p, Config::default());
        assert!(s.config.compact_labels);
        assert!(run(&mut s, &p, "nodecount=7").is_empty());
        assert_eq!(s.config.nodecount, 7);
        assert!(run(&mut s, &p, "sample_index=1").is_empty());
        assert_eq!(s.config.sample_index, "alloc_space");
        assert!(run(&mut s, &p, "mean_inuse_space").is_empty());
        assert_eq!(
            (s.config.mean, s.config.sample_index.as_str()),
            (true, "inuse_space")
        );
        assert!(run(&mut s, &p, "focus=main //: a comment").is_empty());
        assert_eq!(s.config.focus, "main");
        assert!(run(&mut s, &p, ":").is_empty());
        assert_eq!(s.config.focus, "");
        assert_eq!(
            run(&mut s, &p, "nodecount"),
            [print("please specify a value, e.g. nodecount=<val>")]
        );
        assert!(run(&mut s, &p, "cum=true").is_empty());
        assert_eq!(s.config.sort, "cum");
        assert_eq!(run(&mut s, &p, "q"), [Action::Quit]);
    }
}
