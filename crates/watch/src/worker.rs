//! One target's loop: probe, rounds on schedule, backoff, gaps, restarts,
//! archive writes and the live analysis.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use fetch::watch::{Client, Endpoint, Failure, FailureClass, Index, Target};
use profile::Parsed;
use series::builder::{BuildOptions, Data, Entry, SeriesBuilder, SnapshotRef};
use store::{
    Archive, Continuity, GapReason, Identity, Kind, SeriesId, SeriesInfo, Summary, TargetId,
    detect_restart,
};

use crate::rss::{self, RssSource};
use crate::schedule::Due;
use crate::{Event, Stop, Suspect, Totals, WatchOptions};

fn kind_of(e: Endpoint) -> Kind {
    match e {
        Endpoint::Heap => Kind::Heap,
        Endpoint::HeapDebug1 => Kind::HeapDebug1,
        Endpoint::Allocs => Kind::Allocs,
        Endpoint::Goroutine => Kind::Goroutine,
        Endpoint::GoroutineDump => Kind::GoroutineDump,
        Endpoint::GoroutineLeak => Kind::GoroutineLeak,
    }
}

/// How often (in rounds) the Go index is read again for custom profiles
/// created since.
const INDEX_REFRESH_ROUNDS: u64 = 10;

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn gap_reason(f: &Failure) -> GapReason {
    match f.class {
        FailureClass::NoSuchHost
        | FailureClass::Refused
        | FailureClass::Unreachable
        | FailureClass::Reset => GapReason::Down,
        FailureClass::Timeout => GapReason::Timeout,
        FailureClass::Status(c) if c >= 500 => GapReason::ServerError,
        // A 4xx or an answer that is not HTTP: not what a pprof endpoint
        // serves.
        FailureClass::Status(_) | FailureClass::TooLarge | FailureClass::Protocol => {
            GapReason::Garbage
        }
    }
}

/// Whether a snapshot of this kind carries evidence `detect_restart` can
/// trust. Dumps are left out: their only field, the highest live goroutine
/// id, falls whenever young goroutines exit, and heap and goroutine protos
/// of the same round already carry the reliable fields.
fn checks_restart(k: Kind) -> bool {
    matches!(
        k,
        Kind::Heap | Kind::HeapDebug1 | Kind::Allocs | Kind::Goroutine | Kind::GoroutineLeak
    )
}

/// Where the archive put a snapshot, if it took it.
fn stored_path(
    archive: &Archive,
    put: &Result<store::SnapshotId, store::StoreError>,
) -> Option<PathBuf> {
    let id = *put.as_ref().ok()?;
    archive.snapshot(id).ok().map(|info| archive.path(&info))
}

/// A snapshot of the kind it claims to be; else the answer is garbage.
fn sane(k: Kind, p: &Parsed, s: &Summary) -> Result<(), String> {
    let ok = match k {
        Kind::Heap | Kind::Allocs | Kind::HeapDebug1 => s.inuse_space.is_some(),
        Kind::Goroutine => s.goroutines.is_some(),
        Kind::GoroutineLeak => {
            let t = &p.profile.sample_types;
            t.len() == 1 && matches!(t[0].r#type.as_str(), "goroutineleak" | "goroutine")
        }
        Kind::GoroutineDump => p.goroutines.is_some(),
        Kind::Resource => matches!(
            p.profile.sample_types.as_slice(),
            [t] if t.unit == "count"
        ),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("not a {} profile", k.as_str()))
    }
}

struct OpenGap {
    from_ns: i64,
    reason: GapReason,
    message: String,
}

enum Probe {
    Pending,
    Done(Option<Index>),
}

/// The target's RSS source, looked for once, after its first heap profile
/// (which names the profiled binary).
enum Rss {
    Pending,
    Found(RssSource),
    None,
}

pub(crate) struct Worker {
    idx: usize,
    target: Target,
    tid: TargetId,
    /// The archive's latest series of this target when the watch began:
    /// continued if the first heap snapshot is the same process.
    resume: Option<SeriesInfo>,
    archive: Arc<Mutex<Option<Archive>>>,
    opts: Arc<WatchOptions>,
    stop: Stop,
    tx: Sender<Event>,
    started: Instant,
    client: Client,
    probe: Probe,
    rss: Rss,
    absent: HashSet<Kind>,
    /// Custom profiles the index listed that answered 404 since.
    absent_custom: HashSet<String>,
    series: Option<SeriesId>,
    prev: HashMap<Kind, Identity>,
    merged: Identity,
    due: Due,
    round: u64,
    gaps: HashMap<Option<Kind>, OpenGap>,
    /// The live analysis: the current series' snapshots, pushed as they
    /// are stored, into the builder `hunt` uses on the archive.
    live: SeriesBuilder,
    totals: Totals,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        idx: usize,
        target: Target,
        tid: TargetId,
        resume: Option<SeriesInfo>,
        archive: Arc<Mutex<Option<Archive>>>,
        opts: Arc<WatchOptions>,
        stop: Stop,
        tx: Sender<Event>,
        started: Instant,
    ) -> Worker {
        Worker {
            idx,
            client: Client::new(opts.timeout),
            target,
            tid,
            resume,
            archive,
            opts,
            stop,
            tx,
            started,
            probe: Probe::Pending,
            rss: Rss::Pending,
            absent: HashSet::new(),
            absent_custom: HashSet::new(),
            series: None,
            prev: HashMap::new(),
            merged: Identity::default(),
            due: Due::default(),
            round: 0,
            gaps: HashMap::new(),
            live: live_builder(),
            totals: Totals::default(),
        }
    }

    fn send(&self, e: Event) {
        let _ = self.tx.send(e);
    }

    pub(crate) fn run(mut self) {
        let end = self.opts.duration.map(|d| self.started + d);
        let mut next = self.started;
        let mut backoff = self.opts.backoff_start.min(self.opts.every);
        loop {
            // Rounds start before the end; past the last one the worker
            // still waits for the end, so that `--for` is the watch's
            // length whatever the interval or backoff.
            let wake = end.map_or(next, |end| next.min(end));
            if self.stop.sleep_until(wake) || end.is_some_and(|end| Instant::now() >= end) {
                break;
            }
            let t = Instant::now();
            let at = now_ns();
            match self.round(at) {
                Ok(stored) => {
                    self.close_gap(None, at);
                    self.after_round(stored);
                    self.round += 1;
                    backoff = self.opts.backoff_start.min(self.opts.every);
                    // Late (a slow round or a retry): start the next one
                    // now rather than in a burst of catch-up rounds.
                    next = (t + self.opts.every).max(Instant::now());
                }
                Err((reason, message)) => {
                    self.fail(None, reason, message, at);
                    next = Instant::now() + backoff;
                    backoff = (backoff * 2).min(self.opts.every);
                }
            }
        }
        let at = now_ns();
        let open: Vec<Option<Kind>> = self.gaps.keys().copied().collect();
        for k in open {
            self.close_gap(k, at);
        }
        self.send(Event::Done { target: self.idx });
    }

    fn has(&self, e: Endpoint) -> bool {
        if self.absent.contains(&kind_of(e)) {
            return false;
        }
        match &self.probe {
            Probe::Done(Some(ix)) => ix.has(e.profile_name()),
            // No Go index: try everything once; a 404 marks it absent.
            _ => true,
        }
    }

    /// One round; Err when the target gave nothing (its heap profile, or
    /// the probe, failed): the round is retried with backoff.
    fn round(&mut self, round_ns: i64) -> Result<Vec<Kind>, (GapReason, String)> {
        if let Probe::Pending = self.probe {
            let ix = self
                .client
                .probe(&self.target)
                .map_err(|f| (gap_reason(&f), f.to_string()))?;
            self.send(Event::Probed {
                target: self.idx,
                profiles: ix
                    .as_ref()
                    .map(|ix| ix.profiles.iter().map(|(n, _)| n.clone()).collect())
                    .unwrap_or_default(),
            });
            self.probe = Probe::Done(ix);
        }
        let now = Instant::now();
        let plan = self
            .opts
            .cadence
            .plan(self.round, now, &self.due, |e| self.has(e));
        let mut stored = Vec::new();
        for (i, e) in plan.into_iter().enumerate() {
            if i > 0 && self.stop.is_set() {
                break;
            }
            let kind = kind_of(e);
            self.due.fetched(e, self.round, now);
            if e == Endpoint::GoroutineDump
                && let Some(n) = self.totals.goroutines
                && n > self.opts.cadence.dump_max_goroutines
            {
                self.send(Event::Skipped {
                    target: self.idx,
                    kind,
                    message: format!(
                        "{n} goroutines, over the dump bound of {}",
                        self.opts.cadence.dump_max_goroutines
                    ),
                });
                continue;
            }
            let max = if e == Endpoint::GoroutineDump {
                self.opts.cadence.dump_max_bytes
            } else {
                self.opts.max_bytes
            };
            let taken_at = if i == 0 { round_ns } else { now_ns() };
            let t = Instant::now();
            let res = self.client.get(&self.target.endpoint_url(e), max);
            let fetch_nanos = t.elapsed().as_nanos() as i64;
            let bytes = match res {
                Ok(b) => b,
                Err(f) if f.unknown_profile && e != Endpoint::Heap => {
                    self.absent.insert(kind);
                    self.send(Event::Unavailable {
                        target: self.idx,
                        kind,
                    });
                    continue;
                }
                Err(f) if f.class == FailureClass::TooLarge && e == Endpoint::GoroutineDump => {
                    self.send(Event::Skipped {
                        target: self.idx,
                        kind,
                        message: f.message,
                    });
                    continue;
                }
                Err(f) if i == 0 => return Err((gap_reason(&f), f.to_string())),
                Err(f) => {
                    self.fail(Some(kind), gap_reason(&f), f.to_string(), taken_at);
                    continue;
                }
            };
            let (parsed, summary) = match self.check(kind, &bytes) {
                Ok(v) => v,
                Err(msg) => {
                    let msg = format!("{}: {msg}", self.target.endpoint_url(e));
                    if i == 0 {
                        return Err((GapReason::Garbage, msg));
                    }
                    self.fail(Some(kind), GapReason::Garbage, msg, taken_at);
                    continue;
                }
            };
            self.close_gap(Some(kind), taken_at);
            if self.store(kind, taken_at, fetch_nanos, &bytes, &parsed, &summary) {
                stored.push(kind);
                // The RSS is read right after the heap profile, so that
                // the two describe the same moment.
                if e == Endpoint::Heap {
                    self.take_rss(&mut stored);
                }
            }
        }
        if !self.stop.is_set() {
            self.fetch_custom_profiles(&mut stored);
        }
        Ok(stored)
    }

    /// Parses a fetched snapshot and checks that it is of its kind.
    fn check(&self, kind: Kind, bytes: &[u8]) -> Result<(Parsed, Summary), String> {
        let parsed = profile::parse(
            bytes,
            &profile::ParseOptions {
                max_decompressed: self.opts.max_bytes.max(1 << 20) * 8,
                ..Default::default()
            },
        );
        parsed.map_err(|e| e.to_string()).and_then(|p| {
            let s = Summary::from_parsed(&p, &drift::series::SeriesOptions::default());
            sane(kind, &p, &s).map(|()| (p, s))
        })
    }

    /// Fetches every custom profile the Go index lists (tracked resources,
    /// such as heapdriftprobe's `Track` serves) and archives each as a
    /// [`Kind::Resource`] snapshot. The index is read again now and then,
    /// as a program may create its trackers after start-up.
    fn fetch_custom_profiles(&mut self, stored: &mut Vec<Kind>) {
        if self.round > 0
            && self.round.is_multiple_of(INDEX_REFRESH_ROUNDS)
            && let Probe::Done(Some(_)) = self.probe
            && let Ok(Some(ix)) = self.client.probe(&self.target)
        {
            self.probe = Probe::Done(Some(ix));
        }
        let Probe::Done(Some(ix)) = &self.probe else {
            return;
        };
        let names: Vec<String> = ix
            .custom_profiles()
            .filter(|n| !self.absent_custom.contains(*n))
            .map(str::to_string)
            .collect();
        let kind = Kind::Resource;
        for name in names {
            if self.stop.is_set() {
                break;
            }
            let url = self.target.profile_url(&name);
            let taken_at = now_ns();
            let t = Instant::now();
            let res = self.client.get(&url, self.opts.max_bytes);
            let fetch_nanos = t.elapsed().as_nanos() as i64;
            let bytes = match res {
                Ok(b) => b,
                Err(f) if f.unknown_profile => {
                    self.absent_custom.insert(name);
                    continue;
                }
                Err(f) => {
                    self.fail(Some(kind), gap_reason(&f), f.to_string(), taken_at);
                    continue;
                }
            };
            match self.check(kind, &bytes) {
                Ok((parsed, summary)) => {
                    self.close_gap(Some(kind), taken_at);
                    if self.store(kind, taken_at, fetch_nanos, &bytes, &parsed, &summary) {
                        stored.push(kind);
                    }
                }
                Err(msg) => self.fail(
                    Some(kind),
                    GapReason::Garbage,
                    format!("{url}: {msg}"),
                    taken_at,
                ),
            }
        }
    }

    /// Reads and archives the current RSS, finding its source first if
    /// not done yet.
    fn take_rss(&mut self, stored: &mut Vec<Kind>) {
        let main_binary = self.merged.main_binary.clone();
        let taken_at = now_ns();
        let t = Instant::now();
        let mut first = None;
        if let Rss::Pending = self.rss {
            let found = rss::discover(&self.client, &self.target, main_binary.as_deref());
            self.send(Event::RssSource {
                target: self.idx,
                source: found
                    .as_ref()
                    .map(|(src, _)| src.describe())
                    .map_err(Clone::clone),
            });
            self.rss = match found {
                Ok((src, reading)) => {
                    first = reading;
                    Rss::Found(src)
                }
                Err(_) => Rss::None,
            };
        }
        let Rss::Found(source) = &mut self.rss else {
            return;
        };
        let before = source.clone();
        let kind = source.kind();
        let reading = match first {
            Some(r) => Ok(r),
            None => rss::read(&self.client, source, main_binary.as_deref()),
        };
        let fetch_nanos = t.elapsed().as_nanos() as i64;
        if *source != before {
            let source = source.describe();
            self.send(Event::RssSource {
                target: self.idx,
                source: Ok(source),
            });
        }
        match reading {
            Ok(r) => {
                self.close_gap(Some(kind), taken_at);
                if self.store_metrics(kind, taken_at, fetch_nanos, &r.bytes) {
                    self.totals.rss = Some(r.rss);
                    stored.push(kind);
                }
            }
            Err(f) => {
                self.totals.rss = None;
                self.fail(Some(kind), gap_reason(&f), f.to_string(), taken_at);
            }
        }
    }

    /// Puts a metrics text into the current series (begun by the round's
    /// heap profile); false if there is none or the archive refused it.
    fn store_metrics(&mut self, kind: Kind, taken_at: i64, fetch_nanos: i64, bytes: &[u8]) -> bool {
        let Some(series) = self.series else {
            return false;
        };
        let mut guard = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        let Some(archive) = guard.as_mut() else {
            return false;
        };
        let put = archive.put(
            series,
            kind,
            taken_at,
            Some(fetch_nanos),
            bytes,
            &Summary::default(),
        );
        let path = stored_path(archive, &put);
        drop(guard);
        // `watch --push` sends RSS readings too, as a side series.
        self.announce_stored(path, series, kind, taken_at);
        match put {
            Ok(id) => {
                if let Some(rss) = kind.rss_reading(bytes) {
                    let source = SnapshotRef::Id(id.0);
                    let _ = self.live.push(Entry {
                        kind,
                        time_nanos: taken_at,
                        data: Data::Rss(rss),
                        memstats: None,
                        source: &source,
                    });
                }
                true
            }
            Err(e) => {
                self.store_failed(e);
                false
            }
        }
    }

    /// Puts one snapshot, beginning a series first if needed; false if the
    /// archive refused it (or is closed).
    fn store(
        &mut self,
        kind: Kind,
        taken_at: i64,
        fetch_nanos: i64,
        bytes: &[u8],
        parsed: &Parsed,
        summary: &Summary,
    ) -> bool {
        let ident = Identity::from_parsed(parsed);
        let continuity = if !checks_restart(kind) {
            Continuity::SameProcess
        } else if let Some(prev) = self.prev.get(&kind) {
            detect_restart(prev, &ident)
        } else {
            Continuity::SameProcess
        };
        let mut guard = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        let Some(archive) = guard.as_mut() else {
            return false;
        };
        let mut began = None;
        if self.series.is_none() {
            // Continue the archive's latest series if this is the same
            // process (watch was restarted, the service was not).
            let (resumed, reason) = match self.resume.take() {
                Some(s) if kind == Kind::Heap => match detect_restart(&s.identity, &ident) {
                    Continuity::SameProcess => (Some(s), String::new()),
                    c => (None, c.describe()),
                },
                _ => (None, "first".to_string()),
            };
            match resumed {
                Some(s) => {
                    self.series = Some(s.id);
                    self.merged = s.identity;
                    began = Some((s.id, "resumed".to_string(), false));
                }
                None => match archive.begin_series(self.tid, taken_at, &ident, &reason) {
                    Ok(id) => {
                        self.series = Some(id);
                        let restart = reason != "first";
                        began = Some((id, reason, restart));
                    }
                    Err(e) => {
                        drop(guard);
                        self.store_failed(e);
                        return false;
                    }
                },
            }
        } else if continuity.is_restart() {
            let reason = continuity.describe();
            match archive.begin_series(self.tid, taken_at, &ident, &reason) {
                Ok(id) => {
                    self.series = Some(id);
                    self.prev.clear();
                    self.merged = Identity::default();
                    // hunt reads each series (process lifetime) on its own.
                    self.live = live_builder();
                    began = Some((id, reason, true));
                }
                Err(e) => {
                    drop(guard);
                    self.store_failed(e);
                    return false;
                }
            }
        }
        let Some(series) = self.series else {
            return false;
        };
        let put = archive.put(series, kind, taken_at, Some(fetch_nanos), bytes, summary);
        let path = stored_path(archive, &put);
        drop(guard);
        if let Some((id, reason, restart)) = began {
            self.send(Event::Series {
                target: self.idx,
                series: id.0,
                reason,
                restart,
            });
        }
        let id = match put {
            Ok(id) => id,
            Err(e) => {
                self.store_failed(e);
                return false;
            }
        };
        self.announce_stored(path, series, kind, taken_at);
        if checks_restart(kind) {
            merge(&mut self.merged, &ident, kind);
            self.prev.insert(kind, ident);
        }
        self.observe(kind, taken_at, parsed, summary, id);
        true
    }

    /// Tells the watch (and its pusher) where a snapshot was archived.
    fn announce_stored(&self, path: Option<PathBuf>, series: SeriesId, kind: Kind, taken_at: i64) {
        if let Some(path) = path {
            self.send(Event::Stored {
                target: self.idx,
                series: series.0,
                kind,
                taken_at,
                path,
            });
        }
    }

    fn store_failed(&self, e: store::StoreError) {
        self.send(Event::StoreFailed {
            target: self.idx,
            message: e.to_string(),
        });
    }

    /// Feeds the live analysis and the totals.
    fn observe(
        &mut self,
        kind: Kind,
        taken_at: i64,
        parsed: &Parsed,
        summary: &Summary,
        id: store::SnapshotId,
    ) {
        let source = SnapshotRef::Id(id.0);
        // A snapshot the builder refuses (a profile of another kind than
        // its endpoint promised) is in the archive, and hunt will say what
        // is wrong with it; the live view goes on without it.
        let _ = self
            .live
            .push(Entry::parsed(kind, taken_at, parsed, &source));
        match kind {
            Kind::Heap => {
                self.totals.inuse_space = summary.inuse_space;
                self.totals.inuse_objects = summary.inuse_objects;
            }
            Kind::HeapDebug1 => {
                if let Some(ms) = &parsed.memstats {
                    self.totals.heap_inuse = Some(ms.heap_inuse);
                    self.totals.heap_sys = Some(ms.heap_sys);
                    self.totals.heap_released = Some(ms.heap_released);
                    self.totals.stack_sys = Some(ms.stack_sys);
                    self.totals.sys = Some(ms.sys);
                }
            }
            Kind::Goroutine => self.totals.goroutines = summary.goroutines,
            _ => {}
        }
    }

    fn after_round(&mut self, stored: Vec<Kind>) {
        if let Some(series) = self.series {
            let mut guard = self.archive.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(a) = guard.as_mut()
                && let Err(e) = a.set_identity(series, &self.merged)
            {
                drop(guard);
                self.store_failed(e);
            }
        }
        let suspects = self.suspects();
        self.send(Event::Round {
            target: self.idx,
            round: self.round,
            stored,
            totals: self.totals.clone(),
            suspects,
        });
    }

    /// drift's analysis of the series so far: the top findings.
    fn suspects(&self) -> Vec<Suspect> {
        let current = self.live.current();
        let mut inputs = current.inputs();
        inputs.heap = inputs.heap.filter(|h| h.len() >= 2);
        inputs.goroutines = inputs.goroutines.filter(|g| g.len() >= 2);
        let report = drift::hunt(&inputs, &drift::HuntOptions::default());
        report
            .findings
            .into_iter()
            .take(self.opts.suspects)
            .map(|f| Suspect {
                growth_per_min: f.rate_known().then_some(f.growth_per_min),
                kind: f.kind,
                verdict: f.verdict,
                function: f.function,
                file: f.file,
                line: f.line,
                unit: f.unit,
                confidence: f.confidence,
                values: f.evidence.values,
            })
            .collect()
    }

    /// A failure of `kind` (None: the whole target) at `at`: opens a gap,
    /// or extends the open one; a new reason closes the old gap first.
    fn fail(&mut self, kind: Option<Kind>, reason: GapReason, message: String, at: i64) {
        if let Some(g) = self.gaps.get(&kind) {
            if g.reason == reason {
                return;
            }
            self.close_gap(kind, at);
        }
        self.send(Event::GapOpened {
            target: self.idx,
            kind,
            reason,
            message: message.clone(),
        });
        self.gaps.insert(
            kind,
            OpenGap {
                from_ns: at,
                reason,
                message,
            },
        );
    }

    /// Records the open gap of `kind`, if any, as ending at `at`.
    fn close_gap(&mut self, kind: Option<Kind>, at: i64) {
        let Some(g) = self.gaps.remove(&kind) else {
            return;
        };
        let mut guard = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        let Some(a) = guard.as_mut() else { return };
        let r = a.record_gap(self.tid, kind, g.from_ns, at, g.reason, &g.message);
        drop(guard);
        match r {
            Ok(()) => self.send(Event::GapClosed {
                target: self.idx,
                kind,
                reason: g.reason,
                seconds: (at - g.from_ns) as f64 / 1e9,
                message: g.message,
            }),
            Err(e) => self.store_failed(e),
        }
    }
}

/// The live analysis' builder: long watches keep thinned heap series.
fn live_builder() -> SeriesBuilder {
    SeriesBuilder::new(BuildOptions {
        thin_heap: true,
        ..Default::default()
    })
}

/// Overlays the fields `new` (a snapshot of `kind`) has onto `into`: the
/// series' identity is the union of what each kind tells. The alloc totals
/// come from the heap proto only: the debug=1 text's are unsampled by the
/// parser and differ a little either way, and a value from one source
/// compared with the other could look like a counter going down.
fn merge(into: &mut Identity, new: &Identity, kind: Kind) {
    let mut new = new.clone();
    if kind != Kind::Heap {
        new.alloc_space = None;
        new.alloc_objects = None;
    }
    macro_rules! take {
        ($($f:ident),*) => {$(
            if new.$f.is_some() {
                into.$f = new.$f.clone();
            }
        )*};
    }
    take!(
        build_id,
        main_binary,
        main_start,
        vdso_start,
        alloc_space,
        alloc_objects,
        total_alloc,
        mallocs,
        num_gc,
        first_gc_end,
        max_goroutine_id,
        time_nanos
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(class: FailureClass) -> Failure {
        Failure {
            class,
            url: "u".into(),
            message: "m".into(),
            unknown_profile: false,
        }
    }

    #[test]
    fn failures_map_to_gap_reasons() {
        for c in [
            FailureClass::NoSuchHost,
            FailureClass::Refused,
            FailureClass::Unreachable,
            FailureClass::Reset,
        ] {
            assert_eq!(gap_reason(&failure(c)), GapReason::Down);
        }
        assert_eq!(
            gap_reason(&failure(FailureClass::Timeout)),
            GapReason::Timeout
        );
        assert_eq!(
            gap_reason(&failure(FailureClass::Status(503))),
            GapReason::ServerError
        );
        for c in [
            FailureClass::Status(404),
            FailureClass::Protocol,
            FailureClass::TooLarge,
        ] {
            assert_eq!(gap_reason(&failure(c)), GapReason::Garbage);
        }
    }

    fn parse(name: &str) -> (Parsed, Summary) {
        let b = std::fs::read(format!(
            "{}/../../testdata/profiles/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let p = profile::parse(&b, &profile::ParseOptions::default()).unwrap();
        let s = Summary::from_parsed(&p, &drift::series::SeriesOptions::default());
        (p, s)
    }

    #[test]
    fn a_profile_of_another_kind_is_garbage() {
        let (heap, hs) = parse("heap_1.pb.gz");
        let (gor, gs) = parse("goroutine.pb.gz");
        let (leak, ls) = parse("goroutineleak.pb.gz");
        let (dump, ds) = parse("goroutine_dump.txt");
        let (txt, ts) = parse("heap.txt");
        assert!(sane(Kind::Heap, &heap, &hs).is_ok());
        assert!(sane(Kind::HeapDebug1, &txt, &ts).is_ok());
        assert!(sane(Kind::Goroutine, &gor, &gs).is_ok());
        assert!(sane(Kind::GoroutineLeak, &leak, &ls).is_ok());
        assert!(sane(Kind::GoroutineDump, &dump, &ds).is_ok());
        assert!(sane(Kind::Heap, &gor, &gs).is_err());
        assert!(sane(Kind::Goroutine, &heap, &hs).is_err());
        assert!(sane(Kind::GoroutineLeak, &heap, &hs).is_err());
        assert!(sane(Kind::GoroutineDump, &gor, &gs).is_err());
    }

    #[test]
    fn merged_identity_keeps_each_kinds_fields() {
        let (heap, _) = parse("heap_1.pb.gz");
        let (txt, _) = parse("heap.txt");
        let mut m = Identity::default();
        let hi = Identity::from_parsed(&heap);
        let ti = Identity::from_parsed(&txt);
        merge(&mut m, &hi, Kind::Heap);
        merge(&mut m, &ti, Kind::HeapDebug1);
        assert_eq!(m.alloc_space, hi.alloc_space);
        assert_eq!(m.build_id, hi.build_id);
        assert_eq!(m.num_gc, ti.num_gc);
        assert!(m.num_gc.is_some() && m.build_id.is_some());
        // A later heap snapshot of the same process matches the union.
        assert!(!detect_restart(&m, &hi).is_restart());
    }
}
