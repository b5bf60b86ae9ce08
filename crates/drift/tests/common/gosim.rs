//! What Go's heap profiler reports about a program, simulated from its
//! mechanisms rather than drawn as curves:
//! - sampling: an allocation of `size` bytes is sampled with probability
//!   1 − exp(−size/rate) (runtime.MemProfileRate, 512 KiB by default), and
//!   the profile scales each site's sampled count back up by the inverse,
//!   so a site's value moves in steps of about one sample's worth and its
//!   count is Poisson;
//! - timing: the profile is the state as of the last completed GC, so a
//!   snapshot repeats the previous one until a GC completes, and what it
//!   shows of a population that changes between GCs depends on when the
//!   GCs ran.

use super::{Builder, Rng};
use drift::memory::MemPoint;
use profile::legacy::MemStats;

/// Go's default runtime.MemProfileRate.
pub const RATE: f64 = 524_288.0;

pub struct Random(Rng);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1))
    }

    /// Uniform in 0..1.
    pub fn uniform(&mut self) -> f64 {
        (self.0.next() + 1.0) / 2.0
    }

    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-12);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// A Poisson count of mean `lambda` (Knuth's product of uniforms for
    /// small means, the normal approximation above 30).
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.uniform();
        while p > limit {
            k += 1;
            p *= self.uniform();
        }
        k
    }
}

/// The probability that an allocation of `size` bytes is sampled.
pub fn sampled_fraction(size: f64, rate: f64) -> f64 {
    1.0 - (-size / rate).exp()
}

/// How the live objects of one site come and go.
pub enum Population {
    /// Objects allocated at `per_sec` and never freed: sampled objects
    /// accumulate, so the count only ever grows, by Poisson steps.
    Leak { per_sec: f64 },
    /// Objects kept while they are `live(t)`, replaced faster than the
    /// snapshots come: each GC sees a fresh Poisson draw.
    Churn { live: Box<dyn Fn(f64) -> f64> },
    /// Distinct entries of a cache that never evicts, `live(t)` of them
    /// (an LRU still filling, a finite key space): entries stay, so sampled
    /// entries accumulate as `live` rises.
    Kept { live: Box<dyn Fn(f64) -> f64> },
    /// A bounded population (a cache at its bound, a log truncated behind
    /// its head) of `live(t)` objects, `per_sec` of them replaced by new
    /// ones: objects outlive several snapshots, so the sampled count moves
    /// by sampled arrivals and removals, a random walk around its mean.
    Replaced {
        live: Box<dyn Fn(f64) -> f64>,
        per_sec: f64,
    },
    /// Entries inserted at `per_sec`, each expiring after a lifetime drawn
    /// uniformly from `ttl` ± 50% (a TTL cache): the sampled entries alive
    /// at a GC.
    Expiring { per_sec: f64, ttl: f64 },
    /// A batch that fills at `per_sec` objects and is released every
    /// `period` seconds (a buffer flushed periodically): what a GC sees
    /// depends on where in the period it ran.
    Batch { per_sec: f64, period: f64 },
}

/// One site: its stack, object size and population.
pub struct SimSite {
    pub frames: Vec<(&'static str, &'static str, i64)>,
    pub size: f64,
    pub population: Population,
}

impl SimSite {
    pub fn new(function: &'static str, line: i64, size: f64, population: Population) -> SimSite {
        SimSite {
            frames: vec![
                ("runtime.mallocgc", "malloc.go", 1),
                (function, "/src/svc/main.go", line),
                ("main.main", "/src/svc/main.go", 5),
            ],
            size,
            population,
        }
    }
}

/// Sampled state of a site at one GC.
#[derive(Clone, Default)]
struct State {
    /// Sampled live objects.
    count: u64,
    /// Sampled allocations so far (for alloc_space).
    allocated: u64,
    /// Sampled insertion times still alive (Expiring) or in this batch.
    events: Vec<f64>,
}

/// A run of the program: GCs at irregular times (intervals uniform in
/// `gc_every` ± 50%), heap profiles fetched every `every` seconds for
/// `duration` seconds, at `rate`.
pub struct Run {
    pub sites: Vec<SimSite>,
    pub gc_every: f64,
    pub every: f64,
    pub duration: f64,
    pub rate: f64,
    pub seed: u64,
}

impl Run {
    /// The heap profiles as `/debug/pprof/heap` would serve them.
    pub fn profiles(&self) -> Vec<profile::Profile> {
        let mut rnd = Random::new(self.seed);
        let (mut b, samples) = self.builder();
        let mut states = vec![State::default(); self.sites.len()];
        let mut last_gc = 0.0;
        let mut next_gc = self.gc_every * (0.5 + rnd.uniform());
        let mut out = Vec::new();
        let mut t = 0.0;
        while t <= self.duration + 1e-9 {
            while next_gc <= t {
                for (s, st) in self.sites.iter().zip(&mut states) {
                    self.advance(s, st, last_gc, next_gc, &mut rnd);
                }
                last_gc = next_gc;
                next_gc += self.gc_every * (0.5 + rnd.uniform());
            }
            self.set_values(&mut b, &samples, &states);
            b.p.time_nanos = 1_800_000_000_000_000_000 + (t * 1e9) as i64;
            out.push(b.p.clone());
            t += self.every;
        }
        out
    }

    /// A heap profile builder at the run's rate with one sample per site
    /// (their indexes).
    fn builder(&self) -> (Builder, Vec<usize>) {
        let mut b = Builder::heap();
        b.p.period = self.rate as i64;
        b.p.period_type = Some(profile::ValueType::new("space", "bytes"));
        let samples = self
            .sites
            .iter()
            .map(|s| {
                let st = b.stack(&s.frames);
                b.heap_sample(st, [0; 4])
            })
            .collect();
        (b, samples)
    }

    /// Each site's sample set from its sampled state, scaled back up by the
    /// inverse of the sampled fraction as Go does.
    fn set_values(&self, b: &mut Builder, samples: &[usize], states: &[State]) {
        for (k, (s, st)) in self.sites.iter().zip(states).enumerate() {
            let scale = 1.0 / sampled_fraction(s.size, self.rate);
            let objects = (st.count as f64 * scale) as i64;
            let bytes = (st.count as f64 * scale * s.size) as i64;
            let alloc_objects = (st.allocated as f64 * scale) as i64;
            let alloc_bytes = (st.allocated as f64 * scale * s.size) as i64;
            b.p.samples[samples[k]].values = vec![alloc_objects, alloc_bytes, objects, bytes];
        }
    }

    /// Moves a site's sampled state from the GC at `from` to the GC at `to`.
    fn advance(&self, s: &SimSite, st: &mut State, from: f64, to: f64, rnd: &mut Random) {
        let p = sampled_fraction(s.size, self.rate);
        match &s.population {
            Population::Leak { per_sec } => {
                let new = rnd.poisson(per_sec * (to - from) * p);
                st.count += new;
                st.allocated += new;
            }
            Population::Churn { live } => {
                st.count = rnd.poisson(live(to) * p);
                st.allocated += st.count;
            }
            Population::Kept { live } => {
                let new = rnd.poisson((live(to) - live(from)).max(0.0) * p);
                st.count += new;
                st.allocated += new;
            }
            Population::Replaced { live, per_sec } => {
                let fill = rnd.poisson((live(to) - live(from)).max(0.0) * p);
                let arrived = rnd.poisson(per_sec * (to - from) * p);
                // A removal takes a sampled object as often as sampled
                // objects are among all of them.
                let removed = rnd
                    .poisson(per_sec * (to - from) * st.count as f64 / live(to).max(1.0))
                    .min(st.count);
                st.count = st.count + fill + arrived - removed;
                st.allocated += fill + arrived;
            }
            Population::Expiring { per_sec, ttl } => {
                let n = rnd.poisson(per_sec * (to - from) * p);
                for _ in 0..n {
                    let born = from + rnd.uniform() * (to - from);
                    st.events.push(born + ttl * (0.5 + rnd.uniform()));
                }
                st.events.retain(|&dies| dies > to);
                st.count = st.events.len() as u64;
                st.allocated += n;
            }
            Population::Batch { per_sec, period } => {
                let phase = to % period;
                let n = rnd.poisson(per_sec * (to - from) * p);
                st.allocated += n;
                // The batch holds what was allocated since the last flush.
                st.count = if to - from >= phase {
                    rnd.poisson(per_sec * phase * p)
                } else {
                    st.count + n
                };
            }
        }
    }
}

/// How GC paces itself in [`Run::paced`]: Go starts a GC when the heap has
/// grown by GOGC percent of what the last one marked (at least to 4 MiB),
/// so as the live heap grows its cycles lengthen.
pub struct Pacing {
    /// Bytes per second of short-lived allocation (requests, buffers).
    pub garbage_per_sec: f64,
    /// Live bytes besides the sites (runtime, globals, idle buffers).
    pub base_live: f64,
    pub gogc: f64,
}

/// Go's smallest heap goal (runtime heapMinimum at GOGC 100).
const HEAP_MINIMUM: f64 = 4.0 * 1024.0 * 1024.0;

/// Unix time of a run's start, in nanoseconds.
const START_NANOS: i64 = 1_800_000_000_000_000_000;

impl Run {
    /// The run as plain `/debug/pprof/heap` serves it under GC pacing, and
    /// the MemStats read with each profile:
    /// - GCs start when the heap has grown from the live bytes the last
    ///   one marked to the goal, live × (1 + GOGC/100) (`gc_every` is not
    ///   used);
    /// - the profile after GC N shows the heap as of GC N−1 (Go publishes
    ///   a heap profile one cycle late, runtime/mprof.go);
    /// - each MemStats says how many GCs ended (`NumGC`), when
    ///   (`PauseEnd`, `LastGC`), and the goal the last one set (`NextGC`).
    pub fn paced(&self, pacing: &Pacing) -> (Vec<profile::Profile>, Vec<MemPoint>) {
        let mut rnd = Random::new(self.seed);
        let (mut b, samples) = self.builder();
        let mut states = vec![State::default(); self.sites.len()];
        let mut published = states.clone();
        let mut gc_ends: Vec<f64> = Vec::new();
        let mut last_gc = 0.0;
        let mut goal = HEAP_MINIMUM;
        let mut live_at_gc = pacing.base_live;
        let step = 0.01;
        let mut t = 0.0;
        let mut next_fetch = 0.0;
        let (mut profiles, mut memory) = (Vec::new(), Vec::new());
        while next_fetch <= self.duration + 1e-9 {
            if t >= next_fetch - 1e-9 {
                self.set_values(&mut b, &samples, &published);
                let now = START_NANOS + (next_fetch * 1e9) as i64;
                b.p.time_nanos = now;
                profiles.push(b.p.clone());
                let mut ring = vec![0u64; 256];
                for (k, &e) in gc_ends.iter().enumerate() {
                    ring[k % 256] = (START_NANOS + (e * 1e9) as i64) as u64;
                }
                memory.push(MemPoint {
                    time_nanos: now,
                    stats: MemStats {
                        num_gc: gc_ends.len() as u64,
                        last_gc: gc_ends
                            .last()
                            .map_or(0, |&e| (START_NANOS + (e * 1e9) as i64) as u64),
                        pause_end: ring,
                        next_gc: goal as u64,
                        heap_alloc: live_at_gc as u64,
                        ..MemStats::default()
                    },
                    rss: None,
                    anon_rss: None,
                });
                next_fetch += self.every;
                continue;
            }
            t += step;
            let allocated = pacing.garbage_per_sec * (t - last_gc)
                + self
                    .sites
                    .iter()
                    .map(|s| self.allocated_bytes(s, last_gc, t))
                    .sum::<f64>();
            if live_at_gc + allocated >= goal {
                published = states.clone();
                for (s, st) in self.sites.iter().zip(&mut states) {
                    self.advance(s, st, last_gc, t, &mut rnd);
                }
                live_at_gc = pacing.base_live
                    + self
                        .sites
                        .iter()
                        .map(|s| self.live_objects(s, t) * s.size)
                        .sum::<f64>();
                goal = (live_at_gc * (1.0 + pacing.gogc / 100.0)).max(HEAP_MINIMUM);
                last_gc = t;
                gc_ends.push(t);
            }
        }
        (profiles, memory)
    }

    /// The expected live objects of a site at `t` (what a GC marks).
    fn live_objects(&self, s: &SimSite, t: f64) -> f64 {
        match &s.population {
            Population::Leak { per_sec } => per_sec * t,
            Population::Churn { live }
            | Population::Kept { live }
            | Population::Replaced { live, .. } => live(t),
            Population::Expiring { per_sec, ttl } => per_sec * t.min(*ttl),
            Population::Batch { per_sec, period } => per_sec * (t % period),
        }
    }

    /// The expected bytes a site allocates from `from` to `to`.
    fn allocated_bytes(&self, s: &SimSite, from: f64, to: f64) -> f64 {
        let objects = match &s.population {
            Population::Leak { per_sec }
            | Population::Expiring { per_sec, .. }
            | Population::Batch { per_sec, .. } => per_sec * (to - from),
            Population::Kept { live } => (live(to) - live(from)).max(0.0),
            Population::Replaced { live, per_sec } => {
                (live(to) - live(from)).max(0.0) + per_sec * (to - from)
            }
            // What churns is the caller's `garbage_per_sec`.
            Population::Churn { .. } => 0.0,
        };
        objects * s.size
    }
}
