//! pprof's configuration table (internal/driver/config.go and the report
//! commands of commands.go), as data.
//!
//! One table drives the command-line flags, the `usage` text, and the web UI's
//! URL parameters, so the three cannot drift apart the way hand-written copies
//! would.

use std::fmt;

/// The value type of a config field; `Choice` fields are strings restricted to
/// a set, exposed on the command line as one boolean flag per choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldKind {
    Bool,
    Int,
    Float,
    Str,
    Choice(&'static [&'static str]),
}

/// A config value, for table-driven get/set.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

trait FieldValue: Sized {
    fn to_value(&self) -> Value;
    fn from_value(v: Value) -> Option<Self>;
}

impl FieldValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl FieldValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
}

impl FieldValue for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
}

impl FieldValue for String {
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// One row of the table: a pprof config variable.
pub struct ConfigField {
    /// Variable and flag name (`nodecount`).
    pub name: &'static str,
    /// Web UI URL parameter (`n`), if the field travels in URLs.
    pub urlparam: Option<&'static str>,
    /// Saved in web UI settings (pprof: has a JSON name).
    pub saved: bool,
    pub kind: FieldKind,
    /// Help text; the first line is what `usage` shows.
    pub help: &'static str,
    get: fn(&Config) -> Value,
    set: fn(&mut Config, Value) -> bool,
}

impl fmt::Debug for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigField")
            .field("name", &self.name)
            .field("urlparam", &self.urlparam)
            .field("kind", &self.kind)
            .finish()
    }
}

macro_rules! config_table {
    ($( $field:ident : $ty:ty = $default:expr, $name:literal, $url:expr, $saved:literal, $kind:expr, $help:expr; )*) => {
        /// pprof's `config`: every report option, typed.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Config {
            $( pub $field: $ty, )*
        }

        impl Default for Config {
            /// pprof's `defaultConfig()`.
            fn default() -> Self {
                Config { $( $field: $default, )* }
            }
        }

        /// The config fields in pprof's struct order (which fixes the order
        /// conflicts are reported in and URL parameters are applied in).
        pub static CONFIG_FIELDS: &[ConfigField] = &[
            $( ConfigField {
                name: $name,
                urlparam: $url,
                saved: $saved,
                kind: $kind,
                help: $help,
                get: |c| FieldValue::to_value(&c.$field),
                set: |c, v| match FieldValue::from_value(v) {
                    Some(x) => { c.$field = x; true }
                    None => false,
                },
            }, )*
        ];
    };
}

const SORT_CHOICES: &[&str] = &["cum", "flat"];
const GRANULARITY_CHOICES: &[&str] = &["functions", "filefunctions", "files", "lines", "addresses"];

config_table! {
    output: String = String::new(), "output", None, false, FieldKind::Str,
        "Output filename for file-based outputs\n";
    call_tree: bool = false, "call_tree", Some("calltree"), true, FieldKind::Bool,
        "Create a context-sensitive call tree\nTreat locations reached through different paths as separate.\n";
    relative_percentages: bool = false, "relative_percentages", Some("rel"), true, FieldKind::Bool,
        "Show percentages relative to focused subgraph\nIf unset, percentages are relative to full graph before focusing\nto facilitate comparison with original graph.\n";
    unit: String = "minimum".to_string(), "unit", Some("unit"), true, FieldKind::Str,
        "Measurement units to display\nScale the sample values to this unit.\nFor time-based profiles, use seconds, milliseconds, nanoseconds, etc.\nFor memory profiles, use megabytes, kilobytes, bytes, etc.\nUsing auto will scale each value independently to the most natural unit.\n";
    compact_labels: bool = false, "compact_labels", Some("compact"), true, FieldKind::Bool,
        "Show minimal headers";
    source_path: String = String::new(), "source_path", None, false, FieldKind::Str,
        "Search path for source files";
    trim_path: String = String::new(), "trim_path", None, false, FieldKind::Str,
        "Path to trim from source paths before search";
    intel_syntax: bool = false, "intel_syntax", Some("intel"), true, FieldKind::Bool,
        "Show assembly in Intel syntax\nOnly applicable to commands `disasm` and `weblist`\n";
    mean: bool = false, "mean", Some("mean"), true, FieldKind::Bool,
        "Average sample value over first value (count)\nFor memory profiles, report average memory per allocation.\nFor time-based profiles, report average time per event.\n";
    sample_index: String = String::new(), "sample_index", Some("si"), false, FieldKind::Str,
        "Sample value to report (0-based index or name)\nProfiles contain multiple values per sample.\nUse sample_index=i to select the ith value (starting at 0).\n";
    divide_by: f64 = 1.0, "divide_by", None, false, FieldKind::Float,
        "Ratio to divide all samples before visualization\nDivide all samples values by a constant, eg the number of processors or jobs.\n";
    normalize: bool = false, "normalize", Some("norm"), true, FieldKind::Bool,
        "Scales profile based on the base profile.\n";
    sort: String = "flat".to_string(), "sort", Some("sort"), true, FieldKind::Choice(SORT_CHOICES),
        "";
    tagroot: String = String::new(), "tagroot", None, true, FieldKind::Str,
        "Adds pseudo stack frames for labels key/value pairs at the callstack root.\nA comma-separated list of label keys.\nThe first key creates frames at the new root.\n";
    tagleaf: String = String::new(), "tagleaf", None, true, FieldKind::Str,
        "Adds pseudo stack frames for labels key/value pairs at the callstack leaf.\nA comma-separated list of label keys.\nThe last key creates frames at the new leaf.\n";
    drop_negative: bool = false, "drop_negative", Some("dropneg"), true, FieldKind::Bool,
        "Ignore negative differences\nDo not show any locations with values <0.\n";
    nodecount: i64 = -1, "nodecount", Some("n"), true, FieldKind::Int,
        "Max number of nodes to show\nUses heuristics to limit the number of locations to be displayed.\nOn graphs, dotted edges represent paths through nodes that have been removed.\n";
    nodefraction: f64 = 0.005, "nodefraction", Some("nf"), true, FieldKind::Float,
        "Hide nodes below <f>*total";
    edgefraction: f64 = 0.001, "edgefraction", Some("ef"), true, FieldKind::Float,
        "Hide edges below <f>*total";
    trim: bool = true, "trim", Some("trim"), true, FieldKind::Bool,
        "Honor nodefraction/edgefraction/nodecount defaults\nSet to false to get the full profile, without any trimming.\n";
    focus: String = String::new(), "focus", Some("f"), true, FieldKind::Str,
        "Restricts to samples going through a node matching regexp\nDiscard samples that do not include a node matching this regexp.\nMatching includes the function name, filename or object name.\n";
    ignore: String = String::new(), "ignore", Some("i"), true, FieldKind::Str,
        "Skips paths going through any nodes matching regexp\nIf set, discard samples that include a node matching this regexp.\nMatching includes the function name, filename or object name.\n";
    prune_from: String = String::new(), "prune_from", Some("prunefrom"), true, FieldKind::Str,
        "Drops any functions below the matched frame.\nIf set, any frames matching the specified regexp and any frames\nbelow it will be dropped from each sample.\n";
    hide: String = String::new(), "hide", Some("h"), true, FieldKind::Str,
        "Skips nodes matching regexp\nDiscard nodes that match this location.\nOther nodes from samples that include this location will be shown.\nMatching includes the function name, filename or object name.\n";
    show: String = String::new(), "show", Some("s"), true, FieldKind::Str,
        "Only show nodes matching regexp\nIf set, only show nodes that match this location.\nMatching includes the function name, filename or object name.\n";
    show_from: String = String::new(), "show_from", Some("sf"), true, FieldKind::Str,
        "Drops functions above the highest matched frame.\nIf set, all frames above the highest match are dropped from every sample.\nMatching includes the function name, filename or object name.\n";
    tagfocus: String = String::new(), "tagfocus", Some("tf"), true, FieldKind::Str,
        "Restricts to samples with tags in range or matched by regexp\nUse name=value syntax to limit the matching to a specific tag.\nNumeric tag filter examples: 1kb, 1kb:10kb, memory=32mb:\nString tag filter examples: foo, foo.*bar, mytag=foo.*bar\n";
    tagignore: String = String::new(), "tagignore", Some("ti"), true, FieldKind::Str,
        "Discard samples with tags in range or matched by regexp\nUse name=value syntax to limit the matching to a specific tag.\nNumeric tag filter examples: 1kb, 1kb:10kb, memory=32mb:\nString tag filter examples: foo, foo.*bar, mytag=foo.*bar\n";
    tagshow: String = String::new(), "tagshow", Some("ts"), true, FieldKind::Str,
        "Only consider tags matching this regexp\nDiscard tags that do not match this regexp\n";
    taghide: String = String::new(), "taghide", Some("th"), true, FieldKind::Str,
        "Skip tags matching this regexp\nDiscard tags that match this regexp\n";
    noinlines: bool = false, "noinlines", Some("noinlines"), true, FieldKind::Bool,
        "Ignore inlines.\nAttributes inlined functions to their first out-of-line caller.\n";
    showcolumns: bool = false, "showcolumns", Some("showcolumns"), true, FieldKind::Bool,
        "Show column numbers at the source code line level.\n";
    granularity: String = String::new(), "granularity", Some("g"), true, FieldKind::Choice(GRANULARITY_CHOICES),
        "";
}

/// Help for each choice of a `Choice` field (each is also a boolean flag).
pub static CHOICE_HELP: &[(&str, &str)] = &[
    ("flat", "Sort entries based on own weight\n"),
    ("cum", "Sort entries based on cumulative weight\n"),
    (
        "functions",
        "Aggregate at the function level.\nIgnores the filename where the function was defined.\n",
    ),
    (
        "filefunctions",
        "Aggregate at the function level.\nTakes into account the filename where the function was defined.\n",
    ),
    ("files", "Aggregate at the file level."),
    ("lines", "Aggregate at the source code line level."),
    (
        "addresses",
        "Aggregate at the address level.\nIncludes functions' addresses in the output.\n",
    ),
];

pub fn choice_help(choice: &str) -> &'static str {
    CHOICE_HELP
        .iter()
        .find(|(c, _)| *c == choice)
        .map_or("", |(_, h)| h)
}

/// A field by variable name, or by one of its choices (pprof's configFieldMap).
pub fn lookup(name: &str) -> Option<&'static ConfigField> {
    CONFIG_FIELDS
        .iter()
        .find(|f| f.name == name || matches!(f.kind, FieldKind::Choice(cs) if cs.contains(&name)))
}

/// Why a config assignment was refused; messages follow pprof's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown config field {}", go_quote(.0))]
    UnknownField(String),
    #[error("invalid {} value {}", go_quote(field), go_quote(value))]
    InvalidChoice { field: &'static str, value: String },
    #[error("strconv.{func}: parsing {}: invalid syntax", go_quote(value))]
    Syntax { func: &'static str, value: String },
    #[error("strconv.{func}: parsing {}: value out of range", go_quote(value))]
    Range { func: &'static str, value: String },
    #[error("illegal value \"{0}\" for bool variable")]
    IllegalBool(String),
}

/// A URL parameter [`Config::apply_url`] refused; the text is pprof's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("error setting config field {field}: {source}")]
pub struct UrlParamError {
    pub field: &'static str,
    pub source: ConfigError,
}

impl ConfigField {
    pub fn get(&self, cfg: &Config) -> Value {
        (self.get)(cfg)
    }

    /// The value as pprof prints it (`fmt.Sprint`), used for URL and
    /// default comparisons.
    pub fn get_string(&self, cfg: &Config) -> String {
        match self.get(cfg) {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => go_float_string(f),
            Value::Str(s) => s,
        }
    }

    pub fn default_string(&self) -> String {
        self.get_string(&Config::default())
    }

    /// Stores a typed value; false if its type does not match the field.
    pub fn set_value(&self, cfg: &mut Config, v: Value) -> bool {
        (self.set)(cfg, v)
    }

    /// pprof's `config.set`: parses `value` with the interactive/URL rules
    /// (lenient bools, decimal ints), unlike the command line's Go flag rules.
    pub fn set_str(&self, cfg: &mut Config, value: &str) -> Result<(), ConfigError> {
        let v = match self.kind {
            FieldKind::Choice(choices) => {
                if !choices.contains(&value) {
                    return Err(ConfigError::InvalidChoice {
                        field: self.name,
                        value: value.to_string(),
                    });
                }
                Value::Str(value.to_string())
            }
            FieldKind::Str => Value::Str(value.to_string()),
            FieldKind::Int => Value::Int(go_atoi(value)?),
            FieldKind::Float => match parse_go_float(value) {
                Ok(f) => Value::Float(f),
                Err(NumError::Syntax) => {
                    return Err(ConfigError::Syntax {
                        func: "ParseFloat",
                        value: value.to_string(),
                    });
                }
                Err(NumError::Range) => {
                    return Err(ConfigError::Range {
                        func: "ParseFloat",
                        value: value.to_string(),
                    });
                }
            },
            FieldKind::Bool => Value::Bool(string_to_bool(value)?),
        };
        self.set_value(cfg, v);
        Ok(())
    }
}

impl Config {
    /// pprof's `configure(name, value)`: a field name, or a choice name with a
    /// true value.
    pub fn configure(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let Some(f) = lookup(name) else {
            return Err(ConfigError::UnknownField(name.to_string()));
        };
        if f.name == name {
            return f.set_str(self, value);
        }
        if parse_go_bool(value) == Some(true) {
            return f.set_str(self, name);
        }
        Err(ConfigError::UnknownField(name.to_string()))
    }

    /// pprof's `applyURL`: `param` looks up a URL query parameter (first value).
    pub fn apply_url<'a>(
        &mut self,
        param: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<(), UrlParamError> {
        for f in CONFIG_FIELDS {
            let Some(v) = f.urlparam.and_then(&param).filter(|v| !v.is_empty()) else {
                continue;
            };
            f.set_str(self, v).map_err(|source| UrlParamError {
                field: f.name,
                source,
            })?;
        }
        Ok(())
    }

    /// The URL parameters pprof's `makeURL` would carry for this config: saved
    /// fields whose value differs from the default, bools shortened to t/f.
    pub fn url_params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for f in CONFIG_FIELDS {
            let Some(param) = f.urlparam.filter(|_| f.saved) else {
                continue;
            };
            let v = f.get_string(self);
            if v == f.default_string() {
                continue;
            }
            let v = if f.kind == FieldKind::Bool {
                v[..1].to_string()
            } else {
                v
            };
            out.push((param, v));
        }
        out
    }
}

/// pprof's `stringToBool`: lenient, and "" means true.
pub fn string_to_bool(s: &str) -> Result<bool, ConfigError> {
    match s.to_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" | "" => Ok(true),
        "false" | "f" | "no" | "n" | "0" => Ok(false),
        _ => Err(ConfigError::IllegalBool(s.to_string())),
    }
}

fn go_atoi(s: &str) -> Result<i64, ConfigError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::Syntax {
            func: "Atoi",
            value: s.to_string(),
        });
    }
    s.parse::<i64>().map_err(|_| ConfigError::Range {
        func: "Atoi",
        value: s.to_string(),
    })
}

/// Go's `strconv.ParseBool`, which the flag package uses.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.NumError` kinds, which the flag package reports as
/// "parse error" and "value out of range".
pub use profile::strconv::NumError;

/// Go's `strconv.ParseInt(s, 0, 64)`, as the flag package parses int flags:
/// optional sign, 0x/0o/0b/leading-0 prefixes, underscores between digits.
pub fn parse_go_int(s: &str) -> Result<i64, NumError> {
    profile::strconv::parse_int(s, 0)
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hex floats, inf/infinity/nan
/// in any case, underscores between digits.
pub fn parse_go_float(s: &str) -> Result<f64, NumError> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1.0, &s[1..]),
        Some(b'-') => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => return Ok(sign * f64::INFINITY),
        // Go accepts an unsigned NaN only.
        "nan" if s.len() == 3 => return Ok(f64::NAN),
        _ => {}
    }
    if body.contains('_') && !profile::strconv::underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    let clean: String = lower.chars().filter(|&c| c != '_').collect();
    let v = if let Some(hex) = clean.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        // Rust's grammar is Go's for decimal literals once inf/nan words are
        // excluded (Rust would also take "infinity" spelled in other forms).
        if clean.is_empty()
            || !clean
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
        {
            return Err(NumError::Syntax);
        }
        clean.parse::<f64>().map_err(|_| NumError::Syntax)?
    };
    if v.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(sign * v)
}

/// Mantissa in hex, mandatory binary exponent `p`, as Go requires.
fn parse_hex_float(s: &str) -> Result<f64, NumError> {
    let (mant, exp) = s.split_once('p').ok_or(NumError::Syntax)?;
    let exp: i32 = exp.parse().map_err(|_| NumError::Syntax)?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(NumError::Syntax);
    }
    let mut v = 0f64;
    for c in int.chars().chain(frac.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16).ok_or(NumError::Syntax)?);
    }
    let shift = exp - 4 * frac.len() as i32;
    Ok(v * 2f64.powi(shift))
}

/// Go's `fmt.Sprint(float64)` (`%g`, shortest digits): `%e` form when the
/// decimal exponent is < -4 or >= 6, else plain.
pub fn go_float_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let e = format!("{v:e}"); // shortest round-trip digits, e.g. "1.2345e8"
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

/// Go's `%q` (strconv.Quote) for the strings in flag error messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || c == '\u{a0}' || c == '\u{ad}' => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a report command produces (pprof's report.* format constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Callgrind,
    Comments,
    Dis,
    Dot,
    List,
    Proto,
    Raw,
    Tags,
    Text,
    TopProto,
    Traces,
    Tree,
    WebList,
}

/// What happens to the report after it is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostProcess {
    /// Written as is.
    None,
    /// Binary output: pprof saves it to a temp file with this extension
    /// instead of a terminal.
    AwayFromTty(&'static str),
    /// Piped through `dot -T<format>`.
    InvokeDot(&'static str),
    /// `dot -Tsvg`, then made pannable.
    MassageSvg,
    /// Opened in a viewer program, the output written with this extension.
    Visualize(&'static str),
}

/// A report command: also a command-line flag (`-top`, `-list=RE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub name: &'static str,
    pub format: ReportFormat,
    pub post: PostProcess,
    /// Takes a regexp argument (`-list=RE`) instead of being a bool flag.
    pub has_param: bool,
    pub description: &'static str,
}

macro_rules! cmd {
    ($name:literal, $fmt:ident, $post:expr, $param:literal, $desc:literal) => {
        Command {
            name: $name,
            format: ReportFormat::$fmt,
            post: $post,
            has_param: $param,
            description: $desc,
        }
    };
}

/// pprof's `pprofCommands` (as Go's cmd/pprof has them).
pub static COMMANDS: &[Command] = &[
    cmd!(
        "comments",
        Comments,
        PostProcess::None,
        false,
        "Output all profile comments"
    ),
    cmd!(
        "disasm",
        Dis,
        PostProcess::None,
        true,
        "Output assembly listings annotated with samples"
    ),
    cmd!(
        "dot",
        Dot,
        PostProcess::None,
        false,
        "Outputs a graph in DOT format"
    ),
    cmd!(
        "list",
        List,
        PostProcess::None,
        true,
        "Output annotated source for functions matching regexp"
    ),
    cmd!(
        "peek",
        Tree,
        PostProcess::None,
        true,
        "Output callers/callees of functions matching regexp"
    ),
    cmd!(
        "raw",
        Raw,
        PostProcess::None,
        false,
        "Outputs a text representation of the raw profile"
    ),
    cmd!(
        "tags",
        Tags,
        PostProcess::None,
        false,
        "Outputs all tags in the profile"
    ),
    cmd!(
        "text",
        Text,
        PostProcess::None,
        false,
        "Outputs top entries in text form"
    ),
    cmd!(
        "top",
        Text,
        PostProcess::None,
        false,
        "Outputs top entries in text form"
    ),
    cmd!(
        "traces",
        Traces,
        PostProcess::None,
        false,
        "Outputs all profile samples in text form"
    ),
    cmd!(
        "tree",
        Tree,
        PostProcess::None,
        false,
        "Outputs a text rendering of call graph"
    ),
    cmd!(
        "callgrind",
        Callgrind,
        PostProcess::AwayFromTty("callgraph.out"),
        false,
        "Outputs a graph in callgrind format"
    ),
    cmd!(
        "proto",
        Proto,
        PostProcess::AwayFromTty("pb.gz"),
        false,
        "Outputs the profile in compressed protobuf format"
    ),
    cmd!(
        "topproto",
        TopProto,
        PostProcess::AwayFromTty("pb.gz"),
        false,
        "Outputs top entries in compressed protobuf format"
    ),
    cmd!(
        "gif",
        Dot,
        PostProcess::InvokeDot("gif"),
        false,
        "Outputs a graph image in GIF format"
    ),
    cmd!(
        "pdf",
        Dot,
        PostProcess::InvokeDot("pdf"),
        false,
        "Outputs a graph in PDF format"
    ),
    cmd!(
        "png",
        Dot,
        PostProcess::InvokeDot("png"),
        false,
        "Outputs a graph image in PNG format"
    ),
    cmd!(
        "ps",
        Dot,
        PostProcess::InvokeDot("ps"),
        false,
        "Outputs a graph in PS format"
    ),
    cmd!(
        "svg",
        Dot,
        PostProcess::MassageSvg,
        false,
        "Outputs a graph in SVG format"
    ),
    cmd!(
        "eog",
        Dot,
        PostProcess::Visualize("svg"),
        false,
        "Visualize graph through eog"
    ),
    cmd!(
        "evince",
        Dot,
        PostProcess::Visualize("pdf"),
        false,
        "Visualize graph through evince"
    ),
    cmd!(
        "gv",
        Dot,
        PostProcess::Visualize("ps"),
        false,
        "Visualize graph through gv"
    ),
    cmd!(
        "web",
        Dot,
        PostProcess::Visualize("svg"),
        false,
        "Visualize graph through web browser"
    ),
    cmd!(
        "kcachegrind",
        Callgrind,
        PostProcess::Visualize("grind"),
        false,
        "Visualize report in KCachegrind"
    ),
    cmd!(
        "weblist",
        WebList,
        PostProcess::Visualize("html"),
        true,
        "Display annotated source in a web browser"
    ),
];

pub fn command(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// pprof's `usage(commandLine)`: the formats, options and option groups,
/// with `-` prefixes on the command line.
pub fn usage(command_line: bool) -> String {
    let prefix = if command_line { "-" } else { "" };
    let fmt_help = |c: &str, d: &str| {
        let first = d.split('\n').next().unwrap_or("");
        format!("    {c:<16} {first}")
    };
    let mut commands: Vec<String> = COMMANDS
        .iter()
        .map(|c| fmt_help(&format!("{prefix}{}", c.name), c.description))
        .collect();
    commands.sort();
    let mut help = if command_line {
        "  Output formats (select at most one):\n".to_string()
    } else {
        commands.push(fmt_help(
            "o/options",
            "List options and their current values",
        ));
        commands.push(fmt_help("q/quit/exit/^D", "Exit pprof"));
        "  Commands:\n".to_string()
    };
    help += &commands.join("\n");
    help += "\n\n  Options:\n";

    let mut variables = Vec::new();
    let mut radios = Vec::new();
    for f in CONFIG_FIELDS {
        match f.kind {
            FieldKind::Choice(choices) => {
                let mut s = vec![fmt_help(f.name, "")];
                for c in choices {
                    s.push(format!(
                        "  {}",
                        fmt_help(&format!("{prefix}{c}"), choice_help(c))
                    ));
                }
                radios.push(s.join("\n"));
            }
            _ => variables.push(fmt_help(&format!("{prefix}{}", f.name), f.help)),
        }
    }
    variables.sort();
    radios.sort();
    help += &variables.join("\n");
    help += "\n\n  Option groups (only set one per group):\n";
    help += &radios.join("\n");
    help
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_pprof_defaults() {
        let c = Config::default();
        assert_eq!(c.unit, "minimum");
        assert_eq!(c.nodecount, -1);
        assert_eq!(c.nodefraction, 0.005);
        assert_eq!(c.edgefraction, 0.001);
        assert!(c.trim);
        assert_eq!(c.divide_by, 1.0);
        assert_eq!(c.sort, "flat");
        assert_eq!(c.granularity, "");
        assert_eq!(CONFIG_FIELDS.len(), 33);
        assert_eq!(COMMANDS.len(), 25);
        assert!(lookup("n").is_none());
        assert_eq!(lookup("cum").map(|f| f.name), Some("sort"));
        assert_eq!(lookup("lines").map(|f| f.name), Some("granularity"));
    }

    #[test]
    fn configure_follows_pprof() {
        let mut c = Config::default();
        c.configure("nodecount", "7").unwrap();
        assert_eq!(c.nodecount, 7);
        c.configure("cum", "true").unwrap();
        assert_eq!(c.sort, "cum");
        assert_eq!(
            c.configure("cum", "false").unwrap_err().to_string(),
            r#"unknown config field "cum""#
        );
        assert_eq!(
            c.configure("sort", "bogus").unwrap_err().to_string(),
            r#"invalid "sort" value "bogus""#
        );
        c.configure("trim", "").unwrap();
        assert!(c.trim);
        c.configure("trim", "No").unwrap();
        assert!(!c.trim);
        assert_eq!(
            c.configure("trim", "maybe").unwrap_err().to_string(),
            r#"illegal value "maybe" for bool variable"#
        );
        assert_eq!(
            c.configure("nodecount", "0x10").unwrap_err().to_string(),
            r#"strconv.Atoi: parsing "0x10": invalid syntax"#
        );
        assert_eq!(
            c.configure("nope", "1").unwrap_err().to_string(),
            r#"unknown config field "nope""#
        );
        c.configure("divide_by", "2.5").unwrap();
        assert_eq!(c.divide_by, 2.5);
    }

    #[test]
    fn url_round_trip() {
        let mut c = Config::default();
        c.configure("nodecount", "10").unwrap();
        c.configure("trim", "false").unwrap();
        c.configure("focus", "net/http").unwrap();
        c.configure("sample_index", "alloc_space").unwrap();
        // sample_index is in URLs when read, but pprof's makeURL skips
        // unsaved fields.
        assert_eq!(
            c.url_params(),
            vec![
                ("n", "10".to_string()),
                ("trim", "f".to_string()),
                ("f", "net/http".to_string())
            ]
        );
        let mut d = Config::default();
        d.apply_url(|p| match p {
            "n" => Some("10"),
            "trim" => Some("f"),
            "f" => Some("net/http"),
            "si" => Some("alloc_space"),
            _ => None,
        })
        .unwrap();
        assert_eq!(c, d);
        let mut e = Config::default();
        assert_eq!(
            e.apply_url(|p| (p == "g").then_some("bogus"))
                .unwrap_err()
                .to_string(),
            r#"error setting config field granularity: invalid "granularity" value "bogus""#
        );
    }

    #[test]
    fn go_numbers() {
        // Cases checked against Go 1.27's flag package.
        for (s, want) in [
            ("10", Ok(10)),
            ("+10", Ok(10)),
            ("-10", Ok(-10)),
            ("0x1f", Ok(31)),
            ("0X1F", Ok(31)),
            ("017", Ok(15)),
            ("0o17", Ok(15)),
            ("0b101", Ok(5)),
            ("1_000", Ok(1000)),
            ("0x_1f", Ok(31)),
            ("-9223372036854775808", Ok(i64::MIN)),
            ("_1", Err(NumError::Syntax)),
            ("1__0", Err(NumError::Syntax)),
            ("1_", Err(NumError::Syntax)),
            ("", Err(NumError::Syntax)),
            (" 1", Err(NumError::Syntax)),
            ("1.0", Err(NumError::Syntax)),
            ("08", Err(NumError::Syntax)),
            ("9223372036854775808", Err(NumError::Range)),
        ] {
            assert_eq!(parse_go_int(s), want, "{s:?}");
        }
        for (s, want) in [
            ("1", Ok(1.0)),
            (".5", Ok(0.5)),
            ("5.", Ok(5.0)),
            ("1E-3", Ok(0.001)),
            ("+Inf", Ok(f64::INFINITY)),
            ("-infinity", Ok(f64::NEG_INFINITY)),
            ("0x1p-2", Ok(0.25)),
            ("1_000.5", Ok(1000.5)),
            ("1_0e1_0", Ok(1e11)),
            ("1__0", Err(NumError::Syntax)),
            ("_1", Err(NumError::Syntax)),
            ("1e", Err(NumError::Syntax)),
            ("", Err(NumError::Syntax)),
            ("abc", Err(NumError::Syntax)),
            ("0x10", Err(NumError::Syntax)),
            ("1e400", Err(NumError::Range)),
        ] {
            assert_eq!(parse_go_float(s), want, "{s:?}");
        }
        assert!(parse_go_float("nan").unwrap().is_nan());
        assert!(parse_go_float("NaN").unwrap().is_nan());
    }

    #[test]
    fn go_formatting() {
        for (v, s) in [
            (0.005, "0.005"),
            (1.0, "1"),
            (1e21, "1e+21"),
            (1e20, "1e+20"),
            (123456789.5, "1.234567895e+08"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (-2.5, "-2.5"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (2.5e-7, "2.5e-07"),
        ] {
            assert_eq!(go_float_string(v), s, "{v}");
        }
        assert_eq!(
            go_quote("a\"b\\c\td\x01é\u{a0}"),
            r#""a\"b\\c\td\x01é\u00a0""#
        );
    }
}
