//! Real Go heap profiles through our decoder and encoder, judged by
//! `go tool pprof`. Needs Go: set HEAPDRIFT_GO to the go binary.
use profile::gz;
use profile::proto::{decode, encode};
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAM: &str = r#"package main

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
)

var sink [][]byte
var keep = map[int][]int{}

//go:noinline
func small(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 16*(i%5+1)))
	}
}

//go:noinline
func big(n int) {
	for i := 0; i < n; i++ {
		keep[i] = make([]int, 1000+i)
	}
}

func main() {
	runtime.MemProfileRate = 1
	small(2000)
	big(50)
	sink = sink[:len(sink)/2]
	runtime.GC()
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		panic(err)
	}
	f.Close()

	// Goroutines parked under pprof labels: string labels in the profile.
	block := make(chan struct{})
	for i, v := range []string{"a", "b", "b"} {
		pprof.Do(context.Background(), pprof.Labels("worker", v, "n", string(rune('0'+i))), func(context.Context) {
			go func() { <-block }()
		})
	}
	runtime.Gosched()
	g, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := pprof.Lookup("goroutine").WriteTo(g, 0); err != nil {
		panic(err)
	}
	g.Close()
}
"#;

/// The Go toolchain (the tests that call this are ignored without it).
fn go() -> PathBuf {
    PathBuf::from(std::env::var_os("HEAPDRIFT_GO").expect("HEAPDRIFT_GO"))
}

fn run(go: &Path, dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(go)
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .output()
        .expect("running go");
    assert!(
        out.status.success(),
        "go {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn heap_profile(go: &Path, dir: &Path) -> PathBuf {
    std::fs::write(dir.join("main.go"), PROGRAM).unwrap();
    std::fs::write(dir.join("go.mod"), "module heapgen\n\ngo 1.21\n").unwrap();
    run(go, dir, &["run", ".", "heap.pb.gz", "goroutine.pb.gz"]);
    dir.join("heap.pb.gz")
}

fn raw(go: &Path, dir: &Path, file: &str) -> String {
    let out = run(go, dir, &["tool", "pprof", "-symbolize=none", "-raw", file]);
    String::from_utf8(out).unwrap()
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn go_heap_profile_reencodes_to_the_same_raw_dump() {
    let go = go();
    let dir = tempfile::tempdir().unwrap();
    let orig = heap_profile(&go, dir.path());
    let bytes = std::fs::read(&orig).unwrap();
    let p = decode(&gz::maybe_decompress(&bytes, 1 << 30).unwrap()).unwrap();
    assert!(p.samples.len() > 2, "only {} samples", p.samples.len());
    assert_eq!(p.sample_types.len(), 4);
    assert!(p.samples.iter().any(|s| !s.num_labels.is_empty()));
    std::fs::write(dir.path().join("ours.pb.gz"), gz::compress(&encode(&p))).unwrap();
    let want = raw(&go, dir.path(), "heap.pb.gz");
    let got = raw(&go, dir.path(), "ours.pb.gz");
    assert!(want.contains("Samples:"), "{want}");
    assert_eq!(got, want);

    // The goroutine profile carries string labels.
    let bytes = std::fs::read(dir.path().join("goroutine.pb.gz")).unwrap();
    let p = decode(&gz::maybe_decompress(&bytes, 1 << 30).unwrap()).unwrap();
    assert!(
        p.samples
            .iter()
            .any(|s| s.label_values("worker").any(|v| v == "b"))
    );
    std::fs::write(dir.path().join("ours-g.pb.gz"), gz::compress(&encode(&p))).unwrap();
    let want = raw(&go, dir.path(), "goroutine.pb.gz");
    assert!(want.contains("worker:[b]"), "{want}");
    assert_eq!(raw(&go, dir.path(), "ours-g.pb.gz"), want);
}

/// `go tool pprof -proto` writes with pprof's own encoder; decoding that and
/// encoding it again must give the very same bytes.
#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn encoder_is_byte_identical_to_pprofs() {
    let go = go();
    let dir = tempfile::tempdir().unwrap();
    heap_profile(&go, dir.path());
    for file in ["heap.pb.gz", "goroutine.pb.gz"] {
        let pprof_out = run(
            &go,
            dir.path(),
            &["tool", "pprof", "-symbolize=none", "-proto", file],
        );
        let pprof_raw = gz::maybe_decompress(&pprof_out, 1 << 30)
            .unwrap()
            .into_owned();
        let p = decode(&pprof_raw).unwrap();
        assert!(
            encode(&p) == pprof_raw,
            "{file}: re-encoded bytes differ from pprof's"
        );
    }
}
