#![allow(dead_code)]
//! Shared helpers of the store's integration tests.

use profile::{Function, Line, Location, Mapping, Profile, Sample, ValueType};
use store::{Kind, Summary};

pub fn testdata(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/../../testdata/profiles/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

pub fn summarize(bytes: &[u8]) -> Summary {
    let p = profile::parse(bytes, &profile::ParseOptions::default()).expect("parse");
    Summary::from_parsed(&p, &Default::default())
}

/// Real Go profiles of each kind the watcher stores.
pub fn real_snapshots() -> Vec<(Kind, Vec<u8>)> {
    vec![
        (Kind::Heap, testdata("heap_1.pb.gz")),
        (Kind::Heap, testdata("heap_2.pb.gz")),
        (Kind::Heap, testdata("heap_3.pb.gz")),
        (Kind::Allocs, testdata("allocs.pb.gz")),
        (Kind::Goroutine, testdata("goroutine.pb.gz")),
        (Kind::GoroutineLeak, testdata("goroutineleak.pb.gz")),
        (Kind::HeapDebug1, testdata("heap.txt")),
        (Kind::GoroutineDebug1, testdata("goroutine.txt")),
        (Kind::GoroutineDump, testdata("goroutine_dump.txt")),
    ]
}

/// A heap profile of `sites` allocation sites (each in its own user
/// function, reached from main), values varying with `step`.
pub fn synth_heap(sites: usize, step: i64, time_nanos: i64) -> Profile {
    let mut p = Profile {
        sample_types: [
            "alloc_objects:count",
            "alloc_space:bytes",
            "inuse_objects:count",
            "inuse_space:bytes",
        ]
        .iter()
        .map(|s| {
            let (t, u) = s.split_once(':').unwrap();
            ValueType {
                r#type: t.into(),
                unit: u.into(),
            }
        })
        .collect(),
        time_nanos,
        period_type: Some(ValueType {
            r#type: "space".into(),
            unit: "bytes".into(),
        }),
        period: 524_288,
        mappings: vec![Mapping {
            id: 1,
            start: 0x400000,
            limit: 0x10000000,
            file: "/srv/svc".into(),
            build_id: "synthbuild".into(),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..Default::default()
        }],
        ..Default::default()
    };
    let func = |p: &mut Profile, name: String, file: String| {
        p.functions.push(Function {
            id: p.functions.len() as u64 + 1,
            name: name.clone(),
            system_name: name,
            filename: file,
            start_line: 1,
        });
        p.functions.len() as u32 - 1
    };
    let loc = |p: &mut Profile, f: u32, line: i64| {
        let id = p.locations.len() as u64 + 1;
        p.locations.push(Location {
            id,
            mapping: Some(0),
            address: 0x400000 + id * 16,
            lines: vec![Line {
                function: Some(f),
                line,
                column: 0,
            }],
            is_folded: false,
        });
        p.locations.len() as u32 - 1
    };
    let mallocgc = func(
        &mut p,
        "runtime.mallocgc".into(),
        "/go/src/runtime/malloc.go".into(),
    );
    let l_malloc = loc(&mut p, mallocgc, 1000);
    let main = func(&mut p, "main.main".into(), "/src/svc/main.go".into());
    let l_main = loc(&mut p, main, 20);
    for i in 0..sites {
        let f = func(
            &mut p,
            format!("example.com/svc/pkg{}.handler{i}", i % 50),
            format!("/src/svc/pkg{}/h.go", i % 50),
        );
        let l = loc(&mut p, f, 10 + (i as i64 % 300));
        let k = i as i64 + 1;
        // Leaks every 1000th site; the rest churn around a level.
        let inuse_obj = if i % 1000 == 0 {
            k + step * 3
        } else {
            k + (step * 7 + k) % 5
        };
        let alloc_obj = k * 10 + step * k;
        p.samples.push(Sample {
            locations: vec![l_malloc, l, l_main],
            values: vec![alloc_obj, alloc_obj * 64, inuse_obj, inuse_obj * 64],
            ..Default::default()
        });
    }
    p
}
