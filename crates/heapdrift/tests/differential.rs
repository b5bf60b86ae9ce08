//! Differential test: `heapdrift pprof` against go tool pprof's goldens for
//! every (fixture, case) of testdata/cases.txt and testdata/multi_cases.txt.
//! See docs/pprof-compat.md.
//!
//! Env:
//! - HEAPDRIFT_GO: also run the live `go tool pprof` and check the goldens
//!   are not stale; enables the -proto round-trip test.
//! - HEAPDRIFT_GO with HEAPDRIFT_PPROF_TESTDATA: pprof's own Java profiles
//!   through cases.txt against the live go tool pprof.
//! - HEAPDRIFT_UPDATE_KNOWN_DIFFS=1: rewrite the known-diffs files from the
//!   current results instead of failing.
//! - HEAPDRIFT_DIFF_VERBOSE=1: also print the diffs of known differences.
//! - HEAPDRIFT_DIFF_FILTER=substr: only run cases whose id contains substr.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::{Case, KnownDiffs, Output, Sandbox};

const KNOWN_DIFFS: &str = "testdata/known-diffs.txt";
const KNOWN_DIFFS_PROTO: &str = "testdata/known-diffs-proto.txt";

fn heapdrift() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_heapdrift"))
}

fn go() -> Option<PathBuf> {
    std::env::var_os("HEAPDRIFT_GO")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn run_tool(sandbox: &Sandbox, program: &Path, pprof_subcommand: bool, args: &[String]) -> Output {
    let mut cmd = sandbox.command(program);
    if pprof_subcommand {
        cmd.arg("pprof");
    }
    cmd.args(args);
    support::run(sandbox, cmd)
}

/// The outcome of one id against its known-diffs entry.
struct Verdicts {
    identical: usize,
    /// id → (one-line reason, short diff)
    differ: BTreeMap<String, (String, String)>,
    evaluated: BTreeSet<String>,
}

impl Verdicts {
    fn new() -> Self {
        Verdicts {
            identical: 0,
            differ: BTreeMap::new(),
            evaluated: BTreeSet::new(),
        }
    }

    /// Reports against `known` and returns the failure messages; in update
    /// mode rewrites the known-diffs file instead.
    fn settle(&self, what: &str, known: &KnownDiffs, header: &str) -> Vec<String> {
        let update = env_flag("HEAPDRIFT_UPDATE_KNOWN_DIFFS");
        let verbose = env_flag("HEAPDRIFT_DIFF_VERBOSE");
        let mut failures = Vec::new();
        let (mut expected, mut unexpected) = (0, 0);
        for (id, (_, diff)) in &self.differ {
            if known.entries.contains_key(id) {
                expected += 1;
                if verbose {
                    println!("{what}: {id} (known)\n{diff}");
                }
            } else {
                unexpected += 1;
                println!("{what}: {id} DIFFERS\n{diff}");
                failures.push(format!("{id}: differs from go tool pprof"));
            }
        }
        let mut fixed = 0;
        for id in known.entries.keys() {
            if self.evaluated.contains(id) && !self.differ.contains_key(id) {
                fixed += 1;
                println!("{what}: {id} now matches: remove from known-diffs");
                failures.push(format!("{id}: now matches: remove from known-diffs"));
            }
        }
        println!(
            "{what}: {} identical, {} differ ({expected} known, {unexpected} unexpected); {fixed} known diffs now match",
            self.identical,
            self.differ.len()
        );
        if update {
            let fresh = self
                .differ
                .iter()
                .map(|(id, (reason, _))| (id.clone(), reason.clone()))
                .collect();
            known.rewrite(header, &self.evaluated, &fresh);
            println!("{what}: rewrote the known-diffs list");
            return Vec::new();
        }
        failures
    }
}

fn selected(cases: Vec<Case>) -> Vec<Case> {
    match std::env::var("HEAPDRIFT_DIFF_FILTER") {
        Ok(f) if !f.is_empty() => cases.into_iter().filter(|c| c.id.contains(&f)).collect(),
        _ => cases,
    }
}

#[test]
fn differential() {
    let root = support::repo_root();
    let all = support::matrix();
    assert!(all.len() > 1000, "matrix unexpectedly small: {}", all.len());
    let all_len = all.len();
    let cases = selected(all);
    let pprof = go().map(|g| support::pprof_binary(&g));
    let sandbox = Sandbox::new();
    let bin = heapdrift();

    // (golden, heapdrift, live pprof)
    let results = support::par_map(&cases, |case| {
        let golden = support::golden(case);
        let ours = run_tool(&sandbox, &bin, true, &case.args);
        let live = pprof
            .as_ref()
            .map(|p| run_tool(&sandbox, p, false, &case.args));
        (golden, ours, live)
    });

    let mut verdicts = Verdicts::new();
    let mut failures = Vec::new();
    let (mut fresh, mut stale) = (0, 0);
    for (case, (golden, ours, live)) in cases.iter().zip(&results) {
        let golden = match golden {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{}: {e} (run scripts/gen-goldens.sh)", case.id));
                continue;
            }
        };
        verdicts.evaluated.insert(case.id.clone());
        match support::compare(golden, ours, case.unordered, ("golden", "heapdrift")) {
            None => verdicts.identical += 1,
            Some(diff) => {
                let reason = support::one_line_reason(golden, ours);
                verdicts.differ.insert(case.id.clone(), (reason, diff));
            }
        }
        if let Some(live) = live {
            match support::compare(golden, live, case.unordered, ("golden", "go tool pprof")) {
                None => fresh += 1,
                Some(diff) => {
                    stale += 1;
                    println!("stale golden: {}\n{diff}", case.id);
                    failures.push(format!(
                        "{}: golden is stale (go tool pprof prints something else); run scripts/gen-goldens.sh",
                        case.id
                    ));
                }
            }
        }
    }
    if pprof.is_some() {
        println!("goldens vs live go tool pprof: {fresh} identical, {stale} differ");
    } else {
        println!("HEAPDRIFT_GO unset: not checking the goldens against live go tool pprof");
    }
    if cases.len() == all_len {
        failures.extend(orphan_goldens(&root, &cases));
    }
    let known = KnownDiffs::load(root.join(KNOWN_DIFFS));
    failures.extend(verdicts.settle(
        "differential",
        &known,
        "# Cases where heapdrift pprof may differ from go tool pprof's golden without\n\
         # failing tests/differential.rs: `fixture/case  # reason`. The list only\n\
         # shrinks: a listed case that matches fails the test until it is removed.\n\
         # Regenerate with HEAPDRIFT_UPDATE_KNOWN_DIFFS=1 cargo test -p heapdrift --test differential\n",
    ));
    assert_no_failures(&failures);
}

/// `heapdrift pprof -proto F`, read back by go tool pprof, must give the
/// same `-raw` as F itself (for Go's legacy texts, as pprof's own -proto of
/// F: pprof's encoder drops zero-valued numeric labels).
#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn proto_roundtrip() {
    let go = go().expect("HEAPDRIFT_GO");
    let root = support::repo_root();
    let pprof = support::pprof_binary(&go);
    let sandbox = Sandbox::new();
    let bin = heapdrift();
    let fixtures = support::fixtures(&root);

    let results = support::par_map(&fixtures, |fixture| {
        let src = format!("testdata/profiles/{fixture}");
        let legacy = fixture.ends_with(".txt");
        let sym: Vec<String> = if legacy {
            vec!["-symbolize=none".into()]
        } else {
            Vec::new()
        };
        let stem = fixture.replace('.', "_");
        let ours_pb = sandbox.path().join(format!("{stem}.heapdrift.pb.gz"));
        let mut args = sym.clone();
        args.extend([
            "-proto".into(),
            format!("-output={}", ours_pb.display()),
            src.clone(),
        ]);
        let made = run_tool(&sandbox, &bin, true, &args);

        let reference = if legacy {
            let pprof_pb = sandbox.path().join(format!("{stem}.pprof.pb.gz"));
            let mut a = sym.clone();
            a.extend([
                "-proto".into(),
                format!("-output={}", pprof_pb.display()),
                src,
            ]);
            run_tool(&sandbox, &pprof, false, &a);
            pprof_pb.display().to_string()
        } else {
            src
        };
        let raw = |path: String| run_tool(&sandbox, &pprof, false, &["-raw".into(), path]);
        let expected = raw(reference);
        let actual = if made.status == 0 && ours_pb.is_file() {
            raw(ours_pb.display().to_string())
        } else {
            made
        };
        (format!("proto-roundtrip/{fixture}"), expected, actual)
    });

    let mut verdicts = Verdicts::new();
    for (id, expected, actual) in &results {
        verdicts.evaluated.insert(id.clone());
        match support::compare(
            expected,
            actual,
            false,
            ("pprof -raw F", "pprof -raw (heapdrift -proto F)"),
        ) {
            None => verdicts.identical += 1,
            Some(diff) => {
                let reason = support::one_line_reason(expected, actual);
                verdicts.differ.insert(id.clone(), (reason, diff));
            }
        }
    }
    let known = KnownDiffs::load(root.join(KNOWN_DIFFS_PROTO));
    let failures = verdicts.settle(
        "proto round trip",
        &known,
        "# -proto round-trip cases (tests/differential.rs, proto_roundtrip) allowed to\n\
         # fail: `proto-roundtrip/fixture  # reason`. The list only shrinks.\n\
         # Regenerate with HEAPDRIFT_GO=... HEAPDRIFT_UPDATE_KNOWN_DIFFS=1 cargo test -p heapdrift --test differential\n",
    );
    assert_no_failures(&failures);
}

/// pprof's own Java profiles (google/pprof's profile/testdata, not in this
/// repository: no goldens) through every case of cases.txt, against the
/// live go tool pprof. Java profiles carry their symbols, which both tools
/// use whatever -symbolize says. No known differences are allowed.
#[test]
#[cfg_attr(
    any(not(heapdrift_go), not(heapdrift_pprof_testdata)),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh; needs HEAPDRIFT_PPROF_TESTDATA: scripts/fetch-pprof-testdata.sh"
)]
fn pprof_java_testdata() {
    let go = go().expect("HEAPDRIFT_GO");
    let dir = PathBuf::from(
        std::env::var_os("HEAPDRIFT_PPROF_TESTDATA").expect("HEAPDRIFT_PPROF_TESTDATA"),
    );
    let pprof = support::pprof_binary(&go);
    let sandbox = Sandbox::new();
    let bin = heapdrift();
    let mut cases = Vec::new();
    for name in ["java.cpu", "java.heap", "java.contention"] {
        let path = dir.join(name).display().to_string();
        cases.extend(support::single_source_cases(name, &path, false));
    }
    let cases = selected(cases);
    let results = support::par_map(&cases, |case| {
        let ours = run_tool(&sandbox, &bin, true, &case.args);
        let live = run_tool(&sandbox, &pprof, false, &case.args);
        (ours, live)
    });
    let mut failures = Vec::new();
    for (case, (ours, live)) in cases.iter().zip(&results) {
        if let Some(diff) =
            support::compare(live, ours, case.unordered, ("go tool pprof", "heapdrift"))
        {
            println!("{} DIFFERS\n{diff}", case.id);
            failures.push(format!("{}: differs from go tool pprof", case.id));
        }
    }
    println!(
        "pprof's java testdata: {} identical, {} differ",
        cases.len() - failures.len(),
        failures.len()
    );
    assert_no_failures(&failures);
}

fn assert_no_failures(failures: &[String]) {
    const SHOWN: usize = 40;
    if failures.is_empty() {
        return;
    }
    let more = failures.len().saturating_sub(SHOWN);
    panic!(
        "{} failures (diffs above):\n{}{}",
        failures.len(),
        failures[..failures.len().min(SHOWN)].join("\n"),
        if more > 0 {
            format!("\n... and {more} more")
        } else {
            String::new()
        }
    );
}

/// Goldens of cases that no longer exist would silently rot.
fn orphan_goldens(root: &Path, cases: &[Case]) -> Vec<String> {
    let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(root.join("testdata/golden")) else {
        return vec!["testdata/golden is missing (run scripts/gen-goldens.sh)".into()];
    };
    for dir in dirs.filter_map(|d| d.ok()) {
        let fixture = dir.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .filter_map(|f| f.ok())
        {
            let name = file.file_name().to_string_lossy().into_owned();
            let case = name
                .rsplit_once('.')
                .map_or(name.as_str(), |(stem, _)| stem);
            let id = format!("{fixture}/{case}");
            if !ids.contains(id.as_str()) {
                out.push(format!(
                    "{id}: golden {name} has no case (run scripts/gen-goldens.sh)"
                ));
            }
        }
    }
    out
}
