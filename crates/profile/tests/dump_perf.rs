//! A 100k-goroutine dump must parse quickly. The bound is only asserted in
//! release builds (`cargo test --release`), and loosely: the machine is
//! shared.

use profile::goroutine_dump::{parse_dump, to_profile};
use std::path::PathBuf;
use std::time::Instant;

fn big_dump(n: usize) -> String {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy/goroutine_debug2.txt");
    let text = std::fs::read_to_string(p).unwrap();
    let blocks: Vec<&str> = text
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect();
    let mut out = String::with_capacity(n * 400);
    for i in 0..n {
        let b = blocks[i % blocks.len()];
        // Renumber: "goroutine N [" -> "goroutine i ["
        let rest = &b[b.find(" [").unwrap()..];
        out.push_str(&format!("goroutine {}{rest}\n\n", i + 1));
    }
    out
}

#[test]
fn hundred_thousand_goroutines() {
    let text = big_dump(100_000);
    let t = Instant::now();
    let gs = parse_dump(&text).unwrap();
    let parse = t.elapsed();
    let t = Instant::now();
    let p = to_profile(&gs);
    let build = t.elapsed();
    println!(
        "{} MB, 100k goroutines: parse {parse:?}, to_profile {build:?}",
        text.len() >> 20
    );
    assert_eq!(gs.len(), 100_000);
    assert_eq!(p.samples.iter().map(|s| s.values[0]).sum::<i64>(), 100_000);
    if !cfg!(debug_assertions) {
        // ~0.2 s of CPU on the reference machine; wall time under load is
        // several times that.
        assert!(parse.as_secs_f64() < 5.0, "parse took {parse:?}");
    }
}
