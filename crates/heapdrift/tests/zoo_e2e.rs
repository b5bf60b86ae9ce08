//! The leak zoo end to end (issues 3 and 9): every service of testdata/zoo
//! runs twice on loopback, recorded two ways at the same time, and
//! `heapdrift hunt` reads each recording:
//!
//! - mode A: scripts/record-zoo-series.py (--mode A: `-memprofilerate 65536`,
//!   `heap?gc=1`, a snapshot every 3 s) writes plain files, read with
//!   `heapdrift hunt DIR --json`;
//! - mode B, the way users record: Go's default MemProfileRate, ONE
//!   `heapdrift watch` of all services (`--every 2s`, plain
//!   `/debug/pprof/heap`), read with `heapdrift hunt ARCHIVE --target URL
//!   --json` (and, as a cross-check of rank 1, the same with
//!   `--from-files`, which decodes the heap files instead of reading the
//!   index's per-site values).
//!
//! Services run at Go's default GOGC. A service's `// zoo:flags MODES:
//! FLAGS` lines add flags in those modes (testdata/zoo/README.md).
//!
//! Expected results come from the markers in the sources (never written
//! here), per mode:
//! - `// LEAK:`: rank 1 is the marker's main.go:line with verdict `leak`;
//! - `// LEAK-SLOW:`: rank 1 is the marker's line, verdict `leak` or
//!   `suspect`;
//! - `// LEAK-MEMORY: COMPONENT`: rank 1 is the MemStats component
//!   COMPONENT (`non-Go memory`, ...) with verdict `leak`;
//! - `// PLATEAU:`: the site is not `leak`;
//! - `// CONTROL:`: no finding of any kind is `leak`.
//!
//! `ZOO_E2E_KEEP=1` keeps the recordings (the path is printed).
//!
//! testdata/zoo/known-misses.txt lists the (row, mode) pairs that fail
//! today for engine gaps being fixed in crates/drift; they are reported, not
//! failed, and one that passes is printed so the list gets pruned. Any other
//! failure fails the test.
//!
//! Reported (target/zoo-e2e.md and stdout): per row and mode the rank of the
//! true site, its verdict, confidence and rate, and the time to the first
//! hit: `hunt` re-run on growing prefixes of the recording (hard links of
//! the snapshots taken up to a round), the earliest whose rank 1 meets the
//! row's expectation.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::Value;
use store::{Archive, Kind};

/// The recording window of both modes.
const WINDOW_SECS: u64 = 180;
/// Mode B: the watch's interval.
const B_EVERY: &str = "2s";
/// Mode A: the recorder's interval (each heap fetch runs a GC, so it is
/// slower than B's).
const A_INTERVAL: &str = "3";
/// Prefixes for the time to the first hit: every COARSE-th round, then
/// every round between the last coarse miss and the first coarse hit.
const COARSE: usize = 5;
/// Everything but `go build`: recording plus the hunts.
const BUDGET: Duration = Duration::from_secs(330);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn zoo() -> PathBuf {
    repo().join("testdata/zoo")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    A,
    B,
}

impl Mode {
    fn letter(self) -> char {
        match self {
            Mode::A => 'A',
            Mode::B => 'B',
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Leak,
    LeakSlow,
    LeakMemory,
    Plateau,
    Control,
}

#[derive(Clone, Debug)]
struct Marker {
    tag: Tag,
    line: i64,
    /// LEAK-MEMORY: the MemStats component (`non-Go memory`).
    component: String,
}

struct Service {
    markers: Vec<Marker>,
    /// `// zoo:flags MODES: FLAGS`.
    flags: Vec<(String, Vec<String>)>,
}

impl Service {
    fn flags_for(&self, mode: Mode) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(modes, _)| modes.contains(mode.letter()))
            .flat_map(|(_, f)| f.iter().cloned())
            .collect()
    }
}

/// The services (directories with a main.go), their markers and flags.
fn services() -> BTreeMap<String, Service> {
    let mark =
        Regex::new(r"//\s*(LEAK-SLOW|LEAK-MEMORY|LEAK|PLATEAU|CONTROL):\s*(.*?)\s*$").unwrap();
    let flags = Regex::new(r"^\s*//\s*zoo:flags\s+([AB]+):\s*(.*?)\s*$").unwrap();
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(zoo()).unwrap() {
        let dir = e.unwrap().path();
        let Ok(src) = std::fs::read_to_string(dir.join("main.go")) else {
            continue;
        };
        let mut s = Service {
            markers: Vec::new(),
            flags: Vec::new(),
        };
        for (i, l) in src.lines().enumerate() {
            if let Some(c) = flags.captures(l) {
                s.flags.push((
                    c[1].to_string(),
                    c[2].split_whitespace().map(String::from).collect(),
                ));
            }
            let Some(c) = mark.captures(l) else { continue };
            let tag = match &c[1] {
                "LEAK" => Tag::Leak,
                "LEAK-SLOW" => Tag::LeakSlow,
                "LEAK-MEMORY" => Tag::LeakMemory,
                "PLATEAU" => Tag::Plateau,
                _ => Tag::Control,
            };
            // The component is the marker's text up to a comment in
            // parentheses.
            let component = c[2].split(" (").next().unwrap_or("").trim().to_string();
            s.markers.push(Marker {
                tag,
                line: i as i64 + 1,
                component,
            });
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(name, s);
    }
    out
}

/// A row's name: the service, or `service:plateau` for a PLATEAU marker.
fn row_id(svc: &str, m: &Marker) -> String {
    match m.tag {
        Tag::Plateau => format!("{svc}:plateau"),
        _ => svc.to_string(),
    }
}

/// testdata/zoo/known-misses.txt: `ROW MODE REASON...` per line.
fn known_misses() -> BTreeMap<(String, Mode), String> {
    let path = zoo().join("known-misses.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut it = l.splitn(3, char::is_whitespace);
        let (Some(row), Some(mode), Some(reason)) = (it.next(), it.next(), it.next()) else {
            panic!("{}:{}: want `ROW MODE REASON`", path.display(), i + 1);
        };
        let mode = match mode {
            "A" => Mode::A,
            "B" => Mode::B,
            m => panic!("{}:{}: mode {m:?} is not A or B", path.display(), i + 1),
        };
        out.insert((row.to_string(), mode), reason.trim().to_string());
    }
    out
}

/// A running zoo service, killed on drop. Its stdout stays open: a Go
/// program writing to a closed pipe on fd 1 dies of SIGPIPE.
struct Process {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    addr: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, args: &[String]) -> Process {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{}: first line {line:?}", bin.display()))
        .to_string();
    Process {
        child,
        _stdout: out,
        addr,
    }
}

/// user+system CPU seconds of this process's waited-for children.
fn children_cpu() -> f64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let ru = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, ru.as_mut_ptr());
        ru.assume_init()
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// `heapdrift hunt ARGS --json`.
fn hunt(args: &[&std::ffi::OsStr]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .arg("hunt")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "hunt {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Files mode: a directory of snapshots.
fn hunt_dir(dir: &Path) -> Value {
    hunt(&[dir.as_os_str()])
}

fn findings(v: &Value) -> &[Value] {
    v["findings"].as_array().map_or(&[], |a| a.as_slice())
}

/// Rank 1 as (verdict, function, file, line), to compare two reports.
fn top(v: &Value) -> Option<(String, String, String, i64)> {
    findings(v).first().map(|f| {
        (
            f["verdict"].as_str().unwrap_or("").into(),
            f["function"].as_str().unwrap_or("").into(),
            f["file"].as_str().unwrap_or("").into(),
            f["line"].as_i64().unwrap_or(0),
        )
    })
}

/// Whether finding `f` is the one marker `m` of `svc` points at: its
/// main.go line, or for LEAK-MEMORY its MemStats component.
fn is_target(f: &Value, svc: &str, m: &Marker) -> bool {
    if m.tag == Tag::LeakMemory {
        return f["kind"] == "memory"
            && f["function"]
                .as_str()
                .is_some_and(|n| n.starts_with(&m.component));
    }
    f["file"]
        .as_str()
        .is_some_and(|p| p.ends_with(&format!("zoo/{svc}/main.go")))
        && f["line"].as_i64() == Some(m.line)
}

/// 1-based rank of the first finding the marker points at.
fn rank_of(v: &Value, svc: &str, m: &Marker) -> Option<usize> {
    findings(v)
        .iter()
        .position(|f| is_target(f, svc, m))
        .map(|i| i + 1)
}

/// Whether a LEAK, LEAK-SLOW or LEAK-MEMORY marker is found: rank 1 is its
/// target with the verdict the tag asks for.
fn found(v: &Value, svc: &str, m: &Marker) -> bool {
    findings(v).first().is_some_and(|f| {
        is_target(f, svc, m)
            && match m.tag {
                Tag::LeakSlow => f["verdict"] == "leak" || f["verdict"] == "suspect",
                _ => f["verdict"] == "leak",
            }
    })
}

/// One recording: its snapshots in time order (time in ns, whether a heap
/// profile, path) under `root`, and how to hunt the whole of it.
struct Recording {
    mode: Mode,
    root: PathBuf,
    snaps: Vec<(i64, bool, PathBuf)>,
    /// Mode B: the archive and the target's URL.
    archive: Option<(PathBuf, String)>,
}

impl Recording {
    /// Mode A: the recorder's files, timed by the UTC stamp in their names
    /// (`heap-20261126T170038.957Z.pb.gz`).
    fn from_files(dir: &Path) -> Recording {
        let mut snaps = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let (kind, rest) = name.split_once('-').unwrap();
            let t = stamp_nanos(&rest[..20]).unwrap_or_else(|| panic!("{name}: no time stamp"));
            let heap = kind == "heap" && name.ends_with(".pb.gz");
            snaps.push((t, heap, path));
        }
        snaps.sort();
        Recording {
            mode: Mode::A,
            root: dir.to_path_buf(),
            snaps,
            archive: None,
        }
    }

    /// Mode B: a target's one series in the archive.
    fn from_archive(a: &Archive, archive: &Path, url: &str) -> Recording {
        let t = a
            .targets()
            .unwrap()
            .into_iter()
            .find(|t| t.url == url)
            .unwrap_or_else(|| panic!("{url} not in the archive"));
        let series = a.series(t.id).unwrap();
        assert_eq!(series.len(), 1, "{url}: one series, no restart");
        // `hunt ARCHIVE` does not read allocs profiles (they repeat the
        // heap's samples); as plain files they would be heap snapshots.
        let mut snaps: Vec<(i64, bool, PathBuf)> = a
            .snapshots(series[0].id, None)
            .unwrap()
            .iter()
            .filter(|s| s.kind != Kind::Allocs)
            .map(|s| (s.taken_at, s.kind == Kind::Heap, a.path(s)))
            .collect();
        snaps.sort();
        let root = snaps[0].2.parent().unwrap().parent().unwrap().to_path_buf();
        Recording {
            mode: Mode::B,
            root,
            snaps,
            archive: Some((archive.to_path_buf(), url.to_string())),
        }
    }

    fn heaps(&self) -> Vec<i64> {
        self.snaps.iter().filter(|s| s.1).map(|s| s.0).collect()
    }

    /// The whole recording: mode A reads the files, mode B the archive's
    /// index for the target (or with `from_files` its heap files).
    fn hunt(&self, from_files: bool) -> Value {
        match &self.archive {
            Some((archive, url)) => {
                let mut args = vec![archive.as_os_str(), "--target".as_ref(), url.as_ref()];
                if from_files {
                    args.push("--from-files".as_ref());
                }
                hunt(&args)
            }
            None => hunt_dir(&self.root),
        }
    }

    /// Hard links of every snapshot taken before the (k+1)-th heap
    /// snapshot, i.e. the first k rounds, in the recording's layout;
    /// returns the directory and the seconds from the first to the k-th
    /// heap snapshot.
    fn prefix(&self, k: usize, into: &Path) -> (PathBuf, f64) {
        let heaps = self.heaps();
        let cutoff = heaps.get(k).copied().unwrap_or(i64::MAX);
        let dir = into.join(format!("k{k}"));
        for (_, _, path) in self.snaps.iter().filter(|x| x.0 < cutoff) {
            let dst = dir.join(path.strip_prefix(&self.root).unwrap());
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::hard_link(path, &dst)
                .or_else(|_| std::fs::copy(path, &dst).map(|_| ()))
                .unwrap();
        }
        let secs = (heaps[k.min(heaps.len()) - 1] - heaps[0]) as f64 / 1e9;
        (dir, secs)
    }

    /// Seconds of recording until the marker is first found, on a grid of
    /// rounds (see COARSE), and the number of rounds.
    fn time_to_first_hit(&self, svc: &str, m: &Marker, tmp: &Path) -> Option<(f64, usize)> {
        let n = self.heaps().len();
        let ok = |k: usize| {
            let (dir, secs) = self.prefix(k, tmp);
            let hit = found(&hunt_dir(&dir), svc, m);
            let _ = std::fs::remove_dir_all(&dir);
            hit.then_some(secs)
        };
        let mut miss = 1;
        let mut k = 6;
        loop {
            let k_here = k.min(n);
            if let Some(secs) = ok(k_here) {
                // Refine between the last miss and this hit.
                for j in (miss + 1).max(6)..k_here {
                    if let Some(s2) = ok(j) {
                        return Some((s2, j));
                    }
                }
                return Some((secs, k_here));
            }
            if k_here == n {
                return None;
            }
            miss = k_here;
            k += COARSE;
        }
    }
}

/// `YYYYMMDDTHHMMSS.mmmZ` (UTC) as Unix nanoseconds.
fn stamp_nanos(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se, ms) = (num(9..11)?, num(11..13)?, num(13..15)?, num(16..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((((days * 24 + h) * 60 + mi) * 60 + se) * 1_000_000_000 + ms * 1_000_000)
}

struct Row {
    id: String,
    mode: Mode,
    kind: String,
    site: String,
    rank: Option<usize>,
    verdict: String,
    confidence: Option<f64>,
    rate: String,
    first_hit: String,
    /// Why the row fails its expectation; empty when it meets it.
    why: String,
}

fn rate(f: &Value) -> String {
    let g = f["growth_per_min"].as_f64().unwrap_or(0.0);
    match f["unit"].as_str().unwrap_or("") {
        "bytes" => format!("{:+.2} MiB/min", g / 1048576.0),
        u => format!("{g:+.1} {u}/min"),
    }
}

fn describe(f: &Value) -> String {
    format!(
        "{} {} {}:{}",
        f["verdict"].as_str().unwrap_or(""),
        f["function"].as_str().unwrap_or(""),
        f["file"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or(""),
        f["line"]
    )
}

/// The rows of one service in one recording.
fn analyse(svc: &str, s: &Service, rec: &Recording, scratch: &Path) -> Vec<Row> {
    let v = rec.hunt(false);
    let fs = findings(&v);
    // Mode B: the archive's index and the files give one answer.
    let differs = rec.archive.as_ref().and_then(|_| {
        let from_files = top(&rec.hunt(true));
        (top(&v) != from_files).then(|| {
            format!(
                "rank 1 differs: archive {:?}, files {from_files:?}",
                top(&v)
            )
        })
    });
    let is_control = s.markers.iter().any(|m| m.tag == Tag::Control);
    let mut rows = Vec::new();
    for m in &s.markers {
        let rank = rank_of(&v, svc, m);
        let f = rank.map(|r| &fs[r - 1]);
        let mut row = Row {
            id: row_id(svc, m),
            mode: rec.mode,
            kind: String::new(),
            site: match m.tag {
                Tag::LeakMemory => m.component.clone(),
                _ => format!("{svc}/main.go:{}", m.line),
            },
            rank,
            verdict: f.map_or("stable (not reported)".into(), |f| {
                f["verdict"].as_str().unwrap_or("").to_string()
            }),
            confidence: f.and_then(|f| f["confidence"].as_f64()),
            rate: f.map_or("—".into(), rate),
            first_hit: "—".into(),
            why: String::new(),
        };
        let fkind = f.and_then(|f| f["kind"].as_str()).unwrap_or("");
        match m.tag {
            Tag::Leak | Tag::LeakSlow | Tag::LeakMemory => {
                row.kind = match m.tag {
                    Tag::LeakSlow => format!("slow leak ({fkind})"),
                    _ => format!("leak ({fkind})"),
                };
                if !found(&v, svc, m) {
                    row.why = fs.first().map_or("nothing reported".into(), |t| {
                        format!("rank 1 is {}", describe(t))
                    });
                }
                row.first_hit = match rec.time_to_first_hit(svc, m, scratch) {
                    Some((secs, k)) => format!("{secs:.0} s ({k} rounds)"),
                    None => "never".into(),
                };
            }
            Tag::Plateau => {
                row.kind = "plateau".into();
                if row.verdict == "leak" {
                    row.why = "a warm-up cache reported as a leak".into();
                }
            }
            Tag::Control => row.kind = "control".into(),
        }
        if is_control {
            let leaks: Vec<String> = fs
                .iter()
                .filter(|f| f["verdict"] == "leak")
                .map(describe)
                .collect();
            if !leaks.is_empty() {
                row.why = format!("leak findings in a control: {}", leaks.join("; "));
            }
        }
        if let Some(d) = &differs {
            row.why = d.clone();
        }
        rows.push(row);
    }
    rows
}

/// The Go toolchain: HEAPDRIFT_GO, else the one scripts/setup-go.sh
/// installs in the repository.
fn go() -> PathBuf {
    if let Some(g) = std::env::var_os("HEAPDRIFT_GO").filter(|g| !g.is_empty()) {
        return PathBuf::from(g);
    }
    let local = repo().join(".venv-go/bin/go");
    assert!(
        local.exists(),
        "the zoo needs Go 1.27: set HEAPDRIFT_GO or run scripts/setup-go.sh"
    );
    local
}

#[test]
fn zoo_both_recording_modes() {
    let go = go();
    let t0 = Instant::now();
    let cpu0 = children_cpu();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let st = Command::new(&go)
        .current_dir(zoo())
        .args(["build", "-trimpath", "-o"])
        .arg(format!("{}/", bin.display()))
        .arg("./...")
        .status()
        .unwrap();
    assert!(st.success(), "go build of the zoo failed");
    let built = t0.elapsed();

    let svcs = services();
    assert!(svcs.len() >= 35, "{:?}", svcs.keys());
    let misses = known_misses();
    let rows_expected: BTreeSet<String> = svcs
        .iter()
        .flat_map(|(name, s)| s.markers.iter().map(|m| row_id(name, m)))
        .collect();
    for (row, _) in misses.keys() {
        assert!(
            rows_expected.contains(row),
            "known-misses.txt names {row}, which no marker makes"
        );
    }

    // Mode A: the recorder starts its own instances.
    let a_dir = tmp.path().join("A");
    let recorder = Command::new("python3")
        .arg(repo().join("scripts/record-zoo-series.py"))
        .args(["--mode", "A", "--quiet", "--interval", A_INTERVAL])
        .args(["--seconds", &WINDOW_SECS.to_string()])
        .arg("--bin")
        .arg(&bin)
        .arg("--out")
        .arg(&a_dir)
        .args(svcs.keys())
        .env("HEAPDRIFT_GO", &go)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mode B: the services, watched.
    let running: BTreeMap<&str, Process> = svcs
        .iter()
        .map(|(name, s)| (name.as_str(), start(&bin.join(name), &s.flags_for(Mode::B))))
        .collect();
    let url_of: BTreeMap<&str, String> = running
        .iter()
        .map(|(name, p)| (*name, format!("http://{}", p.addr)))
        .collect();
    let archive = tmp.path().join("archive");
    let cpu1 = children_cpu();
    let watch = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .arg("watch")
        .args(url_of.values())
        .args([
            "--every",
            B_EVERY,
            "--for",
            &format!("{WINDOW_SECS}s"),
            "--quiet",
        ])
        .arg("--archive")
        .arg(&archive)
        .output()
        .unwrap();
    let watch_cpu = children_cpu() - cpu1;
    assert!(
        watch.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&watch.stdout),
        String::from_utf8_lossy(&watch.stderr)
    );
    drop(running);
    let rec_out = recorder.wait_with_output().unwrap();
    assert!(
        rec_out.status.success(),
        "record-zoo-series.py: {}",
        String::from_utf8_lossy(&rec_out.stderr)
    );
    let recorded = t0.elapsed();

    let a = Archive::open_read_only(&archive).unwrap();
    let mut work: Vec<(&str, &Service, Recording)> = Vec::new();
    for (name, s) in &svcs {
        work.push((name, s, Recording::from_files(&a_dir.join(name))));
        work.push((
            name,
            s,
            Recording::from_archive(&a, &archive, &url_of[name.as_str()]),
        ));
    }
    drop(a);

    // Two workers: the machine has two cores.
    let rows = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    std::thread::scope(|sc| {
        for _ in 0..2 {
            sc.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    let Some((svc, s, rec)) = work.get(i) else {
                        break;
                    };
                    let scratch = tmp.path().join(format!("prefix-{svc}-{:?}", rec.mode));
                    let r = analyse(svc, s, rec, &scratch);
                    rows.lock().unwrap().extend(r);
                }
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by(|a, b| {
        (a.kind.starts_with("control"), &a.id, a.mode).cmp(&(
            b.kind.starts_with("control"),
            &b.id,
            b.mode,
        ))
    });

    let wall = t0.elapsed();
    let cpu = children_cpu() - cpu0;
    let mut unexpected = Vec::new();
    let mut prune = Vec::new();
    let mut md = String::new();
    md.push_str(&format!(
        "Zoo end to end: {} services, each recorded twice for {WINDOW_SECS} s at Go's default GOGC: \
         mode A = scripts/record-zoo-series.py --mode A (`-memprofilerate 65536`, `heap?gc=1`, every {A_INTERVAL} s), \
         mode B = one `heapdrift watch --every {B_EVERY}` (Go's default MemProfileRate, plain `/debug/pprof/heap`).\n\n",
        svcs.len()
    ));
    md.push_str("| scenario | mode | kind | true site | rank of true site | verdict | confidence | rate | time to first leak | result |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in &rows {
        let known = misses.get(&(r.id.clone(), r.mode));
        let result = match (r.why.is_empty(), known) {
            (true, None) => "ok".to_string(),
            (true, Some(_)) => {
                prune.push(format!("{} {}", r.id, r.mode.letter()));
                "ok (listed in known-misses.txt)".to_string()
            }
            (false, Some(reason)) => format!("known miss ({reason}): {}", r.why),
            (false, None) => {
                unexpected.push(format!("{} {}: {}", r.id, r.mode.letter(), r.why));
                format!("**FAIL**: {}", r.why)
            }
        };
        md.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | {} | {} | {} | {} |\n",
            r.id,
            r.mode.letter(),
            r.kind,
            r.site,
            r.rank.map_or("—".into(), |k| k.to_string()),
            r.verdict,
            r.confidence.map_or("—".into(), |c| format!("{c:.2}")),
            r.rate,
            r.first_hit,
            result
        ));
    }
    md.push_str(&format!(
        "\nWall {:.0} s (go build {:.0} s, recording {:.0} s, hunts {:.0} s); CPU (user+sys) of child processes \
         (go build, zoo services, recorder, heapdrift) {:.0} s, of which heapdrift watch {:.0} s.\n",
        wall.as_secs_f64(),
        built.as_secs_f64(),
        (recorded - built).as_secs_f64(),
        (wall - recorded).as_secs_f64(),
        cpu,
        watch_cpu
    ));
    if !prune.is_empty() {
        md.push_str(&format!(
            "\nListed in testdata/zoo/known-misses.txt but passing in this run (prune an entry once it passes run after run): {}\n",
            prune.join(", ")
        ));
    }
    println!("{md}");
    let _ = std::fs::write(repo().join("target/zoo-e2e.md"), &md);
    assert!(
        unexpected.is_empty(),
        "{} unexpected failure(s):\n{}\n\n{md}",
        unexpected.len(),
        unexpected.join("\n")
    );
    // ZOO_E2E_KEEP keeps the recordings (mode A's files, mode B's archive)
    // for a look; removing them (some 20,000 files) counts otherwise.
    if std::env::var_os("ZOO_E2E_KEEP").is_some() {
        println!("Kept the recordings in {}.", tmp.keep().display());
    } else {
        let removing = Instant::now();
        drop(tmp);
        println!(
            "Removed the recordings in {:.1} s.",
            removing.elapsed().as_secs_f64()
        );
    }
    // The budget excludes `go build`, which a cold Go cache makes slow.
    let ours = t0.elapsed() - built;
    assert!(ours < BUDGET, "took {ours:?} after the build");
}
