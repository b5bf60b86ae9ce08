//! `heapdrift serve` end to end: the binary serves plain snapshot files
//! (examples/globalmap, a recorded real series) and an archive written with
//! store's API (also while it grows); the tests read the dashboard's JSON
//! endpoints over HTTP and check their shapes, the rank-1 finding with its
//! points, the links into the pprof views, and that profile-derived names
//! with markup in them come out escaped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use store::{Archive, Identity, Kind, SeriesId, Summary};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_heapdrift")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `heapdrift serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(inputs: &[&Path]) -> Server {
        let mut child = Command::new(bin())
            .arg("serve")
            .args(inputs)
            .args(["--http=127.0.0.1:0", "--no_browser"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start heapdrift serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("Serving web UI on ") {
                    let _ = tx.send(Ok(url.trim().trim_end_matches('/').to_string()));
                } else {
                    let _ = tx.send(Err(line));
                }
            }
        });
        let mut other = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(Ok(base)) => return Server { child, base },
                Ok(Err(line)) => other.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("heapdrift serve printed no URL; stderr: {other:?}");
                }
            }
        }
    }

    fn get(&self, path: &str) -> Response {
        get(&format!("{}{path}", self.base))
    }

    fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(
            r.header("content-type").starts_with("application/json"),
            "{path}"
        );
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 GET (no client crate needed for loopback tests).
fn get(url: &str) -> Response {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        body = out;
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn globalmap() -> PathBuf {
    repo().join("examples/globalmap")
}

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The archive kind of an examples/ file name.
fn kind_of(path: &Path) -> Kind {
    let n = path.file_name().unwrap().to_str().unwrap();
    if n.starts_with("goroutineleak-") {
        Kind::GoroutineLeak
    } else if n.starts_with("goroutine-") && n.contains(".debug2.") {
        Kind::GoroutineDump
    } else if n.starts_with("goroutine-") {
        Kind::Goroutine
    } else if n.contains(".debug1.") {
        Kind::HeapDebug1
    } else {
        Kind::Heap
    }
}

fn taken_at(path: &Path) -> i64 {
    series::time_from_name(path.file_name().unwrap().to_str().unwrap()).unwrap()
}

/// Puts a file into an archive as `watch` would (the bytes as fetched,
/// the summary from the parsed profile).
fn put(a: &mut Archive, series: SeriesId, path: &Path) -> i64 {
    let bytes = std::fs::read(path).unwrap();
    let parsed = profile::parse(&bytes, &profile::ParseOptions::default()).unwrap();
    let summary = Summary::from_parsed(&parsed, &drift::series::SeriesOptions::default());
    a.put(
        series,
        kind_of(path),
        taken_at(path),
        Some(1),
        &bytes,
        &summary,
    )
    .unwrap()
    .0
}

fn count_files(dir: &Path, prefix: &str, suffix: &str) -> usize {
    files_of(dir)
        .iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.starts_with(prefix) && n.ends_with(suffix)
        })
        .count()
}

/// The checks shared by the files and archive variants: the rank-1
/// finding is globalmap's leak at main.go:74, with one point per heap
/// snapshot, each linked to a heap snapshot of the same time.
fn check_globalmap_findings(s: &Server, series: &str) -> Value {
    let heaps = count_files(&globalmap(), "heap-", ".pb.gz");
    let doc = s.json(&format!("/api/series/{series}/findings"));
    // The report of `hunt --json`, with the series id.
    assert_eq!(doc["series"], series);
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["process"], "globalmap");
    let f = &doc["findings"][0];
    assert_eq!(f["rank"], 1);
    assert_eq!(f["kind"], "heap");
    assert_eq!(f["verdict"], "leak");
    assert!(
        f["file"].as_str().unwrap().ends_with("globalmap/main.go"),
        "{f}"
    );
    assert_eq!(f["line"], 74);
    assert!(f["function"].as_str().unwrap().starts_with("main."), "{f}");
    assert!(f["growth_per_min"].as_f64().unwrap() > 0.0);
    assert!(f["rate"].as_str().unwrap().ends_with("/min"));
    assert!(!f["root_cause"].as_str().unwrap().is_empty());
    assert!(f["confidence"].as_f64().unwrap() > 0.5);
    let points = f["points"].as_array().unwrap();
    assert_eq!(points.len(), heaps, "one point per heap snapshot");
    let snaps = s.json(&format!("/api/series/{series}/snapshots"));
    let snaps = snaps["snapshots"].as_array().unwrap();
    let mut last_t = i64::MIN;
    for p in points {
        let t = p["time_unix_nanos"].as_i64().unwrap();
        assert!(t > last_t, "points in time order");
        last_t = t;
        let id = p["snapshot"].as_str().expect("each point has its snapshot");
        let snap = snaps.iter().find(|x| x["id"] == id).expect("listed");
        assert_eq!(snap["kind"], "heap");
        assert_eq!(snap["time_unix_nanos"].as_i64().unwrap(), t);
    }
    // It leaks: values grow from first to last, and the trend says so.
    let (v0, v1) = (
        points[0]["value"].as_f64().unwrap(),
        points[heaps - 1]["value"].as_f64().unwrap(),
    );
    assert!(v1 > v0 * 2.0, "{v0} -> {v1}");
    let (start, end) = (
        doc["start_unix_nanos"].as_i64().unwrap(),
        doc["end_unix_nanos"].as_i64().unwrap(),
    );
    assert!(start <= points[0]["time_unix_nanos"].as_i64().unwrap());
    assert!(last_t <= end);
    let trend = &f["trend"];
    assert!(trend["slope_per_sec"].as_f64().unwrap() > 0.0);
    let seg = &trend["segments"][0];
    assert_eq!(seg["first_point"], 0);
    assert_eq!(seg["last_point"].as_u64().unwrap() as usize, heaps - 1);
    assert!(seg["end_value"].as_f64().unwrap() > seg["start_value"].as_f64().unwrap());
    assert_eq!(f["plateau"], Value::Null);
    // Links into the pprof views: the latest snapshot, and last vs first.
    let last = points[heaps - 1]["snapshot"].as_str().unwrap();
    let first = points[0]["snapshot"].as_str().unwrap();
    assert_eq!(f["flame"], format!("/ui/flamegraph?src={last}"));
    assert_eq!(f["diff"], format!("/ui/flamegraph?src={last}&base={first}"));
    doc
}

fn check_memory(s: &Server, series: &str) {
    let texts = count_files(&globalmap(), "heap-", ".debug1.txt.gz");
    let doc = s.json(&format!("/api/series/{series}/memory"));
    assert_eq!(doc["components"].as_array().unwrap().len(), 6);
    assert_eq!(doc["components"][0], "heap in use");
    let points = doc["points"].as_array().unwrap();
    assert_eq!(points.len(), texts, "one point per debug=1 heap text");
    for p in points {
        let v = p["values"].as_array().unwrap();
        assert_eq!(v.len(), 6);
        assert!(v[0].as_u64().unwrap() > 0, "heap in use");
        assert!(v[3].as_u64().unwrap() > 0, "stacks");
        assert!(p["snapshot"].is_string());
    }
    // The leak shows in the heap in use.
    let inuse = |i: usize| points[i]["values"][0].as_u64().unwrap();
    assert!(inuse(texts - 1) > inuse(0));
}

fn check_page(s: &Server) {
    let page = s.get("/");
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(
        page.header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert!(page.body.contains("/dashboard/dashboard.js"));
    let js = s.get("/dashboard/dashboard.js");
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(
        !js.body.contains("innerHTML"),
        "names must never go through innerHTML"
    );
    assert_eq!(s.get("/dashboard/dashboard.css").status, 200);
    let missing = s.get("/api/series/999999/findings");
    assert_eq!(missing.status, 404, "{}", missing.body);
}

/// The views open the snapshot a link names, and a diff with a base. (The
/// flame graph view is checked in the browser test; the top table shows
/// the same profile as plain HTML.)
fn check_views(s: &Server, f: &Value) {
    let function = f["function"].as_str().unwrap();
    for key in ["flame", "diff"] {
        let url = f[key]
            .as_str()
            .unwrap()
            .replace("/ui/flamegraph", "/ui/top");
        let r = s.get(&url);
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        assert!(r.body.contains(function), "{url} lists {function}");
    }
    let src = f["flame"].as_str().unwrap().split("src=").nth(1).unwrap();
    let title = s.get(&format!("/ui/top?src={src}"));
    assert!(
        title.body.contains(&format!("snapshot {src} · heap")),
        "the title names the snapshot"
    );
    let bad = s.get("/ui/top?src=nonexistent");
    assert_ne!(bad.status, 200, "an unknown snapshot is an error");
    assert!(bad.body.contains("no such snapshot"));
}

#[test]
fn serves_plain_files() {
    let s = Server::start(&[&globalmap()]);
    let t = s.json("/api/targets");
    assert_eq!(t["source"], "files");
    // Files are no fleet: its ranking is not there, said in JSON.
    let fleet = s.get("/api/fleet");
    assert_eq!(fleet.status, 404);
    assert!(
        fleet.body.contains("not served from a profile store"),
        "{}",
        fleet.body
    );
    let targets = t["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1);
    let series = &targets[0]["series"][0];
    assert_eq!(series["id"], "files");
    assert_eq!(
        series["snapshots"]["heap"].as_u64().unwrap() as usize,
        count_files(&globalmap(), "heap-", ".pb.gz")
    );
    assert_eq!(
        series["snapshots"]["heap_debug1"].as_u64().unwrap() as usize,
        count_files(&globalmap(), "heap-", ".debug1.txt.gz")
    );
    assert!(series["span_seconds"].as_f64().unwrap() > 60.0);
    assert_eq!(series["restarts"], 0);
    assert_eq!(series["gaps"], 0, "regular intervals: no gaps");
    // First and last of the snapshots the series lists.
    let snaps = s.json("/api/series/files/snapshots");
    let times: Vec<i64> = snaps["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["time_unix_nanos"].as_i64().unwrap())
        .collect();
    assert_eq!(series["first_unix_nanos"].as_i64(), times.first().copied());
    assert_eq!(series["last_unix_nanos"].as_i64(), times.last().copied());
    let doc = check_globalmap_findings(&s, "files");
    check_memory(&s, "files");
    check_page(&s);
    check_views(&s, &doc["findings"][0]);
}

/// A directory heapdriftprobe.Guard filled near the memory limit is served
/// like any series: its snapshots counted by kind (the probe's too), its
/// captures noted as near the limit, its leak found.
#[test]
fn serves_a_guard_capture_directory() {
    let dir = repo().join("testdata/probe/guard-captures");
    let s = Server::start(&[&dir]);
    let t = s.json("/api/targets");
    let series = &t["targets"][0]["series"][0];
    let captures = count_files(&dir, "heapdrift-", ".json");
    assert!(captures >= 6, "{captures} captures");
    assert_eq!(series["snapshots"]["probe"].as_u64(), Some(captures as u64));
    assert_eq!(series["snapshots"]["heap"].as_u64(), Some(captures as u64));
    let doc = s.json("/api/series/files/findings");
    let near = format!("{captures} snapshots were captured near the memory limit");
    assert!(
        doc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with(&near)),
        "{}",
        doc["notes"]
    );
    assert_eq!(doc["findings"][0]["function"], "main.remember");
    assert_eq!(doc["findings"][0]["verdict"], "leak");
}

/// Custom profiles of tracked resources are a series the dashboard shows:
/// the finding names its resource, and its timeline has a point per
/// snapshot of that profile.
#[test]
fn serves_tracked_resources() {
    let dir = repo().join("testdata/probe/tracked-files");
    let s = Server::start(&[&dir]);
    let t = s.json("/api/targets");
    let series = &t["targets"][0]["series"][0];
    let profiles = count_files(&dir, "files-", ".pb.gz");
    assert_eq!(
        series["snapshots"]["resource"].as_u64(),
        Some(2 * profiles as u64),
        "{series}"
    );
    let doc = s.json("/api/series/files/findings");
    let top = &doc["findings"][0];
    assert_eq!(top["kind"], "resource", "{top}");
    assert_eq!(top["resource"], "heapdrift.dev/zoo/filestore.files");
    assert_eq!(top["verdict"], "leak");
    assert_eq!(
        top["rate"].as_str().map(|r| r.ends_with("held/min")),
        Some(true),
        "{top}"
    );
    assert_eq!(top["points"].as_array().unwrap().len(), profiles, "{top}");
}

#[test]
fn serves_an_archive_while_it_grows() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_of(&globalmap());
    let (first, rest) = files.split_at(files.len() - 6);
    let url = "http://127.0.0.1:6060";
    let (target, s1) = {
        let mut a = Archive::open(dir.path()).unwrap();
        let target = a.target(url).unwrap();
        let s1 = a
            .begin_series(target, taken_at(&first[0]), &Identity::default(), "first")
            .unwrap();
        for p in first {
            put(&mut a, s1, p);
        }
        (target, s1)
    };
    let s = Server::start(&[dir.path()]);
    let t = s.json("/api/targets");
    assert_eq!(t["source"], "archive");
    let tv = &t["targets"][0];
    assert_eq!(tv["url"], url);
    assert_eq!(tv["series"][0]["id"], s1.0.to_string());
    assert_eq!(tv["series"][0]["restart_reason"], "first");
    assert_eq!(
        tv["series"][0]["total"].as_u64().unwrap() as usize,
        first.len()
    );

    // A writer adds the rest, a restart and a gap while the server runs:
    // the next page load sees them.
    let chansend = files_of(&repo().join("examples/chansend"));
    let s2 = {
        let mut a = Archive::open(dir.path()).unwrap();
        for p in rest {
            put(&mut a, s1, p);
        }
        let t0 = taken_at(&chansend[0]);
        a.record_gap(
            target,
            None,
            t0 + 1_000_000_000,
            t0 + 3_000_000_000,
            store::GapReason::Down,
            "connection refused",
        )
        .unwrap();
        let s2 = a
            .begin_series(target, t0, &Identity::default(), "build id changed")
            .unwrap();
        for p in chansend.iter().take(10) {
            put(&mut a, s2, p);
        }
        s2
    };
    let t = s.json("/api/targets");
    let series = t["targets"][0]["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["total"].as_u64().unwrap() as usize, files.len());
    assert_eq!(series[1]["id"], s2.0.to_string());
    assert_eq!(series[1]["restart_reason"], "build id changed");
    assert_eq!(t["targets"][0]["gaps"][0]["reason"], "down");
    assert_eq!(series[1]["gaps"], 1);

    let id = s1.0.to_string();
    let doc = check_globalmap_findings(&s, &id);
    // Archive snapshot ids are the index's.
    let snap: i64 = doc["findings"][0]["points"][0]["snapshot"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let a = Archive::open_read_only(dir.path()).unwrap();
    assert_eq!(
        a.snapshot(store::SnapshotId(snap)).unwrap().kind,
        Kind::Heap
    );
    check_memory(&s, &id);
    check_views(&s, &doc["findings"][0]);
    // The second series is analysed on its own.
    let doc2 = s.json(&format!("/api/series/{}/findings", s2.0));
    assert!(doc2["findings"].is_array());
}

/// Keys that name a time without saying its unit; times are
/// `*_unix_nanos` in every document (series::json).
const BARE_TIME_NAMES: [&str; 9] = [
    "t", "t0", "time", "from", "to", "start", "end", "t_start", "t_end",
];

/// Checks that no key of `v` is a bare time name and that every integer
/// that can only be a Unix-nanosecond time (after 1973) sits under a
/// `*_unix_nanos` key; returns how many `*_unix_nanos` keys it saw.
fn check_time_names(at: &str, v: &Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                let here = format!("{at}.{k}");
                assert!(
                    !BARE_TIME_NAMES.contains(&k.as_str()),
                    "{here}: a time named without its unit"
                );
                if x.as_i64().is_some_and(|n| n >= 100_000_000_000_000_000) {
                    assert!(k.ends_with("_unix_nanos"), "{here} = {x}: a time");
                }
                usize::from(k.ends_with("_unix_nanos")) + check_time_names(&here, x)
            })
            .sum(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| check_time_names(&format!("{at}[{i}]"), x))
            .sum(),
        _ => 0,
    }
}

/// `hunt --json` and the dashboard shape the same data the same way
/// (series::json): a gap of an archive is one object in both, and no
/// document of either names a time without its unit.
#[test]
fn hunt_json_and_dashboard_share_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_of(&globalmap());
    let url = "http://127.0.0.1:6060";
    {
        let mut a = Archive::open(dir.path()).unwrap();
        let target = a.target(url).unwrap();
        let s1 = a
            .begin_series(target, taken_at(&files[0]), &Identity::default(), "first")
            .unwrap();
        for p in &files {
            put(&mut a, s1, p);
        }
        let mid = taken_at(&files[files.len() / 2]);
        a.record_gap(
            target,
            Some(Kind::Heap),
            mid + 1_000_000_000,
            mid + 2_000_000_000,
            store::GapReason::ServerError,
            "server response: 500",
        )
        .unwrap();
    }
    let out = Command::new(bin())
        .arg("hunt")
        .arg(dir.path())
        .arg("--json")
        .output()
        .unwrap();
    let hunt: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("hunt --json: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let s = Server::start(&[dir.path()]);
    let targets = s.json("/api/targets");
    let hunt_gaps = hunt["archive"]["gaps"].as_array().unwrap();
    assert_eq!(hunt_gaps.len(), 1, "{hunt_gaps:?}");
    assert_eq!(targets["targets"][0]["gaps"], hunt["archive"]["gaps"]);
    let keys: std::collections::BTreeSet<&str> = hunt_gaps[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "from_unix_nanos",
            "kind",
            "message",
            "reason",
            "to_unix_nanos"
        ]
        .into()
    );

    let series = targets["targets"][0]["series"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let findings = s.json(&format!("/api/series/{series}/findings"));
    // The findings document is hunt's report plus the series id and what
    // the page draws: every top-level field of hunt's report but the
    // archive reference has the same value.
    for (k, v) in hunt.as_object().unwrap() {
        if k != "archive" && k != "findings" {
            assert_eq!(&findings[k], v, "{k}");
        }
    }
    let (hf, df) = (
        hunt["findings"].as_array().unwrap(),
        findings["findings"].as_array().unwrap(),
    );
    assert!(!hf.is_empty());
    assert_eq!(hf.len(), df.len());
    for (h, d) in hf.iter().zip(df) {
        for (k, v) in h.as_object().unwrap() {
            assert_eq!(&d[k], v, "finding field {k}");
        }
    }
    for (name, doc, times) in [
        ("hunt --json", hunt.clone(), 5),
        ("/api/targets", targets, 4),
        ("findings", findings, 2),
        ("memory", s.json(&format!("/api/series/{series}/memory")), 1),
        (
            "snapshots",
            s.json(&format!("/api/series/{series}/snapshots")),
            1,
        ),
    ] {
        assert!(
            check_time_names(name, &doc) >= times,
            "{name}: too few times seen"
        );
    }
}

/// A heap profile of one growing allocation site whose function and file
/// names carry markup, quotes and an entity.
fn xss_profile(i: i64, t: i64) -> profile::Profile {
    use profile::{Function, Line, Location, Mapping, Profile, Sample, ValueType};
    // No `/` in the function name: a slash would make it read as a package
    // path outside the user's code. The file name has the closing tag.
    let evil = "main.(*T).<img src=x onerror=alert(1)>\"q\"'apos'&amp;";
    Profile {
        sample_types: vec![
            ValueType::new("alloc_objects", "count"),
            ValueType::new("alloc_space", "bytes"),
            ValueType::new("inuse_objects", "count"),
            ValueType::new("inuse_space", "bytes"),
        ],
        samples: vec![Sample {
            locations: vec![0, 1],
            values: vec![i * 1024, i << 20, i * 1024, i << 20],
            ..Default::default()
        }]
        .into(),
        locations: vec![
            Location {
                id: 1,
                address: 0x1000,
                mapping: Some(0),
                lines: vec![Line {
                    function: Some(0),
                    line: 74,
                    ..Default::default()
                }],
                ..Default::default()
            },
            Location {
                id: 2,
                address: 0x2000,
                mapping: Some(0),
                lines: vec![Line {
                    function: Some(1),
                    line: 10,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
        functions: vec![
            Function {
                id: 1,
                name: evil.into(),
                system_name: evil.into(),
                filename: "/src/</script><script>alert(1)</script>.go".into(),
                ..Default::default()
            },
            Function {
                id: 2,
                name: "main.main".into(),
                system_name: "main.main".into(),
                filename: "/src/main.go".into(),
                ..Default::default()
            },
        ],
        mappings: vec![Mapping {
            id: 1,
            start: 0x1000,
            limit: 0x10000,
            file: "/bin/<b>evil</b>".into(),
            has_functions: true,
            ..Default::default()
        }],
        time_nanos: t,
        period_type: Some(ValueType::new("space", "bytes")),
        period: 524288,
        ..Default::default()
    }
}

/// Ten snapshots of a growing site with hostile names.
fn write_xss_series(dir: &Path) {
    let t0 = 1_795_712_438_000_000_000i64;
    for i in 0..10 {
        let t = t0 + i * 15_000_000_000;
        let bytes = profile::proto::encode(&xss_profile(i + 1, t));
        std::fs::write(dir.join(format!("heap-{i:02}.pb")), bytes).unwrap();
    }
}

/// The browser test's copy: testdata/dashboard/xss-series (regenerate
/// with `HEAPDRIFT_REGEN=1 cargo test -p heapdrift --test serve
/// xss_series_is_current`).
#[test]
fn xss_series_is_current() {
    let dir = repo().join("testdata/dashboard/xss-series");
    if std::env::var_os("HEAPDRIFT_REGEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        write_xss_series(&dir);
    }
    let fresh = tempfile::tempdir().unwrap();
    write_xss_series(fresh.path());
    for p in files_of(fresh.path()) {
        let name = p.file_name().unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(dir.join(name)).unwrap_or_default(),
            "testdata/dashboard/xss-series/{} is stale",
            name.to_string_lossy()
        );
    }
}

#[test]
fn escapes_profile_derived_names() {
    let dir = tempfile::tempdir().unwrap();
    write_xss_series(dir.path());
    let s = Server::start(&[dir.path()]);
    for path in [
        "/api/targets",
        "/api/series/files/findings",
        "/api/series/files/snapshots",
        "/api/series/files/memory",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        for bad in ["<", ">", "&"] {
            assert!(!r.body.contains(bad), "{path} has a raw {bad}: {}", r.body);
        }
    }
    let doc = s.json("/api/series/files/findings");
    let f = &doc["findings"][0];
    assert_eq!(
        f["function"], "main.(*T).<img src=x onerror=alert(1)>\"q\"'apos'&amp;",
        "escaped in transit, literal once parsed"
    );
    assert_eq!(f["file"], "/src/</script><script>alert(1)</script>.go");
    assert_eq!(f["verdict"], "leak");
    assert_eq!(f["points"].as_array().unwrap().len(), 10);
    // The page itself carries no profile data: names reach it only as
    // JSON, and the script writes them as text.
    let page = s.get("/");
    assert!(!page.body.contains("alert"));
}

/// A heap profile of allocation sites main.siteN (main.go:100+N, called
/// from main.main) with the given in-use bytes; the allocation counters
/// grow with `round`, as a process's cumulative counters do (a fall would
/// read as a restart).
fn synthetic_heap(values: &[i64], round: i64, t: i64) -> profile::Profile {
    use profile::{Function, Line, Location, Mapping, Profile, Sample, ValueType};
    let n = values.len();
    let mut functions = vec![Function {
        id: 1,
        name: "main.main".into(),
        system_name: "main.main".into(),
        filename: "/src/svc/main.go".into(),
        ..Default::default()
    }];
    let mut locations = vec![Location {
        id: 1,
        address: 0x1000,
        mapping: Some(0),
        lines: vec![Line {
            function: Some(0),
            line: 5,
            ..Default::default()
        }],
        ..Default::default()
    }];
    let mut samples = Vec::with_capacity(n);
    for (i, &v) in values.iter().enumerate() {
        let name = format!("main.site{i}");
        functions.push(Function {
            id: i as u64 + 2,
            name: name.clone(),
            system_name: name,
            filename: "/src/svc/main.go".into(),
            ..Default::default()
        });
        locations.push(Location {
            id: i as u64 + 2,
            address: 0x2000 + 16 * i as u64,
            mapping: Some(0),
            lines: vec![Line {
                function: Some(i as u32 + 1),
                line: 100 + i as i64,
                ..Default::default()
            }],
            ..Default::default()
        });
        let objs = (v / 512).max(1);
        samples.push(Sample {
            locations: vec![i as u32 + 1, 0],
            values: vec![objs + 128 * round, v + 65536 * round, objs, v],
            ..Default::default()
        });
    }
    Profile {
        sample_types: vec![
            ValueType::new("alloc_objects", "count"),
            ValueType::new("alloc_space", "bytes"),
            ValueType::new("inuse_objects", "count"),
            ValueType::new("inuse_space", "bytes"),
        ],
        samples: samples.into(),
        locations,
        functions,
        mappings: vec![Mapping {
            id: 1,
            start: 0x1000,
            limit: 0x100000,
            file: "/bin/svc".into(),
            has_functions: true,
            ..Default::default()
        }],
        time_nanos: t,
        period_type: Some(ValueType::new("space", "bytes")),
        period: 524288,
        ..Default::default()
    }
}

/// Writes a 500-snapshot archive (500 heap protos of 300 sites with three
/// leaks, two plateaus and noise, plus 500 heap debug=1 texts whose
/// MemStats grow) for measuring the dashboard on a large series:
/// `HEAPDRIFT_DASH_LARGE=DIR cargo test --profile ci -p heapdrift --test
/// serve -- --ignored large_archive`, then `heapdrift serve DIR`.
#[test]
#[ignore = "writes a large archive for measuring: HEAPDRIFT_DASH_LARGE=DIR ... -- --ignored large_archive"]
fn large_archive() {
    let dir = std::env::var_os("HEAPDRIFT_DASH_LARGE")
        .expect("HEAPDRIFT_DASH_LARGE names the directory to write");
    let dir = PathBuf::from(dir);
    let snaps = 500usize;
    let sites = 300usize;
    let text = {
        let mut s = String::new();
        flate2::read::GzDecoder::new(
            &std::fs::read(globalmap().join("heap-20261126T170729.576Z.debug1.txt.gz")).unwrap()[..],
        )
        .read_to_string(&mut s)
        .unwrap();
        s
    };
    let mut a = Archive::open(&dir).unwrap();
    let target = a.target("http://127.0.0.1:7070").unwrap();
    let t0 = 1_795_712_438_000_000_000i64;
    let series = a
        .begin_series(target, t0, &Identity::default(), "first")
        .unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move |amp: i64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % (2 * amp as u64 + 1)) as i64 - amp
    };
    for k in 0..snaps {
        let t = t0 + k as i64 * 15_000_000_000;
        let values: Vec<i64> = (0..sites)
            .map(|i| match i {
                0 => 100_000 + 4096 * k as i64 + noise(2000),
                1 => 50_000 + 1024 * k as i64 + noise(800),
                2 => 10_000 + 300 * k as i64 + noise(200),
                3 | 4 => {
                    2_000_000 - (1_900_000.0 * (-(k as f64) / 20.0).exp()) as i64 + noise(5000)
                }
                _ => 20_000 + noise(4000),
            })
            .collect();
        let bytes = profile::proto::encode(&synthetic_heap(&values, k as i64, t));
        let parsed = profile::parse(&bytes, &profile::ParseOptions::default()).unwrap();
        let summary = Summary::from_parsed(&parsed, &drift::series::SeriesOptions::default());
        a.put(series, Kind::Heap, t, Some(1), &bytes, &summary)
            .unwrap();
        let grow =
            |line: &str, base: u64, per: u64| format!("# {line} = {}\n", base + per * k as u64);
        let mut txt = String::new();
        for l in text.lines() {
            let key = l
                .strip_prefix("# ")
                .and_then(|r| r.split_once(" = "))
                .map(|(k, _)| k);
            match key {
                Some("HeapInuse") => txt.push_str(&grow("HeapInuse", 3_000_000, 6000)),
                Some("HeapAlloc") => txt.push_str(&grow("HeapAlloc", 2_000_000, 5500)),
                Some("TotalAlloc") => txt.push_str(&grow("TotalAlloc", 2_000_000, 90_000)),
                Some("HeapIdle") => txt.push_str(&grow("HeapIdle", 5_000_000, 100)),
                Some("Sys") => txt.push_str(&grow("Sys", 12_000_000, 6500)),
                _ => {
                    txt.push_str(l);
                    txt.push('\n');
                }
            }
        }
        let tt = t + 200_000_000;
        let parsed = profile::parse(txt.as_bytes(), &profile::ParseOptions::default()).unwrap();
        let summary = Summary::from_parsed(&parsed, &drift::series::SeriesOptions::default());
        a.put(
            series,
            Kind::HeapDebug1,
            tt,
            Some(1),
            txt.as_bytes(),
            &summary,
        )
        .unwrap();
    }
    eprintln!("wrote {} snapshots to {}", 2 * snaps, dir.display());
}

#[test]
fn goroutine_findings_link_goroutine_snapshots() {
    let dir = repo().join("examples/chansend");
    let s = Server::start(&[&dir]);
    let doc = s.json("/api/series/files/findings");
    let f = &doc["findings"][0];
    assert_eq!(f["kind"], "goroutine");
    assert_eq!(f["verdict"], "leak");
    assert_eq!(f["unit"], "goroutines");
    assert!(
        f["file"].as_str().unwrap().ends_with("chansend/main.go"),
        "{f}"
    );
    let points = f["points"].as_array().unwrap();
    assert_eq!(points.len(), count_files(&dir, "goroutine-", ".pb.gz"));
    let snaps = s.json("/api/series/files/snapshots");
    for p in points {
        let id = p["snapshot"].as_str().unwrap();
        let snap = snaps["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap();
        assert_eq!(snap["kind"], "goroutine");
    }
    let last = points.last().unwrap()["snapshot"].as_str().unwrap();
    let top = s.get(&format!("/ui/top?src={last}"));
    assert_eq!(top.status, 200);
    assert!(top.body.contains(&format!("snapshot {last} · goroutine")));
}
