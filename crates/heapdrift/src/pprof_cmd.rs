//! `heapdrift pprof`'s wiring: grabs the sources, runs the pure pipeline
//! (`report::driver`), and routes its output: stdout, `-output`, numbered
//! files for binary formats on a terminal, and Graphviz `dot` for images.

use std::io::{IsTerminal, Write};

use anyhow::{anyhow, bail};
use profile::Profile;
use report::config::{Command, PostProcess};
use report::driver::{
    CombineOptions, Env, ReportSource, check_supported, combine_sources_with_binaries,
    generate_report, generate_report_keeping,
};

use crate::pprof_cli::PprofArgs;
use crate::sources::{self, SourceOptions};

/// What `-base`/`-diff_base` and the sources flags ask of the merge.
pub fn combine_options(a: &PprofArgs) -> CombineOptions {
    CombineOptions {
        diff_base: a.base.as_ref().is_some_and(|b| b.diff),
        normalize: a.config.normalize,
        all_frames: a.all_frames,
        comment: a.add_comment.clone().unwrap_or_default(),
        symbolize: a.symbolize.clone(),
    }
}

/// `heapdrift pprof` after flag parsing. Errors are go tool pprof's
/// messages (exit 2); diagnostics go to stderr as they happen.
pub fn run(args: PprofArgs) -> anyhow::Result<std::process::ExitCode> {
    report(args).map(|()| std::process::ExitCode::SUCCESS)
}

fn report(args: PprofArgs) -> anyhow::Result<()> {
    let mut stderr = std::io::stderr();
    for w in &args.warnings {
        writeln!(stderr, "{w}")?;
    }
    if let Some(http) = args.http.clone() {
        crate::alloc::tune_for_session();
        return serve_web(args, &http);
    }
    let Some(output) = args.output.clone() else {
        // Before decoding: the decoder's pages are the session's too.
        crate::alloc::tune_for_session();
        let p = fetch_profiles(&args, &SourceOptions::from_args(&args), &mut stderr)?;
        return crate::pprof_shell::run(p, &args);
    };
    let cmd = output.command;
    check_supported(cmd)?;
    let mut sopts = SourceOptions::from_args(&args);
    sopts.sample_filter = sample_filter(&args, cmd);
    let p = fetch_profiles(&args, &sopts, &mut stderr)?;
    emit_report(
        // `combine_sources` checked it.
        &mut ReportSource::once(p).checked(),
        cmd,
        output.arg.as_deref(),
        &args.config,
        Session::Batch,
        &mut stderr,
    )
}

/// A report run from the command line, or from the interactive shell
/// (where binary formats always go to a `profileNNN` file, as in pprof).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    Batch,
    Interactive,
}

/// Generates a report and routes it as pprof does: stdout, `-output`, a
/// numbered file for binary formats, Graphviz `dot` for images.
pub fn emit_report(
    src: &mut ReportSource,
    cmd: &'static Command,
    arg: Option<&str>,
    cfg: &report::config::Config,
    session: Session,
    stderr: &mut dyn Write,
) -> anyhow::Result<()> {
    let dot_format = match cmd.post {
        PostProcess::InvokeDot(f) => Some(f),
        PostProcess::MassageSvg => Some("svg"),
        // With -output, pprof writes what the viewer would have shown:
        // `web`/`eog` SVG, `evince` PDF, `gv` PostScript (kcachegrind's
        // callgrind text needs no Graphviz).
        PostProcess::Visualize(ext @ ("svg" | "pdf" | "ps")) => Some(ext),
        _ => None,
    };
    if dot_format.is_some() && !graphviz_available() {
        bail!(
            "heapdrift pprof: {} needs Graphviz's dot, which was not found on PATH",
            cmd.name
        );
    }

    let working_dir = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let read = |path: &str| std::fs::read(path);
    let binaries = crate::binaries::shared();
    let mut env = Env {
        stderr,
        read_file: &read,
        working_dir,
        obj: &*binaries,
    };
    let out_file = &cfg.output;
    let binary_ext = match cmd.post {
        PostProcess::AwayFromTty(ext) | PostProcess::InvokeDot(ext) => Some(ext),
        PostProcess::MassageSvg => Some("svg"),
        _ => None,
    };
    let to_temp_file = binary_ext.is_some()
        && (session == Session::Interactive || std::io::stdout().is_terminal());
    let to_viewer = matches!(cmd.post, PostProcess::Visualize(_)) && out_file.is_empty();
    if dot_format.is_none() && out_file.is_empty() && !to_temp_file && !to_viewer {
        // Straight to stdout: reports can be gigabytes (-traces, -raw).
        let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        let rpt = generate_report_keeping(src, cmd, arg, cfg, &mut env, &mut stdout)?;
        stdout.flush()?;
        if session == Session::Batch {
            // The process exits right after: freeing a big profile's
            // hundreds of thousands of allocations would only cost time.
            std::mem::forget(rpt);
        }
        return Ok(());
    }
    // Elsewhere only once the report is complete, as pprof does.
    let mut report = Vec::new();
    generate_report(src, cmd, arg, cfg, &mut env, &mut report)?;
    if let Some(f) = dot_format {
        report = invoke_dot(f, &report)?;
    }
    if !out_file.is_empty() {
        writeln!(stderr, "Generating report in {out_file}")?;
        std::fs::write(out_file, &report).map_err(profile::PathError::on("open", out_file))?;
        return Ok(());
    }
    if let PostProcess::Visualize(ext) = cmd.post {
        return open_in_viewer(cmd.name, ext, &report, session, stderr);
    }
    if let Some(ext) = binary_ext.filter(|_| to_temp_file) {
        let (path, mut f) = new_temp_file(std::path::Path::new(""), "profile", &format!(".{ext}"))?;
        writeln!(stderr, "Generating report in {}", path.display())?;
        f.write_all(&report)?;
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&report)?;
    stdout.flush()?;
    Ok(())
}

/// pprof's `fetchProfiles`: grabs sources and bases, merges them (the base
/// subtracted, or labelled for `-diff_base`), saves a fetched copy.
pub(crate) fn fetch_profiles(
    args: &PprofArgs,
    sopts: &SourceOptions,
    stderr: &mut dyn Write,
) -> anyhow::Result<Profile> {
    // fetchProfiles: sources and bases.
    let mut notes = Vec::new();
    let src = sources::grab_all(&args.sources, sopts, &mut notes);
    let bases: Vec<String> = args.base.iter().map(|b| b.source.clone()).collect();
    let base = sources::grab_all(&bases, sopts, &mut notes);
    for n in &notes {
        writeln!(stderr, "{n}")?;
    }
    // pprof prints each failed source, then "failed to fetch any source
    // profiles" (or base profiles) when none could be read.
    let mut failed = src.errors.clone();
    failed.extend(base.errors.iter().cloned());
    if src.profiles.is_empty() || (!bases.is_empty() && base.profiles.is_empty()) {
        failed.push(if src.profiles.is_empty() {
            "failed to fetch any source profiles".into()
        } else {
            "failed to fetch any base profiles".into()
        });
        bail!("{}", failed.join("\n"));
    }
    for e in &failed {
        writeln!(stderr, "{e}")?;
    }
    if src.profiles.len() != args.sources.len() {
        writeln!(
            stderr,
            "Fetched {} source profiles out of {}",
            src.profiles.len(),
            args.sources.len()
        )?;
    }
    let remote = src.remote || base.remote;
    let p = combine_sources_with_binaries(
        src.profiles,
        base.profiles,
        &combine_options(args),
        &*crate::binaries::shared(),
        stderr,
    )?;
    if remote {
        save_fetched(&p, stderr)?;
    }
    Ok(p)
}

/// `-http`: pprof's web UI over the sources, until Ctrl-C.
fn serve_web(args: PprofArgs, http: &str) -> anyhow::Result<()> {
    let mut stderr = std::io::stderr();
    let sopts = SourceOptions::from_args(&args);
    let p = fetch_profiles(&args, &sopts, &mut stderr)?;
    let source = web::pprof_ui::FixedSource {
        profile: std::sync::Arc::new(p),
        title: args.sources.join(" "),
    };
    let router = web::with_root_redirect(web::pprof_ui_router(
        std::sync::Arc::new(source),
        args.config.clone(),
    ));
    web::serve(router, http, !args.no_browser)
        .map_err(|e| anyhow!("heapdrift pprof: -http={http}: {e}"))
}

/// When the report cannot see samples whose reported value (and `-mean`
/// divisor) is zero, which ones those are, so parsing can skip them: on big
/// heap profiles most samples are freed allocations, zero in `inuse_*`.
///
/// Only for one source and no base: merging and subtracting read every
/// sample. Only for the reports built from pprof's call graph (`-top`,
/// `-text`, `-tree`, `-peek`, `-dot` and the Graphviz formats), whose
/// `newGraph` skips those samples. `-traces`, `-tags`, `-raw`, `-proto`,
/// `-topproto`, `-callgrind`, `-list` and `-comments` keep every sample.
/// The tag options are out too: their "no matches" warnings look at every
/// sample. Known difference left: the "For tag X used unit" warning cannot
/// see the samples left out (docs/pprof-compat.md).
pub fn sample_filter(a: &PprofArgs, cmd: &Command) -> Option<sources::SampleFilter> {
    use report::config::ReportFormat;
    let c = &a.config;
    let graph_report = matches!(
        cmd.format,
        ReportFormat::Text | ReportFormat::Tree | ReportFormat::Dot
    );
    let tag_options = [
        &c.tagfocus,
        &c.tagignore,
        &c.tagshow,
        &c.taghide,
        &c.tagroot,
        &c.tagleaf,
    ];
    let ok = graph_report
        && a.sources.len() == 1
        && a.base.is_none()
        && !c.normalize
        && tag_options.iter().all(|t| t.is_empty());
    ok.then(|| sources::SampleFilter {
        sample_index: c.sample_index.clone(),
        mean: c.mean,
    })
}

/// pprof saves a copy of a profile that came over HTTP.
fn save_fetched(p: &Profile, stderr: &mut dyn Write) -> anyhow::Result<()> {
    let main = p.mappings.first().map(|m| m.file.as_str()).unwrap_or("");
    let types: Vec<&str> = p.sample_types.iter().map(|t| t.r#type.as_str()).collect();
    let bytes = profile::gz::compress(&profile::proto::encode(p));
    match fetch::save_fetched(main, &types, &bytes) {
        Ok(saved) => {
            for w in &saved.warnings {
                writeln!(stderr, "{w}")?;
            }
            writeln!(stderr, "Saved profile in {}", saved.path.display())?;
        }
        Err(e) => writeln!(stderr, "Could not save profile: {e}")?,
    }
    Ok(())
}

fn graphviz_available() -> bool {
    std::process::Command::new("dot")
        .arg("-V")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// pprof's `invokeDot`: `dot -T<format>` over the DOT text. SVG is not
/// post-processed for panning as pprof's `massageSVG` does.
fn invoke_dot(format: &str, dot: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::process::Stdio;
    let mut child = std::process::Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow!("failed to execute dot. Is Graphviz installed? Error: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = dot.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child
        .wait_with_output()
        .map_err(|e| anyhow!("failed to execute dot. Is Graphviz installed? Error: {e}"))?;
    let _ = writer.join();
    if !output.status.success() {
        bail!(
            "failed to execute dot. Is Graphviz installed? Error: {}",
            output.status
        );
    }
    Ok(output.stdout)
}

/// pprof's `invokeVisualizer`: the report goes to `$TMPDIR/pprofNNN.ext`
/// and the first viewer that starts opens it (for `web`: $BROWSER, then
/// chrome, google-chrome, chromium, firefox, sensible-browser, and
/// xdg-open on a desktop). Unlike pprof, heapdrift keeps the file, and
/// when no viewer starts it says where the file is (pprof only names the
/// last program it failed to start, and deletes the file).
fn open_in_viewer(
    command: &str,
    ext: &str,
    report: &[u8],
    session: Session,
    stderr: &mut dyn Write,
) -> anyhow::Result<()> {
    let (path, mut f) = new_temp_file(&std::env::temp_dir(), "pprof", &format!(".{ext}"))?;
    f.write_all(report)
        .map_err(profile::PathError::on("write", &path))?;
    drop(f);
    for viewer in viewers(command) {
        let mut words = viewer.split(' ').filter(|w| !w.is_empty());
        let Some(program) = words.next() else {
            continue;
        };
        let started = std::process::Command::new(program)
            .args(words)
            .arg(&path)
            .stdin(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = started else { continue };
        match session {
            // The command line waits for the viewer, as pprof does.
            Session::Batch => {
                child.wait()?;
            }
            // The shell goes on; the viewer gets a second to open the file
            // (pprof's wait too: some viewers only hand it to a browser).
            Session::Interactive => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
        return Ok(());
    }
    writeln!(
        stderr,
        "heapdrift pprof: no viewer could be started for {command}; the report is in {}{}",
        path.display(),
        if command == "web" || command == "weblist" {
            " (set BROWSER to the browser to use)"
        } else {
            ""
        }
    )?;
    Ok(())
}

/// The programs pprof tries for each viewer command, in its order.
fn viewers(command: &str) -> Vec<String> {
    match command {
        "web" | "weblist" => {
            let mut v: Vec<String> = std::env::var("BROWSER")
                .ok()
                .filter(|b| !b.is_empty())
                .into_iter()
                .collect();
            v.extend(
                [
                    "chrome",
                    "google-chrome",
                    "chromium",
                    "firefox",
                    "sensible-browser",
                ]
                .map(String::from),
            );
            if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) {
                v.push("xdg-open".into());
            }
            v
        }
        "eog" => vec!["eog".into()],
        "evince" => vec!["evince".into()],
        "gv" => vec!["gv --noantialias".into()],
        "kcachegrind" => vec!["kcachegrind".into()],
        _ => Vec::new(),
    }
}

/// pprof's `newTempFile`: `<prefix>NNN<suffix>`, the first free number.
/// pprof passes an empty directory for reports kept away from a terminal,
/// so they land in the working directory.
fn new_temp_file(
    dir: &std::path::Path,
    prefix: &str,
    suffix: &str,
) -> anyhow::Result<(std::path::PathBuf, std::fs::File)> {
    for index in 1..10000 {
        let path = dir.join(format!("{prefix}{index:03}{suffix}"));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(profile::PathError::new("open", &path, e).into()),
        }
    }
    bail!("could not create file of the form {prefix}001{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_for(argv: &[&str]) -> Option<sources::SampleFilter> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let a = crate::pprof_cli::parse(&argv).unwrap_or_else(|_| panic!("{argv:?}"));
        let cmd = a.output.as_ref().unwrap().command;
        sample_filter(&a, cmd)
    }

    #[test]
    fn sample_filter_only_for_one_source_graph_reports() {
        let f = filter_for(&["-top", "a.pb.gz"]).unwrap();
        assert_eq!(f.sample_index, "");
        assert!(!f.mean);
        let f = filter_for(&["-tree", "-mean", "-sample_index=1", "a.pb.gz"]).unwrap();
        assert_eq!(f.sample_index, "1");
        assert!(f.mean);
        assert!(filter_for(&["-dot", "a.pb.gz"]).is_some());
        assert!(filter_for(&["-peek=x", "a.pb.gz"]).is_some());
        for argv in [
            &["-traces", "a.pb.gz"][..],
            &["-raw", "a.pb.gz"],
            &["-tags", "a.pb.gz"],
            &["-proto", "a.pb.gz"],
            &["-topproto", "a.pb.gz"],
            &["-callgrind", "a.pb.gz"],
            &["-list=x", "a.pb.gz"],
            &["-comments", "a.pb.gz"],
            &["-top", "a.pb.gz", "b.pb.gz"],
            &["-top", "-base=b.pb.gz", "a.pb.gz"],
            &["-top", "-diff_base=b.pb.gz", "a.pb.gz"],
            &["-top", "-tagfocus=x", "a.pb.gz"],
            &["-top", "-tagignore=x", "a.pb.gz"],
            &["-top", "-tagshow=x", "a.pb.gz"],
            &["-top", "-taghide=x", "a.pb.gz"],
            &["-top", "-tagroot=x", "a.pb.gz"],
            &["-top", "-tagleaf=x", "a.pb.gz"],
        ] {
            assert!(filter_for(argv).is_none(), "{argv:?}");
        }
    }
}
