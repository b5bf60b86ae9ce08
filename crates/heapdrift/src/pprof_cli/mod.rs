//! `heapdrift pprof [flags] SOURCE...`: the command line of `go tool pprof`
//! (pprof's internal/driver/cli.go over Go's `flag` package), flag for flag
//! and error for error. Two levels, as in ripgrep's flags/: [`low`] parses
//! the flags by their Go types; [`parse_with`] turns them into the typed
//! [`PprofArgs`] with pprof's rules (shortcuts, conflicts, defaults).

mod low;
mod usage;

use std::fmt;
use std::path::PathBuf;

use report::config::{COMMANDS, CONFIG_FIELDS, Command, Config, FieldKind, Value};
use report::driver::SymbolizeMode;

pub use low::LowArgs;
use low::{FlagValue, SrcFlag};
pub use usage::{clap_command, usage_text};

/// The report requested on the command line (`-top`, `-list=RE`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputFormat {
    pub command: &'static Command,
    /// The regexp of a parameterised command (`-list`, `-peek`, `-disasm`,
    /// `-weblist`); `None` for the others.
    pub arg: Option<String>,
}

/// Everything `go tool pprof`'s parseFlags produces, typed: the high level
/// of the command line, read once; nothing downstream parses a flag again.
#[derive(Debug, Clone, PartialEq)]
pub struct PprofArgs {
    /// Profile sources: files or URLs, in order.
    pub sources: Vec<String>,
    /// The first argument when it names an object file and more follow.
    pub exec_name: Option<String>,
    /// `-base` or `-diff_base`.
    pub base: Option<BaseSource>,
    /// `None`: no output flag (pprof would start its interactive shell).
    pub output: Option<OutputFormat>,
    /// All report options, after shortcuts (`-inuse_space`, `-mean_delay`).
    pub config: Config,
    /// `-seconds` and `-timeout`.
    pub window: fetch::Window,
    pub symbolize: SymbolizeMode,
    /// `-buildid`: the main binary's build ID when the profile has none.
    pub build_id: Option<String>,
    /// `-http`: the web UI's address (`[host]:[port]`).
    pub http: Option<String>,
    pub no_browser: bool,
    pub add_comment: Option<String>,
    pub all_frames: bool,
    /// `-tools`, defaulting to $PPROF_TOOLS.
    pub tools: Option<String>,
    pub tls: TlsFiles,
    /// Lines pprof prints to stderr and carries on
    /// (`Multiple value selections, ignoring -alloc_space`).
    pub warnings: Vec<String>,
}

/// A base profile to subtract (`-base`) or compare against (`-diff_base`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseSource {
    pub source: String,
    /// From `-diff_base`: the base's samples are marked, not only
    /// subtracted.
    pub diff: bool,
}

/// `-tls_cert`, `-tls_key`, `-tls_ca`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
}

/// Outcome of parsing that is not a runnable command.
#[derive(Debug, Clone, PartialEq)]
pub enum CliExit {
    /// `-h`/`-help`: usage on stderr, exit 0.
    Help,
    /// A flag the `flag` package rejected: the message, then usage; exit 2.
    Flag(String),
    /// No sources: usage, then "no profile source specified"; exit 2.
    NoSource,
    /// A semantic error from pprof's parseFlags: the message alone; exit 2.
    Invalid(String),
}

impl CliExit {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliExit::Help => 0,
            _ => 2,
        }
    }

    /// Exactly what `go tool pprof` writes to stderr.
    pub fn stderr_text(&self) -> String {
        match self {
            CliExit::Help => usage_text(),
            CliExit::Flag(m) => format!("{m}\n{}", usage_text()),
            CliExit::NoSource => format!("{}no profile source specified\n", usage_text()),
            CliExit::Invalid(m) => format!("{m}\n"),
        }
    }
}

impl fmt::Display for CliExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliExit::Help => f.write_str("help requested"),
            CliExit::Flag(m) | CliExit::Invalid(m) => f.write_str(m),
            CliExit::NoSource => f.write_str("no profile source specified"),
        }
    }
}

impl std::error::Error for CliExit {}

/// What the parser needs from the outside world, so tests can fake it.
pub trait Host {
    fn env(&self, key: &str) -> Option<String>;
    /// Whether `path` opens as an executable/object file (pprof treats such
    /// a first argument as the binary, not a profile).
    fn is_object_file(&self, path: &str) -> bool;
}

/// The real environment and file system.
pub struct SystemHost;

impl Host for SystemHost {
    fn env(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }

    fn is_object_file(&self, path: &str) -> bool {
        use std::io::Read;
        let mut head = [0u8; 8];
        let Ok(mut f) = std::fs::File::open(path) else {
            return false;
        };
        let Ok(n) = f.read(&mut head) else {
            return false;
        };
        is_object_magic(&head[..n])
    }
}

/// The formats Go's objfile.Open accepts: ELF, Mach-O, PE, Plan 9 a.out,
/// XCOFF and Go archives.
fn is_object_magic(h: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"MZ",
        b"!<arch>\n",
        b"\x01\xdf",
        b"\x01\xf7",
        b"\x00\x00\x01\xeb",
        b"\x00\x00\x8a\x97",
        b"\x00\x00\x06\x47",
    ];
    MAGICS.iter().any(|m| h.starts_with(m))
}

/// The shortcuts for sample_index, in the order pprof resolves them.
const SAMPLE_SHORTCUTS: &[(SrcFlag, &str, &str)] = &[
    (SrcFlag::TotalDelay, "delay", "-total_delay"),
    (SrcFlag::MeanDelay, "delay", "-mean_delay"),
    (SrcFlag::Contentions, "contentions", "-contentions"),
    (SrcFlag::InuseSpace, "inuse_space", "-inuse_space"),
    (SrcFlag::InuseObjects, "inuse_objects", "-inuse_objects"),
    (SrcFlag::AllocSpace, "alloc_space", "-alloc_space"),
    (SrcFlag::AllocObjects, "alloc_objects", "-alloc_objects"),
];

/// Parses `go tool pprof`'s arguments (without the program name) against the
/// real environment.
pub fn parse(args: &[String]) -> Result<PprofArgs, CliExit> {
    parse_with(args, &SystemHost)
}

/// pprof's parseFlags, step for step (the order decides which error wins).
pub fn parse_with(args: &[String], host: &dyn Host) -> Result<PprofArgs, CliExit> {
    from_low(LowArgs::parse(args)?, host)
}

/// The high level: pprof's rules over the flags as given.
fn from_low(mut low: LowArgs, host: &dyn Host) -> Result<PprofArgs, CliExit> {
    let mut rest = std::mem::take(&mut low.positional);
    if rest.is_empty() {
        return Err(CliExit::NoSource);
    }

    let mut exec_name = None;
    if rest.len() > 1 && host.is_object_file(&rest[0]) {
        exec_name = Some(rest.remove(0));
    }

    // Config flags, in table order: the first conflicting group wins.
    let mut cfg = Config::default();
    for f in CONFIG_FIELDS {
        if let FieldKind::Choice(choices) = f.kind {
            let chosen: Vec<&str> = choices
                .iter()
                .copied()
                .filter(|c| low.get(c) == Some(&FlagValue::Bool(true)))
                .collect();
            match chosen.len() {
                0 => {}
                1 => {
                    f.set_value(&mut cfg, Value::Str(chosen[0].to_string()));
                }
                _ => {
                    // Go lists them in map order, which is random; sorted
                    // is one of its possible outputs.
                    let mut chosen = chosen;
                    chosen.sort_unstable();
                    return Err(CliExit::Invalid(format!(
                        "conflicting options set: [{}]",
                        chosen.join(" ")
                    )));
                }
            }
            continue;
        }
        let Some(v) = low.get(f.name) else { continue };
        let v = match v.clone() {
            FlagValue::Bool(b) => Value::Bool(b),
            FlagValue::Int(n) => Value::Int(n),
            FlagValue::Float(x) => Value::Float(x),
            FlagValue::Str(s) => Value::Str(s),
        };
        f.set_value(&mut cfg, v);
    }

    let mut output = None;
    for c in COMMANDS {
        let arg = match low.get(c.name) {
            Some(FlagValue::Bool(true)) => None,
            Some(FlagValue::Str(s)) if !s.is_empty() => Some(s.clone()),
            _ => continue,
        };
        if output.is_some() {
            return Err(CliExit::Invalid(
                "must set at most one output format".into(),
            ));
        }
        output = Some(OutputFormat { command: c, arg });
    }

    let http = low.src_non_empty(SrcFlag::Http);
    if output.is_some() && http.is_some() {
        return Err(CliExit::Invalid(
            "-http is not compatible with an output format on the command line".into(),
        ));
    }
    let no_browser = low.src_bool(SrcFlag::NoBrowser);
    if no_browser && http.is_none() {
        return Err(CliExit::Invalid(
            "-no_browser only makes sense with -http".into(),
        ));
    }

    let mut warnings = Vec::new();
    for &(flag, sample_type, option) in SAMPLE_SHORTCUTS {
        if low.src_bool(flag) {
            if cfg.sample_index.is_empty() {
                cfg.sample_index = sample_type.to_string();
            } else {
                warnings.push(format!("Multiple value selections, ignoring {option}"));
            }
        }
    }
    if low.src_bool(SrcFlag::MeanDelay) {
        cfg.mean = true;
    }

    let base = low.src_non_empty(SrcFlag::Base);
    let diff = low.src_non_empty(SrcFlag::DiffBase);
    // pprof has already printed the warnings when these checks fail.
    let after_warnings = |msg: &str| {
        let mut lines = warnings.clone();
        lines.push(msg.to_string());
        CliExit::Invalid(lines.join("\n"))
    };
    if base.is_some() && diff.is_some() {
        return Err(after_warnings(
            "-base and -diff_base flags cannot both be specified",
        ));
    }
    let base = match (base, diff) {
        (Some(source), None) => Some(BaseSource {
            source,
            diff: false,
        }),
        (None, Some(source)) => Some(BaseSource { source, diff: true }),
        _ => None,
    };

    if cfg.normalize && base.is_none() {
        return Err(after_warnings("must have base profile to normalize by"));
    }

    let path = |f| low.src_non_empty(f).map(PathBuf::from);
    Ok(PprofArgs {
        sources: rest,
        exec_name,
        base,
        output,
        config: cfg,
        window: fetch::Window::from_flags(
            low.src_int(SrcFlag::Seconds).unwrap_or(-1),
            low.src_int(SrcFlag::Timeout).unwrap_or(-1),
        ),
        symbolize: SymbolizeMode::parse(low.src_str(SrcFlag::Symbolize).unwrap_or("")),
        build_id: low.src_non_empty(SrcFlag::BuildId),
        http,
        no_browser,
        add_comment: low.src_non_empty(SrcFlag::AddComment),
        all_frames: low.src_bool(SrcFlag::AllFrames),
        tools: low
            .src_str(SrcFlag::Tools)
            .map(String::from)
            .or_else(|| host.env("PPROF_TOOLS"))
            .filter(|s| !s.is_empty()),
        tls: TlsFiles {
            cert: path(SrcFlag::TlsCert),
            key: path(SrcFlag::TlsKey),
            ca: path(SrcFlag::TlsCa),
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeHost {
        objects: Vec<&'static str>,
        tools: Option<&'static str>,
    }

    impl Host for FakeHost {
        fn env(&self, key: &str) -> Option<String> {
            (key == "PPROF_TOOLS").then(|| self.tools.map(String::from))?
        }
        fn is_object_file(&self, path: &str) -> bool {
            self.objects.contains(&path)
        }
    }

    const NO_HOST: FakeHost = FakeHost {
        objects: Vec::new(),
        tools: None,
    };

    fn p(args: &str) -> Result<PprofArgs, CliExit> {
        let v: Vec<String> = args.split_whitespace().map(String::from).collect();
        parse_with(&v, &NO_HOST)
    }

    fn ok(args: &str) -> PprofArgs {
        p(args).unwrap_or_else(|e| panic!("{args}: {e}"))
    }

    fn flag_err(args: &str) -> String {
        match p(args) {
            Err(CliExit::Flag(m)) => m,
            other => panic!("{args}: expected a flag error, got {other:?}"),
        }
    }

    fn invalid(args: &str) -> String {
        match p(args) {
            Err(CliExit::Invalid(m)) => m,
            other => panic!("{args}: expected an error, got {other:?}"),
        }
    }

    fn out(a: &PprofArgs) -> Option<(&str, Option<&str>)> {
        a.output
            .as_ref()
            .map(|o| (o.command.name, o.arg.as_deref()))
    }

    #[test]
    fn defaults() {
        let a = ok("x.pb.gz");
        assert_eq!(a.sources, ["x.pb.gz"]);
        assert_eq!(a.config, Config::default());
        assert_eq!(a.window, fetch::Window::default());
        assert_eq!(a.symbolize, SymbolizeMode::default());
        assert_eq!((a.http.as_deref(), a.build_id.as_deref()), (None, None));
        assert_eq!(a.output, None);
        assert_eq!(a.base, None);
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn dash_forms_and_values() {
        for args in [
            "-nodecount=5 x",
            "-nodecount 5 x",
            "--nodecount=5 x",
            "--nodecount 5 x",
        ] {
            assert_eq!(ok(args).config.nodecount, 5, "{args}");
        }
        assert_eq!(ok("-nodecount=0x10 x").config.nodecount, 16);
        assert_eq!(ok("-nodecount -3 x").config.nodecount, -3);
        assert_eq!(
            ok("-nodefraction=0.1 -edgefraction 1e-2 x")
                .config
                .nodefraction,
            0.1
        );
        assert_eq!(
            ok("-nodefraction=0.1 -edgefraction 1e-2 x")
                .config
                .edgefraction,
            0.01
        );
        assert_eq!(ok("-divide_by=4 x").config.divide_by, 4.0);
        // The last occurrence wins.
        assert_eq!(ok("-nodecount=5 -nodecount=7 x").config.nodecount, 7);
        // A string value may start with '-' or contain '='.
        assert_eq!(ok("-focus -x=y x").config.focus, "-x=y");
        assert_eq!(ok("-focus=a=b x").config.focus, "a=b");
        assert_eq!(ok("-focus= x").config.focus, "");
    }

    #[test]
    fn bool_flags() {
        assert!(!ok("-trim=false x").config.trim);
        assert!(!ok("-trim=0 x").config.trim);
        assert!(!ok("--trim=F x").config.trim);
        assert!(ok("-trim=false -trim x").config.trim);
        assert!(ok("-call_tree x").config.call_tree);
        // A bool flag never consumes the next argument.
        let a = ok("-compact_labels false x");
        assert!(a.config.compact_labels);
        assert_eq!(a.sources, ["false", "x"]);
        assert_eq!(
            flag_err("-trim=maybe x"),
            r#"invalid boolean value "maybe" for -trim: parse error"#
        );
        assert_eq!(
            flag_err("-top=foo x"),
            r#"invalid boolean value "foo" for -top: parse error"#
        );
        assert_eq!(
            flag_err("-top= x"),
            r#"invalid boolean value "" for -top: parse error"#
        );
    }

    #[test]
    fn go_flag_errors() {
        assert_eq!(flag_err("-x"), "flag provided but not defined: -x");
        assert_eq!(flag_err("--x foo"), "flag provided but not defined: -x");
        assert_eq!(flag_err("-b=false"), "flag provided but not defined: -b");
        assert_eq!(flag_err("---top x"), "bad flag syntax: ---top");
        assert_eq!(flag_err("-=x"), "bad flag syntax: -=x");
        assert_eq!(flag_err("-nodecount"), "flag needs an argument: -nodecount");
        assert_eq!(flag_err("-list"), "flag needs an argument: -list");
        assert_eq!(
            flag_err("-nodecount=abc x"),
            r#"invalid value "abc" for flag -nodecount: parse error"#
        );
        assert_eq!(
            flag_err("-seconds=1.5 x"),
            r#"invalid value "1.5" for flag -seconds: parse error"#
        );
        assert_eq!(
            flag_err("-nodecount=9223372036854775808 x"),
            r#"invalid value "9223372036854775808" for flag -nodecount: value out of range"#
        );
        assert_eq!(
            flag_err("-nodefraction=abc x"),
            r#"invalid value "abc" for flag -nodefraction: parse error"#
        );
        // The first bad flag is reported, even if later ones are bad too.
        assert_eq!(flag_err("-y -x"), "flag provided but not defined: -y");
        for h in ["-h", "-help", "--help", "--h", "-top -h x"] {
            assert_eq!(p(h), Err(CliExit::Help), "{h}");
        }
        // "-h=1" is still help: the name is looked up before the value.
        assert_eq!(p("-h=1"), Err(CliExit::Help));
    }

    #[test]
    fn stops_at_first_non_flag() {
        let a = ok("-top x -text y");
        assert_eq!(out(&a), Some(("top", None)));
        assert_eq!(a.sources, ["x", "-text", "y"]);
        let a = ok("-top -- -text");
        assert_eq!(a.sources, ["-text"]);
        // "-" alone is an argument, not a flag.
        let a = ok("- x");
        assert_eq!(a.sources, ["-", "x"]);
        // Only the first "--" is consumed.
        assert_eq!(ok("-- -- x").sources, ["--", "x"]);
        assert_eq!(p(""), Err(CliExit::NoSource));
        assert_eq!(p("-top"), Err(CliExit::NoSource));
        assert_eq!(p("-top --"), Err(CliExit::NoSource));
    }

    #[test]
    fn output_formats() {
        for c in COMMANDS {
            let args = if c.has_param {
                format!("-{}=main\\. x", c.name)
            } else {
                format!("-{} x", c.name)
            };
            let a = ok(&args);
            let want_arg = c.has_param.then_some("main\\.");
            assert_eq!(out(&a), Some((c.name, want_arg)), "{args}");
        }
        assert_eq!(out(&ok("-peek main x")), Some(("peek", Some("main"))));
        // Unset and empty-regexp commands do not count.
        assert_eq!(out(&ok("-top=false -list= -text x")), Some(("text", None)));
        assert_eq!(out(&ok("-top=false x")), None);
        for args in [
            "-top -text x",
            "-top -list=a x",
            "-peek=a -list=b x",
            "-svg -proto x",
        ] {
            assert_eq!(
                invalid(args),
                "must set at most one output format",
                "{args}"
            );
        }
        // A repeated format is one format.
        assert_eq!(out(&ok("-top -top x")), Some(("top", None)));
    }

    #[test]
    fn choice_groups() {
        assert_eq!(ok("-cum x").config.sort, "cum");
        assert_eq!(ok("-flat x").config.sort, "flat");
        assert_eq!(ok("-lines x").config.granularity, "lines");
        assert_eq!(ok("-addresses -cum x").config.granularity, "addresses");
        assert_eq!(ok("-flat=false -cum x").config.sort, "cum");
        assert_eq!(
            invalid("-flat -cum x"),
            "conflicting options set: [cum flat]"
        );
        assert_eq!(
            invalid("-lines -functions x"),
            "conflicting options set: [functions lines]"
        );
        // sort precedes granularity in pprof's config struct.
        assert_eq!(
            invalid("-lines -functions -flat -cum x"),
            "conflicting options set: [cum flat]"
        );
        // Config conflicts are found before output-format conflicts.
        assert_eq!(
            invalid("-top -text -flat -cum x"),
            "conflicting options set: [cum flat]"
        );
    }

    #[test]
    fn sample_index_shortcuts() {
        assert_eq!(ok("-inuse_space x").config.sample_index, "inuse_space");
        assert_eq!(ok("-alloc_objects x").config.sample_index, "alloc_objects");
        assert_eq!(ok("-contentions x").config.sample_index, "contentions");
        let a = ok("-mean_delay x");
        assert_eq!(a.config.sample_index, "delay");
        assert!(a.config.mean);
        let a = ok("-alloc_space -inuse_space x");
        assert_eq!(a.config.sample_index, "inuse_space");
        assert_eq!(
            a.warnings,
            ["Multiple value selections, ignoring -alloc_space"]
        );
        let a = ok("-sample_index=1 -alloc_space x");
        assert_eq!(a.config.sample_index, "1");
        assert_eq!(
            a.warnings,
            ["Multiple value selections, ignoring -alloc_space"]
        );
    }

    #[test]
    fn source_flags() {
        let a = ok(
            "-seconds 30 -timeout=5 -symbolize=none -buildid abc -add_comment hi \
             -all_frames -tools /t -tls_cert c.pem -tls_key k.pem -tls_ca ca.pem \
             -output o.svg -source_path /s -trim_path /tp -unit=mb -tagroot=a,b \
             -tagleaf c -noinlines -showcolumns -intel_syntax -drop_negative \
             -relative_percentages -show_from=main -prune_from re -tagfocus 1kb \
             -tagignore t -tagshow s -taghide h -hide h2 -show s2 -ignore i \
             -focus f host:1234",
        );
        assert_eq!(
            a.window,
            fetch::Window {
                seconds: Some(30),
                timeout: Some(5)
            }
        );
        assert!(!a.symbolize.enabled);
        assert_eq!(a.build_id.as_deref(), Some("abc"));
        assert_eq!(a.add_comment.as_deref(), Some("hi"));
        assert!(a.all_frames);
        assert_eq!(a.tools.as_deref(), Some("/t"));
        assert_eq!(
            a.tls,
            TlsFiles {
                cert: Some("c.pem".into()),
                key: Some("k.pem".into()),
                ca: Some("ca.pem".into()),
            }
        );
        let c = &a.config;
        assert_eq!(c.output, "o.svg");
        assert_eq!(
            (c.source_path.as_str(), c.trim_path.as_str()),
            ("/s", "/tp")
        );
        assert_eq!(c.unit, "mb");
        assert_eq!((c.tagroot.as_str(), c.tagleaf.as_str()), ("a,b", "c"));
        assert!(c.noinlines && c.showcolumns && c.intel_syntax);
        assert!(c.drop_negative && c.relative_percentages);
        assert_eq!(
            (c.show_from.as_str(), c.prune_from.as_str()),
            ("main", "re")
        );
        assert_eq!((c.tagfocus.as_str(), c.tagignore.as_str()), ("1kb", "t"));
        assert_eq!((c.tagshow.as_str(), c.taghide.as_str()), ("s", "h"));
        assert_eq!((c.hide.as_str(), c.show.as_str()), ("h2", "s2"));
        assert_eq!((c.ignore.as_str(), c.focus.as_str()), ("i", "f"));
        assert_eq!(a.sources, ["host:1234"]);

        let host = FakeHost {
            objects: vec![],
            tools: Some("/env/tools"),
        };
        let a = parse_with(&["x".to_string()], &host).unwrap();
        assert_eq!(a.tools.as_deref(), Some("/env/tools"));
        // pprof ignores values ≤ 0 of -seconds and -timeout.
        assert_eq!(
            ok("-seconds=0 -timeout=-5 x").window,
            fetch::Window::default()
        );
        assert_eq!(ok("-buildid= -http= x").build_id, None);
    }

    #[test]
    fn base_and_http_rules() {
        let base = |args| ok(args).base.map(|b| (b.source, b.diff));
        assert_eq!(base("-base b.pb.gz x"), Some(("b.pb.gz".into(), false)));
        assert_eq!(base("-diff_base=b x"), Some(("b".into(), true)));
        // An empty base is no base.
        assert_eq!(ok("-base= x").base, None);
        assert!(ok("-normalize -base b x").config.normalize);
        assert_eq!(
            invalid("-base a -diff_base b x"),
            "-base and -diff_base flags cannot both be specified"
        );
        assert_eq!(
            invalid("-normalize x"),
            "must have base profile to normalize by"
        );
        assert_eq!(
            invalid("-no_browser x"),
            "-no_browser only makes sense with -http"
        );
        assert_eq!(
            invalid("-http :0 -top x"),
            "-http is not compatible with an output format on the command line"
        );
        let a = ok("-http=:8080 -no_browser x");
        assert_eq!((a.http.as_deref(), a.no_browser), (Some(":8080"), true));
        // pprof checks the output format before -no_browser.
        assert_eq!(
            invalid("-top -http=:1 -no_browser=false x"),
            "-http is not compatible with an output format on the command line"
        );
    }

    #[test]
    fn exec_name() {
        let host = FakeHost {
            objects: vec!["./bin"],
            tools: None,
        };
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let a = parse_with(&args("./bin prof"), &host).unwrap();
        assert_eq!(a.exec_name.as_deref(), Some("./bin"));
        assert_eq!(a.sources, ["prof"]);
        // A lone argument is always a source.
        let a = parse_with(&args("./bin"), &host).unwrap();
        assert_eq!(a.exec_name, None);
        assert_eq!(a.sources, ["./bin"]);
        assert!(is_object_magic(b"\x7fELF\x02\x01"));
        assert!(!is_object_magic(b"\x1f\x8b\x08"));
    }

    #[test]
    fn every_flag_is_known() {
        use low::{FlagType, flag_defs, go_flag_parse};
        // Each config field, choice, command and pprof flag parses.
        let defs = flag_defs();
        assert_eq!(
            defs.len(),
            low::SRC_FLAGS.len() + 31 + 2 + 5 + COMMANDS.len()
        );
        // The clap description for completions has the same flags, plus
        // the sources and --help.
        let cmd = clap_command();
        let longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
        assert_eq!(longs.len(), defs.len());
        assert!(longs.iter().all(|l| defs.contains_key(l)));
        for (name, def) in &defs {
            let args = match def {
                FlagType::Bool => vec![format!("-{name}")],
                FlagType::Int => vec![format!("-{name}=1")],
                FlagType::Float => vec![format!("-{name}=0.5")],
                FlagType::Str => vec![format!("-{name}"), "v".into()],
            };
            let (set, rest) = go_flag_parse(&defs, &args).unwrap();
            assert!(rest.is_empty());
            assert!(set.contains_key(name), "{name}");
        }
    }

    #[test]
    fn error_output_shapes() {
        let u = usage_text();
        assert!(u.starts_with("usage:\n\nProduce output"));
        assert!(u.ends_with("is used instead of $HOME\n"));
        assert_eq!(
            CliExit::Flag("flag provided but not defined: -x".into()).stderr_text(),
            format!("flag provided but not defined: -x\n{u}")
        );
        assert_eq!(
            CliExit::NoSource.stderr_text(),
            format!("{u}no profile source specified\n")
        );
        assert_eq!(CliExit::Help.exit_code(), 0);
        assert_eq!(CliExit::NoSource.exit_code(), 2);
    }

    /// The usage text and error outputs are byte-identical to the real
    /// `go tool pprof`'s stderr.
    #[test]
    #[cfg_attr(
        not(heapdrift_go),
        ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
    )]
    fn matches_go_tool_pprof() {
        let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
        for args in [
            "-h",
            "-help",
            "",
            "-x",
            "--x foo",
            "-top=foo x",
            "-nodecount=abc x",
            "-list",
            "-top -text x",
            "-flat -cum x",
            "-base a -diff_base b x",
            "-normalize x",
            "-no_browser x",
            "-http :0 -top x",
            "---top x",
            "-=x",
            "-nodecount=9223372036854775808 x",
            "-trim=maybe x",
            "-seconds=1.5 x",
            "-nodefraction=0x1p-2x x",
            "-b=false",
            "-h=1",
            "-top --",
            "-alloc_space -inuse_space -normalize x",
            "-contentions -mean_delay -base=a -diff_base=b x",
        ] {
            let v: Vec<String> = args.split_whitespace().map(String::from).collect();
            let res = std::process::Command::new(&go)
                .args(["tool", "pprof"])
                .args(&v)
                .output()
                .unwrap();
            let e = parse_with(&v, &NO_HOST).unwrap_err();
            assert_eq!(
                sort_conflict_list(&String::from_utf8_lossy(&res.stderr)),
                e.stderr_text(),
                "stderr for {args:?}"
            );
            assert_eq!(
                res.status.code(),
                Some(i32::from(e.exit_code())),
                "exit for {args:?}"
            );
        }
    }

    /// pprof lists conflicting options in Go map order, which changes from
    /// run to run; heapdrift sorts them. Compare in sorted form.
    fn sort_conflict_list(stderr: &str) -> String {
        const KEY: &str = "conflicting options set: [";
        let Some(start) = stderr.find(KEY).map(|i| i + KEY.len()) else {
            return stderr.to_string();
        };
        let Some(len) = stderr[start..].find(']') else {
            return stderr.to_string();
        };
        let mut names: Vec<&str> = stderr[start..start + len].split(' ').collect();
        names.sort_unstable();
        format!(
            "{}{}{}",
            &stderr[..start],
            names.join(" "),
            &stderr[start + len..]
        )
    }
}
