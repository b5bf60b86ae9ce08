//! The series `drift::hunt` reads, built from loaded snapshots.

use drift::goroutine::{GoroutineSeries, GoroutineSeriesBuilder, GroupOptions};
use drift::memory::MemPoint;
use drift::render::Header;
use drift::series::{HeapSeries, HeapSeriesBuilder, SeriesOptions};
use drift::{HuntOptions, Inputs, Report};
use profile::SourceFormat;

use super::{InputError, Loaded, Snapshot, SnapshotKind};

/// The series `drift::hunt` reads, and the header that describes them.
pub struct Built {
    pub heap: Option<drift::series::HeapSeries>,
    pub goroutines: Option<drift::goroutine::GoroutineSeries>,
    pub memory: Vec<MemPoint>,
    pub memory_breaks: Vec<usize>,
    pub header: Header,
}

impl Built {
    /// [`build`] of everything loaded, with a note on the files left out as
    /// duplicates.
    pub fn from_loaded(loaded: &Loaded, user_prefixes: &[String]) -> Result<Built, InputError> {
        let mut built = build(&loaded.snapshots, user_prefixes)?;
        if let Some(first) = loaded.duplicates.first() {
            let n = loaded.duplicates.len();
            built.header.notes.push(format!(
                "{n} byte-identical file{} left out (first: {})",
                if n == 1 { "" } else { "s" },
                first.display()
            ));
        }
        Ok(built)
    }

    /// What `drift::hunt` reads.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            heap: self.heap.as_ref(),
            goroutines: self.goroutines.as_ref(),
            memory: &self.memory,
            memory_breaks: &self.memory_breaks,
        }
    }

    /// The analysis of these series.
    pub fn hunt(&self, opts: &HuntOptions) -> Report {
        drift::hunt(&self.inputs(), opts)
    }
}

/// A heap series built elsewhere (from an archive's index), which [`build_with`]
/// uses instead of the heap snapshots among its input, with the counts of
/// heap snapshots per format that the choice was made from.
pub struct PrebuiltHeap {
    pub series: HeapSeries,
    /// Made from debug=1 texts (else from protos).
    pub from_text: bool,
    pub protos: usize,
    pub texts: usize,
    /// Changes of the main binary's build id seen while building it (each
    /// began a segment).
    pub restarts: usize,
}

/// Goroutine series built elsewhere (streamed from plain files), which
/// [`build_with`] uses instead of the goroutine and goroutineleak snapshots
/// among its input (those then only give their times to the header).
pub struct PrebuiltGoroutines {
    /// From `debug=2` dumps, or from goroutine profiles (protos, `debug=1`):
    /// the more numerous format, dumps on a tie (see [`build_with`]).
    pub series: Option<GoroutineSeries>,
    pub from_dumps: bool,
    pub dumps: usize,
    pub profiles: usize,
    pub leaks: usize,
}

/// Builds the series from `snaps` alone: [`build_with`] without prebuilt
/// series.
pub fn build(snaps: &[Snapshot], user_prefixes: &[String]) -> Result<Built, InputError> {
    build_with(snaps, user_prefixes, None, None)
}

/// Builds the series. Heap debug=1 texts and heap protos describe the same
/// heap: when both are given, the more numerous format (protos on a tie)
/// makes the heap series and the texts contribute only their MemStats.
/// Likewise goroutine dumps (debug=2) and goroutine profiles (proto,
/// debug=1) group goroutines slightly differently, so only the more
/// numerous format is used (dumps on a tie: they carry wait times and
/// `created by` call sites).
///
/// With `prebuilt`, its series is the heap series and the heap snapshots in
/// `snaps` only contribute their MemStats; the format notes use its counts.
/// Likewise `prebuilt_goroutines` for the goroutine series.
pub fn build_with(
    snaps: &[Snapshot],
    user_prefixes: &[String],
    prebuilt: Option<PrebuiltHeap>,
    prebuilt_goroutines: Option<PrebuiltGoroutines>,
) -> Result<Built, InputError> {
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
    let (texts, protos) = match &prebuilt {
        Some(p) => (p.texts, p.protos),
        None => (texts, protos),
    };
    let heap_use_text = match &prebuilt {
        Some(p) => p.from_text,
        None => texts > protos,
    };
    let (dumps, gprofs) = match &prebuilt_goroutines {
        Some(g) => (g.dumps, g.profiles),
        None => (
            count(SnapshotKind::Goroutine, &dump),
            count(SnapshotKind::Goroutine, &|s| !dump(s)),
        ),
    };
    let use_dumps = match &prebuilt_goroutines {
        Some(g) => g.from_dumps,
        None => dumps >= gprofs,
    };
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
    let mut restarts = prebuilt.as_ref().map_or(0, |p| p.restarts);

    for s in snaps {
        let name = |error| InputError::Series {
            path: s.path.display().to_string(),
            error,
        };
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
            SnapshotKind::Heap if prebuilt.is_none() && heap_text(s) == heap_use_text => {
                if restarted(&mut heap_build, &build_id) {
                    heap.mark_restart();
                    restarts += 1;
                }
                heap.push_at(&s.profile, s.time_nanos).map_err(name)?;
                n_heap += 1;
                times.push(s.time_nanos);
            }
            SnapshotKind::Goroutine if dump(s) == use_dumps && prebuilt_goroutines.is_some() => {
                n_gor += 1;
                times.push(s.time_nanos);
            }
            SnapshotKind::GoroutineLeak if prebuilt_goroutines.is_some() => n_leak += 1,
            SnapshotKind::Goroutine if dump(s) == use_dumps => {
                if restarted(&mut gor_build, &build_id) {
                    gor.mark_restart();
                }
                match &s.goroutines {
                    Some(g) if use_dumps => gor.push_dump(g, s.time_nanos),
                    _ => gor.push_at(&s.profile, s.time_nanos),
                }
                .map_err(name)?;
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
        ("goroutine", n_gor),
        ("goroutineleak", n_leak),
        ("memstats", memory.len()),
    ] {
        if n > 0 {
            header.snapshots.push((k.to_string(), n));
        }
    }
    let heap = match prebuilt {
        Some(p) => {
            n_heap = p.series.len();
            times.extend_from_slice(&p.series.time_nanos);
            (n_heap > 0).then_some(p.series)
        }
        None => (n_heap > 0).then(|| heap.finish()),
    };
    if n_heap > 0 {
        header.snapshots.insert(0, ("heap".to_string(), n_heap));
    }
    header.start_unix_nanos = times.iter().copied().min().unwrap_or(0);
    header.end_unix_nanos = times.iter().copied().max().unwrap_or(0);
    let goroutines = match prebuilt_goroutines {
        Some(g) => g.series,
        None => (n_gor > 0 || n_leak > 0).then(|| gor.finish()),
    };
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
pub(super) fn restarted(last: &mut Option<String>, now: &Option<String>) -> bool {
    let Some(now) = now else { return false };
    let changed = last.as_ref().is_some_and(|l| l != now);
    *last = Some(now.clone());
    changed
}
