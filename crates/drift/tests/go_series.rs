//! A real series from a Go program with known leaks (tests/testdata/
//! leaky.go): heap protos and goroutine debug=2 dumps, parsed by heapdrift's
//! own parsers. Needs Go: ignored when HEAPDRIFT_GO is unset.

use drift::goroutine::{
    GoroutineOptions, GoroutineSeriesBuilder, GroupOptions, analyze_goroutines,
};
use drift::series::{HeapSeriesBuilder, SeriesOptions};
use drift::verdict::{HeapOptions, analyze_heap};
use drift::{Kind, Report, Verdict};
use profile::{ParseOptions, parse};
use std::process::Command;

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testdata/leaky.go");

fn line_of(marker: &str) -> i64 {
    let src = std::fs::read_to_string(SRC).unwrap();
    let i = src
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker} not in {SRC}"));
    i as i64 + 1
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn leaky_go_program() {
    let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&go)
        .arg("run")
        .arg(SRC)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let opts = ParseOptions::default();

    let mut heap = HeapSeriesBuilder::new(SeriesOptions::default());
    let mut gor = GoroutineSeriesBuilder::new(GroupOptions::default());
    for i in 0..12 {
        let h = parse(&read(&format!("heap-{i:02}.pb.gz")), &opts)
            .unwrap()
            .profile;
        assert!(h.time_nanos > 0);
        heap.push(&h).unwrap();
        // Dumps carry no time stamp: use the heap snapshot's.
        let g = parse(&read(&format!("goroutine-{i:02}.txt")), &opts)
            .unwrap()
            .profile;
        gor.push_at(&g, h.time_nanos).unwrap();
    }
    let leak_profile = dir.path().join("goroutineleak.pb.gz");
    let has_leak_profile = leak_profile.exists();
    if has_leak_profile {
        let p = parse(&std::fs::read(&leak_profile).unwrap(), &opts)
            .unwrap()
            .profile;
        gor.push_leak_profile(&p);
    }

    let hs = heap.finish();
    let heap_findings = analyze_heap(&hs, &HeapOptions::default());
    let report = Report::new(heap_findings);
    let top = &report.findings[0];
    assert_eq!(
        (top.kind, top.verdict, top.function.as_str(), top.line),
        (Kind::Heap, Verdict::Leak, "main.leak", line_of("LEAK_LINE")),
        "{:#?}",
        report
            .findings
            .iter()
            .map(|f| (&f.function, f.line, f.verdict))
            .collect::<Vec<_>>()
    );
    assert!(top.file.ends_with("leaky.go"));
    // Exactly one heap leak; the bounded cache is not one, churn is not one.
    assert_eq!(report.leaks().count(), 1);
    for f in &report.findings {
        if f.function == "main.warm" {
            assert_eq!(f.verdict, Verdict::Plateau, "{f:#?}");
        }
        assert_ne!(f.function, "main.churn", "{f:#?}");
    }
    // The leak grows by 20 × 64 KiB per snapshot.
    let ev = &top.evidence;
    let per_snapshot = (ev.last - ev.first) / 11.0;
    assert!(
        (per_snapshot / (20.0 * 65536.0) - 1.0).abs() < 0.2,
        "{per_snapshot}"
    );

    let gs = gor.finish();
    let report = Report::new(analyze_goroutines(&gs, &GoroutineOptions::default()));
    let top = &report.findings[0];
    assert_eq!(
        (top.verdict, top.function.as_str(), top.line),
        (
            Verdict::Leak,
            "main.blockedSender.func1",
            line_of("SEND_LINE")
        ),
        "{report:#?}"
    );
    assert_eq!(top.rule, Some(drift::Rule::ChanSend));
    assert_eq!(top.created_by.as_deref(), Some("main.blockedSender"));
    assert!((top.growth_per_min / 60.0 > 0.0));
    if has_leak_profile {
        assert_eq!(top.confidence, 1.0);
        assert!(top.notes.iter().any(|n| n.contains("goroutineleak")));
    }
    // Everything together: exactly the two planted leaks.
    let all = drift::hunt(
        &drift::Inputs {
            heap: Some(&hs),
            goroutines: Some(&gs),
            ..Default::default()
        },
        &drift::HuntOptions::default(),
    );
    let mut leaks: Vec<&str> = all.leaks().map(|f| f.function.as_str()).collect();
    leaks.sort();
    assert_eq!(leaks, vec!["main.blockedSender.func1", "main.leak"]);
    // The idle pool of 8 workers is not a finding.
    let w: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.function == "main.worker")
        .collect();
    assert!(w.is_empty(), "{w:#?}");
}
