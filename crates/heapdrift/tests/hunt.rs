//! End-to-end tests of `heapdrift hunt` on snapshot series recorded from the
//! leak zoo (examples/, made by scripts/record-zoo-series.py). The expected
//! sites come from the `// LEAK:` and `// PLATEAU:` markers in
//! testdata/zoo/<service>/main.go, not from numbers written here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples(svc: &str) -> PathBuf {
    root().join("examples").join(svc)
}

/// The line of the `// <kind>: ...` marker in the service's main.go.
fn marker(svc: &str, kind: &str) -> i64 {
    let src = std::fs::read_to_string(root().join("testdata/zoo").join(svc).join("main.go"))
        .expect("zoo source");
    let tag = format!("// {kind}:");
    let lines: Vec<usize> = src
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(&tag))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{svc}: one {kind} marker");
    lines[0] as i64
}

fn hunt(args: &[&OsArg]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .arg("hunt")
        .args(args.iter().map(|a| a.as_ref()))
        .env_remove("NO_COLOR")
        .output()
        .expect("run heapdrift")
}

/// Strings and paths as arguments.
type OsArg = dyn AsRef<std::ffi::OsStr>;

fn json(args: &[&OsArg]) -> Value {
    let mut all: Vec<&OsArg> = args.to_vec();
    all.push(&"--json");
    let o = hunt(&all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings array")
}

/// Asserts finding `f` is at `svc`'s main.go:`line` with `kind` and
/// `verdict`.
fn assert_site(f: &Value, svc: &str, line: i64, kind: &str, verdict: &str) {
    let file = f["file"].as_str().unwrap();
    assert!(
        file.ends_with(&format!("zoo/{svc}/main.go")),
        "{svc}: file {file}"
    );
    assert_eq!(f["line"].as_i64(), Some(line), "{svc}: {f}");
    assert_eq!(f["kind"], kind, "{svc}");
    assert_eq!(f["verdict"], verdict, "{svc}");
}

#[test]
fn globalmap_map_leak_is_rank_one() {
    let v = json(&[&examples("globalmap")]);
    let f = &findings(&v)[0];
    assert_site(f, "globalmap", marker("globalmap", "LEAK"), "heap", "leak");
    assert!(f["confidence"].as_f64().unwrap() > 0.8);
    assert_eq!(f["unit"], "bytes");
    // Nominal ~4 MiB/min at rate 1.
    let g = f["growth_per_min"].as_f64().unwrap() / (1 << 20) as f64;
    assert!((2.0..8.0).contains(&g), "growth {g} MiB/min");
    // No other heap site is a leak.
    let heap_leaks = findings(&v)
        .iter()
        .filter(|f| f["kind"] == "heap" && f["verdict"] == "leak")
        .count();
    assert_eq!(heap_leaks, 1);
}

#[test]
fn chansend_goroutine_leak_is_rank_one() {
    let v = json(&[&examples("chansend")]);
    let f = &findings(&v)[0];
    assert_site(
        f,
        "chansend",
        marker("chansend", "LEAK"),
        "goroutine",
        "leak",
    );
    assert_eq!(f["unit"], "goroutines");
    assert_eq!(f["rule"], "chan send");
    assert!(f["growth_per_min"].as_f64().unwrap() > 60.0);
}

#[test]
fn smallunderplateau_leak_first_cache_plateau() {
    let svc = "smallunderplateau";
    let v = json(&[&examples(svc)]);
    let all = findings(&v);
    assert_site(&all[0], svc, marker(svc, "LEAK"), "heap", "leak");
    let plateau = marker(svc, "PLATEAU");
    let cache: Vec<&Value> = all
        .iter()
        .filter(|f| f["kind"] == "heap" && f["line"] == plateau)
        .collect();
    assert_eq!(cache.len(), 1, "the cache is reported");
    assert_site(cache[0], svc, plateau, "heap", "plateau");
    assert_eq!(
        all.iter().filter(|f| f["verdict"] == "leak").count(),
        1,
        "only the small leak is a leak"
    );
}

#[test]
fn text_report_names_the_site_with_evidence() {
    let o = hunt(&[&examples("globalmap")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    // Not a TTY: no colour.
    assert!(!out.contains('\x1b'));
    assert!(out.starts_with("heapdrift hunt: globalmap"));
    assert!(out.contains("snapshots: 18 heap, 18 goroutine, 6 goroutineleak, 18 memstats"));
    let first: Vec<&str> = out
        .split("\n\n")
        .find(|b| b.starts_with("#1 "))
        .expect("rank 1")
        .lines()
        .collect();
    assert!(
        first[0].starts_with("#1 LEAK heap  confidence "),
        "{}",
        first[0]
    );
    let line = marker("globalmap", "LEAK");
    assert!(
        first[1].contains(&format!("globalmap/main.go:{line}")),
        "{}",
        first[1]
    );
    assert!(first[2].contains("MB/min") && first[2].contains("objects/min"));
    assert!(
        first
            .iter()
            .any(|l| l.contains("evidence") && l.contains('█'))
    );
    assert!(
        first
            .iter()
            .any(|l| l.contains("Mann-Kendall p = ") && l.contains("R² = "))
    );
    assert!(first.iter().any(|l| l.starts_with("   cause ")));
    assert!(first.iter().any(|l| l.starts_with("   fix ")));
    assert!(first.iter().any(|l| l.contains("stack (leaf first)")));
    assert!(first.iter().any(|l| l.starts_with("    > main.")));
}

#[test]
fn json_schema_fields() {
    let v = json(&[&examples("chansend")]);
    assert_eq!(v["schema"], 1);
    assert_eq!(v["process"], "chansend");
    assert_eq!(v["snapshots"]["heap"], 18);
    assert!(v["span_seconds"].as_f64().unwrap() > 60.0);
    let all = findings(&v);
    assert!(!all.is_empty());
    let rank = |f: &Value| match f["verdict"].as_str().unwrap() {
        "leak" => 3,
        "suspect" => 2,
        "plateau" => 1,
        "stable" => 0,
        other => panic!("verdict {other}"),
    };
    for w in all.windows(2) {
        assert!(rank(&w[0]) >= rank(&w[1]), "rank order");
    }
    for f in all {
        for key in [
            "kind",
            "verdict",
            "function",
            "file",
            "line",
            "growth_per_min",
            "unit",
            "confidence",
            "evidence",
        ] {
            assert!(f.get(key).is_some(), "{key} in {f}");
        }
        assert!(["heap", "goroutine", "memory"].contains(&f["kind"].as_str().unwrap()));
        assert!(["bytes", "goroutines"].contains(&f["unit"].as_str().unwrap()));
        let c = f["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        let ev = &f["evidence"];
        let n = ev["values"].as_array().unwrap().len();
        assert_eq!(ev["times"].as_array().unwrap().len(), n);
        for key in ["first", "last", "slope_per_min", "p_value", "r_squared"] {
            assert!(ev[key].is_number(), "{key}");
        }
    }
}

#[test]
fn fail_on_exit_codes() {
    let g = examples("globalmap");
    assert_eq!(hunt(&[&g]).status.code(), Some(0));
    assert_eq!(hunt(&[&g, &"--fail-on", &"leak"]).status.code(), Some(1));
    assert_eq!(hunt(&[&g, &"--fail-on", &"suspect"]).status.code(), Some(1));
    // Every leak is below this confidence: nothing left to fail on.
    assert_eq!(
        hunt(&[&g, &"--fail-on", &"leak", &"--min-confidence", &"1"])
            .status
            .code(),
        Some(0)
    );
    // Two snapshots give at most "suspect".
    let two = two_snapshots();
    assert_eq!(
        hunt(&[&two.path().to_path_buf(), &"--fail-on", &"leak"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        hunt(&[&two.path().to_path_buf(), &"--fail-on", &"suspect"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn usage_and_input_errors_exit_two() {
    let g = examples("globalmap");
    assert_eq!(hunt(&[]).status.code(), Some(2));
    assert_eq!(hunt(&[&g, &"--fail-on", &"maybe"]).status.code(), Some(2));
    assert_eq!(
        hunt(&[&g, &"--min-confidence", &"1.5"]).status.code(),
        Some(2)
    );
    let o = hunt(&[&"/nonexistent/heap.pb.gz"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("/nonexistent/heap.pb.gz"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("garbage.pb.gz");
    std::fs::write(&bad, b"\x1f\x8b not really gzip").unwrap();
    let o = hunt(&[&bad]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("garbage.pb.gz"), "{e}");
}

/// The first two heap and goroutine protos of globalmap.
fn two_snapshots() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["heap-", "goroutine-"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(examples("globalmap"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_str().unwrap();
                n.starts_with(prefix) && n.ends_with(".pb.gz") && !n.contains("debug")
            })
            .collect();
        names.sort();
        for p in &names[..2] {
            std::fs::copy(p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

#[test]
fn two_snapshots_say_more_are_needed() {
    let two = two_snapshots();
    let o = hunt(&[&two.path().to_path_buf()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("snapshots: 2 heap, 2 goroutine"), "{out}");
    assert!(
        out.contains("more snapshots are needed for confidence"),
        "{out}"
    );
    let v = json(&[&two.path().to_path_buf()]);
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("more snapshots are needed"))
    );
    for f in findings(&v) {
        assert_ne!(f["verdict"], "leak");
        assert!(f["confidence"].as_f64().unwrap() <= 0.35);
    }
}

fn files(svc: &str, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(examples(svc))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| pred(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn heap_texts_alone_with_mtime_order() {
    // debug=1 texts have no time stamp. Copied under names that sort in
    // reverse and carry no time, with mtimes in the true order: hunt must
    // use the mtimes.
    let texts = files("globalmap", |n| n.contains(".debug1."));
    assert!(texts.len() >= 6);
    let dir = tempfile::tempdir().unwrap();
    let t0 = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
    for (i, p) in texts.iter().enumerate() {
        let dst = dir
            .path()
            .join(format!("heap-{}.txt.gz", (b'z' - i as u8) as char));
        std::fs::copy(p, &dst).unwrap();
        let f = std::fs::File::options().write(true).open(&dst).unwrap();
        f.set_modified(t0 + std::time::Duration::from_secs(5 * i as u64))
            .unwrap();
    }
    let v = json(&[&dir.path().to_path_buf()]);
    assert_eq!(v["snapshots"]["heap"], texts.len());
    assert_eq!(v["snapshots"]["memstats"], texts.len());
    assert_site(
        &findings(&v)[0],
        "globalmap",
        marker("globalmap", "LEAK"),
        "heap",
        "leak",
    );
    assert_eq!(v["start_unix_nanos"], 1_800_000_000_000_000_000i64);
}

#[test]
fn goroutine_dumps_with_leak_profiles() {
    // Only the debug=2 dumps (every 4th snapshot) and goroutineleak
    // profiles: the dumps give the series and the created-by site, the
    // leak profiles confirm.
    let mut args: Vec<PathBuf> = files("chansend", |n| n.contains(".debug2."));
    args.extend(files("chansend", |n| n.starts_with("goroutineleak-")));
    let refs: Vec<&OsArg> = args.iter().map(|p| p as &OsArg).collect();
    let v = json(&refs);
    let f = &findings(&v)[0];
    assert_site(
        f,
        "chansend",
        marker("chansend", "LEAK"),
        "goroutine",
        "leak",
    );
    assert_eq!(f["state"], "chan send");
    assert_eq!(f["created_by"], "main.(*server).handleQuote");
    assert!(
        f["created_at"]["file"]
            .as_str()
            .unwrap()
            .ends_with("zoo/chansend/main.go")
    );
}

#[test]
fn duplicates_are_left_out() {
    let g = examples("globalmap");
    let once = json(&[&g]);
    let twice = json(&[&g, &g]);
    assert_eq!(once["findings"], twice["findings"]);
    assert_eq!(once["snapshots"], twice["snapshots"]);
    assert!(
        twice["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("byte-identical"))
    );
}
