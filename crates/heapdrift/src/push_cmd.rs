//! `heapdrift push`: back-fills recorded snapshots (files, or an archive
//! made by `watch`) into a profile store (Pyroscope or Parca) at their own
//! times, so that old recordings can be studied with a fleet. The pprof of
//! each snapshot comes from `series::push`, the talking from
//! `fetch::store`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use fetch::store::ServerOptions;
use profile::ParseOptions;
use series::Kind;
use series::push::{kinds_to_push, labels, payload};

/// Pushes recorded snapshots to a profile store.
#[derive(Debug, Parser)]
#[command(
    name = "heapdrift push",
    about = "Push recorded snapshots (files, or an archive made by watch) to a Pyroscope or Parca server, at their own times",
    long_about = "Push recorded snapshots (files, directories of them, or an archive made by \
        `heapdrift watch`) to a Grafana Pyroscope or Parca server, each at its own time, \
        labelled with the service (service_name in Pyroscope, job in Parca), instance and \
        heapdrift_series (the process series it belongs to). \
        Profiles are filed as Pyroscope's Go integrations file them (memory, goroutine, \
        goroutineleak, process_cpu, block, mutex); of the heap's views (proto, debug=1 text, \
        allocs) and the goroutine's only the most complete is pushed, since the server adds up \
        what shares a name. RSS readings (heapdriftprobe snapshots, metrics texts) go as a side \
        series, heapdrift_rss: a pprof whose total is the RSS, with the probe's limits as \
        labels. MemStats, goroutine states and tracked-resource profiles stay behind: the \
        stores hold profiles only; the heap's sampling period goes as the label \
        heapdrift_period.\n\n\
        Pyroscope must accept old samples (`-validation.reject-older-than`, 1h by default); \
        Parca takes them as they are. A \
        server that is down, restarting or rate limiting is retried for --retry-for seconds; a \
        push that timed out is not retried (it may have been stored, and neither store \
        deduplicates). See docs/fleet.md.\n\n\
        Exit status: 0 all pushed, 2 bad usage, unreadable input or a push that failed."
)]
pub struct PushArgs {
    /// Snapshot files, directories of them, or an archive made by `heapdrift watch`.
    #[arg(required = true, value_name = "FILES_OR_ARCHIVE")]
    pub inputs: Vec<PathBuf>,
    /// The server: Pyroscope at pyroscope://HOST:PORT (plain HTTP), http://HOST or
    /// https://HOST; Parca at parca://HOST:PORT (plain HTTP) or parca+https://HOST.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The service (label service_name in Pyroscope, job in Parca).
    #[arg(long, value_name = "NAME")]
    pub service: String,
    /// The instance label (default: an archive's target, host:port; for files, the first input's name).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// How long to keep retrying while the server cannot take a push.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub retry_for: u64,
}

/// One snapshot to push.
struct Item {
    kind: Kind,
    time_nanos: i64,
    path: PathBuf,
    instance: String,
    series: String,
}

pub fn run(a: &PushArgs) -> anyhow::Result<ExitCode> {
    let opts = ServerOptions {
        retry_for: std::time::Duration::from_secs(a.retry_for.max(1)),
        ..a.store.options()?
    };
    let server = fetch::store::open(&a.to, &opts)?;
    let items = snapshots(a)?;
    let series_count = {
        let mut s: Vec<&str> = items.iter().map(|i| i.series.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    let parse = ParseOptions::default();
    for (done, item) in items.iter().enumerate() {
        let payload = payload(item.kind, &item.path, item.time_nanos, &parse)?;
        let own = labels(item.kind, &payload);
        let mut labels: Vec<(&str, &str)> = own.iter().map(|(k, v)| (*k, v.as_str())).collect();
        labels.extend([
            (server.service_label(), a.service.as_str()),
            ("instance", item.instance.as_str()),
            ("heapdrift_series", item.series.as_str()),
        ]);
        server.push(&labels, &payload.bytes).with_context(|| {
            format!(
                "{} ({done} of {} snapshots pushed before it)",
                item.path.display(),
                items.len()
            )
        })?;
    }
    eprintln!(
        "heapdrift push: {} snapshots of {series_count} series pushed to {} as service {:?}",
        items.len(),
        server.base(),
        a.service
    );
    Ok(ExitCode::SUCCESS)
}

/// The snapshots to push, oldest first within each series.
fn snapshots(a: &PushArgs) -> anyhow::Result<Vec<Item>> {
    if let [dir] = &a.inputs[..]
        && series::is_archive(dir)
    {
        return archive_snapshots(dir, a.instance.as_deref());
    }
    let instance = a.instance.clone().unwrap_or_else(|| {
        let first = &a.inputs[0];
        first
            .canonicalize()
            .unwrap_or_else(|_| first.clone())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".to_string())
    });
    let processes = series::build_files(
        &series::Files(a.inputs.clone()),
        &series::FileOptions::default(),
    )?;
    let mut items = Vec::new();
    for p in processes {
        let header = &p.built.header;
        let series = format!(
            "{}@{}",
            header.process,
            header.start_unix_nanos.div_euclid(1_000_000_000)
        );
        let present: Vec<Kind> = p.snapshots.iter().map(|s| s.kind).collect();
        let chosen = kinds_to_push(&present);
        items.extend(
            p.snapshots
                .into_iter()
                .filter(|s| chosen.contains(&s.kind))
                .map(|s| Item {
                    kind: s.kind,
                    time_nanos: s.time_nanos,
                    path: s.path,
                    instance: instance.clone(),
                    series: series.clone(),
                }),
        );
    }
    Ok(items)
}

/// An archive's snapshots: every target's series, labelled with the
/// archive's series ids and (unless given) the target's host:port.
fn archive_snapshots(dir: &Path, instance: Option<&str>) -> anyhow::Result<Vec<Item>> {
    let archive = store::Archive::open_read_only(dir)?;
    let mut items = Vec::new();
    for target in archive.targets()? {
        let instance = instance.map_or_else(|| host_port(&target.url), str::to_string);
        for s in archive.series(target.id)? {
            let snaps: Vec<_> = archive
                .snapshots(s.id, None)?
                .into_iter()
                .filter(|i| i.status == "ok")
                .collect();
            let present: Vec<Kind> = snaps.iter().map(|i| i.kind).collect();
            let chosen = kinds_to_push(&present);
            for info in snaps.into_iter().filter(|i| chosen.contains(&i.kind)) {
                items.push(Item {
                    kind: info.kind,
                    time_nanos: info.taken_at,
                    path: archive.path(&info),
                    instance: instance.clone(),
                    series: s.id.0.to_string(),
                });
            }
        }
    }
    Ok(items)
}

/// `host:port` of a target URL (the URL itself if it has no such part).
pub(crate) fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.is_empty() {
        url.to_string()
    } else {
        authority.to_string()
    }
}
