//! `heapdrift hunt`: options, `drift::hunt`, and the report on stdout. Glue
//! only: the input rules and the series building live in `store::input`,
//! the analysis and the rendering in the `drift` crate.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use drift::goroutine::GoroutineOptions;
use drift::render::{JsonReport, RenderOptions};
use drift::{HuntOptions, Verdict};
use profile::ParseOptions;
use store::input::{self, Built, Files};

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
    let loaded = input::load(&Files(a.inputs.clone()), &ParseOptions::default())?;
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
    let mut built = Built::from_loaded(&loaded, &a.user_prefix)?;
    if built.header.process.is_empty() {
        built.header.process = a
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ");
    }
    let report = built.hunt(&HuntOptions {
        goroutines: GoroutineOptions::default(),
        ..Default::default()
    });
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
