// Which prerequisites of the tests this machine has, as cfgs for the crate
// whose build.rs includes this file:
// - `heapdrift_go`: `HEAPDRIFT_GO`, the Go 1.27 toolchain whose `go tool
//   pprof` is the oracle (scripts/setup-go.sh);
// - `heapdrift_pprof_testdata`: `HEAPDRIFT_PPROF_TESTDATA`, google/pprof's
//   profile/testdata from the Go module proxy
//   (scripts/fetch-pprof-testdata.sh);
// - `heapdrift_chromium`: `HEAPDRIFT_CHROMIUM`, else `chromium` on PATH;
// - `heapdrift_dot`: Graphviz `dot` on PATH;
// - `heapdrift_script`: util-linux `script` on PATH (a terminal for tests);
// - `heapdrift_groff`: `groff` on PATH (renders the manual pages);
// - `heapdrift_aslr`: address space randomisation on (Linux; a property of
//   the machine, not installable, so never fatal);
// - `heapdrift_pyroscope`: `HEAPDRIFT_PYROSCOPE`, a Grafana Pyroscope server
//   binary (`scripts/pyroscope.sh build`: unoptimised, ~5 min cold on 2
//   cores);
// - `heapdrift_parca`: `HEAPDRIFT_PARCA`, a Parca server binary
//   (`scripts/parca.sh build`: unoptimised).
// A test that needs one says so with
// `#[cfg_attr(not(heapdrift_go), ignore = "needs HEAPDRIFT_GO: scripts/setup-go.sh")]`:
// without it the test is reported ignored, with the reason, never passed.
// With HEAPDRIFT_REQUIRE_TEST_PREREQS=1 (what scripts/test.sh sets under
// CI=true, after installing them all) a missing prerequisite fails the
// build instead. Not CI itself: `cargo install` in someone's CI pipeline
// must not need chromium.

use std::path::{Path, PathBuf};

fn main() {
    for var in [
        "HEAPDRIFT_GO",
        "HEAPDRIFT_PPROF_TESTDATA",
        "HEAPDRIFT_CHROMIUM",
        "HEAPDRIFT_PYROSCOPE",
        "HEAPDRIFT_PARCA",
        "PATH",
        "HEAPDRIFT_REQUIRE_TEST_PREREQS",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let aslr = std::fs::read_to_string("/proc/sys/kernel/randomize_va_space")
        .is_ok_and(|s| s.trim() != "0");
    let found = [
        ("heapdrift_go", env_path("HEAPDRIFT_GO").is_some()),
        (
            "heapdrift_pprof_testdata",
            env_path("HEAPDRIFT_PPROF_TESTDATA").is_some(),
        ),
        (
            "heapdrift_chromium",
            env_path("HEAPDRIFT_CHROMIUM")
                .or_else(|| on_path("chromium"))
                .is_some(),
        ),
        ("heapdrift_dot", on_path("dot").is_some()),
        ("heapdrift_script", on_path("script").is_some()),
        ("heapdrift_groff", on_path("groff").is_some()),
        ("heapdrift_aslr", aslr),
        (
            "heapdrift_pyroscope",
            env_path("HEAPDRIFT_PYROSCOPE").is_some(),
        ),
        ("heapdrift_parca", env_path("HEAPDRIFT_PARCA").is_some()),
    ];
    let required = std::env::var("HEAPDRIFT_REQUIRE_TEST_PREREQS").is_ok_and(|v| v == "1");
    let mut missing = Vec::new();
    for (cfg, present) in found {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if present {
            println!("cargo::rustc-cfg={cfg}");
        } else {
            missing.push(cfg);
        }
    }
    missing.retain(|&cfg| cfg != "heapdrift_aslr");
    if required && !missing.is_empty() {
        panic!(
            "HEAPDRIFT_REQUIRE_TEST_PREREQS=1 (CI) but test prerequisites are missing: {} (scripts/test.sh installs them; build/test-prereqs.rs)",
            missing.join(", ")
        );
    }
}

/// The path in environment variable `var`, if it names something that
/// exists.
fn env_path(var: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os(var)?);
    p.exists().then_some(p)
}

/// `name` as an executable file on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
