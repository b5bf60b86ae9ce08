//! `heapdrift watch` end to end: fault tests against an in-test HTTP server
//! that serves real Go profiles (testdata/profiles) and misbehaves on
//! command; `kill -9` of heapdrift mid-watch; and, with Go
//! (`HEAPDRIFT_GO`), real zoo services watched, killed and restarted.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use store::{Archive, GapReason, Kind};

mod fake_http;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_heapdrift")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("testdata/profiles").join(name)).unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Normal,
    Error500,
    /// 200 with a body that is not a profile.
    Garbage,
    /// Answers after this long (past heapdrift's timeout).
    Slow(Duration),
    /// The listener is closed: connections are refused.
    Down,
    /// Each connection is reset (RST) once the request is read.
    Reset,
    /// A service without net/http/pprof: Go's default mux answers every
    /// path with `404 page not found`.
    NoPprof,
}

struct State {
    mode: Mode,
    /// Heap requests answered since the last "restart": the heap served is
    /// heap_1, heap_2, heap_3, heap_3… (growing cumulative counters).
    heap_served: usize,
    /// Good profile responses per archive kind name, and their bytes.
    served: BTreeMap<&'static str, Vec<Vec<u8>>>,
    /// Heap profiles to serve instead of heap_1..3 (the last repeats).
    heaps: Option<Arc<Vec<Vec<u8>>>>,
    /// Keep served bodies (off for the scale test).
    keep: bool,
    /// In Normal mode, this path answers 500.
    fail_path: Option<&'static str>,
    /// Served at /metrics (else a 404), with `{n}` replaced by a counter.
    metrics: Option<&'static str>,
}

/// A fake Go service: /debug/pprof/ index, heap (proto and debug=1),
/// goroutine (proto and debug=2), allocs; goroutineleak answers 404
/// "Unknown profile" as Go ≤ 1.25 does.
struct FakeTarget {
    port: u16,
    state: Arc<Mutex<State>>,
    quit: Arc<AtomicBool>,
}

impl FakeTarget {
    fn start() -> FakeTarget {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Normal,
            heap_served: 0,
            served: BTreeMap::new(),
            heaps: None,
            keep: true,
            fail_path: None,
            metrics: None,
        }));
        let quit = Arc::new(AtomicBool::new(false));
        let (st, q) = (state.clone(), quit.clone());
        std::thread::spawn(move || {
            let mut listener = Some(listener);
            while !q.load(Ordering::Relaxed) {
                let down = st.lock().unwrap().mode == Mode::Down;
                if down {
                    listener = None;
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                if listener.is_none() {
                    // Back up on the same port.
                    match TcpListener::bind(("127.0.0.1", port)) {
                        Ok(l) => listener = Some(l),
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    }
                }
                let l = listener.as_ref().unwrap();
                l.set_nonblocking(true).unwrap();
                match l.accept() {
                    Ok((conn, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || serve(conn, &st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FakeTarget { port, state, quit }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn set(&self, m: Mode) {
        self.state.lock().unwrap().mode = m;
    }

    /// The next heap profile comes from a "new process": its cumulative
    /// counters start low again.
    fn restart(&self) {
        self.state.lock().unwrap().heap_served = 0;
    }

    fn served(&self) -> BTreeMap<&'static str, Vec<Vec<u8>>> {
        self.state.lock().unwrap().served.clone()
    }
}

impl Drop for FakeTarget {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Relaxed);
    }
}

const INDEX: &str = "<html><table>\n<thead><td>Count</td><td>Profile</td></thead>\n\
<tr><td>0</td><td><a href='allocs?debug=1'>allocs</a></td></tr>\n\
<tr><td>9</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n\
<tr><td>0</td><td><a href='goroutineleak?debug=1'>goroutineleak</a></td></tr>\n\
<tr><td>3</td><td><a href='heap?debug=1'>heap</a></td></tr>\n</table></html>";

fn serve(mut conn: TcpStream, st: &Mutex<State>) {
    let Some(path) = fake_http::request_path(&conn) else {
        return;
    };
    let (mut mode, fail_path) = {
        let s = st.lock().unwrap();
        (s.mode, s.fail_path)
    };
    if mode == Mode::Normal && fail_path == Some(path.as_str()) {
        mode = Mode::Error500;
    }
    let (status, body, kind): (&str, Vec<u8>, Option<&'static str>) = match mode {
        Mode::Error500 => ("500 Internal Server Error", b"boom".to_vec(), None),
        Mode::Garbage => ("200 OK", b"<html>502 from some proxy</html>".to_vec(), None),
        Mode::Slow(d) => {
            std::thread::sleep(d);
            ("200 OK", testdata("heap_1.pb.gz"), None)
        }
        Mode::Down => return,
        Mode::Reset => {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket; SO_LINGER 0 makes close() send RST.
            unsafe {
                libc::setsockopt(
                    std::os::fd::AsRawFd::as_raw_fd(&conn),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&raw const linger).cast(),
                    size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            return;
        }
        Mode::NoPprof => ("404 Not Found", b"404 page not found\n".to_vec(), None),
        Mode::Normal => match path.as_str() {
            "/debug/pprof/" => ("200 OK", INDEX.as_bytes().to_vec(), None),
            "/debug/pprof/heap" => {
                let mut s = st.lock().unwrap();
                let body = match &s.heaps {
                    Some(h) => h[s.heap_served.min(h.len() - 1)].clone(),
                    None => testdata(&format!("heap_{}.pb.gz", s.heap_served.min(2) + 1)),
                };
                s.heap_served += 1;
                ("200 OK", body, Some("heap"))
            }
            "/debug/pprof/heap?debug=1" => ("200 OK", testdata("heap.txt"), Some("heap_debug1")),
            "/debug/pprof/goroutine" => ("200 OK", testdata("goroutine.pb.gz"), Some("goroutine")),
            "/debug/pprof/goroutine?debug=2" => (
                "200 OK",
                testdata("goroutine_dump.txt"),
                Some("goroutine_dump"),
            ),
            "/debug/pprof/allocs" => ("200 OK", testdata("allocs.pb.gz"), Some("allocs")),
            "/metrics" if st.lock().unwrap().metrics.is_some() => {
                let s = st.lock().unwrap();
                let n = s.served.get("metrics").map_or(0, Vec::len);
                let body = s.metrics.unwrap().replace("{n}", &n.to_string());
                ("200 OK", body.into_bytes(), Some("metrics"))
            }
            "/metrics" => ("404 Not Found", b"404 page not found\n".to_vec(), None),
            _ => ("404 Not Found", b"Unknown profile\n".to_vec(), None),
        },
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n\r\n",
        body.len()
    );
    let ok = conn.write_all(head.as_bytes()).is_ok() && conn.write_all(&body).is_ok();
    if ok && let Some(k) = kind {
        let mut s = st.lock().unwrap();
        if s.keep {
            s.served.entry(k).or_default().push(body);
        }
    }
}

fn watch_cmd(archive: &Path, targets: &[String], extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("watch")
        .args(targets)
        .arg("--archive")
        .arg(archive)
        .arg("--quiet")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Per kind: the bytes of every snapshot the archive indexes. Metrics
/// texts are left out: the fake targets serve none unless asked to, and
/// heapdrift may write them from /proc.
fn archived(a: &Archive) -> BTreeMap<&'static str, Vec<Vec<u8>>> {
    let mut out: BTreeMap<&'static str, Vec<Vec<u8>>> = BTreeMap::new();
    for t in a.targets().unwrap() {
        for s in a.series(t.id).unwrap() {
            for k in Kind::ALL.into_iter().filter(|&k| k != Kind::Metrics) {
                for snap in a.snapshots(s.id, Some(k)).unwrap() {
                    out.entry(k.as_str())
                        .or_default()
                        .push(a.read(snap.id).unwrap());
                }
            }
        }
    }
    out
}

#[test]
fn faults_are_gaps_restarts_are_series_and_every_snapshot_is_kept() {
    let srv = FakeTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let child = watch_cmd(
        dir.path(),
        &[srv.url()],
        &["--every", "200ms", "--for", "6500ms", "--timeout", "300ms"],
    )
    .spawn()
    .unwrap();
    let at = |s: f64| {
        let d = Duration::from_secs_f64(s).saturating_sub(t0.elapsed());
        std::thread::sleep(d);
    };
    at(1.0);
    srv.set(Mode::Error500);
    at(1.8);
    srv.set(Mode::Garbage);
    at(2.6);
    srv.set(Mode::Slow(Duration::from_secs(1)));
    at(3.4);
    srv.set(Mode::Down);
    at(4.2);
    srv.set(Mode::Normal);
    at(5.0);
    srv.restart();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");

    let a = Archive::open_read_only(dir.path()).unwrap();
    let t = &a.targets().unwrap()[0];
    assert_eq!(t.url, srv.url());
    let gaps = a.gaps(t.id).unwrap();
    let mut reasons: Vec<GapReason> = gaps
        .iter()
        .filter(|g| g.kind.is_none())
        .map(|g| g.reason)
        .collect();
    reasons.dedup();
    assert_eq!(
        reasons,
        [
            GapReason::ServerError,
            GapReason::Garbage,
            GapReason::Timeout,
            GapReason::Down
        ],
        "{gaps:#?}"
    );
    for g in &gaps {
        assert!(g.to_ns > g.from_ns, "{g:?}");
    }
    // Target-level gaps cover the bad phases (0.8 s each) roughly.
    let span: f64 = gaps
        .iter()
        .filter(|g| g.kind.is_none())
        .map(|g| (g.to_ns - g.from_ns) as f64 / 1e9)
        .sum();
    assert!((2.4..4.0).contains(&span), "gaps cover {span}s: {gaps:#?}");

    let series = a.series(t.id).unwrap();
    assert_eq!(series.len(), 2, "{series:#?}");
    assert_eq!(series[0].restart_reason, "first");
    assert!(
        series[1].restart_reason.contains("alloc_space went down"),
        "{}",
        series[1].restart_reason
    );
    assert!(
        !a.snapshots(series[1].id, Some(Kind::Heap))
            .unwrap()
            .is_empty()
    );

    // Every good answer the server sent is in the archive, byte for byte.
    let served = srv.served();
    let stored = archived(&a);
    for (k, bodies) in &served {
        let mut s = stored.get(k).cloned().unwrap_or_default();
        let mut b = bodies.clone();
        s.sort();
        b.sort();
        assert_eq!(
            s.len(),
            b.len(),
            "{k}: stored {} served {}",
            s.len(),
            b.len()
        );
        assert!(s == b, "{k}: stored bytes differ from served");
    }
    assert!(served["heap"].len() >= 15, "{:?}", served["heap"].len());
    // goroutineleak answered 404 Unknown profile: noted, no gap.
    assert!(stdout.contains("does not serve goroutineleak"), "{stdout}");
    assert!(!gaps.iter().any(|g| g.kind == Some(Kind::GoroutineLeak)));
    // The summary names the restart.
    assert!(stdout.contains("series: 2 (1 restarts)"), "{stdout}");
    assert!(stdout.contains("RESTART detected"), "{stdout}");
}

/// Runs `heapdrift watch` to its end: (exit code, stdout, stderr, wall
/// time).
fn run_watch(archive: &Path, targets: &[String], extra: &[&str]) -> (i32, String, String, f64) {
    let t = Instant::now();
    let out = watch_cmd(archive, targets, extra).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        t.elapsed().as_secs_f64(),
    )
}

#[test]
fn a_service_without_pprof_is_told_to_import_it_and_the_empty_run_fails() {
    let srv = FakeTarget::start();
    srv.set(Mode::NoPprof);
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, _) = run_watch(
        dir.path(),
        &[srv.url()],
        &["--every", "200ms", "--for", "1s"],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let heap = format!("{}/debug/pprof/heap", srv.url());
    let expected =
        format!("{heap}: 404 Not Found (no pprof handler here: is net/http/pprof imported?)");
    assert!(stdout.contains(&expected), "{stdout}");
    // The page itself is not printed.
    assert!(!stdout.contains("page not found"), "{stdout}");
    assert_eq!(
        stderr,
        format!("heapdrift watch: no snapshot stored: {expected}\n")
    );
    let a = Archive::open_read_only(dir.path()).unwrap();
    let gaps = a.gaps(a.targets().unwrap()[0].id).unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(gaps[0].reason, GapReason::Garbage);
    assert_eq!(gaps[0].message, expected);
}

#[test]
fn refused_reset_and_unresolvable_targets_are_named_for_the_whole_for() {
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let resets = FakeTarget::start();
    resets.set(Mode::Reset);
    // glibc rejects a `!` in a host name before asking a DNS server: the
    // lookup fails as for an unknown name, and nothing leaves the machine.
    let unresolvable = "http://no-such!host.invalid:6060".to_string();
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, secs) = run_watch(
        dir.path(),
        &[refused.clone(), resets.url(), unresolvable.clone()],
        &["--every", "1s", "--for", "3s"],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    // Backoff no longer ends the watch at its last retry before the end.
    assert!((3.0..3.8).contains(&secs), "{secs}s\n{stdout}");
    let port = resets.port;
    for needle in [
        format!("target failing (down): http://{refused}/debug/pprof/: connection refused: nothing listens on {refused}"),
        format!("target failing (down): http://127.0.0.1:{port}/debug/pprof/: connection reset by 127.0.0.1:{port}"),
        "target failing (down): http://no-such!host.invalid:6060/debug/pprof/: no such host \"no-such!host.invalid\" (DNS: ".to_string(),
    ] {
        assert!(stdout.contains(&needle), "{needle}\n{stdout}");
    }
    assert!(
        stderr.starts_with("heapdrift watch: no snapshot stored: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let a = Archive::open_read_only(dir.path()).unwrap();
    let mut messages = Vec::new();
    for t in a.targets().unwrap() {
        let gaps = a.gaps(t.id).unwrap();
        assert_eq!(gaps.len(), 1, "{gaps:#?}");
        assert_eq!(gaps[0].reason, GapReason::Down);
        // The gap covers the whole watch.
        let secs = (gaps[0].to_ns - gaps[0].from_ns) as f64 / 1e9;
        assert!(secs > 2.8, "{secs}");
        messages.push(gaps[0].message.clone());
    }
    messages.sort();
    assert!(messages[0].contains(": connection re"), "{messages:?}");
    assert!(messages[1].contains(": connection re"), "{messages:?}");
    assert!(messages[2].contains(": no such host "), "{messages:?}");
}

#[test]
fn for_is_the_length_of_the_watch() {
    // Rounds at 0, 2 and 4 s; the watch still lasts 5 s.
    let srv = FakeTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _, secs) =
        run_watch(dir.path(), &[srv.url()], &["--every", "2s", "--for", "5s"]);
    assert_eq!(code, 0, "{stdout}");
    assert!((5.0..5.8).contains(&secs), "{secs}s\n{stdout}");
    assert_eq!(srv.served()["heap"].len(), 3, "{stdout}");
    assert!(stdout.contains("5s elapsed"), "{stdout}");

    // A target that hangs past the end: the end is a stop, and the
    // request in flight gets the 3 s grace period, not its 20 s timeout.
    let stuck = FakeTarget::start();
    stuck.set(Mode::Slow(Duration::from_secs(30)));
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, secs) = run_watch(
        dir.path(),
        &[stuck.url()],
        &["--every", "1s", "--for", "2s", "--timeout", "20s"],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!((5.0..6.5).contains(&secs), "{secs}s\n{stdout}");
    assert!(
        stdout.contains("1 target(s) still fetching at the end were abandoned"),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        format!(
            "heapdrift watch: no snapshot stored: {}: no answer before the end of the watch\n",
            stuck.url()
        )
    );
}

#[test]
fn the_rss_is_read_from_metrics_each_round_and_archived() {
    let srv = FakeTarget::start();
    srv.state.lock().unwrap().metrics = Some(
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
         # TYPE process_resident_memory_bytes gauge\n\
         process_resident_memory_bytes 1.2{n}e+07\n",
    );
    // A second target without /metrics: the test process listens on its
    // port, but is not the binary its heap profiles name.
    let bare = FakeTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, _) = run_watch(
        dir.path(),
        &[srv.url(), bare.url()],
        &["--every", "200ms", "--for", "1s"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "{0} RSS from {0}/metrics (process_resident_memory_bytes)",
            srv.url()
        )),
        "{stdout}"
    );
    // 1.20e7, 1.21e7, ...: the live totals follow the latest reading.
    assert!(stdout.contains("Sys 12.5 MiB  RSS 11.4 MiB"), "{stdout}");
    assert!(stdout.contains("RSS 11.5 MiB"), "{stdout}");
    let me = std::process::id();
    let port = bare.port;
    assert!(
        stdout.contains(&format!(
            "{0} no RSS source: {0}/metrics: 404 Not Found: 404 page not found; \
             and port {port} is held by pid {me} (",
            bare.url()
        )),
        "{stdout}"
    );
    let a = Archive::open_read_only(dir.path()).unwrap();
    let served = srv.served();
    for t in a.targets().unwrap() {
        let s = &a.series(t.id).unwrap()[0];
        let heaps = a.snapshots(s.id, Some(Kind::Heap)).unwrap().len();
        let metrics: Vec<Vec<u8>> = a
            .snapshots(s.id, Some(Kind::Metrics))
            .unwrap()
            .iter()
            .map(|m| a.read(m.id).unwrap())
            .collect();
        if t.url == srv.url() {
            assert_eq!(heaps, 5);
            assert_eq!(metrics, served["metrics"], "stored as served, one a round");
            let m = &a.snapshots(s.id, Some(Kind::Metrics)).unwrap()[0];
            assert!(a.path(m).to_string_lossy().ends_with(".txt"), "{m:?}");
        } else {
            assert!(metrics.is_empty());
        }
    }
}

#[test]
fn one_failing_profile_is_a_gap_of_its_kind_only() {
    let srv = FakeTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let child = watch_cmd(
        dir.path(),
        &[srv.url()],
        &["--every", "100ms", "--for", "2s"],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(600).saturating_sub(t0.elapsed()));
    srv.state.lock().unwrap().fail_path = Some("/debug/pprof/goroutine");
    std::thread::sleep(Duration::from_millis(1200).saturating_sub(t0.elapsed()));
    srv.state.lock().unwrap().fail_path = None;
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let a = Archive::open_read_only(dir.path()).unwrap();
    let t = &a.targets().unwrap()[0];
    let gaps = a.gaps(t.id).unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(gaps[0].kind, Some(Kind::Goroutine));
    assert_eq!(gaps[0].reason, GapReason::ServerError);
    let secs = (gaps[0].to_ns - gaps[0].from_ns) as f64 / 1e9;
    assert!((0.4..0.9).contains(&secs), "{secs}");
    // Heap rounds went on meanwhile: no heap round was lost.
    let s = &a.series(t.id).unwrap()[0];
    let heaps = a.snapshots(s.id, Some(Kind::Heap)).unwrap().len();
    let gors = a.snapshots(s.id, Some(Kind::Goroutine)).unwrap().len();
    assert!(
        heaps >= 15 && gors + 4 <= heaps,
        "heap {heaps} goroutine {gors}"
    );
}

#[test]
fn ctrl_c_ends_cleanly_with_a_summary() {
    let srv = FakeTarget::start();
    // A second target that never answers in time: abandoned at the stop.
    let stuck = FakeTarget::start();
    stuck.set(Mode::Slow(Duration::from_secs(30)));
    let dir = tempfile::tempdir().unwrap();
    let mut child = watch_cmd(
        dir.path(),
        &[srv.url(), stuck.url()],
        &["--every", "100ms", "--for", "0", "--timeout", "20s"],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let t = Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // The grace period is 3 s.
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(stdout.contains("heapdrift watch: 2 target(s)"), "{stdout}");
    assert!(
        stdout.contains("1 target(s) still fetching at the end were abandoned"),
        "{stdout}"
    );
    // The archive is closed and complete: a writer can open it at once
    // and finds nothing to repair.
    let a = Archive::open(dir.path()).unwrap();
    assert_eq!(a.recovery(), &store::RecoveryReport::default());
    let stored = archived(&a);
    assert_eq!(stored["heap"].len(), srv.served()["heap"].len());
}

/// Counts per kind of the snapshots heapdrift reported stored.
fn reported(stdout: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in stdout.lines() {
        if let Some(rest) = l.split(": stored ").nth(1) {
            for k in rest.split(';').next().unwrap().split(',') {
                if !k.is_empty() {
                    *m.entry(k.to_string()).or_default() += 1;
                }
            }
        }
    }
    m
}

#[test]
fn kill_9_during_a_watch_loses_no_completed_snapshot() {
    let srv = FakeTarget::start();
    let dir = tempfile::tempdir().unwrap();
    for (i, ms) in [700u64, 1100, 1500].into_iter().enumerate() {
        let mut child = watch_cmd(dir.path(), &[srv.url()], &["--every", "50ms", "--for", "0"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap(); // SIGKILL
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        child.wait().unwrap();
        // The writer's open repairs what the kill left.
        let a = Archive::open(dir.path()).unwrap();
        let stored = archived(&a);
        let served = srv.served();
        let total = |m: &BTreeMap<&str, Vec<Vec<u8>>>| m.values().map(Vec::len).sum::<usize>();
        // Each run's reported snapshots are in; at most the one in flight
        // at the kill was served but not stored.
        for (k, n) in reported(&stdout) {
            assert!(stored[k.as_str()].len() >= n, "run {i} {k}");
        }
        assert!(
            total(&served) - total(&stored) <= i + 1,
            "run {i}: served {} stored {}",
            total(&served),
            total(&stored)
        );
        // Every stored file is a complete copy of something served.
        for (k, bodies) in &stored {
            for b in bodies {
                assert!(
                    served[k].contains(b),
                    "{k}: a stored file is not what was served"
                );
            }
        }
        drop(a);
    }
}

// ---- With Go: real zoo services. ----

/// Go 1.27 (`HEAPDRIFT_GO`, which scripts/test.sh sets): these tests fail
/// without it rather than pass untested.
fn go() -> String {
    std::env::var("HEAPDRIFT_GO")
        .ok()
        .filter(|g| !g.is_empty())
        .expect("HEAPDRIFT_GO is not set (scripts/test.sh sets it to Go 1.27)")
}

/// Builds globalmap, chansend and mmapleak once for all tests.
fn zoo_bin(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("heapdrift-watch-zoo-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let st = Command::new(go())
            .current_dir(repo().join("testdata/zoo"))
            .arg("build")
            .arg("-o")
            .arg(format!("{}/", d.display()))
            .args([
                "./globalmap",
                "./chansend",
                "./mmapleak",
                "./resource/filestore",
            ])
            .status()
            .unwrap();
        assert!(st.success(), "go build of the zoo failed");
        d
    });
    dir.join(name)
}

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_service(name: &str, addr: &str) -> (Service, String) {
    start_zoo(
        name,
        &["-memprofilerate", "4096", "-rate", "4", "-addr", addr],
    )
}

fn start_zoo(name: &str, args: &[&str]) -> (Service, String) {
    let mut c = Command::new(zoo_bin(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    (Service(c), addr)
}

#[test]
fn zoo_service_snapshot_counts_and_pprof_opens_them() {
    let go = go();
    let (svc, addr) = start_service("chansend", "127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let out = watch_cmd(
        dir.path(),
        std::slice::from_ref(&addr),
        &["--every", "1s", "--for", "12s"],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let a = Archive::open_read_only(dir.path()).unwrap();
    let t = &a.targets().unwrap()[0];
    assert_eq!(t.url, format!("http://{addr}"));
    assert!(a.gaps(t.id).unwrap().is_empty(), "{stdout}");
    let series = a.series(t.id).unwrap();
    assert_eq!(series.len(), 1);
    let n = |k| a.snapshots(series[0].id, Some(k)).unwrap().len();
    // 12 rounds at 1 s (one more or less if the machine stalls).
    let rounds = n(Kind::Heap);
    assert!((11..=13).contains(&rounds), "{rounds} rounds\n{stdout}");
    assert_eq!(n(Kind::HeapDebug1), rounds);
    assert_eq!(n(Kind::Goroutine), rounds);
    assert_eq!(n(Kind::GoroutineDump), rounds.div_ceil(5)); // rounds 0, 5, 10
    assert_eq!(n(Kind::Allocs), 1);
    assert_eq!(n(Kind::GoroutineLeak), 1); // Go 1.27 serves it; 60 s apart
    // MemStats made it into the index.
    let d1 = &a.snapshots(series[0].id, Some(Kind::HeapDebug1)).unwrap()[0];
    assert!(d1.memstats.as_ref().unwrap()["HeapSys"].as_u64().unwrap() > 0);
    // go tool pprof opens a stored heap and goroutineleak.
    for k in [Kind::Heap, Kind::GoroutineLeak, Kind::HeapDebug1] {
        let s = a.snapshots(series[0].id, Some(k)).unwrap().pop().unwrap();
        let o = Command::new(&go)
            .args(["tool", "pprof", "-raw"])
            .arg(a.path(&s))
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{k:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("Samples:"));
    }
    // The live analysis names chansend's leak (main.go:60, see the zoo README).
    assert!(stdout.contains("main.go:60"), "{stdout}");
    // No /metrics: the RSS comes from /proc, one reading a round.
    let pid = svc.0.id();
    assert!(
        stdout.contains(&format!(
            "RSS from /proc/{pid}/status (pid {pid} listens on port"
        )),
        "{stdout}"
    );
    assert_eq!(n(Kind::Metrics), rounds);
    let m = a
        .snapshots(series[0].id, Some(Kind::Metrics))
        .unwrap()
        .pop()
        .unwrap();
    let text = a.read(m.id).unwrap();
    assert!(text.starts_with(format!("# heapdrift: from /proc/{pid}/status\n").as_bytes()));
    let rss = profile::metrics::resident_memory_bytes(&text)
        .unwrap()
        .unwrap();
    assert!(rss > 1 << 20, "{rss}");
}

#[test]
fn zoo_service_killed_and_restarted_mid_watch() {
    let (svc, addr) = start_service("globalmap", "127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let child = watch_cmd(
        dir.path(),
        std::slice::from_ref(&addr),
        &["--every", "500ms", "--for", "9s", "--timeout", "2s"],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    drop(svc); // SIGKILL
    std::thread::sleep(Duration::from_millis(1500));
    let (_svc2, addr2) = start_service("globalmap", &addr);
    assert_eq!(addr, addr2);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let a = Archive::open_read_only(dir.path()).unwrap();
    let t = &a.targets().unwrap()[0];
    let series = a.series(t.id).unwrap();
    assert_eq!(series.len(), 2, "{series:#?}\n{stdout}");
    assert_ne!(series[1].restart_reason, "first");
    for s in &series {
        assert!(
            a.snapshots(s.id, Some(Kind::Heap)).unwrap().len() >= 3,
            "{stdout}"
        );
    }
    let gaps = a.gaps(t.id).unwrap();
    assert!(
        gaps.iter()
            .any(|g| g.kind.is_none() && g.reason == GapReason::Down),
        "{gaps:#?}"
    );
    eprintln!("restart reason: {}", series[1].restart_reason);
}

/// A Go-shaped heap profile of `sites` allocation sites (each its own user
/// function under runtime.mallocgc), every 1000th site growing with `step`.
fn synth_heap(sites: usize, step: i64) -> Vec<u8> {
    use profile::{Function, Line, Location, Mapping, Profile, Sample, ValueType};
    let vt = |t: &str, u: &str| ValueType {
        r#type: t.into(),
        unit: u.into(),
    };
    let mut p = Profile {
        sample_types: vec![
            vt("alloc_objects", "count"),
            vt("alloc_space", "bytes"),
            vt("inuse_objects", "count"),
            vt("inuse_space", "bytes"),
        ],
        time_nanos: 1_700_000_000_000_000_000 + step * 5_000_000_000,
        period_type: Some(vt("space", "bytes")),
        period: 524_288,
        mappings: vec![Mapping {
            id: 1,
            start: 0x400000,
            limit: 0x10000000,
            file: "/srv/svc".into(),
            build_id: "synthbuild".into(),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..Default::default()
        }],
        ..Default::default()
    };
    let func = |p: &mut Profile, name: String, file: String, line: i64| {
        p.functions.push(Function {
            id: p.functions.len() as u64 + 1,
            name: name.clone(),
            system_name: name,
            filename: file,
            start_line: 1,
        });
        let id = p.locations.len() as u64 + 1;
        p.locations.push(Location {
            id,
            mapping: Some(0),
            address: 0x400000 + id * 16,
            lines: vec![Line {
                function: Some(p.functions.len() as u32 - 1),
                line,
                column: 0,
            }],
            is_folded: false,
        });
        p.locations.len() as u32 - 1
    };
    let malloc = func(&mut p, "runtime.mallocgc".into(), "malloc.go".into(), 1000);
    let main = func(&mut p, "main.main".into(), "/src/svc/main.go".into(), 20);
    for i in 0..sites {
        let l = func(
            &mut p,
            format!("example.com/svc/pkg{}.handler{i}", i % 50),
            format!("/src/svc/pkg{}/h.go", i % 50),
            10 + (i as i64 % 300),
        );
        let k = i as i64 + 1;
        let inuse = if i % 1000 == 0 {
            k + step * 3
        } else {
            k + (step * 7 + k) % 5
        };
        let alloc = k * 10 + step * k;
        p.samples.push(Sample {
            locations: vec![malloc, l, main],
            values: vec![alloc, alloc * 64, inuse, inuse * 64],
            ..Default::default()
        });
    }
    profile::proto::encode(&p)
}

/// user+system CPU seconds of a running process (100 Hz clock ticks).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The scale claim: 20 targets at 5 s, each serving 10k-site heap profiles.
/// Prints heapdrift's CPU use. Run in release:
/// `cargo test --release -p heapdrift --test watch -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: cargo test --release -p heapdrift --test watch -- --ignored --nocapture"]
fn scale_20_targets_10k_sites_every_5s() {
    let secs = 30;
    let heaps: Arc<Vec<Vec<u8>>> = Arc::new((0..8).map(|s| synth_heap(10_000, s)).collect());
    let servers: Vec<FakeTarget> = (0..20)
        .map(|_| {
            let t = FakeTarget::start();
            {
                let mut s = t.state.lock().unwrap();
                s.heaps = Some(heaps.clone());
                s.keep = false;
            }
            t
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = servers.iter().map(FakeTarget::url).collect();
    let t = Instant::now();
    let mut child = watch_cmd(
        dir.path(),
        &urls,
        &["--every", "5s", "--for", &format!("{secs}s")],
    )
    .spawn()
    .unwrap();
    let pid = child.id();
    let mut cpu = 0.0;
    let mut stdout = String::new();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        out.read_to_string(&mut stdout).unwrap();
        stdout
    });
    while child.try_wait().unwrap().is_none() {
        if let Some(c) = cpu_seconds(pid) {
            cpu = c;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let wall = t.elapsed().as_secs_f64();
    let stdout = reader.join().unwrap();
    let a = Archive::open_read_only(dir.path()).unwrap();
    let mut rounds = Vec::new();
    for t in a.targets().unwrap() {
        let s = &a.series(t.id).unwrap()[0];
        rounds.push(a.snapshots(s.id, Some(Kind::Heap)).unwrap().len());
    }
    let m = a.snapshots(
        a.series(a.targets().unwrap()[0].id).unwrap()[0].id,
        Some(Kind::Heap),
    );
    let sites = a
        .heap_matrix(&[m.unwrap()[0].series], Kind::Heap)
        .unwrap()
        .sites
        .len();
    eprintln!(
        "20 targets x {sites} sites, every 5 s, {wall:.1} s: heapdrift CPU {cpu:.2} s = {:.1}% of one core; heap snapshots per target {:?}",
        100.0 * cpu / wall,
        rounds
    );
    assert!(
        rounds.iter().all(|&r| r == secs / 5),
        "{rounds:?}\n{stdout}"
    );
}

#[test]
fn a_second_watch_continues_the_series_of_the_same_process() {
    let srv = FakeTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let out = watch_cmd(
            dir.path(),
            &[srv.url()],
            &["--every", "200ms", "--for", "1s"],
        )
        .output()
        .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run();
    assert!(first.contains("series 1 (first)"), "{first}");
    let second = run();
    assert!(second.contains("series 1 (resumed)"), "{second}");
    srv.restart();
    let third = run();
    assert!(third.contains("RESTART detected"), "{third}");
    let a = Archive::open_read_only(dir.path()).unwrap();
    let t = &a.targets().unwrap()[0];
    let series = a.series(t.id).unwrap();
    assert_eq!(series.len(), 2, "{series:#?}");
    assert!(series[1].restart_reason.contains("alloc_space went down"));
    assert!(a.snapshots(series[0].id, Some(Kind::Heap)).unwrap().len() >= 8);
}

/// heapdrift's Go companion in the target (issue 13): `watch` finds
/// `/debug/heapdrift/snapshot`, reads the current RSS from it and archives
/// the snapshots; `hunt` then names mmapleak's leak outside the Go heap (its
/// `// LEAK-MEMORY:` component) from that RSS by the 6th snapshot, and says
/// where the RSS came from.
#[test]
fn the_probe_gives_watch_the_current_rss_and_hunt_names_memory_outside_the_heap() {
    let src = std::fs::read_to_string(repo().join("testdata/zoo/mmapleak/main.go")).unwrap();
    let component = src
        .lines()
        .find_map(|l| l.split("// LEAK-MEMORY: ").nth(1))
        .expect("a LEAK-MEMORY marker")
        .trim()
        .to_string();
    let (_svc, addr) = start_zoo("mmapleak", &["-probe", "-rate", "6"]);
    let dir = tempfile::tempdir().unwrap();
    let out = watch_cmd(
        dir.path(),
        std::slice::from_ref(&addr),
        &["--every", "1s", "--for", "6s"],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "RSS from http://{addr}/debug/heapdrift/snapshot (heapdriftprobe)"
        )),
        "{stdout}"
    );
    let a = Archive::open_read_only(dir.path()).unwrap();
    let t = &a.targets().unwrap()[0];
    let series = a.series(t.id).unwrap();
    let n = |k| a.snapshots(series[0].id, Some(k)).unwrap().len();
    let rounds = n(Kind::Heap);
    assert!((6..=7).contains(&rounds), "{rounds} rounds\n{stdout}");
    assert_eq!(n(Kind::Probe), rounds, "one probe snapshot per round");
    assert_eq!(n(Kind::Metrics), 0, "the probe, not /metrics or /proc");
    // Archived as served: JSON that the probe's schema reads.
    let snap = a
        .snapshots(series[0].id, Some(Kind::Probe))
        .unwrap()
        .remove(0);
    let bytes = std::fs::read(a.path(&snap)).unwrap();
    assert!(
        profile::probe::parse_snapshot(&bytes)
            .unwrap()
            .rss
            .is_some()
    );
    drop(a);

    let o = Command::new(bin())
        .arg("hunt")
        .arg(dir.path())
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let top = &v["findings"][0];
    assert_eq!(top["kind"], "memory", "{top}");
    assert!(
        top["function"].as_str().unwrap().starts_with(&component),
        "{top}"
    );
    assert_eq!(top["verdict"], "leak", "{top}");
    assert!(
        v["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("from heapdriftprobe's snapshots")),
        "{}",
        v["notes"]
    );
}

/// A tracked resource that an error path never releases, end to end: the
/// zoo's filestore (heapdriftprobe's `Track` around its open files) and
/// its control (`-fixed`, which closes on every path) watched together.
/// `watch` finds their custom profiles in Go's index and archives them;
/// `hunt` names the leaking one at the line that acquired the file, and
/// calls nothing in the control a leak.
#[test]
fn a_forgotten_release_is_named_at_the_acquiring_line_and_the_control_is_clean() {
    let src =
        std::fs::read_to_string(repo().join("testdata/zoo/resource/filestore/main.go")).unwrap();
    let (line, resource) = src
        .lines()
        .enumerate()
        .find_map(|(i, l)| {
            l.split("// RESOURCE-LEAK: ")
                .nth(1)
                .map(|r| (i as i64 + 1, r.trim().to_string()))
        })
        .expect("a RESOURCE-LEAK marker");
    let (_leaky, leaky) = start_zoo("filestore", &[]);
    let (_fixed, fixed) = start_zoo("filestore", &["-fixed"]);
    let dir = tempfile::tempdir().unwrap();
    let out = watch_cmd(
        dir.path(),
        &[leaky.clone(), fixed.clone()],
        &["--every", "1s", "--for", "8s"],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let a = Archive::open_read_only(dir.path()).unwrap();
    for t in a.targets().unwrap() {
        let series = a.series(t.id).unwrap();
        let n = |k| a.snapshots(series[0].id, Some(k)).unwrap().len();
        // Both trackers, every round.
        assert_eq!(n(Kind::Resource), 2 * n(Kind::Heap), "{}", t.url);
        assert!(n(Kind::Heap) >= 6, "{} rounds\n{stdout}", n(Kind::Heap));
    }
    drop(a);
    let hunt = |addr: &str| -> serde_json::Value {
        let o = Command::new(bin())
            .arg("hunt")
            .arg(dir.path())
            .args(["--target", &format!("http://{addr}"), "--json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let v = hunt(&leaky);
    let top = &v["findings"][0];
    assert_eq!(top["kind"], "resource", "{v}");
    assert_eq!(top["resource"], resource.as_str(), "{top}");
    assert_eq!(top["function"], "main.(*store).read", "{top}");
    assert_eq!(top["line"].as_i64(), Some(line), "{top}");
    assert_eq!(top["verdict"], "leak", "{top}");
    // The control's resources were read, and none grows. (What its heap
    // and memory do in an 8-second warm-up is the zoo's business.)
    let v = hunt(&fixed);
    let resources = v["snapshots"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.ends_with("(resource)"))
        .count();
    assert_eq!(resources, 2, "{v}");
    let growing: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["kind"] == "resource" && (f["verdict"] == "leak" || f["verdict"] == "suspect")
        })
        .collect();
    assert!(growing.is_empty(), "{growing:?}");
}
