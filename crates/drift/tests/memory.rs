//! MemStats accounting.

use drift::memory::{Breakdown, MemPoint, analyze_memory};
use drift::verdict::Thresholds;
use drift::{Kind, Report, Verdict};
use profile::legacy::MemStats;

const MB: u64 = 1024 * 1024;
const MIN: i64 = 60_000_000_000;

fn stats(heap_inuse: u64, stack: u64, released: u64, rss: u64) -> MemStats {
    let heap_idle = 20 * MB;
    let meta = 3 * MB;
    MemStats {
        heap_inuse,
        heap_idle,
        heap_released: released,
        heap_sys: heap_inuse + heap_idle,
        stack_inuse: stack,
        stack_sys: stack,
        mspan_sys: meta,
        mcache_sys: 16 * 1024,
        gc_sys: 4 * MB,
        buck_hash_sys: MB,
        other_sys: 2 * MB,
        sys: heap_inuse + heap_idle + stack + meta + 16 * 1024 + 4 * MB + MB + 2 * MB,
        max_rss: Some(rss),
        ..MemStats::default()
    }
}

#[test]
fn breakdown_of_a_footer() {
    let text = "heap profile: 1: 8 [1: 8] @ heap/524288\n1: 8 [1: 8] @ 0x1\n\n\
        # runtime.MemStats\n# Alloc = 100\n# Sys = 10000\n# HeapIdle = 3000\n# HeapInuse = 4000\n\
        # HeapReleased = 1000\n# Stack = 512 / 800\n# MSpan = 50 / 60\n# MCache = 10 / 20\n\
        # BuckHashSys = 5\n# GCSys = 300\n# OtherSys = 40\n# MaxRSS = 9000\n";
    let m = MemStats::parse(text).unwrap();
    let b = Breakdown::from_memstats(&m);
    assert_eq!(
        b,
        Breakdown {
            heap_inuse: 4000,
            heap_free: 2000,
            heap_released: 1000,
            stacks: 800,
            metadata: 60 + 20 + 300 + 5,
            other: 40,
            go_resident: 9000,
            rss: Some(9000),
        }
    );
}

#[test]
fn growing_stacks_are_named() {
    let points: Vec<MemPoint> = (0..12)
        .map(|i| MemPoint {
            time_nanos: i * MIN,
            stats: stats(
                50 * MB,
                (2 + i as u64) * MB,
                5 * MB,
                200 * MB + i as u64 * MB,
            ),
            rss: None,
        })
        .collect();
    let report = Report::new(analyze_memory(&points, &[], &Thresholds::heap()));
    let top = &report.findings[0];
    assert_eq!(
        (top.kind, top.function.as_str(), top.verdict),
        (Kind::Memory, "goroutine stacks", Verdict::Leak)
    );
    assert!((top.growth_per_min - MB as f64).abs() < 1.0);
    // RSS grows exactly as much as Go's memory: no non-Go finding.
    assert!(report.findings.iter().all(|f| f.signature.is_none()));
}

#[test]
fn not_a_go_heap_leak() {
    // Go's memory is flat, RSS climbs 4 MiB/min (cgo).
    let points: Vec<MemPoint> = (0..12)
        .map(|i| MemPoint {
            time_nanos: i * MIN,
            stats: stats(50 * MB, 2 * MB, 5 * MB, 0),
            rss: Some(150 * MB + 4 * MB * i as u64),
        })
        .collect();
    let report = Report::new(analyze_memory(&points, &[], &Thresholds::heap()));
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(f.signature.as_deref(), Some("not a Go-heap leak"));
    assert_eq!(f.verdict, Verdict::Leak);
    assert!(f.root_cause.starts_with("not a Go-heap leak"));
    // Without RSS nothing can be said about non-Go memory.
    let no_rss: Vec<MemPoint> = points
        .iter()
        .map(|p| MemPoint {
            rss: None,
            stats: MemStats {
                max_rss: None,
                ..p.stats.clone()
            },
            ..p.clone()
        })
        .collect();
    assert!(analyze_memory(&no_rss, &[], &Thresholds::heap()).is_empty());
    assert!(analyze_memory(&[], &[], &Thresholds::heap()).is_empty());
}
