//! pprof's `weblist` page (`MakeWebList` in `internal/report/source.go` and
//! the standalone `sourcelisting` template): source lines of the functions
//! matching the regexp, each with the instructions the binary gives for it
//! and the samples at their addresses.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use crate::graph::{go_base, go_clean};
use crate::measurement::percentage;
use crate::obj::{Frame, ObjFile, ObjTool};
use crate::report::{Report, ReportError};
use crate::source::{SourceReadFn, SourceReader};

/// An instruction of interest, by runtime address.
#[derive(Clone, Default)]
struct InstInfo {
    obj_addr: u64,
    length: u64,
    /// "" for addresses without a binary (pprof's synthetic instructions).
    disasm: String,
    file: String,
    line: i64,
    flat: i64,
    cum: i64,
}

/// An instruction shown under a source line, with the inlined calls (file,
/// line; outermost first) that lead to it.
#[derive(Clone)]
struct SourceInst {
    addr: u64,
    stack: Vec<(String, i64)>,
}

#[derive(Default)]
struct SourceFile {
    lines: BTreeMap<i64, Vec<SourceInst>>,
    func_name: HashMap<i64, String>,
}

struct SourceFunction {
    name: String,
    begin: i64,
    end: i64,
    flat: i64,
    cum: i64,
}

const WEBLIST_HEAD: &str = include_str!("weblist_head.html");

/// html/template's escaping of text in the page.
fn html_escape(s: &str) -> String {
    escape(s, true)
}

/// text/template's `HTMLEscapeString`, which pprof applies before the
/// page's own escaping: the same but for `+`.
fn text_html_escape(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '+' if plus => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn indentation(line: &str) -> usize {
    let mut column = 0;
    for c in line.chars() {
        match c {
            ' ' => column += 1,
            '\t' => column = (column / 8 + 1) * 8,
            _ => return column,
        }
    }
    column
}

/// pprof's `rightPad`: tabs to the next multiple of 8, padded to `n`.
fn right_pad(s: &str, n: usize) -> String {
    let mut out = String::new();
    let mut column = 0;
    for c in s.chars() {
        column += 1;
        if c == '\t' {
            out.push(' ');
            while column % 8 != 0 {
                column += 1;
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    while column < n {
        column += 1;
        out.push(' ');
    }
    out
}

fn canonicalize_file_name(f: &str) -> String {
    let f = f.strip_prefix("/proc/self/cwd/").unwrap_or(f);
    let f = f.strip_prefix("./").unwrap_or(f);
    go_clean(f)
}

impl Report {
    /// The `weblist` page, reading binaries through `obj` and sources
    /// through `read`.
    pub fn print_weblist(
        &mut self,
        w: &mut dyn Write,
        obj: &dyn ObjTool,
        read: SourceReadFn,
    ) -> Result<(), ReportError> {
        let mut reader = self.source_reader(read)?;
        let prof = self.profile();
        let o = &self.options;
        let sym = o.symbol.clone();
        let address = sym
            .as_ref()
            .and_then(|r| crate::assembly::parse_go_uint(r.as_str()));

        // Opened per mapping file, failures included.
        let mut objects: HashMap<String, Option<Box<dyn ObjFile>>> = HashMap::new();
        let mut object_of = |m: Option<u32>| -> Option<String> {
            let m = &prof.mappings[m? as usize];
            objects
                .entry(m.file.clone())
                .or_insert_with(|| obj.open(&m.file, m.start, m.limit, m.offset).ok());
            Some(m.file.clone())
        };
        let mut synth_next = prof.mappings.iter().map(|m| m.limit).fold(1, u64::max);
        let mut synth: HashMap<usize, u64> = HashMap::new();
        let mut interest: HashSet<String> = HashSet::new();
        let mut pretty: HashMap<String, String> = HashMap::new();
        // Interesting addresses: location and the mapping file if it opened.
        let mut addrs: HashMap<u64, (usize, Option<String>)> = HashMap::new();
        let mut flat: HashMap<u64, i64> = HashMap::new();
        let mut cum: HashMap<u64, i64> = HashMap::new();
        let func = |l: &profile::Line| l.function.map(|f| &prof.functions[f as usize]);
        for s in &prof.samples {
            let mut value = (o.sample_value)(&s.values);
            if let Some(d) = &o.sample_mean_divisor {
                let d = d(&s.values);
                if d != 0 {
                    value /= d;
                }
            }
            for (i, &li) in s.locations.iter().enumerate().rev() {
                let loc = &prof.locations[li as usize];
                for l in &loc.lines {
                    if let Some(f) = func(l) {
                        pretty.insert(f.system_name.clone(), f.name.clone());
                    }
                }
                let addr = if loc.address != 0 {
                    loc.address
                } else {
                    *synth.entry(li as usize).or_insert_with(|| {
                        synth_next += 1;
                        synth_next - 1
                    })
                };
                *cum.entry(addr).or_default() += value;
                if i == 0 {
                    *flat.entry(addr).or_default() += value;
                }
                let mut mark = |j: usize, addrs: &mut HashMap<u64, (usize, Option<String>)>| {
                    let Some(f) = func(&loc.lines[j]) else { return };
                    interest.insert(f.name.clone());
                    interest.insert(f.system_name.clone());
                    addrs
                        .entry(addr)
                        .or_insert_with(|| (li as usize, object_of(loc.mapping)));
                };
                let Some(rx) = &sym else {
                    if !loc.lines.is_empty() {
                        mark(loc.lines.len() - 1, &mut addrs);
                    }
                    continue;
                };
                if address == Some(addr) {
                    if !loc.lines.is_empty() {
                        mark(loc.lines.len() - 1, &mut addrs);
                    }
                    continue;
                }
                let match_file = loc
                    .mapping
                    .is_some_and(|m| rx.is_match(&prof.mappings[m as usize].file));
                for (j, l) in loc.lines.iter().enumerate() {
                    let matches = func(l).is_some_and(|f| {
                        rx.is_match(&f.name)
                            || rx.is_match(&f.system_name)
                            || rx.is_match(&f.filename)
                    });
                    if (j == 0 && match_file) || matches {
                        mark(j, &mut addrs);
                    }
                }
            }
        }
        if interest.is_empty() {
            return Err(ReportError::NoMatches(
                sym.map(|r| r.as_str().to_string()).unwrap_or_default(),
            ));
        }
        let opened = |file: &Option<String>| -> bool {
            file.as_ref()
                .is_some_and(|f| objects.get(f).is_some_and(|o| o.is_some()))
        };

        let mut insts: HashMap<u64, InstInfo> = HashMap::new();
        let mut files: HashMap<String, SourceFile> = HashMap::new();
        let add_stack = |addr: u64, frames: &[Frame], files: &mut HashMap<String, SourceFile>| {
            for (i, f) in frames.iter().enumerate() {
                if !interest.contains(&f.func) {
                    continue;
                }
                let file = files.entry(canonicalize_file_name(&f.file)).or_default();
                let stack = frames[..i]
                    .iter()
                    .rev()
                    .map(|c| (c.file.clone(), c.line))
                    .collect();
                file.lines
                    .entry(f.line)
                    .or_default()
                    .push(SourceInst { addr, stack });
                file.func_name
                    .entry(f.line)
                    .or_insert_with(|| f.func.clone());
            }
        };

        // Ranges around the addresses that have a binary.
        let mut with_obj: Vec<u64> = addrs
            .iter()
            .filter(|(_, (_, f))| opened(f))
            .map(|(&a, _)| a)
            .collect();
        with_obj.sort_unstable();
        let mut unprocessed: Vec<u64> = addrs
            .iter()
            .filter(|(_, (_, f))| !opened(f))
            .map(|(&a, _)| a)
            .collect();
        unprocessed.sort_unstable();
        const EXPAND: u64 = 500;
        struct Range {
            begin: u64,
            end: u64,
            file: String,
            mapping: usize,
            score: i64,
        }
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < with_obj.len() {
            let (mut begin, mut end) = (with_obj[i], with_obj[i]);
            let mut sum = flat.get(&begin).copied().unwrap_or(0);
            i += 1;
            let (li, file) = &addrs[&begin];
            let mi = prof.locations[*li].mapping.map_or(0, |m| m as usize);
            let m = &prof.mappings[mi];
            while i < with_obj.len()
                && with_obj[i] <= end.wrapping_add(2 * EXPAND)
                && with_obj[i] < m.limit
            {
                end = with_obj[i];
                sum += flat.get(&end).copied().unwrap_or(0);
                i += 1;
            }
            begin = if m.start.wrapping_sub(begin) >= EXPAND {
                begin.wrapping_sub(EXPAND)
            } else {
                m.start
            };
            end = if m.limit.wrapping_sub(end) >= EXPAND {
                end + EXPAND
            } else {
                m.limit
            };
            ranges.push(Range {
                begin,
                end,
                file: file.clone().unwrap_or_default(),
                mapping: mi,
                score: sum,
            });
        }
        // Go sorts up to 12 with insertion sort, which keeps ties in order
        // (more, and Go's order of ties may differ).
        ranges.sort_by_key(|r| std::cmp::Reverse(r.score));
        ranges.truncate(25);
        for r in &ranges {
            let Some(Some(f)) = objects.get(&r.file) else {
                continue;
            };
            let obj_begin = f.obj_addr(r.begin);
            let obj_end = f.obj_addr(r.end);
            let base = r.begin.wrapping_sub(obj_begin);
            let file_name = &prof.mappings[r.mapping].file;
            let Ok(list) = obj.disasm(file_name, obj_begin, obj_end, o.intel_syntax) else {
                continue;
            };
            let mut last_frames: Option<Vec<Frame>> = None;
            let (mut last_addr, mut max_addr) = (0u64, 0u64);
            for (k, inst) in list.iter().enumerate() {
                let addr = inst.addr.wrapping_add(base);
                if addr <= max_addr {
                    continue;
                }
                max_addr = addr;
                let length = match list.get(k + 1) {
                    Some(next) if next.addr > inst.addr => next.addr - inst.addr,
                    _ => 1,
                };
                let mut frames = f.source_line(addr).unwrap_or_else(|_| {
                    vec![Frame {
                        func: String::new(),
                        file: inst.file.clone(),
                        line: inst.line,
                    }]
                });
                let mut x = InstInfo {
                    obj_addr: inst.addr,
                    length,
                    disasm: inst.text.clone(),
                    ..Default::default()
                };
                if let Some(fr) = frames.first() {
                    x.file = fr.file.clone();
                    x.line = fr.line;
                }
                insts.insert(addr, x);
                // Lines reported as 0 borrow the line of an instruction
                // shortly before.
                if frames.first().is_some_and(|f| f.line != 0) {
                    last_frames = Some(frames.clone());
                    last_addr = addr;
                } else if addr.wrapping_sub(last_addr) <= 32
                    && let Some(lf) = &last_frames
                {
                    frames = lf.clone();
                }
                add_stack(addr, &frames, &mut files);
            }
        }
        for addr in unprocessed {
            let (li, _) = &addrs[&addr];
            let frames: Vec<Frame> = prof.locations[*li]
                .lines
                .iter()
                .filter_map(|l| {
                    func(l).map(|f| Frame {
                        func: f.name.clone(),
                        file: f.filename.clone(),
                        line: l.line,
                    })
                })
                .collect();
            let mut x = InstInfo {
                obj_addr: addr,
                length: 1,
                ..Default::default()
            };
            if let Some(fr) = frames.first() {
                x.file = fr.file.clone();
                x.line = fr.line;
            }
            insts.insert(addr, x);
            add_stack(addr, &frames, &mut files);
        }
        for (&addr, inst) in insts.iter_mut() {
            for p in addr..addr.wrapping_add(inst.length) {
                inst.flat += flat.get(&p).copied().unwrap_or(0);
                inst.cum += cum.get(&p).copied().unwrap_or(0);
            }
        }

        // The page.
        let legend = self.profile_labels();
        let from_legend = |prefix: &str| {
            legend
                .iter()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or("unknown")
                .to_string()
        };
        let title = format!("{} {}", from_legend("File: "), from_legend("Type: "));
        let mut out = WEBLIST_HEAD.replace("{{TITLE}}", &html_escape(&title));
        out.push_str("<div class=\"legend\">");
        for (i, l) in legend.iter().enumerate() {
            if i > 0 {
                out.push_str("<br>\n");
            }
            out.push_str(&html_escape(l));
        }
        out.push_str(&format!(
            "<br>Total: {}</div>",
            html_escape(&self.format_value(self.total()))
        ));
        let mut names: Vec<&String> = files.keys().collect();
        names.sort();
        for fname in names {
            let f = &files[fname];
            for func in functions(f, &insts, &pretty) {
                if func.cum == 0 {
                    continue;
                }
                out.push_str(&format!(
                    "<h2>{}</h2><p class=\"filename\">{}</p>\n<pre onClick=\"pprof_toggle_asm(event)\">\n",
                    html_escape(&func.name),
                    html_escape(fname)
                ));
                out.push_str(&html_escape(&format!(
                    "  Total:  {:>10} {:>10} (flat, cum) {}",
                    self.format_value(func.flat),
                    self.format_value(func.cum),
                    percentage(func.cum, self.total())
                )));
                for l in func.begin..func.end {
                    let empty = Vec::new();
                    let shown = f.lines.get(&l).unwrap_or(&empty);
                    let contents = match reader.line(fname, l) {
                        Some(c) => c,
                        None if shown.is_empty() => continue,
                        None if l == 0 => "<instructions with unknown line numbers>".to_string(),
                        None => "???".to_string(),
                    };
                    self.weblist_line(&mut out, &mut reader, l, &contents, shown, &insts);
                }
                out.push_str("\n</pre>\n");
            }
        }
        out.push_str("\n</body>\n</html>\n");
        w.write_all(out.as_bytes())?;
        Ok(())
    }

    /// One source line and its instructions (pprof's `makeWebListLine` and
    /// the template's rows).
    fn weblist_line(
        &self,
        out: &mut String,
        reader: &mut SourceReader,
        lineno: i64,
        contents: &str,
        shown: &[SourceInst],
        insts: &HashMap<u64, InstInfo>,
    ) {
        let (mut flat, mut cum) = (0i64, 0i64);
        for s in shown {
            let x = insts.get(&s.addr).cloned().unwrap_or_default();
            flat += x.flat;
            cum += x.cum;
        }
        let live = shown.iter().any(|s| {
            !s.stack.is_empty() || insts.get(&s.addr).is_some_and(|x| !x.disasm.is_empty())
        });
        let class = if shown.is_empty() {
            "nop"
        } else if live {
            "livesrc"
        } else {
            "deadsrc"
        };
        out.push_str(&format!(
            "\n<span class=line>{}</span> <span class={class}>{}</span>",
            html_escape(&format!(" {lineno:6}")),
            html_escape(&format!(
                "  {:>10} {:>10} {:>8}  {} ",
                self.value_or_dot(flat),
                self.value_or_dot(cum),
                "",
                contents
            ))
        ));
        if !live {
            return;
        }
        out.push_str("<span class=asm>");
        let indent = indentation(contents);
        let mut cur_calls: &[(String, i64)] = &[];
        let mut last_addr = 0u64;
        for (i, s) in shown.iter().enumerate() {
            let x = insts.get(&s.addr).cloned().unwrap_or_default();
            let last_len = insts.get(&last_addr).map_or(0, |l| l.length);
            let starts_block = s.addr != last_addr.wrapping_add(last_len);
            last_addr = s.addr;
            if starts_block && i != 0 {
                out.push_str(&html_escape(&format!(" {:8} {:>28}\n", "", "⋮")));
            }
            for (j, c) in s.stack.iter().enumerate() {
                if j < cur_calls.len() && cur_calls[j] == *c {
                    continue;
                }
                cur_calls = &[];
                let fline = reader.line(&c.0, c.1).unwrap_or_default();
                let src = format!("{}{}", " ".repeat(indent + 4 + 4 * j), fline.trim());
                out.push_str(&html_escape(&format!(
                    " {:8} {:10} {:10} {:8}  ",
                    "", "", "", ""
                )));
                out.push_str(&format!(
                    "<span class=inlinesrc>{}</span> <span class=unimportant>{}:{}</span>\n",
                    html_escape(&right_pad(&src, 80)),
                    html_escape(&go_base(&c.0)),
                    c.1
                ));
            }
            cur_calls = &s.stack;
            if !x.disasm.is_empty() {
                let text = format!("{}{}", " ".repeat(indent + 4 + 4 * s.stack.len()), x.disasm);
                let file_line = if x.file.is_empty() {
                    String::new()
                } else {
                    format!("{}:{}", text_html_escape(&go_base(&x.file)), x.line)
                };
                out.push_str(&html_escape(&format!(
                    " {:8} {:>10} {:>10} {:8x}: {} ",
                    "",
                    self.value_or_dot(x.flat),
                    self.value_or_dot(x.cum),
                    x.obj_addr,
                    right_pad(&text, 80)
                )));
                out.push_str(&format!(
                    "<span class=unimportant>{}</span>\n",
                    html_escape(&file_line)
                ));
            }
        }
        out.push_str("</span>");
    }
}

/// pprof's `functions`: the file's lines split into per-function ranges,
/// merged when close, widened by a few lines of context.
fn functions(
    f: &SourceFile,
    insts: &HashMap<u64, InstInfo>,
    pretty: &HashMap<String, String>,
) -> Vec<SourceFunction> {
    const MERGE_LIMIT: i64 = 20;
    const EXPAND: i64 = 5;
    let mut funcs: Vec<SourceFunction> = Vec::new();
    for (&l, shown) in &f.lines {
        let mut name = f.func_name.get(&l).cloned().unwrap_or_default();
        if let Some(p) = pretty.get(&name) {
            name = p.clone();
        }
        let (mut flat, mut cum) = (0, 0);
        for s in shown {
            if let Some(x) = insts.get(&s.addr) {
                flat += x.flat;
                cum += x.cum;
            }
        }
        if let Some(last) = funcs.last_mut()
            && l - last.end < MERGE_LIMIT
            && last.name == name
        {
            last.end = l + 1;
            last.flat += flat;
            last.cum += cum;
            continue;
        }
        funcs.push(SourceFunction {
            name,
            begin: l,
            end: l + 1,
            flat,
            cum,
        });
    }
    for i in 0..funcs.len() {
        if i == 0 {
            let f = &mut funcs[0];
            if f.begin > EXPAND {
                f.begin -= EXPAND;
            } else if f.begin > 1 {
                f.begin = 1;
            }
        } else {
            let half_gap = ((funcs[i].begin - funcs[i - 1].end) / 2).min(EXPAND);
            funcs[i - 1].end += half_gap;
            funcs[i].begin -= half_gap;
        }
    }
    if let Some(last) = funcs.last_mut() {
        last.end += EXPAND;
    }
    funcs
}
