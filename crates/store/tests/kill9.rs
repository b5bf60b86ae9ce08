//! `kill -9` of a writer at random moments, many times: the archive stays
//! readable and consistent, and every snapshot whose `put` returned is
//! there.
//!
//! The writer is this test executable itself, re-run with
//! `HEAPDRIFT_STORE_KILL_CHILD=<dir>` so that only `child_writer` acts.

mod common;

use common::*;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use store::{Archive, Identity, Kind};

const CHILD_ENV: &str = "HEAPDRIFT_STORE_KILL_CHILD";

/// The writer: appends snapshots forever, printing `done <id> <path>`
/// after each `put` returns.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut a = Archive::open(&dir).unwrap();
    let t = a.target("http://127.0.0.1:6060").unwrap();
    let series = match a.series(t).unwrap().last() {
        Some(s) => s.id,
        None => a.begin_series(t, 0, &Identity::default(), "first").unwrap(),
    };
    let snaps: Vec<_> = real_snapshots()
        .into_iter()
        .map(|(k, b)| {
            let s = summarize(&b);
            (k, b, s)
        })
        .collect();
    let mut i = 0usize;
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    loop {
        let (k, b, s) = &snaps[i % snaps.len()];
        let id = a.put(series, *k, base + i as i64, Some(1), b, s).unwrap();
        let info = a.snapshot(id).unwrap();
        // One write per line: the parent may read a line only once it is
        // complete, and a kill before this print just loses the claim.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "done {} {}", id.0, info.path).unwrap();
        out.flush().unwrap();
        i += 1;
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_during_writes_keeps_archive_consistent() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let by_content: HashMap<Kind, Vec<Vec<u8>>> =
        real_snapshots()
            .into_iter()
            .fold(HashMap::new(), |mut m, (k, b)| {
                m.entry(k).or_default().push(b);
                m
            });
    let mut confirmed: Vec<(i64, String)> = Vec::new();
    let started = Instant::now();
    let mut rounds = 0;
    let mut repaired = (0, 0);
    while rounds < 60 && started.elapsed() < Duration::from_secs(12) {
        rounds += 1;
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut done = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("done ") {
                    let (id, path) = rest.split_once(' ').unwrap();
                    done.push((id.parse::<i64>().unwrap(), path.to_string()));
                }
            }
            done
        });
        // Kill anywhere from during start-up (open, recovery) to well into
        // the write loop.
        std::thread::sleep(Duration::from_micros(rng.next() % 150_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        confirmed.extend(reader.join().unwrap());

        // Reopen as the next writer would: recovery, then checks.
        let a = Archive::open(dir.path()).unwrap();
        repaired.0 += a.recovery().temp_removed;
        repaired.1 += a.recovery().reindexed;
        assert!(a.recovery().foreign.is_empty(), "{:?}", a.recovery());
        assert_eq!(a.recovery().missing, 0);
        assert_eq!(a.recovery().unparsed, 0);
        let Some(t) = a.targets().unwrap().first().map(|t| t.id) else {
            continue;
        };
        let mut indexed = HashSet::new();
        for s in a.series(t).unwrap() {
            for info in a.snapshots(s.id, None).unwrap() {
                assert_eq!(info.status, "ok");
                let bytes = a.read(info.id).unwrap();
                assert_eq!(bytes.len() as i64, info.bytes, "{}", info.path);
                assert!(
                    by_content[&info.kind].contains(&bytes),
                    "{} is not a complete copy",
                    info.path
                );
                indexed.insert((info.id.0, info.path.clone()));
            }
            // Index-only reads work too.
            a.heap_matrix(&[s.id], Kind::Heap).unwrap();
        }
        for c in &confirmed {
            assert!(indexed.contains(c), "completed snapshot {c:?} lost");
        }
        // Every file on disk is indexed; no temp file is left.
        let mut on_disk = 0;
        for e in walk(dir.path()) {
            let rel = e
                .strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel.starts_with("heapdrift.") {
                continue;
            }
            assert!(!rel.contains("/.tmp-"), "temp file left: {rel}");
            assert!(
                indexed.iter().any(|(_, p)| *p == rel),
                "file not indexed: {rel}"
            );
            on_disk += 1;
        }
        assert_eq!(on_disk, indexed.len());
    }
    println!(
        "{rounds} kills in {:?}: {} confirmed snapshots, {} temp files removed, {} files re-indexed",
        started.elapsed(),
        confirmed.len(),
        repaired.0,
        repaired.1
    );
    assert!(rounds >= 20, "too few rounds: {rounds}");
    assert!(!confirmed.is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
