//! Which profiles a round fetches. Pure: the worker asks [`Cadence::plan`]
//! each round and reports back with [`Due::fetched`].
//!
//! Every round: `heap` (proto: per-site values and restart evidence),
//! `heap?debug=1` (the MemStats footer: stacks, released and unreleased
//! heap, Sys; a few KB) and `goroutine` (proto: groups and counts).
//!
//! Less often:
//! - `allocs`: the heap proto already carries alloc_space and
//!   alloc_objects (Go's `allocs` is the same records with another default
//!   sample type), so fetching it every round would store the same data
//!   twice. It is taken every `allocs_every` rounds (default 20) so an
//!   archive has it for people who open `allocs` by habit; 0 turns it off.
//! - `goroutine?debug=2`: the full dump, the only source of wait times and
//!   `created by` call sites, but large (about 1 KB per goroutine) and it
//!   stops the world while it is written; every `dump_every` rounds, and
//!   skipped (with a note) above `dump_max_goroutines` goroutines or
//!   `dump_max_bytes` of body.
//! - `goroutineleak` (Go 1.26+, where the index lists it): runs a GC cycle
//!   per request, so at least `leak_every` rounds and `leak_min_interval`
//!   apart.

use std::time::{Duration, Instant};

use fetch::watch::Endpoint;

/// How often the rarer profiles are fetched (see the module docs).
#[derive(Clone, Debug)]
pub struct Cadence {
    pub allocs_every: u64,
    pub dump_every: u64,
    pub dump_max_goroutines: i64,
    pub dump_max_bytes: u64,
    pub leak_every: u64,
    pub leak_min_interval: Duration,
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            allocs_every: 20,
            dump_every: 5,
            dump_max_goroutines: 10_000,
            dump_max_bytes: 16 << 20,
            leak_every: 10,
            leak_min_interval: Duration::from_secs(60),
        }
    }
}

/// When each rare profile was last fetched (round number and time).
#[derive(Clone, Debug, Default)]
pub struct Due {
    last: [Option<(u64, Instant)>; 3],
}

fn slot(e: Endpoint) -> Option<usize> {
    match e {
        Endpoint::Allocs => Some(0),
        Endpoint::GoroutineDump => Some(1),
        Endpoint::GoroutineLeak => Some(2),
        _ => None,
    }
}

impl Due {
    /// Records a fetch attempt of `e` (successful or not: a failing rare
    /// endpoint is not hammered every round).
    pub fn fetched(&mut self, e: Endpoint, round: u64, now: Instant) {
        if let Some(i) = slot(e) {
            self.last[i] = Some((round, now));
        }
    }

    fn ready(&self, e: Endpoint, round: u64, now: Instant, every: u64, min: Duration) -> bool {
        if every == 0 {
            return false;
        }
        match slot(e).and_then(|i| self.last[i]) {
            None => true,
            Some((r, t)) => round >= r + every && now.duration_since(t) >= min,
        }
    }
}

impl Cadence {
    /// The endpoints of round `round` (0-based count of successful
    /// rounds), in fetch order; `has(e)` says whether the target serves it.
    pub fn plan(
        &self,
        round: u64,
        now: Instant,
        due: &Due,
        has: impl Fn(Endpoint) -> bool,
    ) -> Vec<Endpoint> {
        let mut v = vec![Endpoint::Heap, Endpoint::HeapDebug1, Endpoint::Goroutine];
        let rare = [
            (Endpoint::Allocs, self.allocs_every, Duration::ZERO),
            (Endpoint::GoroutineDump, self.dump_every, Duration::ZERO),
            (
                Endpoint::GoroutineLeak,
                self.leak_every,
                self.leak_min_interval,
            ),
        ];
        for (e, every, min) in rare {
            if due.ready(e, round, now, every, min) {
                v.push(e);
            }
        }
        v.retain(|&e| e == Endpoint::Heap || has(e));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(c: &Cadence, rounds: u64, every: Duration, has_leak: bool) -> Vec<Vec<Endpoint>> {
        let t0 = Instant::now();
        let mut due = Due::default();
        (0..rounds)
            .map(|r| {
                let now = t0 + every * r as u32;
                let p = c.plan(r, now, &due, |e| has_leak || e != Endpoint::GoroutineLeak);
                for &e in &p {
                    due.fetched(e, r, now);
                }
                p
            })
            .collect()
    }

    fn count(plans: &[Vec<Endpoint>], e: Endpoint) -> usize {
        plans.iter().filter(|p| p.contains(&e)).count()
    }

    #[test]
    fn default_cadence_at_one_second() {
        let plans = run(&Cadence::default(), 12, Duration::from_secs(1), true);
        assert!(
            plans
                .iter()
                .all(|p| p[..3] == [Endpoint::Heap, Endpoint::HeapDebug1, Endpoint::Goroutine])
        );
        assert_eq!(count(&plans, Endpoint::GoroutineDump), 3); // rounds 0, 5, 10
        assert_eq!(count(&plans, Endpoint::Allocs), 1);
        // Ten rounds are only 10 s: the leak profile waits for 60 s.
        assert_eq!(count(&plans, Endpoint::GoroutineLeak), 1);
        let long = run(&Cadence::default(), 130, Duration::from_secs(1), true);
        assert_eq!(count(&long, Endpoint::GoroutineLeak), 3); // 0, 60, 120
    }

    #[test]
    fn leak_every_tenth_round_at_long_intervals() {
        let plans = run(&Cadence::default(), 25, Duration::from_secs(15), true);
        let rounds: Vec<usize> = (0..25)
            .filter(|&r| plans[r].contains(&Endpoint::GoroutineLeak))
            .collect();
        assert_eq!(rounds, [0, 10, 20]);
        let none = run(&Cadence::default(), 25, Duration::from_secs(15), false);
        assert_eq!(count(&none, Endpoint::GoroutineLeak), 0);
    }

    #[test]
    fn zero_turns_off() {
        let c = Cadence {
            allocs_every: 0,
            dump_every: 0,
            leak_every: 0,
            ..Cadence::default()
        };
        let plans = run(&c, 30, Duration::from_secs(15), true);
        assert!(plans.iter().all(|p| p.len() == 3));
    }
}
