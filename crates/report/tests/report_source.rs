//! A session's reports (`ReportSource::session`, which shares prepared
//! profiles, totals and graphs between reports) read exactly as reports made
//! one at a time from a fresh copy, as pprof makes them: stdout, stderr and
//! errors, over a script that changes every kind of setting and comes back
//! to earlier ones.

use std::sync::Arc;

use profile::Profile;
use report::config::{self, Config};
use report::driver::{self, CombineOptions, Env, ReportSource};

fn fixture(name: &str) -> Profile {
    let path = format!(
        "{}/../../testdata/profiles/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(&path).unwrap();
    profile::parse::parse(&data, &Default::default())
        .unwrap()
        .profile
}

/// A step: settings to change (cumulative), then a command with its
/// argument.
type Step = (
    &'static [(&'static str, &'static str)],
    &'static str,
    Option<&'static str>,
);

const SCRIPT: &[Step] = &[
    (&[], "top", None),
    (&[("sort", "cum")], "top", None),
    (&[("nodecount", "5")], "tree", None),
    (&[], "peek", Some("main|runtime")),
    (&[("sample_index", "0")], "top", None),
    (&[("sample_index", "1")], "top", None),
    (&[("mean", "true")], "top", None),
    (
        &[("mean", "false"), ("focus", "nomatchanywhere")],
        "top",
        None,
    ),
    (&[("focus", "")], "top", None),
    (&[("hide", "runtime")], "tree", None),
    (
        &[("relative_percentages", "true"), ("focus", "main")],
        "top",
        None,
    ),
    (&[("relative_percentages", "false")], "top", None),
    // Focus and ignore drop samples before a session copies the profile:
    // totals, warnings and errors must be those of a full copy.
    (&[("focus", ""), ("ignore", "runtime")], "top", None),
    (&[("focus", "main"), ("hide", "fmt")], "tree", None),
    (&[("ignore", "(unclosed")], "top", None),
    (&[("ignore", "."), ("hide", "")], "top", None),
    (&[("ignore", "nomatchanywhere")], "top", None),
    (
        &[("relative_percentages", "true"), ("ignore", "runtime")],
        "top",
        None,
    ),
    (&[("tagroot", "bytes")], "top", None),
    (
        &[
            ("relative_percentages", "false"),
            ("tagroot", ""),
            ("ignore", ""),
        ],
        "top",
        None,
    ),
    (
        &[("focus", ""), ("hide", ""), ("tagroot", "bytes")],
        "top",
        None,
    ),
    (&[("tagroot", ""), ("granularity", "lines")], "top", None),
    (&[], "traces", None),
    (&[], "tags", None),
    (&[], "raw", None),
    (&[], "dot", None),
    (&[], "callgrind", None),
    (
        &[("granularity", "functions"), ("sort", "flat")],
        "top",
        None,
    ),
    (&[("sample_index", "nosuchindex")], "top", None),
    (&[("sample_index", "0"), ("divide_by", "0")], "top", None),
    (&[("divide_by", "1"), ("nodecount", "80")], "top", None),
    (&[], "peek", Some("(unclosed")),
    (&[], "top", None),
];

/// stdout, stderr, or the error, of one report.
fn run(
    src: &mut ReportSource,
    cmd: &str,
    arg: Option<&str>,
    cfg: &Config,
) -> (Vec<u8>, Vec<u8>, Option<String>) {
    let cmd = config::command(cmd).unwrap();
    let mut stderr = Vec::new();
    let mut out = Vec::new();
    let result = {
        let mut env = Env::without_sources(&mut stderr);
        driver::generate_report(src, cmd, arg, cfg, &mut env, &mut out)
    };
    (out, stderr, result.err().map(|e| e.message()))
}

fn check(name: &str, p: Profile) {
    let p = Arc::new(p);
    let mut session = ReportSource::session(p.clone());
    let mut cfg = Config::default();
    for (i, (settings, cmd, arg)) in SCRIPT.iter().enumerate() {
        for (k, v) in *settings {
            config::lookup(k).unwrap().set_str(&mut cfg, v).unwrap();
        }
        let fresh = run(&mut ReportSource::once((*p).clone()), cmd, *arg, &cfg);
        let shared = run(&mut session, cmd, *arg, &cfg);
        assert_eq!(
            String::from_utf8_lossy(&shared.1),
            String::from_utf8_lossy(&fresh.1),
            "{name} step {i} ({cmd}): stderr"
        );
        assert_eq!(shared.2, fresh.2, "{name} step {i} ({cmd}): error");
        assert!(
            shared.0 == fresh.0,
            "{name} step {i} ({cmd}): reports differ:\n{}\n---\n{}",
            String::from_utf8_lossy(&shared.0),
            String::from_utf8_lossy(&fresh.0)
        );
    }
    // Many steps change nothing the preparation depends on, so the session
    // must have shared preparations (even on a one-value profile, where
    // the steps naming sample value 1 fail).
    assert!(
        session.reused() >= 6,
        "{name}: only {} of {} reports reused a preparation",
        session.reused(),
        SCRIPT.len()
    );
}

#[test]
fn session_reports_equal_fresh_reports() {
    for name in [
        "heap_1.pb.gz",
        "allocs.pb.gz",
        "cpu.pb.gz",
        "goroutine.pb.gz",
        "mutex.pb.gz",
        "heap.txt",
    ] {
        check(name, fixture(name));
    }
}

#[test]
fn session_reports_of_a_diff_equal_fresh_reports() {
    let o = CombineOptions {
        diff_base: true,
        ..Default::default()
    };
    let p = driver::combine_sources(
        vec![fixture("heap_3.pb.gz")],
        vec![fixture("heap_1.pb.gz")],
        &o,
        &mut std::io::sink(),
    )
    .unwrap();
    check("heap_3 - heap_1", p);
}
