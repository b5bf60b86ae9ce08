//! `watch --push`: every profile the watch archives is also sent to a
//! profile store (Grafana Pyroscope or Parca), from a thread of its own, so that a
//! store that is down, slow or rate limiting never delays a fetch.
//!
//! Snapshots wait in a bounded queue as archive paths (the archive holds
//! their bytes), oldest first. A store that cannot take one (down,
//! restarting, 5xx, 429) is retried with backoff, keeping the order; when
//! the queue is full the oldest waiting snapshot is dropped and counted.
//! A push that timed out is not retried (the store may have kept it, and
//! neither store deduplicates); a push the store refused (401, 400)
//! is counted with the store's message. Whatever was not pushed stays in
//! the archive for `heapdrift push`.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fetch::store::{ProfileStore, StoreError};
use profile::ParseOptions;
use series::Kind;
use series::push::{kinds_to_push, labels, payload, profile_name};

/// How many snapshots may wait for the store (archive paths: a few
/// hundred bytes each).
pub const QUEUE_CAP: usize = 10_000;

/// The longest wait between two tries while the store cannot take a push.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One archived snapshot to push, with the labels it goes under.
#[derive(Clone, Debug)]
pub struct Item {
    pub path: PathBuf,
    pub kind: Kind,
    pub taken_at: i64,
    /// the store's service label (`service_name`, `job`), `instance`, `heapdrift_series` (the `__name__` comes
    /// from the kind).
    pub labels: Vec<(String, String)>,
}

/// What the pusher did, for the watch's summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushCounts {
    pub pushed: u64,
    /// Still waiting when the watch ended (they are in the archive).
    pub unsent: u64,
    /// Dropped from a full queue (in the archive too).
    pub dropped: u64,
    /// Refused by the store, or unreadable, or timed out.
    pub failed: u64,
    /// The store's last error, if any.
    pub last_error: Option<String>,
}

struct Queue {
    /// Each with its number: a full queue may drop the item being pushed,
    /// and the pusher then must not remove the next one in its place.
    items: VecDeque<(u64, Item)>,
    next: u64,
    closed: bool,
    /// After closing: the time by which the queue must be empty.
    deadline: Option<Instant>,
    counts: PushCounts,
}

type Shared = Arc<(Mutex<Queue>, Condvar)>;

/// Chooses which archived snapshots go to the store and queues them.
pub struct Pusher {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
    /// Per (target, series), the kinds archived so far: of the views of one
    /// profile (heap proto, its text, allocs; goroutine proto, text, dump)
    /// only the most complete is pushed, as the store sums what shares a
    /// name.
    present: HashMap<(usize, i64), Vec<Kind>>,
}

impl Pusher {
    /// Starts the pushing thread.
    pub fn start(server: Box<dyn ProfileStore>) -> Pusher {
        let shared: Shared = Arc::new((
            Mutex::new(Queue {
                items: VecDeque::new(),
                next: 0,
                closed: false,
                deadline: None,
                counts: PushCounts::default(),
            }),
            Condvar::new(),
        ));
        let thread = {
            let shared = shared.clone();
            std::thread::spawn(move || push_loop(&*server, &shared))
        };
        Pusher {
            shared,
            thread: Some(thread),
            present: HashMap::new(),
        }
    }

    /// Queues the snapshot of `target`'s `series` that the watch archived
    /// at `path`, under `labels`, unless its kind is not a profile or a
    /// more complete view of the same profile is archived for the series.
    pub fn archived(
        &mut self,
        target: usize,
        series: i64,
        kind: Kind,
        taken_at: i64,
        path: PathBuf,
        labels: Vec<(String, String)>,
    ) {
        let present = self.present.entry((target, series)).or_default();
        if !present.contains(&kind) {
            present.push(kind);
        }
        if !kinds_to_push(present).contains(&kind) {
            return;
        }
        let (lock, ready) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        if q.items.len() >= QUEUE_CAP {
            q.items.pop_front();
            q.counts.dropped += 1;
        }
        let seq = q.next;
        q.next += 1;
        q.items.push_back((
            seq,
            Item {
                path,
                kind,
                taken_at,
                labels,
            },
        ));
        ready.notify_all();
    }

    /// How it is going, while the watch runs.
    pub fn counts(&self) -> PushCounts {
        let q = self.lock();
        let mut counts = q.counts.clone();
        counts.unsent = q.items.len() as u64;
        counts
    }

    /// Stops taking snapshots, keeps pushing what waits for up to `grace`,
    /// and says what was done.
    pub fn finish(mut self, grace: Duration) -> PushCounts {
        {
            let (_, ready) = &*self.shared;
            let mut q = self.lock();
            q.closed = true;
            q.deadline = Some(Instant::now() + grace);
            ready.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let q = self.lock();
        let mut counts = q.counts.clone();
        counts.unsent = q.items.len() as u64;
        counts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pushing thread: the oldest waiting snapshot first; while the store
/// cannot take it, waits (doubling up to a minute) and tries it again.
fn push_loop(server: &dyn ProfileStore, shared: &Shared) {
    let (lock, ready) = &**shared;
    let parse = ParseOptions::default();
    let mut backoff = Duration::ZERO;
    loop {
        let item = {
            let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
            // After a failed try: wait out the backoff, or stop at the
            // deadline of a finishing watch.
            let until = Instant::now() + backoff;
            loop {
                let now = Instant::now();
                if q.deadline.is_some_and(|d| now >= d) {
                    return;
                }
                if now >= until {
                    break;
                }
                let limit = q.deadline.map_or(until, |d| d.min(until));
                q = ready
                    .wait_timeout(q, limit - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            loop {
                if q.deadline.is_some_and(|d| Instant::now() >= d) {
                    return;
                }
                if let Some(front) = q.items.front() {
                    break front.clone();
                }
                if q.closed {
                    return;
                }
                q = ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let (seq, item) = item;
        let outcome = push_one(server, &item, &parse);
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        let still_first = q.items.front().is_some_and(|(s, _)| *s == seq);
        if still_first && !matches!(outcome, Outcome::Retry(_)) {
            q.items.pop_front();
        }
        match outcome {
            Outcome::Pushed => {
                backoff = Duration::ZERO;
                q.counts.pushed += 1;
            }
            Outcome::Retry(message) => {
                backoff = (backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                q.counts.last_error = Some(message);
            }
            Outcome::Failed(message) => {
                backoff = Duration::ZERO;
                q.counts.failed += 1;
                q.counts.last_error = Some(message);
            }
        }
    }
}

enum Outcome {
    Pushed,
    /// The store cannot take it now: try again later.
    Retry(String),
    /// Never to be pushed (refused, unreadable, or maybe stored already).
    Failed(String),
}

fn push_one(server: &dyn ProfileStore, item: &Item, parse: &ParseOptions) -> Outcome {
    if profile_name(item.kind).is_none() {
        return Outcome::Failed(format!("{}: not a profile", item.path.display()));
    }
    let payload = match payload(item.kind, &item.path, item.taken_at, parse) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let own = labels(item.kind, &payload);
    let mut labels: Vec<(&str, &str)> = own.iter().map(|(k, v)| (*k, v.as_str())).collect();
    labels.extend(item.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    match server.push(&labels, &payload.bytes) {
        Ok(()) => Outcome::Pushed,
        Err(e @ (StoreError::Unreachable { .. } | StoreError::RateLimited { .. })) => {
            Outcome::Retry(e.to_string())
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A store that answers 503 to its first `down` requests, then 200;
    /// it records the heapdrift_series label of each push it took.
    fn store(down: usize) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let taken = Arc::new(Mutex::new(Vec::new()));
        let seen = taken.clone();
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let status = if n < down {
                    "503 Service Unavailable"
                } else {
                    // The series label's value: the pushes' own order.
                    let text = String::from_utf8_lossy(&body);
                    let series = text
                        .split("heapdrift_series")
                        .nth(1)
                        .map(|rest| {
                            rest.chars()
                                .skip(2)
                                .take_while(char::is_ascii_digit)
                                .collect()
                        })
                        .unwrap_or_default();
                    seen.lock().unwrap().push(series);
                    "200 OK"
                };
                let mut conn = conn;
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        (url, taken)
    }

    fn heap_file(dir: &std::path::Path) -> PathBuf {
        let p = profile::Profile {
            sample_types: vec![profile::ValueType::new("inuse_space", "bytes")],
            ..Default::default()
        };
        let path = dir.join("heap.pb.gz");
        std::fs::write(&path, profile::gz::compress(&profile::proto::encode(&p))).unwrap();
        path
    }

    #[test]
    fn a_store_down_at_first_gets_every_snapshot_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = heap_file(dir.path());
        let (url, taken) = store(3);
        let opts = fetch::store::ServerOptions {
            retry_for: Duration::from_millis(100),
            ..Default::default()
        };
        let mut pusher = Pusher::start(fetch::store::open(&url, &opts).unwrap());
        for series in 0..5 {
            let labels = vec![("heapdrift_series".to_string(), series.to_string())];
            pusher.archived(0, series, Kind::Heap, 1, path.clone(), labels);
        }
        // Views of a profile already pushed as its proto are not pushed.
        pusher.archived(0, 0, Kind::HeapDebug1, 2, path.clone(), vec![]);
        let counts = pusher.finish(Duration::from_secs(30));
        assert_eq!(
            counts,
            PushCounts {
                pushed: 5,
                last_error: counts.last_error.clone(),
                ..Default::default()
            }
        );
        assert!(counts.last_error.is_some_and(|e| e.contains("503")));
        assert_eq!(*taken.lock().unwrap(), ["0", "1", "2", "3", "4"]);
    }

    #[test]
    fn what_still_waits_at_the_deadline_is_counted_unsent() {
        let dir = tempfile::tempdir().unwrap();
        let path = heap_file(dir.path());
        let (url, _) = store(usize::MAX);
        let opts = fetch::store::ServerOptions {
            retry_for: Duration::from_millis(100),
            ..Default::default()
        };
        let mut pusher = Pusher::start(fetch::store::open(&url, &opts).unwrap());
        for series in 0..3 {
            pusher.archived(0, series, Kind::Goroutine, 1, path.clone(), vec![]);
        }
        let started = Instant::now();
        let counts = pusher.finish(Duration::from_secs(2));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!((counts.pushed, counts.unsent, counts.failed), (0, 3, 0));
    }
}
