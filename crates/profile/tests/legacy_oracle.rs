//! Legacy texts parsed with `symbolize_text = false` must give exactly the
//! profile pprof builds: compared with `go tool pprof -raw -symbolize=none`
//! on Go 1.27 outputs. Ignored without `HEAPDRIFT_GO`; pprof's own inputs
//! also need `HEAPDRIFT_PPROF_TESTDATA` (scripts/fetch-pprof-testdata.sh).

use profile::ParseOptions;
use profile::legacy::parse_legacy;

mod legacy_common;
use legacy_common::raw;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/legacy")
        .join(name)
}

fn check(name: &str) {
    check_path(&data(name));
}

fn check_path(path: &std::path::Path) {
    let name = path.display();
    let out = pprof_raw(path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = String::from_utf8(out.stdout).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let opts = ParseOptions {
        symbolize_text: false,
        ..ParseOptions::default()
    };
    let p = parse_legacy(&bytes, &opts)
        .unwrap()
        .expect("recognized")
        .profile;
    assert_eq!(driver_raw(p), want, "{name}");
}

fn pprof_raw(path: &Path) -> std::process::Output {
    let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    Command::new(go)
        .args(["tool", "pprof", "-raw", "-symbolize=none"])
        .arg(path)
        .env("TZ", "UTC")
        .output()
        .expect("run go tool pprof")
}

/// `-raw` of a parsed profile as go tool pprof prints it: its driver
/// (locateBinaries) first gives a profile without mappings a fake one, as
/// Java profiles whose ids all have symbols are.
fn driver_raw(mut p: profile::Profile) -> String {
    if p.mappings.is_empty() {
        p.mappings.push(profile::Mapping {
            id: 1,
            ..Default::default()
        });
        for l in &mut p.locations {
            l.mapping = Some(0);
        }
    }
    raw(&p)
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn heap_matches_pprof() {
    check("heap.txt");
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn goroutine_matches_pprof() {
    check("goroutine.txt");
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn goroutineleak_matches_pprof() {
    check("goroutineleak.txt");
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn threadcreate_matches_pprof() {
    check("threadcreate.txt");
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn block_matches_pprof() {
    check("block.txt");
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn mutex_matches_pprof() {
    check("mutex.txt");
}

/// pprof's own legacy inputs (maps trailers, C++ heap/contention/growth,
/// threadz, Java CPU/heapz/contentionz), through the oracle too.
#[test]
#[cfg_attr(
    any(not(heapdrift_go), not(heapdrift_pprof_testdata)),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh; needs HEAPDRIFT_PPROF_TESTDATA: scripts/fetch-pprof-testdata.sh"
)]
fn pprof_testdata_matches_pprof() {
    let dir = PathBuf::from(
        std::env::var_os("HEAPDRIFT_PPROF_TESTDATA").expect("HEAPDRIFT_PPROF_TESTDATA"),
    );
    for name in [
        "cppbench.heap",
        "cppbench.contention",
        "cppbench.growth",
        "cppbench.thread",
        "go.godoc.thread",
        "gobench.heap",
        "java.cpu",
        "java.heap",
        "java.contention",
    ] {
        check_path(&dir.join(name));
    }
}

/// Poisson unsampling over many (count, size) pairs: Go's `math.Exp` is
/// assembly on amd64, Rust's is libm; truncation to integers must still
/// agree with pprof's.
#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn heap_unsampling_matches_pprof_widely() {
    let mut text = String::from("heap profile: 1: 1 [2: 2] @ heap/1048576\n");
    // A small deterministic LCG: varied object sizes and counts.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    for i in 0..20_000u64 {
        let size = 1 + next() % (1 << (next() % 22));
        let n = 1 + next() % 50;
        let a = n + next() % 50;
        text.push_str(&format!(
            "{n}: {} [{a}: {}] @ {:#x}\n",
            n * size,
            a * size,
            0x1000 + i
        ));
    }
    let dir = std::env::temp_dir().join(format!("heapdrift-legacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("synthetic.heap");
    std::fs::write(&path, text).unwrap();
    check_path(&path);
    std::fs::remove_dir_all(&dir).ok();
}

/// A Java CPU profile: pprof's five header words (third 1: Java), the
/// `(count, depth, ids...)` records, then the symbol text. `words` writes
/// one word in the profile's width and byte order.
fn java_cpu(words: fn(u64) -> Vec<u8>, records: &[&[u64]], symbols: &str) -> Vec<u8> {
    let mut b: Vec<u8> = [0, 3, 1, 10_000, 0].into_iter().flat_map(words).collect();
    for r in records {
        b.extend(r.iter().copied().flat_map(words));
    }
    b.extend_from_slice(symbols.as_bytes());
    b
}

/// Java inputs pprof's testdata does not reach: every shape of symbol line,
/// repeated and unused ids, ids without a symbol (the fake mapping), the
/// attributes, CRLF, truncated CPU records, and the errors pprof reports.
fn java_edge_cases() -> Vec<(&'static str, Vec<u8>)> {
    let le32 = |w: u64| (w as u32).to_le_bytes().to_vec();
    let be64 = |w: u64| w.to_be_bytes().to_vec();
    let heap = |body: &str| {
        format!("--- heapz 1 ---\nformat = java\nresolution = bytes\n{body}").into_bytes()
    };
    let text = |s: &str| s.as_bytes().to_vec();
    vec![
        (
            "shapes.contention",
            text(
                "--- contentionz 1 ---\nformat = java\nresolution = us\nsampling period = 0x10\n\
                  ms since reset = 1_000\n 5 2 @ 0x1 0x2 0x3 0x1\n 7 3 @ 0x4 0x5\n 1 1 @ 0x0\n\
                  foo bar\n 9 9 @ 0x9\n0x1 a.b (A.java:-3)\n0x2 gen generated stub/JIT thing\n\
                  0x2 other (x.java:5)\n0x3 lib (/usr/lib/libjvm.so)\n\t0x4   f  (:1)\n0x5 g ()\n\
                  0xZ\n0x0 zero (z.java:0099)\n0x9 nine",
            ),
        ),
        (
            "repeated.contention",
            text(
                "--- contentionz 1 ---  \nresolution=us\n 1 1 @ 0x1 0x2\n 2 1 @ 0x2\n\n\
                  0x2 caf\u{e9}.run (Caf\u{e9}.java:3)\n0x1 dup (B.java:1)\n0x2 dup (C.java:2)\n 0x3 unused (x:1)",
            ),
        ),
        (
            "nosymbol.heap",
            heap(" 100 10 @ 0x1 0x2 0x0\n\n0x1 f (a:1)\n"),
        ),
        (
            "crlf.heap",
            text(
                "--- heapz 1 ---\r\nformat=java\r\nresolution = bytes\r\n 100 10 @ 0x1\r\n0x1 f (a:1)\r\n",
            ),
        ),
        ("octal.heap", heap(" 100 010 @ 0x1\n")),
        ("unterminated.heap", heap(" 1 1 @ 0x1")),
        (
            "nosamples.contention",
            text("--- contentionz 1 ---\nformat = java\nresolution = us\n"),
        ),
        (
            "noresolution.heap",
            text("--- heapz 1 ---\nformat = java\n  10 1 @ 0x1\n"),
        ),
        (
            "badperiod.contention",
            text("--- contentionz 1 ---\nformat = java\nresolution = us\nsampling period = abc\n"),
        ),
        ("badoctal.heap", heap(" 100 09 @ 0x1\n")),
        ("zerocount.heap", heap(" 0 0 @ 0x1\n")),
        (
            "bigid.heap",
            heap(" 100 10 @ 0x1\n0x11112222333344445 f (a:1)\n"),
        ),
        ("bigsampleid.heap", heap(" 100 10 @ 0x11112222333344445\n")),
        ("cppformat.heap", text("--- heapz 1 ---\nformat = cpp\n")),
        (
            "comment.heap",
            text("--- heapz 1 ---\nformat = java\n# hi = there\n"),
        ),
        (
            "period.heap",
            text("--- heapz 1 ---\nsampling period = 5\n"),
        ),
        ("headeronly.heap", text("--- heapz 1 ---")),
        (
            "be64.cpu",
            java_cpu(
                be64,
                &[&[3, 2, 0x10, 0x20], &[0, 0], &[1, 1, 0x20], &[0, 1, 0]],
                "0x10 main (Main.java:5)\n0x20 generated stub/JIT x\n",
            ),
        ),
        // The second id of the last record is cut off: pprof reads it as 0.
        ("cut.cpu", java_cpu(be64, &[&[1, 2, 0x5]], "")),
        (
            "noeod.cpu",
            java_cpu(le32, &[&[2, 1, 0x7], &[1, 1, 0x8]], ""),
        ),
        // A depth longer than the bytes left: not a CPU profile at all.
        ("truncated.cpu", java_cpu(le32, &[&[1, 9, 0x5]], "")),
    ]
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn java_edge_cases_match_pprof() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ParseOptions {
        symbolize_text: false,
        ..ParseOptions::default()
    };
    let mut failures = Vec::new();
    for (name, bytes) in java_edge_cases() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let out = pprof_raw(&path);
        let want = if out.status.success() {
            String::from_utf8(out.stdout).unwrap()
        } else {
            // "PATH: parsing profile: ...", then "failed to fetch any ...".
            let stderr = String::from_utf8(out.stderr).unwrap();
            let first = stderr.lines().next().unwrap_or_default();
            let prefix = format!("{}: ", path.display());
            format!("error: {}", first.strip_prefix(&prefix).unwrap_or(first))
        };
        let got = match profile::parse(&bytes, &opts) {
            Ok(p) => driver_raw(p.profile),
            Err(e) => format!("error: {e}"),
        };
        if got != want {
            failures.push(format!("{name}:\n--- got\n{got}\n--- want\n{want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
