//! Legacy texts parsed with `symbolize_text = false` must give exactly the
//! profile pprof builds: compared with `go tool pprof -raw -symbolize=none`
//! on Go 1.27 outputs. Ignored without `HEAPDRIFT_GO`; pprof's own inputs
//! also need `HEAPDRIFT_PPROF_TESTDATA` (scripts/fetch-pprof-testdata.sh).

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
    let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
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
/// threadz), through the oracle too.
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
