//! Goroutine groups over a series of goroutine profiles, in the spirit of
//! Uber's LeakProf: goroutines are grouped by where they block, and a group
//! whose count keeps growing is a leak.
//!
//! A group's key is (state, blocking frame, first user frame, created-by).
//! State and created-by come from the `state` and `created_by` labels that
//! heapdrift's debug=2 conversion (`profile::goroutine_dump::to_profile`)
//! puts on samples; proto and debug=1 profiles have neither, and the state
//! is then inferred from the runtime frames (`runtime.chansend`, ...).
//! The blocking frame is the first frame past the runtime, `internal/...`
//! and `sync` wait machinery: the line of the channel operation, `select`,
//! `Lock` or `Wait` call.

use crate::DriftError;
use crate::finding::{Finding, Kind, Signature, Verdict};
use crate::frames;
use crate::series::{Frame, Fx, FxMap, stack_frames};
use crate::stats::Series;
use crate::units::Unit;
use crate::verdict::{Thresholds, assess, evidence, set_shares};
use profile::Profile;
use profile::goroutine_dump::Goroutine;
use std::hash::{Hash, Hasher};

/// LeakProf's classes of blocking. JSON keeps the names of `as_str`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Rule {
    #[serde(rename = "chan send")]
    ChanSend,
    #[serde(rename = "chan receive")]
    ChanReceive,
    #[serde(rename = "select")]
    Select,
    #[serde(rename = "sync")]
    Sync,
    #[serde(rename = "io")]
    Io,
    #[serde(rename = "sleep")]
    Sleep,
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "other")]
    Other,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ChanSend => "chan send",
            Rule::ChanReceive => "chan receive",
            Rule::Select => "select",
            Rule::Sync => "sync",
            Rule::Io => "io",
            Rule::Sleep => "sleep",
            Rule::Running => "running",
            Rule::Other => "other",
        }
    }

    /// Blocked on a primitive that only another goroutine can release:
    /// the classes LeakProf and the goroutineleak profile look at.
    pub fn is_blocking(self) -> bool {
        matches!(
            self,
            Rule::ChanSend | Rule::ChanReceive | Rule::Select | Rule::Sync
        )
    }

    /// From a state printed by the runtime (`waitReasonStrings`).
    pub fn from_state(state: &str) -> Rule {
        match state {
            s if s.starts_with("chan send") => Rule::ChanSend,
            s if s.starts_with("chan receive") => Rule::ChanReceive,
            s if s.starts_with("select") => Rule::Select,
            s if s.starts_with("sync.") || s.starts_with("semacquire") || s == "sync.Cond.Wait" => {
                Rule::Sync
            }
            "IO wait" => Rule::Io,
            "sleep" => Rule::Sleep,
            "running" | "runnable" | "syscall" => Rule::Running,
            _ => Rule::Other,
        }
    }

    /// From the frames of a stack, leaf first.
    pub fn from_frames(stack: &[Frame]) -> (Rule, Option<&'static str>) {
        for f in stack {
            let name = f.function.as_str();
            let hit = match name {
                "runtime.chansend" | "runtime.chansend1" => Some((Rule::ChanSend, None)),
                "runtime.chanrecv" | "runtime.chanrecv1" | "runtime.chanrecv2" => {
                    Some((Rule::ChanReceive, None))
                }
                "runtime.selectgo" => Some((Rule::Select, None)),
                "runtime.block" => Some((Rule::Select, Some("select (no cases)"))),
                "time.Sleep" => Some((Rule::Sleep, Some("sleep"))),
                "internal/poll.runtime_pollWait" => Some((Rule::Io, Some("IO wait"))),
                _ if name.starts_with("sync.runtime_")
                    || name.starts_with("internal/sync.runtime_")
                    || name.starts_with("sync.(*Mutex).Lock")
                    || name.starts_with("sync.(*RWMutex).")
                    || name.starts_with("sync.(*WaitGroup).Wait")
                    || name.starts_with("sync.(*Cond).Wait") =>
                {
                    Some((Rule::Sync, None))
                }
                _ => None,
            };
            if let Some(h) = hit {
                return h;
            }
        }
        (Rule::Other, None)
    }
}

/// Frames that are the machinery of waiting, not the place that waits.
fn is_wait_machinery(function: &str) -> bool {
    function.starts_with("runtime.")
        || function.starts_with("internal/")
        || function.starts_with("sync.")
        || function == "time.Sleep"
        || function.is_empty()
}

/// One group of goroutines.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The runtime's state, or one inferred from the frames.
    pub state: Option<String>,
    pub rule: Rule,
    pub blocking: Frame,
    pub user: Option<Frame>,
    pub created_by: Option<String>,
    /// The `created by` call site, when snapshots came as dumps
    /// ([`GoroutineSeriesBuilder::push_dump`]).
    pub created_at: Option<Frame>,
    /// The first stack seen, leaf first.
    pub stack: Vec<Frame>,
    /// Reported by a goroutineleak profile, or marked `(leaked)`.
    pub confirmed_leak: bool,
}

/// Options for grouping.
#[derive(Clone, Debug, Default)]
pub struct GroupOptions {
    /// See [`crate::series::SeriesOptions::user_prefixes`].
    pub user_prefixes: Vec<String>,
}

/// Counts per group and snapshot.
#[derive(Clone, Debug, Default)]
pub struct GoroutineSeries {
    pub time_nanos: Vec<i64>,
    pub breaks: Vec<usize>,
    pub groups: Vec<Group>,
    /// counts[snapshot][group], shorter rows read as 0.
    counts: Vec<Vec<u64>>,
    /// Largest `wait_minutes` per snapshot and group, where known.
    waits: Vec<Vec<Option<u64>>>,
}

impl GoroutineSeries {
    pub fn len(&self) -> usize {
        self.time_nanos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_nanos.is_empty()
    }

    pub fn count(&self, group: usize, snapshot: usize) -> u64 {
        self.counts
            .get(snapshot)
            .and_then(|r| r.get(group))
            .copied()
            .unwrap_or(0)
    }

    /// All goroutines in one snapshot.
    pub fn count_total(&self, snapshot: usize) -> u64 {
        (0..self.groups.len())
            .map(|g| self.count(g, snapshot))
            .sum()
    }

    pub fn max_wait_minutes(&self, group: usize, snapshot: usize) -> Option<u64> {
        self.waits
            .get(snapshot)
            .and_then(|r| r.get(group))
            .copied()
            .flatten()
    }

    pub fn seconds(&self) -> Vec<f64> {
        let t0 = self.time_nanos.first().copied().unwrap_or(0);
        self.time_nanos
            .iter()
            .map(|&t| (t - t0) as f64 / 1e9)
            .collect()
    }
}

type Key = (Option<String>, Frame, Option<Frame>, Option<String>);

#[derive(Default)]
pub struct GoroutineSeriesBuilder {
    opts: GroupOptions,
    out: GoroutineSeries,
    ids: FxMap<Key, u32>,
    /// (blocking frame, user frame) of goroutines the runtime reported as
    /// leaked.
    confirmed: Vec<(Frame, Option<Frame>)>,
    pending_break: bool,
}

/// One sample or one goroutine, before grouping.
struct Item {
    stack: Vec<Frame>,
    state: Option<String>,
    created_by: Option<String>,
    created_at: Option<Frame>,
    count: u64,
    wait: Option<u64>,
    leaked: bool,
}

/// What grouping derives from one sample.
struct Classified {
    key: Key,
    rule: Rule,
    stack: Vec<Frame>,
}

impl GoroutineSeriesBuilder {
    pub fn new(opts: GroupOptions) -> Self {
        GoroutineSeriesBuilder {
            opts,
            ..Default::default()
        }
    }

    pub fn mark_restart(&mut self) {
        self.pending_break = true;
    }

    pub fn push(&mut self, p: &Profile) -> Result<(), DriftError> {
        self.push_at(p, p.time_nanos)
    }

    pub fn push_at(&mut self, p: &Profile, time_nanos: i64) -> Result<(), DriftError> {
        let index = self.out.time_nanos.len();
        if p.sample_types.len() != 1 {
            return Err(DriftError::NotGoroutine { index });
        }
        // Goroutine profiles have a few hundred distinct stacks at most, so
        // classifying every sample's frames is cheap enough.
        let items = p.samples.iter().map(|s| Item {
            stack: stack_frames(p, &s.locations),
            state: s.label_values("state").next().map(str::to_string),
            created_by: s.label_values("created_by").next().map(str::to_string),
            created_at: None,
            count: s.values.first().copied().unwrap_or(0).max(0) as u64,
            wait: s
                .num_label_values("wait_minutes")
                .max()
                .map(|w| w.max(0) as u64),
            leaked: s.label_values("leaked").any(|v| v == "true"),
        });
        self.push_items(items, time_nanos)
    }

    /// Adds a snapshot straight from a parsed `debug=2` dump
    /// (`profile::Parsed::goroutines`): the same groups as through
    /// `to_profile`, plus the `created by` call site (file:line), which the
    /// profile's labels do not carry.
    pub fn push_dump(
        &mut self,
        goroutines: &[Goroutine],
        time_nanos: i64,
    ) -> Result<(), DriftError> {
        // Goroutines parked at one place repeat one stack: each distinct
        // (state, stack, creator, leaked) is classified once, with its
        // count and longest wait, in order of first appearance (so groups
        // are numbered as one by one would number them). A leak of 100k
        // goroutines is a few distinct stacks.
        let same = |a: &Goroutine, b: &Goroutine| {
            a.state == b.state
                && a.leaked == b.leaked
                && a.frames.len() == b.frames.len()
                && a.frames
                    .iter()
                    .zip(&b.frames)
                    .all(|(x, y)| x.line == y.line && x.function == y.function && x.file == y.file)
                && match (&a.created_by, &b.created_by) {
                    (None, None) => true,
                    (Some(x), Some(y)) => {
                        x.line == y.line && x.function == y.function && x.file == y.file
                    }
                    _ => false,
                }
        };
        let key_hash = |g: &Goroutine| {
            let mut h = Fx::default();
            g.state.hash(&mut h);
            g.leaked.hash(&mut h);
            for f in &g.frames {
                (&f.function, &f.file, f.line).hash(&mut h);
            }
            if let Some(c) = &g.created_by {
                (&c.function, &c.file, c.line).hash(&mut h);
            }
            h.finish()
        };
        // (first goroutine, count, longest wait) per distinct goroutine.
        let mut distinct: Vec<(usize, u64, Option<u64>)> = Vec::new();
        let mut by_hash: FxMap<u64, Vec<usize>> = FxMap::default();
        for (i, g) in goroutines.iter().enumerate() {
            let slot = by_hash.entry(key_hash(g)).or_default();
            match slot.iter().find(|&&d| same(&goroutines[distinct[d].0], g)) {
                Some(&d) => {
                    let (_, count, wait) = &mut distinct[d];
                    *count += 1;
                    if let Some(w) = g.wait_minutes {
                        *wait = Some(wait.map_or(w, |o| o.max(w)));
                    }
                }
                None => {
                    slot.push(distinct.len());
                    distinct.push((i, 1, g.wait_minutes));
                }
            }
        }
        let items = distinct
            .iter()
            .map(|&(i, count, wait)| (&goroutines[i], count, wait));
        let items = items.map(|(g, count, wait)| Item {
            stack: g
                .frames
                .iter()
                .map(|f| Frame {
                    function: f.function.clone(),
                    file: f.file.clone(),
                    line: f.line as i64,
                })
                .collect(),
            state: Some(g.state.clone()),
            created_by: g.created_by.as_ref().map(|c| c.function.clone()),
            created_at: g.created_by.as_ref().map(|c| Frame {
                function: c.function.clone(),
                file: c.file.clone(),
                line: c.line as i64,
            }),
            count,
            wait,
            leaked: g.leaked,
        });
        self.push_items(items, time_nanos)
    }

    fn push_items(
        &mut self,
        items: impl Iterator<Item = Item>,
        time_nanos: i64,
    ) -> Result<(), DriftError> {
        let index = self.out.time_nanos.len();
        if self.out.time_nanos.last().is_some_and(|&l| time_nanos < l) {
            return Err(DriftError::OutOfOrder { index });
        }
        let mut counts: Vec<u64> = vec![0; self.out.groups.len()];
        let mut waits: Vec<Option<u64>> = vec![None; self.out.groups.len()];
        for it in items {
            let c = self.classify(it.stack, it.state, it.created_by);
            let id = match self.ids.get(&c.key) {
                Some(&id) => id as usize,
                None => {
                    let id = self.out.groups.len();
                    let (state, blocking, user, created_by) = c.key.clone();
                    self.ids.insert(c.key, id as u32);
                    self.out.groups.push(Group {
                        state,
                        rule: c.rule,
                        blocking,
                        user,
                        created_by,
                        created_at: None,
                        stack: c.stack,
                        confirmed_leak: false,
                    });
                    id
                }
            };
            let g = &mut self.out.groups[id];
            g.confirmed_leak |= it.leaked;
            if g.created_at.is_none() {
                g.created_at = it.created_at;
            }
            if counts.len() <= id {
                counts.resize(id + 1, 0);
                waits.resize(id + 1, None);
            }
            counts[id] += it.count;
            if let Some(w) = it.wait {
                waits[id] = Some(waits[id].map_or(w, |o| o.max(w)));
            }
        }
        if self.pending_break && index > 0 {
            self.out.breaks.push(index);
        }
        self.pending_break = false;
        self.out.time_nanos.push(time_nanos);
        self.out.counts.push(counts);
        self.out.waits.push(waits);
        Ok(())
    }

    /// Records a `goroutineleak` profile: its groups are leaks by the
    /// runtime's own proof (matched on blocking frame and user frame, as
    /// its stacks carry no state label).
    pub fn push_leak_profile(&mut self, p: &Profile) {
        for s in &p.samples {
            // A sample without frames (a main goroutine parked in
            // `select {}`) names no site: matched on its empty frame it
            // would confirm every frameless group.
            if s.values.first().copied().unwrap_or(0) <= 0 || s.locations.is_empty() {
                continue;
            }
            let c = self.classify(stack_frames(p, &s.locations), None, None);
            let (_, blocking, user, _) = c.key;
            if !self.confirmed.contains(&(blocking.clone(), user.clone())) {
                self.confirmed.push((blocking, user));
            }
        }
    }

    /// The series so far (a copy, with confirmed leaks marked), without
    /// ending it: goroutine series are small, `watch` copies one per round.
    pub fn snapshot(&self) -> GoroutineSeries {
        let mut out = self.out.clone();
        mark_confirmed(&mut out, &self.confirmed);
        out
    }

    pub fn finish(mut self) -> GoroutineSeries {
        mark_confirmed(&mut self.out, &self.confirmed);
        self.out
    }

    fn classify(
        &self,
        stack: Vec<Frame>,
        label_state: Option<String>,
        created_by: Option<String>,
    ) -> Classified {
        let (frame_rule, frame_state) = Rule::from_frames(&stack);
        let rule = match &label_state {
            Some(st) => Rule::from_state(st),
            None => frame_rule,
        };
        let state = label_state.or_else(|| match frame_state {
            Some(st) => Some(st.to_string()),
            None if frame_rule != Rule::Other => Some(frame_rule.as_str().to_string()),
            None => None,
        });
        let blocking = stack
            .iter()
            .find(|f| !is_wait_machinery(&f.function))
            .or(stack.first())
            .cloned()
            .unwrap_or(Frame {
                function: String::new(),
                file: String::new(),
                line: 0,
            });
        let user = stack
            .iter()
            .find(|f| frames::is_user(&f.function, &self.opts.user_prefixes))
            .cloned();
        Classified {
            key: (state, blocking, user, created_by),
            rule,
            stack,
        }
    }
}

fn mark_confirmed(out: &mut GoroutineSeries, confirmed: &[(Frame, Option<Frame>)]) {
    for g in &mut out.groups {
        if confirmed
            .iter()
            .any(|(b, u)| *b == g.blocking && *u == g.user)
        {
            g.confirmed_leak = true;
        }
    }
}

/// Options of the goroutine analysis.
#[derive(Clone, Debug)]
pub struct GoroutineOptions {
    pub thresholds: Thresholds,
    /// LeakProf's single-snapshot rule: a blocked group at least this large
    /// is at least `suspect` even without a trend.
    pub pileup_threshold: u64,
    pub include_stable: bool,
}

impl Default for GoroutineOptions {
    fn default() -> Self {
        GoroutineOptions {
            thresholds: Thresholds::goroutines(),
            pileup_threshold: 10_000,
            include_stable: false,
        }
    }
}

/// A group without user code that runs the profiling endpoint.
fn is_observer(g: &Group) -> bool {
    g.user.is_none()
        && g.stack.iter().any(|f| {
            f.function.starts_with("runtime/pprof.") || f.function.starts_with("net/http/pprof.")
        })
}

/// The cause of a ticker loop that never stops, as the stack shows it.
pub(crate) const TICKER_LOOP: &str =
    "a loop over a ticker's channel is started per object and never stopped";

/// A named signature from the catalogue: (name, root cause, fix hint).
pub fn goroutine_signature(g: &Group) -> Option<(Signature, &'static str, &'static str)> {
    let has = |p: &str| g.stack.iter().any(|f| f.function.starts_with(p));
    let created = |p: &str| g.created_by.as_deref().is_some_and(|c| c.starts_with(p));
    if has("net/http.(*persistConn).readLoop")
        || has("net/http.(*persistConn).writeLoop")
        || created("net/http.(*Transport).dialConn")
    {
        return Some((
            Signature::HttpBodiesNeverClosed,
            "every open HTTP/1 connection keeps a readLoop and a writeLoop goroutine; their number grows because response bodies are not closed, so connections are never returned or torn down",
            "defer resp.Body.Close() after every successful request (and read the body to EOF to reuse the connection)",
        ));
    }
    if g.state.as_deref() == Some("select (no cases)") || has("runtime.block") {
        return Some((
            Signature::SelectWithNoWayOut,
            "goroutines execute `select {}` (or a select whose every channel is nil) and can never continue",
            "give the goroutine a way to end: a done channel or ctx.Done() case",
        ));
    }
    if g.state
        .as_deref()
        .is_some_and(|s| s.ends_with("(nil chan)"))
    {
        return Some((
            Signature::NilChannel,
            "a send or receive on a nil channel blocks forever",
            "initialise the channel before use, or guard the operation",
        ));
    }
    if has("runtime.runfinq") {
        return Some((
            Signature::FinalizerBlocked,
            "a finalizer blocks, which stalls every later finalizer and keeps their objects alive",
            "never block in a finalizer; prefer runtime.AddCleanup (Go 1.24)",
        ));
    }
    if has("context.propagateCancel") || created("context.propagateCancel") {
        return Some((
            Signature::ContextNeverCancelled,
            "a goroutine per derived context waits for a custom parent context that is never cancelled",
            "call the cancel function of every derived context",
        ));
    }
    if has("time.(*Ticker)") || g.stack.iter().any(|f| f.function == "time.NewTicker") {
        return Some((
            Signature::TickerLoopNeverStopped,
            TICKER_LOOP,
            "stop the ticker and return from the loop when the owner closes (a done channel or ctx.Done())",
        ));
    }
    None
}

/// Entry points of net/http's client. A heap site of the user's code whose
/// stack runs through one of them is an HTTP call site.
const HTTP_CLIENT_CALLS: &[&str] = &[
    "net/http.(*Client).Do",
    "net/http.(*Client).Get",
    "net/http.(*Client).Head",
    "net/http.(*Client).Post",
    "net/http.(*Client).PostForm",
    "net/http.Get",
    "net/http.Head",
    "net/http.Post",
    "net/http.PostForm",
    "net/http.(*Transport).RoundTrip",
];

/// Points growing `persistConn` goroutine groups at the user's HTTP call
/// site. Their stacks hold only net/http code (the transport dials on a
/// goroutine of its own), so the group's site is a net/http line the user
/// cannot change. The heap knows more: each request made at the call site
/// stays reachable from the connection it is parked on, so of the user's
/// heap sites that call into net/http's client, the one whose in-use bytes
/// grow is where responses are left open. Linked only when such a site
/// grows; otherwise the finding keeps the net/http frame and says why.
pub fn link_http_callers(
    all: &mut [Finding],
    heap: Option<(&crate::series::HeapSeries, &crate::cycles::HeapCycles)>,
) {
    use crate::series::Metric;
    let open = |f: &Finding| {
        f.kind == Kind::Goroutine
            && f.verdict >= Verdict::Suspect
            && f.signature == Some(Signature::HttpBodiesNeverClosed)
            && frames::is_standard(&f.function)
    };
    if !all.iter().any(open) {
        return;
    }
    let mut best: Option<(f64, usize)> = None;
    if let Some((hs, cycles)) = heap {
        let (keep, x, breaks) = (&cycles.keep, &cycles.x, &cycles.breaks);
        for (i, site) in hs.sites.iter().enumerate() {
            let calls_http = site
                .stack
                .iter()
                .any(|fr| HTTP_CLIENT_CALLS.contains(&fr.function.as_str()));
            if !site.user || !calls_http {
                continue;
            }
            let y = keep
                .iter()
                .map(|&k| hs.value(Metric::InuseSpace, i, k) as f64)
                .collect();
            let s = Series::new(x.clone(), y).with_breaks(breaks.clone());
            let s = crate::stats::reduce(&s, crate::stats::MAX_PAIRWISE_POINTS);
            let slope = crate::stats::theil_sen(&s).map_or(0.0, |l| l.slope);
            if slope > 0.0 && best.is_none_or(|(b, _)| slope > b) {
                best = Some((slope, i));
            }
        }
    }
    let site = best.and_then(|(_, i)| heap.map(|(hs, _)| &hs.sites[i]));
    for f in all.iter_mut().filter(|f| open(f)) {
        match site {
            Some(s) => {
                f.notes.push(format!(
                    "these goroutines run only net/http code; the call site is {} {}:{}, whose requests stay in the heap, held by the open connections",
                    s.function, s.file, s.line
                ));
                f.function = s.function.clone();
                f.file = s.file.clone();
                f.line = s.line;
            }
            None => f.notes.push(
                "these goroutines run only net/http code; no HTTP call site of your code grows in the heap profile (small requests may need a finer runtime.MemProfileRate to show)".into(),
            ),
        }
    }
    if let Some(s) = site {
        for f in all.iter_mut() {
            if f.kind == Kind::Heap
                && f.verdict >= Verdict::Suspect
                && f.signature.is_none()
                && (f.function.as_str(), f.file.as_str(), f.line)
                    == (s.function.as_str(), s.file.as_str(), s.line)
            {
                f.signature = Some(Signature::HttpBodiesNeverClosed);
                f.root_cause = "the requests made here stay reachable from connections whose response bodies were never closed".into();
                f.fix_hint =
                    "defer resp.Body.Close() after every successful request, and drain the body"
                        .into();
            }
        }
    }
}

fn rule_cause(rule: Rule) -> (&'static str, &'static str) {
    match rule {
        Rule::ChanSend => (
            "goroutines block sending on a channel nobody receives from any more (the receiver returned early or timed out)",
            "give the channel a buffer of 1 (or of the number of senders), or select on ctx.Done() when sending",
        ),
        Rule::ChanReceive => (
            "goroutines wait on a channel that is never sent to or closed",
            "close the channel when the producer is done, or select on ctx.Done()",
        ),
        Rule::Select => (
            "goroutines wait in a select none of whose cases will ever fire",
            "add a done channel or ctx.Done() case, and make sure someone closes it",
        ),
        Rule::Sync => (
            "goroutines wait on a lock, WaitGroup or Cond that is never released (a missing Unlock/Done, or a deadlock)",
            "check every path releases the lock (defer mu.Unlock()) and every Add has a Done",
        ),
        Rule::Io | Rule::Sleep | Rule::Running | Rule::Other => (
            "goroutines of this kind keep being started and never finish",
            "bound their number and give each a way to stop (Stop/Close on the owner, context cancellation)",
        ),
    }
}

/// One finding per group whose verdict is not stable (or every group with
/// `include_stable`), unranked.
pub fn analyze_goroutines(gs: &GoroutineSeries, opts: &GoroutineOptions) -> Vec<Finding> {
    let x = gs.seconds();
    let mut out = Vec::new();
    let mut all_rises = 0.0;
    for (gi, g) in gs.groups.iter().enumerate() {
        // Goroutines serving a profile (the watcher's own requests) come
        // and go with whoever profiles the process: never a finding.
        if is_observer(g) && !opts.include_stable {
            continue;
        }
        let y: Vec<f64> = (0..gs.len()).map(|s| gs.count(gi, s) as f64).collect();
        let s = Series::new(x.clone(), y).with_breaks(gs.breaks.clone());
        let mut a = assess(&s, &opts.thresholds);
        all_rises += a.rise.max(0.0);
        let last = gs.len().saturating_sub(1);
        let last_count = gs.count(gi, last);
        let mut notes = std::mem::take(&mut a.notes);
        if is_observer(g) {
            a.verdict = Verdict::Stable;
            notes.push("serving a profile (runtime/pprof, net/http/pprof): the profiler's own goroutines, not the program's".into());
        } else if g.confirmed_leak && last_count > 0 {
            // The runtime proves these goroutines can never wake; whether
            // that is a leak is the trend's to say. A group whose number
            // does not grow is parked for good (a deliberate `select {}`,
            // a one-off): listed as stuck, never ranked above growth.
            a.confidence = 1.0;
            notes.push("confirmed by the runtime's goroutine leak detector (goroutineleak profile): these goroutines can never wake".into());
            if a.verdict >= Verdict::Suspect && a.rate_known {
                a.verdict = Verdict::Leak;
            } else {
                a.verdict = Verdict::Stuck;
                notes.push(format!(
                    "{last_count} goroutine{} stuck for good, but their number does not grow{}: not a growing leak",
                    if last_count == 1 { "" } else { "s" },
                    if a.rate_known {
                        ""
                    } else {
                        " (as far as a series this short can tell)"
                    }
                ));
            }
        } else if a.verdict == Verdict::Stable
            && g.rule.is_blocking()
            && last_count >= opts.pileup_threshold
        {
            a.verdict = Verdict::Suspect;
            a.confidence = 0.4;
            notes.push(format!(
                "{last_count} goroutines blocked at one place (LeakProf's pile-up rule), though the count does not grow"
            ));
        }
        if a.verdict == Verdict::Stable && !opts.include_stable {
            continue;
        }
        if let Some(w) = gs.max_wait_minutes(gi, last) {
            notes.push(format!(
                "the longest-waiting goroutine has waited {w} minutes"
            ));
        }
        let sig = goroutine_signature(g);
        let (cause, fix) = match (a.verdict, sig) {
            (Verdict::Stable, _) => ("the number of goroutines does not grow", ""),
            (Verdict::Stuck, _) => (
                "these goroutines can never wake (the runtime's leak detector proves it), but their number does not grow: parked for good, as a deliberate `select {}` is, or leaked once",
                "if it is deliberate, nothing; otherwise give the goroutine a way to end (a done channel, ctx.Done())",
            ),
            (Verdict::Plateau, _) => (
                "goroutines were started during warm-up and then stayed constant (a worker pool)",
                "",
            ),
            (_, Some((_, c, f))) => (c, f),
            (_, None) => rule_cause(g.rule),
        };
        let site = g.user.clone().unwrap_or_else(|| g.blocking.clone());
        out.push(Finding {
            kind: Kind::Goroutine,
            verdict: a.verdict,
            function: site.function.clone(),
            file: site.file.clone(),
            line: site.line,
            growth_per_min: a.slope * 60.0,
            unit: Unit::Goroutines,
            confidence: a.confidence,
            score: 0.0,
            rule: Some(g.rule),
            signature: sig.map(|s| s.0),
            state: g.state.clone(),
            created_by: g.created_by.clone(),
            created_at: g.created_at.clone(),
            blocking_frame: Some(g.blocking.clone()),
            resource: None,
            root_cause: cause.into(),
            fix_hint: fix.into(),
            notes,
            stack: g.stack.clone(),
            evidence: {
                let mut ev = evidence(&s, &a);
                let waits: Vec<Option<u64>> =
                    (0..gs.len()).map(|i| gs.max_wait_minutes(gi, i)).collect();
                if waits.iter().any(Option::is_some) {
                    ev.wait_minutes = waits;
                }
                ev
            },
        });
    }
    set_shares(&mut out, all_rises);
    out
}
