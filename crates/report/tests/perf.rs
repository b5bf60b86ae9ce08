//! Graph-building speed on a large synthetic profile. Run with
//! `cargo test --release -p heapdrift-report --test perf -- --ignored --nocapture`.

use std::time::Instant;

use profile::{Function, Line, Location, Profile, Sample, ValueType};
use report::{Options, OutputFormat, Report};

fn big_profile(samples: usize, depth: usize) -> Profile {
    let mut p = Profile {
        sample_types: vec![ValueType::new("inuse_space", "bytes")],
        ..Default::default()
    };
    let nfuncs = 3000u32;
    for i in 0..nfuncs {
        p.functions.push(Function {
            id: i as u64 + 1,
            name: format!("pkg{}.func{}", i % 40, i),
            filename: format!("/src/pkg{}/f.go", i % 40),
            ..Default::default()
        });
    }
    let nlocs = 20000u32;
    for i in 0..nlocs {
        let mut lines = vec![Line {
            function: Some(i % nfuncs),
            line: (i % 300) as i64 + 1,
            column: 0,
        }];
        if i % 7 == 0 {
            lines.insert(
                0,
                Line {
                    function: Some((i * 13) % nfuncs),
                    line: 3,
                    column: 0,
                },
            );
        }
        p.locations.push(Location {
            id: i as u64 + 1,
            address: 0x1000 + i as u64 * 16,
            lines,
            ..Default::default()
        });
    }
    // Stacks are random walks down a call graph where each location calls
    // one of three fixed callees (so the graph has realistic fan-out), from
    // one of 50 roots; samples repeat 20k distinct stacks, as CPU and
    // allocation profiles do.
    let mut x: u64 = 88172645463325252;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let callees: Vec<[u32; 3]> = (0..nlocs)
        .map(|_| {
            [
                (next() % nlocs as u64) as u32,
                (next() % nlocs as u64) as u32,
                (next() % nlocs as u64) as u32,
            ]
        })
        .collect();
    let nstacks = 20_000;
    let mut stacks: Vec<Vec<u32>> = Vec::with_capacity(nstacks);
    for _ in 0..nstacks {
        let mut s = vec![(next() % 50) as u32];
        while s.len() < depth {
            let last = *s.last().unwrap();
            s.push(callees[last as usize][(next() % 3) as usize]);
        }
        s.reverse();
        stacks.push(s);
    }
    for _ in 0..samples {
        let r = next();
        p.samples.push(Sample {
            locations: stacks[(r % nstacks as u64) as usize].clone(),
            values: vec![(r % 100000) as i64 + 1],
            ..Default::default()
        });
    }
    p
}

/// This thread's CPU time in clock ticks (the machine may be loaded, so
/// wall time says little).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[test]
#[ignore = "a benchmark: cargo test --release -p heapdrift-report --test perf -- --ignored --nocapture"]
fn graph_of_800k_samples() {
    let p = big_profile(800_000, 40);
    let o = Options::for_sample_index(&p, 0, OutputFormat::Text);
    let t = Instant::now();
    let c = cpu_ticks();
    let sv = |v: &[i64]| v[0];
    let gopt = report::graph::Options::new(&sv);
    let groups = report::graph::group_samples(&p, &gopt);
    println!(
        "grouping: {}0 ms cpu ({} groups)",
        cpu_ticks() - c,
        groups.len()
    );
    let g = report::graph::Graph::new(&p, &gopt);
    println!(
        "one graph build: {:?} wall, {}0 ms cpu ({} nodes, {} edges)",
        t.elapsed(),
        cpu_ticks() - c,
        g.nodes.len(),
        g.edges.len()
    );
    let mut rpt = Report::new(p, o);
    let t = Instant::now();
    let c = cpu_ticks();
    let (items, _) = rpt.text_items();
    let cpu = cpu_ticks() - c;
    println!(
        "text report over 800k samples x 40 frames: {:?} wall, {cpu}0 ms cpu ({} rows)",
        t.elapsed(),
        items.len()
    );
}
