//! `heapdrift watch`: command line, signals and terminal output around
//! `watch::run` (the scheduling and archiving live in the `watch` crate).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

/// Poll Go services' /debug/pprof/ endpoints and archive every snapshot.
#[derive(Parser, Debug)]
#[command(name = "heapdrift watch")]
pub struct WatchArgs {
    /// Base URLs of the services (http://127.0.0.1:6060 or host:port);
    /// heapdrift finds /debug/pprof/ under each.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Time between rounds (Go-style duration: 500ms, 15s, 2m).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub every: Duration,
    /// How long to watch; 0 means until Ctrl-C.
    #[arg(long = "for", default_value = "30m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Archive directory (created if absent).
    #[arg(long, default_value = watch::DEFAULT_ARCHIVE)]
    pub archive: PathBuf,
    /// Bound on one request: connect, headers and body.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// One log line per event instead of the live view (the default when
    /// stdout is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
    /// Fetch goroutine?debug=2 every N rounds (0: never).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub dump_every: u64,
    /// Fetch allocs every N rounds (0: never; the heap profile already
    /// carries the alloc_* values).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub allocs_every: u64,
    /// Fetch goroutineleak at most every N rounds, and at least 60 s apart
    /// (0: never; each request runs a GC cycle in the target).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub leak_every: u64,
    /// Also push every profile archived to this profile store: Grafana
    /// Pyroscope (pyroscope://HOST:PORT, http:// or https://) labelled
    /// service_name, or Parca (parca://HOST:PORT, parca+https://) labelled
    /// job; and instance (the target's host:port) and heapdrift_series.
    #[arg(long, value_name = "URL", requires = "service")]
    pub push: Option<String>,
    /// The service of pushed profiles (label service_name, or job in Parca).
    #[arg(long, value_name = "NAME", requires = "push")]
    pub service: Option<String>,
    /// With --push: keep the archive in a temporary directory, removed at
    /// the end once everything is pushed (kept, and named, if not).
    #[arg(long, requires = "push", conflicts_with = "archive")]
    pub no_archive: bool,
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
}

/// Go's time.ParseDuration for the units people use: ns, us, ms, s, m, h,
/// combined (`1m30s`) and fractional (`1.5s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("invalid duration {s:?} (examples: 500ms, 15s, 30m, 1h)");
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[u..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// Exit status of a watch that ran but stored no snapshot for any target
/// (every target down, or answering something that is not pprof); 2 is
/// for errors before the watch begins (arguments, the archive).
pub const EXIT_NOTHING_STORED: u8 = 1;

/// The watch, its live view or log, and its summary.
pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    if args.every.is_zero() {
        anyhow::bail!("--every must be more than 0");
    }
    let opts = watch::WatchOptions {
        every: args.every,
        duration: (!args.duration.is_zero()).then_some(args.duration),
        timeout: args.timeout,
        cadence: watch::Cadence {
            dump_every: args.dump_every,
            allocs_every: args.allocs_every,
            leak_every: args.leak_every,
            ..Default::default()
        },
        ..Default::default()
    };
    let temporary = if args.no_archive {
        let dir = tempfile::Builder::new()
            .prefix("heapdrift-watch-")
            .tempdir()
            .context("a temporary archive directory")?;
        Some(dir.keep())
    } else {
        None
    };
    let archive_dir = temporary.clone().unwrap_or_else(|| args.archive.clone());
    // Pyroscope's service_name, Parca's job.
    let mut service_label = "service_name";
    let mut pusher = match &args.push {
        Some(url) => {
            let opts = fetch::store::ServerOptions {
                // Short tries: the pusher's own backoff keeps what waits.
                timeout: Duration::from_secs(10),
                retry_for: Duration::from_secs(5),
                ..args.store.options()?
            };
            let server = fetch::store::open(url, &opts)?;
            service_label = server.service_label();
            Some(watch::push::Pusher::start(server))
        }
        None => None,
    };
    let service = args.service.clone().unwrap_or_default();
    let instances: Vec<String> = args
        .targets
        .iter()
        .map(|t| crate::push_cmd::host_port(t))
        .collect();
    let stop = watch::Stop::new();
    {
        let stop = stop.clone();
        let mut hits = 0;
        ctrlc::set_handler(move || {
            hits += 1;
            if hits > 1 {
                // A second Ctrl-C: leave now; the archive is crash-safe.
                std::process::exit(130);
            }
            stop.trigger();
        })?;
    }
    let live = !args.quiet && std::io::stdout().is_terminal();
    let mut drawn = 0usize;
    let mut last_draw = std::time::Instant::now() - Duration::from_secs(1);
    let mut on_event = |e: Option<&watch::Event>, st: &watch::WatchState| {
        if let (
            Some(pusher),
            Some(watch::Event::Stored {
                target,
                series,
                kind,
                taken_at,
                path,
            }),
        ) = (pusher.as_mut(), e)
        {
            let labels = vec![
                (service_label.to_string(), service.clone()),
                ("instance".to_string(), instances[*target].clone()),
                ("heapdrift_series".to_string(), series.to_string()),
            ];
            pusher.archived(*target, *series, *kind, *taken_at, path.clone(), labels);
            return;
        }
        let mut out = std::io::stdout().lock();
        if live {
            // Redraw at most 4 times a second.
            if last_draw.elapsed() < Duration::from_millis(250) && e.is_some() {
                return;
            }
            last_draw = std::time::Instant::now();
            let text = watch::view::render_live(st, terminal_width().saturating_sub(1));
            let mut buf = String::new();
            if drawn > 0 {
                buf.push_str(&format!("\x1b[{drawn}A"));
            }
            buf.push_str("\x1b[J");
            buf.push_str(&text);
            drawn = text.lines().count();
            let _ = out.write_all(buf.as_bytes());
        } else if let Some(line) = e.and_then(|e| watch::view::log_line(e, st)) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    };
    let state = watch::run(&args.targets, &archive_dir, &opts, &stop, &mut on_event)?;
    let mut out = std::io::stdout().lock();
    if live && drawn > 0 {
        write!(out, "\x1b[{drawn}A\x1b[J")?;
    }
    out.write_all(
        watch::view::render_summary(&state, &archive_dir.display().to_string()).as_bytes(),
    )?;
    if let (Some(pusher), Some(url)) = (pusher, &args.push) {
        let counts = pusher.finish(PUSH_GRACE);
        let left = counts.unsent + counts.dropped + counts.failed;
        writeln!(
            out,
            "pushed {} snapshot(s) to {url} as service {service:?}",
            counts.pushed
        )?;
        if let Some(e) = &counts.last_error
            && left > 0
        {
            writeln!(out, "  last error from the store: {e}")?;
        }
        if left > 0 {
            writeln!(
                out,
                "  {left} not pushed ({} waiting at the end, {} dropped from a full queue, {} failed); \
                 they are in {}: heapdrift push --to {url} --service {service} {} sends them",
                counts.unsent,
                counts.dropped,
                counts.failed,
                archive_dir.display(),
                archive_dir.display()
            )?;
        } else if let Some(dir) = &temporary {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    out.flush()?;
    match state.nothing_stored() {
        None => Ok(ExitCode::SUCCESS),
        Some(why) => Err(crate::app::Exit {
            code: EXIT_NOTHING_STORED,
            message: why,
        }
        .into()),
    }
}

/// How long a finished watch keeps pushing what still waits for the store.
const PUSH_GRACE: Duration = Duration::from_secs(30);

/// Lines longer than the terminal would wrap and break the in-place
/// redraw, so the view is cut to the width.
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ writes a winsize into the zeroed struct we pass;
    // on failure it is left untouched and the fallbacks apply.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        return ws.ws_col as usize;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s| parse_duration(s).unwrap();
        assert_eq!(d("15s"), Duration::from_secs(15));
        assert_eq!(d("30m"), Duration::from_secs(1800));
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("1.5s"), Duration::from_millis(1500));
        assert_eq!(d("0"), Duration::ZERO);
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn clap_defaults() {
        let a = WatchArgs::try_parse_from(["watch", "127.0.0.1:6060"]).unwrap();
        assert_eq!(a.every, Duration::from_secs(15));
        assert_eq!(a.duration, Duration::from_secs(1800));
        assert_eq!(a.archive, PathBuf::from("heapdrift-archive"));
        assert!(!a.quiet);
        assert!(WatchArgs::try_parse_from(["watch"]).is_err());
    }
}
