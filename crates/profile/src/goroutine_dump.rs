//! `goroutine?debug=2` dumps (the format of a Go panic traceback), as
//! written by Go 1.27's runtime (`goroutineheader`, `traceback1`,
//! `printcreatedby1`, `printAncestorTraceback`).
//!
//! (file:line lines start with a tab.)
//!
//! ```text
//! goroutine 12 [chan receive, 5 minutes, locked to thread] {worker: w1, "k 2": "v"}:
//! main.blockOnChan(0xc000012345?)
//!     /src/main.go:63 +0x15
//! ...additional frames elided...
//! created by main.main in goroutine 1
//!     /src/main.go:108 +0x105
//! ```

use crate::error::ParseError;
use crate::legacy::gostr;
use crate::model::{
    Function, Label, LabelStr, Line, LocIdx, Location, Mapping, NumLabel, Profile, Sample,
    ValueType, mem_index,
};
use std::collections::HashMap;
use std::sync::Arc;

/// One frame of a traceback.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Package-qualified name as pprof prints it (`main.(*T).run`,
    /// `main.main.func1`), without the argument list. The runtime prints
    /// `runtime.gopanic` as `panic`; it is mapped back. Generic functions
    /// keep the runtime's `[...]` for their type arguments.
    pub function: String,
    pub file: String,
    pub line: u64,
    /// The `+0x..` offset from the function entry, when printed (inlined
    /// frames have none).
    pub pc_offset: Option<u64>,
}

/// The `created by` trailer of a goroutine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CreatedBy {
    pub function: String,
    pub file: String,
    pub line: u64,
    /// `in goroutine N`; absent for goroutines created by the runtime
    /// before Go 1.21 and inside ancestor tracebacks.
    pub goroutine: Option<u64>,
}

/// An `[originating from goroutine N]:` block (`GODEBUG=tracebackancestors`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ancestor {
    pub goroutine: u64,
    pub frames: Vec<Frame>,
    pub elided: bool,
    pub created_by: Option<CreatedBy>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goroutine {
    pub id: u64,
    /// The status or wait reason as printed (`chan receive`, `running`,
    /// `sync.Mutex.Lock`, `select (no cases)`), without the ` (leaked)`
    /// and ` (scan)` markers.
    pub state: String,
    /// `, N minutes`: printed only for waits of at least one minute.
    pub wait_minutes: Option<u64>,
    pub locked_to_thread: bool,
    /// Marked ` (leaked)` by the goroutine leak detector (Go 1.26+).
    pub leaked: bool,
    /// `, synctest bubble N`.
    pub synctest_bubble: Option<u64>,
    /// `gp=0x.. m=N mp=0x..` (GOTRACEBACK=system and above): the M id, or
    /// `None` also for `m=nil`.
    pub m: Option<u64>,
    /// Innermost first.
    pub frames: Vec<Frame>,
    /// `...additional frames elided...`: the stack was cut at 100 frames.
    pub elided: bool,
    /// `goroutine running on other thread; stack unavailable`.
    pub stack_unavailable: bool,
    pub created_by: Option<CreatedBy>,
    /// pprof labels (`{k: v}` after the header, Go 1.27), in printed order.
    pub labels: Vec<(String, String)>,
    pub ancestors: Vec<Ancestor>,
}

/// Whether `data` starts (after blank lines) with a goroutine header.
pub fn looks_like_dump(data: &[u8]) -> bool {
    let head = &data[..data.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // The cut may split a character: keep the valid prefix.
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
    };
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| parse_header(l).is_ok())
}

fn err(line_no: usize, msg: impl std::fmt::Display) -> ParseError {
    ParseError::Legacy(format!("goroutine dump: line {line_no}: {msg}"))
}

struct Header {
    id: u64,
    m: Option<u64>,
    state: String,
    wait_minutes: Option<u64>,
    locked: bool,
    leaked: bool,
    bubble: Option<u64>,
    labels: Vec<(String, String)>,
}

fn parse_header(line: &str) -> Result<Header, String> {
    let rest = line
        .strip_prefix("goroutine ")
        .ok_or("expected a goroutine header")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = rest[..digits]
        .parse::<u64>()
        .map_err(|_| "bad goroutine id")?;
    let rest = &rest[digits..];
    let open = rest.find(" [").ok_or("missing '[' in goroutine header")?;
    let mut m = None;
    for tok in rest[..open].split_ascii_whitespace() {
        if let Some(v) = tok.strip_prefix("m=") {
            m = v.parse::<u64>().ok();
        } else if !(tok.starts_with("gp=") || tok.starts_with("mp=")) {
            return Err(format!("unexpected {tok:?} in goroutine header"));
        }
    }
    let rest = &rest[open + 2..];
    let close = rest.find(']').ok_or("missing ']' in goroutine header")?;
    let inner = &rest[..close];
    let tail = &rest[close + 1..];

    let mut parts = inner.split(", ");
    let mut state = parts.next().unwrap_or("");
    let mut leaked = false;
    if let Some(s) = state.strip_suffix(" (scan)") {
        state = s;
    }
    if let Some(s) = state.strip_suffix(" (leaked)") {
        state = s;
        leaked = true;
    }
    if state.is_empty() {
        return Err("empty goroutine state".into());
    }
    let (mut wait_minutes, mut locked, mut bubble) = (None, false, None);
    for p in parts {
        if let Some(n) = p.strip_suffix(" minutes") {
            wait_minutes = Some(n.parse::<u64>().map_err(|_| format!("bad wait {p:?}"))?);
        } else if p == "locked to thread" {
            locked = true;
        } else if let Some(n) = p.strip_prefix("synctest bubble ") {
            bubble = n.parse::<u64>().ok();
        }
        // Anything else is a marker a newer Go added; it is not an error.
    }

    let labels = if tail == ":" {
        Vec::new()
    } else {
        let body = tail
            .strip_prefix(" {")
            .and_then(|t| t.strip_suffix("}:"))
            .ok_or("goroutine header must end with ':'")?;
        parse_labels(body).ok_or("malformed goroutine labels")?
    };
    Ok(Header {
        id,
        m,
        state: state.to_string(),
        wait_minutes,
        locked,
        leaked,
        bubble,
        labels,
    })
}

/// One label key or value: a Go-quoted string, or a bare run of
/// `[A-Za-z0-9./_]` (the runtime quotes anything else).
fn label_token(s: &str) -> Option<(String, &str)> {
    if s.starts_with('"') {
        return gostr::unquote_prefix(s);
    }
    let n = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'_'))
        .count();
    Some((s[..n].to_string(), &s[n..]))
}

fn parse_labels(mut s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    if s.is_empty() {
        return Some(out);
    }
    loop {
        let (k, r) = label_token(s)?;
        let r = r.strip_prefix(": ")?;
        let (v, r) = label_token(r)?;
        out.push((k, v));
        if r.is_empty() {
            return Some(out);
        }
        s = r.strip_prefix(", ")?;
    }
}

/// `\tfile:line[ +0xoff][ fp=.. sp=.. pc=..]`.
fn parse_file_line(line: &str) -> Option<(String, u64, Option<u64>)> {
    let mut body = line.strip_prefix('\t')?.trim_end();
    let mut off = None;
    // Peel the trailing tokens off from the right: file names may contain
    // spaces, these tokens never do.
    while let Some((head, last)) = body.rsplit_once(' ') {
        if last.starts_with("fp=") || last.starts_with("sp=") || last.starts_with("pc=") {
            body = head;
        } else if let Some(hex) = last.strip_prefix("+0x") {
            off = Some(u64::from_str_radix(hex, 16).ok()?);
            body = head;
            break;
        } else {
            break;
        }
    }
    let (file, ln) = body.rsplit_once(':')?;
    Some((file.to_string(), ln.parse().ok()?, off))
}

/// `pkg.fn(args)` → `pkg.fn`. Argument lists never contain parentheses,
/// receivers like `(*T)` come before the last `(`.
fn parse_call(line: &str) -> Option<String> {
    let l = line.trim_end();
    let body = l.strip_suffix(')')?;
    let open = body.rfind('(')?;
    let name = &body[..open];
    if name.is_empty() {
        return None;
    }
    Some(if name == "panic" {
        "runtime.gopanic".to_string()
    } else {
        name.to_string()
    })
}

/// Where frames being read go: the goroutine or its latest ancestor.
struct Sink<'a> {
    frames: &'a mut Vec<Frame>,
    elided: &'a mut bool,
    created_by: &'a mut Option<CreatedBy>,
}

fn sink(g: &mut Goroutine) -> Sink<'_> {
    match g.ancestors.last_mut() {
        Some(a) => Sink {
            frames: &mut a.frames,
            elided: &mut a.elided,
            created_by: &mut a.created_by,
        },
        None => Sink {
            frames: &mut g.frames,
            elided: &mut g.elided,
            created_by: &mut g.created_by,
        },
    }
}

/// Parses a whole dump. Blank lines separate goroutines; every non-blank
/// line must belong to the format, otherwise the error names the line.
pub fn parse_dump(text: &str) -> Result<Vec<Goroutine>, ParseError> {
    let mut out: Vec<Goroutine> = Vec::new();
    let mut cur: Option<Goroutine> = None;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(g) = cur.take() {
                out.push(g);
            }
            continue;
        }
        let Some(g) = cur.as_mut() else {
            let h = parse_header(line).map_err(|e| err(no, e))?;
            cur = Some(Goroutine {
                id: h.id,
                state: h.state,
                wait_minutes: h.wait_minutes,
                locked_to_thread: h.locked,
                leaked: h.leaked,
                synctest_bubble: h.bubble,
                m: h.m,
                frames: Vec::new(),
                elided: false,
                stack_unavailable: false,
                created_by: None,
                labels: h.labels,
                ancestors: Vec::new(),
            });
            continue;
        };
        if line.starts_with('\t') {
            if line.trim() == "goroutine running on other thread; stack unavailable" {
                g.stack_unavailable = true;
                continue;
            }
            return Err(err(no, "file:line line without a function line"));
        }
        if line == "...additional frames elided..." {
            *sink(g).elided = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("[originating from goroutine ") {
            let id = rest
                .strip_suffix("]:")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| err(no, "malformed [originating from goroutine N]: line"))?;
            g.ancestors.push(Ancestor {
                goroutine: id,
                frames: Vec::new(),
                elided: false,
                created_by: None,
            });
            continue;
        }
        if line.starts_with("non-Go function at pc=") {
            continue;
        }
        // Both a call and `created by` are followed by their file:line.
        let (fl_no, fl) = match lines.peek() {
            Some(&(j, l)) if l.starts_with('\t') => (j + 1, l.strip_suffix('\r').unwrap_or(l)),
            _ => {
                return Err(err(
                    no,
                    format!("expected a tab-indented file:line after {line:?}"),
                ));
            }
        };
        let (file, ln, off) =
            parse_file_line(fl).ok_or_else(|| err(fl_no, "malformed file:line line"))?;
        lines.next();
        if let Some(rest) = line.strip_prefix("created by ") {
            let (func, goroutine) = match rest.rsplit_once(" in goroutine ") {
                Some((f, n)) => (
                    f,
                    Some(
                        n.parse::<u64>()
                            .map_err(|_| err(no, "bad creator goroutine id"))?,
                    ),
                ),
                None => (rest, None),
            };
            *sink(g).created_by = Some(CreatedBy {
                function: if func == "panic" {
                    "runtime.gopanic".into()
                } else {
                    func.to_string()
                },
                file,
                line: ln,
                goroutine,
            });
            continue;
        }
        let function = parse_call(line).ok_or_else(|| err(no, "expected a function call line"))?;
        sink(g).frames.push(Frame {
            function,
            file,
            line: ln,
            pc_offset: off,
        });
    }
    if let Some(g) = cur.take() {
        out.push(g);
    }
    Ok(out)
}

/// Builds a goroutine count profile from a dump: sample type and period
/// type `goroutine/count`, period 1, one sample per distinct (stack,
/// labels) with the number of goroutines as its value, in order of first
/// appearance.
///
/// Labels on each sample: `state` (as printed), `leaked` = `true` when
/// marked, `created_by` (the creator's function), the goroutine's own
/// pprof labels, and the numeric label `wait_minutes` (unit `minutes`)
/// when printed. Goroutines merge only when all of these agree.
///
/// The `created by` frame is deliberately *not* appended to the stack:
/// stacks then hold only frames that are on the goroutine's stack, as in
/// Go's own goroutine profiles. They equal the symbolized frames of a
/// `debug=1` goroutine profile of the same goroutines (tested), and differ
/// from a `debug=0` profile only by the runtime frames the traceback hides
/// (`runtime.gopark`, `runtime.goexit`, ...). Appending the creator would
/// also make `top -cum` credit it with every goroutine it started, which
/// reads as if the creator were blocked. The creator stays available for
/// `tags`, `-tagfocus=created_by=...` and `-tagroot=created_by`.
///
/// Each distinct (function, file, line) frame gets one Location with a
/// synthetic address (1, 2, ...) in a single catch-all mapping marked as
/// symbolized; each distinct (function, file) gets one Function.
pub fn to_profile(goroutines: &[Goroutine]) -> Profile {
    let mut p = Profile {
        sample_types: vec![ValueType::new("goroutine", "count")],
        period_type: Some(ValueType::new("goroutine", "count")),
        period: 1,
        ..Profile::default()
    };
    let mut has_frames = false;
    let mut funcs: HashMap<(&str, &str), u32> = HashMap::new();
    let mut locs: HashMap<(&str, &str, u64), LocIdx> = HashMap::new();
    // Label strings repeat across goroutines: share one Arc per text.
    let mut strs: HashMap<&str, LabelStr> = HashMap::new();
    let key_state = Arc::<str>::from("state");
    let key_leaked = Arc::<str>::from("leaked");
    let key_created = Arc::<str>::from("created_by");
    let key_wait = Arc::<str>::from("wait_minutes");
    let unit_minutes = Arc::<str>::from("minutes");
    let val_true = Arc::<str>::from("true");

    type Key = (Vec<LocIdx>, Vec<Label>, Option<u64>);
    let mut by_key: HashMap<Key, usize> = HashMap::new();
    for g in goroutines {
        let mut stack = Vec::with_capacity(g.frames.len());
        for f in &g.frames {
            has_frames = true;
            let li = *locs
                .entry((f.function.as_str(), f.file.as_str(), f.line))
                .or_insert_with(|| {
                    let fi = *funcs
                        .entry((f.function.as_str(), f.file.as_str()))
                        .or_insert_with(|| {
                            p.functions.push(Function {
                                id: p.functions.len() as u64 + 1,
                                name: f.function.clone(),
                                system_name: f.function.clone(),
                                filename: f.file.clone(),
                                start_line: 0,
                            });
                            mem_index(p.functions.len() - 1)
                        });
                    let id = p.locations.len() as u64 + 1;
                    p.locations.push(Location {
                        id,
                        mapping: Some(0),
                        address: id,
                        lines: vec![Line {
                            function: Some(fi),
                            // Two's complement, as before: a line past
                            // i64::MAX (never in a real dump) wraps.
                            line: f.line.cast_signed(),
                            column: 0,
                        }],
                        is_folded: false,
                    });
                    mem_index(p.locations.len() - 1)
                });
            stack.push(li);
        }
        let mut labels = Vec::with_capacity(3 + g.labels.len());
        labels.push(Label {
            key: key_state.clone(),
            value: intern(&mut strs, &g.state),
        });
        if g.leaked {
            labels.push(Label {
                key: key_leaked.clone(),
                value: val_true.clone(),
            });
        }
        if let Some(c) = &g.created_by {
            labels.push(Label {
                key: key_created.clone(),
                value: intern(&mut strs, &c.function),
            });
        }
        for (k, v) in &g.labels {
            labels.push(Label {
                key: intern(&mut strs, k),
                value: intern(&mut strs, v),
            });
        }
        let key = (stack, labels, g.wait_minutes);
        match by_key.get(&key) {
            Some(&i) => p.samples[i].values[0] += 1,
            None => {
                let (locations, labels, wait) = key.clone();
                by_key.insert(key, p.samples.len());
                p.samples.push(Sample {
                    locations,
                    values: vec![1],
                    labels,
                    num_labels: wait
                        .map(|w| NumLabel {
                            key: key_wait.clone(),
                            // Wraps past i64::MAX, as before.
                            value: w.cast_signed(),
                            unit: Some(unit_minutes.clone()),
                        })
                        .into_iter()
                        .collect(),
                });
            }
        }
    }
    if has_frames {
        p.mappings.push(Mapping {
            id: 1,
            start: 0,
            limit: u64::MAX,
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..Mapping::default()
        });
    }
    p
}

fn intern<'a>(strs: &mut HashMap<&'a str, LabelStr>, s: &'a str) -> LabelStr {
    strs.entry(s).or_insert_with(|| Arc::from(s)).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let h = parse_header(
            "goroutine 12 [chan receive (leaked), 5 minutes, locked to thread] {phase: \"drain \\\"x\\\"\", worker: w1}:",
        )
        .unwrap();
        assert_eq!(h.id, 12);
        assert_eq!(h.state, "chan receive");
        assert!(h.leaked && h.locked);
        assert_eq!(h.wait_minutes, Some(5));
        assert_eq!(
            h.labels,
            vec![
                ("phase".to_string(), "drain \"x\"".to_string()),
                ("worker".to_string(), "w1".to_string())
            ]
        );
        let h = parse_header("goroutine 1 gp=0xc000002380 m=0 mp=0x5c1e60 [running]:").unwrap();
        assert_eq!((h.m, h.state.as_str()), (Some(0), "running"));
        let h = parse_header("goroutine 7 gp=0xc000002380 m=nil [select (no cases)]:").unwrap();
        assert_eq!((h.m, h.state.as_str()), (None, "select (no cases)"));
        assert!(parse_header("goroutine x [running]:").is_err());
        assert!(parse_header("goroutine 1 [running]").is_err());
        assert!(parse_header("goroutine 1 [running] {a: }:").is_ok());
    }

    #[test]
    fn file_lines() {
        assert_eq!(
            parse_file_line("\t/a b/c.go:12 +0x1f fp=0xc sp=0xd pc=0xe"),
            Some(("/a b/c.go".to_string(), 12, Some(0x1f)))
        );
        assert_eq!(
            parse_file_line("\t/x/y.go:5"),
            Some(("/x/y.go".to_string(), 5, None))
        );
        assert_eq!(parse_file_line("\tnoline"), None);
    }

    #[test]
    fn calls() {
        assert_eq!(
            parse_call(
                "runtime/pprof.(*Profile).WriteTo(0x4e688c?, {0x5f28c0?, 0x2e61e1dc060?}, 0x1b6?)"
            )
            .as_deref(),
            Some("runtime/pprof.(*Profile).WriteTo")
        );
        assert_eq!(
            parse_call("sync.(*Mutex).Lock(...)").as_deref(),
            Some("sync.(*Mutex).Lock")
        );
        assert_eq!(
            parse_call("panic({0x1, 0x2})").as_deref(),
            Some("runtime.gopanic")
        );
        assert_eq!(
            parse_call("main.F[...](...)").as_deref(),
            Some("main.F[...]")
        );
        assert_eq!(parse_call("garbage"), None);
    }
}
