//! Profile sources for `heapdrift pprof`: turns the source arguments into
//! parsed profiles, as pprof's `grabProfile` does (an existing path is a
//! file, anything else may be a URL), plus pprof's per-source fix-ups from
//! `locateBinaries` (the fake mapping for profiles without one, `-buildid`).
//!
//! Failures are reported per source as `<source>: <message>`, one line.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use profile::{Mapping, ParseOptions, PathError, Profile};

use crate::binaries::LocalBinaries;

/// Environment variable capping the inflated size of a gzip'ed profile
/// (bytes). Also caps the size of a profile file and of a fetched body.
pub const MAX_DECOMPRESSED_ENV: &str = "HEAPDRIFT_MAX_DECOMPRESSED";

/// How sources are read and parsed.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// `-seconds` and `-timeout`.
    pub window: fetch::Window,
    /// Use the symbols in the `#` lines of Go's debug=1 texts (off with
    /// `-symbolize=none`, which reproduces pprof exactly).
    pub symbolize_text: bool,
    /// Cap on the inflated size of gzip input, and on the raw size of a
    /// file or HTTP body.
    pub max_bytes: u64,
    /// `-buildid`: sets the main mapping's build ID when it has none.
    pub build_id: Option<String>,
    /// A binary given before the sources: the main mapping's file.
    pub exec_name: Option<String>,
    /// Where to look for the mappings' binaries (pprof's
    /// `PPROF_BINARY_PATH`), and the reader that opens them; `None` looks
    /// for none.
    pub binaries: Option<(String, Arc<LocalBinaries>)>,
    pub tls: crate::pprof_cli::TlsFiles,
    /// Leave out of a local profile.proto the samples the report cannot
    /// see (see [`SampleFilter`]); `None` keeps every sample.
    pub sample_filter: Option<SampleFilter>,
}

/// Which sample values a report reads: `-sample_index` (pprof's
/// `SampleIndexByName` on the decoded header), plus value 0 with `-mean`,
/// pprof's mean divisor. Samples where all of these are zero are skipped by
/// pprof's graph building, so a graph report of one source cannot see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFilter {
    pub sample_index: String,
    pub mean: bool,
}

impl SampleFilter {
    /// The value indexes to keep samples by, or `None` (keep every sample)
    /// when the index is invalid: the driver then reports pprof's error.
    fn select(&self, header: &Profile) -> Option<Vec<usize>> {
        let index = report::driver::sample_index_by_name(header, &self.sample_index).ok()?;
        let mut v = vec![index];
        if self.mean && index != 0 {
            v.push(0);
        }
        Some(v)
    }
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            window: fetch::Window::default(),
            symbolize_text: true,
            max_bytes: profile::parse::DEFAULT_MAX_DECOMPRESSED,
            build_id: None,
            exec_name: None,
            binaries: None,
            tls: Default::default(),
            sample_filter: None,
        }
    }
}

/// The byte cap: `HEAPDRIFT_MAX_DECOMPRESSED` when it is a positive
/// integer, else the default.
pub fn max_bytes_from_env() -> u64 {
    std::env::var(MAX_DECOMPRESSED_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(profile::parse::DEFAULT_MAX_DECOMPRESSED)
}

impl SourceOptions {
    /// Options from the command line; the byte cap comes from
    /// `HEAPDRIFT_MAX_DECOMPRESSED` when it is a positive integer.
    pub fn from_args(a: &crate::pprof_cli::PprofArgs) -> Self {
        SourceOptions {
            window: a.window,
            symbolize_text: a.symbolize.enabled,
            max_bytes: max_bytes_from_env(),
            build_id: a.build_id.clone(),
            exec_name: a.exec_name.clone(),
            binaries: Some((
                crate::binaries::search_path_from_env(),
                crate::binaries::shared(),
            )),
            tls: a.tls.clone(),
            sample_filter: None,
        }
    }
}

/// One source, parsed.
#[derive(Debug)]
pub struct Grabbed {
    pub profile: Profile,
    /// Fetched over HTTP (pprof then saves a copy of the merged profile).
    pub remote: bool,
}

/// The result of grabbing a list of sources: the profiles that parsed, in
/// argument order, and a `<source>: <message>` line for each that did not.
#[derive(Debug, Default)]
pub struct GrabResult {
    pub profiles: Vec<Profile>,
    pub remote: bool,
    pub errors: Vec<String>,
}

/// One source's result and its progress lines.
type Outcome = (Result<Grabbed, String>, Vec<String>);

/// Grabs every source, in parallel, keeping argument order. `notes`
/// receives pprof's progress lines ("Fetching profile over HTTP from …").
pub fn grab_all(sources: &[String], opts: &SourceOptions, notes: &mut Vec<String>) -> GrabResult {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let mut results: Vec<Option<Outcome>> = (0..sources.len()).map(|_| None).collect();
    if sources.len() <= 1 || threads == 1 {
        for (slot, src) in results.iter_mut().zip(sources) {
            let mut n = Vec::new();
            let r = grab(src, opts, &mut n);
            *slot = Some((r, n));
        }
    } else {
        let chunk = sources.len().div_ceil(threads);
        std::thread::scope(|s| {
            for (slots, srcs) in results.chunks_mut(chunk).zip(sources.chunks(chunk)) {
                s.spawn(move || {
                    for (slot, src) in slots.iter_mut().zip(srcs) {
                        let mut n = Vec::new();
                        let r = grab(src, opts, &mut n);
                        *slot = Some((r, n));
                    }
                });
            }
        });
    }
    let mut out = GrabResult::default();
    for (src, slot) in sources.iter().zip(results) {
        let Some((r, n)) = slot else { continue };
        notes.extend(n);
        match r {
            Ok(g) => {
                out.remote |= g.remote;
                out.profiles.push(g.profile);
            }
            // One line per source, whatever the message.
            Err(e) => out.errors.push(format!("{src}: {}", e.replace('\n', " "))),
        }
    }
    out
}

/// pprof's `grabProfile` for one source: read or fetch, parse, then the
/// `locateBinaries` fix-ups. The error is the message without the source.
pub fn grab(
    source: &str,
    opts: &SourceOptions,
    notes: &mut Vec<String>,
) -> Result<Grabbed, String> {
    let (bytes, url) = read_source(source, opts, notes)?;
    let popts = ParseOptions {
        max_decompressed: opts.max_bytes,
        symbolize_text: opts.symbolize_text,
    };
    // A fetched profile is saved whole (save_fetched), so it is never
    // filtered.
    let filter = opts.sample_filter.as_ref().filter(|_| url.is_none());
    let parsed = match filter {
        Some(f) => profile::parse::parse_filtered_owned(bytes, &popts, |h| f.select(h)),
        None => profile::parse::parse_filtered_owned(bytes, &popts, |_| None),
    };
    let mut p = parsed
        .map_err(|e| match e {
            // pprof's Parse wraps this one too.
            profile::ParseError::Empty => "parsing profile: empty input file".to_string(),
            e => e.to_string(),
        })?
        .profile;
    if let Some((search_path, tool)) = &opts.binaries {
        crate::binaries::search_mappings(&mut p, search_path, tool, notes);
    }
    locate_binaries(&mut p, opts.exec_name.as_deref(), opts.build_id.as_deref());
    if let Some(url) = &url {
        // pprof's collectMappingSources: a mapping with neither build ID
        // nor file is named after the URL until symbolization is over
        // (then unsourceMappings clears it).
        for m in &mut p.mappings {
            if m.build_id.is_empty() && m.file.is_empty() {
                m.file.clone_from(url);
            }
        }
    }
    Ok(Grabbed {
        profile: p,
        remote: url.is_some(),
    })
}

/// The bytes of a source, and the URL it came from if remote.
fn read_source(
    source: &str,
    opts: &SourceOptions,
    notes: &mut Vec<String>,
) -> Result<(Vec<u8>, Option<String>), String> {
    match fetch::classify(source, opts.window) {
        fetch::Source::File(path) => read_file(&path, opts.max_bytes).map(|b| (b, None)),
        fetch::Source::Url(plan) => {
            notes.extend(plan.announce());
            let fo = fetch::FetchOptions {
                tls_cert: opts.tls.cert.clone(),
                tls_key: opts.tls.key.clone(),
                tls_ca: opts.tls.ca.clone(),
                max_bytes: opts.max_bytes,
                header_grace: Duration::from_secs(5),
            };
            fetch::fetch(&plan, &fo)
                .map(|b| (b, Some(plan.url.clone())))
                .map_err(|e| e.to_string())
        }
    }
}

/// Reads a profile file, refusing files larger than `max` bytes. Errors
/// read as Go's: `stat X: no such file or directory`.
pub fn read_file(path: &str, max: u64) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| PathError::new("stat", path, e).to_string())?;
    if meta.is_dir() {
        return Err(format!("read {path}: is a directory"));
    }
    let f = std::fs::File::open(path).map_err(|e| PathError::new("open", path, e).to_string())?;
    let mut buf = Vec::with_capacity(meta.len().min(max) as usize);
    // Read one byte past the cap to tell "exactly max" from "too big";
    // the metadata size may be wrong (pipes, /proc).
    f.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| PathError::new("read", path, e).to_string())?;
    if buf.len() as u64 > max {
        return Err(format!(
            "file is larger than {max} bytes (raise the limit with {MAX_DECOMPRESSED_ENV})"
        ));
    }
    Ok(buf)
}

/// The end of pprof's `locateBinaries`, after the search for binaries: a
/// profile without mappings gets a fake mapping with ID 1 (pprof adds it to
/// attempt symbolization; it shows in `-raw`), a binary given before the
/// sources becomes the main mapping's file, and `-buildid` fills in the
/// main mapping's build ID when it is missing.
pub fn locate_binaries(p: &mut Profile, exec_name: Option<&str>, build_id: Option<&str>) {
    if p.mappings.is_empty() {
        p.mappings.push(Mapping {
            id: 1,
            ..Default::default()
        });
        for l in &mut p.locations {
            l.mapping = Some(0);
        }
    }
    if let Some(exec_name) = exec_name {
        p.mappings[0].file = exec_name.to_string();
    }
    if let Some(build_id) = build_id
        && p.mappings[0].build_id.is_empty()
    {
        p.mappings[0].build_id = build_id.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_reads_like_go() {
        let e = read_file("/nonexistent/x.pb.gz", 100).unwrap_err();
        assert_eq!(e, "stat /nonexistent/x.pb.gz: no such file or directory");
        let mut n = Vec::new();
        let e = grab("/nonexistent/x.pb.gz", &SourceOptions::default(), &mut n).unwrap_err();
        assert_eq!(e, "stat /nonexistent/x.pb.gz: no such file or directory");
    }

    #[test]
    fn size_cap() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big");
        std::fs::write(&f, vec![b'x'; 101]).unwrap();
        let e = read_file(f.to_str().unwrap(), 100).unwrap_err();
        assert!(e.contains("larger than 100 bytes"), "{e}");
        assert_eq!(read_file(f.to_str().unwrap(), 101).unwrap().len(), 101);
    }

    #[test]
    fn fake_mapping_and_buildid() {
        let mut p = Profile {
            locations: vec![Default::default(), Default::default()],
            ..Default::default()
        };
        locate_binaries(&mut p, Some("./bin"), Some("abc"));
        assert_eq!(p.mappings[0].file, "./bin");
        assert_eq!(p.mappings.len(), 1);
        assert_eq!(p.mappings[0].id, 1);
        assert_eq!(p.mappings[0].build_id, "abc");
        assert!(p.locations.iter().all(|l| l.mapping == Some(0)));
        // An existing build ID is never overwritten.
        locate_binaries(&mut p, None, Some("other"));
        assert_eq!(p.mappings[0].build_id, "abc");
    }
}
