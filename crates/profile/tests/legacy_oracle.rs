//! Legacy texts parsed with `symbolize_text = false` must give exactly the
//! profile pprof builds: compared with `go tool pprof -raw -symbolize=none`
//! on Go 1.27 outputs. Skips when `HEAPDRIFT_GO` is unset.

use profile::ParseOptions;
use profile::legacy::parse_legacy;

mod legacy_common;
use legacy_common::raw;
use std::path::PathBuf;
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
    let Ok(go) = std::env::var("HEAPDRIFT_GO") else {
        println!("HEAPDRIFT_GO unset: skipping the go tool pprof comparison for {name}");
        return;
    };
    let out = Command::new(go)
        .args(["tool", "pprof", "-raw", "-symbolize=none"])
        .arg(path)
        .env("TZ", "UTC")
        .output()
        .expect("run go tool pprof");
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
    let parsed = parse_legacy(&bytes, &opts).unwrap().expect("recognized");
    let got = raw(&parsed.profile);
    assert_eq!(got, want, "{name}");
}

#[test]
fn heap_matches_pprof() {
    check("heap.txt");
}

#[test]
fn goroutine_matches_pprof() {
    check("goroutine.txt");
}

#[test]
fn goroutineleak_matches_pprof() {
    check("goroutineleak.txt");
}

#[test]
fn threadcreate_matches_pprof() {
    check("threadcreate.txt");
}

#[test]
fn block_matches_pprof() {
    check("block.txt");
}

#[test]
fn mutex_matches_pprof() {
    check("mutex.txt");
}

/// pprof's own legacy inputs (maps trailers, C++ heap/contention/growth,
/// threadz), through the oracle too.
#[test]
fn pprof_testdata_matches_pprof() {
    let dir = PathBuf::from("/work/ref/pprof/profile/testdata");
    if !dir.is_dir() {
        println!("pprof testdata not found: skipping");
        return;
    }
    for name in [
        "cppbench.heap",
        "cppbench.contention",
        "cppbench.growth",
        "cppbench.thread",
        "go.godoc.thread",
        "gobench.heap",
    ] {
        check_path(&dir.join(name));
    }
}
