//! Restart detection on real Go processes: two runs of one binary are two
//! processes even when the second has allocated more than the first.

use store::{Continuity, Identity, detect_restart};

const PROG: &str = r#"package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
)

var keep [][]byte

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 1<<20))
	}
	runtime.GC()
	if os.Args[2] == "proto" {
		pprof.Lookup("heap").WriteTo(os.Stdout, 0)
	} else {
		pprof.Lookup("heap").WriteTo(os.Stdout, 1)
	}
}
"#;

#[test]
#[cfg_attr(
    any(not(heapdrift_go), not(heapdrift_aslr)),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh; needs address space randomisation: with ASLR off the vdso does not move"
)]
fn two_runs_of_one_binary_are_two_processes() {
    let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.go"), PROG).unwrap();
    std::fs::write(dir.path().join("go.mod"), "module restarttest\n\ngo 1.22\n").unwrap();
    let bin = dir.path().join("prog");
    let st = std::process::Command::new(&go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let run = |mb: &str, format: &str| {
        let out = std::process::Command::new(&bin)
            .args([mb, format])
            .output()
            .unwrap();
        assert!(out.status.success());
        let p = profile::parse(&out.stdout, &Default::default()).unwrap();
        Identity::from_parsed(&p)
    };
    // Proto: the second process has allocated more, so no counter went
    // down; the vdso address tells them apart.
    let a = run("2", "proto");
    let b = run("8", "proto");
    assert!(b.alloc_space > a.alloc_space);
    let c = detect_restart(&a, &b);
    assert!(c.is_restart(), "{a:?} {b:?}");
    println!("proto: {}", c.describe());
    // Counters falling back is caught too.
    let c = detect_restart(&b, &run("1", "proto"));
    assert!(
        matches!(&c, Continuity::Restarted(r) if r.len() >= 2),
        "{c:?}"
    );
    // debug=1 texts carry MemStats: TotalAlloc and friends.
    let t1 = run("8", "text");
    let t2 = run("1", "text");
    assert!(t1.total_alloc.is_some());
    let c = detect_restart(&t1, &t2);
    assert!(
        c.describe().contains("MemStats.TotalAlloc went down"),
        "{}",
        c.describe()
    );
}
