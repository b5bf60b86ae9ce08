//! The heap series builder remembers how earlier profiles' locations
//! resolved (by address, and by index in the previous profile). Those
//! caches must never change an attribution: every snapshot of a series
//! must read as it does when pushed alone into a fresh builder. And the
//! lean decoder's push (`push_flat`) must build exactly the series the full
//! profile's push does.

use std::collections::BTreeMap;

use drift::series::{HeapSeries, HeapSeriesBuilder, Metric, SeriesOptions};
use profile::proto::{FlatProfile, encode};
use profile::{Function, Line, Location, Mapping, Profile, Sample, ValueType};
use proptest::prelude::*;

/// Frames a program is made of: user code, allocator helpers, other std.
const FUNCS: &[(&str, &str)] = &[
    ("main.handle", "/src/main.go"),
    ("main.(*cache).put", "/src/cache.go"),
    ("example.com/svc/store.(*DB).load", "/src/store/db.go"),
    ("runtime.mallocgc", "/go/src/runtime/malloc.go"),
    ("runtime.newobject", "/go/src/runtime/malloc.go"),
    ("bytes.growSlice", "/go/src/bytes/buffer.go"),
    ("strings.(*Builder).grow", "/go/src/strings/builder.go"),
    ("encoding/json.Unmarshal", "/go/src/encoding/json/decode.go"),
    ("net/http.(*conn).serve", "/go/src/net/http/server.go"),
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s % n as u64) as usize
    }
}

/// One code location of the program: its lines (function index, line),
/// inlined callees first.
type Code = Vec<(usize, i64)>;

/// A heap profile of `program` (address i holds `program[i]`): locations
/// in a shuffled or kept order, a subset of them, random stacks and values.
fn profile_of(program: &[Code], build_id: Option<&str>, rng: &mut Rng, time: i64) -> Profile {
    let mut p = Profile {
        sample_types: vec![
            ValueType::new("alloc_objects", "count"),
            ValueType::new("alloc_space", "bytes"),
            ValueType::new("inuse_objects", "count"),
            ValueType::new("inuse_space", "bytes"),
        ],
        time_nanos: time,
        ..Default::default()
    };
    if let Some(b) = build_id {
        p.mappings.push(Mapping {
            id: 1,
            start: 0x400000,
            limit: 0x900000,
            file: "/bin/svc".into(),
            build_id: b.into(),
            ..Default::default()
        });
    }
    for (i, (name, file)) in FUNCS.iter().enumerate() {
        p.functions.push(Function {
            id: i as u64 + 1,
            name: (*name).into(),
            filename: (*file).into(),
            ..Default::default()
        });
    }
    // Which program locations this profile has, and in which order: mostly
    // the same order as last time (what a process's profiles do), sometimes
    // shuffled, sometimes with some left out.
    let mut order: Vec<usize> = (0..program.len()).collect();
    match rng.below(4) {
        0 => {
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
        }
        1 => order.retain(|_| rng.below(3) != 0),
        _ => {}
    }
    if order.is_empty() {
        order.push(0);
    }
    for (li, &code) in order.iter().enumerate() {
        p.locations.push(Location {
            id: li as u64 + 1,
            mapping: build_id.map(|_| 0),
            address: 0x401000 + code as u64 * 16,
            lines: program[code]
                .iter()
                .map(|&(f, line)| Line {
                    function: Some(f as u32),
                    line,
                    column: 0,
                })
                .collect(),
            is_folded: false,
        });
    }
    for _ in 0..1 + rng.below(12) {
        let depth = 1 + rng.below(4);
        let locations: Vec<u32> = (0..depth)
            .map(|_| rng.below(p.locations.len()) as u32)
            .collect();
        let n = rng.below(50) as i64;
        p.samples.push(Sample {
            locations,
            values: vec![n, n * 64, n / 2, n * 32],
            ..Default::default()
        });
    }
    p
}

/// A random program: locations of one to three lines.
fn program(rng: &mut Rng, n: usize) -> Vec<Code> {
    (0..n)
        .map(|_| {
            (0..1 + rng.below(3))
                .map(|_| (rng.below(FUNCS.len()), 1 + rng.below(40) as i64))
                .collect()
        })
        .collect()
}

/// Snapshot `i` of `h` as site -> the four metrics, zeros left out.
fn snapshot(h: &HeapSeries, i: usize) -> BTreeMap<(String, String, i64, bool), [i64; 4]> {
    let metrics = [
        Metric::InuseSpace,
        Metric::InuseObjects,
        Metric::AllocSpace,
        Metric::AllocObjects,
    ];
    let mut out = BTreeMap::new();
    for (site, s) in h.sites.iter().enumerate() {
        let v = metrics.map(|m| h.value(m, site, i));
        if v != [0; 4] {
            out.insert((s.function.clone(), s.file.clone(), s.line, s.user), v);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn caches_never_change_an_attribution(seed in 1u64.., snapshots in 2usize..12, with_build_id in any::<bool>()) {
        let mut rng = Rng(seed);
        let size = 3 + rng.below(20);
        let mut code = program(&mut rng, size);
        let mut build = 1;
        let opts = SeriesOptions { user_prefixes: vec![], no_restart_detection: true };
        let mut full = HeapSeriesBuilder::new(opts.clone());
        let mut lean = HeapSeriesBuilder::new(opts.clone());
        let mut flat = FlatProfile::default();
        let mut alone = Vec::new();
        for t in 0..snapshots {
            // A new build now and then: the same addresses hold other code.
            if rng.below(4) == 0 {
                code = program(&mut rng, size);
                build += 1;
            }
            let id = format!("build-{build}");
            let p = profile_of(&code, with_build_id.then_some(id.as_str()), &mut rng, t as i64);
            full.push(&p).unwrap();
            flat.decode_into(&encode(&p)).unwrap();
            lean.push_flat(&flat, p.time_nanos).unwrap();
            let mut fresh = HeapSeriesBuilder::new(opts.clone());
            fresh.push(&p).unwrap();
            alone.push(snapshot(&fresh.finish(), 0));
        }
        let (full, lean) = (full.finish(), lean.finish());
        prop_assert_eq!(format!("{full:?}"), format!("{lean:?}"));
        // Without a build id, a rebuilt program can fool the address cache
        // only where name, line and line count all match, which then is
        // the same site anyway; with one, never.
        for (i, want) in alone.iter().enumerate() {
            prop_assert_eq!(&snapshot(&full, i), want, "snapshot {}", i);
        }
    }
}
