//! Plain files at scale: [`build_files`] equals [`super::load`] followed by
//! [`Built::from_loaded`], but parses on several threads and pushes each
//! heap profile into the heap series as soon as it is parsed, then drops
//! it. 500 heap profiles of 10k sites held at once take gigabytes; pushed
//! and dropped, the series (32 bytes per site and snapshot) is all that
//! stays.
//!
//! The heap series must be pushed in time order. Files are parsed in path
//! order, which is time order for the usual names (a UTC time or a counter
//! in the name); a heap profile whose time is earlier than the previous
//! one's of its format stops the streaming of that format, whose files are
//! then parsed again, once, in time order at the end. Goroutine and
//! goroutineleak snapshots are small and kept, and built as
//! [`super::build`] does.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use drift::series::{HeapSeriesBuilder, SeriesOptions};
use profile::{ParseOptions, Profile, SourceFormat};

use super::load::{classify, read_file};
use super::{Built, Files, InputError, PrebuiltHeap, Snapshot, SnapshotKind, build_with};

/// How far parsing may run ahead of the (in-order) consumer: bounds the
/// profiles held at once.
const WINDOW: usize = 8;

/// One heap format's series, built as the profiles arrive.
struct HeapStream {
    builder: HeapSeriesBuilder,
    /// Still in time order (else rebuilt at the end from `files`).
    ordered: bool,
    last_time: Option<i64>,
    last_build: Option<String>,
    restarts: usize,
    /// (time, path) of every snapshot of this format, for a rebuild.
    files: Vec<(i64, PathBuf)>,
}

impl HeapStream {
    fn new(opts: &SeriesOptions) -> HeapStream {
        HeapStream {
            builder: HeapSeriesBuilder::new(opts.clone()),
            ordered: true,
            last_time: None,
            last_build: None,
            restarts: 0,
            files: Vec::new(),
        }
    }

    fn push(&mut self, s: &Snapshot) -> Result<(), InputError> {
        self.files.push((s.time_nanos, s.path.clone()));
        if self.last_time.is_some_and(|t| s.time_nanos < t) {
            self.ordered = false;
        }
        if !self.ordered {
            return Ok(());
        }
        self.last_time = Some(s.time_nanos);
        self.push_profile(&s.profile, s.time_nanos, &s.path)
    }

    fn push_profile(
        &mut self,
        p: &Profile,
        time: i64,
        path: &std::path::Path,
    ) -> Result<(), InputError> {
        let build_id = p
            .mappings
            .first()
            .map(|m| m.build_id.clone())
            .filter(|b| !b.is_empty());
        if let Some(now) = build_id {
            if self.last_build.as_ref().is_some_and(|l| *l != now) {
                self.builder.mark_restart();
                self.restarts += 1;
            }
            self.last_build = Some(now);
        }
        self.builder
            .push_at(p, time)
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
        if self.ordered {
            return Ok((self.builder.finish(), self.restarts));
        }
        let mut files = std::mem::take(&mut self.files);
        files.sort();
        let mut again = HeapStream::new(opts);
        for (time, path) in files {
            let s = classify(read_file(path)?, parse)?;
            again.push_profile(&s.profile, time, &s.path)?;
        }
        Ok((again.builder.finish(), again.restarts))
    }
}

/// Two independent 64-bit hashes and the length: byte-identical files are
/// found without keeping every file's bytes.
fn fingerprint(bytes: &[u8]) -> (usize, u64, u64) {
    let mut a = DefaultHasher::new();
    bytes.hash(&mut a);
    let mut b = DefaultHasher::new();
    0x5bd1_e995u32.hash(&mut b);
    bytes.hash(&mut b);
    (bytes.len(), a.finish(), b.finish())
}

type Parsed = Result<((usize, u64, u64), Snapshot), InputError>;

/// [`super::load`] + [`Built::from_loaded`] of plain files and directories,
/// streaming (see the module doc). Same result, including the notes.
pub fn build_files(
    files: &Files,
    parse: &ParseOptions,
    user_prefixes: &[String],
) -> Result<Built, InputError> {
    let paths = files.paths()?;
    let series_opts = SeriesOptions {
        user_prefixes: user_prefixes.to_vec(),
        ..Default::default()
    };
    let mut proto = HeapStream::new(&series_opts);
    let mut text = HeapStream::new(&series_opts);
    let mut kept: Vec<Snapshot> = Vec::new();
    let mut duplicates = Vec::new();
    let mut seen: HashMap<(usize, u64, u64), ()> = HashMap::new();

    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(paths.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let consumed = Mutex::new(0usize);
    let room = Condvar::new();
    let (tx, rx) = mpsc::channel::<(usize, Parsed)>();
    let result: Result<(), InputError> = std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, consumed, room, paths) = (&next, &stop, &consumed, &room, &paths);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= paths.len() || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    {
                        let mut c = consumed.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *c + WINDOW && !stop.load(Ordering::Relaxed) {
                            c = room.wait(c).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    let r = read_file(paths[i].clone()).and_then(|raw| {
                        let fp = fingerprint(&raw.bytes);
                        classify(raw, parse).map(|s| (fp, s))
                    });
                    if tx.send((i, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Parsed> = BTreeMap::new();
        let mut want = 0usize;
        let finish = |r: Result<(), InputError>| {
            stop.store(true, Ordering::Relaxed);
            room.notify_all();
            r
        };
        while want < paths.len() {
            let r = match pending.remove(&want) {
                Some(r) => r,
                None => match rx.recv() {
                    Ok((i, r)) => {
                        pending.insert(i, r);
                        continue;
                    }
                    Err(_) => break,
                },
            };
            want += 1;
            *consumed.lock().unwrap_or_else(|e| e.into_inner()) = want;
            room.notify_all();
            let (fp, mut s) = match r {
                Ok(v) => v,
                Err(e) => return finish(Err(e)),
            };
            if seen.insert(fp, ()).is_some() {
                duplicates.push(s.path);
                continue;
            }
            if s.kind == SnapshotKind::Heap {
                let stream = if s.format == SourceFormat::Proto {
                    &mut proto
                } else {
                    &mut text
                };
                if let Err(e) = stream.push(&s) {
                    return finish(Err(e));
                }
                // Keep what build_with reads of a heap snapshot: its
                // MemStats, and the main mapping for the header.
                s.profile = Profile {
                    mappings: s.profile.mappings.drain(..).take(1).collect(),
                    ..Default::default()
                };
            }
            kept.push(s);
        }
        finish(Ok(()))
    });
    result?;

    kept.sort_by(|a, b| {
        a.time_nanos
            .cmp(&b.time_nanos)
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.path.cmp(&b.path))
    });
    let (protos, texts) = (proto.files.len(), text.files.len());
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
    let mut built = build_with(&kept, user_prefixes, prebuilt)?;
    if let Some(first) = duplicates.first() {
        let n = duplicates.len();
        built.header.notes.push(format!(
            "{n} byte-identical file{} left out (first: {})",
            if n == 1 { "" } else { "s" },
            first.display()
        ));
    }
    Ok(built)
}
