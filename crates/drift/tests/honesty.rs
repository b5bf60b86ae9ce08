//! Issue 9's honesty cases through the public API: no rate over no time,
//! and findings that never point at findings that are not there.

mod common;

use common::Builder;
use drift::goroutine::{GoroutineSeriesBuilder, GroupOptions};
use drift::memory::MemPoint;
use drift::render::{Header, RenderOptions, render_text};
use drift::series::{HeapSeriesBuilder, SeriesOptions};
use drift::{Component, Inputs, Kind, Report, Verdict};
use profile::legacy::MemStats;

const MB: i64 = 1 << 20;
const SEC: i64 = 1_000_000_000;

fn text(header: &Header, report: &Report) -> String {
    let mut out = Vec::new();
    render_text(
        &mut out,
        header,
        &report.findings,
        &RenderOptions::default(),
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// 18 heap snapshots of a leak whose times are the modification times of
/// a copy, 1 ms apart: once "+835 GB/min". No rate, no leak, and the
/// report says why.
#[test]
fn snapshots_a_millisecond_apart_give_no_rate() {
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    let t0 = 1_800_000_000 * SEC;
    for i in 0..18i64 {
        let mut b = Builder::heap();
        let s = b.stack(&[
            ("runtime.mallocgc", "malloc.go", 1),
            ("main.keep", "/src/main.go", 9),
        ]);
        b.heap_sample(s, [i * 64, i * 4 * MB, i * 64, i * 4 * MB]);
        b.p.time_nanos = t0 + i * 1_000_000;
        sb.push(&b.p).unwrap();
    }
    let hs = sb.finish();
    let report = drift::hunt(
        &Inputs {
            heap: Some(&hs),
            ..Default::default()
        },
        &Default::default(),
    );
    let f = &report.findings[0];
    assert_eq!(
        (f.function.as_str(), f.verdict),
        ("main.keep", Verdict::Suspect)
    );
    assert_eq!(f.growth_per_min, 0.0);
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("no rate and no leak verdict"))
    );
    let header = Header {
        snapshots: vec![("heap".into(), 18)],
        start_unix_nanos: t0,
        end_unix_nanos: t0 + 17_000_000,
        ..Default::default()
    };
    let out = text(&header, &report);
    assert!(out.contains("growth     no rate"), "{out}");
    assert!(!out.contains("/min"), "{out}");
    assert!(
        out.contains("note: the snapshots span only 0.017 s"),
        "{out}"
    );
}

fn memstats(heap_inuse: u64, stacks: u64) -> MemStats {
    MemStats {
        heap_inuse,
        heap_idle: 8 << 20,
        heap_released: 4 << 20,
        heap_sys: heap_inuse + (8 << 20),
        stack_inuse: stacks,
        stack_sys: stacks,
        sys: heap_inuse + (12 << 20) + stacks,
        ..Default::default()
    }
}

/// Issue 9, item 7: "heap in use grows; see the heap findings" with no heap
/// finding. Heap in use and stacks grow; the causes point at the goroutine
/// findings only when a goroutine group grows, and never at heap findings
/// that are not there.
#[test]
fn causes_point_only_at_findings_that_are_there() {
    let memory: Vec<MemPoint> = (0..12u64)
        .map(|i| MemPoint {
            time_nanos: i as i64 * 60 * SEC,
            stats: memstats((30 << 20) + i * (2 << 20), (2 << 20) + i * (1 << 20)),
            rss: None,
            anon_rss: None,
        })
        .collect();
    let mut gb = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..12i64 {
        let mut g = Builder::goroutine();
        let s = g.stack(&[
            ("runtime.gopark", "proc.go", 460),
            ("runtime.chansend1", "chan.go", 161),
            ("main.quote.func1", "/src/q.go", 60),
        ]);
        g.goroutine_sample(s, 1 + 40 * m, &[]);
        g.p.time_nanos = m * 60 * SEC;
        gb.push(&g.p).unwrap();
    }
    let gs = gb.finish();
    let cause = |r: &Report, c: Component| {
        r.findings
            .iter()
            .find(|f| f.component() == Some(c))
            .map(|f| f.root_cause.clone())
            .unwrap()
    };
    let alone = drift::hunt(
        &Inputs {
            memory: &memory,
            ..Default::default()
        },
        &Default::default(),
    );
    assert!(alone.findings.iter().all(|f| f.kind == Kind::Memory));
    for c in [Component::HeapInUse, Component::GoroutineStacks] {
        assert!(
            !cause(&alone, c).contains("see the"),
            "{}",
            cause(&alone, c)
        );
    }
    let with_goroutines = drift::hunt(
        &Inputs {
            goroutines: Some(&gs),
            memory: &memory,
            ..Default::default()
        },
        &Default::default(),
    );
    let heap = cause(&with_goroutines, Component::HeapInUse);
    assert!(
        heap.contains("see the goroutine findings") && !heap.contains("heap findings"),
        "{heap}"
    );
    assert!(
        cause(&with_goroutines, Component::GoroutineStacks).contains("see the goroutine findings")
    );
}
