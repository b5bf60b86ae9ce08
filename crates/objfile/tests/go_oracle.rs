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
#[allow(dead_code)]
const MIN_WHOLE_BINARY_MATCH: f64 = 0.99;

fn go() -> PathBuf {
    PathBuf::from(std::env::var_os("HEAPDRIFT_GO").expect("HEAPDRIFT_GO"))
}

struct Built {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
}

/// The test program, built once per test process.
fn prog() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("prog");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/prog");
        let out = Command::new(go())
            .current_dir(&src)
            .args(["build", "-o"])
            .arg(&path)
            .arg(".")
            .env("CGO_ENABLED", "0")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "")
            .output()
            .expect("run go build");
        assert!(
            out.status.success(),
            "go build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&path).expect("read built program");
        Built {
            _dir: dir,
            path,
            bytes,
        }
    })
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
    let built = prog();
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
    // Both sort by address with Go's unstable sort, nm sorting again: the
    // order of symbols at one address is compared as a set.
    let group = |lines: Vec<String>| {
        let mut by_addr: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in lines {
            by_addr.entry(line[..8].to_owned()).or_default().push(line);
        }
        by_addr.values_mut().for_each(|v| v.sort());
        by_addr
    };
    let want_lines: Vec<String> = want.lines().map(str::to_owned).collect();
    assert!(want_lines.len() > 1000, "nm listed {}", want_lines.len());
    assert_eq!(got.len(), want_lines.len());
    let addrs = |lines: &[String]| lines.iter().map(|l| l[..8].to_owned()).collect::<Vec<_>>();
    assert_eq!(addrs(&got), addrs(&want_lines), "address order");
    assert_eq!(group(got), group(want_lines));
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn source_lines_match_go_tool_addr2line() {
    let built = prog();
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
        "{} of {} addresses differ:\n{}",
        mismatches.len(),
        pcs.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );
    println!("addr2line: {} addresses identical", pcs.len());
}
