//! objfile against Go's own tools on a binary built here from
//! tests/data/prog: `go tool nm` for symbols, `go tool addr2line` for
//! source lines, `go tool objdump` for the disassembly. Ignored without
//! `HEAPDRIFT_GO` (build/test-prereqs.rs).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use objfile::ObjFile;

/// The share of instructions outside package main that must print as
/// objdump prints them; main's must all.
const MIN_WHOLE_BINARY_MATCH: f64 = 0.999;

fn go() -> PathBuf {
    PathBuf::from(std::env::var_os("HEAPDRIFT_GO").expect("HEAPDRIFT_GO"))
}

struct Built {
    /// What it is, for messages.
    label: &'static str,
    path: PathBuf,
    bytes: Vec<u8>,
}

/// The test programs, built once per test process: the small one as a
/// static and as a position-independent executable, and the large one.
fn builds() -> &'static [Built] {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static BUILT: OnceLock<Vec<Built>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
        [
            ("prog", "prog", &[][..]),
            ("prog-pie", "prog", &["-buildmode=pie"][..]),
            ("bigprog", "bigprog", &[][..]),
        ]
        .into_iter()
        .map(|(label, src, flags)| build(dir.path(), label, src, flags))
        .collect()
    })
}

fn build(dir: &Path, label: &'static str, src: &str, flags: &[&str]) -> Built {
    let path = dir.join(label);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(src);
    let out = Command::new(go())
        .current_dir(&src)
        .arg("build")
        .args(flags)
        .arg("-o")
        .arg(&path)
        .arg(".")
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .output()
        .expect("run go build");
    assert!(
        out.status.success(),
        "go build {label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&path).expect("read built program");
    Built { label, path, bytes }
}

fn go_tool(args: &[&str], path: &Path, stdin: Option<&str>) -> String {
    let mut child = Command::new(go())
        .arg("tool")
        .args(args)
        .arg(path)
        .env("GOTOOLCHAIN", "local")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run go tool");
    let input = stdin.unwrap_or("").to_owned();
    let mut pipe = child.stdin.take().expect("stdin");
    // Written from a thread: the tool's output could fill its pipe first.
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("go tool output");
    writer.join().expect("writer").expect("write stdin");
    assert!(
        out.status.success(),
        "go tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn parse(built: &Built) -> ObjFile {
    ObjFile::parse(&built.bytes).expect("parse the built program")
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn symbols_match_go_tool_nm() {
    for built in builds() {
        symbols_match(built);
    }
}

fn symbols_match(built: &Built) {
    let want = go_tool(&["nm", "-size", "-sort", "address"], &built.path, None);
    let obj = parse(built);
    let got: Vec<String> = obj
        .symbols()
        .expect("symbols")
        .iter()
        .map(|s| {
            let addr = if s.code == 'U' {
                format!("{:8}", "")
            } else {
                format!("{:8x}", s.addr)
            };
            format!("{addr} {:10} {} {}", s.size, s.code, s.name)
        })
        .collect();
    // nm sorts objfile's list again with sort.Slice, Go's same unstable
    // sort: equal addresses end in that order.
    let mut got = got;
    objfile::go_sort_by(&mut got, |a, b| {
        // Blank (undefined) addresses sort as the 0 they are.
        let addr = |l: &String| u64::from_str_radix(l[..8].trim(), 16).unwrap_or(0);
        addr(a) < addr(b)
    });
    let want_lines: Vec<String> = want.lines().map(str::to_owned).collect();
    assert!(want_lines.len() > 1000, "nm listed {}", want_lines.len());
    assert_eq!(got, want_lines, "{}", built.label);
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn source_lines_match_go_tool_addr2line() {
    for built in builds() {
        source_lines_match(built);
    }
}

fn source_lines_match(built: &Built) {
    let obj = parse(built);
    let syms = obj.symbols().expect("symbols");
    // Every function's first bytes, middle and last byte, the bytes around
    // each, a stride over all of .text, and some addresses outside it.
    let mut pcs = vec![0, 1, 0x400000, u64::MAX, u64::MAX - 1];
    for s in syms.iter().filter(|s| s.code.eq_ignore_ascii_case(&'t')) {
        let size = s.size as u64;
        for pc in [
            s.addr.wrapping_sub(1),
            s.addr,
            s.addr + 1,
            s.addr + size / 2,
            s.addr + size.saturating_sub(1),
            s.addr + size,
        ] {
            pcs.push(pc);
        }
    }
    let text_start = syms
        .iter()
        .map(|s| s.addr)
        .filter(|&a| a > 0)
        .min()
        .unwrap_or(0);
    let text_end = syms
        .iter()
        .filter(|s| s.code.eq_ignore_ascii_case(&'t'))
        .map(|s| s.addr + s.size as u64)
        .max()
        .unwrap_or(0);
    pcs.extend((text_start..text_end + 64).step_by(7));
    let input: String = pcs.iter().map(|pc| format!("{pc:#x}\n")).collect();
    let want = go_tool(&["addr2line"], &built.path, Some(&input));
    let want: Vec<&str> = want.lines().collect();
    assert_eq!(want.len(), 2 * pcs.len());
    let mut mismatches = Vec::new();
    for (i, &pc) in pcs.iter().enumerate() {
        let (name, pos) = match obj.go_line(pc).expect("line table") {
            Some(l) => (l.func, format!("{}:{}", l.file, l.line)),
            None => ("?".to_owned(), "?:0".to_owned()),
        };
        if name != want[2 * i] || pos != want[2 * i + 1] {
            mismatches.push(format!(
                "{pc:#x}: got {name} {pos}, want {} {}",
                want[2 * i],
                want[2 * i + 1]
            ));
        }
        // pprof's SourceLine agrees wherever Go knows the function.
        if name != "?" {
            let line = obj.source_line(pc).expect("source line").expect("a line");
            assert_eq!(
                (line.func, format!("{}:{}", line.file, line.line)),
                (name, pos)
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}: {} of {} addresses differ:\n{}",
        built.label,
        mismatches.len(),
        pcs.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );
    println!(
        "addr2line {}: {} addresses identical",
        built.label,
        pcs.len()
    );
}

/// One instruction line of `go tool objdump`.
#[derive(PartialEq, Eq, Debug, Clone)]
struct DumpLine {
    pos: String,
    pc: u64,
    size: usize,
    text: String,
}

/// objdump's functions in order: name and instructions.
fn parse_objdump(out: &str) -> Vec<(String, Vec<DumpLine>)> {
    let mut funcs: Vec<(String, Vec<DumpLine>)> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("TEXT ") {
            let name = rest.split("(SB)").next().unwrap_or(rest).to_owned();
            funcs.push((name, Vec::new()));
            continue;
        }
        // tabwriter pads with tabs: the fields are the non-empty ones.
        let fields: Vec<&str> = line
            .split('\t')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        if fields.len() < 4 {
            continue;
        }
        let pc = u64::from_str_radix(fields[1].trim_start_matches("0x"), 16).expect("pc");
        let dump = DumpLine {
            pos: fields[0].to_owned(),
            pc,
            size: fields[2].len() / 2,
            text: fields[3..].join(" "),
        };
        funcs.last_mut().expect("TEXT line first").1.push(dump);
    }
    funcs
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn disasm_matches_go_tool_objdump() {
    let mut classes: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for built in builds() {
        disasm_matches(built, &mut classes);
    }
    for (class, (count, example)) in &classes {
        println!("  {class}: {count} differ, e.g. {example}");
    }
    check_known_diffs(&classes);
}

fn disasm_matches(built: &Built, classes: &mut BTreeMap<String, (usize, String)>) {
    let want = parse_objdump(&go_tool(&["objdump"], &built.path, None));
    let obj = parse(built);
    let syms = obj.symbols().expect("symbols");
    // Functions by name, in address order for names used more than once.
    let mut by_name: BTreeMap<&str, Vec<&objfile::Sym>> = BTreeMap::new();
    for s in syms.iter().filter(|s| s.code == 'T' || s.code == 't') {
        by_name.entry(&s.name).or_default().push(s);
    }
    by_name.values_mut().for_each(|v| v.reverse());
    let (mut total, mut same, mut main_total, mut main_same) = (0usize, 0usize, 0usize, 0usize);
    for (name, want_lines) in &want {
        let sym = by_name
            .get_mut(name.as_str())
            .and_then(Vec::pop)
            .unwrap_or_else(|| panic!("objdump lists {name}, symbols() has no such function left"));
        let got = obj
            .disasm(sym.addr, sym.addr + sym.size as u64)
            .expect("disasm");
        let got: Vec<DumpLine> = got
            .iter()
            .map(|i| DumpLine {
                pos: format!("{}:{}", base(&i.file), i.line),
                pc: i.addr,
                size: i.size as usize,
                text: i.text.clone(),
            })
            .collect();
        // Where x86asm and iced disagree on a length the two streams part
        // for a few bytes: compare at the addresses objdump shows.
        let got: BTreeMap<u64, DumpLine> = got.into_iter().map(|l| (l.pc, l)).collect();
        let is_main = name.starts_with("main.");
        for w in want_lines {
            let g = got.get(&w.pc);
            total += 1;
            main_total += usize::from(is_main);
            if g == Some(w) {
                same += 1;
                main_same += usize::from(is_main);
            } else {
                let class = w.text.split(' ').next().unwrap_or("").to_owned();
                let entry = classes.entry(class).or_insert((0, String::new()));
                entry.0 += 1;
                if entry.1.is_empty() {
                    entry.1 = format!("{} {:#x} want {:?} got {:?}", built.label, w.pc, w, g);
                }
            }
        }
    }
    let rate = same as f64 / total as f64;
    let label = built.label;
    println!(
        "objdump {label}: {same} of {total} instructions identical ({:.4}%); package main {main_same} of {main_total}",
        rate * 100.0
    );
    assert_eq!(
        main_same, main_total,
        "{label}: package main must match exactly"
    );
    assert!(
        main_total > 100,
        "{label}: package main has {main_total} instructions"
    );
    assert!(
        rate >= MIN_WHOLE_BINARY_MATCH,
        "{label}: whole binary {:.3}% identical, want at least {:.1}%",
        rate * 100.0,
        MIN_WHOLE_BINARY_MATCH * 100.0
    );
}

/// The mnemonics whose instructions may still print differently from
/// objdump: tests/data/objdump-known-diffs.txt, which only shrinks.
/// HEAPDRIFT_UPDATE_KNOWN_DIFFS=1 rewrites it.
fn check_known_diffs(classes: &BTreeMap<String, (usize, String)>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/objdump-known-diffs.txt");
    if std::env::var_os("HEAPDRIFT_UPDATE_KNOWN_DIFFS").is_some_and(|v| v == "1") {
        let mut text = String::from(
            "# Mnemonics (as objdump prints them) whose instructions objfile's disasm\n\
             # still prints differently, with a count on the test program and an example.\n\
             # Regenerate: HEAPDRIFT_UPDATE_KNOWN_DIFFS=1 cargo test -p heapdrift-objfile --test go_oracle\n",
        );
        for (class, (count, example)) in classes {
            text.push_str(&format!("{class}  # {count}: {example}\n"));
        }
        std::fs::write(&path, text).expect("write known diffs");
        return;
    }
    let known = std::fs::read_to_string(&path).unwrap_or_default();
    let known: Vec<&str> = known
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let new: Vec<&String> = classes
        .keys()
        .filter(|c| !known.contains(&c.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "mnemonics newly printed differently: {new:?}"
    );
}

/// Builds `tests/data/{src}` with cgo on or off into `dir`.
fn build_with(dir: &Path, src: &str, cgo: bool) -> PathBuf {
    let path = dir.join(src);
    let out = Command::new(go())
        .current_dir(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(src),
        )
        .args(["build", "-o"])
        .arg(&path)
        .arg(".")
        .env("CGO_ENABLED", if cgo { "1" } else { "0" })
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .output()
        .expect("run go build");
    assert!(
        out.status.success(),
        "go build {src}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// C code in a cgo binary: pprof's DWARF fallback, against the same
/// lookup done with Go's debug/dwarf (tests/data/dwarfline, cmd/pprof's
/// dwarfSourceLine, which cmd keeps internal).
#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn dwarf_fallback_matches_go_debug_dwarf() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prog = build_with(dir.path(), "cgoprog", true);
    let oracle = build_with(dir.path(), "dwarfline", false);
    let bytes = std::fs::read(&prog).expect("read cgo program");
    let obj = ObjFile::parse(&bytes).expect("parse cgo program");
    let syms = obj.symbols().expect("symbols");
    // Every address of every text symbol that no Go function holds, and
    // some around them.
    let mut pcs = Vec::new();
    for s in syms.iter().filter(|s| s.code.eq_ignore_ascii_case(&'t')) {
        for pc in s.addr.saturating_sub(2)..s.addr + (s.size as u64).max(1) + 2 {
            if obj.go_line(pc).expect("line table").is_none() {
                pcs.push(pc);
            }
        }
    }
    pcs.dedup();
    assert!(pcs.len() > 100, "only {} C addresses", pcs.len());
    let input: String = pcs.iter().map(|pc| format!("{pc:#x}\n")).collect();
    let mut child = Command::new(&oracle)
        .arg(&prog)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run dwarfline");
    let mut pipe = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("dwarfline output");
    writer.join().expect("writer").expect("write stdin");
    assert!(out.status.success());
    let want = String::from_utf8(out.stdout).expect("utf-8");
    let mut want = want.lines();
    let (mut answered, mut mismatches) = (0, Vec::new());
    for &pc in &pcs {
        let expected = match want.next().expect("an answer per address") {
            "-" => None,
            func => Some(format!("{func} {}", want.next().expect("file:line"))),
        };
        let got = obj
            .source_line(pc)
            .expect("source line")
            .map(|l| format!("{} {}:{}", l.func, l.file, l.line));
        answered += usize::from(expected.is_some());
        if got != expected {
            mismatches.push(format!("{pc:#x}: got {got:?}, want {expected:?}"));
        }
    }
    println!(
        "dwarf: {} C addresses, {answered} with a DWARF answer, {} differ",
        pcs.len(),
        mismatches.len()
    );
    assert!(answered > 50, "only {answered} addresses had DWARF lines");
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
