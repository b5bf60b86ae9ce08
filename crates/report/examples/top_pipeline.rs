//! `heapdrift pprof -top FILE` with default flags, stage by stage, for
//! profiling and timing: the report goes to stdout, per-stage wall and CPU
//! times to stderr. Build with `cargo build --release -p heapdrift-report
//! --example top_pipeline`; run `top_pipeline FILE [REPEAT]`.

use std::io::Write;
use std::time::Instant;

use profile::passes;
use report::{Options, OutputFormat, Report};

// The binary's allocator, so stage timings match what users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This thread's CPU time in ns (`/proc/thread-self/schedstat`), so timings
/// mean something on a loaded machine.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Current and peak resident set size in MB, from `/proc/self/status`.
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Clock {
    wall: Instant,
    cpu: u64,
    rows: Vec<(&'static str, f64, f64, (f64, f64))>,
}

impl Clock {
    fn new() -> Self {
        Clock {
            wall: Instant::now(),
            cpu: cpu_ns(),
            rows: Vec::new(),
        }
    }
    fn lap(&mut self, stage: &'static str) {
        let (w, c) = (Instant::now(), cpu_ns());
        self.rows.push((
            stage,
            (w - self.wall).as_secs_f64() * 1e3,
            (c - self.cpu) as f64 / 1e6,
            rss_mb(),
        ));
        self.wall = w;
        self.cpu = c;
    }
}

fn run(path: &str, out: &mut dyn Write) -> Result<Clock, Box<dyn std::error::Error>> {
    let mut c = Clock::new();
    let data = std::fs::read(path)?;
    c.lap("read");
    let raw = profile::gz::maybe_decompress(&data, profile::parse::DEFAULT_MAX_DECOMPRESSED)?
        .into_owned();
    drop(data);
    c.lap("inflate");
    // One source, no base, no -mean: only the reported value matters, and
    // samples where it is zero cannot change a graph report.
    let filtered = std::env::var_os("TOP_PIPELINE_UNFILTERED").is_none();
    let mut p = profile::proto::decode_filtered(&raw, |h| {
        let index = passes::sample_index_by_name(h, "").ok()?;
        filtered.then(|| vec![index])
    })?;
    drop(raw);
    c.lap("decode");
    passes::check_valid(&p)?;
    c.lap("check_valid");
    let _ = passes::remove_uninteresting(&mut p);
    c.lap("remove_uninteresting");
    let (units, _) = passes::num_label_units(&p);
    c.lap("num_label_units");
    let index = passes::sample_index_by_name(&p, "")?;
    let mut o = Options::for_sample_index(&p, index, OutputFormat::Text);
    o.num_label_units = units.into_iter().collect();
    let mut rpt = Report::new(p, o);
    c.lap("report_new(total)");
    passes::aggregate(rpt.profile_mut(), true, true, false, false, false, false)?;
    c.lap("aggregate");
    let mut buf = Vec::new();
    rpt.generate(&mut buf)?;
    c.lap("graph+trim+format");
    out.write_all(&buf)?;
    drop(rpt);
    c.lap("write+drop");
    Ok(c)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: top_pipeline FILE [REPEAT]");
        std::process::exit(2);
    };
    // mimalloc keeps freed memory for a second by default; the inflated
    // buffer (tens of MB) would then stay resident through the report.
    // 15 is `mi_option_purge_delay` in mimalloc 3's option enum.
    // SAFETY: sets a plain option value; no allocation state is touched.
    unsafe { libmimalloc_sys::mi_option_set(15, 0) };
    let repeat: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(1);
    for i in 0..repeat {
        let mut stdout = std::io::stdout().lock();
        let mut sink = std::io::sink();
        let out: &mut dyn Write = if i == 0 { &mut stdout } else { &mut sink };
        match run(path, out) {
            Ok(c) => {
                let (mut tw, mut tc) = (0.0, 0.0);
                for (stage, w, cpu, (rss, hwm)) in &c.rows {
                    eprintln!(
                        "{stage:>22} {w:9.1} ms wall {cpu:9.1} ms cpu  rss {rss:6.1} MB peak {hwm:6.1} MB"
                    );
                    tw += w;
                    tc += cpu;
                }
                eprintln!("{:>22} {tw:9.1} ms wall {tc:9.1} ms cpu", "total");
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        }
    }
}
