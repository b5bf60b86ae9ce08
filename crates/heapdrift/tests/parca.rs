//! Parca as the fleet's second store (issue 12, item 6), against a real
//! Parca v0.28.0 started by `scripts/parca.sh` (testdata/parca: the server
//! built from the Go module proxy). Recordings pushed with `heapdrift push
//! --to parca://` must hunt as the files do; shards must cover each
//! service once; Parca has no auth of its own, so credentials are tested
//! as it is deployed when it needs them: behind an authenticating reverse
//! proxy, which passes what carries the token and refuses the rest.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod fake_http;
mod store_server;

use fetch::store::ProfileStore;
use store_server::{StoreServer, file_verdicts, heapdrift, push_examples, verdicts};

const EXAMPLES: [&str; 3] = ["globalmap", "chansend", "smallunderplateau"];

/// The recordings are from 2026-11-26; the window ends now.
const FROM_TIME: &str = "2026-11-26T00:00:00Z";

fn parca() -> (StoreServer, String) {
    let server = StoreServer::start("parca.sh", None);
    let store = server.url.replace("http://", "parca://");
    (server, store)
}

/// `hunt --json --from STORE` with `extra`: the JSON, after asserting
/// success.
fn hunt_from(store: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["hunt", "--json", "--from", store, "--from-time", FROM_TIME];
    args.extend(extra);
    let out = heapdrift(&args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("hunt --json")
}

/// `hunt --from parca://` on recordings pushed to a real Parca finds what
/// `hunt` finds on the files: every heap and goroutine finding (function,
/// line, verdict), with every snapshot read and with one per 10 s; the
/// heap's period comes back from its label. Three shards read each
/// service exactly once.
#[test]
#[cfg_attr(
    not(heapdrift_parca),
    ignore = "needs HEAPDRIFT_PARCA, a Parca server built by scripts/parca.sh build"
)]
fn hunt_from_parca_finds_what_hunt_finds_in_the_files() {
    let (_server, store) = parca();
    push_examples(&store, &EXAMPLES, &[]);
    let files = file_verdicts(&EXAMPLES);
    for step in [None, Some("10s")] {
        let extra: Vec<&str> = step.map(|s| vec!["--step", s]).unwrap_or_default();
        let doc = hunt_from(&store, &extra);
        let json = serde_json::to_vec(&doc).unwrap();
        assert_eq!(verdicts(&json), files, "step {step:?}");
        for r in doc["reports"].as_array().expect("reports") {
            let notes = r["notes"].to_string();
            assert!(
                notes.contains("read from Parca at")
                    && notes.contains("sampling period as pushed with it"),
                "{notes}"
            );
        }
    }
    // Every heap and goroutine snapshot of globalmap read back: as many
    // as the files hold of the views pushed (the protos).
    let doc = hunt_from(&store, &["--service", "globalmap"]);
    let dir = store_server::repo_root().join("examples/globalmap");
    let files = heapdrift(&["hunt", "--json", dir.to_str().unwrap()]);
    let files: serde_json::Value = serde_json::from_slice(&files.stdout).unwrap();
    for kind in ["heap", "goroutine"] {
        let stored = &doc["reports"][0]["snapshots"][kind];
        assert!(stored.as_u64().is_some_and(|n| n > 2), "{kind}: {doc:#}");
        assert_eq!(stored, &files["snapshots"][kind], "{kind}");
    }
    let mut seen = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let doc = hunt_from(&store, &["--shard", &shard]);
        seen.extend(verdicts(&serde_json::to_vec(&doc).unwrap()).into_keys());
    }
    seen.sort();
    let mut want: Vec<String> = EXAMPLES.iter().map(|e| e.to_string()).collect();
    want.sort();
    assert_eq!(seen, want);
}

/// An authenticating reverse proxy in front of `upstream` (host:port):
/// a request carrying `Authorization: Bearer TOKEN` is forwarded, any
/// other is answered 401 with a grpc-gateway error body. Returns its
/// address and the counts of requests passed and refused.
fn auth_proxy(upstream: String, token: &str) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (passed, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let want = format!("authorization: bearer {}", token.to_ascii_lowercase());
    let (p, r) = (passed.clone(), refused.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (upstream, want, p, r) = (upstream.clone(), want.clone(), p.clone(), r.clone());
            std::thread::spawn(move || proxy_one(conn, &upstream, &want, &p, &r));
        }
    });
    (addr, passed, refused)
}

/// One request of a client, then the connection is closed (the answer
/// says so): enough for an HTTP/1.1 client, which opens another.
fn proxy_one(
    mut conn: TcpStream,
    upstream: &str,
    want: &str,
    passed: &AtomicUsize,
    refused: &AtomicUsize,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut head = String::new();
    let mut authorized = false;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.trim_end() == want {
            authorized = true;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            head.push_str(&line);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    if !authorized {
        refused.fetch_add(1, Ordering::SeqCst);
        let msg = r#"{"code":16,"message":"missing or wrong bearer token","details":[]}"#;
        let _ = write!(
            conn,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
            msg.len()
        );
        return;
    }
    passed.fetch_add(1, Ordering::SeqCst);
    let mut up = TcpStream::connect(upstream).unwrap();
    up.write_all(head.as_bytes()).unwrap();
    up.write_all(b"Connection: close\r\n\r\n").unwrap();
    up.write_all(&body).unwrap();
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).unwrap();
    // The answer as it came, its own Connection header replaced by close.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head: String = String::from_utf8_lossy(&answer[..split])
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(b"Connection: close\r\n\r\n");
    let _ = conn.write_all(&answer[split + 4..]);
}

/// Parca behind an authenticating proxy: with the token, push and hunt go
/// through (every request carried it: none was refused) and find what
/// they find without the proxy; with a wrong one, each command says in
/// one line that the credentials were refused, and exits 2.
#[test]
#[cfg_attr(
    not(heapdrift_parca),
    ignore = "needs HEAPDRIFT_PARCA, a Parca server built by scripts/parca.sh build"
)]
fn credentials_reach_a_proxy_in_front_of_parca_and_a_refusal_is_one_line() {
    let (server, _) = parca();
    let upstream = server.url.trim_start_matches("http://").to_string();
    let (addr, passed, refused) = auth_proxy(upstream, "s3cret");
    let store = format!("parca://{addr}");
    push_examples(&store, &["chansend"], &["--bearer-token", "s3cret"]);
    let doc = hunt_from(&store, &["--bearer-token", "s3cret"]);
    assert_eq!(
        verdicts(&serde_json::to_vec(&doc).unwrap()),
        file_verdicts(&["chansend"])
    );
    assert!(passed.load(Ordering::SeqCst) > 0);
    assert_eq!(refused.load(Ordering::SeqCst), 0);
    let file = store_server::repo_root()
        .join("examples/chansend")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".pb.gz"))
        .unwrap();
    let file = file.to_str().unwrap();
    for (cmd, args) in [
        (
            "push",
            vec![
                "push",
                "--to",
                &store,
                "--service",
                "x",
                "--bearer-token",
                "wrong",
                file,
            ],
        ),
        (
            "hunt",
            vec![
                "hunt",
                "--from",
                &store,
                "--from-time",
                FROM_TIME,
                "--bearer-token",
                "wrong",
            ],
        ),
    ] {
        let out = heapdrift(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{cmd}: {stderr}");
        assert!(
            stderr.starts_with(&format!("heapdrift {cmd}: "))
                && stderr.contains(
                    "401: the server refused the credentials (missing or wrong bearer token)"
                ),
            "{cmd}: {stderr}"
        );
    }
    assert_eq!(refused.load(Ordering::SeqCst), 2);
}

/// Heaps pushed without heapdrift's period label (as another pusher
/// would) are read with Go's default period, and the report says so; three
/// of them 300 ms apart are all listed and read (Parca lists every profile
/// at its own time, not one per second).
#[test]
#[cfg_attr(
    not(heapdrift_parca),
    ignore = "needs HEAPDRIFT_PARCA, a Parca server built by scripts/parca.sh build"
)]
fn heaps_pushed_without_period_within_a_second_are_all_read_with_the_default_period() {
    let (_server, store) = parca();
    let dir = store_server::repo_root().join("examples/globalmap");
    let mut heaps: Vec<_> = dir
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("heap-") && n.ends_with(".pb.gz") && !n.contains(".debug")
        })
        .collect();
    heaps.sort();
    let client = fetch::parca::Server::new(&store, &Default::default()).unwrap();
    let mut t0 = None;
    for p in &heaps[..3] {
        let bytes = std::fs::read(p).unwrap();
        let mut prof = profile::parse(&bytes, &Default::default()).unwrap().profile;
        let t = *t0.get_or_insert(prof.time_nanos)
            + 300_000_000 * heaps.iter().position(|h| h == p).unwrap() as i64;
        prof.time_nanos = t;
        let bytes = profile::gz::compress(&profile::proto::encode(&prof));
        client
            .push(
                &[("__name__", "memory"), ("job", "other"), ("instance", "i")],
                &bytes,
            )
            .unwrap();
    }
    let doc = hunt_from(&store, &["--service", "other"]);
    let report = &doc["reports"][0];
    assert_eq!(report["snapshots"]["heap"], 3, "{doc:#}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("sampling period assumed to be Go's default, 524288 bytes"),
        "{notes}"
    );
    assert!(!notes.contains("more than one profile"), "{notes}");
}

/// `serve --from parca://`: the fleet's dashboard over Parca, as over
/// Pyroscope (tests/pyroscope.rs): the shared leak ranked first on 2 of 3
/// replicas, each instance a target, a finding's snapshot read back from
/// Parca into pprof's views.
#[test]
#[cfg_attr(
    not(heapdrift_parca),
    ignore = "needs HEAPDRIFT_PARCA, a Parca server built by scripts/parca.sh build"
)]
fn serve_from_parca_shows_the_fleet_then_its_instances() {
    let (_server, store) = parca();
    store_server::push_three_replicas(&store, "served");
    store_server::serve_shows_the_fleet_then_its_instances(&store, "served");
}

/// `watch --push parca://`: a watched service's profiles reach Parca as
/// they are archived, under `job`, and `hunt --from parca://` finds what
/// `hunt` finds in the archive, with the period pushed with the heaps.
#[test]
#[cfg_attr(
    not(heapdrift_parca),
    ignore = "needs HEAPDRIFT_PARCA, a Parca server built by scripts/parca.sh build"
)]
fn watch_pushes_to_parca_what_it_archives_and_hunt_from_parca_agrees() {
    let (_server, store) = parca();
    let target = store_server::replay_target(&store_server::repo_root().join("examples/globalmap"));
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let archive = archive.to_str().unwrap();
    let stdout = store_server::watch_pushing(
        &target,
        "15s",
        &[
            "--archive",
            archive,
            "--push",
            &store,
            "--service",
            "watched",
        ],
    );
    assert!(stdout.contains("as service \"watched\""), "{stdout}");
    assert!(
        !stdout.contains("pushed 0 ") && !stdout.contains("not pushed"),
        "{stdout}"
    );
    let files = heapdrift(&["hunt", "--json", archive]);
    let files = verdicts(&files.stdout);
    let want = files.values().next().expect("one process");
    assert!(!want.is_empty(), "no finding in the archive");
    // The profiles are live ones: the default window (the last 2 h) holds them.
    let out = heapdrift(&["hunt", "--json", "--from", &store, "--service", "watched"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["reports"][0]["fleet"]["service"], "watched", "{doc:#}");
    let notes = doc["reports"][0]["notes"].to_string();
    assert!(
        notes.contains("sampling period as pushed with it"),
        "{notes}"
    );
    assert_eq!(&verdicts(&out.stdout)["watched"], want);
}
