//! Heap series: attribution, series building, analysis, the JSON schema,
//! and the scale test.

mod common;

use common::{Builder, Rng};
use drift::series::{HeapSeriesBuilder, Metric, SeriesOptions};
use drift::verdict::{HeapOptions, analyze_heap};
use drift::{DriftError, Kind, Report, Verdict};
use std::time::Instant;

const MIN: i64 = 60_000_000_000;
const MB: f64 = 1024.0 * 1024.0;

#[test]
fn attribution_skips_runtime_and_std_helpers() {
    let mut b = Builder::heap();
    let s1 = b.stack(&[
        ("runtime.mallocgc", "malloc.go", 1),
        ("runtime.growslice", "slice.go", 2),
        ("bytes.growSlice", "buffer.go", 3),
        ("bytes.(*Buffer).grow", "buffer.go", 4),
        ("main.load", "/src/main.go", 40),
        ("main.main", "/src/main.go", 10),
    ]);
    b.heap_sample(s1, [1, 100, 1, 100]);
    // Inlined: the helper and the user function share one location.
    let l = b.loc(&[
        ("strings.(*Builder).grow", "builder.go", 5),
        ("github.com/acme/svc.render", "/src/render.go", 77),
    ]);
    let root = b.loc(&[("main.main", "/src/main.go", 11)]);
    b.heap_sample(vec![l, root], [1, 50, 1, 50]);
    // Map internals below a user frame.
    let s3 = b.stack(&[
        ("internal/runtime/maps.newarray", "map.go", 9),
        ("runtime.mapassign_faststr", "map.go", 8),
        ("main.(*cache).put", "/src/cache.go", 12),
    ]);
    b.heap_sample(s3, [1, 10, 1, 10]);
    // No user frame: the first frame past the helpers.
    let s4 = b.stack(&[
        ("runtime.mallocgc", "malloc.go", 1),
        ("bufio.NewReaderSize", "bufio.go", 57),
        ("net/http.(*Transport).dialConn", "transport.go", 1800),
        ("runtime.goexit", "asm.s", 1),
    ]);
    b.heap_sample(s4, [1, 4096, 1, 4096]);
    // Only helpers: the leaf.
    let s5 = b.stack(&[
        ("runtime.malg", "proc.go", 3),
        ("runtime.newproc1", "proc.go", 4),
    ]);
    b.heap_sample(s5, [1, 8, 1, 8]);
    // Two samples at one site are summed.
    let s6 = b.stack(&[
        ("runtime.mallocgc", "malloc.go", 1),
        ("main.load", "/src/main.go", 40),
        ("main.other", "/src/main.go", 99),
    ]);
    b.heap_sample(s6, [2, 200, 2, 200]);
    b.heap_sample(vec![], [1, 1, 1, 1]);
    b.p.time_nanos = 1;

    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    sb.push(&b.p).unwrap();
    let hs = sb.finish();
    let sites: Vec<(&str, i64, bool, i64)> = hs
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.function.as_str(),
                s.line,
                s.user,
                hs.value(Metric::InuseSpace, i, 0),
            )
        })
        .collect();
    assert_eq!(
        sites,
        vec![
            ("main.load", 40, true, 300),
            ("github.com/acme/svc.render", 77, true, 50),
            ("main.(*cache).put", 12, true, 10),
            ("net/http.(*Transport).dialConn", 1800, false, 4096),
            ("runtime.malg", 3, false, 8),
        ]
    );
    // The full stack is kept as evidence.
    assert_eq!(hs.sites[0].stack.len(), 6);
    assert_eq!(hs.sites[0].stack[0].function, "runtime.mallocgc");
    assert_eq!(hs.sites[1].stack[0].function, "strings.(*Builder).grow");
    assert_eq!(hs.value(Metric::InuseObjects, 0, 0), 3);
    assert_eq!(hs.value(Metric::AllocSpace, 0, 0), 300);
}

#[test]
fn user_prefixes_move_attribution_past_libraries() {
    let mut b = Builder::heap();
    let s = b.stack(&[
        ("github.com/lib/pq.(*conn).recv", "/mod/pq/conn.go", 5),
        ("github.com/acme/svc.query", "/src/q.go", 20),
    ]);
    b.heap_sample(s, [1, 1, 1, 1]);
    let opts = SeriesOptions {
        user_prefixes: vec!["github.com/acme/".into()],
        ..Default::default()
    };
    let mut sb = HeapSeriesBuilder::new(opts);
    sb.push(&b.p).unwrap();
    assert_eq!(sb.finish().sites[0].function, "github.com/acme/svc.query");
}

#[test]
fn errors_and_restarts() {
    let mut b = Builder::heap();
    let s = b.stack(&[("main.f", "/m.go", 1)]);
    let i = b.heap_sample(s, [1, 1000, 1, 10]);
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    b.p.time_nanos = 10 * MIN;
    sb.push(&b.p).unwrap();
    b.p.time_nanos = 11 * MIN;
    sb.push(&b.p).unwrap();
    // The cumulative alloc_space falls: the process restarted.
    b.p.samples[i].values = vec![1, 10, 1, 10];
    b.p.time_nanos = 12 * MIN;
    sb.push(&b.p).unwrap();
    sb.mark_restart();
    b.p.time_nanos = 13 * MIN;
    sb.push(&b.p).unwrap();
    b.p.time_nanos = 1;
    assert_eq!(sb.push(&b.p), Err(DriftError::OutOfOrder { index: 4 }));
    let mut g = Builder::goroutine();
    g.p.time_nanos = 14 * MIN;
    assert_eq!(sb.push(&g.p), Err(DriftError::NotHeap { index: 4 }));
    let hs = sb.finish();
    assert_eq!(hs.breaks, vec![2, 3]);
    assert_eq!(hs.seconds(), vec![0.0, 60.0, 120.0, 180.0]);
    assert_eq!(hs.totals(Metric::InuseSpace), vec![10.0; 4]);
}

/// A service with a map leak, a ticker leak, a warm-up cache and churn.
fn small_service(snapshots: usize) -> drift::series::HeapSeries {
    let mut b = Builder::heap();
    let map = b.stack(&[
        ("runtime.mallocgc", "malloc.go", 1),
        ("internal/runtime/maps.newarray", "map.go", 9),
        ("runtime.mapassign_faststr", "map.go", 8),
        ("main.(*registry).add", "/src/leak.go", 31),
        ("main.handle", "/src/leak.go", 50),
    ]);
    let ticker = b.stack(&[
        ("runtime.mallocgc", "malloc.go", 1),
        ("time.NewTicker", "tick.go", 40),
        ("main.startPoller", "/src/poll.go", 12),
    ]);
    let cache = b.stack(&[
        ("runtime.mallocgc", "malloc.go", 1),
        ("main.(*lru).put", "/src/lru.go", 70),
    ]);
    let churn = b.stack(&[
        ("runtime.mallocgc", "malloc.go", 1),
        ("encoding/json.Marshal", "encode.go", 1),
        ("main.respond", "/src/api.go", 90),
    ]);
    let m = b.heap_sample(map, [0; 4]);
    let t = b.heap_sample(ticker, [0; 4]);
    let c = b.heap_sample(cache, [0; 4]);
    let ch = b.heap_sample(churn, [0; 4]);
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    let mut rng = Rng(42);
    for i in 0..snapshots {
        let min = i as f64 / 2.0; // every 30 s
        let map_v = (2.0 * MB * min + 0.3 * MB * rng.next()).max(0.0) as i64;
        let tick_v = (0.5 * MB * min + 0.1 * MB * rng.next()).max(0.0) as i64;
        let cache_v = ((min / 5.0).min(1.0) * 64.0 * MB + 0.5 * MB * rng.next()) as i64;
        let churn_v = (4.0 * MB + 2.0 * MB * rng.next()) as i64;
        b.p.samples[m].values = vec![0, map_v, 0, map_v];
        b.p.samples[t].values = vec![0, tick_v, (tick_v / 200).max(1), tick_v];
        b.p.samples[c].values = vec![0, cache_v * 2, 1000, cache_v];
        b.p.samples[ch].values = vec![0, (min * 500.0 * MB) as i64, 100, churn_v];
        b.p.time_nanos = 1_700_000_000_000_000_000 + i as i64 * MIN / 2;
        sb.push(&b.p).unwrap();
    }
    sb.finish()
}

#[test]
fn small_service_findings() {
    let hs = small_service(40);
    let opts = HeapOptions {
        include_stable: true,
        ..Default::default()
    };
    let report = Report::new(analyze_heap(&hs, &opts));
    let names: Vec<(&str, Verdict)> = report
        .findings
        .iter()
        .map(|f| (f.function.as_str(), f.verdict))
        .collect();
    assert_eq!(
        names,
        vec![
            ("main.(*registry).add", Verdict::Leak),
            ("main.startPoller", Verdict::Leak),
            ("main.(*lru).put", Verdict::Plateau),
            ("main.respond", Verdict::Stable),
        ]
    );
    let top = &report.findings[0];
    assert_eq!(
        (top.kind, top.file.as_str(), top.line),
        (Kind::Heap, "/src/leak.go", 31)
    );
    assert_eq!(top.unit, drift::Unit::Bytes);
    assert!((top.growth_per_min - 2.0 * MB).abs() < 0.1 * MB);
    assert_eq!(top.signature, Some(drift::Signature::MapThatOnlyGrows));
    assert!(top.evidence.share_of_growth > 0.6);
    assert_eq!(top.stack[2].function, "runtime.mapassign_faststr");
    assert_eq!(
        report.findings[1].signature,
        Some(drift::Signature::TickerNeverStopped)
    );
    let churn = &report.findings[3];
    assert!(churn.evidence.turnover.unwrap() > 100.0);
    assert!(churn.notes.iter().any(|n| n.contains("churn")));
    // Without include_stable the stable site is left out.
    assert_eq!(analyze_heap(&hs, &HeapOptions::default()).len(), 3);
}

#[test]
fn hunt_ranks_heap_with_memory() {
    let hs = small_service(30);
    let report = drift::hunt(
        &drift::Inputs {
            heap: Some(&hs),
            ..Default::default()
        },
        &drift::HuntOptions::default(),
    );
    assert_eq!(report.findings[0].function, "main.(*registry).add");
    assert_eq!(report.leaks().count(), 2);
    assert!(
        drift::hunt(&drift::Inputs::default(), &Default::default())
            .findings
            .is_empty()
    );
}

#[test]
fn two_snapshots_are_at_most_suspect() {
    let hs = small_service(2);
    let report = Report::new(analyze_heap(&hs, &HeapOptions::default()));
    assert!(!report.findings.is_empty());
    for f in &report.findings {
        assert!(f.verdict <= Verdict::Suspect);
        assert!(f.confidence <= 0.35);
        assert!(
            f.notes.iter().any(|n| n.contains("more are needed")),
            "{:?}",
            f.notes
        );
    }
}

#[test]
fn json_schema() {
    let hs = small_service(20);
    let report = Report::new(analyze_heap(&hs, &HeapOptions::default()));
    let v: serde_json::Value = serde_json::to_value(&report).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        for key in [
            "kind",
            "verdict",
            "function",
            "file",
            "line",
            "growth_per_min",
            "unit",
            "confidence",
        ] {
            assert!(f.get(key).is_some(), "missing {key}: {f}");
        }
        assert_eq!(f["kind"], "heap");
        assert!(["leak", "suspect", "plateau", "stable"].contains(&f["verdict"].as_str().unwrap()));
        let c = f["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        assert!(f["evidence"]["values"].as_array().unwrap().len() == 20);
    }
    assert_eq!(findings[0]["verdict"], "leak");
    // Round trip.
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back, report);
}

/// CPU time of this thread in seconds (Linux), to report timings that do
/// not depend on how busy the machine is.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

/// `sites` allocation sites over `snapshots` snapshots 15 s apart: three
/// planted leaks, a few warm-up plateaus, churn, sawtooth and noise.
/// Returns the planted leak sites' function names and the wall times.
fn scale(snapshots: usize, sites: usize) {
    // A build id, as Go's own heap profiles carry for the executable.
    let mut b = Builder::heap().with_mapping("f00dfeed");
    let mut idx = Vec::with_capacity(sites);
    for i in 0..sites {
        let name = format!("github.com/acme/svc/pkg{}.(*T{}).alloc", i % 97, i);
        let file = format!("/src/svc/pkg{}/f{}.go", i % 97, i % 13);
        let stack = b.stack(&[
            ("runtime.mallocgc", "malloc.go", 1),
            ("runtime.makeslice", "slice.go", 2),
            (&name, &file, 10 + i as i64),
            ("main.main", "/src/main.go", 5),
        ]);
        idx.push(b.heap_sample(stack, [0; 4]));
    }
    let leaks = [17 % sites, sites / 3, sites - 5];
    let rates = [1.0 * MB, 0.25 * MB, 4.0 * MB]; // per minute
    let plateaus = [3, sites / 2, sites / 4, sites - 100, 7];
    let mut rng = Rng(7);
    let base: Vec<f64> = (0..sites).map(|_| (rng.next() + 1.0) * 2.0 * MB).collect();
    let amp: Vec<f64> = (0..sites).map(|_| (rng.next() + 1.0) * 0.15).collect();
    let mut alloc = vec![0f64; sites];
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    let mut build = std::time::Duration::ZERO;
    let mut build_cpu = 0.0;
    for s in 0..snapshots {
        let min = s as f64 / 4.0;
        for i in 0..sites {
            let mut v = base[i] * (1.0 + amp[i] * rng.next());
            if i % 10 == 3 {
                // GC sawtooth.
                v += (s % 7) as f64 * 0.1 * base[i];
            }
            if let Some(k) = leaks.iter().position(|&l| l == i) {
                v = base[i] + rates[k] * min + 0.3 * MB * rng.next();
            }
            if plateaus.contains(&i) {
                v = base[i] + (min / 10.0).min(1.0) * 50.0 * MB + 0.5 * MB * rng.next();
            }
            alloc[i] += v * if i % 5 == 0 { 20.0 } else { 0.5 };
            let v = v.max(0.0) as i64;
            b.p.samples[idx[i]].values = vec![v / 64, alloc[i] as i64, v / 64, v];
        }
        b.p.time_nanos = 1_700_000_000_000_000_000 + s as i64 * MIN / 4;
        let t = Instant::now();
        let c = cpu_seconds();
        sb.push(&b.p).unwrap();
        build_cpu += cpu_seconds() - c;
        build += t.elapsed();
    }
    let hs = sb.finish();
    assert_eq!(hs.sites.len(), sites);
    let t = Instant::now();
    let c = cpu_seconds();
    let report = Report::new(analyze_heap(&hs, &HeapOptions::default()));
    let analyze_cpu = cpu_seconds() - c;
    let analyze = t.elapsed();
    eprintln!(
        "scale {snapshots} snapshots x {sites} sites: series {:.3}s wall / {build_cpu:.3}s cpu, \
         analysis {:.3}s wall / {analyze_cpu:.3}s cpu, {} findings",
        build.as_secs_f64(),
        analyze.as_secs_f64(),
        report.findings.len()
    );
    let mut found: Vec<String> = report.leaks().map(|f| f.function.clone()).collect();
    found.sort();
    let mut want: Vec<String> = leaks
        .iter()
        .map(|&i| format!("github.com/acme/svc/pkg{}.(*T{}).alloc", i % 97, i))
        .collect();
    want.sort();
    assert_eq!(found, want);
    // The biggest leak ranks first.
    assert_eq!(
        report.findings[0].function,
        want.iter()
            .find(|w| w.contains(&format!("T{}", sites - 5)))
            .unwrap()
            .as_str()
    );
    // No false plateaus, and suspects (not leaks) stay rare among noise.
    let count = |v: Verdict| report.findings.iter().filter(|f| f.verdict == v).count();
    assert_eq!(count(Verdict::Plateau), plateaus.len());
    assert!(
        count(Verdict::Suspect) <= sites / 200,
        "{} suspects",
        count(Verdict::Suspect)
    );
    for &p in &plateaus {
        let f = report
            .findings
            .iter()
            .find(|f| f.line == 10 + p as i64)
            .unwrap();
        assert_eq!(f.verdict, Verdict::Plateau, "{:?}", f.function);
    }
}

#[test]
fn scale_100_snapshots_2k_sites() {
    scale(100, 2_000);
}

/// The scale: run with `cargo test --release -p heapdrift-drift
/// --test heap -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: cargo test --release -p heapdrift-drift --test heap -- --ignored --nocapture"]
fn scale_500_snapshots_10k_sites() {
    scale(500, 10_000);
}

#[test]
fn reused_address_in_another_build_is_resolved_again() {
    let mut a = Builder::heap().with_mapping("build-1");
    let s = a.stack(&[("main.first", "/a.go", 1)]);
    a.heap_sample(s, [1, 1, 1, 10]);
    let mut b = Builder::heap().with_mapping("build-2");
    let s = b.stack(&[("main.second", "/b.go", 2)]);
    b.heap_sample(s, [1, 1, 1, 20]);
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for (t, p) in [&a.p, &a.p, &b.p, &a.p].into_iter().enumerate() {
        sb.push_at(p, t as i64).unwrap();
    }
    let hs = sb.finish();
    assert_eq!(hs.sites.len(), 2);
    assert_eq!(
        hs.column(Metric::InuseSpace, 0),
        vec![10.0, 10.0, 0.0, 10.0]
    );
    assert_eq!(hs.column(Metric::InuseSpace, 1), vec![0.0, 0.0, 20.0, 0.0]);
}

#[test]
fn reused_address_with_other_code_is_resolved_again() {
    // A position-independent binary restarted: address 0x1000 now holds
    // another function. The per-address cache must not reuse the old site.
    let mut a = Builder::heap();
    let s = a.stack(&[("main.first", "/a.go", 1)]);
    a.heap_sample(s, [1, 1, 1, 10]);
    a.p.time_nanos = 1;
    let mut b = Builder::heap();
    let s = b.stack(&[("main.second", "/b.go", 2)]);
    b.heap_sample(s, [1, 1, 1, 20]);
    b.p.time_nanos = 2;
    let mut c = Builder::heap();
    let s = c.stack(&[("main.first", "/a.go", 7)]);
    c.heap_sample(s, [1, 1, 1, 30]);
    c.p.time_nanos = 3;
    assert_eq!(a.p.locations[0].address, b.p.locations[0].address);
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for (t, p) in [&a.p, &b.p, &a.p, &c.p].into_iter().enumerate() {
        sb.push_at(p, t as i64).unwrap();
    }
    let hs = sb.finish();
    let names: Vec<(&str, i64)> = hs
        .sites
        .iter()
        .map(|s| (s.function.as_str(), s.line))
        .collect();
    assert_eq!(
        names,
        vec![("main.first", 1), ("main.second", 2), ("main.first", 7)]
    );
    assert_eq!(hs.column(Metric::InuseSpace, 0), vec![10.0, 0.0, 10.0, 0.0]);
    assert_eq!(hs.column(Metric::InuseSpace, 2), vec![0.0, 0.0, 0.0, 30.0]);
}

/// A Rust service profiled through jemalloc (jemalloc_pprof) and a C++ one
/// through gperftools: every frame is `::`-joined or plain C. The leak is
/// named at the program's own frame, past the allocator and the standard
/// library's growth helpers; the plateauing cache is a plateau.
#[test]
fn rust_and_cpp_heap_series_name_the_leaking_frame() {
    let rust_leak: &[(&str, &str, i64)] = &[
        ("_rjem_malloc", "", 0),
        ("tikv_jemallocator::alloc", "src/lib.rs", 1),
        (
            "alloc::raw_vec::RawVec<T,A>::grow_one",
            "alloc/src/raw_vec.rs",
            2,
        ),
        ("alloc::vec::Vec<T,A>::push", "alloc/src/vec/mod.rs", 3),
        ("myapp::registry::Registry::add", "src/registry.rs", 42),
        ("myapp::server::handle::{{closure}}", "src/server.rs", 88),
        (
            "tokio::runtime::task::harness::Harness<T,S>::poll",
            "src/harness.rs",
            5,
        ),
    ];
    let rust_cache: &[(&str, &str, i64)] = &[
        ("_rjem_malloc", "", 0),
        (
            "hashbrown::raw::RawTable<T,A>::reserve_rehash",
            "src/raw/mod.rs",
            7,
        ),
        (
            "std::collections::hash::map::HashMap<K,V,S>::insert",
            "std/src/map.rs",
            8,
        ),
        ("myapp::cache::Lru::put", "src/cache.rs", 17),
    ];
    let cpp_leak: &[(&str, &str, i64)] = &[
        ("tc_new", "", 0),
        ("operator new(unsigned long)", "", 0),
        (
            "std::vector<Session*, std::allocator<Session*> >::_M_realloc_insert<Session* const&>(Session* const&)",
            "/usr/include/c++/12/bits/vector.tcc",
            9,
        ),
        (
            "SessionTable::Open(std::string const&)",
            "src/sessions.cc",
            120,
        ),
        ("main", "src/main.cc", 30),
    ];
    for (leak, cache, site) in [
        (
            rust_leak,
            Some(rust_cache),
            ("myapp::registry::Registry::add", 42),
        ),
        (
            cpp_leak,
            None,
            ("SessionTable::Open(std::string const&)", 120),
        ),
    ] {
        let mut b = Builder::heap();
        let l = b.stack(leak);
        let li = b.heap_sample(l, [0; 4]);
        let ci = cache.map(|c| {
            let s = b.stack(c);
            b.heap_sample(s, [0; 4])
        });
        let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
        let mut rng = Rng(7);
        for i in 0..40 {
            let min = i as f64 / 2.0;
            let leak_v = (1.5 * MB * min + 0.2 * MB * rng.next()).max(0.0) as i64;
            b.p.samples[li].values = vec![0, leak_v, leak_v / 64, leak_v];
            if let Some(ci) = ci {
                let cache_v = ((min / 5.0).min(1.0) * 32.0 * MB + 0.3 * MB * rng.next()) as i64;
                b.p.samples[ci].values = vec![0, cache_v, 500, cache_v];
            }
            b.p.time_nanos = 1_700_000_000_000_000_000 + i as i64 * MIN / 2;
            sb.push(&b.p).unwrap();
        }
        let report = Report::new(analyze_heap(&sb.finish(), &HeapOptions::default()));
        let top = &report.findings[0];
        assert_eq!((top.function.as_str(), top.line), site);
        assert_eq!(top.verdict, Verdict::Leak);
        assert!(
            top.notes
                .iter()
                .all(|n| !n.contains("no frame of your own code"))
        );
        if cache.is_some() {
            let c = &report.findings[1];
            assert_eq!(
                (c.function.as_str(), c.verdict),
                ("myapp::cache::Lru::put", Verdict::Plateau)
            );
        }
    }
}

/// Symbolized profiles (what a profile store such as Pyroscope returns)
/// have address 0 at every location, under a mapping with a build id: a
/// location at the same index as in the previous profile is no evidence of
/// the same code. Before this was checked, `hunt --from pyroscope://` gave
/// a leak's values to whatever site held its index in the previous answer.
#[test]
fn address_zero_locations_are_never_reused_by_index() {
    let mut a = Builder::heap().with_mapping("build-1");
    let s = a.stack(&[("main.first", "/a.go", 1)]);
    a.heap_sample(s, [1, 1, 1, 10]);
    let mut b = Builder::heap().with_mapping("build-1");
    let s = b.stack(&[("main.second", "/b.go", 2)]);
    b.heap_sample(s, [1, 1, 1, 20]);
    for p in [&mut a.p, &mut b.p] {
        for l in &mut p.locations {
            l.address = 0;
        }
    }
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for (t, p) in [&a.p, &b.p, &a.p].into_iter().enumerate() {
        sb.push_at(p, t as i64).unwrap();
    }
    let hs = sb.finish();
    let names: Vec<&str> = hs.sites.iter().map(|s| s.function.as_str()).collect();
    assert_eq!(names, vec!["main.first", "main.second"]);
    assert_eq!(hs.column(Metric::InuseSpace, 0), vec![10.0, 0.0, 10.0]);
    assert_eq!(hs.column(Metric::InuseSpace, 1), vec![0.0, 20.0, 0.0]);
}

/// etcd under a steady load (crates/heapdrift/tests/thirdparty.rs, a CI
/// run): `mvcc.(*keyIndex).put` went from 0 to 3 heap samples over 30
/// snapshots in 150 s, each sample a ~200-byte slice that lived past the
/// window, nothing freed. Mann–Kendall reads the staircase as a trend
/// (p 1e-7) and it was called a leak. But a population that only turns
/// over gains 3 samples with none lost 1 time in 8: at most suspect. A
/// pure leak with 8 samples gained (1 in 256) stays a leak.
#[test]
fn three_heap_samples_gained_are_too_few_for_a_leak() {
    const RATE: i64 = 512 * 1024;
    const SIZE: f64 = 192.0;
    // Go scales a sampled object of SIZE bytes by 1/p.
    let p = -(-SIZE / RATE as f64).exp_m1();
    let per_sample = (1.0 / p).round() as i64;
    let hunt = |steps: &[usize]| {
        let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
        for i in 0..30i64 {
            let samples = steps.iter().filter(|&&at| i >= at as i64).count() as i64;
            let mut b = Builder::heap();
            b.p.period = RATE;
            b.p.time_nanos = i * 5_000_000_000;
            let s = b.stack(&[
                (
                    "go.etcd.io/etcd/server/v3/storage/mvcc.(*keyIndex).put",
                    "key_index.go",
                    100,
                ),
                ("main.main", "/src/main.go", 1),
            ]);
            let objects = samples * per_sample;
            let bytes = objects * SIZE as i64;
            b.heap_sample(s, [objects, bytes, objects, bytes]);
            // The rest of the server, which changes at every GC, so that
            // every snapshot shows a new one.
            let other = b.stack(&[("main.serve", "/src/main.go", 9)]);
            let live = 40 + (i * 7) % 5;
            b.heap_sample(
                other,
                [100 * (i + 1), (100 * (i + 1)) << 16, live, live << 16],
            );
            sb.push(&b.p).unwrap();
        }
        Report::new(analyze_heap(&sb.finish(), &HeapOptions::default()))
    };
    let site = |r: &Report| {
        r.findings
            .iter()
            .find(|f| f.function.ends_with("(*keyIndex).put"))
            .cloned()
            .expect("a finding at keyIndex.put")
    };
    let few = hunt(&[8, 18, 26]);
    let f = &site(&few);
    assert_eq!(f.verdict, Verdict::Suspect, "{f:#?}");
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("only 3 heap samples gained")),
        "{:?}",
        f.notes
    );
    let more = hunt(&[2, 5, 8, 12, 15, 19, 22, 26]);
    let f = site(&more);
    assert_eq!(f.verdict, Verdict::Leak, "{f:#?}");
}
