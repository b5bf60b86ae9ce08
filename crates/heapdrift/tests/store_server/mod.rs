//! What the tests against real profile stores share (tests/pyroscope.rs,
//! tests/parca.rs): a server started by its script (scripts/pyroscope.sh,
//! scripts/parca.sh), stopped when dropped, and the verdicts of `hunt
//! --json` compared between a store and the files.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn heapdrift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(args)
        .output()
        .expect("run heapdrift")
}

/// A server of `scripts/SCRIPT start`, stopped when dropped.
pub struct StoreServer {
    script: &'static str,
    /// `http://127.0.0.1:PORT`, as the script prints it.
    pub url: String,
    pub port: String,
}

impl StoreServer {
    pub fn start(script: &'static str, port: Option<&str>) -> StoreServer {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts").join(script))
            .arg("start");
        if let Some(p) = port {
            cmd.args(["--port", p]);
        }
        let out = cmd.output().expect(script);
        assert!(
            out.status.success(),
            "{script} start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("the URL on the last line")
            .trim()
            .to_string();
        let port = url.rsplit(':').next().expect("a port").to_string();
        StoreServer { script, url, port }
    }

    /// `scripts/SCRIPT stop --port P` with `extra` flags (`--keep`).
    pub fn stop(&self, extra: &[&str]) {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts").join(self.script))
            .args(["stop", "--port", &self.port])
            .args(extra)
            .output()
            .expect(self.script);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for StoreServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts").join(self.script))
            .args(["stop", "--port", &self.port])
            .output();
    }
}

/// Every heap and goroutine finding (kind, function, line, verdict) of
/// each report of `hunt --json`, by service (fleet) or process (files).
/// Memory findings are left out: the stores hold no MemStats.
pub fn verdicts(
    json: &[u8],
) -> std::collections::BTreeMap<String, Vec<(String, String, i64, String)>> {
    let doc: serde_json::Value = serde_json::from_slice(json).expect("hunt --json");
    let reports = match doc.get("reports") {
        Some(r) => r.as_array().expect("reports").clone(),
        None => vec![doc],
    };
    reports
        .iter()
        .map(|r| {
            let key = r
                .pointer("/fleet/service")
                .or_else(|| r.get("process"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let findings = r["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .filter(|f| f["kind"] != "memory")
                .map(|f| {
                    (
                        f["kind"].as_str().unwrap_or_default().to_string(),
                        f["function"].as_str().unwrap_or_default().to_string(),
                        f["line"].as_i64().unwrap_or_default(),
                        f["verdict"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            (key, findings)
        })
        .collect()
}

/// Pushes each of `examples` (directories under examples/) to `store` as
/// its own service, named after it.
pub fn push_examples(store: &str, examples: &[&str], extra: &[&str]) {
    for e in examples {
        let dir = repo_root().join("examples").join(e);
        let mut args = vec!["push", "--to", store, "--service", e];
        args.extend(extra);
        args.push(dir.to_str().unwrap());
        let out = heapdrift(&args);
        assert!(
            out.status.success(),
            "push {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `hunt --json` on each of `examples`' files, by example.
pub fn file_verdicts(
    examples: &[&str],
) -> std::collections::BTreeMap<String, Vec<(String, String, i64, String)>> {
    examples
        .iter()
        .map(|e| {
            let dir = repo_root().join("examples").join(e);
            let out = heapdrift(&["hunt", "--json", dir.to_str().unwrap()]);
            let files = verdicts(&out.stdout);
            let want = files.into_values().next().expect("one process");
            assert!(!want.is_empty(), "{e}: no finding in the files");
            (e.to_string(), want)
        })
        .collect()
}

/// Three replicas of `service`: two leaking at the same line (the
/// globalmap recording pushed as pod-a and pod-b) and one leaking
/// goroutines elsewhere (chansend as pod-c).
pub fn push_three_replicas(store: &str, service: &str) {
    for (example, pod) in [
        ("globalmap", "pod-a"),
        ("globalmap", "pod-b"),
        ("chansend", "pod-c"),
    ] {
        let dir = repo_root().join("examples").join(example);
        let out = heapdrift(&[
            "push",
            "--to",
            store,
            "--service",
            service,
            "--instance",
            pod,
            dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "push {pod}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A plain HTTP/1.1 GET: status and body (chunked bodies are left as they
/// come; the checks only look for words in them).
pub fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    (status, body.to_string())
}

pub fn get_json(url: &str) -> serde_json::Value {
    let (status, body) = http_get(url);
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

/// `serve --from STORE --service SERVICE` on the replicas of
/// [`push_three_replicas`]: the fleet ranks the site two of three replicas
/// leak at first, naming them and linking each to its series; each
/// instance is a target whose findings have timelines whose snapshots open
/// in pprof's views, read back from the store.
pub fn serve_shows_the_fleet_then_its_instances(store: &str, service: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args([
            "serve",
            "--from",
            store,
            "--service",
            service,
            "--from-time",
            "2026-11-26T00:00:00Z",
            "--http=127.0.0.1:0",
            "--no_browser",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("heapdrift serve");
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let child = Killed(child);
    let mut seen = Vec::new();
    let mut base = None;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Serving web UI on ") {
            base = Some(url.trim().trim_end_matches('/').to_string());
            break;
        }
        seen.push(line);
    }
    let base = base.unwrap_or_else(|| panic!("no URL from serve: {seen:?}"));
    assert!(
        seen.iter()
            .any(|l| l.contains("3 instance(s) of 1 service(s)")),
        "{seen:?}"
    );

    let targets = get_json(&format!("{base}/api/targets"));
    assert_eq!(targets["source"], "fleet", "{targets:#}");
    let urls: Vec<&str> = targets["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            format!("{service} instance=pod-a"),
            format!("{service} instance=pod-b"),
            format!("{service} instance=pod-c")
        ]
    );

    let fleet = get_json(&format!("{base}/api/fleet"));
    let ranked = &fleet["services"][0];
    assert_eq!(ranked["service"], service, "{fleet:#}");
    let top = &ranked["sites"][0];
    assert_eq!(
        (
            &top["function"],
            &top["verdict"],
            &top["growing"],
            &top["replicas"]
        ),
        (
            &serde_json::json!("main.handleLogin"),
            &serde_json::json!("leak"),
            &serde_json::json!(2),
            &serde_json::json!(3)
        ),
        "{fleet:#}"
    );
    let pod_a = ranked["series"]["pod-a"].as_str().expect("pod-a's series");

    let findings = get_json(&format!("{base}/api/series/{pod_a}/findings"));
    let leak = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "main.handleLogin")
        .unwrap_or_else(|| panic!("{findings:#}"));
    assert_eq!(leak["verdict"], "leak");
    let points = leak["points"].as_array().unwrap();
    assert!(points.len() >= 10, "{leak:#}");
    let flame = leak["flame"].as_str().expect("a flame graph link");
    let src = flame
        .split("src=")
        .nth(1)
        .expect("src")
        .split('&')
        .next()
        .unwrap();
    // The snapshot behind the link, read back from the store.
    let (status, top_view) = http_get(&format!("{base}/ui/top?src={src}"));
    assert_eq!(status, 200, "{top_view}");
    assert!(top_view.contains("main.handleLogin"), "{top_view}");
    let (status, page) = http_get(&format!("{base}{flame}"));
    assert_eq!(status, 200, "{page}");
    drop(child);
}

/// A recorded service replayed as a live target: each request for the heap
/// (or goroutine) profile answers the recording's next snapshot of it, the
/// last one again once they run out.
pub fn replay_target(dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recorded = |prefix: &str| -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with(prefix) && n.ends_with("Z.pb.gz")
            })
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read(p).unwrap()).collect()
    };
    let profiles = std::sync::Arc::new([recorded("heap-"), recorded("goroutine-")]);
    let served = std::sync::Arc::new(std::sync::Mutex::new([0usize, 0usize]));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let (profiles, served) = (profiles.clone(), served.clone());
            std::thread::spawn(move || {
                let Some(path) = super::fake_http::request_path(&conn) else {
                    return;
                };
                let which = match path.as_str() {
                    "/debug/pprof/heap" => Some(0),
                    "/debug/pprof/goroutine" => Some(1),
                    _ => None,
                };
                let (status, body) = match which {
                    Some(i) => {
                        let mut n = served.lock().unwrap();
                        let list = &profiles[i];
                        let body = list[n[i].min(list.len() - 1)].clone();
                        n[i] += 1;
                        ("200 OK", body)
                    }
                    None if path == "/debug/pprof/" => (
                        "200 OK",
                        b"<html><table>\n<tr><td>9</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n\
                          <tr><td>3</td><td><a href='heap?debug=1'>heap</a></td></tr>\n</table></html>"
                            .to_vec(),
                    ),
                    None => ("404 Not Found", b"Unknown profile\n".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            });
        }
    });
    url
}

/// `heapdrift watch TARGET` for `for_`, a round every 1.5 s (more than a
/// second apart: Pyroscope lists profiles by the second), heap and
/// goroutine profiles only, with `extra`; its stdout.
pub fn watch_pushing(target: &str, for_: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "watch",
        target,
        "--every",
        "1500ms",
        "--for",
        for_,
        "--quiet",
        "--dump-every",
        "0",
        "--leak-every",
        "0",
        "--allocs-every",
        "0",
    ];
    args.extend(extra);
    let out = heapdrift(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
