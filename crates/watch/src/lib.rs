//! `heapdrift watch`: polls Go services' `/debug/pprof/` endpoints on a
//! schedule, stores every snapshot in a `store::Archive`, starts a new
//! series when a target restarts, records gaps while a target is down, slow
//! or answering garbage (retrying with backoff), and keeps a live leak
//! analysis (`drift`) of each target's series in memory.
//!
//! One thread per target ([`worker`]); the archive (one SQLite writer) is
//! shared behind a mutex, and parsing, summarising and analysis run on the
//! target's own thread, outside the lock. The caller's thread runs
//! [`run`], which turns the workers' [`Event`]s into a [`WatchState`] and
//! hands both to a callback (the binary's live view or log lines, see
//! [`view`]).

pub mod push;
mod rss;
pub mod schedule;
pub mod view;
mod worker;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use fetch::watch::Target;
pub use schedule::Cadence;
use store::{Archive, GapReason, Kind};

/// Default archive directory, relative to the working directory.
pub const DEFAULT_ARCHIVE: &str = "heapdrift-archive";

#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Time between the starts of two rounds.
    pub every: Duration,
    /// How long to watch; `None`: until stopped.
    pub duration: Option<Duration>,
    /// Bound on one request (connect, headers and body).
    pub timeout: Duration,
    pub cadence: Cadence,
    /// After a stop, how long in-flight fetches may finish before they are
    /// abandoned and the archive is closed.
    pub grace: Duration,
    /// First retry delay after a failed round; doubles up to `every`.
    pub backoff_start: Duration,
    /// Body bound of the profiles other than the debug=2 dump.
    pub max_bytes: u64,
    /// Findings kept per target for the live view.
    pub suspects: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            every: Duration::from_secs(15),
            duration: Some(Duration::from_secs(30 * 60)),
            timeout: Duration::from_secs(10),
            cadence: Cadence::default(),
            grace: Duration::from_secs(3),
            backoff_start: Duration::from_millis(500),
            max_bytes: 512 << 20,
            suspects: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A target that is not a URL or host:port (the parser's message).
    #[error("target {0}")]
    BadTarget(String),
    /// Two workers on one target would race for its series.
    #[error("target {0} given twice")]
    DuplicateTarget(String),
    #[error("cannot start a worker thread: {0}")]
    Thread(std::io::Error),
}

/// Asks the watch to end; cloned into the workers and a signal handler.
#[derive(Clone, Default)]
pub struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    pub fn trigger(&self) {
        let (m, c) = &*self.0;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }

    pub fn is_set(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps until `deadline` or a stop; true if stopped.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        let (m, c) = &*self.0;
        let mut stopped = m.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *stopped {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = c
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Current totals of a target, from its latest snapshots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub inuse_space: Option<i64>,
    pub inuse_objects: Option<i64>,
    pub goroutines: Option<i64>,
    /// From the MemStats footer.
    pub heap_inuse: Option<u64>,
    pub heap_sys: Option<u64>,
    pub heap_released: Option<u64>,
    pub stack_sys: Option<u64>,
    pub sys: Option<u64>,
    /// The current resident set size, from the target's RSS source.
    pub rss: Option<u64>,
}

/// A finding of the live analysis, as the view shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Suspect {
    pub kind: drift::Kind,
    pub verdict: drift::Verdict,
    pub function: String,
    pub file: String,
    pub line: i64,
    /// `None` while the series spans too little time for a rate.
    pub growth_per_min: Option<f64>,
    pub unit: drift::Unit,
    pub confidence: f64,
    /// The evidence series, for a sparkline.
    pub values: Vec<f64>,
}

/// What a worker reports. `target` indexes the targets as given.
#[derive(Clone, Debug)]
pub enum Event {
    /// The index page was read: the profiles it lists (empty: no Go index,
    /// endpoints are tried directly).
    Probed {
        target: usize,
        profiles: Vec<String>,
    },
    /// A series began: `reason` is "first", "resumed" (continuing the
    /// archive's latest series of the same process) or why the target is
    /// thought to have restarted.
    Series {
        target: usize,
        series: i64,
        reason: String,
        restart: bool,
    },
    /// Where the target's current RSS is read (`Ok`: the source,
    /// described; `Err`: why there is none). Sent once after the first
    /// heap profile, and again if the source moves (a restarted process
    /// found on the same port).
    RssSource {
        target: usize,
        source: Result<String, String>,
    },
    /// A round ended with at least its heap profile stored.
    Round {
        target: usize,
        round: u64,
        stored: Vec<Kind>,
        totals: Totals,
        suspects: Vec<Suspect>,
    },
    GapOpened {
        target: usize,
        kind: Option<Kind>,
        reason: GapReason,
        message: String,
    },
    /// A gap was recorded in the archive.
    GapClosed {
        target: usize,
        kind: Option<Kind>,
        reason: GapReason,
        seconds: f64,
        /// The failure that opened it.
        message: String,
    },
    /// The target does not serve this profile (404 `Unknown profile`,
    /// e.g. goroutineleak on Go ≤ 1.25); it is not asked again.
    Unavailable {
        target: usize,
        kind: Kind,
    },
    /// A profile was not taken this round, and why (a dump over its size
    /// bound).
    Skipped {
        target: usize,
        kind: Kind,
        message: String,
    },
    /// The archive refused a write; the snapshot is lost, the watch goes on.
    StoreFailed {
        target: usize,
        message: String,
    },
    /// A snapshot was archived (for `--push`, which sends it on).
    Stored {
        target: usize,
        series: i64,
        kind: Kind,
        taken_at: i64,
        path: std::path::PathBuf,
    },
    Done {
        target: usize,
    },
}

/// Per-target state as the events built it.
#[derive(Clone, Debug, Default)]
pub struct TargetState {
    pub url: String,
    pub profiles: Option<Vec<String>>,
    /// See [`Event::RssSource`]; `None` until it is looked for.
    pub rss_source: Option<Result<String, String>>,
    pub rounds: u64,
    pub snapshots: BTreeMap<&'static str, u64>,
    pub gaps: u64,
    /// Open gaps: (kind, reason, message).
    pub failing: Vec<(Option<Kind>, GapReason, String)>,
    /// The latest failure of the whole target (its first request of a
    /// round), kept after its gap closed: why a target stored nothing.
    pub last_failure: Option<String>,
    pub series: u64,
    pub restarts: u64,
    pub totals: Totals,
    pub suspects: Vec<Suspect>,
    pub notes: Vec<String>,
    pub store_failures: u64,
    pub done: bool,
}

impl TargetState {
    pub fn snapshot_count(&self) -> u64 {
        self.snapshots.values().sum()
    }
}

#[derive(Clone, Debug)]
pub struct WatchState {
    pub started: Instant,
    pub every: Duration,
    pub duration: Option<Duration>,
    pub targets: Vec<TargetState>,
    pub stopping: bool,
    /// Workers still running when the grace period ended.
    pub abandoned: usize,
}

impl WatchState {
    /// When no target had a snapshot stored: why, per target (its latest
    /// failure), for the one-line error of a watch that produced nothing.
    pub fn nothing_stored(&self) -> Option<String> {
        if self.targets.iter().any(|t| t.snapshot_count() > 0) {
            return None;
        }
        let why: Vec<String> = self
            .targets
            .iter()
            .map(|t| match &t.last_failure {
                Some(m) => m.clone(),
                None if !t.done => format!("{}: no answer before the end of the watch", t.url),
                None => format!("{}: no round before the end", t.url),
            })
            .collect();
        Some(format!("no snapshot stored: {}", why.join("; ")))
    }

    fn apply(&mut self, e: &Event) {
        match e {
            Event::Probed { target, profiles } => {
                self.targets[*target].profiles = Some(profiles.clone());
            }
            Event::RssSource { target, source } => {
                self.targets[*target].rss_source = Some(source.clone());
            }
            Event::Series {
                target, restart, ..
            } => {
                let t = &mut self.targets[*target];
                t.series += 1;
                t.restarts += u64::from(*restart);
            }
            Event::Round {
                target,
                round,
                stored,
                totals,
                suspects,
            } => {
                let t = &mut self.targets[*target];
                t.rounds = round + 1;
                for k in stored {
                    *t.snapshots.entry(k.as_str()).or_default() += 1;
                }
                t.totals = totals.clone();
                t.suspects = suspects.clone();
            }
            Event::GapOpened {
                target,
                kind,
                reason,
                message,
            } => {
                let t = &mut self.targets[*target];
                t.failing.retain(|(k, _, _)| k != kind);
                t.failing.push((*kind, *reason, message.clone()));
                if kind.is_none() {
                    t.last_failure = Some(message.clone());
                }
            }
            Event::GapClosed { target, kind, .. } => {
                let t = &mut self.targets[*target];
                t.gaps += 1;
                t.failing.retain(|(k, _, _)| k != kind);
            }
            Event::Unavailable { target, kind } => {
                self.targets[*target]
                    .notes
                    .push(format!("{} not served", kind.as_str()));
            }
            Event::Skipped { .. } => {}
            Event::StoreFailed { target, .. } => self.targets[*target].store_failures += 1,
            Event::Stored { .. } => {}
            Event::Done { target } => self.targets[*target].done = true,
        }
    }
}

/// Watches `targets` until `opts.duration` passes (then `stop` is
/// triggered, so that a round still in flight gets `opts.grace`) or `stop`
/// is triggered, calling `on_event` with each event (and `None` about every 200 ms, for
/// redraws). Returns the final state; the archive is closed by then.
pub fn run(
    targets: &[String],
    archive_dir: &std::path::Path,
    opts: &WatchOptions,
    stop: &Stop,
    on_event: &mut dyn FnMut(Option<&Event>, &WatchState),
) -> Result<WatchState, WatchError> {
    let parsed: Vec<Target> = targets
        .iter()
        .map(|t| Target::parse(t).map_err(WatchError::BadTarget))
        .collect::<Result<_, _>>()?;
    for (i, t) in parsed.iter().enumerate() {
        if parsed[..i].iter().any(|p| p.url == t.url) {
            return Err(WatchError::DuplicateTarget(t.url.clone()));
        }
    }
    let mut archive = Archive::open(archive_dir)?;
    let mut starts = Vec::new();
    for t in &parsed {
        let id = archive.target(&t.url)?;
        let last = archive.series(id)?.pop();
        starts.push((id, last));
    }
    let archive = Arc::new(Mutex::new(Some(archive)));
    let started = Instant::now();
    let mut state = WatchState {
        started,
        every: opts.every,
        duration: opts.duration,
        targets: parsed
            .iter()
            .map(|t| TargetState {
                url: t.url.clone(),
                ..Default::default()
            })
            .collect(),
        stopping: false,
        abandoned: 0,
    };
    let (tx, rx) = mpsc::channel();
    let opts_arc = Arc::new(opts.clone());
    for (i, (t, (id, last))) in parsed.into_iter().zip(starts).enumerate() {
        let w = worker::Worker::new(
            i,
            t,
            id,
            last,
            archive.clone(),
            opts_arc.clone(),
            stop.clone(),
            tx.clone(),
            started,
        );
        std::thread::Builder::new()
            .name(format!("watch-{i}"))
            .spawn(move || w.run())
            .map_err(WatchError::Thread)?;
    }
    drop(tx);
    let deadline = opts.duration.map(|d| started + d);
    let mut stop_seen: Option<Instant> = None;
    loop {
        let tick = Duration::from_millis(200);
        let wait = match deadline {
            Some(d) if !stop.is_set() => d.saturating_duration_since(Instant::now()).min(tick),
            _ => tick,
        };
        match rx.recv_timeout(wait) {
            Ok(e) => {
                state.apply(&e);
                on_event(Some(&e), &state);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => on_event(None, &state),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if state.targets.iter().all(|t| t.done) {
            break;
        }
        // The end of `duration` is a stop: a round still fetching then
        // (a target that hangs until the timeout) gets the grace period,
        // as after Ctrl-C, rather than delaying the end by its timeout.
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop.trigger();
        }
        if stop.is_set() {
            let at = *stop_seen.get_or_insert_with(Instant::now);
            if !state.stopping {
                state.stopping = true;
                on_event(None, &state);
            }
            if at.elapsed() >= opts.grace {
                // Abandon what is still in flight: its results find the
                // archive closed and are dropped.
                state.abandoned = state.targets.iter().filter(|t| !t.done).count();
                break;
            }
        }
    }
    // Events sent between the last receive and now still count.
    while let Ok(e) = rx.try_recv() {
        state.apply(&e);
        on_event(Some(&e), &state);
    }
    drop(archive.lock().unwrap_or_else(|e| e.into_inner()).take());
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_given_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            &[
                "127.0.0.1:1".into(),
                "http://127.0.0.1:1/debug/pprof/".into(),
            ],
            dir.path(),
            &WatchOptions::default(),
            &Stop::new(),
            &mut |_, _| {},
        );
        assert!(
            matches!(&r, Err(WatchError::DuplicateTarget(_))),
            "{:?}",
            r.err()
        );
    }

    #[test]
    fn a_down_target_until_stopped_is_one_gap() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let stop = Stop::new();
        let s2 = stop.clone();
        let mut events = Vec::new();
        let opts = WatchOptions {
            every: Duration::from_millis(100),
            backoff_start: Duration::from_millis(10),
            ..Default::default()
        };
        let t = Instant::now();
        let st = run(
            &[format!("127.0.0.1:{port}")],
            dir.path(),
            &opts,
            &stop,
            &mut |e, _| {
                if let Some(e) = e {
                    events.push(format!("{e:?}"));
                }
                if t.elapsed() > Duration::from_millis(600) {
                    s2.trigger();
                }
            },
        )
        .unwrap();
        assert_eq!(st.targets[0].gaps, 1, "{events:#?}");
        assert_eq!(st.targets[0].snapshot_count(), 0);
        assert_eq!(st.abandoned, 0);
        let a = Archive::open_read_only(dir.path()).unwrap();
        let tid = a.targets().unwrap()[0].id;
        let gaps = a.gaps(tid).unwrap();
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].reason, GapReason::Down);
        assert!(gaps[0].to_ns - gaps[0].from_ns >= 400_000_000, "{gaps:?}");
    }
}
