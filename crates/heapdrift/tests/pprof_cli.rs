//! End-to-end tests of `heapdrift pprof`: the binary against goldens made
//! by `go tool pprof` (tests/data/gen.sh) on real Go profiles, output
//! routing, and bad inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn profiles() -> PathBuf {
    data().join("profiles")
}

fn heapdrift(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .arg("pprof")
        .args(args)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .output()
        .expect("run heapdrift")
}

fn render(o: &Output) -> String {
    format!(
        "exit {}\n-- stderr --\n{}-- stdout --\n{}",
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    )
}

fn cases() -> Vec<(String, Vec<String>)> {
    read_cases("cases.txt")
}

fn read_cases(file: &str) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(data().join(file)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, args) = l.split_once('|').expect("NAME|ARGS");
            (
                name.to_string(),
                args.split_whitespace().map(str::to_string).collect(),
            )
        })
        .collect()
}

/// Every case of cases.txt: exit status, stderr and stdout byte-identical
/// to go tool pprof's.
#[test]
fn goldens_match_go_tool_pprof() {
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 50, "cases.txt has {} cases", cases.len());
    for (name, args) in &cases {
        let want = std::fs::read_to_string(data().join("golden").join(format!("{name}.txt")))
            .unwrap_or_else(|e| panic!("golden for {name}: {e}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = render(&heapdrift(&args, &profiles()));
        if got != want {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .enumerate()
                .filter(|(_, (w, g))| w != g)
                .take(3)
                .map(|(i, (w, g))| format!("  line {}:\n    want {w:?}\n    got  {g:?}", i + 1))
                .collect();
            failures.push(format!(
                "{name} ({}):\n{}{}",
                args.join(" "),
                diff.join("\n"),
                if diff.is_empty() {
                    format!("\n  lengths differ: want {} got {}", want.len(), got.len())
                } else {
                    String::new()
                }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `-proto` and `-topproto`: the same profile.proto bytes as go tool
/// pprof's (before gzip, whose bytes may differ).
#[test]
fn binary_goldens_match_go_tool_pprof() {
    let cases = read_cases("binary_cases.txt");
    assert!(cases.len() >= 4);
    for (name, args) in &cases {
        let want = std::fs::read(data().join("golden").join(format!("{name}.pb"))).unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = heapdrift(&args, &profiles());
        assert_eq!(o.status.code(), Some(0), "{name}: {}", render(&o));
        let got = profile::gz::maybe_decompress(&o.stdout, 1 << 30).unwrap();
        assert_eq!(o.stdout[..2], [0x1f, 0x8b], "{name}: gzip magic");
        assert!(
            *got == *want,
            "{name}: proto bytes differ from go tool pprof's"
        );
    }
}

#[test]
fn output_flag_writes_file_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("top.txt");
    let out_s = out.to_str().unwrap();
    let flag = format!("-output={out_s}");
    let o = heapdrift(&["-top", &flag, "heap_2.pb.gz"], &profiles());
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("Generating report in {out_s}\n")
    );
    let stdout = heapdrift(&["-top", "heap_2.pb.gz"], &profiles()).stdout;
    assert_eq!(std::fs::read(&out).unwrap(), stdout);
}

/// `-proto` writes a gzip'ed profile that reads back to the same report.
#[test]
fn proto_output_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let o = heapdrift(
        &["-proto", "-focus=buildBuffers", "heap_2.pb.gz"],
        &profiles(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", render(&o));
    assert_eq!(&o.stdout[..2], &[0x1f, 0x8b], "gzip magic");
    let f = dir.path().join("p.pb.gz");
    std::fs::write(&f, &o.stdout).unwrap();
    let again = heapdrift(&["-top", f.to_str().unwrap()], &profiles());
    let direct = heapdrift(
        &["-top", "-focus=buildBuffers", "heap_2.pb.gz"],
        &profiles(),
    );
    // The filtered profile's total is the focused subset, and the header
    // has no "Active filters"; the rows are the same.
    let rows = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("flat"))
            .map(|l| l[..10].to_string() + &l[27..])
            .collect::<Vec<_>>()
    };
    let (a, b) = (rows(&again), rows(&direct));
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
}

/// go tool pprof reads our `-proto` exactly as its own.
#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn proto_output_reads_in_go_tool_pprof_as_its_own() {
    let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    let dir = tempfile::tempdir().unwrap();
    let o = heapdrift(
        &["-proto", "-focus=buildBuffers", "heap_2.pb.gz"],
        &profiles(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", render(&o));
    let f = dir.path().join("p.pb.gz");
    std::fs::write(&f, &o.stdout).unwrap();
    let go_proto = Command::new(&go)
        .args([
            "tool",
            "pprof",
            "-proto",
            "-focus=buildBuffers",
            "heap_2.pb.gz",
        ])
        .current_dir(profiles())
        .output()
        .unwrap();
    let g = dir.path().join("g.pb.gz");
    std::fs::write(&g, &go_proto.stdout).unwrap();
    let raw = |p: &Path| {
        Command::new(&go)
            .args(["tool", "pprof", "-raw", p.to_str().unwrap()])
            .env("TZ", "UTC")
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(
        String::from_utf8_lossy(&raw(&f)),
        String::from_utf8_lossy(&raw(&g))
    );
}

/// Without Graphviz, a format that needs `dot` fails with one line and
/// exit 2 (an empty PATH hides any installed `dot`).
#[test]
fn graphviz_formats_without_dot_fail_in_one_line() {
    let o = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(["pprof", "-svg", "heap_2.pb.gz"])
        .current_dir(profiles())
        .env("PATH", "")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", render(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).lines().count(),
        1,
        "{}",
        render(&o)
    );
}

/// Binary formats on a pipe go to stdout; `dot` output is piped through
/// Graphviz.
#[test]
#[cfg_attr(
    not(heapdrift_dot),
    ignore = "needs Graphviz `dot` on PATH: scripts/setup-browser.sh"
)]
fn graphviz_formats() {
    let o = heapdrift(&["-svg", "heap_2.pb.gz"], &profiles());
    assert_eq!(o.status.code(), Some(0), "{}", render(&o));
    let svg = String::from_utf8_lossy(&o.stdout);
    assert!(svg.contains("<svg"), "{svg:.200}");
    assert!(svg.contains("main.buildBuffers"));
    let png = heapdrift(&["-png", "heap_2.pb.gz"], &profiles());
    assert_eq!(png.status.code(), Some(0));
    assert_eq!(&png.stdout[..4], b"\x89PNG");
}

/// `-disasm` without the profile's binary (long gone) fails with one line
/// and exit 2, as in pprof. (`-weblist` still makes its page, from the
/// profile's lines: tests/binaries.rs.)
#[test]
fn disasm_without_the_binary_fails_cleanly() {
    let o = heapdrift(&["-disasm=main", "heap_2.pb.gz"], &profiles());
    assert_eq!(o.status.code(), Some(2), "{}", render(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(o.stdout.is_empty());
}

/// `-web` writes the graph to `$TMPDIR/pprofNNN.svg` and opens it with
/// $BROWSER (here a script that records what it was given).
#[test]
#[cfg_attr(not(heapdrift_dot), ignore = "needs Graphviz's dot on PATH")]
fn web_opens_the_graph_in_the_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("opened.txt");
    let browser = tmp.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\necho \"$1\" >> {}\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(["pprof", "-web", "heap_2.pb.gz"])
        .current_dir(profiles())
        .env("BROWSER", &browser)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", render(&o));
    let opened = std::fs::read_to_string(&log).unwrap();
    let svg = tmp.path().join("pprof001.svg");
    assert_eq!(opened.trim(), svg.display().to_string());
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

/// With no viewer to start, the report stays in its file and heapdrift
/// says where.
#[test]
fn without_a_viewer_the_report_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(["pprof", "-kcachegrind", "heap_2.pb.gz"])
        .current_dir(profiles())
        .env("PATH", tmp.path())
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let file = tmp.path().join("pprof001.grind");
    assert_eq!(o.status.code(), Some(0), "{}", render(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "heapdrift pprof: no viewer could be started for kcachegrind; the report is in {}\n",
            file.display()
        )
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("positions: instr line\n")
    );
}

/// Writes `bytes` to a file in `dir` and runs `-top` on it.
fn run_on(dir: &Path, name: &str, bytes: &[u8], env: &[(&str, &str)]) -> Output {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_heapdrift"));
    c.args(["pprof", "-top", name]).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// pprof's report of a source it could not read: one line naming the file
/// and what is wrong, then (none being left) "failed to fetch any source
/// profiles", or "... base profiles"; exit 2.
fn assert_source_error(o: &Output, file: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{file}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{file}: {err:?}");
    assert!(
        lines[0].starts_with(&format!("{file}: ")),
        "{file}: error does not name the file: {err:?}"
    );
    assert!(
        lines[1] == "failed to fetch any source profiles"
            || lines[1] == "failed to fetch any base profiles",
        "{file}: {err:?}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_inputs_are_named_as_pprof_names_them_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(profiles().join("heap_2.pb.gz")).unwrap();

    let o = run_on(dir.path(), "truncated.pb.gz", &good[..good.len() / 2], &[]);
    assert_source_error(&o, "truncated.pb.gz");

    // Deterministic "random" bytes (xorshift).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let o = run_on(dir.path(), "random.bin", &noise, &[]);
    assert_source_error(&o, "random.bin");

    let o = run_on(dir.path(), "empty", b"", &[]);
    assert_source_error(&o, "empty");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "empty: parsing profile: empty input file\nfailed to fetch any source profiles\n"
    );

    let o = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(["pprof", "-top", "missing.pb.gz"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_source_error(&o, "missing.pb.gz");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "missing.pb.gz: stat missing.pb.gz: no such file or directory\nfailed to fetch any source profiles\n"
    );

    // A missing base is reported the same way.
    let base = dir.path().join("good.pb.gz");
    std::fs::write(&base, &good).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(["pprof", "-top", "-base", "nobase.pb.gz", "good.pb.gz"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_source_error(&o, "nobase.pb.gz");
}

/// A small gzip file that inflates past HEAPDRIFT_MAX_DECOMPRESSED is
/// refused without inflating it all.
#[test]
fn gzip_bomb_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let enc = gzip(&vec![0u8; 8 << 20]);
    let o = run_on(
        dir.path(),
        "bomb.pb.gz",
        &enc,
        &[("HEAPDRIFT_MAX_DECOMPRESSED", "1048576")],
    );
    assert_source_error(&o, "bomb.pb.gz");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("HEAPDRIFT_MAX_DECOMPRESSED"), "{err}");
    // Under the default cap the same file inflates and is just not a
    // profile.
    let o = run_on(dir.path(), "bomb2.pb.gz", &enc, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("exceeds"));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    profile::gz::compress(data)
}

/// A URL source: fetched, announced on stderr, saved under PPROF_TMPDIR,
/// and reported exactly as the same profile read from a file.
#[test]
fn url_source() {
    use std::io::{BufRead, BufReader, Write};
    let body = std::fs::read(profiles().join("heap_2.pb.gz")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request_line = String::new();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        reader.read_line(&mut request_line).unwrap();
        loop {
            let mut l = String::new();
            if reader.read_line(&mut l).unwrap() == 0 || l == "\r\n" {
                break;
            }
        }
        write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        conn.write_all(&body).unwrap();
        request_line
    });
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("{addr}/debug/pprof/heap");
    let o = Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(["pprof", "-top", &url])
        .env("PPROF_TMPDIR", tmp.path())
        .env("TZ", "UTC")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap();
    let request = server.join().unwrap();
    assert_eq!(request, "GET /debug/pprof/heap HTTP/1.1\r\n");
    assert_eq!(o.status.code(), Some(0), "{}", render(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        format!("Fetching profile over HTTP from http://{url}")
    );
    let saved = tmp
        .path()
        .join("pprof.drivergen.alloc_objects.alloc_space.inuse_objects.inuse_space.001.pb.gz");
    assert_eq!(lines[1], format!("Saved profile in {}", saved.display()));
    assert_eq!(lines.len(), 2);
    assert!(saved.exists());
    let from_file = heapdrift(&["-top", "heap_2.pb.gz"], &profiles());
    assert_eq!(o.stdout, from_file.stdout);
}

/// A binary report bound for a terminal goes to `profileNNN.<ext>` in the
/// working directory instead, as pprof's `awayFromTTY` does. Needs
/// util-linux `script` for the terminal.
#[test]
#[cfg_attr(
    not(heapdrift_script),
    ignore = "needs util-linux `script` on PATH for a terminal"
)]
fn binary_report_to_terminal_goes_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} pprof -proto {}",
        env!("CARGO_BIN_EXE_heapdrift"),
        profiles().join("heap_2.pb.gz").display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let term = String::from_utf8_lossy(&o.stdout);
    assert!(
        term.contains("Generating report in profile001.pb.gz"),
        "{term:?}"
    );
    let saved = std::fs::read(dir.path().join("profile001.pb.gz")).unwrap();
    assert_eq!(&saved[..2], &[0x1f, 0x8b]);
}
