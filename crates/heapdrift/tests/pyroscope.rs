//! `heapdrift push` against a real Grafana Pyroscope server, started by
//! `scripts/pyroscope.sh` (testdata/pyroscope: the server built from the
//! Go module proxy). Recorded snapshots pushed at their own times must read
//! back with the same totals; credentials refused and rate limits must give
//! one clear line; a server restarted in the middle of a push must lose
//! nothing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

mod fake_http;
mod store_server;

use store_server::{StoreServer, heapdrift, repo_root, verdicts};

/// A server of `scripts/pyroscope.sh`, stopped when dropped.
struct Pyroscope;

impl Pyroscope {
    fn start(port: Option<&str>) -> StoreServer {
        StoreServer::start("pyroscope.sh", port)
    }
}

/// POSTs a Connect JSON request; the response body.
fn connect_json(url: &str, method: &str, body: &serde_json::Value) -> serde_json::Value {
    let rest = url.strip_prefix("http://").expect("http URL");
    let mut stream = TcpStream::connect(rest).expect("connect");
    let body = body.to_string();
    write!(
        stream,
        "POST /{method} HTTP/1.1\r\nHost: {rest}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, payload) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{method}: {head}\n{payload}"
    );
    // Connect answers small bodies in one piece, larger ones chunked.
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    serde_json::from_str(&payload).expect("JSON")
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Sum of a profile type's values over all of a service's profiles since
/// `start_ms`, per value of `group_by`. The query ends now: a server files
/// back-filled data under the time it arrived (docs/pyroscope-api.md).
fn sums(
    url: &str,
    service: &str,
    profile_type: &str,
    start_ms: i64,
    group_by: &str,
) -> Vec<(String, f64, usize)> {
    let end = now_ms() + 60_000;
    // One bucket, (start, start + step]: its point must not lie past `end`,
    // or the server leaves it out.
    let step = ((end - start_ms) / 1000) as f64;
    let answer = connect_json(
        url,
        "querier.v1.QuerierService/SelectSeries",
        &serde_json::json!({
            "profile_typeID": profile_type,
            "label_selector": format!("{{service_name=\"{service}\"}}"),
            "start": start_ms, "end": end, "step": step,
            "group_by": [group_by],
        }),
    );
    let mut out = Vec::new();
    for s in answer["series"].as_array().cloned().unwrap_or_default() {
        let label = s["labels"][0]["value"].as_str().unwrap_or("").to_string();
        let points = s["points"].as_array().cloned().unwrap_or_default();
        let total: f64 = points
            .iter()
            .map(|p| p["value"].as_f64().unwrap_or(0.0))
            .sum();
        out.push((label, total, points.len()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The files of `dir` whose names start with `prefix` and end in
/// `.pb.gz`, with their sample value `index` summed.
fn local_sum(dir: &Path, prefix: &str, index: usize) -> (f64, i64, usize) {
    let mut total = 0f64;
    let mut earliest = i64::MAX;
    let mut files = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with(prefix) || !name.ends_with(".pb.gz") || name.contains(".debug") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let p = profile::parse(&bytes, &Default::default()).unwrap().profile;
        total += p
            .samples
            .iter()
            .map(|s| s.values[index] as f64)
            .sum::<f64>();
        earliest = earliest.min(p.time_nanos / 1_000_000);
        files += 1;
    }
    (total, earliest, files)
}

#[test]
#[cfg_attr(
    not(heapdrift_pyroscope),
    ignore = "needs HEAPDRIFT_PYROSCOPE, a Pyroscope server built by scripts/pyroscope.sh build"
)]
fn pushed_recordings_read_back_with_their_totals() {
    let server = Pyroscope::start(None);
    let dir = repo_root().join("examples/globalmap");
    let out = heapdrift(&[
        "push",
        "--to",
        &server.url.replace("http://", "pyroscope://"),
        "--service",
        "globalmap-push",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (heap, heap_start, heaps) = local_sum(&dir, "heap-", 3);
    let (goroutines, g_start, _) = local_sum(&dir, "goroutine-", 0);
    assert!(
        heaps > 10,
        "only {heaps} heap profiles in {}",
        dir.display()
    );
    let start = heap_start.min(g_start) - 60_000;
    let got = sums(
        &server.url,
        "globalmap-push",
        "memory:inuse_space:bytes:space:bytes",
        start,
        "instance",
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "globalmap");
    assert_eq!(
        got[0].1, heap,
        "inuse_space summed over every heap snapshot"
    );
    let got = sums(
        &server.url,
        "globalmap-push",
        "goroutine:goroutine:count:goroutine:count",
        start,
        "heapdrift_series",
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains('@'), "series label {:?}", got[0].0);
    assert_eq!(
        got[0].1, goroutines,
        "goroutines summed over every snapshot"
    );
}

/// The facts of heapdrift's Go companion that a store cannot hold as a
/// profile (the current RSS, the limit a Guard capture was taken near) go
/// as a side series: a pprof of the RSS per snapshot, whose total is the
/// RSS, with the limit as a label.
#[test]
#[cfg_attr(
    not(heapdrift_pyroscope),
    ignore = "needs HEAPDRIFT_PYROSCOPE, a Pyroscope server built by scripts/pyroscope.sh build"
)]
fn probe_snapshots_go_as_an_rss_side_series() {
    let server = Pyroscope::start(None);
    let dir = repo_root().join("testdata/probe/guard-captures");
    let out = heapdrift(&[
        "push",
        "--to",
        &server.url.replace("http://", "pyroscope://"),
        "--service",
        "guard-push",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rss = 0f64;
    let mut earliest = i64::MAX;
    let mut limits = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let snap = profile::probe::parse_snapshot(&std::fs::read(&path).unwrap()).unwrap();
        rss += snap.rss.unwrap().total as f64;
        earliest = earliest.min(snap.time_nanos / 1_000_000);
        limits.push(snap.capture.unwrap().limit_bytes.to_string());
    }
    limits.sort();
    limits.dedup();
    assert!(rss > 0.0);
    let got = sums(
        &server.url,
        "guard-push",
        "heapdrift_rss:resident:bytes:resident:bytes",
        earliest - 60_000,
        "heapdrift_guard_limit_bytes",
    );
    let labels: Vec<String> = got.iter().map(|g| g.0.clone()).collect();
    assert_eq!(labels, limits, "{got:?}");
    let total: f64 = got.iter().map(|g| g.1).sum();
    assert_eq!(total, rss, "the RSS summed over every snapshot");
}

#[test]
#[cfg_attr(
    not(heapdrift_pyroscope),
    ignore = "needs HEAPDRIFT_PYROSCOPE, a Pyroscope server built by scripts/pyroscope.sh build"
)]
fn a_restart_in_the_middle_of_a_push_loses_nothing() {
    let server = Pyroscope::start(None);
    let dir = repo_root().join("examples/globalmap");
    let push = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args([
            "push",
            "--to",
            &server.url,
            "--service",
            "restarted",
            "--retry-for",
            "120",
            dir.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("push");
    // Stop the server as soon as a push was acknowledged (the server
    // answers a push every 50 ms here: scripts/pyroscope.sh), then start
    // it again.
    let (_, heap_start, _) = local_sum(&dir, "heap-", 3);
    let started = std::time::Instant::now();
    while sums(
        &server.url,
        "restarted",
        "memory:inuse_space:bytes:space:bytes",
        heap_start - 60_000,
        "instance",
    )
    .is_empty()
    {
        assert!(
            started.elapsed().as_secs() < 60,
            "no push was stored within a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut push = push;
    assert!(
        push.try_wait().expect("push status").is_none(),
        "the push ended before the server was stopped: nothing was tested"
    );
    server.stop(&["--keep"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let restarted = Pyroscope::start(Some(&server.port));
    let out = push.wait_with_output().expect("push ends");
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (heap, heap_start, _) = local_sum(&dir, "heap-", 3);
    // A push acknowledged while the server shut down may have its block
    // recorded only in the server's dead-letter queue, which the restarted
    // server replays into its metastore shortly after: acknowledged data
    // is kept, but may take a few seconds to be found again.
    let read = || {
        sums(
            &restarted.url,
            "restarted",
            "memory:inuse_space:bytes:space:bytes",
            heap_start - 60_000,
            "instance",
        )
    };
    let waiting = std::time::Instant::now();
    let mut got = read();
    while got.first().map(|g| g.1) != Some(heap) && waiting.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        got = read();
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].1, heap,
        "every acknowledged push is kept, the rest retried"
    );
    std::mem::forget(server);
}

/// A server that answers every request with `status` and a Connect error.
fn refusing_server(status: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let body = r#"{"code":"unauthenticated","message":"no such token"}"#;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("pyroscope://{addr}")
}

#[test]
fn refused_credentials_and_rate_limits_are_one_clear_line() {
    let file = repo_root().join("examples/globalmap/heap-20261126T170849.577Z.pb.gz");
    for (status, expect) in [
        (
            "401 Unauthorized",
            "refused the credentials (no such token)",
        ),
        ("429 Too Many Requests", "429 Too Many Requests for"),
    ] {
        let url = refusing_server(status);
        let out = heapdrift(&[
            "push",
            "--to",
            &url,
            "--service",
            "s",
            "--bearer-token",
            "t",
            "--retry-for",
            "1",
            file.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{status}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{status}: {stderr}");
        assert!(stderr.starts_with("heapdrift push: "), "{stderr}");
        assert!(stderr.contains(expect), "{status}: {stderr}");
    }
}

/// Issue 12: `hunt --from` on recordings pushed to a real server finds
/// what `hunt` finds on the files: the same rank-1 site and the same
/// verdicts, every snapshot read and also one per 10 s (buckets twice the
/// recording's 5 s interval). Shards split the fleet exactly once.
#[test]
#[cfg_attr(
    not(heapdrift_pyroscope),
    ignore = "needs HEAPDRIFT_PYROSCOPE, a Pyroscope server built by scripts/pyroscope.sh build"
)]
fn hunt_from_pyroscope_finds_what_hunt_finds_in_the_files() {
    let server = Pyroscope::start(None);
    let store = server.url.replace("http://", "pyroscope://");
    let examples = ["globalmap", "chansend", "smallunderplateau"];
    store_server::push_examples(&store, &examples, &[]);
    let files = store_server::file_verdicts(&examples);
    // The recordings are from 2026-11-26; the window reaches now, which
    // a store needs to find back-filled profiles (docs/pyroscope-api.md).
    let from = [
        "hunt",
        "--json",
        "--from",
        &store,
        "--from-time",
        "2026-11-26T00:00:00Z",
    ];
    for step in [None, Some("10s")] {
        let mut args = from.to_vec();
        if let Some(s) = step {
            args.extend(["--step", s]);
        }
        let out = heapdrift(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fleet = verdicts(&out.stdout);
        assert_eq!(fleet, files, "step {step:?}");
    }
    // Three shards: every service's instance read by exactly one.
    let mut seen = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mut args = from.to_vec();
        args.extend(["--shard", &shard]);
        let out = heapdrift(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen.extend(verdicts(&out.stdout).into_keys());
    }
    seen.sort();
    let mut want: Vec<String> = examples.iter().map(|e| e.to_string()).collect();
    want.sort();
    assert_eq!(seen, want);
}

/// Issue 12, the fleet report: a service of three replicas, two of which
/// leak at the same line (the globalmap recording pushed as pod-a and
/// pod-b) and one that leaks goroutines elsewhere (chansend as pod-c). The
/// shared site ranks first, growing on 2 of 3 replicas; `--replicas 2`
/// reads two instances and names the third.
#[test]
#[cfg_attr(
    not(heapdrift_pyroscope),
    ignore = "needs HEAPDRIFT_PYROSCOPE, a Pyroscope server built by scripts/pyroscope.sh build"
)]
fn the_fleet_report_counts_the_replicas_a_site_grows_on() {
    let server = Pyroscope::start(None);
    let store = server.url.replace("http://", "pyroscope://");
    store_server::push_three_replicas(&store, "fleet");
    let hunt = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "hunt",
            "--json",
            "--from",
            &store,
            "--service",
            "fleet",
            "--from-time",
            "2026-11-26T00:00:00Z",
        ];
        args.extend(extra);
        let out = heapdrift(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let doc = hunt(&[]);
    let services = doc["services"].as_array().expect("services");
    assert_eq!(services.len(), 1, "{doc:#}");
    let fleet = &services[0];
    assert_eq!(fleet["service"], "fleet");
    assert_eq!(fleet["instances_read"], 3);
    let top = &fleet["sites"][0];
    assert_eq!(
        (&top["function"], &top["line"], &top["verdict"]),
        (
            &serde_json::json!("main.handleLogin"),
            &serde_json::json!(74),
            &serde_json::json!("leak")
        ),
        "{fleet:#}"
    );
    assert_eq!(
        (&top["growing"], &top["leaking"], &top["replicas"]),
        (&2.into(), &2.into(), &3.into())
    );
    let on: Vec<&str> = top["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance"].as_str().unwrap())
        .collect();
    assert_eq!(on.len(), 2);
    assert!(on.contains(&"pod-a") && on.contains(&"pod-b"), "{on:?}");
    let second = &fleet["sites"][1];
    assert_eq!(second["kind"], "goroutine", "{fleet:#}");
    assert_eq!(second["growing"], 1);
    // Each instance's own report is there too, with its fleet reference.
    let pods: Vec<&str> = doc["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fleet"]["instance"].as_str().unwrap())
        .collect();
    assert_eq!(pods, vec!["pod-a", "pod-b", "pod-c"]);
    let doc = hunt(&["--replicas", "2"]);
    let fleet = &doc["services"][0];
    assert_eq!(fleet["instances_read"], 2, "{fleet:#}");
    assert_eq!(
        fleet["instances_left_out"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(doc["reports"].as_array().map(Vec::len), Some(2));
}

/// Issue 12, `watch --push`: a watched service's profiles reach the store
/// as they are archived, and `hunt --from` the store finds what `hunt` finds
/// in the archive. A second watch with `--no-archive` pushes as much and
/// leaves no archive behind.
#[test]
#[cfg_attr(
    not(heapdrift_pyroscope),
    ignore = "needs HEAPDRIFT_PYROSCOPE, a Pyroscope server built by scripts/pyroscope.sh build"
)]
fn watch_pushes_what_it_archives_and_hunt_from_the_store_agrees() {
    let server = Pyroscope::start(None);
    let store = server.url.replace("http://", "pyroscope://");
    let target = store_server::replay_target(&repo_root().join("examples/globalmap"));
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let stdout = store_server::watch_pushing(
        &target,
        "18s",
        &[
            "--archive",
            archive.to_str().unwrap(),
            "--push",
            &store,
            "--service",
            "watched",
        ],
    );
    let a = store::Archive::open_read_only(&archive).unwrap();
    let mut archived = 0;
    for t in a.targets().unwrap() {
        for s in a.series(t.id).unwrap() {
            for k in [store::Kind::Heap, store::Kind::Goroutine] {
                archived += a.snapshots(s.id, Some(k)).unwrap().len();
            }
        }
    }
    assert!(
        archived >= 16,
        "{archived} heap and goroutine snapshots archived\n{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "pushed {archived} snapshot(s) to {store} as service \"watched\""
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("not pushed"), "{stdout}");

    let files = heapdrift(&["hunt", "--json", archive.to_str().unwrap()]);
    assert!(
        files.status.success(),
        "{}",
        String::from_utf8_lossy(&files.stderr)
    );
    let files = verdicts(&files.stdout);
    let want = files.values().next().expect("one process");
    assert!(!want.is_empty(), "no finding in the archive");
    let fleet = heapdrift(&["hunt", "--json", "--from", &store, "--service", "watched"]);
    assert!(
        fleet.status.success(),
        "{}",
        String::from_utf8_lossy(&fleet.stderr)
    );
    // The store keeps no sampling period; heapdrift pushed it as a label.
    assert!(
        String::from_utf8_lossy(&fleet.stdout).contains("sampling period as pushed with it"),
        "{}",
        String::from_utf8_lossy(&fleet.stdout)
    );
    let fleet = verdicts(&fleet.stdout);
    assert_eq!(&fleet["watched"], want);

    // Without an archive: the same pushes, nothing left on disk.
    let before: Vec<PathBuf> = temp_watch_dirs();
    let stdout = store_server::watch_pushing(
        &target,
        "5s",
        &["--no-archive", "--push", &store, "--service", "unarchived"],
    );
    assert!(stdout.contains("as service \"unarchived\""), "{stdout}");
    assert!(!stdout.contains("pushed 0 "), "{stdout}");
    assert_eq!(
        temp_watch_dirs(),
        before,
        "the temporary archive is removed"
    );
}

fn temp_watch_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("heapdrift-watch-")
        })
        .collect();
    v.sort();
    v
}

/// Issue 12, `serve --from`: the dashboard of a fleet in the store. The
/// fleet ranks the site two of three replicas leak at first, naming them
/// and linking each to its series; each instance is a target whose
/// findings have timelines whose snapshots open in pprof's views, read
/// back from the store.
#[test]
#[cfg_attr(
    not(heapdrift_pyroscope),
    ignore = "needs HEAPDRIFT_PYROSCOPE, a Pyroscope server built by scripts/pyroscope.sh build"
)]
fn serve_from_the_store_shows_the_fleet_then_its_instances() {
    let server = Pyroscope::start(None);
    let store = server.url.replace("http://", "pyroscope://");
    store_server::push_three_replicas(&store, "served");
    store_server::serve_shows_the_fleet_then_its_instances(&store, "served");
}
