//! `heapdrift hunt`: options, `drift::hunt`, and the report on stdout. Glue
//! only: the input rules and the series building live in the `series`
//! crate (and `store::read` for archives), the analysis and the rendering
//! in the `drift` crate.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use drift::goroutine::GoroutineOptions;
use drift::render::RenderOptions;
use drift::{HuntOptions, Verdict};
use profile::ParseOptions;
use series::json::{Envelope, HuntReport, SCHEMA};
use series::{Built, FileOptions, Files};
use store::read::{self, ArchiveOptions, SeriesPick};

/// Finds leaks in a series of heap, goroutine and goroutineleak profiles of
/// one Go process.
#[derive(Debug, Parser)]
#[command(
    name = "heapdrift hunt",
    about = "Find memory and goroutine leaks in a series of profiles of one Go process",
    long_about = "Find memory and goroutine leaks in a series of profiles of one Go process.\n\n\
        Reads heap (proto or debug=1 text with its MemStats footer), goroutine (proto, debug=1 or a \
        debug=2 dump) and goroutineleak profiles, in any mix; directories are read recursively. \
        Snapshots are ordered by the profile's own time stamp, else a UTC time in the file name \
        (20261126T170038.957Z, 2026-11-26T17:00:38Z or a Unix time), else the file's mtime.\n\n\
        An archive made by `heapdrift watch` (a directory with heapdrift.sqlite) is read through its \
        index: by default each target's latest series (process lifetime), each reported on its own; \
        --target and --series choose.\n\n\
        Exit status: 0 done (no finding at or above --fail-on), 1 a finding at or above --fail-on, \
        2 bad usage or unreadable input."
)]
pub struct HuntArgs {
    /// Profile files or directories of them, or one archive made by
    /// `heapdrift watch`.
    #[arg(required_unless_present = "from", value_name = "ARCHIVE_OR_FILES")]
    pub inputs: Vec<PathBuf>,
    /// Read the series from a profile store instead of files: a Grafana
    /// Pyroscope server, pyroscope://HOST:PORT (plain HTTP), http://HOST or
    /// https://HOST. Every instance of every service is reported on its own
    /// (docs/fleet.md).
    #[arg(long, value_name = "URL", conflicts_with_all = ["inputs", "target", "series", "from_files"])]
    pub from: Option<String>,
    /// --from: the services to read (repeatable; default every service
    /// with Go heap or goroutine profiles).
    #[arg(long, value_name = "NAME", requires = "from")]
    pub service: Vec<String>,
    /// --from: an extra label matcher, e.g. namespace="prod" (repeatable).
    #[arg(long = "selector", value_name = "MATCHER", requires = "from")]
    pub matchers: Vec<String>,
    /// --from: the window, back from --to-time (Go-style duration).
    #[arg(long, value_name = "DURATION", value_parser = crate::watch_cmd::parse_duration, requires = "from", conflicts_with = "from_time")]
    pub since: Option<std::time::Duration>,
    /// --from: the window's start, RFC 3339 in UTC (2026-12-03T10:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_utc_ms, requires = "from")]
    pub from_time: Option<i64>,
    /// --from: the window's end (default now), RFC 3339 in UTC.
    #[arg(long, value_name = "TIME", value_parser = parse_utc_ms, requires = "from")]
    pub to_time: Option<i64>,
    /// --from: one snapshot per step (the last in each), e.g. 1m; default
    /// every snapshot the store holds.
    #[arg(long, value_name = "DURATION", value_parser = crate::watch_cmd::parse_duration, requires = "from")]
    pub step: Option<std::time::Duration>,
    /// --from: the label that tells a service's instances apart.
    #[arg(long, value_name = "LABEL", default_value = "instance")]
    pub group_by: String,
    /// --from: read only the K instances of each service whose in-use heap
    /// or goroutine count grows most (a triage on the stored totals).
    #[arg(long, value_name = "K", requires = "from")]
    pub replicas: Option<usize>,
    /// --from: read only shard I of N (0-based), split by a fixed hash of
    /// service and instance, so that N workers cover the fleet exactly
    /// once.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, requires = "from")]
    pub shard: Option<(u32, u32)>,
    /// --from: instances read at the same time.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "from")]
    pub jobs: usize,
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// Write the findings as JSON (schema: docs/hunt-json.md).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a finding has this verdict or a worse one.
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOn>,
    /// Leave out findings with a lower confidence (0..1).
    #[arg(long, default_value_t = 0.0, value_name = "X", value_parser = parse_confidence)]
    pub min_confidence: f64,
    /// Package path prefixes of your own code (default: every non-standard
    /// package); comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "PREFIX")]
    pub user_prefix: Vec<String>,
    /// Leave the full stacks out of the text report.
    #[arg(long)]
    pub no_stacks: bool,
    /// Archive only: the targets to read (an exact URL, else a substring
    /// of the URL); default every target.
    #[arg(long, value_name = "URL_OR_SUBSTRING")]
    pub target: Option<String>,
    /// Archive only: which series (process lifetime) of each target: a
    /// series id, `latest` (default) or `all` (each reported on its own).
    #[arg(long, value_name = "N|latest|all")]
    pub series: Option<String>,
    /// Archive only: decode the heap profiles' files instead of reading
    /// the heap series from the archive's index (same result, slower).
    #[arg(long)]
    pub from_files: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Leak,
    Suspect,
}

/// `I/N` with 0 <= I < N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?}: expected I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Unix milliseconds as RFC 3339 in UTC.
fn utc_ms(ms: i64) -> String {
    watch::view::utc(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64))
}

/// RFC 3339 in UTC, to Unix milliseconds.
fn parse_utc_ms(s: &str) -> Result<i64, String> {
    match series::time_from_name(s) {
        Some(ns) if s.ends_with('Z') && s.len() >= 20 => Ok(ns.div_euclid(1_000_000)),
        _ => Err(format!(
            "{s:?} is not a time in RFC 3339 in UTC (e.g. 2026-12-03T10:00:00Z)"
        )),
    }
}

fn parse_confidence(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not within 0..1"))
    }
}

/// `heapdrift hunt`: exit status 1 when `--fail-on` trips on any report.
pub fn run(a: &HuntArgs) -> anyhow::Result<ExitCode> {
    crate::alloc::tune_for_many_profiles();
    Ok(if hunt_inputs(a)? {
        ExitCode::from(EXIT_FAIL_ON)
    } else {
        ExitCode::SUCCESS
    })
}

/// Exit status when a finding is at or above `--fail-on`.
pub const EXIT_FAIL_ON: u8 = 1;

/// The analysis and the report; `Ok(true)` when `--fail-on` trips.
fn hunt_inputs(a: &HuntArgs) -> anyhow::Result<bool> {
    if let Some(url) = &a.from {
        return run_fleet(a, url);
    }
    let archives = a.inputs.iter().filter(|p| series::is_archive(p)).count();
    if archives > 0 {
        if a.inputs.len() > 1 {
            anyhow::bail!(
                "an archive ({}) must be the only input",
                a.inputs
                    .iter()
                    .find(|p| series::is_archive(p))
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
        }
        return run_archive(a, &a.inputs[0]);
    }
    if a.target.is_some() || a.series.is_some() || a.from_files {
        anyhow::bail!(
            "--target, --series and --from-files apply to an archive made by `heapdrift watch`"
        );
    }
    let inputs = a
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let processes = series::build_files(
        &Files(a.inputs.clone()),
        &FileOptions {
            build: series::BuildOptions {
                user_prefixes: a.user_prefix.clone(),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .map_err(|e| match e {
        series::SeriesError::NoSnapshots(why) => {
            anyhow::anyhow!("{inputs}: no profiles hunt reads ({why})")
        }
        e => e.into(),
    })?;
    let reports: Vec<(Built, Vec<drift::Finding>)> = processes
        .into_iter()
        .map(|p| {
            let mut built = p.built;
            if built.header.process.is_empty() {
                built.header.process = inputs.clone();
            }
            let findings = analyse(&built, a);
            (built, findings)
        })
        .collect();
    let mut out = io::stdout().lock();
    if a.json {
        let docs: Vec<HuntReport<'_>> = reports
            .iter()
            .map(|(built, findings)| HuntReport::new(&built.header, findings.as_slice()))
            .collect();
        if let [one] = docs.as_slice() {
            serde_json::to_writer_pretty(&mut out, one)
        } else {
            serde_json::to_writer_pretty(
                &mut out,
                &Envelope {
                    schema: SCHEMA,
                    archive: None,
                    inputs: Some(a.inputs.iter().map(|p| p.display().to_string()).collect()),
                    store: None,
                    services: Vec::new(),
                    reports: docs,
                },
            )
        }
        .context("writing JSON")?;
        writeln!(out)?;
    } else {
        render_reports(&mut out, reports.iter().map(|(b, f)| (b, f.as_slice())), a)?;
    }
    out.flush()?;
    Ok(reports.iter().any(|(_, f)| trips(f, a)))
}

/// `hunt ARCHIVE`: each selected series (by default every target's latest)
/// is analysed and reported on its own; a restart is a new series, never
/// mixed with the old one.
fn run_archive(a: &HuntArgs, dir: &std::path::Path) -> anyhow::Result<bool> {
    let archive = store::Archive::open_read_only(dir)?;
    let pick = match a.series.as_deref() {
        None | Some("latest") => SeriesPick::Latest,
        Some("all") => SeriesPick::All,
        Some(n) => SeriesPick::Id(n.parse().with_context(|| {
            format!("--series {n:?}: expected a series id (a number), \"latest\" or \"all\"")
        })?),
    };
    let selected = read::select_series(&archive, a.target.as_deref(), pick)?;
    let opts = ArchiveOptions {
        user_prefixes: a.user_prefix.clone(),
        from_files: a.from_files,
        parse: ParseOptions::default(),
    };
    let mut reports = Vec::with_capacity(selected.len());
    for sel in &selected {
        let built = read::build_series(&archive, sel, &opts)?;
        let findings = analyse(&built, a);
        reports.push((sel, built, findings));
    }
    let mut out = io::stdout().lock();
    if a.json {
        let docs: Vec<HuntReport<'_>> = reports
            .iter()
            .map(|(sel, built, findings)| {
                let mut r = HuntReport::new(&built.header, findings.as_slice());
                r.archive = Some(sel.json_ref(dir));
                r
            })
            .collect();
        if let [one] = docs.as_slice() {
            serde_json::to_writer_pretty(&mut out, one)
        } else {
            serde_json::to_writer_pretty(
                &mut out,
                &Envelope {
                    schema: SCHEMA,
                    archive: Some(dir.display().to_string()),
                    inputs: None,
                    store: None,
                    services: Vec::new(),
                    reports: docs,
                },
            )
        }
        .context("writing JSON")?;
        writeln!(out)?;
    } else {
        render_reports(
            &mut out,
            reports.iter().map(|(_, b, f)| (b, f.as_slice())),
            a,
        )?;
    }
    out.flush()?;
    Ok(reports.iter().any(|(_, _, f)| trips(f, a)))
}

/// `hunt --from STORE`: every chosen instance of every service, each
/// analysed and reported on its own.
fn run_fleet(a: &HuntArgs, url: &str) -> anyhow::Result<bool> {
    let server = fetch::pyroscope::Server::new(url, &a.store.options()?)?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let end_ms = a.to_time.unwrap_or(now_ms);
    let start_ms = a.from_time.unwrap_or_else(|| {
        end_ms
            - a.since
                .unwrap_or(std::time::Duration::from_secs(7200))
                .as_millis() as i64
    });
    if start_ms >= end_ms {
        anyhow::bail!("--from-time must be before --to-time");
    }
    let q = series::fleet::FleetQuery {
        services: a.service.clone(),
        matchers: a.matchers.clone(),
        start_ms,
        end_ms,
        step_ms: a.step.map(|d| d.as_millis() as i64),
        group_by: a.group_by.clone(),
        replicas: a.replicas,
        shard: a.shard,
    };
    let started = std::time::Instant::now();
    let plans = series::fleet::plan(&server, &q)?;
    if plans.is_empty() {
        anyhow::bail!(
            "{url}: no service with Go heap or goroutine profiles between {} and {} (UTC){}",
            utc_ms(start_ms),
            utc_ms(end_ms),
            if a.service.is_empty() {
                String::new()
            } else {
                format!(" named {}", a.service.join(", "))
            }
        );
    }
    // Instances are read side by side: each is a few hundred small
    // queries whose time is the server's, not ours.
    let work: Vec<(&series::fleet::ServicePlan, &series::fleet::InstancePlan)> = plans
        .iter()
        .flat_map(|p| p.instances.iter().map(move |i| (p, i)))
        .collect();
    type Read = (series::json::FleetRef, Built, Vec<drift::Finding>);
    let results: Vec<std::sync::Mutex<Option<anyhow::Result<Read>>>> =
        work.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..a.jobs.clamp(1, work.len().max(1)) {
            scope.spawn(|| {
                use std::sync::atomic::Ordering::Relaxed;
                while !failed.load(Relaxed) {
                    let k = next.fetch_add(1, Relaxed);
                    let Some(&(plan, inst)) = work.get(k) else {
                        break;
                    };
                    let read = read_instance(a, &server, &q, plan, inst);
                    failed.fetch_or(read.is_err(), Relaxed);
                    *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(read);
                }
            });
        }
    });
    // In order; the first failure (every failure has its result) is the
    // error, and instances not read after it are not missed silently.
    let mut reports = Vec::with_capacity(work.len());
    for r in results {
        if let Some(read) = r.into_inner().unwrap_or_else(|e| e.into_inner()) {
            reports.push(read?);
        }
    }
    let (requests, bytes) = server.traffic();
    eprintln!(
        "heapdrift hunt: {} instance(s) of {} service(s) read from {} in {:.1} s: {requests} queries, {:.1} MB",
        reports.len(),
        plans.len(),
        server.base(),
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );
    if reports.is_empty() {
        // Only a shard can be empty: plans without instances were bailed
        // on above.
        eprintln!(
            "heapdrift hunt: no instance of the {} service(s) read falls in shard {}",
            plans.len(),
            a.shard.map(|(i, n)| format!("{i}/{n}")).unwrap_or_default()
        );
    }
    let rankings: Vec<series::json::ServiceRanking> = plans
        .iter()
        .map(|plan| {
            let of_service: Vec<(&str, &[drift::Finding])> = reports
                .iter()
                .filter(|(f, _, _)| f.service == plan.service)
                .map(|(f, _, findings)| (f.instance.as_str(), findings.as_slice()))
                .collect();
            series::json::ServiceRanking {
                service: plan.service.clone(),
                instances_read: of_service.len(),
                instances_left_out: plan.left_out.clone(),
                sites: drift::fleet::rank(&of_service),
            }
        })
        .filter(|r| r.instances_read > 0)
        .collect();
    let mut out = io::stdout().lock();
    if a.json {
        let docs: Vec<HuntReport<'_>> = reports
            .iter()
            .map(|(fleet, built, findings)| {
                let mut r = HuntReport::new(&built.header, findings.as_slice());
                r.fleet = Some(fleet.clone());
                r
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &Envelope {
                schema: SCHEMA,
                archive: None,
                inputs: None,
                store: Some(server.base().to_string()),
                services: rankings,
                reports: docs,
            },
        )
        .context("writing JSON")?;
        writeln!(out)?;
    } else {
        // The fleet's view first, then each instance's own report.
        for r in &rankings {
            drift::fleet::render_text(
                &mut out,
                &r.service,
                r.instances_read,
                r.instances_left_out.len(),
                &r.sites,
            )?;
            writeln!(out)?;
        }
        render_reports(
            &mut out,
            reports.iter().map(|(_, b, f)| (b, f.as_slice())),
            a,
        )?;
    }
    out.flush()?;
    Ok(reports.iter().any(|(_, _, f)| trips(f, a)))
}

/// One instance of a fleet: its series, its findings, where it is.
fn read_instance(
    a: &HuntArgs,
    server: &fetch::pyroscope::Server,
    q: &series::fleet::FleetQuery,
    plan: &series::fleet::ServicePlan,
    inst: &series::fleet::InstancePlan,
) -> anyhow::Result<(series::json::FleetRef, Built, Vec<drift::Finding>)> {
    let mut built = series::fleet::build_instance(
        server,
        q,
        &plan.service,
        inst,
        series::BuildOptions {
            user_prefixes: a.user_prefix.clone(),
            ..Default::default()
        },
    )?;
    if !plan.left_out.is_empty() {
        built.header.notes.push(format!(
            "{} of {} instances of {} read (--replicas); left out: {}",
            plan.instances.len(),
            plan.instances.len() + plan.left_out.len(),
            plan.service,
            plan.left_out.join(", ")
        ));
    }
    let findings = analyse(&built, a);
    let fleet = series::json::FleetRef {
        store: server.base().to_string(),
        service: plan.service.clone(),
        group_by: a.group_by.clone(),
        instance: inst.group.clone(),
    };
    Ok((fleet, built, findings))
}

fn analyse(built: &Built, a: &HuntArgs) -> Vec<drift::Finding> {
    let report = built.hunt(&HuntOptions {
        goroutines: GoroutineOptions::default(),
        ..Default::default()
    });
    drift::render::filter(&report, a.min_confidence)
}

/// The text reports, a blank line between them.
fn render_reports<'r>(
    out: &mut impl Write,
    reports: impl Iterator<Item = (&'r Built, &'r [drift::Finding])>,
    a: &HuntArgs,
) -> io::Result<()> {
    for (i, (built, findings)) in reports.enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        render_text(out, built, findings, a)?;
    }
    Ok(())
}

fn render_text(
    out: &mut impl Write,
    built: &Built,
    findings: &[drift::Finding],
    a: &HuntArgs,
) -> io::Result<()> {
    let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    drift::render::render_text(
        out,
        &built.header,
        findings,
        &RenderOptions {
            color,
            no_stacks: a.no_stacks,
        },
    )
}

/// Whether `--fail-on` trips on these findings.
fn trips(findings: &[drift::Finding], a: &HuntArgs) -> bool {
    let threshold = match a.fail_on {
        None => return false,
        Some(FailOn::Leak) => Verdict::Leak,
        Some(FailOn::Suspect) => Verdict::Suspect,
    };
    findings.iter().any(|f| f.verdict >= threshold)
}
