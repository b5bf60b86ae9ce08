//! What the tests against real profile stores share (tests/pyroscope.rs,
//! tests/parca.rs): a server started by its script (scripts/pyroscope.sh,
//! scripts/parca.sh), stopped when dropped, and the verdicts of `hunt
//! --json` compared between a store and the files.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::path::PathBuf;
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
