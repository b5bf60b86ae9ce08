//! The session's call tree (`StackTrie`) built alone, timed: `trie_build
//! FILE [N] [DEPTH]` builds it N times (default 5), split for two threads
//! at DEPTH (0: one thread; default: as sessions do). The first build is
//! reported apart: like a session's, it faults in fresh memory. Build with
//! `cargo build --profile profiling -p heapdrift-report --example
//! trie_build`.

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    // As the shell sets it (heapdrift's alloc::tune_for_session).
    // SAFETY: a plain option value (15: mi_option_purge_delay) and a prctl
    // with integer arguments.
    unsafe {
        libmimalloc_sys::mi_option_set(15, 30_000);
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let args: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&args[1]).expect("read");
    let n: usize = args.get(2).map_or(5, |a| a.parse().expect("N"));
    let depth: Option<usize> = args.get(3).map(|a| a.parse().expect("DEPTH"));
    let raw = profile::gz::maybe_decompress(&data, profile::parse::DEFAULT_MAX_DECOMPRESSED)
        .expect("inflate")
        .into_owned();
    let p = profile::proto::decode(&raw).expect("decode");
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..n {
        let (w, c) = (Instant::now(), cpu_ns());
        let (trie, of) = report::graph::StackTrie::of_stacks_split(
            p.samples.iter().map(|s| &s.locations[..]),
            depth,
        );
        walls.push(w.elapsed().as_secs_f64() * 1e3);
        cpus.push((cpu_ns() - c) as f64 / 1e6);
        std::hint::black_box((trie.len(), of.len()));
    }
    let first = walls[0];
    walls.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    println!(
        "first {first:.1} ms; wall min {:.1} med {:.1} ms; thread cpu min {:.1} med {:.1} ms",
        walls[0],
        walls[n / 2],
        cpus[0],
        cpus[n / 2]
    );
}
