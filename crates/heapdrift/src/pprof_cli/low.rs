//! The low level of pprof's command line: Go's `flag` package over pprof's
//! flag table. Values are typed by their Go flag type (bool, int, float,
//! string) and nothing is interpreted yet; `super` turns a [`LowArgs`] into
//! the typed [`super::PprofArgs`], as ripgrep's flags/ turns its low-level
//! arguments into high-level ones.

use std::collections::HashMap;

use report::config::{
    COMMANDS, CONFIG_FIELDS, FieldKind, NumError, go_quote, parse_go_bool, parse_go_float,
    parse_go_int,
};

use super::CliExit;

/// The command line as Go's flag package leaves it: every flag given (the
/// last value wins), and the arguments after the flags.
#[derive(Debug, Clone, PartialEq)]
pub struct LowArgs {
    pub(super) set: HashMap<&'static str, FlagValue>,
    pub positional: Vec<String>,
}

impl LowArgs {
    /// Parses the arguments (without the program name); the errors are the
    /// flag package's, word for word.
    pub fn parse(args: &[String]) -> Result<LowArgs, CliExit> {
        let (set, positional) = go_flag_parse(&flag_defs(), args)?;
        Ok(LowArgs { set, positional })
    }

    pub(super) fn get(&self, name: &str) -> Option<&FlagValue> {
        self.set.get(name)
    }

    /// A string flag of pprof's own (not the config table's), if given.
    pub(super) fn src_str(&self, f: SrcFlag) -> Option<&str> {
        match self.set.get(f.name()) {
            Some(FlagValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A string flag given a non-empty value: pprof treats "" as unset.
    pub(super) fn src_non_empty(&self, f: SrcFlag) -> Option<String> {
        self.src_str(f).filter(|s| !s.is_empty()).map(String::from)
    }

    pub(super) fn src_int(&self, f: SrcFlag) -> Option<i64> {
        match self.set.get(f.name()) {
            Some(FlagValue::Int(v)) => Some(*v),
            _ => None,
        }
    }

    pub(super) fn src_bool(&self, f: SrcFlag) -> bool {
        matches!(self.set.get(f.name()), Some(FlagValue::Bool(true)))
    }
}

impl SrcFlag {
    pub(super) fn name(self) -> &'static str {
        SRC_FLAGS
            .iter()
            .find(|s| s.1 == self)
            .map(|s| s.0)
            .expect("every SrcFlag is in SRC_FLAGS")
    }
}

/// The Go flag type of a flag: decides how its value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FlagType {
    Bool,
    Int,
    Float,
    Str,
}

/// The flags pprof defines outside the config table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SrcFlag {
    DiffBase,
    Base,
    Symbolize,
    BuildId,
    Timeout,
    AddComment,
    AllFrames,
    Seconds,
    InuseSpace,
    InuseObjects,
    AllocSpace,
    AllocObjects,
    TotalDelay,
    Contentions,
    MeanDelay,
    Tools,
    Http,
    NoBrowser,
    TlsCert,
    TlsKey,
    TlsCa,
}

pub(super) const SRC_FLAGS: &[(&str, SrcFlag, FlagType)] = &[
    ("diff_base", SrcFlag::DiffBase, FlagType::Str),
    ("base", SrcFlag::Base, FlagType::Str),
    ("symbolize", SrcFlag::Symbolize, FlagType::Str),
    ("buildid", SrcFlag::BuildId, FlagType::Str),
    ("timeout", SrcFlag::Timeout, FlagType::Int),
    ("add_comment", SrcFlag::AddComment, FlagType::Str),
    ("all_frames", SrcFlag::AllFrames, FlagType::Bool),
    ("seconds", SrcFlag::Seconds, FlagType::Int),
    ("inuse_space", SrcFlag::InuseSpace, FlagType::Bool),
    ("inuse_objects", SrcFlag::InuseObjects, FlagType::Bool),
    ("alloc_space", SrcFlag::AllocSpace, FlagType::Bool),
    ("alloc_objects", SrcFlag::AllocObjects, FlagType::Bool),
    ("total_delay", SrcFlag::TotalDelay, FlagType::Bool),
    ("contentions", SrcFlag::Contentions, FlagType::Bool),
    ("mean_delay", SrcFlag::MeanDelay, FlagType::Bool),
    ("tools", SrcFlag::Tools, FlagType::Str),
    ("http", SrcFlag::Http, FlagType::Str),
    ("no_browser", SrcFlag::NoBrowser, FlagType::Bool),
    ("tls_cert", SrcFlag::TlsCert, FlagType::Str),
    ("tls_key", SrcFlag::TlsKey, FlagType::Str),
    ("tls_ca", SrcFlag::TlsCa, FlagType::Str),
];

/// Every command-line flag and its Go type: the config table, its choices
/// (each a bool flag), the commands and pprof's source/legacy flags. Names
/// are unique (Go's flag package would panic on a redefinition).
pub(super) fn flag_defs() -> HashMap<&'static str, FlagType> {
    let mut m = HashMap::new();
    let mut add = |name: &'static str, ty| {
        let prev = m.insert(name, ty);
        debug_assert!(prev.is_none(), "flag redefined: {name}");
    };
    for &(name, _, ty) in SRC_FLAGS {
        add(name, ty);
    }
    for f in CONFIG_FIELDS {
        match f.kind {
            FieldKind::Bool => add(f.name, FlagType::Bool),
            FieldKind::Int => add(f.name, FlagType::Int),
            FieldKind::Float => add(f.name, FlagType::Float),
            FieldKind::Str => add(f.name, FlagType::Str),
            FieldKind::Choice(cs) => {
                for c in cs {
                    add(c, FlagType::Bool);
                }
            }
        }
    }
    for c in COMMANDS {
        add(
            c.name,
            if c.has_param {
                FlagType::Str
            } else {
                FlagType::Bool
            },
        );
    }
    m
}

/// A parsed flag value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FlagValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// Go's `flag.FlagSet.Parse` over `defs`: returns the set flags (last value
/// wins) and the remaining arguments.
pub(super) fn go_flag_parse(
    defs: &HashMap<&'static str, FlagType>,
    args: &[String],
) -> Result<(HashMap<&'static str, FlagValue>, Vec<String>), CliExit> {
    let mut set = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        if s.len() < 2 || !s.starts_with('-') {
            break;
        }
        let mut name = &s[1..];
        if let Some(rest) = name.strip_prefix('-') {
            if rest.is_empty() {
                // "--" ends the flags and is consumed.
                i += 1;
                break;
            }
            name = rest;
        }
        if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
            return Err(CliExit::Flag(format!("bad flag syntax: {s}")));
        }
        i += 1;
        // The name is everything up to the first '=' after its first byte.
        let (name, value) = match name[1..].find('=') {
            Some(p) => (&name[..p + 1], Some(&name[p + 2..])),
            None => (name, None),
        };
        let Some((&key, &ty)) = defs.get_key_value(name) else {
            if name == "help" || name == "h" {
                return Err(CliExit::Help);
            }
            return Err(CliExit::Flag(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        let v = if ty == FlagType::Bool {
            // A bool flag never takes the next argument as its value.
            match value {
                None => FlagValue::Bool(true),
                Some(v) => FlagValue::Bool(parse_go_bool(v).ok_or_else(|| {
                    CliExit::Flag(format!(
                        "invalid boolean value {} for -{name}: parse error",
                        go_quote(v)
                    ))
                })?),
            }
        } else {
            let value = match value {
                Some(v) => v,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].as_str()
                }
                None => {
                    return Err(CliExit::Flag(format!("flag needs an argument: -{name}")));
                }
            };
            let bad = |e: NumError| {
                let why = match e {
                    NumError::Syntax => "parse error",
                    NumError::Range => "value out of range",
                };
                CliExit::Flag(format!(
                    "invalid value {} for flag -{name}: {why}",
                    go_quote(value)
                ))
            };
            match ty {
                FlagType::Int => FlagValue::Int(parse_go_int(value).map_err(bad)?),
                FlagType::Float => FlagValue::Float(parse_go_float(value).map_err(bad)?),
                _ => FlagValue::Str(value.to_string()),
            }
        };
        set.insert(key, v);
    }
    Ok((set, args[i..].to_vec()))
}
