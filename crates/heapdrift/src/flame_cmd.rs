//! `heapdrift flame`: a standalone interactive SVG flame graph (or folded
//! stacks, or the flame graph JSON) of profiles, through the same sources
//! and pipeline as `heapdrift pprof` (`report::driver` and
//! `report::driver::make_report` with `report::flame::edit_config`). With `--base`, the diff is pprof's
//! `-diff_base`.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;
use report::config::Config;
use report::driver::{CombineOptions, Env, combine_sources, make_report};
use report::flame::{self, FlameGraph, SvgOptions};

use crate::sources::{self, SourceOptions};

/// Writes a flame graph of profiles.
#[derive(Debug, Parser)]
#[command(
    name = "heapdrift flame",
    about = "Write a flame graph of profiles: a standalone interactive SVG, folded stacks or JSON",
    long_about = "Write a flame graph of profiles: a standalone interactive SVG (click to zoom, \
        Ctrl-F to search), Brendan Gregg's folded stacks (--folded) or heapdrift's flame graph \
        JSON (--json). Sources are what `heapdrift pprof` reads (files or URLs; several are \
        merged). With --base, the graph compares: frames are coloured red where they grew, blue \
        where they shrank (pprof's -diff_base).\n\n\
        Exit status: 0 done, 2 bad usage or unreadable input. See docs/flame.md."
)]
pub struct FlameArgs {
    /// Profile files or URLs; several are merged.
    #[arg(required = true, value_name = "PROFILE")]
    pub sources: Vec<String>,
    /// Compare against this profile (repeat to merge several).
    #[arg(long, value_name = "PROFILE")]
    pub base: Vec<String>,
    /// Output file (default: stdout).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<String>,
    /// Write folded stacks (`a;b;c value`; `a;b;c before after` with --base).
    #[arg(long, conflicts_with = "json")]
    pub folded: bool,
    /// Write the flame graph JSON (docs/flame.md).
    #[arg(long)]
    pub json: bool,
    /// Sample value to show: index or name (inuse_space, alloc_objects…).
    #[arg(long = "sample_index", alias = "sample-index", value_name = "N|NAME")]
    pub sample_index: Option<String>,
    /// Keep only samples with a frame matching this regexp.
    #[arg(long, value_name = "RE")]
    pub focus: Option<String>,
    /// Drop samples with a frame matching this regexp.
    #[arg(long, value_name = "RE")]
    pub ignore: Option<String>,
    /// Remove frames matching this regexp.
    #[arg(long, value_name = "RE")]
    pub hide: Option<String>,
    /// Keep only frames matching this regexp.
    #[arg(long, value_name = "RE")]
    pub show: Option<String>,
    /// Start stacks at the outermost frame matching this regexp.
    #[arg(long = "show_from", alias = "show-from", value_name = "RE")]
    pub show_from: Option<String>,
    /// Drop frames at and below the frame matching this regexp.
    #[arg(long = "prune_from", alias = "prune-from", value_name = "RE")]
    pub prune_from: Option<String>,
    /// Keep samples whose labels match ([key=]regexp or [key=]min:max).
    #[arg(long, value_name = "FILTER")]
    pub tagfocus: Option<String>,
    /// Drop samples whose labels match.
    #[arg(long, value_name = "FILTER")]
    pub tagignore: Option<String>,
    /// Frame granularity: functions, filefunctions (default), files, lines
    /// or addresses.
    #[arg(long, value_name = "G")]
    pub granularity: Option<String>,
    /// Attribute inlined functions to their callers.
    #[arg(long)]
    pub noinlines: bool,
    /// Title of the SVG.
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Width of the SVG in pixels.
    #[arg(long, default_value_t = 1200, value_name = "PX")]
    pub width: u32,
    /// Leave out frames narrower than this many pixels at full view (SVG and
    /// JSON; 0 keeps every frame).
    #[arg(long = "min-width", default_value_t = 0.1, value_name = "PX")]
    pub min_width: f64,
}

/// The pprof configuration the options ask for.
fn config(a: &FlameArgs) -> Config {
    let mut c = Config::default();
    let set = |dst: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            dst.clone_from(v);
        }
    };
    set(&mut c.sample_index, &a.sample_index);
    set(&mut c.focus, &a.focus);
    set(&mut c.ignore, &a.ignore);
    set(&mut c.hide, &a.hide);
    set(&mut c.show, &a.show);
    set(&mut c.show_from, &a.show_from);
    set(&mut c.prune_from, &a.prune_from);
    set(&mut c.tagfocus, &a.tagfocus);
    set(&mut c.tagignore, &a.tagignore);
    set(&mut c.granularity, &a.granularity);
    c.noinlines = a.noinlines;
    c
}

/// Grabs, merges, runs the pipeline, writes.
pub fn run(a: &FlameArgs) -> anyhow::Result<ExitCode> {
    if let Some(g) = &a.granularity
        && !["functions", "filefunctions", "files", "lines", "addresses"].contains(&g.as_str())
    {
        bail!("--granularity must be functions, filefunctions, files, lines or addresses");
    }
    if a.width < 200 {
        bail!("--width must be at least 200");
    }
    if a.min_width.is_nan() || a.min_width < 0.0 {
        bail!("--min-width must be a number of pixels");
    }
    let mut stderr = io::stderr();
    let mut sopts = SourceOptions {
        max_bytes: sources::max_bytes_from_env(),
        ..Default::default()
    };
    // As for `heapdrift pprof -top`: one source and no base means samples
    // whose shown value is zero can be skipped while decoding; they add
    // nothing to a flame graph (on big heap profiles most are freed
    // allocations). Tag filters' "matched no samples" warnings look at
    // every sample, so they keep them all.
    if a.sources.len() == 1 && a.base.is_empty() && a.tagfocus.is_none() && a.tagignore.is_none() {
        sopts.sample_filter = Some(sources::SampleFilter {
            sample_index: a.sample_index.clone().unwrap_or_default(),
            mean: false,
        });
    }
    let mut notes = Vec::new();
    let src = sources::grab_all(&a.sources, &sopts, &mut notes);
    sopts.sample_filter = None;
    let base = sources::grab_all(&a.base, &sopts, &mut notes);
    for n in &notes {
        writeln!(stderr, "{n}")?;
    }
    // Every source must load: a flame graph silently missing a profile
    // would mislead.
    if let Some(e) = src.errors.iter().chain(&base.errors).next() {
        bail!("{e}");
    }
    let copts = CombineOptions {
        diff_base: !a.base.is_empty(),
        ..Default::default()
    };
    let p = combine_sources(src.profiles, base.profiles, &copts, &mut stderr)?;
    let mut env = Env::without_sources(&mut stderr);
    let rpt = make_report(
        p,
        flame::command(),
        None,
        &config(a),
        &flame::edit_config,
        &mut env,
    )?;
    let g = FlameGraph::from_report(&rpt);
    // The process exits right after: freeing the profile costs only time.
    std::mem::forget(rpt);

    let o = SvgOptions {
        title: a.title.clone().unwrap_or_default(),
        width: a.width,
        min_width_px: a.min_width,
        ..Default::default()
    };
    let write = |w: &mut dyn Write| -> io::Result<()> {
        if a.folded {
            flame::write_folded(&g, w)
        } else if a.json {
            // The same frames the SVG would draw.
            flame::write_json(&g.prune(o.min_fraction()), w)
        } else {
            flame::write_svg(&g, &o, w)
        }
    };
    match &a.output {
        Some(path) if path != "-" => {
            let f = std::fs::File::create(path).map_err(profile::PathError::on("open", path))?;
            let mut w = io::BufWriter::with_capacity(1 << 16, f);
            write(&mut w)
                .and_then(|()| w.flush())
                .map_err(profile::PathError::on("write", path))?;
        }
        _ => {
            let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            write(&mut w)?;
            w.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
