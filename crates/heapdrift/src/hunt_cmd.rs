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
    /// https://HOST, or a Parca server, parca://HOST:PORT (plain HTTP) or
    /// parca+https://HOST. Every instance of every service is reported on
    /// its own (docs/fleet.md).
    #[arg(long, value_name = "URL", conflicts_with_all = ["inputs", "target", "series", "from_files"])]
    pub from: Option<String>,
    #[command(flatten)]
    pub fleet: crate::store_args::FleetArgs,
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
    let server = fetch::store::open(url, &a.store.options()?)?;
    let server = &*server;
    let q = a.fleet.query()?;
    let started = std::time::Instant::now();
    let plans = series::fleet::plan(server, &q)?;
    if plans.is_empty() {
        anyhow::bail!("{url}: {}", a.fleet.nothing_found(&q));
    }
    let opts = series::BuildOptions {
        user_prefixes: a.user_prefix.clone(),
        ..Default::default()
    };
    let reports: Vec<(series::json::FleetRef, Built, Vec<drift::Finding>)> =
        series::fleet::read_fleet(server, &q, &plans, &opts, a.fleet.jobs)?
            .into_iter()
            .map(|r| {
                let findings = analyse(&r.built, a);
                let fleet = series::json::FleetRef {
                    store: server.base().to_string(),
                    service: r.service,
                    group_by: q.group_by.clone(),
                    instance: r.instance.group,
                };
                (fleet, r.built, findings)
            })
            .collect();
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
            q.shard.map(|(i, n)| format!("{i}/{n}")).unwrap_or_default()
        );
    }
    let found: Vec<(&str, &str, &[drift::Finding])> = reports
        .iter()
        .map(|(f, _, findings)| (f.service.as_str(), f.instance.as_str(), findings.as_slice()))
        .collect();
    let rankings = series::fleet::rank_services(&plans, &found);
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
