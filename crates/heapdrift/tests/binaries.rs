//! `heapdrift pprof` with binaries, against live `go tool pprof` (Go 1.27,
//! `HEAPDRIFT_GO`): tests/data/binprog is built and run once into a temp
//! dir, where both tools then read its binary and CPU profile, and copies
//! of that profile stripped to addresses (symbolized from the binary, or
//! failing to be). Every comparison is exit status, stderr and stdout,
//! byte for byte.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

struct Fixture {
    dir: PathBuf,
}

fn go() -> String {
    std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO")
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().expect("run");
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The built program, its profile and the stripped copies, made once.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Under the target dir, remade by every run.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("binaries");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/binprog");
        std::fs::copy(data.join("main.go"), dir.join("main.go")).unwrap();
        std::fs::write(dir.join("go.mod"), "module binprog\n\ngo 1.27\n").unwrap();
        run(Command::new(go())
            .args(["build", "-o", "binprog", "."])
            .current_dir(&dir)
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local"));
        run(Command::new(dir.join("binprog"))
            .arg("cpu.pprof")
            .current_dir(&dir));
        // Position-independent: mapped away from its link address.
        run(Command::new(go())
            .args(["build", "-buildmode=pie", "-o", "binprog_pie", "."])
            .current_dir(&dir)
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local"));
        run(Command::new(dir.join("binprog_pie"))
            .arg("cpu_pie.pprof")
            .current_dir(&dir));
        let pie = read_profile(&dir.join("cpu_pie.pprof"));
        write_profile(&dir.join("addr_pie.pb.gz"), &addresses_only(pie));
        let p = read_profile(&dir.join("cpu.pprof"));
        write_profile(&dir.join("addr.pb.gz"), &addresses_only(p.clone()));
        let mut missing = addresses_only(p.clone());
        missing.mappings[0].file = dir.join("gone/binprog").to_string_lossy().into();
        write_profile(&dir.join("addr_missing.pb.gz"), &missing);
        missing.mappings[0].build_id.clear();
        write_profile(&dir.join("addr_missing_nobid.pb.gz"), &missing);
        let mut wrong = addresses_only(p);
        wrong.mappings[0].file = dir.join("main.go").to_string_lossy().into();
        write_profile(&dir.join("addr_wrong.pb.gz"), &wrong);
        // Another Go program: a valid binary, but the wrong one.
        let goroot = run(Command::new(go()).args(["env", "GOROOT"])).stdout;
        let goroot = String::from_utf8_lossy(&goroot).trim().to_string();
        std::fs::copy(Path::new(&goroot).join("bin/gofmt"), dir.join("wrongbin")).unwrap();
        std::fs::create_dir(dir.join("empty")).unwrap();
        std::fs::create_dir(dir.join("bins")).unwrap();
        std::fs::copy(dir.join("binprog"), dir.join("bins/binprog")).unwrap();
        // Sources elsewhere, for -source_path and -trim_path.
        std::fs::create_dir_all(dir.join("moved/src")).unwrap();
        std::fs::copy(data.join("main.go"), dir.join("moved/src/main.go")).unwrap();
        Fixture { dir }
    })
}

fn read_profile(path: &Path) -> profile::Profile {
    let bytes = std::fs::read(path).unwrap();
    profile::parse::parse(&bytes, &Default::default())
        .expect("parse")
        .profile
}

fn write_profile(path: &Path, p: &profile::Profile) {
    std::fs::write(path, profile::gz::compress(&profile::proto::encode(p))).unwrap();
}

/// The profile as a binary-only profiler would write it: addresses, no
/// functions or lines.
fn addresses_only(mut p: profile::Profile) -> profile::Profile {
    p.functions.clear();
    for l in &mut p.locations {
        l.lines.clear();
    }
    for m in &mut p.mappings {
        m.has_functions = false;
        m.has_filenames = false;
        m.has_line_numbers = false;
        m.has_inline_frames = false;
    }
    p
}

/// `go tool pprof ARGS` and `heapdrift pprof ARGS` in the fixture dir,
/// with `env` set, rendered for comparison.
fn both(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    both_with_input(args, env, "")
}

/// [`both`], with `input` on stdin (for the interactive shell).
fn both_with_input(args: &[&str], env: &[(&str, &str)], input: &str) -> (String, String) {
    both_writing(args, env, input, None)
}

/// [`both_with_input`]; when `output` is given, the file of that name (in
/// the fixture dir) each tool writes is appended to what it rendered.
fn both_writing(
    args: &[&str],
    env: &[(&str, &str)],
    input: &str,
    written_file: Option<&str>,
) -> (String, String) {
    let f = fixture();
    let dir = f.dir.to_str().unwrap();
    let args: Vec<String> = args.iter().map(|a| a.replace("$DIR", dir)).collect();
    let render = |o: Output| {
        format!(
            "exit {}\n-- stderr --\n{}-- stdout --\n{}",
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        )
    };
    let with_env = |mut c: Command| {
        c.current_dir(&f.dir).env("TZ", "UTC").env("HOME", dir);
        c.env_remove("PPROF_BINARY_PATH");
        for (k, v) in env {
            c.env(k, v.replace("$DIR", dir));
        }
        c
    };
    let output = |mut c: Command| {
        use std::io::Write;
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
        drop(stdin);
        child.wait_with_output().expect("wait")
    };
    let written = || {
        let Some(name) = written_file else {
            return String::new();
        };
        let path = f.dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| format!("({e})"));
        let _ = std::fs::remove_file(&path);
        format!("-- {name} --\n{text}")
    };
    let mut g = with_env(Command::new(go()));
    g.args(["tool", "pprof"]).args(&args);
    let want = render(output(g)) + &written();
    let mut h = with_env(Command::new(env!("CARGO_BIN_EXE_heapdrift")));
    h.arg("pprof").args(&args);
    let got = render(output(h)) + &written();
    (want, got)
}

fn check(args: &[&str], env: &[(&str, &str)]) -> String {
    let (want, got) = both(args, env);
    assert_eq!(got, want, "heapdrift pprof {args:?} (env {env:?})");
    want
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn top_with_addresses() {
    let out = check(&["-top", "-addresses", "binprog", "cpu.pprof"], &[]);
    assert!(out.contains("main.divLoop"), "{out}");
    check(&["-top", "-addresses", "cpu.pprof"], &[]);
    check(&["-traces", "-addresses", "binprog", "addr.pb.gz"], &[]);
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn disasm() {
    let out = check(&["-disasm=main\\.", "binprog", "cpu.pprof"], &[]);
    assert!(
        out.contains("ROUTINE ======================== main.hashLoop"),
        "{out}"
    );
    check(&["-disasm=main\\.", "cpu.pprof"], &[]);
    check(&["-disasm=main\\.divLoop", "binprog", "addr.pb.gz"], &[]);
    check(&["-disasm=nothing", "binprog", "cpu.pprof"], &[]);
    check(
        &["-disasm=main\\.", "-intel_syntax", "binprog", "cpu.pprof"],
        &[],
    );
    check(
        &["-disasm=runtime\\.", "-nodecount=5", "binprog", "cpu.pprof"],
        &[],
    );
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn disasm_by_address() {
    let out = check(&["-raw", "cpu.pprof"], &[]);
    // An address of main.divLoop with samples, and one outside any symbol.
    let addr = out
        .lines()
        .find(|l| l.contains("main.divLoop"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("a main.divLoop location")
        .to_string();
    check(&[&format!("-disasm={addr}"), "binprog", "cpu.pprof"], &[]);
    check(&["-disasm=0x10", "binprog", "cpu.pprof"], &[]);
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn local_symbolization() {
    let out = check(&["-raw", "binprog", "addr.pb.gz"], &[]);
    assert!(out.contains("main.hashLoop"), "{out}");
    check(&["-raw", "addr.pb.gz"], &[]);
    check(&["-top", "addr.pb.gz"], &[]);
    check(&["-raw", "-symbolize=none", "addr.pb.gz"], &[]);
    check(&["-raw", "-symbolize=remote", "addr.pb.gz"], &[]);
    check(&["-raw", "-symbolize=local:force", "cpu.pprof"], &[]);
    check(&["-top", "-symbolize=fastlocal", "addr.pb.gz"], &[]);
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn missing_or_wrong_binary() {
    let out = check(&["-top", "addr_missing.pb.gz"], &[]);
    assert!(
        out.contains("Local symbolization failed for binprog"),
        "{out}"
    );
    check(
        &["-top", "addr_missing.pb.gz"],
        &[("PPROF_BINARY_PATH", "$DIR/empty")],
    );
    // Found by name, but Go's reader has no build ID to match.
    let out = check(
        &["-top", "addr_missing.pb.gz"],
        &[("PPROF_BINARY_PATH", "$DIR/empty:$DIR/bins")],
    );
    assert!(out.contains("Ignoring local file"), "{out}");
    // Without a build ID, the search finds it.
    check(
        &["-raw", "addr_missing_nobid.pb.gz"],
        &[("PPROF_BINARY_PATH", "$DIR/bins")],
    );
    check(&["-top", "addr_missing_nobid.pb.gz"], &[]);
    check(&["-top", "addr_wrong.pb.gz"], &[]);
    let out = check(&["-top", "wrongbin", "addr.pb.gz"], &[]);
    assert!(!out.contains("main.hashLoop"), "{out}");
    check(&["-disasm=.", "wrongbin", "addr.pb.gz"], &[]);
    check(&["-top", "-buildid=abc", "addr_missing_nobid.pb.gz"], &[]);
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn list_with_binary_and_paths() {
    let out = check(&["-list=main\\.", "binprog", "addr.pb.gz"], &[]);
    assert!(out.contains("ROUTINE"), "{out}");
    check(&["-list=main\\.hashLoop", "cpu.pprof"], &[]);
    check(
        &[
            "-list=main\\.",
            "-source_path=$DIR/moved/src",
            "-trim_path=$DIR",
            "binprog",
            "addr.pb.gz",
        ],
        &[],
    );
    check(
        &[
            "-list=main\\.",
            "-source_path=$DIR/moved",
            "binprog",
            "cpu.pprof",
        ],
        &[],
    );
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn shell_disasm() {
    let input = "disasm main.divLoop\ngranularity=addresses\ntop\ndisasm hashLoop\nquit\n";
    let (want, got) = both_with_input(&["binprog", "addr.pb.gz"], &[], input);
    assert_eq!(got, want);
    assert!(
        want.contains("ROUTINE ======================== main.hashLoop"),
        "{want}"
    );
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn position_independent_binary() {
    let out = check(&["-raw", "binprog_pie", "addr_pie.pb.gz"], &[]);
    assert!(out.contains("main.hashLoop"), "{out}");
    check(&["-disasm=main\\.", "binprog_pie", "cpu_pie.pprof"], &[]);
    check(
        &["-top", "-addresses", "binprog_pie", "addr_pie.pb.gz"],
        &[],
    );
}

/// `-weblist` with `-output` (without it, pprof opens a browser).
fn check_weblist(args: &[&str]) -> String {
    let mut all = vec!["-output=weblist.html"];
    all.extend_from_slice(args);
    let (want, got) = both_writing(&all, &[], "", Some("weblist.html"));
    assert_eq!(got, want, "heapdrift pprof {all:?}");
    want
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn weblist() {
    let out = check_weblist(&["-weblist=main\\.", "binprog", "cpu.pprof"]);
    assert!(out.contains("<h2>main.hashLoop</h2>"), "{out}");
    check_weblist(&["-weblist=main\\.", "binprog", "addr.pb.gz"]);
    check_weblist(&["-weblist=runtime\\.main", "binprog", "cpu.pprof"]);
    check_weblist(&["-weblist=main\\.", "binprog_pie", "cpu_pie.pprof"]);
    check_weblist(&[
        "-weblist=main\\.hash",
        "-source_path=$DIR/moved/src",
        "-trim_path=$DIR",
        "binprog",
        "cpu.pprof",
    ]);
    check_weblist(&["-weblist=nothing", "binprog", "cpu.pprof"]);
    check_weblist(&["-weblist=main\\.", "wrongbin", "addr.pb.gz"]);
}
