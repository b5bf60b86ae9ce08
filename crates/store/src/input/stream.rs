//! Plain files at scale: [`build_files`] equals [`super::load`] followed by
//! [`Built::from_loaded`], but parses on several threads and pushes each
//! heap profile into the heap series as soon as it is parsed, then drops
//! it. 500 heap profiles of 10k sites held at once take gigabytes; pushed
//! and dropped, the series (32 bytes per site and snapshot) is all that
//! stays. Heap profile.protos are read by the lean decoder
//! ([`profile::proto::FlatProfile`]) into buffers each worker reuses, so
//! the 500 profiles are read without allocating per profile.
//!
//! The heap series must be pushed in time order. Files are parsed in path
//! order, which is time order for the usual names (a UTC time or a counter
//! in the name); a heap profile whose time is earlier than the previous
//! one's of its format stops the streaming of that format, whose files are
//! then parsed again, once, in time order at the end. Goroutine and
//! goroutineleak snapshots are small and kept, and built as
//! [`super::build`] does.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use drift::goroutine::{GoroutineSeriesBuilder, GroupOptions};
use drift::series::{HeapSeriesBuilder, SeriesOptions};
use profile::proto::FlatProfile;
use profile::{ParseOptions, Profile, SourceFormat};

use super::load::{RawSnapshot, TimeSource, classify, io_err, mtime, read_file, time_of_file};
use super::{
    Built, Files, InputError, PrebuiltGoroutines, PrebuiltHeap, Snapshot, SnapshotKind, build_with,
};

/// What a series built as files arrive keeps besides the series: whether
/// they still come in time order, the main binary's last build id, and
/// every file, for a rebuild in time order.
#[derive(Default)]
struct Arrivals {
    /// Went out of time order: the series is rebuilt from `files` at the end.
    unordered: bool,
    last_time: Option<i64>,
    last_build: Option<String>,
    /// (time, path) of every snapshot of the series' format.
    files: Vec<(i64, PathBuf)>,
}

impl Arrivals {
    /// Records snapshot `s`; whether to push it now (not once the files
    /// went out of time order).
    fn admit(&mut self, s: &Snapshot) -> bool {
        self.files.push((s.time_nanos, s.path.clone()));
        self.unordered |= self.last_time.is_some_and(|t| s.time_nanos < t);
        self.last_time = Some(s.time_nanos);
        !self.unordered
    }

    /// Whether a profile with main-binary build id `build_id` is another
    /// process than the last one (profiles without a build id say nothing).
    fn restarted(&mut self, build_id: Option<String>) -> bool {
        super::build::restarted(&mut self.last_build, &build_id.filter(|b| !b.is_empty()))
    }

    /// The files in time order (ties by path, as [`super::load`] sorts).
    fn sorted_files(&mut self) -> Vec<(i64, PathBuf)> {
        let mut files = std::mem::take(&mut self.files);
        files.sort();
        files
    }
}

/// One heap format's series, built as the profiles arrive.
struct HeapStream {
    builder: HeapSeriesBuilder,
    arrivals: Arrivals,
    restarts: usize,
}

impl HeapStream {
    fn new(opts: &SeriesOptions) -> HeapStream {
        HeapStream {
            builder: HeapSeriesBuilder::new(opts.clone()),
            arrivals: Arrivals::default(),
            restarts: 0,
        }
    }

    fn push(&mut self, s: &Snapshot, flat: Option<&FlatProfile>) -> Result<(), InputError> {
        if !self.arrivals.admit(s) {
            return Ok(());
        }
        match flat {
            Some(f) => self.push_profile(HeapData::Flat(f), s.time_nanos, &s.path),
            None => self.push_profile(HeapData::Full(&s.profile), s.time_nanos, &s.path),
        }
    }

    fn push_profile(
        &mut self,
        p: HeapData<'_>,
        time: i64,
        path: &std::path::Path,
    ) -> Result<(), InputError> {
        let build_id = match p {
            HeapData::Full(p) => p.mappings.first().map(|m| m.build_id.clone()),
            HeapData::Flat(f) => f
                .mappings
                .first()
                .map(|m| f.string(m.build_id).into_owned()),
        };
        if self.arrivals.restarted(build_id) {
            self.builder.mark_restart();
            self.restarts += 1;
        }
        match p {
            HeapData::Full(p) => self.builder.push_at(p, time),
            HeapData::Flat(f) => self.builder.push_flat(f, time),
        }
        .map_err(|error| InputError::Series {
            path: path.display().to_string(),
            error,
        })
    }

    /// The series; a stream that went out of order is rebuilt from its
    /// files in time order (ties by path, as [`super::load`] sorts).
    fn finish(
        mut self,
        opts: &SeriesOptions,
        parse: &ParseOptions,
    ) -> Result<(drift::series::HeapSeries, usize), InputError> {
        if !self.arrivals.unordered {
            return Ok((self.builder.finish(), self.restarts));
        }
        let mut again = HeapStream::new(opts);
        for (time, path) in self.arrivals.sorted_files() {
            let s = classify(read_file(path)?, parse)?;
            again.push_profile(HeapData::Full(&s.profile), time, &s.path)?;
        }
        Ok((again.builder.finish(), again.restarts))
    }
}

/// One goroutine format's series (`debug=2` dumps, or goroutine profiles),
/// built as the snapshots arrive: a dump of 100k goroutines parses into
/// hundreds of megabytes, its groups into kilobytes.
struct GoroutineStream {
    builder: GoroutineSeriesBuilder,
    arrivals: Arrivals,
}

impl GoroutineStream {
    fn new(opts: &GroupOptions) -> GoroutineStream {
        GoroutineStream {
            builder: GoroutineSeriesBuilder::new(opts.clone()),
            arrivals: Arrivals::default(),
        }
    }

    fn push(&mut self, s: &Snapshot) -> Result<(), InputError> {
        if !self.arrivals.admit(s) {
            return Ok(());
        }
        self.push_snapshot(s)
    }

    /// As [`super::build_with`] pushes a goroutine snapshot.
    fn push_snapshot(&mut self, s: &Snapshot) -> Result<(), InputError> {
        let build_id = s.profile.mappings.first().map(|m| m.build_id.clone());
        if self.arrivals.restarted(build_id) {
            self.builder.mark_restart();
        }
        match &s.goroutines {
            Some(g) => self.builder.push_dump(g, s.time_nanos),
            None => self.builder.push_at(&s.profile, s.time_nanos),
        }
        .map_err(|error| InputError::Series {
            path: s.path.display().to_string(),
            error,
        })
    }

    /// The series; a stream that went out of order is rebuilt from its
    /// files in time order (ties by path), with the goroutineleak profiles
    /// `leaks` (which may come in any order) read again.
    fn finish(
        mut self,
        opts: &GroupOptions,
        parse: &ParseOptions,
        leaks: &[PathBuf],
    ) -> Result<drift::goroutine::GoroutineSeries, InputError> {
        if !self.arrivals.unordered {
            return Ok(self.builder.finish());
        }
        let mut again = GoroutineStream::new(opts);
        for (_, path) in self.arrivals.sorted_files() {
            again.push_snapshot(&classify(read_file(path)?, parse)?)?;
        }
        for path in leaks {
            let s = classify(read_file(path.clone())?, parse)?;
            again.builder.push_leak_profile(&s.profile);
        }
        Ok(again.builder.finish())
    }
}

/// A heap profile as [`HeapStream`] takes it.
#[derive(Clone, Copy)]
enum HeapData<'a> {
    Full(&'a Profile),
    Flat(&'a FlatProfile),
}

/// The length and a fast hash: byte-identical files are found without
/// keeping every file's bytes. Equal fingerprints are confirmed by
/// comparing the files' bytes, so the hash need only be quick and spread
/// well (it reads every byte of hundreds of megabytes).
fn fingerprint(bytes: &[u8]) -> (usize, u64) {
    // Four independent lanes keep the multiplies in flight.
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut lanes = [1u64, 2, 3, 4];
    let mut chunks = bytes.chunks_exact(32);
    for c in &mut chunks {
        for (lane, w) in lanes.iter_mut().zip(c.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            *lane = (lane.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }
    let mut h = lanes.iter().fold(bytes.len() as u64, |h, &l| {
        (h.rotate_left(29) ^ l).wrapping_mul(K)
    });
    for &b in chunks.remainder() {
        h = (h.rotate_left(8) ^ u64::from(b)).wrapping_mul(K);
    }
    (bytes.len(), h ^ (h >> 32))
}

/// A parsed file: a snapshot, and whether it is a heap profile.proto whose
/// lean decode (left in the worker's [`FlatProfile`]) feeds the series;
/// the snapshot's profile then holds only its main mapping.
struct Parsed {
    fingerprint: (usize, u64),
    snapshot: Snapshot,
    lean: bool,
}

/// Whether file `index` has the same bytes as one of the files `earlier`
/// (which share its fingerprint). Read again only on a fingerprint match,
/// which is rare unless files really are copies.
fn same_bytes(paths: &[PathBuf], earlier: &[usize], index: usize) -> Result<bool, InputError> {
    if earlier.is_empty() {
        return Ok(false);
    }
    let read = |i: usize| std::fs::read(&paths[i]).map_err(io_err(&paths[i]));
    let bytes = read(index)?;
    for &e in earlier {
        if read(e)? == bytes {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Per worker, reused from file to file: the file's bytes and their
/// inflated form.
#[derive(Default)]
struct Buffers {
    raw: Vec<u8>,
    inflated: Vec<u8>,
}

/// Reads, fingerprints and parses file `path`. A heap profile.proto is
/// decoded by the lean decoder into `flat`; anything else (texts, other
/// kinds, allocations-only profiles, and any bytes the lean decoder
/// refuses, so that errors read as usual) takes [`classify`].
fn parse_one(
    path: &Path,
    parse: &ParseOptions,
    bufs: &mut Buffers,
    flat: &mut FlatProfile,
) -> Result<Parsed, InputError> {
    bufs.raw.clear();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bufs.raw))
        .map_err(io_err(path))?;
    let mtime_nanos = mtime(path);
    let fp = fingerprint(&bufs.raw);
    let inflated = profile::gz::gunzip_into(&bufs.raw, parse.max_decompressed, &mut bufs.inflated);
    let data: &[u8] = match inflated {
        Ok(true) => &bufs.inflated,
        Ok(false) => &bufs.raw,
        Err(_) => &[],
    };
    let is_heap = !data.is_empty()
        && flat.decode_into(data).is_ok()
        && flat
            .sample_types
            .iter()
            .any(|t| flat.string(t.r#type) == "inuse_space");
    if !is_heap {
        // Handed over inflated, so as not to inflate again; unless that
        // could inflate twice (gzip in gzip, which pprof refuses).
        let bytes = match inflated {
            Ok(true) if !bufs.inflated.starts_with(&[0x1f, 0x8b]) => {
                std::mem::take(&mut bufs.inflated)
            }
            _ => std::mem::take(&mut bufs.raw),
        };
        let raw = RawSnapshot {
            kind: None,
            time_nanos: None,
            mtime_nanos,
            bytes,
            path: path.to_path_buf(),
        };
        let snapshot = classify(raw, parse)?;
        return Ok(Parsed {
            fingerprint: fp,
            snapshot,
            lean: false,
        });
    }
    let (time_nanos, time_source) = if flat.time_nanos != 0 {
        (flat.time_nanos, TimeSource::Profile)
    } else {
        time_of_file(path, mtime_nanos)?
    };
    let mappings = flat
        .mappings
        .first()
        .map(|m| profile::Mapping {
            id: m.id,
            start: m.start,
            limit: m.limit,
            offset: m.offset,
            file: flat.string(m.file).into_owned(),
            build_id: flat.string(m.build_id).into_owned(),
            ..Default::default()
        })
        .into_iter()
        .collect();
    let snapshot = Snapshot {
        kind: SnapshotKind::Heap,
        time_nanos,
        time_source,
        format: SourceFormat::Proto,
        profile: Profile {
            mappings,
            ..Default::default()
        },
        memstats: None,
        goroutines: None,
        path: path.to_path_buf(),
    };
    Ok(Parsed {
        fingerprint: fp,
        snapshot,
        lean: true,
    })
}

/// What the snapshots pushed so far have made.
struct Consumed {
    proto: HeapStream,
    text: HeapStream,
    dumps: GoroutineStream,
    goroutine_profiles: GoroutineStream,
    /// Paths of the goroutineleak profiles, pushed to both goroutine
    /// streams.
    leaks: Vec<PathBuf>,
    kept: Vec<Snapshot>,
    duplicates: Vec<PathBuf>,
    /// Fingerprint -> the files with it (their bytes are compared on a hit).
    seen: HashMap<(usize, u64), Vec<usize>>,
}

impl Consumed {
    /// Takes file `index`'s parse, in file order; `flat` holds its lean
    /// decode if it has one.
    fn take(
        &mut self,
        paths: &[PathBuf],
        index: usize,
        parsed: Parsed,
        flat: &FlatProfile,
    ) -> Result<(), InputError> {
        let Parsed {
            fingerprint,
            snapshot: mut s,
            lean,
        } = parsed;
        let same = self.seen.entry(fingerprint).or_default();
        if same_bytes(paths, same, index)? {
            self.duplicates.push(s.path);
            return Ok(());
        }
        same.push(index);
        if s.kind == SnapshotKind::Heap {
            let stream = if s.format == SourceFormat::Proto {
                &mut self.proto
            } else {
                &mut self.text
            };
            stream.push(&s, lean.then_some(flat))?;
        }
        if s.kind == SnapshotKind::Goroutine {
            if s.format == SourceFormat::GoroutineDump {
                self.dumps.push(&s)?;
            } else {
                self.goroutine_profiles.push(&s)?;
            }
        }
        if s.kind == SnapshotKind::GoroutineLeak {
            self.dumps.builder.push_leak_profile(&s.profile);
            self.goroutine_profiles
                .builder
                .push_leak_profile(&s.profile);
            self.leaks.push(s.path.clone());
        }
        // Keep what build_with reads of a snapshot pushed here: its kind,
        // format, time, MemStats, and the main mapping for the header.
        s.profile = Profile {
            mappings: s.profile.mappings.drain(..).take(1).collect(),
            ..Default::default()
        };
        s.goroutines = None;
        self.kept.push(s);
        Ok(())
    }
}

/// A worker that panics (a bug) must not leave the others waiting for its
/// turn forever: the scope then ends, and re-raises the panic.
struct UnblockOnPanic<'a> {
    turns: &'a Mutex<Turns>,
    turn: &'a Condvar,
}

impl Drop for UnblockOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut t = self.turns.lock().unwrap_or_else(|e| e.into_inner());
            t.error
                .get_or_insert_with(|| InputError::Other("a parsing thread panicked".into()));
            drop(t);
            self.turn.notify_all();
        }
    }
}

/// The shared state of [`build_files`]' workers.
struct Turns {
    /// The next file to push.
    next: usize,
    /// The first error, which stops everything.
    error: Option<InputError>,
    consumed: Consumed,
}

/// [`super::load`] + [`Built::from_loaded`] of plain files and directories,
/// streaming (see the module doc). Same result, including the notes.
///
/// Each worker takes the next file, parses it, then waits for its turn and
/// pushes it itself, in file order: the profile is still in the cache of
/// the core that decoded it, no thread only waits, and at most one profile
/// per worker is held at a time.
pub fn build_files(
    files: &Files,
    parse: &ParseOptions,
    user_prefixes: &[String],
) -> Result<Built, InputError> {
    build_files_listed(files, parse, user_prefixes).map(|(built, _)| built)
}

/// [`build_files`], and the snapshots in [`super::load`]'s order, each
/// without its samples (kind, format, time, path, MemStats and the main
/// mapping stay): what a viewer lists and opens again by path.
pub fn build_files_listed(
    files: &Files,
    parse: &ParseOptions,
    user_prefixes: &[String],
) -> Result<(Built, Vec<Snapshot>), InputError> {
    let paths = files.paths()?;
    let series_opts = SeriesOptions {
        user_prefixes: user_prefixes.to_vec(),
        ..Default::default()
    };
    let group_opts = GroupOptions {
        user_prefixes: user_prefixes.to_vec(),
    };
    let turns = Mutex::new(Turns {
        next: 0,
        error: None,
        consumed: Consumed {
            proto: HeapStream::new(&series_opts),
            text: HeapStream::new(&series_opts),
            dumps: GoroutineStream::new(&group_opts),
            goroutine_profiles: GoroutineStream::new(&group_opts),
            leaks: Vec::new(),
            kept: Vec::new(),
            duplicates: Vec::new(),
            seen: HashMap::new(),
        },
    });
    let turn = Condvar::new();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(paths.len().max(1));
    let taken = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (taken, turns, turn, paths) = (&taken, &turns, &turn, &paths);
            scope.spawn(move || {
                let _unblock = UnblockOnPanic { turns, turn };
                // Reused from file to file.
                let mut bufs = Buffers::default();
                let mut flat = FlatProfile::default();
                loop {
                    let i = taken.fetch_add(1, Ordering::Relaxed);
                    if i >= paths.len() {
                        return;
                    }
                    let parsed = parse_one(&paths[i], parse, &mut bufs, &mut flat);
                    let mut t = turns.lock().unwrap_or_else(|e| e.into_inner());
                    while t.next != i && t.error.is_none() {
                        t = turn.wait(t).unwrap_or_else(|e| e.into_inner());
                    }
                    if t.error.is_some() {
                        return;
                    }
                    let result = parsed.and_then(|p| t.consumed.take(paths, i, p, &flat));
                    if let Err(e) = result {
                        t.error = Some(e);
                    }
                    t.next += 1;
                    drop(t);
                    turn.notify_all();
                }
            });
        }
    });
    let Turns {
        error, consumed, ..
    } = turns.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = error {
        return Err(e);
    }
    let Consumed {
        proto,
        text,
        dumps,
        goroutine_profiles,
        leaks,
        mut kept,
        duplicates,
        ..
    } = consumed;
    kept.sort_by(|a, b| {
        a.time_nanos
            .cmp(&b.time_nanos)
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.path.cmp(&b.path))
    });

    let (protos, texts) = (proto.arrivals.files.len(), text.arrivals.files.len());
    let from_text = texts > protos;
    let chosen = if from_text { text } else { proto };
    let (series, restarts) = chosen.finish(&series_opts, parse)?;
    let prebuilt = (protos + texts > 0).then_some(PrebuiltHeap {
        series,
        from_text,
        protos,
        texts,
        restarts,
    });
    // As build_with chooses: the more numerous format, dumps on a tie.
    let (n_dumps, n_profiles) = (
        dumps.arrivals.files.len(),
        goroutine_profiles.arrivals.files.len(),
    );
    let from_dumps = n_dumps >= n_profiles;
    let chosen = if from_dumps {
        dumps
    } else {
        goroutine_profiles
    };
    let any = n_dumps + n_profiles + leaks.len() > 0;
    let series = chosen.finish(&group_opts, parse, &leaks)?;
    let goroutines = PrebuiltGoroutines {
        series: any.then_some(series),
        from_dumps,
        dumps: n_dumps,
        profiles: n_profiles,
        leaks: leaks.len(),
    };
    let mut built = build_with(&kept, user_prefixes, prebuilt, Some(goroutines))?;
    if let Some(first) = duplicates.first() {
        let n = duplicates.len();
        built.header.notes.push(format!(
            "{n} byte-identical file{} left out (first: {})",
            if n == 1 { "" } else { "s" },
            first.display()
        ));
    }
    Ok((built, kept))
}
