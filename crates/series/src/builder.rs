//! The one builder of the series `drift::hunt` reads. Plain files, files
//! streamed at scale, an archive (its index's per-site heap values and its
//! files) and `watch`'s live view all push their snapshots here, one at a
//! time, so they cannot disagree on a rule.
//!
//! Format choice: heap debug=1 texts and heap protos describe the same
//! heap, so only one format makes the heap series: the more numerous
//! (protos on a tie); the texts still give their MemStats. Goroutine dumps
//! (debug=2) and goroutine profiles (proto, debug=1) group goroutines
//! slightly differently: only the more numerous format is used (dumps on a
//! tie: they carry wait times and `created by` call sites). Both formats
//! are built as snapshots arrive and one is kept at the end, so nothing
//! has to be held or read twice to choose.
//!
//! Order: each series must grow in time order. A snapshot older than the
//! last one pushed to its series marks that series unordered; [`finish`]
//! then rebuilds it from its snapshots in time order, read again through
//! the caller's `reload`. MemStats points and goroutineleak profiles do
//! not depend on order.
//!
//! [`finish`]: SeriesBuilder::finish

use std::collections::BTreeMap;
use std::path::PathBuf;

use drift::goroutine::{GoroutineSeries, GoroutineSeriesBuilder, GroupOptions};
use drift::memory::MemPoint;
use drift::render::Header;
use drift::resource::ResourceSeries;
use drift::series::{HeapSeries, HeapSeriesBuilder, METRICS, SeriesOptions, Site};
use drift::{HuntOptions, Inputs, Report};
use profile::goroutine_dump::Goroutine;
use profile::legacy::MemStats;
use profile::proto::FlatProfile;
use profile::{Parsed, Profile};

use crate::notes::Note;
use crate::{Kind, SeriesError};

/// Where a snapshot came from: a file, or an archive's snapshot id. The
/// builder keeps it per point, to read a snapshot again and to link a
/// point to its snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SnapshotRef {
    Path(PathBuf),
    Id(i64),
    /// A profile kept by a profile store (Pyroscope), by the store's id
    /// of its heap `inuse_space` (or goroutine) part.
    Stored(String),
}

impl std::fmt::Display for SnapshotRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotRef::Path(p) => write!(f, "{}", p.display()),
            SnapshotRef::Id(id) => write!(f, "snapshot {id}"),
            SnapshotRef::Stored(id) => write!(f, "stored profile {id}"),
        }
    }
}

/// A snapshot's contents as the builder takes them.
#[derive(Clone, Copy)]
pub enum Data<'a> {
    /// Any parsed profile (heap, goroutine, goroutineleak).
    Profile(&'a Profile),
    /// A heap profile.proto read by the lean decoder.
    Flat(&'a FlatProfile),
    /// A `debug=2` dump's goroutines.
    Dump(&'a [Goroutine]),
    /// A heap snapshot's per-site values from an archive's index, in the
    /// order of the site table given to [`SeriesBuilder::index_sites`].
    Sites(&'a [[i64; METRICS]]),
    /// The process's current resident set size, bytes (a metrics text):
    /// it goes beside the MemStats point taken nearest in time.
    Rss(profile::metrics::Resident),
    /// Nothing for a series: the snapshot is counted for the format
    /// choice (and gives its MemStats), but its series is built only if
    /// that format is chosen, by reading the snapshots again. An archive
    /// pushes the format it does not expect to be chosen this way.
    None,
}

/// One snapshot pushed into the builder.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub kind: Kind,
    pub time_nanos: i64,
    pub data: Data<'a>,
    /// A heap debug=1 text's MemStats footer.
    pub memstats: Option<&'a MemStats>,
    pub source: &'a SnapshotRef,
}

impl<'a> Entry<'a> {
    /// An entry of a parsed snapshot.
    pub fn parsed(
        kind: Kind,
        time_nanos: i64,
        parsed: &'a Parsed,
        source: &'a SnapshotRef,
    ) -> Entry<'a> {
        let data = match &parsed.goroutines {
            Some(g) => Data::Dump(g),
            None => Data::Profile(&parsed.profile),
        };
        Entry {
            kind,
            time_nanos,
            data,
            memstats: parsed.memstats.as_ref(),
            source,
        }
    }
}

/// How to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Package path prefixes of the user's own code (see
    /// `drift::series::SeriesOptions::user_prefixes`).
    pub user_prefixes: Vec<String>,
    /// Keep every snapshot up to 128 per heap format, then only every 2nd,
    /// past 256 every 4th, and so on: the live view of a long `watch` of a
    /// service with 10k sites stays within tens of MB (32 bytes per site
    /// and snapshot). drift reduces long series to 64 points anyway; the
    /// archive keeps everything.
    pub thin_heap: bool,
}

/// Where a point of each series came from.
#[derive(Clone, Debug, Default)]
pub struct Points {
    pub heap: Vec<SnapshotRef>,
    pub goroutines: Vec<SnapshotRef>,
    pub memory: Vec<SnapshotRef>,
    /// Per custom profile, in the order of [`Built::resources`].
    pub resources: Vec<Vec<SnapshotRef>>,
}

/// The series `drift::hunt` reads, the header that describes them, and the
/// snapshot behind each point.
pub struct Built {
    pub heap: Option<HeapSeries>,
    pub goroutines: Option<GoroutineSeries>,
    pub memory: Vec<MemPoint>,
    pub memory_breaks: Vec<usize>,
    /// One series per custom profile of tracked resources, by name.
    pub resources: Vec<ResourceSeries>,
    pub header: Header,
    pub points: Points,
}

impl Built {
    /// What `drift::hunt` reads.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            heap: self.heap.as_ref(),
            goroutines: self.goroutines.as_ref(),
            memory: &self.memory,
            memory_breaks: &self.memory_breaks,
            resources: &self.resources,
        }
    }

    /// The analysis of these series.
    pub fn hunt(&self, opts: &HuntOptions) -> Report {
        drift::hunt(&self.inputs(), opts)
    }
}

/// The series of one format, and what it needs to be rebuilt in time
/// order.
struct Stream<B> {
    builder: B,
    /// (time, source) of every snapshot of this format, pushed or not.
    arrivals: Vec<(i64, SnapshotRef)>,
    /// The source of each point pushed, in order.
    points: Vec<SnapshotRef>,
    last_time: Option<i64>,
    /// A snapshot came out of time order, or without its data: rebuilt at
    /// the end.
    rebuild: bool,
    /// Snapshots seen, for thinning.
    seen: u64,
}

impl<B> Stream<B> {
    fn new(builder: B) -> Self {
        Stream {
            builder,
            arrivals: Vec::new(),
            points: Vec::new(),
            last_time: None,
            rebuild: false,
            seen: 0,
        }
    }

    /// Records an arrival; whether to push it now.
    fn admit(&mut self, time: i64, source: &SnapshotRef, data: &Data<'_>, thin: bool) -> bool {
        self.arrivals.push((time, source.clone()));
        self.rebuild |= self.last_time.is_some_and(|t| time < t) || matches!(data, Data::None);
        self.last_time = Some(time);
        let stride = if thin {
            (self.seen / 128).next_power_of_two()
        } else {
            1
        };
        let keep = self.seen.is_multiple_of(stride);
        self.seen += 1;
        !self.rebuild && keep
    }

    fn count(&self) -> usize {
        self.arrivals.len()
    }
}

/// A heap series built from profiles, or taken from an archive's index.
enum HeapRows {
    Profiles(Box<HeapSeriesBuilder>),
    Index {
        sites: Vec<Site>,
        has_metric: [bool; METRICS],
        /// The profiles' sampling period, bytes, when known.
        period: Option<i64>,
        time_nanos: Vec<i64>,
        breaks: Vec<usize>,
        rows: Vec<Vec<[i64; METRICS]>>,
        last_alloc: Option<i64>,
    },
}

impl HeapRows {
    fn len(&self) -> usize {
        match self {
            HeapRows::Profiles(b) => b.current().len(),
            HeapRows::Index { time_nanos, .. } => time_nanos.len(),
        }
    }
}

/// The one series builder (see the module doc).
pub struct SeriesBuilder {
    opts: BuildOptions,
    /// Heap protos ([`Kind::Heap`]) and debug=1 texts.
    heap_proto: Stream<HeapRows>,
    heap_text: Stream<HeapRows>,
    /// Goroutine dumps and goroutine profiles (proto and debug=1).
    dumps: Stream<GoroutineSeriesBuilder>,
    goroutine_profiles: Stream<GoroutineSeriesBuilder>,
    /// Custom profiles of tracked resources, by name (their sample type).
    resources: BTreeMap<String, Stream<GoroutineSeriesBuilder>>,
    /// goroutineleak profiles seen (pushed to both goroutine streams).
    leaks: Vec<SnapshotRef>,
    memory: Vec<(MemPoint, SnapshotRef)>,
    /// Current RSS readings: (time, bytes).
    rss: Vec<(i64, profile::metrics::Resident)>,
    /// Whether some of those readings came from heapdrift's Go companion.
    rss_from_probe: bool,
    process: String,
    build_id: String,
    notes: Vec<Note>,
}

fn series_opts(o: &BuildOptions) -> SeriesOptions {
    SeriesOptions {
        user_prefixes: o.user_prefixes.clone(),
        ..Default::default()
    }
}

fn group_opts(o: &BuildOptions) -> GroupOptions {
    GroupOptions {
        user_prefixes: o.user_prefixes.clone(),
    }
}

impl SeriesBuilder {
    pub fn new(opts: BuildOptions) -> SeriesBuilder {
        let heap = || {
            Stream::new(HeapRows::Profiles(Box::new(HeapSeriesBuilder::new(
                series_opts(&opts),
            ))))
        };
        let gor = || Stream::new(GoroutineSeriesBuilder::new(group_opts(&opts)));
        SeriesBuilder {
            heap_proto: heap(),
            heap_text: heap(),
            dumps: gor(),
            goroutine_profiles: gor(),
            resources: BTreeMap::new(),
            leaks: Vec::new(),
            memory: Vec::new(),
            rss: Vec::new(),
            rss_from_probe: false,
            process: String::new(),
            build_id: String::new(),
            notes: Vec::new(),
            opts,
        }
    }

    /// Heap snapshots of `kind` will come as per-site values from an
    /// archive's index ([`Data::Sites`]), over this site table, attributed
    /// with the default options.
    /// `period` is the profiles' sampling period (bytes), which the index
    /// does not keep: the caller reads it from one of the files.
    pub fn index_sites(
        &mut self,
        kind: Kind,
        sites: Vec<Site>,
        has_metric: [bool; METRICS],
        period: Option<i64>,
    ) {
        let stream = match kind {
            Kind::HeapDebug1 => &mut self.heap_text,
            _ => &mut self.heap_proto,
        };
        stream.builder = HeapRows::Index {
            sites,
            has_metric,
            period,
            time_nanos: Vec::new(),
            breaks: Vec::new(),
            rows: Vec::new(),
            last_alloc: None,
        };
    }

    /// The process's name and build id for the header, when the caller
    /// knows them better than the profiles (an archive's series identity).
    pub fn set_process(&mut self, name: &str, build_id: &str) {
        self.process = name.to_string();
        self.build_id = build_id.to_string();
    }

    /// A note for the header.
    pub fn note(&mut self, note: Note) {
        self.notes.push(note);
    }

    /// Adds one snapshot. Kinds `hunt` does not read are ignored.
    pub fn push(&mut self, e: Entry<'_>) -> Result<(), SeriesError> {
        let err = |error| SeriesError::Series {
            path: e.source.to_string(),
            error,
        };
        if let Some(m) = e.memstats {
            self.memory.push((
                MemPoint {
                    time_nanos: e.time_nanos,
                    stats: m.clone(),
                    rss: None,
                    anon_rss: None,
                },
                e.source.clone(),
            ));
        }
        self.learn_process(&e.data);
        let thin = self.opts.thin_heap;
        match e.kind {
            Kind::Heap | Kind::HeapDebug1 => {
                let stream = if e.kind == Kind::Heap {
                    &mut self.heap_proto
                } else {
                    &mut self.heap_text
                };
                if stream.admit(e.time_nanos, e.source, &e.data, thin) {
                    push_heap(&mut stream.builder, e.data, e.time_nanos).map_err(err)?;
                    stream.points.push(e.source.clone());
                }
            }
            Kind::Goroutine | Kind::GoroutineDebug1 | Kind::GoroutineDump => {
                let stream = if e.kind == Kind::GoroutineDump {
                    &mut self.dumps
                } else {
                    &mut self.goroutine_profiles
                };
                if stream.admit(e.time_nanos, e.source, &e.data, false) {
                    push_goroutines(&mut stream.builder, e.data, e.time_nanos).map_err(err)?;
                    stream.points.push(e.source.clone());
                }
            }
            Kind::Metrics | Kind::Probe => {
                if let Data::Rss(bytes) = e.data {
                    self.rss.push((e.time_nanos, bytes));
                    self.rss_from_probe |= e.kind == Kind::Probe;
                }
            }
            Kind::Resource => {
                // The profile names the resource; without the profile
                // (Data::None) there is nothing to count.
                let Data::Profile(p) = e.data else {
                    return Ok(());
                };
                let Some(name) = resource_name(p) else {
                    return Ok(());
                };
                let opts = group_opts(&self.opts);
                let stream = self
                    .resources
                    .entry(name.to_string())
                    .or_insert_with(|| Stream::new(GoroutineSeriesBuilder::new(opts)));
                if stream.admit(e.time_nanos, e.source, &e.data, false) {
                    push_goroutines(&mut stream.builder, e.data, e.time_nanos).map_err(err)?;
                    stream.points.push(e.source.clone());
                }
            }
            Kind::GoroutineLeak => {
                if let Data::Profile(p) = e.data {
                    self.dumps.builder.push_leak_profile(p);
                    self.goroutine_profiles.builder.push_leak_profile(p);
                }
                self.leaks.push(e.source.clone());
            }
            _ => {}
        }
        Ok(())
    }

    /// The process's name and build id from the first main mapping seen.
    fn learn_process(&mut self, data: &Data<'_>) {
        if !self.process.is_empty() {
            return;
        }
        let (file, build_id) = match data {
            Data::Profile(p) => match p.mappings.first() {
                Some(m) => (m.file.clone(), m.build_id.clone()),
                None => return,
            },
            Data::Flat(f) => match f.mappings.first() {
                Some(m) => (
                    f.string(m.file).into_owned(),
                    f.string(m.build_id).into_owned(),
                ),
                None => return,
            },
            _ => return,
        };
        if file.is_empty() {
            return;
        }
        self.process = file.rsplit('/').next().unwrap_or(&file).to_string();
        self.build_id = build_id;
    }

    fn heap_from_text(&self) -> bool {
        heap_format(self.heap_proto.count(), self.heap_text.count()) == Kind::HeapDebug1
    }

    fn goroutines_from_dumps(&self) -> bool {
        goroutine_format(self.dumps.count(), self.goroutine_profiles.count()) == Kind::GoroutineDump
    }

    /// The series so far, for a live view: the formats chosen as of now.
    /// Unordered series (never the case for a live source) show what was
    /// pushed before they went out of order.
    pub fn current(&self) -> Current {
        let heap = match &self.pick_heap().builder {
            HeapRows::Profiles(b) => Some(b.current().clone()),
            HeapRows::Index { .. } => None,
        };
        let goroutines = self.pick_goroutines().builder.snapshot();
        let mut points = self.memory.clone();
        points.sort_by(|a, b| a.0.time_nanos.cmp(&b.0.time_nanos).then(a.1.cmp(&b.1)));
        let (mut memory, memory_breaks) = memory_series(&points);
        attach_rss(&mut memory, &self.rss);
        let resources = self
            .resources
            .iter()
            .map(|(name, stream)| ResourceSeries {
                name: name.clone(),
                series: stream.builder.snapshot(),
            })
            .filter(|r| !r.series.is_empty())
            .collect();
        Current {
            heap: heap.filter(|h| !h.is_empty()),
            goroutines: (!goroutines.is_empty()).then_some(goroutines),
            memory,
            memory_breaks,
            resources,
        }
    }

    fn pick_heap(&self) -> &Stream<HeapRows> {
        if self.heap_from_text() {
            &self.heap_text
        } else {
            &self.heap_proto
        }
    }

    fn pick_goroutines(&self) -> &Stream<GoroutineSeriesBuilder> {
        if self.goroutines_from_dumps() {
            &self.dumps
        } else {
            &self.goroutine_profiles
        }
    }

    /// The series, the header and the points' sources. A series whose
    /// snapshots came out of time order is rebuilt from them in time order
    /// (ties by source), each read again by `reload`.
    pub fn finish(
        mut self,
        reload: &mut dyn FnMut(&SnapshotRef) -> Result<Parsed, SeriesError>,
    ) -> Result<Built, SeriesError> {
        let from_text = self.heap_from_text();
        let from_dumps = self.goroutines_from_dumps();
        let (protos, texts) = (self.heap_proto.count(), self.heap_text.count());
        let (dumps, gprofs) = (self.dumps.count(), self.goroutine_profiles.count());
        if protos > 0 && texts > 0 {
            self.notes.push(Note::HeapFormat {
                from_text,
                protos,
                texts,
            });
        }
        if dumps > 0 && gprofs > 0 {
            self.notes.push(Note::GoroutineFormat {
                from_dumps,
                dumps,
                profiles: gprofs,
            });
        }
        let opts = self.opts.clone();
        let heap_stream = if from_text {
            self.heap_text
        } else {
            self.heap_proto
        };
        let (heap, heap_points) = finish_heap(heap_stream, &opts, reload)?;
        let gor_stream = if from_dumps {
            self.dumps
        } else {
            self.goroutine_profiles
        };
        let (goroutines, goroutine_points) =
            finish_goroutines(gor_stream, &self.leaks, &opts, reload)?;
        self.memory
            .sort_by(|a, b| a.0.time_nanos.cmp(&b.0.time_nanos).then(a.1.cmp(&b.1)));
        let (mut memory, memory_breaks) = memory_series(&self.memory);
        let with_rss = attach_rss(&mut memory, &self.rss);
        if with_rss > 0 {
            self.notes.push(Note::CurrentRss {
                with: with_rss,
                of: memory.len(),
                from_probe: self.rss_from_probe,
            });
        }
        let memory_points: Vec<SnapshotRef> = self.memory.into_iter().map(|(_, s)| s).collect();
        let mut resources = Vec::new();
        let mut resource_points = Vec::new();
        for (name, stream) in self.resources {
            let (series, points) = finish_goroutines(stream, &[], &opts, reload)?;
            if let Some(series) = series.filter(|s| !s.is_empty()) {
                resources.push(ResourceSeries { name, series });
                resource_points.push(points);
            }
        }

        let heap = heap.filter(|h| !h.is_empty());
        let goroutines = goroutines.filter(|g| !g.is_empty() || !self.leaks.is_empty());
        let mut header = Header {
            process: self.process,
            build_id: self.build_id,
            ..Default::default()
        };
        let mut times: Vec<i64> = Vec::new();
        if let Some(h) = &heap {
            header.snapshots.push(("heap".into(), h.len()));
            times.extend(h.time_nanos.first().into_iter().chain(h.time_nanos.last()));
            if !h.breaks.is_empty() {
                self.notes.push(Note::Restarts(h.breaks.len()));
            }
        }
        if let Some(g) = &goroutines {
            if !g.is_empty() {
                header.snapshots.push(("goroutine".into(), g.len()));
            }
            times.extend(g.time_nanos.first().into_iter().chain(g.time_nanos.last()));
        }
        if !self.leaks.is_empty() {
            header
                .snapshots
                .push(("goroutineleak".into(), self.leaks.len()));
        }
        for r in &resources {
            header
                .snapshots
                .push((format!("{} (resource)", r.name), r.series.len()));
            let t = &r.series.time_nanos;
            times.extend(t.first().into_iter().chain(t.last()));
        }
        if !memory.is_empty() {
            header.snapshots.push(("memstats".into(), memory.len()));
            times.extend(memory.first().map(|m| m.time_nanos));
            times.extend(memory.last().map(|m| m.time_nanos));
        }
        header.start_unix_nanos = times.iter().copied().min().unwrap_or(0);
        header.end_unix_nanos = times.iter().copied().max().unwrap_or(0);
        header.heap_sites = heap.as_ref().map_or(0, |h| h.sites.len());
        header.goroutine_groups = goroutines.as_ref().map_or(0, |g| g.groups.len());
        header.resource_sites = resources.iter().map(|r| r.series.groups.len()).sum();
        // Where the series come from first, then the formats used, then
        // the rest.
        self.notes.sort_by_key(|n| match n {
            Note::Text(_) | Note::OneOfProcesses { .. } => 0,
            Note::HeapFormat { .. } | Note::GoroutineFormat { .. } | Note::Restarts(_) => 1,
            _ => 2,
        });
        header.notes = self.notes.iter().map(Note::to_string).collect();
        Ok(Built {
            heap,
            goroutines,
            memory,
            memory_breaks,
            resources,
            header,
            points: Points {
                heap: heap_points,
                goroutines: goroutine_points,
                memory: memory_points,
                resources: resource_points,
            },
        })
    }
}

/// The heap format that makes the heap series, given how many snapshots of
/// each there are: the more numerous, protos on a tie.
pub fn heap_format(protos: usize, texts: usize) -> Kind {
    if texts > protos {
        Kind::HeapDebug1
    } else {
        Kind::Heap
    }
}

/// The goroutine format that makes the goroutine series: dumps, or
/// goroutine profiles (proto and debug=1, [`Kind::Goroutine`]), the more
/// numerous, dumps on a tie.
pub fn goroutine_format(dumps: usize, profiles: usize) -> Kind {
    if dumps >= profiles {
        Kind::GoroutineDump
    } else {
        Kind::Goroutine
    }
}

/// The live view's series ([`SeriesBuilder::current`]).
pub struct Current {
    pub heap: Option<HeapSeries>,
    pub goroutines: Option<GoroutineSeries>,
    pub memory: Vec<MemPoint>,
    pub memory_breaks: Vec<usize>,
    pub resources: Vec<ResourceSeries>,
}

impl Current {
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            heap: self.heap.as_ref(),
            goroutines: self.goroutines.as_ref(),
            memory: &self.memory,
            memory_breaks: &self.memory_breaks,
            resources: &self.resources,
        }
    }
}

/// MemStats points (time-ordered) and their restarts: a fall of the
/// cumulative TotalAlloc.
fn memory_series(points: &[(MemPoint, SnapshotRef)]) -> (Vec<MemPoint>, Vec<usize>) {
    let mut out: Vec<MemPoint> = Vec::with_capacity(points.len());
    let mut breaks = Vec::new();
    for (p, _) in points {
        if out
            .last()
            .is_some_and(|l| p.stats.total_alloc < l.stats.total_alloc)
        {
            breaks.push(out.len());
        }
        out.push(p.clone());
    }
    (out, breaks)
}

/// Sets each MemStats point's current RSS to the reading taken nearest in
/// time, when one is within [`RSS_PAIRING`]: watch reads both in the same
/// round, a recorder in the same loop. Returns how many points got one.
fn attach_rss(memory: &mut [MemPoint], readings: &[(i64, profile::metrics::Resident)]) -> usize {
    if readings.is_empty() {
        return 0;
    }
    let mut sorted = readings.to_vec();
    sorted.sort_unstable_by_key(|&(t, r)| (t, r.total, r.anonymous));
    let mut paired = 0;
    for p in memory.iter_mut() {
        let i = sorted.partition_point(|&(t, _)| t < p.time_nanos);
        let nearest = [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| sorted.get(j))
            .min_by_key(|(t, _)| (t - p.time_nanos).abs());
        let reading = nearest
            .filter(|(t, _)| (t - p.time_nanos).abs() <= RSS_PAIRING)
            .map(|&(_, v)| v);
        p.rss = reading.map(|r| r.total);
        p.anon_rss = reading.and_then(|r| r.anonymous);
        paired += usize::from(p.rss.is_some());
    }
    paired
}

/// How far apart a MemStats point and an RSS reading may be taken to be
/// read together: RSS changes in seconds under a leak, and readings of one
/// round are milliseconds apart.
const RSS_PAIRING: i64 = 10_000_000_000;

fn push_heap(rows: &mut HeapRows, data: Data<'_>, time: i64) -> Result<(), drift::DriftError> {
    match (rows, data) {
        (HeapRows::Profiles(b), Data::Profile(p)) => b.push_at(p, time),
        (HeapRows::Profiles(b), Data::Flat(f)) => b.push_flat(f, time),
        (
            HeapRows::Index {
                sites,
                time_nanos,
                breaks,
                rows,
                last_alloc,
                ..
            },
            Data::Sites(values),
        ) => {
            if values.len() > sites.len() {
                return Err(drift::DriftError::Parts(
                    "a row has more values than there are sites",
                ));
            }
            if time_nanos.last().is_some_and(|&t| time < t) {
                return Err(drift::DriftError::OutOfOrder {
                    index: time_nanos.len(),
                });
            }
            // As HeapSeriesBuilder: a fall of the cumulative allocation
            // total is a restart.
            let alloc: i64 = values
                .iter()
                .map(|v| v[drift::series::Metric::AllocSpace as usize])
                .fold(0, i64::saturating_add);
            if last_alloc.is_some_and(|prev| alloc < prev) && !time_nanos.is_empty() {
                breaks.push(time_nanos.len());
            }
            *last_alloc = Some(alloc);
            time_nanos.push(time);
            rows.push(values.to_vec());
            Ok(())
        }
        (rows, _) => Err(drift::DriftError::NotHeap { index: rows.len() }),
    }
}

fn push_goroutines(
    b: &mut GoroutineSeriesBuilder,
    data: Data<'_>,
    time: i64,
) -> Result<(), drift::DriftError> {
    match data {
        Data::Profile(p) => b.push_at(p, time),
        Data::Dump(g) => b.push_dump(g, time),
        _ => Err(drift::DriftError::NotGoroutine { index: 0 }),
    }
}

/// The arrivals of a stream in time order (ties by source).
fn sorted(mut arrivals: Vec<(i64, SnapshotRef)>) -> Vec<(i64, SnapshotRef)> {
    arrivals.sort();
    arrivals
}

fn finish_heap(
    stream: Stream<HeapRows>,
    opts: &BuildOptions,
    reload: &mut dyn FnMut(&SnapshotRef) -> Result<Parsed, SeriesError>,
) -> Result<(Option<HeapSeries>, Vec<SnapshotRef>), SeriesError> {
    if stream.count() == 0 {
        return Ok((None, Vec::new()));
    }
    let (builder, points) = if stream.rebuild {
        let mut again = HeapSeriesBuilder::new(series_opts(opts));
        let mut points = Vec::new();
        for (time, source) in sorted(stream.arrivals) {
            let r = reload(&source)?;
            again
                .push_at(&r.profile, time)
                .map_err(|error| SeriesError::Series {
                    path: source.to_string(),
                    error,
                })?;
            points.push(source);
        }
        (HeapRows::Profiles(Box::new(again)), points)
    } else {
        (stream.builder, stream.points)
    };
    let series = match builder {
        HeapRows::Profiles(b) => (*b).finish(),
        HeapRows::Index {
            sites,
            has_metric,
            period,
            time_nanos,
            breaks,
            rows,
            ..
        } => HeapSeries::from_parts(time_nanos, breaks, sites, has_metric, rows, period).map_err(
            |error| SeriesError::Series {
                path: points.first().map(|p| p.to_string()).unwrap_or_default(),
                error,
            },
        )?,
    };
    Ok((Some(series), points))
}

fn finish_goroutines(
    stream: Stream<GoroutineSeriesBuilder>,
    leaks: &[SnapshotRef],
    opts: &BuildOptions,
    reload: &mut dyn FnMut(&SnapshotRef) -> Result<Parsed, SeriesError>,
) -> Result<(Option<GoroutineSeries>, Vec<SnapshotRef>), SeriesError> {
    if stream.count() == 0 && leaks.is_empty() {
        return Ok((None, Vec::new()));
    }
    if !stream.rebuild {
        return Ok((Some(stream.builder.finish()), stream.points));
    }
    let mut again = GoroutineSeriesBuilder::new(group_opts(opts));
    let mut points = Vec::new();
    for (time, source) in sorted(stream.arrivals) {
        let r = reload(&source)?;
        let data = match &r.goroutines {
            Some(g) => Data::Dump(g),
            None => Data::Profile(&r.profile),
        };
        push_goroutines(&mut again, data, time).map_err(|error| SeriesError::Series {
            path: source.to_string(),
            error,
        })?;
        points.push(source);
    }
    for source in leaks {
        let r = reload(source)?;
        again.push_leak_profile(&r.profile);
    }
    Ok((Some(again.finish()), points))
}

/// The resource a custom profile counts: its one sample type's name.
fn resource_name(p: &Profile) -> Option<&str> {
    match p.sample_types.as_slice() {
        [t] if !t.r#type.is_empty() => Some(&t.r#type),
        _ => None,
    }
}
