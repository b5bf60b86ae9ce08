//! Rules the leak zoo's end-to-end run (crates/heapdrift/tests/zoo_e2e.rs)
//! showed were missing: one point per GC cycle, the profiler's own
//! allocations, findings at the program's own code ranked first, and HTTP
//! connection goroutines pointed at the user's call site.

mod common;

use common::Builder;
use drift::goroutine::{GoroutineSeriesBuilder, GroupOptions};
use drift::series::{HeapSeriesBuilder, SeriesOptions};
use drift::verdict::{HeapOptions, analyze_heap, gc_cycles};
use drift::{Evidence, Finding, Kind, Report, Verdict};

const SEC: i64 = 1_000_000_000;
const KB: i64 = 1024;

/// A heap profile at `t` seconds with one sample per (stack, inuse bytes,
/// alloc bytes).
type Frames = &'static [(&'static str, &'static str, i64)];

fn heap_at(t: i64, samples: &[(Frames, i64, i64)]) -> profile::Profile {
    let mut b = Builder::heap();
    for (frames, inuse, alloc) in samples {
        let s = b.stack(frames);
        b.heap_sample(s, [alloc / KB, *alloc, inuse / KB, *inuse]);
    }
    b.p.time_nanos = t * SEC;
    b.p
}

const LEAK: &[(&str, &str, i64)] = &[
    ("runtime.mallocgc", "malloc.go", 1),
    ("main.(*server).snapshot", "/src/main.go", 115),
];
const CACHE: &[(&str, &str, i64)] = &[
    ("runtime.mallocgc", "malloc.go", 1),
    ("main.render", "/src/main.go", 72),
];

/// A heap profile changes only when a GC completes. Watched every 2 s
/// with a GC every 8 s (and none during the last 30 s), a steady leak reads
/// as a staircase whose long last step looked like a plateau; one point per
/// cycle is a straight line.
#[test]
fn snapshots_between_two_gcs_are_one_point() {
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    let mut t = 0;
    let mut cycles = Vec::new();
    for cycle in 0..10i64 {
        let repeats = if cycle == 9 { 15 } else { 4 };
        cycles.push(sb.current().len());
        for _ in 0..repeats {
            let leak = cycle * 100 * KB;
            let cache = 20 * 1024 * KB;
            sb.push(&heap_at(
                t,
                &[(LEAK, leak, leak), (CACHE, cache, cache + cycle * 8 * KB)],
            ))
            .unwrap();
            t += 2;
        }
    }
    let hs = sb.finish();
    assert_eq!(hs.len(), 4 * 9 + 15);
    assert_eq!(gc_cycles(&hs), cycles);
    let f = analyze_heap(&hs, &HeapOptions::default());
    let leak = f
        .iter()
        .find(|f| f.line == 115)
        .expect("the leak is reported");
    assert_eq!(leak.verdict, Verdict::Leak, "{leak:#?}");
    assert_eq!(leak.evidence.times.len(), 10);
    assert!(leak.notes.iter().any(|n| n.contains("41 of 51 snapshots")));
    // The cache only churns (alloc changes, in-use does not): stable, and
    // its alloc counter alone makes each cycle distinct.
    assert!(f.iter().all(|f| f.line != 72));
}

/// Identical profiles on both sides of a restart stay two points: each
/// segment keeps its first snapshot.
#[test]
fn a_restart_keeps_its_first_snapshot() {
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for t in 0..4 {
        sb.push(&heap_at(t, &[(LEAK, 10 * KB, 10 * KB)])).unwrap();
    }
    sb.mark_restart();
    for t in 4..7 {
        sb.push(&heap_at(t, &[(LEAK, 10 * KB, 10 * KB)])).unwrap();
    }
    let hs = sb.finish();
    assert_eq!(hs.breaks, vec![4]);
    assert_eq!(gc_cycles(&hs), vec![0, 4]);
}

const FLATE: &[(&str, &str, i64)] = &[
    ("runtime.mallocgc", "malloc.go", 1),
    ("compress/flate.(*compressor).init", "deflate.go", 594),
    ("compress/flate.NewWriter", "deflate.go", 666),
    ("compress/gzip.(*Writer).Write", "gzip.go", 191),
    ("runtime/pprof.(*profileBuilder).flush", "proto.go", 146),
    ("runtime/pprof.writeHeapProto", "protomem.go", 23),
    ("net/http/pprof.handler.ServeHTTP", "pprof.go", 272),
    ("net/http.(*conn).serve", "server.go", 2157),
];

const USER_DUMPS: &[(&str, &str, i64)] = &[
    ("runtime.mallocgc", "malloc.go", 1),
    ("compress/flate.NewWriter", "deflate.go", 666),
    ("runtime/pprof.WriteHeapProfile", "pprof.go", 500),
    ("main.keepDumps", "/src/main.go", 30),
];

/// Memory that exists because a profile is being written when the GC runs
/// (the watcher's own requests) is never a finding, however it moves; the
/// same allocations made for the program's own code still are.
#[test]
fn the_profilers_own_allocations_are_never_findings() {
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for t in 0..20i64 {
        let flate = if t % 3 == 0 { 0 } else { (t + 1) * 64 * KB };
        let mine = t * 64 * KB;
        sb.push(&heap_at(
            t * 2,
            &[(FLATE, flate, t * 640 * KB), (USER_DUMPS, mine, mine)],
        ))
        .unwrap();
    }
    let hs = sb.finish();
    let f = analyze_heap(&hs, &HeapOptions::default());
    assert!(
        f.iter().all(|f| !f.function.starts_with("compress/flate")),
        "{f:#?}"
    );
    let mine = f.iter().find(|f| f.function == "main.keepDumps").unwrap();
    assert_eq!(mine.verdict, Verdict::Leak);
    assert!(
        mine.evidence.share_of_growth > 0.99,
        "the observer takes no share"
    );
    // Listed with every stable site, it says why it is no finding.
    let all = analyze_heap(
        &hs,
        &HeapOptions {
            include_stable: true,
            ..HeapOptions::default()
        },
    );
    let flate = all
        .iter()
        .find(|f| f.function.starts_with("compress/flate"))
        .unwrap();
    assert_eq!(flate.verdict, Verdict::Stable);
    assert!(flate.notes.iter().any(|n| n.contains("profiler's own")));
}

fn finding(kind: Kind, verdict: Verdict, function: &str, confidence: f64, share: f64) -> Finding {
    Finding {
        kind,
        verdict,
        function: function.into(),
        file: String::new(),
        line: 0,
        growth_per_min: 1.0,
        unit: drift::Unit::Bytes,
        confidence,
        score: drift::verdict::score(confidence, share),
        rule: None,
        signature: None,
        state: None,
        created_by: None,
        created_at: None,
        blocking_frame: None,
        resource: None,
        root_cause: String::new(),
        fix_hint: String::new(),
        notes: Vec::new(),
        stack: Vec::new(),
        evidence: Evidence {
            share_of_growth: share,
            ..Default::default()
        },
    }
}

/// "heap in use" grows with every heap leak together and has all of the
/// memory growth, so its score beats the leak that causes it; the tier puts
/// the cause first; within a tier the score decides. The verdict still
/// comes before the tier.
#[test]
fn findings_at_own_code_rank_before_symptoms_and_library_sites() {
    let r = Report::new(vec![
        finding(Kind::Memory, Verdict::Leak, "heap in use", 0.95, 1.0),
        finding(
            Kind::Goroutine,
            Verdict::Leak,
            "net.(*netFD).Read",
            1.0,
            0.4,
        ),
        finding(Kind::Heap, Verdict::Leak, "main.handleLogin", 0.8, 0.3),
        finding(Kind::Heap, Verdict::Suspect, "main.other", 0.9, 0.7),
        finding(
            Kind::Goroutine,
            Verdict::Leak,
            "github.com/acme/q.(*W).run",
            0.9,
            0.3,
        ),
    ]);
    let order: Vec<&str> = r.findings.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(
        order,
        [
            "github.com/acme/q.(*W).run",
            "main.handleLogin",
            "heap in use",
            "net.(*netFD).Read",
            "main.other"
        ]
    );
    assert!(r.findings[0].at_own_code() && !r.findings[2].at_own_code());
}

const GET: &[(&str, &str, i64)] = &[
    ("runtime.mallocgc", "malloc.go", 1),
    ("net/http.NewRequestWithContext", "request.go", 922),
    ("net/http.(*Client).Get", "client.go", 480),
    ("main.(*Checker).Check", "/src/main.go", 55),
    ("main.main", "/src/main.go", 90),
];
/// A well-behaved call site: its requests are freed.
const POST: &[(&str, &str, i64)] = &[
    ("runtime.mallocgc", "malloc.go", 1),
    ("net/http.NewRequestWithContext", "request.go", 922),
    ("net/http.(*Client).Do", "client.go", 590),
    ("main.report", "/src/main.go", 120),
];

/// readLoop/writeLoop goroutines hold only net/http frames; the growing
/// heap site of the user's that calls the HTTP client is where response
/// bodies are left open, and the findings point there.
fn http_hunt(get_grows: bool) -> Report {
    let mut hb = HeapSeriesBuilder::new(SeriesOptions::default());
    let mut gb = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..12i64 {
        let get = if get_grows { (1 + m) * 4 * KB } else { 4 * KB };
        hb.push(&heap_at(
            m * 5,
            &[
                (GET, get, (1 + m) * 4 * KB),
                (POST, 2 * KB, (1 + m) * 2 * KB),
            ],
        ))
        .unwrap();
        let mut g = Builder::goroutine();
        for (f, line) in [("readLoop", 2616), ("writeLoop", 2833)] {
            let s = g.stack(&[
                ("runtime.gopark", "proc.go", 460),
                ("runtime.selectgo", "select.go", 351),
                (
                    &format!("net/http.(*persistConn).{f}"),
                    "transport.go",
                    line,
                ),
            ]);
            g.goroutine_sample(s, 1 + 5 * m, &[]);
        }
        g.p.time_nanos = m * 5 * SEC;
        gb.push(&g.p).unwrap();
    }
    let (hs, gs) = (hb.finish(), gb.finish());
    drift::hunt(
        &drift::Inputs {
            heap: Some(&hs),
            goroutines: Some(&gs),
            ..Default::default()
        },
        &drift::HuntOptions::default(),
    )
}

#[test]
fn http_connection_goroutines_point_at_the_growing_call_site() {
    let r = http_hunt(true);
    let top = &r.findings[0];
    assert_eq!(top.kind, Kind::Goroutine);
    assert_eq!(top.verdict, Verdict::Leak);
    assert_eq!(
        (top.function.as_str(), top.file.as_str(), top.line),
        ("main.(*Checker).Check", "/src/main.go", 55)
    );
    assert_eq!(top.signature, Some(drift::Signature::HttpBodiesNeverClosed));
    assert!(
        top.blocking_frame
            .as_ref()
            .is_some_and(|b| b.function.starts_with("net/http.(*persistConn)"))
    );
    assert!(top.notes.iter().any(|n| n.contains("main.go:55")));
    // Both loops point there; the flat call site is never named.
    let linked = r.findings.iter().filter(|f| f.line == 55).count();
    assert!(linked >= 2, "{:#?}", r.findings);
    assert!(r.findings.iter().all(|f| f.line != 120));
}

#[test]
fn http_connection_goroutines_without_a_growing_call_site_keep_their_frame() {
    let r = http_hunt(false);
    let g: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Goroutine)
        .collect();
    assert_eq!(g.len(), 2);
    for f in g {
        assert!(f.function.starts_with("net/http.(*persistConn)"), "{f:#?}");
        assert!(f.notes.iter().any(|n| n.contains("no HTTP call site")));
    }
}

/// Goroutines writing a profile (one per request of a watcher, more when
/// several watch at once) are never a finding, however their count moves.
#[test]
fn the_profilers_own_goroutines_are_never_findings() {
    let mut gb = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..12i64 {
        let mut g = Builder::goroutine();
        let s = g.stack(&[
            ("runtime/pprof.writeGoroutineStacks", "pprof.go", 790),
            ("net/http/pprof.handler.ServeHTTP", "pprof.go", 272),
            ("net/http.(*conn).serve", "server.go", 2157),
        ]);
        g.goroutine_sample(s, 1 + m, &[]);
        g.p.time_nanos = m * 5 * SEC;
        gb.push(&g.p).unwrap();
    }
    let gs = gb.finish();
    let f = drift::goroutine::analyze_goroutines(&gs, &Default::default());
    assert!(f.is_empty(), "{f:#?}");
    let all = drift::goroutine::analyze_goroutines(
        &gs,
        &drift::goroutine::GoroutineOptions {
            include_stable: true,
            ..Default::default()
        },
    );
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].verdict, Verdict::Stable);
    assert!(all[0].notes.iter().any(|n| n.contains("profiler's own")));
}
