//! `heapdrift hunt`: options, the series built from the loaded snapshots,
//! `drift::hunt`, and the report on stdout. Glue only: input rules live in
//! `hunt_input`, the analysis and the rendering in the `drift` crate.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use drift::goroutine::{GoroutineOptions, GoroutineSeriesBuilder, GroupOptions};
use drift::memory::MemPoint;
use drift::render::{Header, JsonReport, RenderOptions};
use drift::series::{HeapSeriesBuilder, SeriesOptions};
use drift::{HuntOptions, Inputs, Verdict};
use profile::{ParseOptions, SourceFormat};

use crate::hunt_input::{self, Files, Snapshot, SnapshotKind};

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
        Exit status: 0 done (no finding at or above --fail-on), 1 a finding at or above --fail-on, \
        2 bad usage or unreadable input."
)]
pub struct HuntArgs {
    /// Profile files or directories of them.
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    pub inputs: Vec<PathBuf>,
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

/// Runs `heapdrift hunt ARGS` and returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let argv = std::iter::once("heapdrift hunt".to_string()).chain(args.iter().cloned());
    let a = match HuntArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match run(&a) {
        Ok(failed) => i32::from(failed),
        Err(e) if crate::app::is_broken_pipe(&e) => 0,
        Err(e) => {
            eprintln!("heapdrift hunt: {e:#}");
            2
        }
    }
}

/// The analysis and the report; `Ok(true)` when `--fail-on` trips.
pub fn run(a: &HuntArgs) -> anyhow::Result<bool> {
    let loaded = hunt_input::load(&Files(a.inputs.clone()), &ParseOptions::default())?;
    if loaded.snapshots.is_empty() {
        anyhow::bail!(
            "{}: no profiles found",
            a.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut built = build(&loaded.snapshots, &a.user_prefix)?;
    if !loaded.duplicates.is_empty() {
        built.header.notes.push(format!(
            "{} byte-identical file{} left out (first: {})",
            loaded.duplicates.len(),
            if loaded.duplicates.len() == 1 {
                ""
            } else {
                "s"
            },
            loaded.duplicates[0].display()
        ));
    }
    if built.header.process.is_empty() {
        built.header.process = a
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ");
    }
    let report = drift::hunt(
        &Inputs {
            heap: built.heap.as_ref(),
            goroutines: built.goroutines.as_ref(),
            memory: &built.memory,
            memory_breaks: &built.memory_breaks,
        },
        &HuntOptions {
            goroutines: GoroutineOptions::default(),
            ..Default::default()
        },
    );
    let findings = drift::render::filter(&report, a.min_confidence);
    let mut out = io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &JsonReport::new(&built.header, &findings))
            .context("writing JSON")?;
        writeln!(out)?;
    } else {
        let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        drift::render::render_text(
            &mut out,
            &built.header,
            &findings,
            &RenderOptions {
                color,
                no_stacks: a.no_stacks,
            },
        )?;
    }
    out.flush()?;
    let threshold = match a.fail_on {
        None => return Ok(false),
        Some(FailOn::Leak) => Verdict::Leak,
        Some(FailOn::Suspect) => Verdict::Suspect,
    };
    Ok(findings.iter().any(|f| f.verdict >= threshold))
}

/// The series `drift::hunt` reads, and the header that describes them.
pub struct Built {
    pub heap: Option<drift::series::HeapSeries>,
    pub goroutines: Option<drift::goroutine::GoroutineSeries>,
    pub memory: Vec<MemPoint>,
    pub memory_breaks: Vec<usize>,
    pub header: Header,
}

/// Builds the series. Heap debug=1 texts and heap protos describe the same
/// heap: when both are given, the more numerous format (protos on a tie)
/// makes the heap series and the texts contribute only their MemStats.
/// Likewise goroutine dumps (debug=2) and goroutine profiles (proto,
/// debug=1) group goroutines slightly differently, so only the more
/// numerous format is used (dumps on a tie: they carry wait times and
/// `created by` call sites).
pub fn build(snaps: &[Snapshot], user_prefixes: &[String]) -> anyhow::Result<Built> {
    let mut header = Header::default();
    let heap_text = |s: &Snapshot| s.format != SourceFormat::Proto;
    let dump = |s: &Snapshot| s.format == SourceFormat::GoroutineDump;
    let count = |k: SnapshotKind, f: &dyn Fn(&Snapshot) -> bool| {
        snaps.iter().filter(|s| s.kind == k && f(s)).count()
    };
    let (texts, protos) = (
        count(SnapshotKind::Heap, &heap_text),
        count(SnapshotKind::Heap, &|s| !heap_text(s)),
    );
    let heap_use_text = texts > protos;
    let (dumps, gprofs) = (
        count(SnapshotKind::Goroutine, &dump),
        count(SnapshotKind::Goroutine, &|s| !dump(s)),
    );
    let use_dumps = dumps >= gprofs;
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    if texts > 0 && protos > 0 {
        header.notes.push(if heap_use_text {
            format!(
                "heap series from {}; {} left out (their MemStats are used)",
                n(texts, "debug=1 text", "debug=1 texts"),
                n(protos, "proto", "protos")
            )
        } else {
            format!(
                "heap series from {}; {} used for MemStats only",
                n(protos, "proto", "protos"),
                n(texts, "debug=1 text", "debug=1 texts")
            )
        });
    }
    if dumps > 0 && gprofs > 0 {
        let (used, unused) = if use_dumps {
            (
                n(dumps, "debug=2 dump", "debug=2 dumps"),
                n(gprofs, "goroutine profile", "goroutine profiles"),
            )
        } else {
            (
                n(gprofs, "goroutine profile", "goroutine profiles"),
                n(dumps, "debug=2 dump", "debug=2 dumps"),
            )
        };
        header.notes.push(format!(
            "goroutine series from {used}; {unused} left out (the formats group goroutines differently)"
        ));
    }

    let mut heap = HeapSeriesBuilder::new(SeriesOptions {
        user_prefixes: user_prefixes.to_vec(),
        ..Default::default()
    });
    let mut gor = GoroutineSeriesBuilder::new(GroupOptions {
        user_prefixes: user_prefixes.to_vec(),
    });
    let mut memory: Vec<MemPoint> = Vec::new();
    let mut memory_breaks = Vec::new();
    let (mut n_heap, mut n_gor, mut n_leak) = (0usize, 0usize, 0usize);
    let mut heap_build: Option<String> = None;
    let mut gor_build: Option<String> = None;
    let mut times: Vec<i64> = Vec::new();
    let mut restarts = 0usize;

    for s in snaps {
        let name = || s.path.display().to_string();
        if let Some(m) = &s.memstats {
            if memory
                .last()
                .is_some_and(|p| m.total_alloc < p.stats.total_alloc)
            {
                memory_breaks.push(memory.len());
            }
            memory.push(MemPoint {
                time_nanos: s.time_nanos,
                stats: m.clone(),
                rss: None,
            });
            times.push(s.time_nanos);
        }
        let main = s.profile.mappings.first();
        if header.process.is_empty()
            && let Some(m) = main
            && !m.file.is_empty()
        {
            header.process = m
                .file
                .rsplit('/')
                .next()
                .unwrap_or(m.file.as_str())
                .to_string();
            header.build_id = m.build_id.clone();
        }
        let build_id = main.map(|m| m.build_id.clone()).filter(|b| !b.is_empty());
        match s.kind {
            SnapshotKind::Heap if heap_text(s) == heap_use_text => {
                if restarted(&mut heap_build, &build_id) {
                    heap.mark_restart();
                    restarts += 1;
                }
                heap.push_at(&s.profile, s.time_nanos).with_context(name)?;
                n_heap += 1;
                times.push(s.time_nanos);
            }
            SnapshotKind::Goroutine if dump(s) == use_dumps => {
                if restarted(&mut gor_build, &build_id) {
                    gor.mark_restart();
                }
                match &s.goroutines {
                    Some(g) if use_dumps => gor.push_dump(g, s.time_nanos),
                    _ => gor.push_at(&s.profile, s.time_nanos),
                }
                .with_context(name)?;
                n_gor += 1;
                times.push(s.time_nanos);
            }
            SnapshotKind::GoroutineLeak => {
                gor.push_leak_profile(&s.profile);
                n_leak += 1;
            }
            _ => {}
        }
    }
    if restarts > 0 {
        header.notes.push(format!(
            "the main binary's build id changed {restarts} time{}: a new series starts at each restart",
            if restarts == 1 { "" } else { "s" }
        ));
    }
    for (k, n) in [
        ("heap", n_heap),
        ("goroutine", n_gor),
        ("goroutineleak", n_leak),
        ("memstats", memory.len()),
    ] {
        if n > 0 {
            header.snapshots.push((k.to_string(), n));
        }
    }
    header.start_unix_nanos = times.iter().copied().min().unwrap_or(0);
    header.end_unix_nanos = times.iter().copied().max().unwrap_or(0);
    let heap = (n_heap > 0).then(|| heap.finish());
    let goroutines = (n_gor > 0 || n_leak > 0).then(|| gor.finish());
    header.heap_sites = heap.as_ref().map_or(0, |h| h.sites.len());
    header.goroutine_groups = goroutines.as_ref().map_or(0, |g| g.groups.len());
    Ok(Built {
        heap,
        goroutines,
        memory,
        memory_breaks,
        header,
    })
}

/// Whether `now` is another build than the last one seen (profiles without
/// a build id say nothing).
fn restarted(last: &mut Option<String>, now: &Option<String>) -> bool {
    let Some(now) = now else { return false };
    let changed = last.as_ref().is_some_and(|l| l != now);
    *last = Some(now.clone());
    changed
}
