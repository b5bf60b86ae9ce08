//! Where the flame graph view's server time goes, stage by stage:
//! `cargo run --profile ci -p heapdrift-web --example flame_timing -- PROFILE`
//! (CPU time of this thread per stage; the machine may be busy).

use std::time::Instant;

fn cpu_ms() -> f64 {
    // getrusage(RUSAGE_THREAD) would need libc; /proc is enough on Linux.
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) * 10.0
}

fn main() {
    let path = std::env::args().nth(1).expect("a profile");
    let data = std::fs::read(&path).expect("read");
    let stage = |name: &str, t: &mut (Instant, f64)| {
        let now = (Instant::now(), cpu_ms());
        eprintln!(
            "{name:>14}: {:7.0} ms wall {:7.0} ms cpu",
            (now.0 - t.0).as_secs_f64() * 1e3,
            now.1 - t.1
        );
        *t = now;
    };
    let mut t = (Instant::now(), cpu_ms());
    let p = profile::parse::parse(&data, &Default::default())
        .expect("parse")
        .profile;
    stage("parse", &mut t);
    let q = p.clone();
    stage("clone", &mut t);
    let mut err = Vec::new();
    let mut env = report::driver::Env::without_sources(&mut err);
    let rpt = report::driver::make_report(
        q,
        report::flame::command(),
        None,
        &Default::default(),
        &report::flame::edit_config,
        &mut env,
    )
    .expect("report");
    stage("make_report", &mut t);
    let g = report::flame::FlameGraph::from_report(&rpt);
    stage("flame tree", &mut t);
    let mut json = Vec::new();
    report::flame::write_json(&g, &mut json).unwrap();
    stage("write_json", &mut t);
    let s = web::html::json_for_script(&json);
    stage("script-escape", &mut t);
    eprintln!(
        "{} nodes, {} frames, JSON {} bytes ({})",
        g.nodes.len(),
        g.frames.len(),
        json.len(),
        s.len()
    );
    drop((rpt, g));
    stage("drop", &mut t);
}
