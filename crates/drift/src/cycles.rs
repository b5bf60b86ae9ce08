//! When each heap snapshot shows the heap.
//!
//! Go publishes its heap profile one GC cycle late (runtime/mprof.go):
//! allocations count toward the snapshot of the next mark termination and
//! sweep frees toward the previous one, and a snapshot is published only
//! once its frees are all swept, at the following mark termination. So
//! after the Nth GC, plain `/debug/pprof/heap` shows the heap as of the end
//! of GC N−1; nothing allocated since then is in it. Only `runtime.GC()`
//! (what `?gc=1` calls) publishes the snapshot of its own cycle.
//!
//! Timed at its fetch, a snapshot can be minutes younger than what it
//! shows: GC runs when the heap has grown by GOGC percent, so as a heap
//! grows its cycles lengthen, each new profile arrives later after the
//! state it shows, and a rise that is slowing down (a cache filling up)
//! reads as a straight or even accelerating one. The MemStats footer read
//! with each snapshot names its GC (`NumGC`) and the end times of the last
//! 256 GCs (`PauseEnd`): the snapshot is placed at the end of the GC it
//! shows.

use crate::memory::MemPoint;
use crate::series::{HeapSeries, Metric};
use crate::stats::{self, Series};

/// The points of a heap series: one per GC cycle shown, and their times.
#[derive(Clone, Debug, PartialEq)]
pub struct HeapCycles {
    /// Index of the snapshot behind each point.
    pub keep: Vec<usize>,
    /// Seconds from the first snapshot's time to what each point shows
    /// (negative when a profile showed a GC that ended before the first
    /// snapshot was fetched).
    pub x: Vec<f64>,
    /// Points that start a new segment (restarts).
    pub breaks: Vec<usize>,
    /// How the points are timed.
    pub placement: Placement,
    /// The heap goal after each GC of the last segment, at the GC's end
    /// (seconds as `x`); empty without MemStats. See [`heap_goals`].
    pub goals: Series,
}

/// How the points of a heap series are timed.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// At the fetch of the first snapshot showing each cycle: no MemStats
    /// to pair with, or profiles fetched with `?gc=1` (which show the heap
    /// as of the fetch); `repeated` snapshots repeated the one before.
    Fetch { repeated: usize },
    /// At the end of the GC whose heap each snapshot shows.
    GcEnd {
        /// Snapshots that showed no heap yet (Go publishes its first
        /// profile at the second GC), left out.
        empty: usize,
        /// Snapshots that showed the same GC as the one before, merged.
        repeated: usize,
    },
}

impl HeapCycles {
    /// Each snapshot timed at its fetch, one point per run of identical
    /// snapshots ([`crate::verdict::gc_cycles`]).
    pub fn at_fetch(hs: &HeapSeries) -> HeapCycles {
        let keep = crate::verdict::gc_cycles(hs);
        let all_x = hs.seconds();
        HeapCycles {
            x: keep.iter().map(|&i| all_x[i]).collect(),
            breaks: crate::verdict::kept_breaks(&hs.breaks, &keep),
            placement: Placement::Fetch {
                repeated: hs.len() - keep.len(),
            },
            keep,
            goals: Series::default(),
        }
    }

    /// The points of `hs`, placed at the GC each shows when the MemStats
    /// read with the snapshots say which (see the module documentation),
    /// else at their fetch.
    pub fn new(hs: &HeapSeries, memory: &[MemPoint], memory_breaks: &[usize]) -> HeapCycles {
        let mut c = shown_gc_ends(hs, memory)
            .and_then(|ends| HeapCycles::from_gc_ends(hs, &ends))
            .unwrap_or_else(|| HeapCycles::at_fetch(hs));
        if let Some(&t0) = hs.time_nanos.first() {
            c.goals = heap_goals(memory, memory_breaks, t0);
        }
        c
    }

    /// The note a finding carries about how its heap points were timed.
    pub fn note(&self, snapshots: usize) -> Option<String> {
        match self.placement {
            Placement::Fetch { repeated: 0 } => None,
            Placement::Fetch { repeated } => Some(format!(
                "heap profiles change only when a GC cycle completes: {repeated} of {snapshots} snapshots repeated the one before and were merged"
            )),
            Placement::GcEnd { empty, repeated } => {
                let mut s = format!(
                    "a heap profile shows the heap as of the GC before the last one (Go publishes it a cycle late): the {} points are timed at the ends of those GCs, from the MemStats read with each snapshot",
                    self.keep.len()
                );
                if repeated > 0 {
                    s.push_str(&format!(
                        "; {repeated} of {snapshots} snapshots showed the same GC as the one before"
                    ));
                }
                if empty > 0 {
                    s.push_str(&format!(
                        "; {empty} taken before the second GC showed no heap yet"
                    ));
                }
                Some(s)
            }
        }
    }

    /// Points from the GCs each snapshot shows (`None`: it shows no heap
    /// yet). The MemStats are read in a request of their own, just before
    /// or after the profile, so a GC can fall between the two: a snapshot
    /// that changed while its MemStats name the GC of the point before
    /// shows the next GC (their `LastGC`), and one whose GC is older than
    /// the point before's is left out. `None` when more than a quarter of
    /// the snapshots are left out that way (the MemStats do not go with
    /// these profiles) or fewer than two points remain.
    fn from_gc_ends(hs: &HeapSeries, ends: &[Option<ShownGc>]) -> Option<HeapCycles> {
        let t0 = *hs.time_nanos.first()?;
        let mut keep: Vec<usize> = Vec::new();
        let mut times: Vec<i64> = Vec::new();
        let (mut empty, mut repeated, mut unplaced) = (0, 0, 0);
        for (i, shown) in ends.iter().enumerate() {
            let Some(shown) = *shown else {
                empty += 1;
                continue;
            };
            let restart = hs.breaks.contains(&i);
            let mut end = shown.end;
            if let (Some(&prev), Some(&last), false) = (keep.last(), times.last(), restart) {
                if end == last && same_snapshot(hs, prev, i) {
                    repeated += 1;
                    continue;
                }
                if end == last {
                    end = shown.next_end;
                }
                if end <= last {
                    unplaced += 1;
                    continue;
                }
            }
            keep.push(i);
            times.push(end);
        }
        if keep.len() < 2 || 4 * unplaced > ends.len() {
            return None;
        }
        Some(HeapCycles {
            x: times.iter().map(|&t| (t - t0) as f64 / 1e9).collect(),
            breaks: crate::verdict::kept_breaks(&hs.breaks, &keep),
            placement: Placement::GcEnd {
                empty,
                repeated: repeated + unplaced,
            },
            keep,
            goals: Series::default(),
        })
    }
}

/// The GC whose heap a snapshot shows, by the end of that GC and of the
/// one after it (Unix ns).
#[derive(Clone, Copy, Debug)]
struct ShownGc {
    end: i64,
    next_end: i64,
}

/// Whether two snapshots hold the same values at every site (every
/// metric, including the cumulative alloc counters).
pub(crate) fn same_snapshot(hs: &HeapSeries, a: usize, b: usize) -> bool {
    const METRICS: [Metric; 4] = [
        Metric::InuseSpace,
        Metric::InuseObjects,
        Metric::AllocSpace,
        Metric::AllocObjects,
    ];
    (0..hs.sites.len()).all(|site| {
        METRICS
            .iter()
            .all(|&m| hs.value(m, site, a) == hs.value(m, site, b))
    })
}

/// How far a GC end may lie after the snapshot that shows it: the MemStats
/// are read in a request of their own, just before or after the profile,
/// and the times of the two may come from different clocks (the target's
/// and the watcher's) a little apart.
const CLOCK_SLACK_NANOS: i64 = 2_000_000_000;

/// Per heap snapshot, the GC whose heap it shows, or
/// `None` for a snapshot taken before Go published any; `None` for the
/// whole series when that cannot be told:
/// - no MemStats read within half the median gap of every snapshot;
/// - profiles fetched with `?gc=1`: a forced GC (`NumForcedGC`) between
///   most pairs of MemStats; each such profile shows the heap as of its
///   fetch;
/// - a GC end missing from the footer or later than the snapshot.
fn shown_gc_ends(hs: &HeapSeries, memory: &[MemPoint]) -> Option<Vec<Option<ShownGc>>> {
    if hs.len() < 2 || memory.len() < 2 {
        return None;
    }
    let steps: Vec<(&MemPoint, &MemPoint)> = memory
        .windows(2)
        .map(|w| (&w[0], &w[1]))
        .filter(|(a, b)| b.stats.num_gc >= a.stats.num_gc)
        .collect();
    let forced = steps
        .iter()
        .filter(|(a, b)| b.stats.num_forced_gc > a.stats.num_forced_gc)
        .count();
    if 2 * forced >= steps.len().max(1) {
        return None;
    }
    let mut gaps: Vec<f64> = hs
        .time_nanos
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64)
        .filter(|&g| g > 0.0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let tolerance = (stats::median_in_place(&mut gaps) / 2.0) as i64;
    hs.time_nanos
        .iter()
        .map(|&t| {
            let m = nearest(memory, t).filter(|m| (m.time_nanos - t).abs() <= tolerance)?;
            let ring = &m.stats.pause_end;
            let end_of = |k: usize| -> Option<i64> {
                // GC k (1-based) ended at PauseEnd[(k − 1) mod 256].
                i64::try_from(*ring.get((k - 1) % ring.len().max(1))?).ok()
            };
            // The MemStats may have been read after the profile was served
            // and a GC may have ended in between (serving a profile
            // allocates, and often triggers one): only GCs that ended
            // before the snapshot count.
            let mut n = m.stats.num_gc as usize;
            while n > 0 && end_of(n)? > t {
                if end_of(n)? > t + CLOCK_SLACK_NANOS {
                    return None;
                }
                n -= 1;
            }
            if n < 2 {
                return Some(None);
            }
            // The heap shown is GC N−1's.
            let (end, next_end) = (end_of(n - 1)?, end_of(n)?);
            (end > 0 && end < next_end).then_some(Some(ShownGc { end, next_end }))
        })
        .collect()
}

/// The MemPoint read closest in time to `t` (`memory` is time-ordered).
fn nearest(memory: &[MemPoint], t: i64) -> Option<&MemPoint> {
    let i = memory.partition_point(|m| m.time_nanos < t);
    let after = memory.get(i);
    let before = i.checked_sub(1).and_then(|j| memory.get(j));
    match (before, after) {
        (Some(b), Some(a)) => Some(if t - b.time_nanos <= a.time_nanos - t {
            b
        } else {
            a
        }),
        (b, a) => b.or(a),
    }
}

/// Go's smallest heap goal at the default GOGC (runtime heapMinimum):
/// a goal of exactly this says nothing about the live heap.
const MIN_HEAP_GOAL: u64 = 4 << 20;

/// The heap goal set by each GC of the last segment of `memory`
/// (MemStats `NextGC`), at that GC's end (`LastGC`), in seconds from
/// `t0_nanos`; one point per GC, goals at Go's minimum left out.
///
/// Unlike the sampled heap profile, the goal is exact: the runtime sets it
/// from the bytes the GC just marked (goal = marked + (marked + stacks +
/// globals) × GOGC/100), so it moves with the live heap at every GC, in
/// proportion, and a live heap that grows ever more slowly (a cache
/// filling up) gives goals that rise ever more slowly. A memory limit
/// (GOMEMLIMIT) close to the heap caps the goal; GOGC changed at run time
/// rescales it.
pub fn heap_goals(memory: &[MemPoint], memory_breaks: &[usize], t0_nanos: i64) -> Series {
    let start = memory_breaks.iter().copied().max().unwrap_or(0);
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut last_gc = None;
    for m in memory.get(start..).unwrap_or_default() {
        let s = &m.stats;
        if s.num_gc == 0 || s.next_gc <= MIN_HEAP_GOAL || last_gc == Some(s.num_gc) {
            continue;
        }
        let Ok(end) = i64::try_from(s.last_gc) else {
            continue;
        };
        let at = (end - t0_nanos) as f64 / 1e9;
        if x.last().is_some_and(|&prev| at <= prev) {
            continue;
        }
        last_gc = Some(s.num_gc);
        x.push(at);
        y.push(s.next_gc as f64);
    }
    Series::new(x, y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Site;
    use profile::legacy::MemStats;

    const S: i64 = 1_000_000_000;

    /// One site whose in-use bytes per snapshot are `values`, fetched every
    /// 10 s from t = 100 s.
    fn heap(values: &[i64]) -> HeapSeries {
        let site = Site {
            function: "main.fill".into(),
            file: "main.go".into(),
            line: 7,
            user: true,
            stack: Vec::new(),
        };
        HeapSeries::from_parts(
            (0..values.len() as i64)
                .map(|i| (100 + 10 * i) * S)
                .collect(),
            Vec::new(),
            vec![site],
            [true; 4],
            values
                .iter()
                .map(|&v| vec![[v, v / 64, v, v / 64]])
                .collect(),
            Some(512 * 1024),
        )
        .unwrap()
    }

    /// MemStats read at `at` seconds after `gc_ends` (seconds) of which
    /// those up to `at` have happened; `forced` of them by runtime.GC.
    fn mem(at: i64, gc_ends: &[i64], forced: u64, next_gc: u64) -> MemPoint {
        let done: Vec<u64> = gc_ends
            .iter()
            .filter(|&&e| e * S <= at * S + S / 10)
            .map(|&e| (e * S) as u64)
            .collect();
        let mut ring = vec![0u64; 256];
        for (k, e) in done.iter().enumerate() {
            ring[k % 256] = *e;
        }
        MemPoint {
            time_nanos: at * S,
            stats: MemStats {
                num_gc: done.len() as u64,
                last_gc: done.last().copied().unwrap_or(0),
                pause_end: ring,
                num_forced_gc: forced,
                next_gc,
                ..MemStats::default()
            },
            rss: None,
            anon_rss: None,
        }
    }

    #[test]
    fn each_snapshot_is_placed_at_the_end_of_the_gc_before_the_last() {
        // GCs end at 95, 105, 112, 131 and 150 s; snapshots every 10 s
        // from 100 s, each with its MemStats.
        let gcs = [95, 105, 112, 131, 150];
        let hs = heap(&[0, 0, 1 << 20, 1 << 20, 3 << 20, 3 << 20]);
        let memory: Vec<MemPoint> = (0..6)
            .map(|i| mem(100 + 10 * i, &gcs, 0, 8 << 20))
            .collect();
        let c = HeapCycles::new(&hs, &memory, &[]);
        // 100 s: 1 GC, no heap yet; 110 s: GC 2 done, shows GC 1 (95 s);
        // 120 s: shows GC 2 (105 s); 130 s: still GC 3, same as before;
        // 140 s: shows GC 3 (112 s); 150 s: shows GC 4 (131 s).
        assert_eq!(c.keep, vec![1, 2, 4, 5]);
        assert_eq!(c.x, vec![-5.0, 5.0, 12.0, 31.0]);
        assert_eq!(
            c.placement,
            Placement::GcEnd {
                empty: 1,
                repeated: 1
            }
        );
        let note = c.note(hs.len()).unwrap();
        assert!(note.contains("as of the GC before the last one"), "{note}");
    }

    #[test]
    fn a_gc_between_the_profile_and_its_memstats_does_not_count() {
        // Serving the profile at 110 s triggered a GC that ended at
        // 110.05 s, before the MemStats were read (110.1 s).
        let hs = heap(&[0, 1 << 20, 2 << 20]);
        let mut memory: Vec<MemPoint> = (0..3)
            .map(|i| mem(100 + 10 * i, &[90, 95, 105], 0, 8 << 20))
            .collect();
        let late = &mut memory[1].stats;
        late.num_gc += 1;
        late.pause_end[3] = (110 * S + S / 20) as u64;
        late.last_gc = late.pause_end[3];
        let c = HeapCycles::new(&hs, &memory, &[]);
        // 100 s shows GC 1 (90 s); 110 s shows GC 2 (95 s), not GC 3.
        assert_eq!(c.x[..2], [-10.0, -5.0]);
    }

    #[test]
    fn profiles_taken_with_gc_1_stay_at_their_fetch() {
        // ?gc=1 forces a GC at every fetch: the profile is as of then.
        let hs = heap(&[0, 1 << 20, 2 << 20, 3 << 20]);
        let memory: Vec<MemPoint> = (0..4)
            .map(|i| mem(100 + 10 * i, &[100, 110, 120, 130], i as u64 + 1, 8 << 20))
            .collect();
        let c = HeapCycles::new(&hs, &memory, &[]);
        assert_eq!(c.placement, Placement::Fetch { repeated: 0 });
        assert_eq!(c.x, vec![0.0, 10.0, 20.0, 30.0]);
    }

    #[test]
    fn without_memstats_snapshots_stay_at_their_fetch() {
        let hs = heap(&[0, 0, 1 << 20, 2 << 20]);
        let c = HeapCycles::new(&hs, &[], &[]);
        assert_eq!(c.keep, vec![0, 2, 3]);
        assert_eq!(c.placement, Placement::Fetch { repeated: 1 });
        assert!(c.goals.is_empty());
    }

    #[test]
    fn gc_ends_after_the_snapshot_beyond_any_clock_slack_are_not_trusted() {
        // MemStats from a clock a minute ahead: every GC "ended" after
        // the snapshot that shows it.
        let hs = heap(&[0, 1 << 20, 2 << 20]);
        let memory: Vec<MemPoint> = (0..3)
            .map(|i| {
                let mut m = mem(160 + 10 * i, &[150, 155, 165, 175], 0, 8 << 20);
                m.time_nanos -= 60 * S;
                m
            })
            .collect();
        let c = HeapCycles::new(&hs, &memory, &[]);
        assert!(matches!(c.placement, Placement::Fetch { .. }), "{c:?}");
    }

    #[test]
    fn goals_are_one_per_gc_of_the_last_segment_above_the_minimum() {
        let gcs = [95, 105, 112];
        let memory = vec![
            mem(90, &gcs, 0, 4 << 20),
            mem(100, &gcs, 0, 4 << 20),
            mem(108, &gcs, 0, 6 << 20),
            mem(110, &gcs, 0, 6 << 20),
            mem(120, &gcs, 0, 9 << 20),
        ];
        let g = heap_goals(&memory, &[], 100 * S);
        assert_eq!(g.x, vec![5.0, 12.0]);
        assert_eq!(g.y, vec![(6 << 20) as f64, (9 << 20) as f64]);
        // After a restart at index 4, only its GCs count.
        let g = heap_goals(&memory, &[4], 100 * S);
        assert_eq!(g.x, vec![12.0]);
    }
}
