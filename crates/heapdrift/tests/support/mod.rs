//! Machinery of the differential tests: the case matrix, running heapdrift
//! and go tool pprof in a sandbox, comparing outputs, and the known-diffs list.
//! The matrix is the one scripts/gen-goldens.sh uses; docs/pprof-compat.md
//! describes it.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// pprof cannot read goroutine debug=2 dumps (heapdrift can, deliberately),
/// so that fixture is outside the differential matrix.
pub const NOT_IN_MATRIX: &[&str] = &["goroutine_dump.txt"];

/// A run that takes longer than this is killed and counted as a difference.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// One (fixture, case) combination.
#[derive(Clone, Debug)]
pub struct Case {
    /// `fixture/case`, the key of the golden files and of known-diffs.txt.
    pub id: String,
    /// pprof's arguments: flags then sources, relative to the repo root.
    pub args: Vec<String>,
    /// Compare stdout as a multiset of lines (pprof's own order is random).
    pub unordered: bool,
}

impl Case {
    pub fn golden(&self, ext: &str) -> PathBuf {
        repo_root()
            .join("testdata/golden")
            .join(format!("{}.{ext}", self.id))
    }
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
}

/// Single-source fixtures of the matrix, sorted.
pub fn fixtures(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(root.join("testdata/profiles"))
        .expect("read testdata/profiles")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !NOT_IN_MATRIX.contains(&n.as_str()))
        .collect();
    out.sort();
    out
}

/// Every (fixture, case) of cases.txt and multi_cases.txt.
pub fn matrix() -> Vec<Case> {
    let root = repo_root();
    let read =
        |p: &str| fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("reading {p}: {e}"));
    let unordered: BTreeSet<String> = data_lines(&read("testdata/unordered.txt"))
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .collect();
    let mut out = Vec::new();
    for fixture in fixtures(&root) {
        // Go's legacy texts carry symbols in `#` lines that pprof ignores
        // and heapdrift uses; -symbolize=none makes heapdrift ignore them.
        let legacy = fixture.ends_with(".txt");
        out.extend(single_source_cases(
            &fixture,
            &format!("testdata/profiles/{fixture}"),
            legacy,
        ));
    }
    for line in data_lines(&read("testdata/multi_cases.txt")) {
        let mut parts = line.split('\t');
        let name = parts.next().unwrap_or_default();
        let flags = parts.next().unwrap_or_default();
        let sources = parts.next().unwrap_or_default();
        let mut args: Vec<String> = flags.split_whitespace().map(str::to_string).collect();
        args.extend(
            sources
                .split_whitespace()
                .map(|s| format!("testdata/profiles/{s}")),
        );
        out.push(Case {
            id: format!("multi/{name}"),
            args,
            unordered: unordered.contains(name),
        });
    }
    out
}

/// The cases of testdata/cases.txt on one source (`path` as pprof is
/// given it), with ids `fixture/case`.
pub fn single_source_cases(fixture: &str, path: &str, symbolize_none: bool) -> Vec<Case> {
    let root = repo_root();
    let read =
        |p: &str| fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("reading {p}: {e}"));
    let unordered: BTreeSet<String> = data_lines(&read("testdata/unordered.txt"))
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .collect();
    let cases = read("testdata/cases.txt");
    let mut out = Vec::new();
    for line in data_lines(&cases) {
        let (name, flags) = line.split_once('\t').unwrap_or((line, ""));
        let mut args = Vec::new();
        if symbolize_none {
            args.push("-symbolize=none".to_string());
        }
        args.extend(flags.split_whitespace().map(str::to_string));
        args.push(path.to_string());
        out.push(Case {
            id: format!("{fixture}/{name}"),
            args,
            unordered: unordered.contains(name),
        });
    }
    out
}

/// What a run printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit status; -1 for a signal or a timeout.
    pub status: i32,
}

/// The golden output of a case, as recorded by scripts/gen-goldens.sh.
pub fn golden(case: &Case) -> Result<Output, String> {
    let stdout = fs::read(case.golden("out"))
        .map_err(|e| format!("missing golden {}: {e}", case.golden("out").display()))?;
    let status = match fs::read_to_string(case.golden("status")) {
        Ok(s) => s.trim().parse().map_err(|e| format!("bad .status: {e}"))?,
        Err(_) => 0,
    };
    let stderr = fs::read(case.golden("err")).unwrap_or_default();
    Ok(Output {
        stdout,
        stderr,
        status,
    })
}

/// An empty HOME/PPROF_TMPDIR, so that neither tool finds saved settings or
/// binaries to symbolize with (the goldens were made the same way).
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("home")).unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        fs::create_dir_all(dir.path().join("out")).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command with the environment of scripts/gen-goldens.sh.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("TZ", "UTC")
            .env("HOME", self.dir.path().join("home"))
            .env("PPROF_TMPDIR", self.dir.path().join("tmp"))
            .env("PPROF_BINARY_PATH", self.dir.path().join("none"))
            .current_dir(repo_root());
        cmd
    }
}

static RUN_SEQ: AtomicUsize = AtomicUsize::new(0);

/// Runs `cmd`, capturing its output through files (no pipe deadlocks) and
/// killing it after RUN_TIMEOUT.
pub fn run(sandbox: &Sandbox, mut cmd: Command) -> Output {
    let n = RUN_SEQ.fetch_add(1, Ordering::Relaxed);
    let out_path = sandbox.path().join(format!("out/{n}.stdout"));
    let err_path = sandbox.path().join(format!("out/{n}.stderr"));
    let mut spawn = || -> std::io::Result<std::process::Child> {
        cmd.stdin(Stdio::null())
            .stdout(fs::File::create(&out_path)?)
            .stderr(fs::File::create(&err_path)?)
            .spawn()
    };
    let mut child = match spawn() {
        Ok(c) => c,
        Err(e) => {
            return Output {
                stdout: Vec::new(),
                stderr: format!("cannot run: {e}").into_bytes(),
                status: -1,
            };
        }
    };
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code().unwrap_or(-1),
            Ok(None) if start.elapsed() > RUN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break -1;
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(_) => break -1,
        }
    };
    let stdout = fs::read(&out_path).unwrap_or_default();
    let mut stderr = fs::read(&err_path).unwrap_or_default();
    if start.elapsed() > RUN_TIMEOUT {
        stderr.extend_from_slice(b"\n(killed after timeout)");
    }
    let _ = fs::remove_file(&out_path);
    let _ = fs::remove_file(&err_path);
    Output {
        stdout,
        stderr,
        status,
    }
}

/// Maps `f` over `items` on all cores (the matrix has ~1600 runs).
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 16);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

/// None when `actual` matches `expected`, else a short unified-style diff.
pub fn compare(
    expected: &Output,
    actual: &Output,
    unordered: bool,
    labels: (&str, &str),
) -> Option<String> {
    let same_stdout = if unordered {
        sorted_lines(&expected.stdout) == sorted_lines(&actual.stdout)
    } else {
        expected.stdout == actual.stdout
    };
    if same_stdout && expected.status == actual.status {
        return None;
    }
    let mut msg = String::new();
    if expected.status != actual.status {
        let _ = writeln!(
            msg,
            "  exit status: {} {}, {} {}",
            labels.0, expected.status, labels.1, actual.status
        );
        if actual.status != 0 && !actual.stderr.is_empty() {
            let err = String::from_utf8_lossy(&actual.stderr);
            for l in err.lines().take(3) {
                let _ = writeln!(msg, "  {} stderr: {l}", labels.1);
            }
        }
    }
    if !same_stdout {
        msg.push_str(&short_diff(
            &expected.stdout,
            &actual.stdout,
            unordered,
            labels,
        ));
    }
    Some(msg)
}

/// The lines of an unordered output, sorted, with the running `sum%` column
/// of table rows blanked: when pprof permutes rows of equal flat value, the
/// sum% values stay in place and so move between rows.
fn sorted_lines(b: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(b);
    let mut v: Vec<String> = text.split('\n').map(blank_sum_column).collect();
    v.sort();
    v
}

fn blank_sum_column(line: &str) -> String {
    let tokens: Vec<&str> = line.split_whitespace().take(3).collect();
    if tokens.len() == 3 && tokens[1].ends_with('%') && tokens[2].ends_with('%') {
        // The third token's first occurrence after the second token is it.
        let second = line.find(tokens[1]).unwrap_or(0) + tokens[1].len();
        if let Some(at) = line[second..].find(tokens[2]) {
            let at = second + at;
            // The padding goes too: its width depends on the value.
            return format!("{} *{}", &line[..second], &line[at + tokens[2].len()..]);
        }
    }
    line.to_string()
}

/// The first differing lines with two lines of context, unified-diff style.
pub fn short_diff(expected: &[u8], actual: &[u8], unordered: bool, labels: (&str, &str)) -> String {
    const CONTEXT: usize = 2;
    const SHOWN: usize = 6;
    let e = String::from_utf8_lossy(expected);
    let a = String::from_utf8_lossy(actual);
    let el: Vec<&str> = e.split_inclusive('\n').collect();
    let al: Vec<&str> = a.split_inclusive('\n').collect();
    let first = el
        .iter()
        .zip(al.iter())
        .position(|(x, y)| x != y)
        .unwrap_or(el.len().min(al.len()));
    let from = first.saturating_sub(CONTEXT);
    let mut msg = format!(
        "  --- {} ({} bytes, {} lines){}\n  +++ {} ({} bytes, {} lines)\n  @@ -{},{} +{},{} @@\n",
        labels.0,
        expected.len(),
        el.len(),
        if unordered {
            " [compared as unordered lines]"
        } else {
            ""
        },
        labels.1,
        actual.len(),
        al.len(),
        from + 1,
        (first + SHOWN).min(el.len()).saturating_sub(from),
        from + 1,
        (first + SHOWN).min(al.len()).saturating_sub(from),
    );
    let show = |sign: char, l: &str| {
        let l = l.strip_suffix('\n').unwrap_or(l);
        let l: String = l.chars().take(160).collect();
        format!("  {sign}{l}\n")
    };
    for l in &el[from..first] {
        msg.push_str(&show(' ', l));
    }
    for l in el.iter().skip(first).take(SHOWN) {
        msg.push_str(&show('-', l));
    }
    for l in al.iter().skip(first).take(SHOWN) {
        msg.push_str(&show('+', l));
    }
    if el.len() == al.len() && first == el.len() {
        msg.push_str("  (lines equal except for the final newline)\n");
    }
    msg
}

/// One line per mismatch for known-diffs files: a reason to keep, the
/// rationale is kept when the entry already has one.
pub fn one_line_reason(expected: &Output, actual: &Output) -> String {
    if actual.status == 0 && actual.stdout.is_empty() {
        return if expected.status != 0 {
            format!(
                "not implemented: exit 0 with no output, want status {}",
                expected.status
            )
        } else {
            "not implemented: exit 0 with no output".to_string()
        };
    }
    if actual.status != expected.status {
        let err = String::from_utf8_lossy(&actual.stderr);
        let err = err
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(80)
            .collect::<String>();
        return format!(
            "exit status {}, want {}{}{}",
            actual.status,
            expected.status,
            if err.is_empty() { "" } else { ": " },
            err
        );
    }
    let e = String::from_utf8_lossy(&expected.stdout);
    let a = String::from_utf8_lossy(&actual.stdout);
    let line = e
        .lines()
        .zip(a.lines())
        .position(|(x, y)| x != y)
        .unwrap_or(e.lines().count().min(a.lines().count()));
    format!("stdout differs from line {}", line + 1)
}

/// The expected-failure list: `id  # reason` lines.
pub struct KnownDiffs {
    path: PathBuf,
    /// id → reason (may be empty).
    pub entries: BTreeMap<String, String>,
}

impl KnownDiffs {
    pub fn load(path: PathBuf) -> KnownDiffs {
        let text = fs::read_to_string(&path).unwrap_or_default();
        let mut entries = BTreeMap::new();
        for line in text.lines() {
            let (id, reason) = line.split_once('#').unwrap_or((line, ""));
            let id = id.trim();
            if !id.is_empty() {
                entries.insert(id.to_string(), reason.trim().to_string());
            }
        }
        KnownDiffs { path, entries }
    }

    /// Rewrites the file: `differ` (id → fresh reason) replaces the entries
    /// of `evaluated` ids, entries of ids not evaluated are kept.
    pub fn rewrite(
        &self,
        header: &str,
        evaluated: &BTreeSet<String>,
        differ: &BTreeMap<String, String>,
    ) {
        let mut entries: BTreeMap<String, String> = self
            .entries
            .iter()
            .filter(|(id, _)| !evaluated.contains(*id))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, fresh) in differ {
            let reason = match self.entries.get(id) {
                // Keep a hand-written reason; refresh generated ones.
                Some(old) if !old.is_empty() && !is_generated(old) => old.clone(),
                _ => fresh.clone(),
            };
            entries.insert(id.clone(), reason);
        }
        let mut text = String::from(header);
        for (id, reason) in &entries {
            if reason.is_empty() {
                let _ = writeln!(text, "{id}");
            } else {
                let _ = writeln!(text, "{id}  # {reason}");
            }
        }
        fs::write(&self.path, text)
            .unwrap_or_else(|e| panic!("writing {}: {e}", self.path.display()));
    }
}

fn is_generated(reason: &str) -> bool {
    reason.starts_with("not implemented:")
        || reason.starts_with("exit status ")
        || reason.starts_with("stdout differs from line ")
}

/// The pprof binary of `go tool pprof`, called directly to skip the go
/// command's start-up on each of ~1600 runs.
pub fn pprof_binary(go: &Path) -> PathBuf {
    // First use builds pprof into the Go cache; -n then prints its path.
    let _ = Command::new(go)
        .args(["tool", "pprof", "-h"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let out = Command::new(go)
        .args(["tool", "-n", "pprof"])
        .output()
        .expect("running go tool -n pprof");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        path.is_file(),
        "go tool -n pprof gave {path:?}, which is not a file"
    );
    path
}
