//! Decode/encode throughput on a real profile. Ignored by default; run with
//! HEAPDRIFT_BENCH_PROFILE=/path/to/profile.pb[.gz]
//!   cargo test --release -p heapdrift-profile --test proto_bench -- --ignored --nocapture
use profile::gz;
use profile::proto::{decode, encode};
use std::time::Instant;

/// This thread's CPU time in seconds, when Linux tells it: on a loaded
/// machine it is a steadier measure than wall time.
fn cpu_time() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Best of `n` runs: CPU time if available, else wall time.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let c = cpu_time();
        let v = f();
        let dt = match (c, cpu_time()) {
            (Some(a), Some(b)) => b - a,
            _ => t.elapsed().as_secs_f64(),
        };
        best = best.min(dt);
        last = Some(v);
    }
    (best, last.unwrap())
}

#[test]
#[ignore = "a benchmark: HEAPDRIFT_BENCH_PROFILE=FILE cargo test --release --test proto_bench -- --ignored --nocapture"]
fn proto_throughput() {
    let path = std::env::var_os("HEAPDRIFT_BENCH_PROFILE")
        .expect("HEAPDRIFT_BENCH_PROFILE names the profile to decode");
    let file = std::fs::read(&path).unwrap();
    let (t_gz, raw) = best_of(3, || {
        gz::maybe_decompress(&file, 1 << 32).unwrap().into_owned()
    });
    let mb = raw.len() as f64 / 1e6;
    let (t_dec, p) = best_of(5, || decode(&raw).unwrap());
    let (t_enc, out) = best_of(5, || encode(&p));
    let (t_cmp, z) = best_of(1, || gz::compress(&out));
    println!(
        "{}: {:.1} MB gz -> {mb:.1} MB raw; {} samples, {} locations, {} functions",
        path.to_string_lossy(),
        file.len() as f64 / 1e6,
        p.samples.len(),
        p.locations.len(),
        p.functions.len()
    );
    println!(
        "inflate  {:7.1} ms  {:7.0} MB/s (of output)",
        t_gz * 1e3,
        mb / t_gz
    );
    println!("decode   {:7.1} ms  {:7.0} MB/s", t_dec * 1e3, mb / t_dec);
    println!(
        "encode   {:7.1} ms  {:7.0} MB/s",
        t_enc * 1e3,
        out.len() as f64 / 1e6 / t_enc
    );
    println!(
        "compress {:7.1} ms  -> {:.1} MB",
        t_cmp * 1e3,
        z.len() as f64 / 1e6
    );
}
