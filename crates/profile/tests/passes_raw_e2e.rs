//! End to end: `write_raw(parse(f))` against `go tool pprof -raw f` for the
//! Go-made profiles in testdata/profiles. Needs HEAPDRIFT_GO and the
//! fixtures; skips otherwise.
use std::path::Path;
use std::process::Command;

#[test]
fn raw_matches_go_tool_pprof() {
    let Ok(go) = std::env::var("HEAPDRIFT_GO") else {
        println!("HEAPDRIFT_GO unset; skipping");
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/profiles");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("no {}; skipping", dir.display());
        return;
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".pb.gz"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        let out = Command::new(&go)
            .args(["tool", "pprof", "-raw"])
            .arg(f)
            .env("TZ", "UTC")
            .output()
            .expect("running go tool pprof");
        let want = String::from_utf8_lossy(&out.stdout).into_owned();
        let data = std::fs::read(f).unwrap();
        let parsed = profile::parse(&data, &profile::ParseOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // What pprof's driver does before -raw with default flags: drop the
        // profile's drop_frames, then aggregate at address granularity
        // (columns off unless -showcolumns).
        let mut p = parsed.profile;
        profile::passes::remove_uninteresting(&mut p).unwrap();
        profile::passes::aggregate(&mut p, true, true, true, true, false, true).unwrap();
        let mut got = String::new();
        profile::raw::write_raw(&p, &mut got);
        if got != want {
            failures.push(f.display().to_string());
        }
    }
    assert!(failures.is_empty(), "-raw differs for {failures:?}");
}
