//! `heapdrift serve`: the leak dashboard and pprof's views over an archive
//! made by `heapdrift watch`, or over snapshot files of one process. Glue
//! only: the data, pages and endpoints are `web::dashboard`'s, the views
//! and the server `web`'s.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

/// Serves the leak dashboard of an archive or of snapshot files.
#[derive(Debug, Parser)]
#[command(
    name = "heapdrift serve",
    about = "Serve the leak dashboard (findings, timelines, memory, flame graphs) of an archive or of snapshot files",
    long_about = "Serve the leak dashboard of an archive made by `heapdrift watch` (read-only; \
        a running watch may keep writing to it: every page load reads the index again) or of \
        heap, goroutine and goroutineleak profile files of one process, as `heapdrift hunt` \
        takes them.\n\n\
        The dashboard (/) lists targets and series, the ranked findings of hunt with a timeline \
        plot each, and the MemStats accounting over time; every snapshot opens in pprof's views \
        (/ui/flamegraph?src=ID), two of them as a diff (&base=ID). JSON endpoints: \
        docs/dashboard.md."
)]
pub struct ServeArgs {
    /// An archive directory, or profile files and directories of them.
    #[arg(required_unless_present = "from", value_name = "ARCHIVE_OR_FILES")]
    pub inputs: Vec<PathBuf>,
    /// Serve a fleet from a profile store instead: a Grafana Pyroscope
    /// server (pyroscope://HOST:PORT, http:// or https://) or a Parca
    /// server (parca://HOST:PORT, parca+https://). Every instance
    /// of every service is read at start-up as `hunt --from` reads it; the
    /// page ranks each service's sites by the replicas they grow on, then
    /// lists the instances with their findings and timelines; snapshots
    /// open in the flame graph, read from the store (docs/fleet.md).
    #[arg(long, value_name = "URL", conflicts_with = "inputs")]
    pub from: Option<String>,
    #[command(flatten)]
    pub fleet: crate::store_args::FleetArgs,
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// Where to listen: [HOST]:PORT; HOST defaults to 127.0.0.1, port 0
    /// picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "[HOST]:PORT")]
    pub http: String,
    /// Do not open a browser.
    #[arg(long = "no_browser", alias = "no-browser")]
    pub no_browser: bool,
}

/// pprof spells its flags with one dash (`-http`, `-no_browser`); clap
/// wants two.
pub fn go_style_flags(args: &[String]) -> Vec<String> {
    args.iter()
        .map(|a| {
            if a.starts_with("-http") || a == "-no_browser" {
                format!("-{a}")
            } else {
                a.clone()
            }
        })
        .collect()
}

pub fn run(a: &ServeArgs) -> anyhow::Result<ExitCode> {
    crate::alloc::tune_for_session();
    let dash = match &a.from {
        Some(url) => Arc::new(fleet_dashboard(a, url)?),
        None => Arc::new(web::dashboard::Dashboard::open(&a.inputs)?),
    };
    let router = web::dashboard::dashboard_router(dash.clone()).merge(web::pprof_ui_router(
        dash,
        report::config::Config::default(),
    ));
    web::serve(router, &a.http, !a.no_browser)?;
    Ok(ExitCode::SUCCESS)
}

/// The fleet `--from` names, read whole before the server starts.
fn fleet_dashboard(a: &ServeArgs, url: &str) -> anyhow::Result<web::dashboard::Dashboard> {
    let server = fetch::store::open(url, &a.store.options()?)?;
    let q = a.fleet.query()?;
    let plans = series::fleet::plan(&*server, &q)?;
    if plans.is_empty() {
        anyhow::bail!("{url}: {}", a.fleet.nothing_found(&q));
    }
    let reads = series::fleet::read_fleet(
        &*server,
        &q,
        &plans,
        &series::BuildOptions::default(),
        a.fleet.jobs,
    )?;
    let (requests, bytes) = server.traffic();
    eprintln!(
        "heapdrift serve: {} instance(s) of {} service(s) read from {}: {requests} queries, {:.1} MB",
        reads.len(),
        plans.len(),
        server.base(),
        bytes as f64 / 1e6
    );
    Ok(web::dashboard::Dashboard::fleet(server, q, &plans, reads))
}
