//! Timing of the passes on an 800k-sample profile. Ignored by default; run
//! `cargo test --release -p heapdrift-profile --test passes_perf -- --ignored --nocapture`.
use profile::passes;
use profile::{Function, Line, Location, Mapping, NumLabel, Profile, Sample, ValueType};
use std::sync::Arc;
use std::time::Duration;

/// CPU time of this thread: wall time is meaningless on a shared machine.
struct Instant(u64);

impl Instant {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // utime and stime, fields 14 and 15 of stat, in clock ticks (100 Hz).
        Instant(f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0))
    }
    fn elapsed(&self) -> Duration {
        Duration::from_millis((Instant::now().0 - self.0) * 10)
    }
}

fn big_profile(n_samples: usize) -> Profile {
    let mut p = Profile {
        sample_types: vec![
            ValueType::new("alloc_objects", "count"),
            ValueType::new("alloc_space", "bytes"),
        ],
        period_type: Some(ValueType::new("space", "bytes")),
        ..Default::default()
    };
    p.mappings.push(Mapping {
        id: 1,
        start: 0x400000,
        limit: 0x900000,
        file: "/bin/app".into(),
        build_id: "abc".into(),
        has_functions: true,
        ..Default::default()
    });
    let n_funcs = 20_000u32;
    for i in 0..n_funcs {
        p.functions.push(Function {
            id: i as u64 + 1,
            name: format!("pkg{}.func{}", i % 97, i),
            system_name: format!("pkg{}.func{}", i % 97, i),
            filename: format!("/src/pkg{}/file{}.go", i % 97, i % 13),
            start_line: i as i64,
        });
    }
    let n_locs = 60_000u32;
    for i in 0..n_locs {
        let mut lines = vec![Line {
            function: Some(i % n_funcs),
            line: (i % 500) as i64,
            column: 0,
        }];
        if i % 3 == 0 {
            lines.insert(
                0,
                Line {
                    function: Some((i * 7) % n_funcs),
                    line: 3,
                    column: 0,
                },
            );
        }
        p.locations.push(Location {
            id: i as u64 + 1,
            mapping: Some(0),
            address: 0x400000 + i as u64 * 16,
            lines,
            is_folded: false,
        });
    }
    let key: Arc<str> = Arc::from("bytes");
    let unit: Arc<str> = Arc::from("bytes");
    let mut x: u64 = 88172645463325252;
    for i in 0..n_samples {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Half of the stacks repeat, so merging has work to do.
        let seed = if i % 2 == 0 { x % 50_000 } else { x };
        let depth = 8 + (seed % 24) as usize;
        let locations = (0..depth)
            .map(|d| ((seed.wrapping_mul(31).wrapping_add(d as u64 * 7919)) % n_locs as u64) as u32)
            .collect();
        p.samples.push(Sample {
            locations,
            values: vec![1, 64 + (seed % 8) as i64 * 16],
            labels: Vec::new(),
            num_labels: vec![NumLabel {
                key: key.clone(),
                value: 64 + (seed % 8) as i64 * 16,
                unit: Some(unit.clone()),
            }],
        });
    }
    p
}

#[test]
#[ignore = "a benchmark: cargo test --release -p heapdrift-profile --test passes_perf -- --ignored --nocapture"]
fn time_passes_on_800k_samples() {
    let p = big_profile(800_000);
    let t = Instant::now();
    let c = passes::compact(&p);
    println!(
        "compact: {:?} ({} -> {} samples)",
        t.elapsed(),
        p.samples.len(),
        c.samples.len()
    );
    let mut nolabels = p.clone();
    for s in &mut nolabels.samples {
        s.num_labels.clear();
    }
    let t = Instant::now();
    let c2 = passes::compact(&nolabels);
    println!(
        "compact without labels: {:?} ({} samples)",
        t.elapsed(),
        c2.samples.len()
    );
    drop(nolabels);
    let mut base = p.clone();
    let t = Instant::now();
    passes::set_label(&mut base, "pprof::base", &["true"]);
    passes::scale(&mut base, -1.0);
    let d = passes::merge_refs(&[&p, &base]).unwrap();
    println!("diff_base: {:?} ({} samples)", t.elapsed(), d.samples.len());
    let mut q = p.clone();
    let t = Instant::now();
    let re = regex::Regex::new("pkg1\\.").unwrap();
    passes::filter_samples_by_name(&mut q, Some(&re), None, None, None);
    println!("focus: {:?} ({} samples)", t.elapsed(), q.samples.len());
    let mut q = p.clone();
    let t = Instant::now();
    passes::aggregate(&mut q, true, true, false, false, false, false).unwrap();
    println!("aggregate: {:?}", t.elapsed());
    let t = Instant::now();
    let mut s = String::new();
    profile::raw::write_raw(&c, &mut s);
    println!("raw: {:?} ({} bytes)", t.elapsed(), s.len());
}
