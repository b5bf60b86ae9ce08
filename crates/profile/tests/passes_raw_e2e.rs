//! End to end: heapdrift's passes plus `write_raw` against
//! `go tool pprof -raw` on the Go-made profiles in testdata/profiles, for
//! plain, `-base` and `-diff_base` runs. Needs HEAPDRIFT_GO and the
//! fixtures; skips otherwise.
use profile::{ParseOptions, Profile, passes};
use std::path::{Path, PathBuf};
use std::process::Command;

fn load(f: &Path) -> Profile {
    let data = std::fs::read(f).unwrap();
    profile::parse(&data, &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        .profile
}

fn go_raw(go: &str, args: &[&str], f: &Path) -> String {
    let out = Command::new(go)
        .args(["tool", "pprof", "-raw"])
        .args(args)
        .arg(f)
        .env("TZ", "UTC")
        .output()
        .expect("running go tool pprof");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tail of pprof's fetch and report pipeline for `-raw` with default
/// flags: drop_frames pruning; address granularity with inlines is no
/// aggregation at all.
fn finish(mut p: Profile) -> String {
    passes::remove_uninteresting(&mut p).unwrap();
    let mut s = String::new();
    profile::raw::write_raw(&p, &mut s);
    s
}

/// pprof's `-base`/`-diff_base`: label the base if diffing, negate it,
/// make the sample types compatible and merge.
fn with_base(p: Profile, mut base: Profile, diff: bool) -> Profile {
    if diff {
        passes::set_label(&mut base, passes::DIFF_BASE_LABEL, &["true"]);
    }
    passes::scale(&mut base, -1.0);
    let mut ps = vec![p, base];
    passes::compatibilize_sample_types(&mut ps).unwrap();
    passes::merge(&ps).unwrap()
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn raw_matches_go_tool_pprof() {
    let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/profiles");
    let entries = std::fs::read_dir(&dir).expect("testdata/profiles");
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".pb.gz"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        if finish(load(f)) != go_raw(&go, &[], f) {
            failures.push(f.display().to_string());
        }
    }
    let (h1, h3) = (dir.join("heap_1.pb.gz"), dir.join("heap_3.pb.gz"));
    if h1.exists() && h3.exists() {
        let h1s = h1.to_string_lossy().into_owned();
        for diff in [false, true] {
            let flag = if diff { "-diff_base" } else { "-base" };
            let want = go_raw(&go, &[flag, &h1s], &h3);
            if finish(with_base(load(&h3), load(&h1), diff)) != want {
                failures.push(format!("{flag} heap_1 heap_3"));
            }
        }
    }
    assert!(!files.is_empty());
    assert!(failures.is_empty(), "-raw differs for {failures:?}");
}
