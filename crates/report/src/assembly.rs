//! pprof's `disasm` report (`PrintAssembly` in `internal/report/report.go`):
//! the instructions of the binaries' symbols matching the regexp, with the
//! samples of each address. The binaries come through an [`ObjTool`].

use std::io::Write;

use crate::graph::{Graph, NodeIdx, NodeOrder, go_base};
use crate::measurement::percentage;
use crate::obj::{ObjFile, ObjTool, Sym};
use crate::report::{Report, ReportError};

/// A symbol found in a binary, with the file it came from (whose offset
/// turns sample addresses into file addresses).
struct FoundSym {
    sym: Sym,
    file: usize,
}

/// One instruction with what the samples at its addresses add up to.
struct AsmLine {
    address: u64,
    text: String,
    function: String,
    file: String,
    line: i64,
    flat: i64,
    flat_div: i64,
    cum: i64,
    cum_div: i64,
}

fn mean_or_sum(v: i64, div: i64) -> i64 {
    if div != 0 { v / div } else { v }
}

/// Go's `strconv.ParseUint(s, 0, 64)`: decimal, or 0x/0o/0b/0 prefixed,
/// with underscores only after a prefix.
pub(crate) fn parse_go_uint(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(r) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (r, 16)
    } else if let Some(r) = s.strip_prefix("0o").or(s.strip_prefix("0O")) {
        (r, 8)
    } else if let Some(r) = s.strip_prefix("0b").or(s.strip_prefix("0B")) {
        (r, 2)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        return s
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten();
    };
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok()
}

impl Report {
    /// The `disasm` report, reading binaries through `obj`.
    pub fn print_assembly(
        &mut self,
        w: &mut dyn Write,
        obj: &dyn ObjTool,
    ) -> Result<(), ReportError> {
        let g = self.graph_for_list();
        let rx = self.options.symbol.clone();
        let pattern = rx
            .as_ref()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default();
        let matches = |name: &str| rx.as_ref().is_none_or(|r| r.is_match(name));
        let address = parse_go_uint(&pattern);

        // pprof prints a binary it cannot open to its stdout while the
        // report is still in a buffer, so those lines come first.
        let mut notes = String::new();
        let mut files: Vec<Box<dyn ObjFile>> = Vec::new();
        let mut symbols: Vec<FoundSym> = Vec::new();
        let sampled: std::collections::HashSet<&str> = g
            .nodes
            .iter()
            .map(|&n| &g.node(n).info)
            .filter(|i| !i.objfile.is_empty() && matches(&i.printable_name()))
            .map(|i| i.objfile.as_str())
            .collect();
        for m in &self.profile().mappings {
            let covers = address.is_some_and(|a| m.start <= a && a <= m.limit);
            if !sampled.contains(m.file.as_str()) && !covers {
                continue;
            }
            let f = match obj.open(&m.file, m.start, m.limit, m.offset) {
                Ok(f) => f,
                Err(e) => {
                    notes.push_str(&e);
                    notes.push('\n');
                    continue;
                }
            };
            let Ok(syms) = f.symbols(&matches, address.unwrap_or(0)) else {
                continue;
            };
            files.push(f);
            symbols.extend(syms.into_iter().map(|sym| FoundSym {
                sym,
                file: files.len() - 1,
            }));
        }

        // The nodes of each symbol; symbols without any are left out.
        let mut per_symbol: Vec<(usize, Vec<NodeIdx>)> = Vec::new();
        for (i, s) in symbols.iter().enumerate() {
            let f = &files[s.file];
            let nodes: Vec<NodeIdx> = g
                .nodes
                .iter()
                .copied()
                .filter(|&n| {
                    // pprof's end is inclusive, but compared exclusively.
                    let a = f.obj_addr(g.node(n).info.address);
                    a >= s.sym.start && a < s.sym.end
                })
                .collect();
            if !nodes.is_empty() {
                per_symbol.push((i, nodes));
            }
        }
        per_symbol.sort_by(|(a, _), (b, _)| {
            let (a, b) = (&symbols[*a].sym, &symbols[*b].sym);
            a.name.cmp(&b.name).then(a.start.cmp(&b.start))
        });
        if per_symbol.is_empty() {
            return Err(match address {
                None => ReportError::NoSymbols(pattern),
                Some(a) if symbols.is_empty() => ReportError::NoSymbolAtAddress(a),
                Some(a) => ReportError::NoSamplesAtAddress(a),
            });
        }

        let mut out = format!("Total: {}\n", self.format_value(self.total()));
        for (i, mut nodes) in per_symbol {
            let s = &symbols[i];
            let (mut flat_sum, mut cum_sum) = (0i64, 0i64);
            for &n in &nodes {
                flat_sum = flat_sum.wrapping_add(g.node(n).flat);
                cum_sum = cum_sum.wrapping_add(g.node(n).cum);
            }
            let insts = obj
                .disasm(
                    &s.sym.file,
                    s.sym.start,
                    s.sym.end,
                    self.options.intel_syntax,
                )
                .map_err(ReportError::Binary)?;
            g.sort(&mut nodes, NodeOrder::Address);
            let lines = annotate(&g, &insts, &nodes, files[s.file].as_ref());
            out.push_str(&format!(
                "ROUTINE ======================== {}\n",
                s.sym.name
            ));
            out.push_str(&format!(
                "{:>10} {:>10} (flat, cum) {} of Total\n",
                self.format_value(flat_sum),
                self.format_value(cum_sum),
                percentage(cum_sum, self.total())
            ));
            let mut last: (&str, &str, i64) = ("", "", 0);
            for l in &lines {
                let mut loc = String::new();
                // The position only where it changes.
                if (l.function.as_str(), l.file.as_str(), l.line) != last {
                    last = (&l.function, &l.file, l.line);
                    if !l.function.is_empty() {
                        loc = format!("{} ", l.function);
                    }
                    if !l.file.is_empty() {
                        loc.push_str(&l.file);
                        if l.line != 0 {
                            loc.push_str(&format!(":{}", l.line));
                        }
                    }
                }
                let flat = self.value_or_dot(mean_or_sum(l.flat, l.flat_div));
                let cum = self.value_or_dot(mean_or_sum(l.cum, l.cum_div));
                if loc.is_empty() {
                    out.push_str(&format!(
                        "{flat:>10} {cum:>10} {:>10x}: {}\n",
                        l.address, l.text
                    ));
                } else if l.text.len() < 40 {
                    out.push_str(&format!(
                        "{flat:>10} {cum:>10} {:>10x}: {:<40};{loc}\n",
                        l.address, l.text
                    ));
                } else {
                    out.push_str(&format!("{:74};{loc}\n", ""));
                    out.push_str(&format!(
                        "{flat:>10} {cum:>10} {:>10x}: {}\n",
                        l.address, l.text
                    ));
                }
            }
        }
        w.write_all(notes.as_bytes())?;
        w.write_all(out.as_bytes())?;
        Ok(())
    }
}

/// pprof's `annotateAssembly`: each instruction gets the samples from its
/// address up to the next one's (`nodes` sorted by address), and the
/// position of the first sample that has one where the binary gives none.
fn annotate(
    g: &Graph,
    insts: &[crate::obj::Inst],
    nodes: &[NodeIdx],
    f: &dyn ObjFile,
) -> Vec<AsmLine> {
    let mut next_sample = 0;
    let mut out = Vec::with_capacity(insts.len());
    for (i, inst) in insts.iter().enumerate() {
        let mut l = AsmLine {
            address: inst.addr,
            text: inst.text.clone(),
            function: String::new(),
            file: if inst.file.is_empty() {
                String::new()
            } else {
                go_base(&inst.file)
            },
            line: inst.line,
            flat: 0,
            flat_div: 0,
            cum: 0,
            cum_div: 0,
        };
        let next = insts.get(i + 1).map_or(u64::MAX, |n| n.addr);
        while let Some(&n) = nodes.get(next_sample) {
            let node = g.node(n);
            if f.obj_addr(node.info.address) >= next {
                break;
            }
            l.flat = l.flat.wrapping_add(node.flat);
            l.flat_div = l.flat_div.wrapping_add(node.flat_div);
            l.cum = l.cum.wrapping_add(node.cum);
            l.cum_div = l.cum_div.wrapping_add(node.cum_div);
            if l.file.is_empty() && !node.info.file.is_empty() {
                l.file = go_base(&node.info.file);
            }
            if l.line == 0 && node.info.lineno != 0 {
                l.line = node.info.lineno;
            }
            if l.function.is_empty() && !node.info.name.is_empty() {
                l.function = node.info.name.clone();
            }
            next_sample += 1;
        }
        out.push(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obj::{Frame, Inst};
    use crate::{Options, OutputFormat};
    use profile::{Function, Line, Location, Mapping, Profile, Sample, ValueType};

    /// One binary, /bin/x, loaded 0x1000 above its link address, with
    /// main.f at file addresses 0x400..0x40f.
    struct FakeTool;
    struct FakeFile;

    impl ObjFile for FakeFile {
        fn build_id(&self) -> String {
            String::new()
        }
        fn obj_addr(&self, addr: u64) -> u64 {
            addr - 0x1000
        }
        fn source_line(&self, _: u64) -> Result<Vec<Frame>, String> {
            Err("unused".into())
        }
        fn symbols(&self, matches: &dyn Fn(&str) -> bool, addr: u64) -> Result<Vec<Sym>, String> {
            let sym = Sym {
                name: "main.f".into(),
                file: "/bin/x".into(),
                start: 0x400,
                end: 0x40f,
            };
            let holds = addr == 0 || (sym.start..=sym.end).contains(&addr);
            Ok(if matches(&sym.name) && holds {
                vec![sym]
            } else {
                vec![]
            })
        }
    }

    impl ObjTool for FakeTool {
        fn open(&self, name: &str, _: u64, _: u64, _: u64) -> Result<Box<dyn ObjFile>, String> {
            match name {
                "/bin/x" => Ok(Box::new(FakeFile)),
                _ => Err(format!("open {name}: no such file or directory")),
            }
        }
        fn disasm(&self, _: &str, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>, String> {
            if intel {
                return Err("printing assembly in Intel syntax is not supported".into());
            }
            let long = "MOVQ $0x9e3779b97f4a7c15, BX // a long instruction text";
            let all = [
                (0x400, "/src/f.go", 3, "NOPL"),
                (0x404, "", 0, long),
                (0x40a, "/src/f.go", 4, "RET"),
            ];
            Ok(all
                .iter()
                .filter(|i| (start..end).contains(&i.0))
                .map(|&(addr, file, line, text)| Inst {
                    addr,
                    file: file.into(),
                    line,
                    text: text.into(),
                })
                .collect())
        }
    }

    fn report(symbol: &str) -> Report {
        let p = Profile {
            sample_types: vec![ValueType::new("samples", "count")],
            mappings: vec![Mapping {
                id: 1,
                start: 0x1000,
                limit: 0x2000,
                file: "/bin/x".into(),
                has_functions: true,
                ..Default::default()
            }],
            functions: vec![Function {
                id: 1,
                name: "main.f".into(),
                system_name: "main.f".into(),
                filename: "/src/f.go".into(),
                start_line: 0,
            }],
            locations: vec![Location {
                id: 1,
                mapping: Some(0),
                address: 0x1405,
                lines: vec![Line {
                    function: Some(0),
                    line: 3,
                    column: 0,
                }],
                is_folded: false,
            }],
            samples: vec![Sample {
                locations: vec![0],
                values: vec![5],
                ..Default::default()
            }]
            .into(),
            ..Default::default()
        };
        let mut o = Options::for_sample_index(&p, 0, OutputFormat::Dis);
        o.symbol = Some(regex::Regex::new(symbol).unwrap());
        Report::new(p, o)
    }

    fn print(symbol: &str) -> Result<String, String> {
        let mut out = Vec::new();
        report(symbol)
            .print_assembly(&mut out, &FakeTool)
            .map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn samples_go_to_the_instruction_holding_their_address() {
        let want = format!(
            "Total: 5\n\
             ROUTINE ======================== main.f\n\
             \x20        5          5 (flat, cum)   100% of Total\n\
             \x20        .          .        400: {:<40};f.go:3\n\
             {:74};main.f f.go:3\n\
             \x20        5          5        404: MOVQ $0x9e3779b97f4a7c15, BX // a long instruction text\n\
             \x20        .          .        40a: {:<40};f.go:4\n",
            "NOPL", "", "RET"
        );
        assert_eq!(print("main").unwrap(), want);
        // An address is still a regexp for the symbol names, as in pprof.
        assert_eq!(
            print("0x1404").unwrap_err(),
            "no matches found for address 0x1404"
        );
    }

    #[test]
    fn errors_read_as_pprof_s() {
        assert_eq!(
            print("other").unwrap_err(),
            "no matches found for regexp other"
        );
        assert_eq!(
            print("0x10").unwrap_err(),
            "no matches found for address 0x10"
        );
        let mut out = Vec::new();
        let mut rpt = report("main");
        rpt.options.intel_syntax = true;
        let e = rpt.print_assembly(&mut out, &FakeTool).unwrap_err();
        assert_eq!(
            e.to_string(),
            "printing assembly in Intel syntax is not supported"
        );
    }

    #[test]
    fn addresses_parse_as_go_parses_them() {
        assert_eq!(parse_go_uint("0x4c8357"), Some(0x4c8357));
        assert_eq!(parse_go_uint("123"), Some(123));
        assert_eq!(parse_go_uint("017"), Some(15));
        assert_eq!(parse_go_uint("0b101"), Some(5));
        assert_eq!(parse_go_uint("0x_ff"), Some(255));
        assert_eq!(parse_go_uint("0"), Some(0));
        assert_eq!(parse_go_uint("main\\."), None);
        assert_eq!(parse_go_uint("+1"), None);
        assert_eq!(parse_go_uint("1_0"), None);
        assert_eq!(parse_go_uint(""), None);
    }
}
