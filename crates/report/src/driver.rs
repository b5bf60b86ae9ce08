//! pprof's report pipeline, in its order of operations (internal/driver:
//! the end of `fetchProfiles`, `generateRawReport`, `generateReport`).
//! Byte-identical output depends on that order: for example, percentages
//! are relative to the total computed before the filters run, unless
//! `-relative_percentages`.
//!
//! [`combine_sources`] takes the parsed profiles, [`generate_report`] one
//! command of the [`config`](crate::config) table; both keep no
//! process-global state, so the CLI and a web UI share them. Everything
//! outside goes through [`Env`] and the output writer: grabbing sources,
//! routing output and running Graphviz are the caller's business.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use profile::Profile;
use profile::passes;

use crate::config::{Command, Config, ReportFormat};
use crate::focus::{self, FocusError, FocusOptions};
use crate::graph::StackGroups;
use crate::measurement;
use crate::obj::{NoBinaries, ObjTool};
use crate::report::GraphMemo;
use crate::report::Report;
use crate::source::SourceReadFn;
use crate::{Options, OutputFormat};

/// What the pipeline needs from its surroundings.
pub struct Env<'a> {
    /// Warnings and notices (pprof's `ui.PrintErr`).
    pub stderr: &'a mut dyn Write,
    /// Reads a source file for `-list`.
    pub read_file: SourceReadFn<'a>,
    /// Where `-list` looks for sources when `-source_path` is empty.
    pub working_dir: String,
    /// The binaries `-disasm` reads.
    pub obj: &'a dyn ObjTool,
}

impl<'a> Env<'a> {
    /// For views that never list sources (the flame graph): reading one
    /// fails, and the working directory is not needed.
    pub fn without_sources(stderr: &'a mut dyn Write) -> Env<'a> {
        Env {
            stderr,
            read_file: &|_| Err(std::io::Error::from(std::io::ErrorKind::Unsupported)),
            working_dir: String::new(),
            obj: &NoBinaries,
        }
    }
}

/// An error for the user; its text is one line. Write failures keep their
/// `io::Error` (as `source`), so a closed pipe can be told apart.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{0}")]
    Msg(String),
    /// The cause is the `source`, not repeated here: a chain printer
    /// shows it once, and a broken pipe is found by walking the chain.
    #[error("writing the output failed")]
    Io(#[from] std::io::Error),
}

impl DriverError {
    /// The message (for tests and callers that show it as is).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

fn err(msg: impl Into<String>) -> DriverError {
    DriverError::Msg(msg.into())
}

fn report_error(e: crate::ReportError) -> DriverError {
    match e {
        crate::ReportError::Io(e) => DriverError::Io(e),
        e => err(e.to_string()),
    }
}

/// What `-base`/`-diff_base` and the sources flags ask of the merge.
#[derive(Debug, Clone, Default)]
pub struct CombineOptions {
    pub diff_base: bool,
    pub normalize: bool,
    pub all_frames: bool,
    pub comment: String,
    /// `-symbolize` (only its messages are reproduced, see [`symbolize`]).
    pub symbolize: SymbolizeMode,
}

/// pprof's `combineProfiles`: common sample types, common units, merge.
/// A single profile is returned as is (after the first two steps).
pub fn combine_profiles(mut ps: Vec<Profile>) -> Result<Profile, DriverError> {
    passes::compatibilize_sample_types(&mut ps).map_err(|e| err(e.to_string()))?;
    measurement::scale_profiles(&mut ps).map_err(|e| err(e.to_string()))?;
    if ps.len() == 1 {
        return Ok(ps.pop().expect("one profile"));
    }
    let refs: Vec<&Profile> = ps.iter().collect();
    passes::merge_refs(&refs).map_err(|e| err(e.to_string()))
}

/// pprof's `chunkedGrab` merge structure: profiles are merged 128 at a
/// time, then each chunk into the running result. The shape matters
/// because merging renumbers ids in the order they are met.
pub fn merge_chunked(ps: Vec<Profile>) -> Result<Option<Profile>, DriverError> {
    const CHUNK: usize = 128;
    let mut acc: Option<Profile> = None;
    let mut it = ps.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<Profile> = it.by_ref().take(CHUNK).collect();
        let merged = combine_profiles(chunk)?;
        acc = Some(match acc {
            None => merged,
            Some(a) => combine_profiles(vec![a, merged])?,
        });
    }
    Ok(acc)
}

/// The rest of pprof's `fetchProfiles` once every source is parsed: merge
/// sources and bases, subtract the base (`-base`, `-diff_base` with the
/// `pprof::base` label, `-normalize`), `-all_frames`, drop_frames,
/// `unsourceMappings`, `-add_comment`, `CheckValid`. No binary is read:
/// mappings naming one are left as they are (see
/// [`combine_sources_with_binaries`]).
pub fn combine_sources(
    sources: Vec<Profile>,
    bases: Vec<Profile>,
    o: &CombineOptions,
    stderr: &mut dyn Write,
) -> Result<Profile, DriverError> {
    combine(sources, bases, o, None, stderr)
}

/// [`combine_sources`], symbolizing from the binaries `obj` opens, as
/// pprof's local symbolization does.
pub fn combine_sources_with_binaries(
    sources: Vec<Profile>,
    bases: Vec<Profile>,
    o: &CombineOptions,
    obj: &dyn ObjTool,
    stderr: &mut dyn Write,
) -> Result<Profile, DriverError> {
    combine(sources, bases, o, Some(obj), stderr)
}

fn combine(
    sources: Vec<Profile>,
    bases: Vec<Profile>,
    o: &CombineOptions,
    obj: Option<&dyn ObjTool>,
    stderr: &mut dyn Write,
) -> Result<Profile, DriverError> {
    let mut p = merge_chunked(sources)
        .map_err(|e| err(format!("problem fetching source profiles: {e}")))?
        .ok_or_else(|| err("failed to fetch any source profiles"))?;
    // pprof's message really ends with a comma.
    let base =
        merge_chunked(bases).map_err(|e| err(format!("problem fetching base profiles: {e},")))?;
    if let Some(mut base) = base {
        if o.diff_base {
            passes::set_label(&mut base, passes::DIFF_BASE_LABEL, &["true"]);
        }
        if o.normalize {
            passes::normalize(&mut p, &base).map_err(|e| err(e.to_string()))?;
        }
        passes::scale(&mut base, -1.0);
        p = combine_profiles(vec![p, base])?;
    }
    if o.all_frames {
        p.drop_frames.clear();
        p.keep_frames.clear();
    }
    symbolize(&mut p, &o.symbolize, obj, stderr);
    // pprof ignores a bad drop_frames regexp.
    let _ = passes::remove_uninteresting(&mut p);
    unsource_mappings(&mut p);
    if !o.comment.is_empty() {
        p.comments.push(o.comment.clone());
    }
    passes::check_valid(&p).map_err(|e| err(e.to_string()))?;
    Ok(p)
}

/// pprof's `Symbolizer.Symbolize`: local symbolization of the mappings
/// not symbolized yet (all of them with `force`) from the binaries `obj`
/// opens, then demangling. Without `obj`, mappings naming a binary are left
/// as they are and only the messages about missing file names are given.
/// Remote symbolization (symbolz) is not done.
pub fn symbolize(
    p: &mut Profile,
    mode: &SymbolizeMode,
    obj: Option<&dyn ObjTool>,
    stderr: &mut dyn Write,
) {
    for _ in 0..mode.unrecognized {
        let _ = writeln!(
            stderr,
            "ignoring unrecognized symbolization option: {}\nexpecting -symbolize=[local|fastlocal|remote|none][:force][:demangle=[none|full|templates|default]",
            mode.flag
        );
    }
    if !mode.enabled {
        return;
    }
    if mode.local {
        local_symbolize(p, mode.force, obj, stderr);
    }
    demangle(p, mode.force, mode.demangler);
}

/// pprof's `-symbolize` flag, parsed once: `[local|fastlocal|remote|none]
/// [:force][:demangle=none|full|templates|default]`, read as pprof's
/// symbolizer reads it (lower-cased, options in order, `none` stops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolizeMode {
    /// The flag as given, for the warning about options not understood.
    pub flag: String,
    /// False after `none` (or `no`).
    pub enabled: bool,
    /// Local symbolization (pprof's default); false with `remote`.
    pub local: bool,
    pub force: bool,
    /// `demangle=`: "" (pprof's default simplification), "none", "full"
    /// or "templates".
    pub demangler: &'static str,
    /// How many options were not understood before parsing stopped: pprof
    /// warns once for each, every time it symbolizes.
    pub unrecognized: usize,
}

impl Default for SymbolizeMode {
    fn default() -> Self {
        SymbolizeMode::parse("")
    }
}

impl SymbolizeMode {
    pub fn parse(flag: &str) -> SymbolizeMode {
        let mut mode = SymbolizeMode {
            flag: flag.to_string(),
            enabled: true,
            local: true,
            force: false,
            demangler: "",
            unrecognized: 0,
        };
        for o in flag.to_lowercase().split(':') {
            match o {
                "" | "fastlocal" => {}
                "none" | "no" => {
                    mode.enabled = false;
                    break;
                }
                "local" => mode.local = true,
                "remote" => mode.local = false,
                "force" => mode.force = true,
                _ => match o.strip_prefix("demangle=").unwrap_or(o) {
                    "full" => (mode.demangler, mode.force) = ("full", true),
                    "none" => (mode.demangler, mode.force) = ("none", true),
                    "templates" => (mode.demangler, mode.force) = ("templates", true),
                    "default" => {}
                    _ => mode.unrecognized += 1,
                },
            }
        }
        mode
    }
}

/// pprof's `doLocalSymbolize`: each mapping with locations and without
/// symbols (or every one with `force`) gets its locations' lines from its
/// binary, with pprof's messages about the binaries it cannot open.
fn local_symbolize(
    p: &mut Profile,
    force: bool,
    obj: Option<&dyn ObjTool>,
    stderr: &mut dyn Write,
) {
    let mut locations_of: Vec<Vec<usize>> = vec![Vec::new(); p.mappings.len()];
    for (i, l) in p.locations.iter().enumerate() {
        if let Some(list) = l.mapping.and_then(|m| locations_of.get_mut(m as usize)) {
            list.push(i);
        }
    }
    // Functions made here are shared by equal frames, not with the
    // profile's own functions (as in pprof).
    let mut made: HashMap<(String, String), u32> = HashMap::new();
    let mut missing = false;
    for (i, locs) in locations_of.iter().enumerate() {
        let m = &p.mappings[i];
        if locs.is_empty() || (!force && (m.has_functions || m.has_filenames || m.has_line_numbers))
        {
            continue;
        }
        if m.file.is_empty() {
            // heapdrift symbolizes Go's debug=1 texts from their `#` lines;
            // pprof's complaint applies only when that left no names. Those
            // lines name PCs: Java profiles' symbols come with zeroed
            // addresses, and pprof complains about them all the same.
            let symbolized = locs.iter().any(|&l| {
                let loc = &p.locations[l];
                !loc.lines.is_empty() && loc.address != 0
            });
            if symbolized {
                continue;
            }
            if i == 0 {
                let _ = writeln!(stderr, "Main binary filename not available.");
            } else {
                missing = true;
            }
            continue;
        }
        if passes::mapping_unsymbolizable(m) {
            continue;
        }
        if m.build_id.is_empty() && has_http_scheme(&m.file) {
            continue;
        }
        let Some(obj) = obj else { continue };
        let mut name = crate::graph::go_base(&m.file);
        if !m.build_id.is_empty() {
            name = format!("{name} (build ID {})", m.build_id);
        }
        let f = match obj.open(&m.file, m.start, m.limit, m.offset) {
            Ok(f) => f,
            Err(e) => {
                let _ = writeln!(stderr, "Local symbolization failed for {name}: {e}");
                missing = true;
                continue;
            }
        };
        let file_id = f.build_id();
        if !m.build_id.is_empty() && !file_id.is_empty() && file_id != m.build_id {
            let _ = writeln!(
                stderr,
                "Local symbolization failed for {name}: build ID mismatch"
            );
            continue;
        }
        for &l in locs {
            let frames = match f.source_line(p.locations[l].address) {
                Ok(frames) if !frames.is_empty() => frames,
                _ => continue,
            };
            let mut lines = Vec::with_capacity(frames.len());
            let m = &mut p.mappings[i];
            for fr in frames {
                m.has_functions |= !fr.func.is_empty();
                m.has_filenames |= !fr.file.is_empty();
                m.has_line_numbers |= fr.line != 0;
                let functions = &mut p.functions;
                let func = *made
                    .entry((fr.func.clone(), fr.file.clone()))
                    .or_insert_with(|| {
                        functions.push(profile::Function {
                            id: functions.len() as u64 + 1,
                            name: fr.func.clone(),
                            system_name: fr.func,
                            filename: fr.file,
                            start_line: 0,
                        });
                        functions.len() as u32 - 1
                    });
                lines.push(profile::Line {
                    function: Some(func),
                    line: fr.line,
                    column: 0,
                });
            }
            m.has_inline_frames = true;
            let loc = &mut p.locations[l];
            loc.lines = lines;
            loc.is_folded = false;
        }
    }
    if missing {
        let _ = writeln!(
            stderr,
            "Some binary filenames not available. Symbolization may be incomplete.\nTry setting PPROF_BINARY_PATH to the search path for local binaries."
        );
    }
}

/// Whether pprof takes a mapping file for a source URL: an absolute URL
/// whose scheme contains "http".
fn has_http_scheme(s: &str) -> bool {
    has_url_scheme(s)
        && s.split(':')
            .next()
            .is_some_and(|scheme| scheme.to_lowercase().contains("http"))
}

/// pprof's `symbolizer.Demangle`. Go names never demangle (heapdrift has
/// no C++ demangler, so mangled cgo names stay as they are), but pprof's
/// fallback still simplifies names that look like demangled C++: those with
/// `<>[]` or `::` lose their `(…)` and `<…>` groups by default. That is
/// what turns a generic `F[go.shape.interface { String() string }]` into
/// `F[go.shape.interface { String string }]`.
pub fn demangle(p: &mut Profile, force: bool, mode: &str) {
    if force {
        for f in &mut p.functions {
            if !f.name.is_empty() && !f.system_name.is_empty() {
                f.name.clone_from(&f.system_name);
            }
        }
    }
    let (no_params, no_templates) = match mode {
        "" => (true, true),
        "templates" => (true, false),
        "full" => (false, false),
        _ => return,
    };
    for f in &mut p.functions {
        if !f.name.is_empty() && f.system_name != f.name {
            continue;
        }
        let mut name = f.system_name.clone();
        if looks_like_demangled_cplusplus(&name) {
            if no_params {
                name = remove_matching(&name, b'(', b')');
            }
            if no_templates {
                name = remove_matching(&name, b'<', b'>');
            }
        }
        f.name = name;
    }
}

fn looks_like_demangled_cplusplus(s: &str) -> bool {
    if s.contains(".<") || s.contains("]).") {
        return false;
    }
    s.contains(['<', '>', '[', ']']) || s.contains("::")
}

/// pprof's `removeMatching`: drops nested `start…end` groups; a stray
/// `end` leaves the name as it was at that point.
fn remove_matching(name: &str, start: u8, end: u8) -> String {
    let mut name = name.as_bytes().to_vec();
    let (mut nesting, mut first, mut current) = (0i64, 0usize, 0usize);
    while let Some(off) = name[current..].iter().position(|&b| b == start || b == end) {
        current += off;
        if name[current] == start {
            nesting += 1;
            if nesting == 1 {
                first = current;
            }
            current += 1;
        } else {
            nesting -= 1;
            if nesting < 0 {
                break;
            }
            if nesting == 0 {
                name.drain(first..=current);
                current = first;
            } else {
                current += 1;
            }
        }
    }
    // Only ASCII bytes were removed, so the rest is still UTF-8.
    String::from_utf8(name).unwrap_or_default()
}

/// pprof's `unsourceMappings`: a mapping without build ID whose file is an
/// absolute URL (set from the source URL for remote symbolization) gets
/// its file cleared.
fn unsource_mappings(p: &mut Profile) {
    for m in &mut p.mappings {
        if m.build_id.is_empty() && has_url_scheme(&m.file) {
            m.file.clear();
        }
    }
}

/// Whether Go's `url.Parse(s)` would give a URL with a scheme (`IsAbs`):
/// a letter, then letters, digits, `+-.`, then `:`.
fn has_url_scheme(s: &str) -> bool {
    let Some(colon) = s.find(':') else {
        return false;
    };
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !s.contains(|c: char| c.is_ascii_control() || c == ' ')
}

/// pprof's `applyCommandOverrides`.
pub(crate) fn apply_command_overrides(cmd: &str, format: ReportFormat, mut cfg: Config) -> Config {
    let mut trim = cfg.trim;
    match cmd {
        "disasm" => {
            trim = false;
            cfg.granularity = "addresses".into();
            cfg.noinlines = true;
        }
        "weblist" => {
            trim = false;
            cfg.granularity = "addresses".into();
            cfg.noinlines = false;
        }
        "peek" => trim = false,
        "list" => {
            trim = false;
            cfg.granularity = "lines".into();
        }
        "text" | "top" | "topproto" => {
            if cfg.nodecount == -1 {
                cfg.nodecount = 0;
            }
        }
        _ => {
            if cfg.nodecount == -1 {
                cfg.nodecount = 80;
            }
        }
    }
    if matches!(
        format,
        ReportFormat::Proto | ReportFormat::Raw | ReportFormat::Callgrind
    ) {
        trim = false;
        cfg.granularity = "addresses".into();
    }
    if !trim {
        cfg.nodecount = 0;
        cfg.nodefraction = 0.0;
        cfg.edgefraction = 0.0;
    }
    cfg
}

/// pprof's `aggregate`: forget what the granularity does not keep.
/// pprof's `Aggregate` at `cfg`'s granularity. With `samples_checked`,
/// the caller vouches that `p`'s samples pass `CheckValid` (the passes
/// since the check only dropped samples or frames), which skips reading
/// them again: tens of milliseconds on a profile of 800k samples.
pub(crate) fn aggregate(
    p: &mut Profile,
    cfg: &Config,
    samples_checked: bool,
) -> Result<(), DriverError> {
    let inlines = !cfg.noinlines;
    let (function, filename, line, address) = match cfg.granularity.as_str() {
        "" | "functions" => (true, false, false, false),
        "addresses" => {
            if inlines {
                return Ok(());
            }
            (true, true, true, true)
        }
        "lines" => (true, true, true, false),
        "files" => (false, true, false, false),
        "filefunctions" => (true, true, false, false),
        _ => return Err(err("unexpected granularity")),
    };
    passes::aggregate_locations(
        p,
        inlines,
        function,
        filename,
        line,
        cfg.showcolumns,
        address,
    );
    if samples_checked {
        passes::check_tables(p)
    } else {
        passes::check_valid(p)
    }
    .map_err(|e| err(e.to_string()))
}

/// pprof's `SampleIndexByName`, with its error texts.
pub fn sample_index_by_name(p: &Profile, name: &str) -> Result<usize, DriverError> {
    let types = || {
        let v: Vec<&str> = p.sample_types.iter().map(|t| t.r#type.as_str()).collect();
        format!("[{}]", v.join(" "))
    };
    if name.is_empty() {
        if !p.default_sample_type.is_empty()
            && let Some(i) = p
                .sample_types
                .iter()
                .position(|t| t.r#type == p.default_sample_type)
        {
            return Ok(i);
        }
        return Ok(p.sample_types.len().saturating_sub(1));
    }
    if let Some(i) = go_atoi(name) {
        if i < 0 || i as usize >= p.sample_types.len() {
            return Err(err(format!(
                "sample_index {name} is outside the range [0..{}]",
                p.sample_types.len() as i64 - 1
            )));
        }
        return Ok(i as usize);
    }
    let no_inuse = name.strip_prefix("inuse_").unwrap_or(name);
    if let Some(i) = p
        .sample_types
        .iter()
        .position(|t| t.r#type == name || t.r#type == no_inuse)
    {
        return Ok(i);
    }
    Err(err(format!(
        "sample_index {} must be one of: {}",
        crate::config::go_quote(name),
        types()
    )))
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, no overflow.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// The report format a command produces, for the `report` crate.
fn report_format(f: ReportFormat) -> Option<OutputFormat> {
    Some(match f {
        ReportFormat::Callgrind => OutputFormat::Callgrind,
        ReportFormat::Comments => OutputFormat::Comments,
        ReportFormat::Dot => OutputFormat::Dot,
        ReportFormat::List => OutputFormat::List,
        ReportFormat::Raw | ReportFormat::Proto => OutputFormat::Raw,
        ReportFormat::Tags => OutputFormat::Tags,
        ReportFormat::Text => OutputFormat::Text,
        ReportFormat::Traces => OutputFormat::Traces,
        ReportFormat::Tree => OutputFormat::Tree,
        ReportFormat::TopProto => OutputFormat::Text,
        ReportFormat::Dis => OutputFormat::Dis,
        ReportFormat::WebList => OutputFormat::WebList,
    })
}

/// Rejects what heapdrift cannot do yet, before any work. Every command of
/// pprof's table runs now; callers keep the check so a command added to the
/// table without a report fails here.
pub fn check_supported(cmd: &Command) -> Result<(), DriverError> {
    match report_format(cmd.format) {
        Some(_) => Ok(()),
        None => Err(err(format!(
            "heapdrift pprof: -{} is not supported",
            cmd.name
        ))),
    }
}

fn report_warn(w: &mut dyn Write, ok: bool, option: &str) {
    if !ok {
        let _ = writeln!(w, "{}", focus::no_match_warning(option));
    }
}

/// Go's regexp error wording is not reproducible; keep the message on one
/// line: `error parsing regexp: <reason>: `<pattern>``.
fn regex_error_text(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let reason = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid regexp")
        .trim()
        .trim_start_matches("error: ");
    // Go's words for the most common mistakes.
    let reason = match reason {
        "unclosed group" => "missing closing )",
        "unopened group" => "unexpected )",
        "unclosed character class" => "missing closing ]",
        r => r,
    };
    format!("error parsing regexp: {reason}: `{pattern}`")
}

fn focus_error(e: FocusError, cfg: &Config) -> DriverError {
    match e {
        FocusError::Regex { name, .. } => {
            let pattern = match name.as_str() {
                "focus" => &cfg.focus,
                "ignore" => &cfg.ignore,
                "hide" => &cfg.hide,
                "show" => &cfg.show,
                "show_from" => &cfg.show_from,
                "prune_from" => &cfg.prune_from,
                "tagshow" => &cfg.tagshow,
                "taghide" => &cfg.taghide,
                "tagfocus" => &cfg.tagfocus,
                "tagignore" => &cfg.tagignore,
                _ => "",
            };
            // A tag filter is a comma-separated list: name the bad part.
            let bad = pattern
                .split_once('=')
                .map_or(pattern, |(_, v)| v)
                .split(',')
                .find_map(|part| regex::Regex::new(part).err().map(|e| (part, e)));
            let text = match bad.or_else(|| regex::Regex::new(pattern).err().map(|e| (pattern, e)))
            {
                Some((part, e)) => regex_error_text(part, &e),
                None => "invalid regexp".to_string(),
            };
            err(format!("parsing {name} regexp: {text}"))
        }
        other => err(other.to_string()),
    }
}

/// pprof's `applyFocus`: the filters, in pprof's order, with its
/// "… expression matched no samples" warnings.
/// pprof's focus, ignore, hide, show and tag filters. With
/// `names_applied`, focus and ignore dropped their samples already (see
/// [`copy_for_preparation`]): only which locations they match is needed,
/// for the warnings.
pub(crate) fn apply_focus(
    p: &mut Profile,
    units: &HashMap<String, String>,
    cfg: &Config,
    stderr: &mut dyn Write,
    names_applied: bool,
) -> Result<(), DriverError> {
    let fo = FocusOptions {
        focus: cfg.focus.clone(),
        ignore: cfg.ignore.clone(),
        hide: cfg.hide.clone(),
        show: cfg.show.clone(),
        show_from: cfg.show_from.clone(),
        tag_focus: cfg.tagfocus.clone(),
        tag_ignore: cfg.tagignore.clone(),
        tag_show: cfg.tagshow.clone(),
        tag_hide: cfg.taghide.clone(),
        prune_from: cfg.prune_from.clone(),
    };
    let c = focus::compile(&fo, units).map_err(|e| focus_error(e, cfg))?;
    for n in &c.notices {
        let _ = writeln!(stderr, "{n}");
    }
    let (fm, im, hm, hnm) = if names_applied && c.hide.is_none() && c.show.is_none() {
        // What the filter would report without reading the samples, which
        // it would keep.
        passes::location_verdicts(p, c.focus.as_ref(), c.ignore.as_ref()).map_or(
            (true, false, false, false),
            |v| {
                let matched = |want| v.contains(&Some(want));
                (matched(true), matched(false), false, false)
            },
        )
    } else {
        passes::filter_samples_by_name(
            p,
            c.focus.as_ref(),
            c.ignore.as_ref(),
            c.hide.as_ref(),
            c.show.as_ref(),
        )
    };
    report_warn(stderr, c.focus.is_none() || fm, "Focus");
    report_warn(stderr, c.ignore.is_none() || im, "Ignore");
    report_warn(stderr, c.hide.is_none() || hm, "Hide");
    report_warn(stderr, c.show.is_none() || hnm, "Show");

    let sfm = c
        .show_from
        .as_ref()
        .is_some_and(|re| passes::show_from(p, re));
    report_warn(stderr, c.show_from.is_none() || sfm, "ShowFrom");

    if c.tag_focus.is_some() || c.tag_ignore.is_some() {
        let (tfm, tim) = passes::filter_samples_by_tag(
            p,
            |s| c.tag_focus.as_ref().is_none_or(|f| f(s)),
            |s| c.tag_ignore.as_ref().is_some_and(|f| f(s)),
        );
        report_warn(stderr, c.tag_focus.is_none() || tfm, "TagFocus");
        report_warn(stderr, c.tag_ignore.is_none() || tim, "TagIgnore");
    }

    if c.tag_show.is_some() || c.tag_hide.is_some() {
        let (tns, tnh) = passes::filter_tags_by_name(p, c.tag_show.as_ref(), c.tag_hide.as_ref());
        report_warn(stderr, c.tag_show.is_none() || tns, "TagShow");
        report_warn(stderr, c.tag_hide.is_none() || tnh, "TagHide");
    }

    if let Some(re) = &c.prune_from {
        passes::prune_from(p, re);
    }
    Ok(())
}

/// pprof's `generateTagRootsLeaves`.
pub(crate) fn generate_tag_roots_leaves(p: &mut Profile, cfg: &Config, stderr: &mut dyn Write) {
    let keys = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect()
    };
    let roots = keys(&cfg.tagroot);
    let leaves = keys(&cfg.tagleaf);
    let (rootm, leafm) = if roots.is_empty() && leaves.is_empty() {
        (false, false)
    } else {
        let r: Vec<&str> = roots.iter().map(String::as_str).collect();
        let l: Vec<&str> = leaves.iter().map(String::as_str).collect();
        let unit = cfg.unit.clone();
        passes::add_label_nodes(p, &r, &l, |v, u| match u {
            Some(u) => measurement::scaled_label(v, u, &unit),
            None => measurement::scaled_label(v, "", ""),
        })
    };
    report_warn(stderr, cfg.tagroot.is_empty() || rootm, "TagRoot");
    report_warn(stderr, cfg.tagleaf.is_empty() || leafm, "TagLeaf");
}

/// pprof's `reportOptions`.
pub(crate) fn report_options(
    p: &Profile,
    units: &HashMap<String, String>,
    cfg: &Config,
    format: OutputFormat,
) -> Result<Options, DriverError> {
    if p.sample_types.is_empty() {
        return Err(err("profile has no samples"));
    }
    let index = sample_index_by_name(p, &cfg.sample_index)?;
    let mut o = Options::for_sample_index(p, index, format);
    if cfg.mean {
        o.sample_mean_divisor = Some(Box::new(|v: &[i64]| v.first().copied().unwrap_or(0)));
        o.sample_type = format!("mean_{}", o.sample_type);
    }
    if cfg.divide_by == 0.0 {
        return Err(err("zero divisor specified"));
    }
    let mut filters = Vec::new();
    for (k, v) in [
        ("focus", &cfg.focus),
        ("ignore", &cfg.ignore),
        ("hide", &cfg.hide),
        ("show", &cfg.show),
        ("show_from", &cfg.show_from),
        ("tagfocus", &cfg.tagfocus),
        ("tagignore", &cfg.tagignore),
        ("tagshow", &cfg.tagshow),
        ("taghide", &cfg.taghide),
    ] {
        if !v.is_empty() {
            filters.push(format!("{k}={v}"));
        }
    }
    o.cum_sort = cfg.sort == "cum";
    o.call_tree = cfg.call_tree;
    o.drop_negative = cfg.drop_negative;
    o.compact_labels = cfg.compact_labels;
    o.ratio = 1.0 / cfg.divide_by;
    o.node_count = cfg.nodecount;
    o.node_fraction = cfg.nodefraction;
    o.edge_fraction = cfg.edgefraction;
    o.active_filters = filters;
    o.num_label_units = units.clone();
    o.output_unit = cfg.unit.clone();
    o.source_path = cfg.source_path.clone();
    o.trim_path = cfg.trim_path.clone();
    o.intel_syntax = cfg.intel_syntax;
    if let Some(m) = p.mappings.first()
        && !m.file.is_empty()
    {
        o.title = crate::graph::go_base(&m.file);
    }
    Ok(o)
}

/// pprof's `identifyNumLabelUnits`, warning about keys with several units.
pub(crate) fn identify_num_label_units(
    p: &Profile,
    stderr: &mut dyn Write,
) -> HashMap<String, String> {
    let (units, ignored) = passes::num_label_units(p);
    for (k, us) in &ignored {
        let _ = writeln!(
            stderr,
            "For tag {k} used unit {}, also encountered unit(s) {}",
            units.get(k).map(String::as_str).unwrap_or(""),
            us.join(", ")
        );
    }
    units.into_iter().collect()
}

/// pprof's `generateRawReport` + `report.Generate`: writes the report
/// (before any Graphviz post-processing) to `out`. `arg` is the regexp of
/// `-list`/`-peek`.
pub fn generate_report(
    src: &mut ReportSource,
    cmd: &Command,
    arg: Option<&str>,
    cfg: &Config,
    env: &mut Env,
    out: &mut dyn Write,
) -> Result<(), DriverError> {
    generate_report_keeping(src, cmd, arg, cfg, env, out).map(drop)
}

/// [`generate_report`], handing back the report (and its profile) instead
/// of dropping it, so that a process about to exit can skip freeing it.
pub fn generate_report_keeping(
    src: &mut ReportSource,
    cmd: &Command,
    arg: Option<&str>,
    cfg: &Config,
    env: &mut Env,
    out: &mut dyn Write,
) -> Result<Report, DriverError> {
    let mut rpt = src.make_report(cmd, arg, cfg, &no_edit, env)?;
    write_report(&mut rpt, cmd, env, out)?;
    Ok(rpt)
}

/// pprof's `generateRawReport` behind the web UI's `makeReport`: the one
/// way every view makes a report (the CLI, the shell, `flame`, the web UI).
/// `edit` is the view's change to the settings (pprof's `configEditor`:
/// the flame graph's call tree, the web UI's node count), applied before
/// the command's own overrides. The report comes back filtered and
/// aggregated, before anything is written, for callers that want its rows
/// or graph rather than its text ([`write_report`] writes it). Views that
/// make many reports of one profile keep a [`ReportSource`] instead.
pub fn make_report(
    p: Profile,
    cmd: &Command,
    arg: Option<&str>,
    cfg: &Config,
    edit: &dyn Fn(&mut Config),
    env: &mut Env,
) -> Result<Report, DriverError> {
    ReportSource::once(p).make_report(cmd, arg, cfg, edit, env)
}

/// How many prepared profiles a session keeps: each is a copy of the
/// profile, so a few; the shell's usual back and forth (settings that do
/// not filter, one filter tried and dropped) fits.
const KEPT_PREPARATIONS: usize = 2;

/// The profile behind a view's reports, and what making one report leaves
/// for the next. pprof makes every report from a fresh copy of the profile;
/// so does a session here, but the copy filtered and aggregated for one
/// report is kept and shared (read-only, copied on write) by the next
/// reports that filter and aggregate it the same way, with the sample
/// groups of their graphs. Only the settings that change nothing before
/// the report itself (sample index, node count, sort, ...) may differ
/// between them, and the warnings printed while preparing are printed
/// again, so every report reads as if made from scratch.
pub struct ReportSource {
    /// `None` once a one-shot source has given its profile away.
    profile: Option<Arc<Profile>>,
    /// Keep prepared copies for later reports (a session), or prepare the
    /// profile itself, without a copy (one report).
    session: bool,
    units: Option<(HashMap<String, String>, Vec<u8>)>,
    /// Most recently used last.
    prepared: Vec<Prepared>,
    reused: usize,
    /// The totals of the profile itself: those of every preparation
    /// without tag roots whose focus does not set the percentages.
    source_totals: Option<Totals>,
    /// The profile's samples grouped by stack: those of every preparation
    /// that leaves the samples' stacks as they are ([`keeps_stacks`]).
    source_stacks: Arc<OnceLock<StackGroups>>,
    /// The profile passed `CheckValid` (see [`ReportSource::checked`]).
    checked: bool,
    /// The graph nodes made for the prepared profiles' tables.
    node_tables: Arc<crate::graph::NodeTablesCache>,
}

/// A profile filtered and aggregated under some settings.
struct Prepared {
    key: Config,
    profile: Arc<Profile>,
    totals: Totals,
    /// Warnings printed before the report options are checked (tag roots,
    /// relative focus) and after (focus).
    warnings: [Vec<u8>; 2],
    /// What graphs share, by (sample index, mean, tags).
    memos: Vec<((usize, bool, bool), Arc<GraphMemo>)>,
    /// The samples grouped by stack, for the memos of every sample value.
    stacks: Arc<OnceLock<StackGroups>>,
}

impl ReportSource {
    /// A source for one report: the profile is prepared in place.
    pub fn once(p: Profile) -> ReportSource {
        ReportSource::new(Arc::new(p), false)
    }

    /// A source for many reports of `p` (the shell, the web UI).
    pub fn session(p: Arc<Profile>) -> ReportSource {
        ReportSource::new(p, true)
    }

    fn new(p: Arc<Profile>, session: bool) -> ReportSource {
        ReportSource {
            profile: Some(p),
            session,
            units: None,
            prepared: Vec::new(),
            reused: 0,
            source_totals: None,
            source_stacks: Arc::default(),
            checked: false,
            node_tables: Arc::default(),
        }
    }

    /// Says the profile passed `passes::check_valid` (as
    /// [`combine_sources`] leaves it), so that preparations that only drop
    /// samples or frames need not read every sample again for the check
    /// pprof makes after aggregating.
    pub fn checked(mut self) -> ReportSource {
        self.checked = true;
        self
    }

    /// The profile reports are made from (`None` once a one-shot source has
    /// made its report).
    pub fn profile(&self) -> Option<&Arc<Profile>> {
        self.profile.as_ref()
    }

    /// Makes `cmd`'s report under `cfg` and throws it away, so that the
    /// same report asked for later finds its preparation and graphs ready
    /// (the shell does this while its user reads the header). Its warnings
    /// are kept for that report; errors are left for it to meet.
    pub fn warm(&mut self, cmd: &Command, cfg: &Config) {
        let mut sink = std::io::sink();
        let mut env = Env::without_sources(&mut sink);
        if let Ok(mut rpt) = self.make_report(cmd, None, cfg, &no_edit, &mut env) {
            let _ = write_report(&mut rpt, cmd, &mut env, &mut std::io::sink());
        }
    }

    /// How many reports reused a prepared profile.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// The report for `cmd`: see [`make_report`].
    pub fn make_report(
        &mut self,
        cmd: &Command,
        arg: Option<&str>,
        cfg: &Config,
        edit: &dyn Fn(&mut Config),
        env: &mut Env,
    ) -> Result<Report, DriverError> {
        check_supported(cmd)?;
        let source = self
            .profile
            .clone()
            .ok_or_else(|| err("internal error: the profile was used for a report already"))?;
        let (units, unit_warnings) = self.units.get_or_insert_with(|| {
            let mut warnings = Vec::new();
            let units = identify_num_label_units(&source, &mut warnings);
            (units, warnings)
        });
        env.stderr
            .write_all(unit_warnings)
            .map_err(DriverError::Io)?;
        let mut cfg = cfg.clone();
        edit(&mut cfg);
        let cfg = apply_command_overrides(cmd.name, cmd.format, cfg);
        let format = report_format(cmd.format).ok_or_else(|| err("unsupported report format"))?;
        let key = preparation_key(&cfg);
        // Tag roots and leaves add frames; every other step drops some.
        let samples_checked = self.checked && cfg.tagroot.is_empty() && cfg.tagleaf.is_empty();

        // A one-shot source's preparation is not kept: its report must be
        // the profile's only owner, so that changing it copies nothing.
        let mut unkept = None;
        let (prepared, ropt) = match self.prepared.iter().position(|p| p.key == key) {
            Some(i) => {
                self.reused += 1;
                // Most recently used last; kept even if this report fails.
                let hit = self.prepared.remove(i);
                self.prepared.push(hit);
                let prepared = self.prepared.last_mut().expect("just pushed");
                env.stderr
                    .write_all(&prepared.warnings[0])
                    .map_err(DriverError::Io)?;
                let ropt = options_for(&prepared.profile, units, &cfg, format, arg, env)?;
                env.stderr
                    .write_all(&prepared.warnings[1])
                    .map_err(DriverError::Io)?;
                (prepared, ropt)
            }
            None => {
                if !self.session {
                    self.profile = None;
                }
                let (prepared, ropt) = if self.session {
                    let totals = self
                        .source_totals
                        .get_or_insert_with(|| Totals::of(&source));
                    let stacks = &self.source_stacks;
                    let copy_and_prepare = || {
                        let mut copy = copy_for_preparation(&source, &cfg, totals, stacks.get());
                        if keeps_stacks(&cfg) {
                            copy.stacks = Some(stacks.clone());
                        }
                        copy.samples_checked = samples_checked;
                        prepare(copy, key, units, &cfg, format, arg, env)
                    };
                    if keeps_stacks(&cfg) && stacks.get().is_none() {
                        // The profile's stack groups serve this preparation:
                        // group them on the other core while copying.
                        std::thread::scope(|s| {
                            s.spawn(|| stacks.get_or_init(|| StackGroups::new(&source, false)));
                            copy_and_prepare()
                        })?
                    } else {
                        copy_and_prepare()?
                    }
                } else {
                    let copy = ProfileCopy {
                        profile: Arc::unwrap_or_clone(source),
                        totals: None,
                        stacks: None,
                        samples_checked,
                        names_applied: false,
                    };
                    prepare(copy, key, units, &cfg, format, arg, env)?
                };
                if self.session {
                    self.prepared.push(prepared);
                    if self.prepared.len() > KEPT_PREPARATIONS {
                        self.prepared.remove(0);
                    }
                    (self.prepared.last_mut().expect("just pushed"), ropt)
                } else {
                    (unkept.insert(prepared), ropt)
                }
            }
        };

        let (index, mean) = (
            sample_index_by_name(&prepared.profile, &cfg.sample_index)?,
            cfg.mean,
        );
        let total = prepared.totals.total(index, mean);
        let memo_key = (index, mean, format == OutputFormat::Dot);
        let memo = match prepared.memos.iter().find(|(k, _)| *k == memo_key) {
            Some((_, memo)) => memo.clone(),
            // One report groups only the samples its value weighs.
            None if !self.session => Arc::default(),
            None => {
                let memo = Arc::new(GraphMemo::sharing(
                    prepared.stacks.clone(),
                    self.node_tables.clone(),
                ));
                prepared.memos.push((memo_key, memo.clone()));
                memo
            }
        };
        let rpt = Report::with_total(prepared.profile.clone(), ropt, total, memo);
        Ok(rpt)
    }
}

/// The settings that decide how a profile is prepared (tag roots, filters,
/// granularity): all but those read only by the report itself.
fn preparation_key(cfg: &Config) -> Config {
    let d = Config::default();
    Config {
        output: d.output,
        nodecount: d.nodecount,
        nodefraction: d.nodefraction,
        edgefraction: d.edgefraction,
        sort: d.sort,
        sample_index: d.sample_index,
        mean: d.mean,
        divide_by: d.divide_by,
        call_tree: d.call_tree,
        compact_labels: d.compact_labels,
        drop_negative: d.drop_negative,
        source_path: d.source_path,
        trim_path: d.trim_path,
        intel_syntax: d.intel_syntax,
        ..cfg.clone()
    }
}

/// The copy of a session's profile that a preparation under `cfg` starts
/// from. Copying 700k samples takes longer than the rest of most reports,
/// so where focus or ignore will drop samples, only those kept are copied:
/// the filters then find the same locations (their warnings depend on
/// those alone) and drop nothing more. That needs the samples to reach the
/// filters unchanged (no tag roots). The totals come before focus unless
/// percentages are relative to it: those of the whole profile, returned
/// with a copy that lacks samples.
fn copy_for_preparation(
    source: &Profile,
    cfg: &Config,
    source_totals: &Totals,
    source_stacks: Option<&StackGroups>,
) -> ProfileCopy {
    if !cfg.tagroot.is_empty() || !cfg.tagleaf.is_empty() {
        return ProfileCopy {
            profile: source.clone(),
            totals: None,
            stacks: None,
            samples_checked: false,
            names_applied: false,
        };
    }
    let totals = (!cfg.relative_percentages).then(|| source_totals.clone());
    let whole = || ProfileCopy {
        profile: source.clone(),
        totals: totals.clone(),
        stacks: None,
        samples_checked: false,
        names_applied: false,
    };
    // A bad regexp is reported by the filters themselves.
    let (Ok(focus), Ok(ignore)) = (
        focus::compile_regex_option("focus", &cfg.focus),
        focus::compile_regex_option("ignore", &cfg.ignore),
    ) else {
        return whole();
    };
    let Some(verdicts) = passes::location_verdicts(source, focus.as_ref(), ignore.as_ref()) else {
        return whole();
    };
    // The call tree decides per node what the samples' frames would decide
    // per frame.
    let keep = source_stacks
        .and_then(|st| st.samples_kept(&verdicts))
        .unwrap_or_else(|| passes::samples_kept_by_verdicts(source, &verdicts));
    // Where nothing else changes the kept samples or their stacks, their
    // groups are a subset of the profile's.
    let only_dropped_by_name = other_filters(cfg).iter().all(|f| f.is_empty());
    let stacks = source_stacks
        .filter(|_| only_dropped_by_name)
        .and_then(|st| st.subset(&keep))
        .map(|st| Arc::new(OnceLock::from(st)));
    ProfileCopy {
        profile: source.clone_keeping_samples(&keep),
        totals,
        stacks,
        samples_checked: false,
        names_applied: true,
    }
}

/// A profile for a preparation, with what is known of it already.
struct ProfileCopy {
    profile: Profile,
    /// Its totals (which count samples focus drops, unless percentages are
    /// relative to the focus).
    totals: Option<Totals>,
    /// Its samples grouped by stack.
    stacks: Option<Arc<OnceLock<StackGroups>>>,
    /// Its samples pass `CheckValid` whatever the preparation does to
    /// them (see [`aggregate`]).
    samples_checked: bool,
    /// Focus and ignore dropped its samples already.
    names_applied: bool,
}

/// Whether preparing under `cfg` leaves every sample's stack as it is
/// (aggregation rewrites locations in place, and only filters and tag roots
/// drop samples or change their stacks), so that the profile's own stack
/// groups are the preparation's.
fn keeps_stacks(cfg: &Config) -> bool {
    [&cfg.tagroot, &cfg.tagleaf, &cfg.focus, &cfg.ignore]
        .into_iter()
        .chain(other_filters(cfg))
        .all(|f| f.is_empty())
}

/// The filters besides tag roots, focus and ignore: they drop samples by
/// their labels or change their stacks.
fn other_filters(cfg: &Config) -> [&String; 6] {
    [
        &cfg.hide,
        &cfg.show,
        &cfg.show_from,
        &cfg.tagfocus,
        &cfg.tagignore,
        &cfg.prune_from,
    ]
}

/// Prepares `p` for a report, in pprof's order: tag roots, focus when
/// percentages are relative to it, the report options (whose errors come
/// first), the totals, focus otherwise, aggregation. Warnings go to
/// `env.stderr` and are kept for reports that reuse the preparation.
fn prepare(
    copy: ProfileCopy,
    key: Config,
    units: &HashMap<String, String>,
    cfg: &Config,
    format: OutputFormat,
    arg: Option<&str>,
    env: &mut Env,
) -> Result<(Prepared, Options), DriverError> {
    let ProfileCopy {
        profile: mut p,
        totals,
        stacks,
        samples_checked,
        names_applied,
    } = copy;
    // Warnings are kept for reuse, and printed as they would have been:
    // up to an error, and before the report options' errors.
    let mut before = Vec::new();
    let mut after = Vec::new();
    let relative = cfg.relative_percentages;
    generate_tag_roots_leaves(&mut p, cfg, &mut before);
    let focused = if relative {
        apply_focus(&mut p, units, cfg, &mut before, names_applied)
    } else {
        Ok(())
    };
    env.stderr.write_all(&before).map_err(DriverError::Io)?;
    focused?;
    let ropt = options_for(&p, units, cfg, format, arg, env)?;
    // `totals` are those of a copy that lacks the samples focus drops.
    let totals = totals.unwrap_or_else(|| Totals::of(&p));
    if !relative {
        let focused = apply_focus(&mut p, units, cfg, &mut after, names_applied);
        env.stderr.write_all(&after).map_err(DriverError::Io)?;
        focused?;
    }
    aggregate(&mut p, cfg, samples_checked)?;
    // Stack groups count the samples they were made for; a filter that
    // dropped more than foreseen gets its own.
    let stacks = stacks.filter(|st| st.get().is_none_or(|g| g.samples() == p.samples.count()));
    let prepared = Prepared {
        key,
        profile: Arc::new(p),
        totals,
        warnings: [before, after],
        memos: Vec::new(),
        stacks: stacks.unwrap_or_default(),
    };
    Ok((prepared, ropt))
}

/// The report options for `cfg`, with `arg` (`-list`'s and `-peek`'s
/// regexp) as the symbol to select.
fn options_for(
    p: &Profile,
    units: &HashMap<String, String>,
    cfg: &Config,
    format: OutputFormat,
    arg: Option<&str>,
    env: &Env,
) -> Result<Options, DriverError> {
    let mut ropt = report_options(p, units, cfg, format)?;
    if let Some(a) = arg {
        let re = regex::Regex::new(a).map_err(|e| {
            err(format!(
                "parsing argument regexp {a}: {}",
                regex_error_text(a, &e)
            ))
        })?;
        ropt.symbol = Some(re);
    }
    ropt.working_dir = env.working_dir.clone();
    Ok(ropt)
}

/// pprof's `computeTotal` for every sample value at once, so that a
/// prepared profile answers any `sample_index` and `-mean`.
#[derive(Clone)]
struct Totals {
    /// Per value: Σ|v| over all samples, and over the `pprof::base` ones.
    sums: Vec<(i64, i64)>,
    /// Σ of value 0 (`-mean`'s divisor), over all and over base samples.
    divisors: (i64, i64),
}

impl Totals {
    fn of(p: &Profile) -> Totals {
        let n = p.sample_types.len();
        let mut sums = vec![(0i64, 0i64); n];
        let mut divisors = (0i64, 0i64);
        for s in &p.samples {
            let base = s
                .labels
                .iter()
                .any(|l| &*l.key == "pprof::base" && &*l.value == "true");
            for (j, sum) in sums.iter_mut().enumerate() {
                let v = s.values.get(j).copied().unwrap_or(0).wrapping_abs();
                sum.0 = sum.0.wrapping_add(v);
                if base {
                    sum.1 = sum.1.wrapping_add(v);
                }
            }
            let d = s.values.first().copied().unwrap_or(0);
            divisors.0 = divisors.0.wrapping_add(d);
            if base {
                divisors.1 = divisors.1.wrapping_add(d);
            }
        }
        Totals { sums, divisors }
    }

    /// What [`crate::report::compute_total`] gives for sample value `index`.
    fn total(&self, index: usize, mean: bool) -> i64 {
        let sums = self.sums.get(index).copied().unwrap_or((0, 0));
        let divisors = if mean { self.divisors } else { (0, 0) };
        crate::report::finish_total(sums, divisors)
    }
}

/// The settings as they are: for views without changes of their own.
pub fn no_edit(_: &mut Config) {}

/// What pprof's interactive `greetings` shows: the profile's header lines
/// under `cfg` and the report's total (pprof adds a hint when it is 0);
/// `None` when the options are invalid, which leaves out the header. Takes
/// the profile: the report is built on it, and the caller is done with it.
pub fn greetings(p: Profile, cfg: &Config, stderr: &mut dyn Write) -> Option<(Vec<String>, i64)> {
    let units = identify_num_label_units(&p, stderr);
    let ropt = report_options(&p, &units, cfg, OutputFormat::Text).ok()?;
    let rpt = Report::new(p, ropt);
    Some((rpt.profile_labels(), rpt.total()))
}

/// pprof's `report.Generate` for a prepared report (and the formats its
/// driver writes itself: raw, proto, topproto, list).
pub fn write_report(
    rpt: &mut Report,
    cmd: &Command,
    env: &mut Env,
    out: &mut dyn Write,
) -> Result<(), DriverError> {
    let io = DriverError::Io;
    match cmd.format {
        ReportFormat::Raw => {
            let mut s = String::new();
            profile::raw::write_raw(rpt.profile(), &mut s);
            out.write_all(s.as_bytes()).map_err(io)?;
        }
        ReportFormat::Proto => {
            let ratio = rpt.options.ratio;
            let prof = rpt.profile_mut();
            if ratio > 0.0 && ratio != 1.0 {
                for s in &mut prof.samples {
                    for v in &mut s.values {
                        *v = (*v as f64 * ratio) as i64;
                    }
                }
            }
            let bytes = profile::gz::compress(&profile::proto::encode(prof));
            out.write_all(&bytes).map_err(io)?;
        }
        ReportFormat::TopProto => {
            let top = top_proto(rpt);
            let bytes = profile::gz::compress(&profile::proto::encode(&top));
            out.write_all(&bytes).map_err(io)?;
        }
        ReportFormat::List => {
            rpt.print_source(out, env.read_file).map_err(report_error)?;
        }
        ReportFormat::Dis => {
            rpt.print_assembly(out, env.obj).map_err(report_error)?;
        }
        ReportFormat::WebList => {
            rpt.print_weblist(out, env.obj, env.read_file)
                .map_err(report_error)?;
        }
        _ => rpt.generate(out).map_err(report_error)?,
    }
    Ok(())
}

/// pprof's `printTopProto`: the report's top nodes as a profile of
/// one-frame samples valued (cum, flat) in the output unit.
fn top_proto(rpt: &mut Report) -> Profile {
    let g = rpt.top_graph();
    let o = &rpt.options;
    let p = rpt.profile();
    let mut out = Profile {
        sample_types: vec![
            profile::ValueType::new("cum", &o.output_unit),
            profile::ValueType::new("flat", &o.output_unit),
        ],
        time_nanos: p.time_nanos,
        duration_nanos: p.duration_nanos,
        period_type: p.period_type.clone(),
        period: p.period,
        ..Default::default()
    };
    let mut functions: HashMap<(&str, &str, &str, i64), u32> = HashMap::new();
    for (i, &n) in g.nodes.iter().enumerate() {
        let node = g.node(n);
        let info = &node.info;
        let key = (
            info.name.as_str(),
            info.orig_name.as_str(),
            info.file.as_str(),
            info.start_line,
        );
        let f = *functions.entry(key).or_insert_with(|| {
            out.functions.push(profile::Function {
                id: out.functions.len() as u64 + 1,
                name: info.name.clone(),
                system_name: info.orig_name.clone(),
                filename: info.file.clone(),
                start_line: info.start_line,
            });
            out.functions.len() as u32 - 1
        });
        out.locations.push(profile::Location {
            id: i as u64 + 1,
            mapping: None,
            address: info.address,
            lines: vec![profile::Line {
                function: Some(f),
                line: info.lineno,
                column: info.columnno,
            }],
            is_folded: false,
        });
        let (fv, _) = measurement::scale(node.flat_value(), &o.sample_unit, &o.output_unit);
        let (cv, _) = measurement::scale(node.cum_value(), &o.sample_unit, &o.output_unit);
        out.samples.push(profile::Sample {
            locations: vec![i as u32],
            values: vec![cv as i64, fv as i64],
            ..Default::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolize_flag_is_read_as_pprof_reads_it() {
        let m = SymbolizeMode::parse("");
        assert!(m.enabled && m.local && !m.force);
        assert_eq!((m.demangler, m.unrecognized), ("", 0));
        assert!(!SymbolizeMode::parse("None").enabled);
        assert!(!SymbolizeMode::parse("local:no").enabled);
        assert!(!SymbolizeMode::parse("remote").local);
        let m = SymbolizeMode::parse("force:demangle=templates");
        assert!(m.enabled && m.force);
        assert_eq!(m.demangler, "templates");
        // `demangle=none` is a demangler, not `none`.
        let m = SymbolizeMode::parse("demangle=none");
        assert!(m.enabled);
        assert_eq!(m.demangler, "none");
        // Each option not understood before `none` is one warning.
        let m = SymbolizeMode::parse("bogus:odd:none:later");
        assert_eq!((m.enabled, m.unrecognized), (false, 2));
        let mut err = Vec::new();
        symbolize(&mut Profile::default(), &m, None, &mut err);
        let err = String::from_utf8(err).unwrap();
        assert_eq!(
            err.matches("ignoring unrecognized symbolization option: bogus:odd:none:later\n")
                .count(),
            2
        );
    }
    #[test]
    fn main_binary_message_as_pprof() {
        let loc = |address, lines: usize| profile::Location {
            mapping: Some(0),
            address,
            lines: vec![profile::Line::default(); lines],
            ..Default::default()
        };
        let message = |locations| {
            let mut p = Profile {
                mappings: vec![profile::Mapping {
                    id: 1,
                    ..Default::default()
                }],
                locations,
                ..Default::default()
            };
            let mut err = Vec::new();
            symbolize(&mut p, &SymbolizeMode::default(), None, &mut err);
            String::from_utf8(err).unwrap()
        };
        // Go texts' PCs named from `#` lines: nothing left to complain of.
        assert_eq!(message(vec![loc(0x10, 1), loc(0x20, 0)]), "");
        // Bare PCs, and Java's symbols (addresses zeroed): pprof complains.
        assert_eq!(
            message(vec![loc(0x10, 0)]),
            "Main binary filename not available.\n"
        );
        assert_eq!(
            message(vec![loc(0, 1)]),
            "Main binary filename not available.\n"
        );
    }

    use profile::ValueType;

    fn prof(types: &[&str], default: &str) -> Profile {
        Profile {
            sample_types: types.iter().map(|t| ValueType::new(t, "count")).collect(),
            default_sample_type: default.into(),
            ..Default::default()
        }
    }

    #[test]
    fn sample_index_rules() {
        let p = prof(&["alloc_objects", "alloc_space", "space", "objects"], "");
        assert_eq!(sample_index_by_name(&p, "").unwrap(), 3);
        assert_eq!(sample_index_by_name(&p, "1").unwrap(), 1);
        assert_eq!(sample_index_by_name(&p, "inuse_space").unwrap(), 2);
        assert_eq!(sample_index_by_name(&p, "alloc_space").unwrap(), 1);
        assert_eq!(
            sample_index_by_name(&p, "4").unwrap_err().message(),
            "sample_index 4 is outside the range [0..3]"
        );
        assert_eq!(
            sample_index_by_name(&p, "-1").unwrap_err().message(),
            "sample_index -1 is outside the range [0..3]"
        );
        assert_eq!(
            sample_index_by_name(&p, "bogus").unwrap_err().message(),
            "sample_index \"bogus\" must be one of: [alloc_objects alloc_space space objects]"
        );
        let p = prof(&["a", "b", "c"], "b");
        assert_eq!(sample_index_by_name(&p, "").unwrap(), 1);
        let p = prof(&["a", "b"], "zzz");
        assert_eq!(sample_index_by_name(&p, "").unwrap(), 1);
    }

    #[test]
    fn overrides_like_pprof() {
        let c = Config::default();
        let top = apply_command_overrides("top", ReportFormat::Text, c.clone());
        assert_eq!(top.nodecount, 0);
        assert_eq!(top.nodefraction, 0.005);
        let tree = apply_command_overrides("tree", ReportFormat::Tree, c.clone());
        assert_eq!(tree.nodecount, 80);
        let peek = apply_command_overrides("peek", ReportFormat::Tree, c.clone());
        assert_eq!((peek.nodecount, peek.nodefraction), (0, 0.0));
        let list = apply_command_overrides("list", ReportFormat::List, c.clone());
        assert_eq!(list.granularity, "lines");
        let raw = apply_command_overrides("raw", ReportFormat::Raw, c.clone());
        assert_eq!(
            (raw.granularity.as_str(), raw.edgefraction),
            ("addresses", 0.0)
        );
        let disasm = apply_command_overrides("disasm", ReportFormat::Dis, c);
        assert!(disasm.noinlines);
    }

    fn tiny(v: i64) -> Profile {
        Profile {
            sample_types: vec![ValueType::new("inuse_space", "bytes")],
            samples: vec![profile::Sample {
                locations: vec![0],
                values: vec![v],
                ..Default::default()
            }]
            .into(),
            locations: vec![profile::Location {
                id: 1,
                address: 0x10,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn combine_merges_in_chunks_and_diffs() {
        let mut sink = Vec::new();
        let o = CombineOptions::default();
        // 130 sources: two chunks of pprof's 128, merged into one sample.
        let srcs: Vec<Profile> = (0..130).map(|_| tiny(2)).collect();
        let p = combine_sources(srcs, vec![], &o, &mut sink).unwrap();
        assert_eq!(p.samples.len(), 1);
        assert_eq!(p.samples[0].values, [260]);

        // -diff_base: base samples negated and labelled pprof::base=true.
        let o = CombineOptions {
            diff_base: true,
            comment: "note".into(),
            ..Default::default()
        };
        let p = combine_sources(vec![tiny(10)], vec![tiny(4)], &o, &mut sink).unwrap();
        let mut vals: Vec<(i64, bool)> = p
            .samples
            .iter()
            .map(|s| (s.values[0], passes::is_diff_base_sample(s)))
            .collect();
        vals.sort();
        assert_eq!(vals, [(-4, true), (10, false)]);
        assert_eq!(p.comments, ["note"]);

        // -base -normalize: the source is scaled to the base's total first.
        let o = CombineOptions {
            normalize: true,
            ..Default::default()
        };
        let p = combine_sources(vec![tiny(10)], vec![tiny(4)], &o, &mut sink).unwrap();
        assert!(
            p.samples.is_empty(),
            "4 - 4 leaves nothing: {:?}",
            p.samples
        );
        assert!(sink.is_empty());
    }

    #[test]
    fn demangle_heuristics() {
        assert_eq!(
            remove_matching("F[go.shape.interface { String() string }]", b'(', b')'),
            "F[go.shape.interface { String string }]"
        );
        assert_eq!(remove_matching("a(b(c)d)e(f)", b'(', b')'), "ae");
        assert_eq!(remove_matching("a)b(c)", b'(', b')'), "a)b(c)");
        assert_eq!(remove_matching("x<int>::f<a<b>>()", b'<', b'>'), "x::f()");
        assert!(looks_like_demangled_cplusplus("ns::f()"));
        assert!(!looks_like_demangled_cplusplus("main.(*T[...]).M"));
        assert!(!looks_like_demangled_cplusplus("main.f"));
        let mut p = Profile {
            functions: vec![
                profile::Function {
                    name: "a::b(int)".into(),
                    system_name: "a::b(int)".into(),
                    ..Default::default()
                },
                profile::Function {
                    name: "kept".into(),
                    system_name: "x::y()".into(),
                    ..Default::default()
                },
                profile::Function {
                    system_name: "only::system()".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        demangle(&mut p, false, "");
        let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a::b", "kept", "only::system"]);
    }

    #[test]
    fn url_scheme_detection() {
        assert!(has_url_scheme("http://host:1/debug/pprof/heap"));
        assert!(!has_url_scheme("/tmp/leakdemo"));
        assert!(!has_url_scheme("[vdso]"));
        assert!(!has_url_scheme(":x"));
        assert!(!has_url_scheme(""));
    }

    #[test]
    fn regex_errors_are_one_line() {
        let bad = String::from("main.(");
        let e = regex::Regex::new(&bad).unwrap_err();
        let t = regex_error_text(&bad, &e);
        assert!(!t.contains('\n'), "{t}");
        assert_eq!(t, "error parsing regexp: missing closing ): `main.(`");
    }
}
