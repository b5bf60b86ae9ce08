//! Port of pprof's `TestParse` for the legacy formats, every input it has:
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
        "java.cpu",
        "java.heap",
        "java.contention",
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

/// Java profiles carry their own symbols, which pprof always uses: the
/// result must not depend on `symbolize_text`.
#[test]
#[cfg_attr(
    not(heapdrift_pprof_testdata),
    ignore = "needs HEAPDRIFT_PPROF_TESTDATA: scripts/fetch-pprof-testdata.sh"
)]
fn java_profiles_ignore_symbolize_text() {
    let dir = testdata();
    for name in ["java.cpu", "java.heap", "java.contention"] {
        let input = std::fs::read(dir.join(name)).unwrap();
        let parse = |symbolize_text| {
            let opts = ParseOptions {
                symbolize_text,
                ..ParseOptions::default()
            };
            let parsed = parse_legacy(&input, &opts).unwrap().expect(name);
            assert_eq!(parsed.format, profile::SourceFormat::LegacyJava, "{name}");
            parsed.profile
        };
        assert_eq!(parse(true), parse(false), "{name}");
    }
}
