//! Plain files and directories as `hunt`'s input: walked, read and parsed
//! on several threads, each snapshot told apart by kind, process and time,
//! then pushed into one [`SeriesBuilder`] per process.
//!
//! - Files that are not snapshots `hunt` reads (empty, not a profile, a CPU
//!   or allocs profile, unreadable) are skipped with a note each, never
//!   fatal. Byte-identical copies are read once.
//! - Processes: a snapshot that names its main binary (profile.protos)
//!   belongs to the process with the same binary, build id and address
//!   layout (the main mapping's and the vdso's start, placed anew by ASLR
//!   at each exec) and whose cumulative counters have not gone down (see
//!   [`crate::identity::detect_restart`]). Several processes (replicas,
//!   restarts, other services in the same folder) are reported on their
//!   own. Texts and dumps name no binary: they join the process of the
//!   snapshot fetched alongside (same name key, see [`crate::time`]), else
//!   the only process, else the one whose time span holds theirs.
//! - Times: see [`crate::time`]. Heap protos carry their own; texts are
//!   placed once every file has been read.
//! - Memory: heap profile.protos are read by the lean decoder
//!   ([`FlatProfile`]) into buffers each worker reuses and pushed as soon
//!   as it is their turn, then dropped: 500 heap profiles of 10k sites are
//!   gigabytes held at once, their series 32 bytes per site and snapshot.
//!   Snapshots that wait for their time or process (texts, dumps) are kept
//!   parsed up to a budget, and read again past it.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use profile::proto::FlatProfile;
use profile::{ParseOptions, Parsed, PathError, SourceFormat};

use crate::SeriesError;
use crate::builder::{BuildOptions, Built, Data, Entry, SeriesBuilder, SnapshotRef};
use crate::identity::{Identity, detect_restart};
use crate::kind::{Kind, classify};
use crate::notes::{Note, SkipReason};
use crate::time::{Anchor, TimeSource, Unplaced, disagrees, name_key, place, time_from_name};

/// Files named on the command line; directories are walked recursively, in
/// sorted order, skipping hidden entries.
pub struct Files(pub Vec<PathBuf>);

/// Whether `dir` is an archive's root (it has the index).
pub fn is_archive(dir: &Path) -> bool {
    dir.join(crate::ARCHIVE_INDEX).is_file()
}

impl Files {
    /// Every file named or found under a named directory, in order.
    pub fn paths(&self) -> Result<Vec<PathBuf>, SeriesError> {
        let mut paths = Vec::new();
        for p in &self.0 {
            let meta = std::fs::metadata(p).map_err(|error| {
                let s = p.display().to_string();
                if s.starts_with("http://") || s.starts_with("https://") {
                    SeriesError::Url(s)
                } else {
                    PathError::new("stat", p, error).into()
                }
            })?;
            if meta.is_dir() {
                walk(p, &mut paths)?;
            } else {
                paths.push(p.clone());
            }
        }
        Ok(paths)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SeriesError> {
    // Its files are several targets' and processes' series: only the index
    // can tell them apart.
    if is_archive(dir) {
        return Err(SeriesError::ArchiveAmongFiles(dir.display().to_string()));
    }
    let io = |error| SeriesError::from(PathError::new("readdir", dir, error));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for p in entries {
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// A file's modification time in Unix nanoseconds, if the system has it.
fn mtime(path: &Path) -> Option<i64> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
}

/// How to read files.
#[derive(Clone, Debug, Default)]
pub struct FileOptions {
    pub parse: ParseOptions,
    pub build: BuildOptions,
    /// Bytes of parsed snapshots kept while they wait for their time or
    /// process; past it they are read again (0: the default, 256 MiB).
    pub keep_budget: usize,
}

/// One snapshot file as read: what a viewer lists and opens again by path.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub kind: Kind,
    pub time_nanos: i64,
    pub time_source: TimeSource,
    pub path: PathBuf,
}

/// The series of one process found among the files.
pub struct ProcessSeries {
    pub built: Built,
    /// Its snapshots in time order (ties: kind, then path).
    pub snapshots: Vec<Listed>,
}

/// Reads `files` and builds the series of each process among them, in
/// the order of their first snapshot. Notes about files no process holds
/// (skipped, duplicates) go to every process's header. No process at all
/// (nothing readable) is an error that says why.
pub fn build_files(files: &Files, opts: &FileOptions) -> Result<Vec<ProcessSeries>, SeriesError> {
    let paths = files.paths()?;
    let consumed = read_all(&paths, opts)?;
    consumed.finish(opts)
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

/// Whether file `index` has the same bytes as one of the files `earlier`
/// (which share its fingerprint). Read again only on a fingerprint match,
/// which is rare unless files really are copies.
fn same_bytes(paths: &[PathBuf], earlier: &[usize], index: usize) -> Result<bool, SeriesError> {
    if earlier.is_empty() {
        return Ok(false);
    }
    let read = |i: usize| {
        std::fs::read(&paths[i]).map_err(|error| PathError::new("open", &paths[i], error))
    };
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

/// What a worker made of one file.
enum Outcome {
    Skip(SkipReason),
    /// A heap profile.proto, lean-decoded into the worker's FlatProfile.
    Lean {
        time: i64,
        identity: Identity,
    },
    Full(Box<FullSnapshot>),
    /// A metrics text or a probe snapshot with the process's current RSS.
    Metrics {
        kind: Kind,
        rss: profile::metrics::Resident,
        /// A probe snapshot that `Guard` wrote near the memory limit.
        capture: Option<profile::probe::Capture>,
        own_time: Option<(i64, TimeSource)>,
        mtime: Option<i64>,
    },
}

/// A parsed snapshot other than a lean heap proto.
struct FullSnapshot {
    kind: Kind,
    parsed: Parsed,
    /// A time of its own (rules 1–3 of [`crate::time`]).
    own_time: Option<(i64, TimeSource)>,
    identity: Identity,
    mtime: Option<i64>,
    /// Bytes it was parsed from: the estimate of what keeping it costs.
    size: usize,
}

struct Read1 {
    fingerprint: (usize, u64),
    outcome: Outcome,
}

/// Reads and parses file `path`. A heap profile.proto is decoded by the
/// lean decoder into `flat`; anything else (texts, other kinds, and any
/// bytes the lean decoder refuses, so that errors read as usual) takes the
/// full parser.
fn read_one(
    path: &Path,
    parse: &ParseOptions,
    bufs: &mut Buffers,
    flat: &mut FlatProfile,
) -> Result<Read1, SeriesError> {
    bufs.raw.clear();
    if let Err(e) = std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bufs.raw)) {
        return Ok(Read1 {
            fingerprint: (0, 0),
            outcome: Outcome::Skip(SkipReason::Unreadable(profile::go_io_error(&e))),
        });
    }
    let fp = fingerprint(&bufs.raw);
    let skip = |r| {
        Ok(Read1 {
            fingerprint: fp,
            outcome: Outcome::Skip(r),
        })
    };
    if bufs.raw.is_empty() {
        return skip(SkipReason::Empty);
    }
    let inflated = profile::gz::gunzip_into(&bufs.raw, parse.max_decompressed, &mut bufs.inflated);
    let data: &[u8] = match inflated {
        Ok(true) => &bufs.inflated,
        Ok(false) => &bufs.raw,
        Err(_) => &[],
    };
    let lean_heap = !data.is_empty()
        && flat.decode_into(data).is_ok()
        && flat
            .sample_types
            .iter()
            .any(|t| flat.string(t.r#type) == "inuse_space")
        && flat.string(flat.default_sample_type) != "alloc_space";
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if lean_heap {
        let time = if flat.time_nanos != 0 {
            Some(flat.time_nanos)
        } else {
            time_from_name(name)
        };
        if let Some(time) = time {
            return Ok(Read1 {
                fingerprint: fp,
                outcome: Outcome::Lean {
                    time,
                    identity: Identity::from_flat(flat),
                },
            });
        }
    }
    // Handed over inflated, so as not to inflate again; unless that could
    // inflate twice (gzip in gzip, which pprof refuses).
    let bytes = match inflated {
        Ok(true) if !bufs.inflated.starts_with(&[0x1f, 0x8b]) => &bufs.inflated,
        _ => &bufs.raw,
    };
    let size = bytes.len();
    let parsed = match profile::parse(bytes, parse) {
        Ok(p) => p,
        Err(e) => {
            // A Prometheus text with the process's RSS (as `watch` archives
            // it) is no profile but is read.
            if let Ok(Some(rss)) = profile::metrics::resident_memory(bytes) {
                return Ok(Read1 {
                    fingerprint: fp,
                    outcome: Outcome::Metrics {
                        kind: Kind::Metrics,
                        rss,
                        capture: None,
                        own_time: time_from_name(name).map(|t| (t, TimeSource::FileName)),
                        mtime: mtime(path),
                    },
                });
            }
            // So is the snapshot of heapdrift's Go companion, with a time
            // of its own.
            if profile::probe::looks_like_snapshot(bytes) {
                return match profile::probe::parse_snapshot(bytes) {
                    Ok(snap) => match snap.rss {
                        Some(rss) => Ok(Read1 {
                            fingerprint: fp,
                            outcome: Outcome::Metrics {
                                kind: Kind::Probe,
                                rss,
                                capture: snap.capture,
                                own_time: Some((snap.time_nanos, TimeSource::Profile)),
                                mtime: mtime(path),
                            },
                        }),
                        None => skip(SkipReason::NotProfile(
                            "a heapdrift probe snapshot without the RSS (no /proc where it ran)"
                                .into(),
                        )),
                    },
                    Err(e) => skip(SkipReason::NotProfile(e.to_string())),
                };
            }
            return skip(SkipReason::NotProfile(e.to_string()));
        }
    };
    let kind = match classify(&parsed, name) {
        Ok(k) if k.family().is_some() => k,
        Ok(k) => return skip(SkipReason::Unread(crate::Unread::Kind(k))),
        Err(u) => return skip(SkipReason::Unread(u)),
    };
    let own_time = if parsed.format == SourceFormat::Proto && parsed.profile.time_nanos != 0 {
        Some((parsed.profile.time_nanos, TimeSource::Profile))
    } else {
        time_from_name(name).map(|t| (t, TimeSource::FileName))
    };
    let identity = Identity::from_parsed(&parsed);
    Ok(Read1 {
        fingerprint: fp,
        outcome: Outcome::Full(Box::new(FullSnapshot {
            kind,
            parsed,
            own_time,
            identity,
            mtime: mtime(path),
            size,
        })),
    })
}

/// A snapshot that waits for its time or process.
struct Deferred {
    path: PathBuf,
    kind: Kind,
    own_time: Option<(i64, TimeSource)>,
    identity: Identity,
    mtime: Option<i64>,
    /// MemStats' LastGC (heap debug=1 texts).
    last_gc: Option<i64>,
    content: Content,
}

/// What a deferred snapshot holds.
enum Content {
    /// Parsed, kept while within the budget, else read again.
    Parsed(Option<Box<Parsed>>),
    /// A metrics text's or probe snapshot's RSS, and a probe's capture.
    Rss(profile::metrics::Resident, Option<profile::probe::Capture>),
}

/// One process found among the files.
struct Process {
    builder: SeriesBuilder,
    /// What the mappings of its snapshots say (binary, build id, layout).
    last_mapping: Identity,
    first_time: i64,
    last_time: i64,
    listed: Vec<Listed>,
    /// What told it apart from the process before it with the same binary.
    why: String,
}

impl Process {
    fn new(opts: &BuildOptions, time: i64, why: String) -> Process {
        Process {
            builder: SeriesBuilder::new(opts.clone()),
            last_mapping: Identity::default(),
            first_time: time,
            last_time: time,
            listed: Vec::new(),
            why,
        }
    }

    fn saw(&mut self, kind: Kind, id: &Identity, time: i64, path: &Path, source: TimeSource) {
        if id.has_mapping() {
            self.last_mapping = id.mapping_only();
        }
        self.first_time = self.first_time.min(time);
        self.last_time = self.last_time.max(time);
        self.listed.push(Listed {
            kind,
            time_nanos: time,
            time_source: source,
            path: path.to_path_buf(),
        });
    }

    /// Whether a snapshot with identity `id` comes from this process:
    /// the same binary, build id and address layout. Only what does not
    /// depend on the order of arrival: files come in name order, and
    /// counters compared out of time order would look like restarts. A
    /// restart that leaves the layout as it was (no vdso mapping, a fixed
    /// load address) still shows within the process, as a fall of the
    /// heap's cumulative counters (a new segment).
    fn continues(&self, id: &Identity) -> Result<(), String> {
        // Profiles that name no binary (other producers) only continue
        // each other.
        if self.last_mapping.has_mapping() != id.has_mapping() {
            return Err("another producer".into());
        }
        let mapping = detect_restart(&self.last_mapping, &id.mapping_only());
        if mapping.is_restart() {
            return Err(mapping.describe());
        }
        Ok(())
    }
}

/// What the files read so far have made, in file order.
struct Consumed {
    processes: Vec<Process>,
    deferred: Vec<Deferred>,
    kept_bytes: usize,
    duplicates: Vec<PathBuf>,
    skipped: Vec<(PathBuf, SkipReason)>,
    /// Fingerprint -> the files with it (their bytes are compared on a hit).
    seen: HashMap<(usize, u64), Vec<usize>>,
}

const DEFAULT_KEEP: usize = 256 << 20;

impl Consumed {
    /// The process a snapshot with a mapping belongs to, a new one if none.
    fn route(&mut self, id: &Identity, time: i64, opts: &BuildOptions) -> usize {
        let mut why = String::new();
        // The latest process it continues (replicas alternate; a restart
        // leaves the old one behind).
        let found =
            self.processes
                .iter()
                .enumerate()
                .rev()
                .find_map(|(i, p)| match p.continues(id) {
                    Ok(()) => Some(i),
                    Err(reason) => {
                        if why.is_empty() && p.last_mapping.main_binary == id.main_binary {
                            why = reason;
                        }
                        None
                    }
                });
        match found {
            Some(i) => i,
            None => {
                if why.is_empty() {
                    why = match &id.main_binary {
                        Some(b) => format!("binary {b}"),
                        None => "no binary named".into(),
                    };
                }
                self.processes.push(Process::new(opts, time, why));
                self.processes.len() - 1
            }
        }
    }

    /// Takes file `index`'s outcome, in file order; `flat` holds its lean
    /// decode if it has one.
    fn take(
        &mut self,
        paths: &[PathBuf],
        index: usize,
        read: Read1,
        flat: &FlatProfile,
        opts: &FileOptions,
    ) -> Result<(), SeriesError> {
        let path = &paths[index];
        if !matches!(read.outcome, Outcome::Skip(SkipReason::Unreadable(_))) {
            let same = self.seen.entry(read.fingerprint).or_default();
            if same_bytes(paths, same, index)? {
                self.duplicates.push(path.clone());
                return Ok(());
            }
            same.push(index);
        }
        let source = SnapshotRef::Path(path.clone());
        match read.outcome {
            Outcome::Skip(reason) => self.skipped.push((path.clone(), reason)),
            Outcome::Lean { time, identity } => {
                let p = self.route(&identity, time, &opts.build);
                let proc = &mut self.processes[p];
                let ts = if flat.time_nanos != 0 {
                    TimeSource::Profile
                } else {
                    TimeSource::FileName
                };
                proc.saw(Kind::Heap, &identity, time, path, ts);
                proc.builder.push(Entry {
                    kind: Kind::Heap,
                    time_nanos: time,
                    data: Data::Flat(flat),
                    memstats: None,
                    source: &source,
                })?;
            }
            Outcome::Metrics {
                kind,
                rss,
                capture,
                own_time,
                mtime,
            } => self.deferred.push(Deferred {
                path: path.clone(),
                kind,
                own_time,
                identity: Identity::default(),
                mtime,
                last_gc: None,
                content: Content::Rss(rss, capture),
            }),
            Outcome::Full(f) => {
                let FullSnapshot {
                    kind,
                    parsed,
                    own_time,
                    identity,
                    mtime,
                    size,
                } = *f;
                if let Some((time, ts)) = own_time
                    && identity.has_mapping()
                {
                    let p = self.route(&identity, time, &opts.build);
                    let proc = &mut self.processes[p];
                    proc.saw(kind, &identity, time, path, ts);
                    proc.builder
                        .push(Entry::parsed(kind, time, &parsed, &source))?;
                    return Ok(());
                }
                let budget = if opts.keep_budget == 0 {
                    DEFAULT_KEEP
                } else {
                    opts.keep_budget
                };
                // Parsed profiles take a few times their bytes.
                let cost = size.saturating_mul(4);
                let last_gc = parsed
                    .memstats
                    .as_ref()
                    .map(|m| m.last_gc as i64)
                    .filter(|&t| t > 0);
                let parsed = (self.kept_bytes + cost <= budget).then(|| {
                    self.kept_bytes += cost;
                    Box::new(parsed)
                });
                self.deferred.push(Deferred {
                    path: path.clone(),
                    kind,
                    own_time,
                    identity,
                    mtime,
                    last_gc,
                    content: Content::Parsed(parsed),
                });
            }
        }
        Ok(())
    }

    /// Places and pushes the deferred snapshots, then finishes each
    /// process.
    fn finish(mut self, opts: &FileOptions) -> Result<Vec<ProcessSeries>, SeriesError> {
        // Anchors: every snapshot with a time of its own.
        let mut anchors: Vec<(Anchor, Option<usize>)> = Vec::new();
        for (pi, p) in self.processes.iter().enumerate() {
            for l in &p.listed {
                anchors.push((
                    Anchor {
                        key: name_key(&l.path),
                        time_nanos: l.time_nanos,
                    },
                    Some(pi),
                ));
            }
        }
        for d in &self.deferred {
            if let Some((t, _)) = d.own_time {
                anchors.push((
                    Anchor {
                        key: name_key(&d.path),
                        time_nanos: t,
                    },
                    None,
                ));
            }
        }
        let unplaced: Vec<Unplaced> = self
            .deferred
            .iter()
            .filter(|d| d.own_time.is_none())
            .map(|d| Unplaced {
                key: name_key(&d.path),
                last_gc: d.last_gc,
                mtime_nanos: d.mtime,
            })
            .collect();
        let plain: Vec<Anchor> = anchors.iter().map(|(a, _)| a.clone()).collect();
        let mut placed = place(&unplaced, &plain).into_iter();
        let (span_min, span_max) = (
            plain.iter().map(|a| a.time_nanos).min(),
            plain.iter().map(|a| a.time_nanos).max(),
        );
        // Pair keys -> process, for texts and dumps fetched beside a proto.
        let mut key_process: HashMap<(PathBuf, String), usize> = HashMap::new();
        for (a, p) in &anchors {
            if let Some(p) = p
                && !a.key.key.is_empty()
            {
                key_process
                    .entry((a.key.dir.clone(), a.key.key.clone()))
                    .or_insert(*p);
            }
        }

        let mut disagree: HashMap<(Kind, TimeSource), (usize, PathBuf, f64)> = HashMap::new();
        let mut unattributed: Vec<PathBuf> = Vec::new();
        let mut no_time: Vec<PathBuf> = Vec::new();
        let mut ready: Vec<(i64, TimeSource, usize, Deferred)> = Vec::new();
        let deferred = std::mem::take(&mut self.deferred);
        for d in deferred {
            let (time, ts) = match d.own_time {
                Some(t) => t,
                None => match placed.next().flatten() {
                    Some(t) => t,
                    None => {
                        no_time.push(d.path);
                        continue;
                    }
                },
            };
            if ts.is_weak()
                && let (Some(lo), Some(hi)) = (span_min, span_max)
                && let Some(off) = disagrees(time, lo, hi)
            {
                let e = disagree
                    .entry((d.kind, ts))
                    .or_insert((0, d.path.clone(), off));
                e.0 += 1;
                continue;
            }
            let key = name_key(&d.path);
            let by_pair = key_process
                .get(&(key.dir.clone(), key.key.clone()))
                .copied();
            let process = if self.processes.len() <= 1 {
                if self.processes.is_empty() {
                    self.processes
                        .push(Process::new(&opts.build, time, "no binary named".into()));
                }
                Some(0)
            } else if by_pair.is_some() {
                by_pair
            } else {
                let holding: Vec<usize> = self
                    .processes
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.first_time <= time && time <= p.last_time)
                    .map(|(i, _)| i)
                    .collect();
                match holding.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            };
            match process {
                Some(p) => ready.push((time, ts, p, d)),
                None => unattributed.push(d.path),
            }
        }
        ready.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.3.path.cmp(&b.3.path)));
        // Per process: how many snapshots Guard captured, and the last.
        let mut near_limit: HashMap<usize, (usize, profile::probe::Capture)> = HashMap::new();
        for (time, ts, p, d) in ready {
            let source = SnapshotRef::Path(d.path.clone());
            let proc = &mut self.processes[p];
            proc.saw(d.kind, &d.identity, time, &d.path, ts);
            match d.content {
                Content::Rss(rss, capture) => {
                    if let Some(c) = capture {
                        let near = near_limit.entry(p).or_insert((0, c.clone()));
                        near.0 += 1;
                        near.1 = c;
                    }
                    proc.builder.push(Entry {
                        kind: d.kind,
                        time_nanos: time,
                        data: Data::Rss(rss),
                        memstats: None,
                        source: &source,
                    })?
                }
                Content::Parsed(parsed) => {
                    let parsed = match parsed {
                        Some(p) => *p,
                        None => reparse(&d.path, &opts.parse)?,
                    };
                    proc.builder
                        .push(Entry::parsed(d.kind, time, &parsed, &source))?;
                }
            }
        }
        for (p, (count, last)) in near_limit {
            self.processes[p]
                .builder
                .note(Note::NearLimit { count, last });
        }

        // Notes every process's header carries.
        let mut common: Vec<Note> = Vec::new();
        const NAMED: usize = 10;
        for (path, reason) in self.skipped.iter().take(NAMED) {
            common.push(Note::Skipped {
                path: path.clone(),
                reason: reason.clone(),
            });
        }
        if self.skipped.len() > NAMED {
            common.push(Note::MoreSkipped(self.skipped.len() - NAMED));
        }
        for path in no_time.iter().take(NAMED) {
            common.push(Note::Skipped {
                path: path.clone(),
                reason: SkipReason::NoTime,
            });
        }
        if let Some(first) = self.duplicates.first() {
            common.push(Note::Duplicates {
                count: self.duplicates.len(),
                first: first.clone(),
            });
        }
        let mut disagree: Vec<_> = disagree.into_iter().collect();
        disagree.sort_by_key(|a| a.0);
        for ((kind, source), (count, first, off_seconds)) in disagree {
            common.push(Note::TimesDisagree {
                kind,
                source,
                count,
                first,
                off_seconds,
            });
        }
        if let Some(first) = unattributed.first() {
            common.push(Note::Unattributed {
                count: unattributed.len(),
                first: first.clone(),
            });
        }

        if self.processes.is_empty() {
            let why = common
                .iter()
                .take(3)
                .map(Note::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(SeriesError::NoSnapshots(if why.is_empty() {
                "no files".into()
            } else {
                why
            }));
        }
        self.processes.sort_by_key(|p| p.first_time);
        let of = self.processes.len();
        let mut out = Vec::with_capacity(of);
        for (i, mut p) in self.processes.into_iter().enumerate() {
            if of > 1 {
                p.builder.note(Note::OneOfProcesses {
                    index: i + 1,
                    of,
                    why: p.why.clone(),
                });
            }
            for n in &common {
                p.builder.note(n.clone());
            }
            p.listed.sort_by(|a, b| {
                a.time_nanos
                    .cmp(&b.time_nanos)
                    .then(a.kind.cmp(&b.kind))
                    .then_with(|| a.path.cmp(&b.path))
            });
            for n in time_notes(&p.listed) {
                p.builder.note(n);
            }
            let parse = opts.parse.clone();
            let built = p.builder.finish(&mut |source| match source {
                SnapshotRef::Path(path) => reparse(path, &parse),
                other => Err(SeriesError::Reread {
                    what: other.to_string(),
                    why: "not a file".into(),
                }),
            })?;
            out.push(ProcessSeries {
                built,
                snapshots: p.listed,
            });
        }
        Ok(out)
    }
}

/// Where each kind's times came from, when any came from elsewhere than
/// the snapshots themselves.
fn time_notes(listed: &[Listed]) -> Vec<Note> {
    let mut by_kind: std::collections::BTreeMap<
        Kind,
        std::collections::BTreeMap<TimeSource, usize>,
    > = Default::default();
    for l in listed {
        *by_kind
            .entry(l.kind)
            .or_default()
            .entry(l.time_source)
            .or_insert(0) += 1;
    }
    by_kind
        .into_iter()
        .filter(|(_, s)| s.keys().any(|t| *t != TimeSource::Profile))
        .map(|(kind, sources)| Note::Times {
            kind,
            sources: sources.into_iter().collect(),
        })
        .collect()
}

/// A file read and parsed again.
fn reparse(path: &Path, parse: &ParseOptions) -> Result<Parsed, SeriesError> {
    let bytes = std::fs::read(path).map_err(PathError::on("open", path))?;
    profile::parse(&bytes, parse).map_err(|error| SeriesError::Parse {
        path: path.display().to_string(),
        error,
    })
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
            t.error.get_or_insert(SeriesError::ThreadPanicked);
            drop(t);
            self.turn.notify_all();
        }
    }
}

/// The shared state of [`read_all`]'s workers.
struct Turns {
    /// The next file to take.
    next: usize,
    /// The first error, which stops everything.
    error: Option<SeriesError>,
    consumed: Consumed,
}

/// Reads every file. Each worker takes the next file, parses it, then
/// waits for its turn and hands it over itself, in file order: the profile
/// is still in the cache of the core that decoded it, no thread only
/// waits, and at most one profile per worker is held at a time.
fn read_all(paths: &[PathBuf], opts: &FileOptions) -> Result<Consumed, SeriesError> {
    let turns = Mutex::new(Turns {
        next: 0,
        error: None,
        consumed: Consumed {
            processes: Vec::new(),
            deferred: Vec::new(),
            kept_bytes: 0,
            duplicates: Vec::new(),
            skipped: Vec::new(),
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
            let (taken, turns, turn) = (&taken, &turns, &turn);
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
                    let read = read_one(&paths[i], &opts.parse, &mut bufs, &mut flat);
                    let mut t = turns.lock().unwrap_or_else(|e| e.into_inner());
                    while t.next != i && t.error.is_none() {
                        t = turn.wait(t).unwrap_or_else(|e| e.into_inner());
                    }
                    if t.error.is_some() {
                        return;
                    }
                    let result = read.and_then(|r| t.consumed.take(paths, i, r, &flat, opts));
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
    match error {
        Some(e) => Err(e),
        None => Ok(consumed),
    }
}
