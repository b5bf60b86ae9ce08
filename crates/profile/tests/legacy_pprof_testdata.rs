//! Port of pprof's `TestParse` for the legacy formats heapdrift supports:
//! pprof's own inputs and `.string` goldens (google/pprof's profile/testdata
//! from the Go module proxy, in $HEAPDRIFT_PPROF_TESTDATA:
//! scripts/fetch-pprof-testdata.sh; ignored without it).

use profile::ParseOptions;
use profile::legacy::parse_legacy;
use std::path::PathBuf;

mod legacy_common;

fn testdata() -> PathBuf {
    PathBuf::from(std::env::var_os("HEAPDRIFT_PPROF_TESTDATA").expect("HEAPDRIFT_PPROF_TESTDATA"))
}

#[test]
#[cfg_attr(
    not(heapdrift_pprof_testdata),
    ignore = "needs HEAPDRIFT_PPROF_TESTDATA: scripts/fetch-pprof-testdata.sh"
)]
fn pprof_legacy_goldens() {
    let dir = testdata();
    let opts = ParseOptions {
        symbolize_text: false,
        ..ParseOptions::default()
    };
    let mut failures = Vec::new();
    for name in [
        "go.crc32.cpu",
        "go.godoc.thread",
        "gobench.cpu",
        "gobench.heap",
        "cppbench.cpu",
        "cppbench.heap",
        "cppbench.contention",
        "cppbench.growth",
        "cppbench.thread",
        "cppbench.thread.all",
        "cppbench.thread.none",
    ] {
        let input = std::fs::read(dir.join(name)).unwrap();
        let want = std::fs::read_to_string(dir.join(format!("{name}.string"))).unwrap();
        let got = match parse_legacy(&input, &opts) {
            Ok(Some(p)) => legacy_common::raw(&p.profile),
            Ok(None) => "unrecognized".into(),
            Err(e) => format!("error: {e}"),
        };
        if got != want {
            failures.push(format!("{name}:\n--- got\n{got}\n--- want\n{want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[cfg_attr(
    not(heapdrift_pprof_testdata),
    ignore = "needs HEAPDRIFT_PPROF_TESTDATA: scripts/fetch-pprof-testdata.sh"
)]
fn java_profiles_are_not_recognized() {
    let dir = testdata();
    for name in ["java.cpu", "java.heap", "java.contention"] {
        let input = std::fs::read(dir.join(name)).unwrap();
        assert!(
            parse_legacy(&input, &ParseOptions::default())
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
}
