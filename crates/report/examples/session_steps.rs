//! A shell session's reports over one profile, step by step, timed: what
//! each command costs once the profile is parsed. Build with `cargo build
//! --profile profiling -p heapdrift-report --example session_steps`; run
//! `session_steps FILE 'top' 'top sample_index=alloc_space' ...` (a
//! command name, then settings as `name=value`).

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use report::config::{Config, command};
use report::driver::{Env, ReportSource, no_edit, write_report};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This process's CPU time in ms (all threads: graph builds use two).
fn cpu_ms() -> f64 {
    let mut total = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            total += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total as f64 / 1e6
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
    let Some(path) = args.get(1) else {
        eprintln!("usage: session_steps FILE 'CMD [name=value]...'...");
        std::process::exit(2);
    };
    let data = std::fs::read(path).expect("read");
    let raw = profile::gz::maybe_decompress(&data, profile::parse::DEFAULT_MAX_DECOMPRESSED)
        .expect("inflate")
        .into_owned();
    let t = Instant::now();
    let p = profile::proto::decode(&raw).expect("decode");
    profile::passes::check_valid(&p).expect("a valid profile");
    eprintln!("decode {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let mut src = ReportSource::session(Arc::new(p)).checked();
    let mut cfg = Config::default();
    for step in &args[2..] {
        let mut words = step.split_whitespace();
        let name = words.next().expect("a command");
        for setting in words {
            let (k, v) = setting.split_once('=').expect("name=value");
            cfg.configure(k, v).expect("a valid setting");
        }
        let cmd = command(name).expect("a command of pprof's table");
        let (w0, c0) = (Instant::now(), cpu_ms());
        let mut stderr = Vec::new();
        let mut out = Vec::new();
        {
            let mut env = Env::without_sources(&mut stderr);
            let mut rpt = src
                .make_report(cmd, None, &cfg, &no_edit, &mut env)
                .expect("report");
            write_report(&mut rpt, cmd, &mut env, &mut out).expect("write");
        }
        let (w, c) = (w0.elapsed().as_secs_f64() * 1e3, cpu_ms() - c0);
        eprintln!(
            "{step:>40} {w:8.1} ms wall {c:8.1} ms cpu  {} bytes",
            out.len()
        );
        std::io::stdout().write_all(&out).expect("stdout");
    }
}
