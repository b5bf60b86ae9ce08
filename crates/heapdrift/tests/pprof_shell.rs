//! `heapdrift pprof SOURCE` without an output format: go tool pprof's
//! interactive shell, driven through stdin as a script would. Each session
//! of tests/data/shell-sessions.txt runs against real Go profiles in both
//! heapdrift and go tool pprof, each in a fresh directory: stdout (prompts
//! and reports), stderr (header, messages) and the files written
//! (`>file`, `profileNNN.pb.gz`) must be byte-identical.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Sessions: `# name` then the lines typed, up to a blank line.
fn sessions() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shell-sessions.txt"),
    )
    .unwrap();
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.starts_with("//"));
        let Some(name) = lines.next().and_then(|l| l.strip_prefix("# ")) else {
            continue;
        };
        let input: String = lines.map(|l| format!("{l}\n")).collect();
        out.push((name.to_string(), input));
    }
    out
}

struct Run {
    output: Output,
    files: BTreeMap<String, Vec<u8>>,
}

/// Runs a session in `dir` (empty, and emptied again afterwards): both
/// programs run in the same directory, which `list` prints.
fn run_in(dir: &Path, program: &Path, pre: &[&str], args: &[String], input: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(pre)
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        // Keep pprof from opening a browser or saving fetched profiles.
        .env("BROWSER", "false")
        .env("PPROF_TMPDIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        files.insert(
            p.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read(&p).unwrap(),
        );
        std::fs::remove_file(&p).unwrap();
    }
    Run { output, files }
}

fn run(program: &Path, pre: &[&str], args: &[String], input: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), program, pre, args, input)
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn scripted_sessions_match_go_tool_pprof() {
    let go = PathBuf::from(std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO"));
    let profiles = root().join("testdata/profiles");
    // Go's debug=1 texts are read with -symbolize=none: heapdrift otherwise
    // names their frames from the `#` lines, which pprof cannot.
    let sources: &[&[&str]] = &[
        &["heap_3.pb.gz"],
        &["allocs.pb.gz"],
        &["cpu.pb.gz"],
        &["goroutine.pb.gz"],
        &["mutex.pb.gz"],
        &["-symbolize=none", "heap.txt"],
        &["-diff_base", "heap_1.pb.gz", "heap_3.pb.gz"],
        &["-base", "heap_1.pb.gz", "heap_3.pb.gz"],
    ];
    let sessions = sessions();
    assert!(sessions.len() >= 7, "{} sessions", sessions.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    for src in sources {
        let args: Vec<String> = src
            .iter()
            .map(|a| {
                let p = profiles.join(a);
                if p.exists() {
                    p.display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        for (name, input) in &sessions {
            let dir = tempfile::tempdir().unwrap();
            let h = run_in(
                dir.path(),
                Path::new(env!("CARGO_BIN_EXE_heapdrift")),
                &["pprof"],
                &args,
                input,
            );
            let g = run_in(dir.path(), &go, &["tool", "pprof"], &args, input);
            let id = format!("{name} on {}", src.join(" "));
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            if h.output.status.code() != g.output.status.code() {
                failures.push(format!(
                    "{id}: exit {:?}, pprof {:?}",
                    h.output.status.code(),
                    g.output.status.code()
                ));
            }
            for (what, ours, theirs) in [
                ("stdout", &h.output.stdout, &g.output.stdout),
                ("stderr", &h.output.stderr, &g.output.stderr),
            ] {
                if ours != theirs {
                    failures.push(format!(
                        "{id}: {what} differs\n--- heapdrift\n{}\n--- pprof\n{}",
                        first_difference(&text(ours), &text(theirs)).0,
                        first_difference(&text(ours), &text(theirs)).1
                    ));
                }
            }
            let names = |r: &Run| r.files.keys().cloned().collect::<Vec<_>>();
            if names(&h) != names(&g) {
                failures.push(format!(
                    "{id}: files {:?}, pprof {:?}",
                    names(&h),
                    names(&g)
                ));
            } else {
                for (f, bytes) in &h.files {
                    // Compressed protos may differ in gzip bytes; compare
                    // what they decode to.
                    let same = if f.ends_with(".pb.gz") {
                        decoded(bytes) == decoded(&g.files[f])
                    } else {
                        bytes == &g.files[f]
                    };
                    if !same {
                        failures.push(format!("{id}: file {f} differs"));
                    }
                }
            }
            compared += 1;
        }
    }
    assert!(compared >= 50, "{compared} sessions compared");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn decoded(gz: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The lines around the first difference, for a readable failure.
fn first_difference(a: &str, b: &str) -> (String, String) {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = al.iter().zip(&bl).take_while(|(x, y)| x == y).count();
    let from = i.saturating_sub(2);
    let show = |l: &[&str]| l[from.min(l.len())..(i + 3).min(l.len())].join("\n");
    (show(&al), show(&bl))
}

/// Without the oracle: the shell's frame (header, prompts, quit) and a
/// report, and the end of input ending the session.
#[test]
fn a_piped_session_prompts_reports_and_ends() {
    let p = root().join("testdata/profiles/heap_3.pb.gz");
    let r = run(
        Path::new(env!("CARGO_BIN_EXE_heapdrift")),
        &["pprof"],
        &[p.display().to_string()],
        "top 3\nnodecount=x\n",
    );
    let out = String::from_utf8_lossy(&r.output.stdout);
    let err = String::from_utf8_lossy(&r.output.stderr);
    assert_eq!(r.output.status.code(), Some(0), "{err}");
    assert!(err.contains("Type: inuse_space\n"), "{err}");
    assert!(
        err.contains("Entering interactive mode (type \"help\" for commands, \"o\" for options)\n"),
        "{err}"
    );
    assert!(
        err.ends_with("strconv.Atoi: parsing \"x\": invalid syntax\n"),
        "{err}"
    );
    assert!(
        out.starts_with("(pprof) Showing nodes accounting for"),
        "{out}"
    );
    assert_eq!(out.matches("(pprof) ").count(), 3, "{out}");
    assert!(out.ends_with("(pprof) "), "{out}");
}

/// At a terminal (a pty made by util-linux `script`): tab completion of a
/// command and of an option's value, and the history kept in
/// `$XDG_STATE_HOME/heapdrift/pprof_history`.
#[test]
#[cfg_attr(
    not(heapdrift_script),
    ignore = "needs util-linux `script` on PATH (a terminal for the test)"
)]
fn at_a_terminal_tab_completes_and_history_is_kept() {
    use std::io::Write;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let profile = root().join("testdata/profiles/heap_3.pb.gz");
    let cmd = format!(
        "{} pprof {}",
        env!("CARGO_BIN_EXE_heapdrift"),
        profile.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("XDG_STATE_HOME", dir.path())
        .env("TZ", "UTC")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    // An empty prompt as the editor draws it: the prompt, then the cursor
    // moved back to after it. (A redraw after a completion has text after
    // the prompt instead.)
    let prompts = || {
        String::from_utf8_lossy(&seen.lock().unwrap())
            .matches("(pprof) \r")
            .count()
    };
    // Each key sequence once the editor shows a new prompt (input typed
    // before the terminal is in raw mode would be read as cooked text).
    for (i, keys) in ["tre\t 3\r", "sample_index=alloc_sp\t\r", "o\r", "q\r"]
        .iter()
        .enumerate()
    {
        let t = std::time::Instant::now();
        while prompts() <= i && t.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        stdin.write_all(keys.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(status.success(), "{text}");
    // `tre` completed to `tree`, which ran with a count of 3.
    assert!(text.contains("(pprof) tree"), "{text}");
    assert!(text.contains("Showing top 3 nodes"), "{text}");
    // `alloc_sp` completed to `alloc_space`, which `o` then shows.
    assert!(
        text.contains("sample_index              = alloc_space"),
        "{text}"
    );
    let history = std::fs::read_to_string(dir.path().join("heapdrift/pprof_history")).unwrap();
    let lines: Vec<&str> = history.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        ["tree 3", "sample_index=alloc_space", "o", "q"],
        "{history}"
    );
}
