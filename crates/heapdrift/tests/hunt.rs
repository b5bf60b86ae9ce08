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
    // MemStats' heap in use grows with the map: said once, as a note on
    // the heap site, not as a second finding.
    assert!(
        findings(&v)
            .iter()
            .all(|f| f["kind"] != "memory" || f["verdict"] != "leak"),
        "{}",
        v["findings"]
    );
    assert!(
        f["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("MemStats agree: heap in use +")),
        "{}",
        f["notes"]
    );
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
    assert!(first[2].contains("MiB/min") && first[2].contains("objects/min"));
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
fn heap_texts_alone_placed_by_their_last_gc() {
    // debug=1 texts have no time stamp. Copied under names that sort in
    // reverse and carry no time, with made-up mtimes: hunt must place them
    // by their MemStats' LastGC (recorded with gc=1, so the fetch time),
    // not by the file times.
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
    assert_eq!(v["start_unix_nanos"], 1_795_712_849_591_809_593i64);
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("heap debug=1 text times from MemStats' last GC"),
        "{notes}"
    );
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

// ---- `hunt ARCHIVE`: archives written by `heapdrift watch` ----

mod fake_http;

mod fake {
    //! A fake Go service for `heapdrift watch`: it serves a recorded zoo
    //! series (heap proto, heap debug=1, goroutine proto) one snapshot per
    //! heap request, then answers 500 for a few rounds, then "restarts"
    //! (serves the series from its start again: the cumulative counters
    //! fall). Pared down from tests/watch.rs's FakeTarget.

    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    pub struct Series {
        pub heap: Vec<Vec<u8>>,
        pub heap_text: Vec<Vec<u8>>,
        pub goroutine: Vec<Vec<u8>>,
    }

    impl Series {
        /// The recorded series of a zoo service (examples/<svc>).
        pub fn recorded(dir: &Path) -> Series {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            let read = |pred: &dyn Fn(&str) -> bool| -> Vec<Vec<u8>> {
                names
                    .iter()
                    .filter(|n| pred(n))
                    .map(|n| std::fs::read(dir.join(n)).unwrap())
                    .collect()
            };
            Series {
                heap: read(&|n| n.starts_with("heap-") && n.ends_with("Z.pb.gz")),
                heap_text: read(&|n| n.starts_with("heap-") && n.contains(".debug1.")),
                goroutine: read(&|n| n.starts_with("goroutine-") && n.ends_with("Z.pb.gz")),
            }
        }
    }

    #[derive(Default)]
    pub struct State {
        /// Heap requests answered so far (all phases).
        pub heap_requests: usize,
    }

    pub struct Target {
        pub port: u16,
        pub state: Arc<Mutex<State>>,
        quit: Arc<AtomicBool>,
    }

    /// Rounds answered with 500 between the two passes.
    pub const FAILING: usize = 3;

    impl Target {
        pub fn start(series: Series) -> Target {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = Arc::new(Mutex::new(State::default()));
            let quit = Arc::new(AtomicBool::new(false));
            let (st, q) = (state.clone(), quit.clone());
            let series = Arc::new(series);
            std::thread::spawn(move || {
                while !q.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let (st, series) = (st.clone(), series.clone());
                            std::thread::spawn(move || serve(conn, &st, &series));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
            Target { port, state, quit }
        }

        pub fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        pub fn heap_requests(&self) -> usize {
            self.state.lock().unwrap().heap_requests
        }
    }

    impl Drop for Target {
        fn drop(&mut self) {
            self.quit.store(true, Ordering::Relaxed);
        }
    }

    const INDEX: &str = "<html><table>\n\
<tr><td>9</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n\
<tr><td>3</td><td><a href='heap?debug=1'>heap</a></td></tr>\n</table></html>";

    fn serve(mut conn: TcpStream, st: &Mutex<State>, series: &Series) {
        let Some(path) = crate::fake_http::request_path(&conn) else {
            return;
        };
        let n = series.heap.len();
        // The round is the heap request being answered (heap comes first
        // in a round); the other kinds follow it.
        let round = {
            let mut s = st.lock().unwrap();
            if path == "/debug/pprof/heap" {
                s.heap_requests += 1;
            }
            s.heap_requests.saturating_sub(1)
        };
        let failing = (n..n + FAILING).contains(&round);
        // (No snapshot is served in the failing rounds.)
        let i = if round < n || failing {
            round.min(n - 1)
        } else {
            (round - n - FAILING) % n
        };
        let pick = |v: &Vec<Vec<u8>>| v[i.min(v.len() - 1)].clone();
        let (status, body) = match path.as_str() {
            "/debug/pprof/" => ("200 OK", INDEX.as_bytes().to_vec()),
            _ if failing => ("500 Internal Server Error", b"boom".to_vec()),
            "/debug/pprof/heap" => ("200 OK", pick(&series.heap)),
            "/debug/pprof/heap?debug=1" => ("200 OK", pick(&series.heap_text)),
            "/debug/pprof/goroutine" => ("200 OK", pick(&series.goroutine)),
            _ => ("404 Not Found", b"Unknown profile\n".to_vec()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n\r\n",
            body.len()
        );
        let _ = conn
            .write_all(head.as_bytes())
            .and_then(|()| conn.write_all(&body));
    }
}

/// `heapdrift watch` of globalmap's recorded series served by a fake
/// target: a first process (18 rounds), 500s, then a restarted process
/// (at least 8 rounds). Made once and shared by the tests.
fn watched_archive() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let srv = fake::Target::start(fake::Series::recorded(&examples("globalmap")));
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
            .arg("watch")
            .arg(srv.url())
            .arg("--archive")
            .arg(dir.path())
            // 200 ms: the second series' 8 snapshots span over a second,
            // the least drift states a rate for.
            .args(["--quiet", "--every", "200ms", "--for", "120s"])
            .args([
                "--timeout",
                "5s",
                "--dump-every",
                "0",
                "--allocs-every",
                "0",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let want = 18 + fake::FAILING + 8;
        let t0 = std::time::Instant::now();
        while srv.heap_requests() < want {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(100),
                "watch is too slow: {} heap requests",
                srv.heap_requests()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SIGTERM ends a watch cleanly (the archive is closed).
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        dir
    })
    .path()
}

#[test]
fn watch_archive_latest_series_is_the_restarted_process() {
    let dir = watched_archive();
    let v = json(&[&dir]);
    // One target, its latest series: the usual envelope plus `archive`.
    assert_eq!(v["schema"], 1);
    assert_eq!(v["process"], "globalmap");
    assert_eq!(v["archive"]["series"].as_i64(), Some(2));
    assert!(
        v["archive"]["restart_reason"]
            .as_str()
            .unwrap()
            .contains("alloc_space went down"),
        "{}",
        v["archive"]
    );
    let heap = v["snapshots"]["heap"].as_u64().unwrap();
    assert!((8..18).contains(&heap), "{heap} heap snapshots");
    // SIGTERM may cut the last round short.
    let memstats = v["snapshots"]["memstats"].as_u64().unwrap();
    assert!((heap - 1..=heap).contains(&memstats), "{memstats}");
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("series 2 (2 of 2; after a restart")
    );
    assert_site(
        &findings(&v)[0],
        "globalmap",
        marker("globalmap", "LEAK"),
        "heap",
        "leak",
    );
}

#[test]
fn watch_archive_all_series_each_on_its_own_with_gaps() {
    let dir = watched_archive();
    let v = json(&[&dir, &"--series", &"all"]);
    let reports = v["reports"].as_array().expect("several series: reports");
    assert_eq!(reports.len(), 2);
    assert_eq!(v["archive"], dir.display().to_string());
    let first = &reports[0];
    assert_eq!(first["archive"]["series"].as_i64(), Some(1));
    assert_eq!(first["archive"]["restart_reason"], "first");
    // The first process: 18 snapshots, never mixed with the second's.
    assert_eq!(first["snapshots"]["heap"].as_u64(), Some(18));
    assert_eq!(first["snapshots"]["goroutine"].as_u64(), Some(18));
    assert_site(
        &findings(first)[0],
        "globalmap",
        marker("globalmap", "LEAK"),
        "heap",
        "leak",
    );
    // The 500s between the processes are a gap of the first series.
    let gaps = first["archive"]["gaps"].as_array().unwrap();
    assert!(
        !gaps.is_empty() && gaps.iter().all(|g| g["reason"] == "5xx"),
        "{gaps:?}"
    );
    for g in gaps {
        let (from, to) = (
            g["from_unix_nanos"].as_i64().unwrap(),
            g["to_unix_nanos"].as_i64().unwrap(),
        );
        assert!(from <= to, "{g}");
        assert!(!g["message"].as_str().unwrap().is_empty(), "{g}");
    }
    assert!(
        first["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("gap: 5xx (server error) from ")),
        "{}",
        first["notes"]
    );
    assert_eq!(reports[1]["archive"]["series"].as_i64(), Some(2));
    // It ended when the restarted process answered: not a gap of its series.
    assert_eq!(reports[1]["archive"]["gaps"].as_array().unwrap().len(), 0);
    let second_start = reports[1]["start_unix_nanos"].as_i64().unwrap();
    assert!(first["end_unix_nanos"].as_i64().unwrap() < second_start);

    // Text: a header per series.
    let o = hunt(&[&dir, &"--series", &"all", &"--no-stacks"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches("heapdrift hunt: globalmap").count(), 2, "{out}");
    assert!(out.contains("note: gap: 5xx"), "{out}");
    // --series N picks one.
    let one = json(&[&dir, &"--series", &"1"]);
    assert_eq!(one["findings"], first["findings"]);
}

/// The report without the note saying where the heap series came from.
fn without_source_note(mut v: Value) -> Value {
    let notes = v["notes"].as_array_mut().unwrap();
    let first = notes[0].as_str().unwrap().to_string();
    assert!(first.contains(", heap series from "), "{first}");
    notes[0] = Value::String(first.split(", heap series from ").next().unwrap().into());
    v
}

#[test]
fn watch_archive_index_equals_decoding_the_files() {
    let dir = watched_archive();
    for series in ["1", "2"] {
        let fast = json(&[&dir, &"--series", &series]);
        let slow = json(&[&dir, &"--series", &series, &"--from-files"]);
        assert!(
            fast["notes"][0]
                .as_str()
                .unwrap()
                .ends_with("from the archive's index")
        );
        assert!(
            slow["notes"][0]
                .as_str()
                .unwrap()
                .ends_with("from the files (as asked)")
        );
        assert!(!findings(&fast).is_empty());
        // Same findings, same numbers, same everything.
        assert_eq!(without_source_note(fast), without_source_note(slow));
    }
}

#[test]
fn archive_selection_and_errors() {
    let dir = watched_archive();
    let url = Archive::open_read_only(dir).unwrap().targets().unwrap()[0]
        .url
        .clone();
    let port = url.rsplit(':').next().unwrap().to_string();
    for t in [url.clone(), port] {
        let v = json(&[&dir, &"--target", &t]);
        assert_eq!(v["archive"]["target"], url.as_str());
    }
    let bad = |args: &[&OsArg], what: &str| {
        let o = hunt(args);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stdout(&o));
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(what), "{e}");
    };
    bad(
        &[&dir, &"--target", &"nosuchhost"],
        "no target matches \"nosuchhost\"",
    );
    bad(&[&dir, &"--series", &"99"], "no series 99");
    bad(&[&dir, &"--series", &"x"], "--series \"x\"");
    bad(&[&dir, &examples("globalmap")], "must be the only input");
    // An archive below a directory of plain files is not mixed in.
    let parent = tempfile::tempdir().unwrap();
    let inner = parent.path().join("archive");
    std::fs::create_dir(&inner).unwrap();
    std::fs::copy(dir.join(store::INDEX_FILE), inner.join(store::INDEX_FILE)).unwrap();
    bad(
        &[&parent.path().to_path_buf()],
        "an archive made by heapdrift watch",
    );
    bad(
        &[&examples("globalmap"), &"--series", &"all"],
        "apply to an archive",
    );
    // --fail-on works on archives as on files.
    assert_eq!(hunt(&[&dir, &"--fail-on", &"leak"]).status.code(), Some(1));
}

use store::Archive;

// ---- scale: a synthetic service with planted leaks (bench/hunt-scale.sh) ----

#[path = "../examples/gen_hunt_scale/synth.rs"]
mod synth;

/// A finding's site: `function file:line`.
fn site_key(f: &Value) -> String {
    format!(
        "{} {}:{}",
        f["function"].as_str().unwrap(),
        f["file"].as_str().unwrap(),
        f["line"]
    )
}

/// `function file:line` of each finding with this verdict, sorted.
fn sites_with(v: &Value, verdict: &str) -> Vec<String> {
    let mut out: Vec<String> = findings(v)
        .iter()
        .filter(|f| f["verdict"] == verdict)
        .map(site_key)
        .collect();
    out.sort();
    out
}

fn planted(list: &[synth::Planted]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|p| format!("{} {}:{}", p.function, p.file, p.line))
        .collect();
    out.sort();
    out
}

/// Generates `snapshots` x `sites` into a temp dir (files and an archive)
/// and checks that hunt names exactly the planted leaks, from the files,
/// from the archive's index and from the archive's files alike.
fn planted_leaks_exactly(snapshots: usize, sites: usize, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let (files, archive) = (tmp.path().join("files"), tmp.path().join("archive"));
    let cfg = synth::Config::new(snapshots, sites, seed);
    let m = synth::write(
        &cfg,
        Some(&files),
        Some(&archive),
        &tmp.path().join("manifest.json"),
    )
    .unwrap();
    assert_eq!(m.leaks.len(), 4);
    let t0 = std::time::Instant::now();
    let from_files = json(&[&files]);
    let t1 = std::time::Instant::now();
    let from_index = json(&[&archive]);
    let t2 = std::time::Instant::now();
    let from_archive_files = json(&[&archive, &"--from-files"]);
    eprintln!(
        "{snapshots} x {sites}: hunt DIR {:.2}s, hunt ARCHIVE {:.2}s (wall, debug or ci build)",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64()
    );
    assert_eq!(
        from_files["snapshots"]["heap"].as_u64(),
        Some(snapshots as u64)
    );
    // Every planted leak is a leak, except one whose growth over the
    // window is under 7 heap samples' worth at the profiles' period: so
    // few sampled objects gained, with none freed, happen by chance to a
    // population that only turns over more than 1 time in 100, and it is
    // a suspect that says so (drift's "too few samples gained"). The
    // generator's values are not sampled counts, but hunt reads them as
    // Go's, which are.
    let span_min = (snapshots - 1) as f64 * m.interval_seconds as f64 / 60.0;
    let few = |p: &synth::Planted| p.bytes_per_min * span_min / 524_288.0 < 7.0;
    let (slow, strong): (Vec<synth::Planted>, Vec<synth::Planted>) =
        m.leaks.iter().cloned().partition(few);
    let leaks = sites_with(&from_files, "leak");
    for p in planted(&strong) {
        assert!(leaks.contains(&p), "{p} not a leak: {leaks:?}");
    }
    for p in planted(&slow) {
        let f = findings(&from_files)
            .iter()
            .find(|f| site_key(f) == p)
            .unwrap_or_else(|| panic!("{p} not found"));
        assert!(
            f["verdict"] == "leak"
                || f["verdict"] == "suspect"
                    && f["notes"].to_string().contains("heap samples gained"),
            "{p}: {f}"
        );
    }
    let planted_all = planted(&m.leaks);
    assert!(
        leaks.iter().all(|l| planted_all.contains(l)),
        "leaks not planted: {leaks:?}"
    );
    // The planted leaks' rates come out within 10%.
    for p in &m.leaks {
        let f = findings(&from_files)
            .iter()
            .find(|f| f["function"] == p.function.as_str())
            .unwrap();
        let g = f["growth_per_min"].as_f64().unwrap();
        assert!(
            (g / p.bytes_per_min - 1.0).abs() < 0.1,
            "{}: {g} vs {}",
            p.function,
            p.bytes_per_min
        );
    }
    // Every warm-up is a plateau (a noise site may be one by chance: no
    // leak, nothing else asserted), except one of a few heap samples at
    // Go's default rate (the 2 MiB one): sampling cannot tell its stop
    // from a slow leak, and it is a suspect that says so.
    let plateaus = sites_with(&from_files, "plateau");
    for p in planted(&m.plateaus) {
        let few_samples = findings(&from_files).iter().any(|f| {
            site_key(f) == p
                && f["verdict"] == "suspect"
                && f["notes"].to_string().contains("too few to tell a stop")
        });
        assert!(plateaus.contains(&p) || few_samples, "{p} not a plateau");
    }
    // The archive, by index or files, gives what the files give (the time
    // stamps are the same: the profile's own and the archive's taken_at).
    assert_eq!(from_index["findings"], from_files["findings"]);
    assert_eq!(from_archive_files["findings"], from_files["findings"]);
}

#[test]
fn scale_ci_sized_names_exactly_the_planted_leaks() {
    planted_leaks_exactly(60, 2_000, 1);
}

#[test]
#[ignore = "full size (500 x 10k, ~1 min to generate); bench/hunt-scale.sh times it"]
fn scale_full_size_names_exactly_the_planted_leaks() {
    planted_leaks_exactly(500, 10_000, 1);
}

/// Copies every file of `svc`'s example series into `dir` under
/// `name(file name)`, with every mtime set to `mtime`.
fn copy_series(svc: &str, dir: &Path, name: impl Fn(&str) -> String, mtime: std::time::SystemTime) {
    for e in std::fs::read_dir(examples(svc)).unwrap() {
        let p = e.unwrap().path();
        let to = dir.join(name(p.file_name().unwrap().to_str().unwrap()));
        std::fs::copy(&p, &to).unwrap();
        let f = std::fs::File::options().write(true).open(&to).unwrap();
        f.set_modified(mtime).unwrap();
    }
}

#[test]
fn a_mixed_folder_is_reported_per_process() {
    // Three services recorded at the same time, flattened into one folder
    // (their names prefixed), with what else lands in such a folder.
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now();
    let services = ["globalmap", "chansend", "smallunderplateau"];
    for svc in services {
        copy_series(svc, dir.path(), |n| format!("{svc}-{n}"), now);
    }
    let stray = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    stray("README.md", b"# recordings of three services\n");
    stray("manifest.json", br#"{"services": 3}"#);
    stray("empty.pb.gz", b"");
    let profiles = root().join("testdata/profiles");
    stray(
        "cpu.pb.gz",
        &std::fs::read(profiles.join("cpu.pb.gz")).unwrap(),
    );
    stray(
        "allocs.pb.gz",
        &std::fs::read(profiles.join("allocs.pb.gz")).unwrap(),
    );

    let path = dir.path().to_path_buf();
    let o = hunt(&[&path, &"--json", &"--fail-on", &"leak"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a leak in any report trips --fail-on: {}",
        stderr(&o)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let reports = v["reports"].as_array().expect("a report per process");
    assert_eq!(reports.len(), 3, "{v}");
    let mut seen: Vec<&str> = reports
        .iter()
        .map(|r| r["process"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, ["chansend", "globalmap", "smallunderplateau"]);
    for r in reports {
        let svc = r["process"].as_str().unwrap();
        let kind = if svc == "chansend" {
            "goroutine"
        } else {
            "heap"
        };
        assert_site(&findings(r)[0], svc, marker(svc, "LEAK"), kind, "leak");
        // Each process has its own texts, dumps and leak profiles: paired
        // by name with its protos, not mixed.
        let own = examples(svc);
        let count = |pat: &str| {
            std::fs::read_dir(&own)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_str()
                        .unwrap()
                        .contains(pat)
                })
                .count()
        };
        assert_eq!(r["snapshots"]["memstats"], count(".debug1."), "{svc}");
        assert_eq!(
            r["snapshots"]["goroutineleak"],
            count("goroutineleak-"),
            "{svc}"
        );
        let notes = r["notes"].to_string();
        assert!(
            notes.contains("process ") && notes.contains(" of 3 among the inputs"),
            "{notes}"
        );
        for (file, why) in [
            ("README.md", "not a profile"),
            ("manifest.json", "not a profile"),
            ("empty.pb.gz", "empty file"),
            ("cpu.pb.gz", "a CPU profile"),
            ("allocs.pb.gz", "an allocs profile"),
        ] {
            assert!(
                notes.contains(&format!("{file}: {why}")),
                "{svc}: {file} skipped as {why}: {notes}"
            );
        }
    }
    // Text: a report per process.
    let o = hunt(&[&path, &"--no-stacks"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for svc in services {
        assert_eq!(
            out.matches(&format!("heapdrift hunt: {svc}")).count(),
            1,
            "{out}"
        );
    }
}

#[test]
fn texts_are_placed_by_the_protos_fetched_alongside() {
    // A recording whose names carry a sequence number, not a time, copied
    // so that every file time is six days off: the texts (no time of their
    // own) take their protos' times, not the file times.
    let dir = tempfile::tempdir().unwrap();
    let mut stamps: Vec<String> = std::fs::read_dir(examples("globalmap"))
        .unwrap()
        .map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.split('-').nth(1).unwrap().split(".pb").next().unwrap()[..19].to_string()
        })
        .collect();
    stamps.sort();
    stamps.dedup();
    let six_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(6 * 86_400);
    copy_series(
        "globalmap",
        dir.path(),
        |n| {
            let (kind, rest) = n.split_once('-').unwrap();
            let seq = stamps
                .iter()
                .position(|s| rest.starts_with(s.as_str()))
                .unwrap();
            format!("{kind}-{seq:04}{}", &rest[20..])
        },
        six_days_ago,
    );
    let path = dir.path().to_path_buf();
    let v = json(&[&path]);
    let span = v["span_seconds"].as_f64().unwrap();
    assert!((60.0..120.0).contains(&span), "span {span} s");
    assert_eq!(v["snapshots"]["memstats"], v["snapshots"]["heap"]);
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("heap debug=1 text times from the snapshots fetched alongside (same name)"),
        "{notes}"
    );
    assert!(
        notes.contains("goroutine debug=2 dump times from the snapshots fetched alongside"),
        "{notes}"
    );
    assert_site(
        &findings(&v)[0],
        "globalmap",
        marker("globalmap", "LEAK"),
        "heap",
        "leak",
    );
}

#[test]
fn file_times_far_from_the_profiles_are_not_believed() {
    // A goroutine debug=1 text carries no time and pairs with nothing; its
    // file time is six days before the protos' own times.
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now();
    copy_series("globalmap", dir.path(), |n| n.to_string(), now);
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.to_str().unwrap().contains(".debug") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let text = dir.path().join("goroutines.txt");
    std::fs::copy(root().join("testdata/profiles/goroutine.txt"), &text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&text)
        .unwrap()
        .set_modified(now - std::time::Duration::from_secs(6 * 86_400))
        .unwrap();
    let path = dir.path().to_path_buf();
    let v = json(&[&path]);
    let span = v["span_seconds"].as_f64().unwrap();
    assert!(span < 120.0, "span {span} s");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("warning: 1 goroutine debug=1 text left out: their times, from file modification times, lie")
            && notes.contains("goroutines.txt"),
        "{notes}"
    );
}

/// What heapdriftprobe.Guard leaves near the memory limit (heap profiles,
/// goroutine dumps and snapshots marked `near_limit`, written by
/// testdata/probe/guardleak through scripts/gen-probe-fixtures.sh) is a
/// series like any other: hunt names the leaking line (its `// LEAK:`
/// marker) and says the snapshots were captured near the limit.
#[test]
fn a_guard_capture_directory_is_a_series_marked_near_the_limit() {
    let dir = root().join("testdata/probe/guard-captures");
    let src = std::fs::read_to_string(root().join("testdata/probe/guardleak/main.go")).unwrap();
    let leak_line = src
        .lines()
        .position(|l| l.contains("// LEAK:"))
        .expect("a LEAK marker") as i64
        + 1;
    let v = json(&[&dir]);
    let top = &findings(&v)[0];
    assert_eq!(top["function"], "main.remember", "{top}");
    assert_eq!(top["file"], "guardleak/main.go");
    assert_eq!(top["line"].as_i64(), Some(leak_line));
    assert_eq!(top["verdict"], "leak", "{top}");
    let snapshots = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("heapdrift-")
        })
        .count();
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    let near = format!(
        "{snapshots} snapshots were captured near the memory limit by heapdriftprobe.Guard"
    );
    assert!(
        notes.iter().any(|n| n.starts_with(&near)),
        "no note {near:?} in {notes:?}"
    );
    // The text report says it too, and skips none of Guard's files.
    let text = stdout(&hunt(&[&dir]));
    assert!(text.contains("heapdriftprobe.Guard"), "{text}");
    assert!(!text.contains("skipped"), "{text}");
}

/// The line of a `// RESOURCE-…:` marker in the zoo's filestore, and the
/// resource it names.
fn filestore_marker(tag: &str) -> (i64, String) {
    let src =
        std::fs::read_to_string(root().join("testdata/zoo/resource/filestore/main.go")).unwrap();
    src.lines()
        .enumerate()
        .find_map(|(i, l)| {
            l.split(&format!("// {tag}: "))
                .nth(1)
                .map(|rest| (i as i64 + 1, rest.trim().to_string()))
        })
        .unwrap_or_else(|| panic!("no {tag} marker"))
}

/// Custom profiles of tracked resources (heapdriftprobe's `Track`,
/// recorded from the zoo's filestore by scripts/gen-probe-fixtures.sh) are
/// a series of their own: the file that the error path never closes is
/// named at the line that acquired it, and the pool that fills once and
/// the reads that hold a file for a while are not called leaks.
#[test]
fn a_tracked_resource_left_open_is_named_at_the_acquiring_line() {
    let dir = root().join("testdata/probe/tracked-files");
    let (line, resource) = filestore_marker("RESOURCE-LEAK");
    let v = json(&[&dir]);
    let top = &findings(&v)[0];
    assert_eq!(top["kind"], "resource", "{top}");
    assert_eq!(top["resource"], resource.as_str(), "{top}");
    assert_eq!(top["function"], "main.(*store).read", "{top}");
    assert_eq!(top["file"], "zoo/resource/filestore/main.go");
    assert_eq!(top["line"].as_i64(), Some(line), "{top}");
    assert_eq!(top["verdict"], "leak", "{top}");
    assert_eq!(top["unit"], "held", "{top}");
    for tag in ["RESOURCE-PLATEAU", "RESOURCE-CHURN"] {
        let (l, _) = filestore_marker(tag);
        for f in findings(&v) {
            if f["kind"] == "resource" && f["line"].as_i64() == Some(l) {
                assert!(
                    f["verdict"] != "leak" && f["verdict"] != "suspect",
                    "{tag}: {f}"
                );
            }
        }
    }
    assert!(
        !findings(&v).iter().skip(1).any(|f| f["verdict"] == "leak"),
        "{v}"
    );
    let text = stdout(&hunt(&[&dir]));
    assert!(text.contains(&format!("resource   {resource}")), "{text}");
    assert!(text.contains("(resource)"), "{text}");
    assert!(!text.contains("skipped"), "{text}");
}
