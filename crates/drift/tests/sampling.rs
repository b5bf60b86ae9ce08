//! Heap series as Go's profiler makes them (tests/common/gosim.rs): sampled
//! at runtime.MemProfileRate with Poisson counts, and as of the last
//! completed GC. Each test is a case that recordings made the way users make
//! them showed the model getting wrong, and its control.

mod common;

use common::gosim::{Population, RATE, Run, SimSite};
use drift::series::{HeapSeries, HeapSeriesBuilder, SeriesOptions};
use drift::verdict::{HeapOptions, analyze_heap};
use drift::{Finding, Verdict};
use proptest::prelude::*;

const MB: f64 = 1024.0 * 1024.0;

/// Every service has memory that comes and goes at other sites: the
/// profile changes with every GC, as a real one does.
fn background() -> SimSite {
    SimSite::new(
        "main.background",
        99,
        128.0,
        Population::Churn {
            live: Box::new(|_| 30.0 * MB / 128.0),
        },
    )
}

fn series(mut run: Run) -> HeapSeries {
    run.sites.push(background());
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for p in run.profiles() {
        sb.push(&p).unwrap();
    }
    sb.finish()
}

/// The finding at `function` (every site is listed, stable ones too).
fn finding(hs: &HeapSeries, function: &str) -> Finding {
    let opts = HeapOptions {
        include_stable: true,
        ..Default::default()
    };
    analyze_heap(hs, &opts)
        .into_iter()
        .find(|f| f.function == function)
        .unwrap_or_else(|| panic!("no finding at {function}"))
}

/// A working set of 200 MiB of small objects swinging by ±10% (a slow wave
/// and request noise), and a leak of `share` of the heap per minute at
/// another site, over `minutes` with a snapshot every 15 s.
fn slow_leak(share: f64, minutes: f64, seed: u64) -> Run {
    let heap = 200.0 * MB;
    Run {
        sites: vec![
            SimSite::new(
                "main.remember",
                42,
                48.0,
                Population::Leak {
                    per_sec: share * heap / 60.0 / 48.0,
                },
            ),
            SimSite::new(
                "main.serve",
                77,
                64.0,
                Population::Churn {
                    live: Box::new(move |t: f64| {
                        heap / 64.0 * (1.0 + 0.08 * (t / 170.0).sin() + 0.02 * (t / 7.0).sin())
                    }),
                },
            ),
        ],
        gc_every: 8.0,
        every: 15.0,
        duration: minutes * 60.0,
        rate: RATE,
        seed,
    }
}

/// Issue 9, miss 2: a leak of half a percent of the heap per minute under a
/// working set that swings by ±10% is named at its site; the swinging
/// working set is not.
#[test]
fn a_slow_leak_under_a_swinging_working_set_is_named_at_its_site() {
    for seed in 1..=12 {
        let hs = series(slow_leak(0.005, 15.0, seed));
        let leak = finding(&hs, "main.remember");
        assert!(leak.verdict >= Verdict::Suspect, "seed {seed}: {leak:#?}");
        let work = finding(&hs, "main.serve");
        assert_eq!(work.verdict, Verdict::Stable, "seed {seed}: {work:#?}");
    }
}

/// The same leak at a fifth of the rate (0.1% of the heap per minute, about
/// 0.4 heap samples a minute at Go's default rate) over 30 minutes: its
/// series is a staircase of a few dozen Poisson steps, whose last third is
/// often flat by chance. That flatness was read as "levelled off"
/// (plateau); the Poisson model knows how few samples the last third
/// should hold, and never calls it a plateau.
#[test]
fn a_sparse_staircase_is_no_plateau() {
    for seed in 1..=12 {
        let hs = series(slow_leak(0.001, 30.0, seed));
        let leak = finding(&hs, "main.remember");
        assert!(leak.verdict >= Verdict::Suspect, "seed {seed}: {leak:#?}");
    }
}

/// A heap that fills a cache of `mib` MiB in `fill_secs` and keeps it: the
/// control of the two tests above. A large cache fills with hundreds of
/// samples and is a plateau; a tiny one (a few samples) may stay a suspect,
/// but is never a leak.
fn warm_up(mib: f64, fill_secs: f64, seed: u64) -> Run {
    Run {
        sites: vec![SimSite::new(
            "main.fill",
            12,
            256.0,
            Population::Kept {
                live: Box::new(move |t: f64| mib * MB / 256.0 * (t / fill_secs).min(1.0)),
            },
        )],
        gc_every: 10.0,
        every: 15.0,
        duration: 1200.0,
        rate: RATE,
        seed,
    }
}

#[test]
fn a_warm_up_stays_a_plateau_at_the_default_rate() {
    for seed in 1..=12 {
        let big = finding(&series(warm_up(64.0, 180.0, seed)), "main.fill");
        assert_eq!(big.verdict, Verdict::Plateau, "seed {seed}: {big:#?}");
        let tiny = finding(&series(warm_up(3.0, 120.0, seed)), "main.fill");
        assert!(tiny.verdict < Verdict::Leak, "seed {seed}: {tiny:#?}");
    }
}

/// A site whose objects are both held by a buffer that fills and is
/// flushed every 45 s (40 MiB at its fullest) and leaked at `leak_mib` per
/// minute. GCs run at irregular times (every 6–18 s), and the profile shows
/// the batch as of the last GC: the values saw between a few and 40 MiB
/// with GC timing, at Go's default rate.
fn sawtooth(leak_mib: f64, seed: u64) -> Run {
    let mut sites = vec![SimSite::new(
        "main.batch",
        30,
        256.0,
        Population::Batch {
            per_sec: 40.0 * MB / 45.0 / 256.0,
            period: 45.0,
        },
    )];
    if leak_mib > 0.0 {
        sites.push(SimSite::new(
            "main.batch",
            30,
            256.0,
            Population::Leak {
                per_sec: leak_mib * MB / 60.0 / 256.0,
            },
        ));
    }
    Run {
        sites,
        gc_every: 12.0,
        every: 15.0,
        duration: 1800.0,
        rate: RATE,
        seed,
    }
}

/// Issue 9, miss 3: the floor of the sawtooth rises by 0.6 MiB a minute
/// (18 MiB in 30 minutes, half the swing): a leak, and its rate is the
/// floor's.
#[test]
fn a_gc_sawtooth_with_a_rising_floor_is_a_leak() {
    for seed in 1..=10 {
        let f = finding(&series(sawtooth(0.6, seed)), "main.batch");
        assert_eq!(f.verdict, Verdict::Leak, "seed {seed}: {f:#?}");
        assert!(
            (0.3..1.2).contains(&(f.growth_per_min / MB)),
            "seed {seed}: {} MiB/min",
            f.growth_per_min / MB
        );
        assert!(f.notes.iter().any(|n| n.contains("floor")), "{:?}", f.notes);
    }
}

#[test]
fn a_gc_sawtooth_over_a_flat_floor_is_stable() {
    for seed in 1..=20 {
        let f = finding(&series(sawtooth(0.0, seed)), "main.batch");
        assert_eq!(f.verdict, Verdict::Stable, "seed {seed}: {f:#?}");
    }
}

/// An LRU that fills as 1 − exp(−t/τ): its entries stay, so its samples
/// accumulate, ever more slowly. With τ three quarters of the window it is
/// still rising at the end, at a quarter of its first rate.
fn lru(tau_secs: f64, seed: u64) -> Run {
    Run {
        sites: vec![SimSite::new(
            "main.(*lru).add",
            55,
            512.0,
            Population::Kept {
                live: Box::new(move |t: f64| 96.0 * MB / 512.0 * (1.0 - (-t / tau_secs).exp())),
            },
        )],
        gc_every: 10.0,
        every: 15.0,
        duration: 1200.0,
        rate: RATE,
        seed,
    }
}

/// A TTL cache: entries live 10 minutes (± 50%), inserted at 4 MiB a
/// minute; over 20 minutes it approaches its steady size.
fn ttl_cache(seed: u64) -> Run {
    Run {
        sites: vec![SimSite::new(
            "main.(*ttl).put",
            61,
            1024.0,
            Population::Expiring {
                per_sec: 4.0 * MB / 60.0 / 1024.0,
                ttl: 600.0,
            },
        )],
        gc_every: 10.0,
        every: 15.0,
        duration: 1200.0,
        rate: RATE,
        seed,
    }
}

/// Issue 9, false alarm 4: caches still filling at the end of the window
/// are "suspect: still rising, slowing" (or a plateau once full), never a
/// leak; a leak of objects of the same size at a steady rate stays a leak.
#[test]
fn caches_still_filling_are_not_leaks() {
    for seed in 1..=12 {
        let f = finding(&series(lru(900.0, seed)), "main.(*lru).add");
        assert_eq!(f.verdict, Verdict::Suspect, "seed {seed}: {f:#?}");
        // Said as "still rising, slowing", or, when the last third looks
        // nearly flat, as a warm-up that kept growing slowly.
        assert!(
            f.notes
                .iter()
                .any(|n| n.contains("still rising, slowing") || n.contains("kept growing slowly")),
            "seed {seed}: {:?}",
            f.notes
        );
        let f = finding(&series(ttl_cache(seed)), "main.(*ttl).put");
        assert!(
            matches!(f.verdict, Verdict::Suspect | Verdict::Plateau),
            "seed {seed}: {f:#?}"
        );
        let steady = Run {
            sites: vec![SimSite::new(
                "main.(*lru).add",
                55,
                512.0,
                Population::Leak {
                    per_sec: 2.0 * MB / 60.0 / 512.0,
                },
            )],
            ..lru(900.0, seed)
        };
        let f = finding(&series(steady), "main.(*lru).add");
        assert_eq!(f.verdict, Verdict::Leak, "seed {seed}: {f:#?}");
    }
}

/// The sampling period reaches the series from the profile: proto heap
/// profiles carry it as `period`.
#[test]
fn the_series_keeps_the_sampling_period() {
    let hs = series(lru(900.0, 1));
    assert_eq!(hs.period(0), Some(RATE as i64));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(9),
        ..ProptestConfig::default()
    })]

    /// A leak whose samples over the window number at least k² (k Poisson
    /// sigmas above nothing), k from 8 to 14, and a MiB, is at least
    /// suspect whatever the object size, sampling rate and schedule.
    #[test]
    fn a_leak_of_many_poisson_sigmas_is_at_least_suspect(
        seed in 1u64..1_000_000,
        sigmas in 8.0f64..14.0,
        size in 16.0f64..8192.0,
        rate in prop_oneof![Just(4096.0), Just(65536.0), Just(RATE)],
        every in 10.0f64..60.0,
        snapshots in 20usize..80,
    ) {
        let duration = every * (snapshots - 1) as f64;
        let p = common::gosim::sampled_fraction(size, rate);
        // At least a MiB, too: less is under any heap finding's floor.
        let samples = (sigmas * sigmas).max(MB * p / size);
        let run = Run {
            sites: vec![SimSite::new(
                "main.leak",
                7,
                size,
                Population::Leak { per_sec: samples / p / duration },
            )],
            gc_every: every / 2.0,
            every,
            duration,
            rate,
            seed,
        };
        let f = finding(&series(run), "main.leak");
        prop_assert!(f.verdict >= Verdict::Suspect, "{:#?}", f);
    }
}

/// The zoo's `lru` control as a CI run's `heapdrift watch` saw it (Go's
/// default rate, a snapshot every 2 s, one point per GC cycle): 1500
/// profiles of ~8 KiB filled in the first 28 s, then a miss every half
/// second evicted the least recently used. The ~23 sampled entries then
/// random-walk around the bound as sampled arrivals and evictions come, and
/// here the walk drifted up by two samples. The values rise smoothly and
/// creep; so does their floor, which is then no second witness of a leak.
#[test]
fn an_lru_replacing_entries_at_its_bound_is_no_leak() {
    use drift::stats::Series;
    use drift::verdict::{SiteSampling, Thresholds, assess_sampled};
    let x = vec![
        0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 18.0, 28.0, 36.0, 44.0, 52.0, 62.0, 78.2, 86.2, 94.2,
        102.2, 110.2, 118.2, 122.2, 140.2, 148.2, 158.2, 166.2, 176.2,
    ];
    let y = vec![
        2113578.0, 2113578.0, 2641973.0, 2641973.0, 4227157.0, 4755551.0, 7397525.0, 8982709.0,
        11624682.0, 11624682.0, 10567893.0, 10567893.0, 11096287.0, 11624682.0, 11096287.0,
        12153077.0, 12153077.0, 11624682.0, 11624682.0, 12153077.0, 13209866.0, 12681471.0,
        12681471.0, 12681471.0, 12153077.0,
    ];
    let sampling = SiteSampling::new(8.0 * 1024.0 + 112.0, 512.0 * 1024.0);
    let a = assess_sampled(&Series::new(x, y), &Thresholds::heap(), sampling);
    assert!(a.verdict < Verdict::Leak, "{a:#?}");
}

/// etcd under steady load as the third-party test watched it (Go's
/// default rate, every 5 s for 150 s after a 60 s warm-up): its raft log keeps
/// ~6000 entries of ~550 B, replaced at 120 a second, so about 6 heap
/// samples that each live ~50 s. Their count random-walks by a few
/// samples; a CI run called that walk (4 -> 8 samples) a leak.
fn replaced_log(seed: u64) -> Run {
    Run {
        sites: vec![SimSite::new(
            "main.appendEntry",
            188,
            550.0,
            Population::Replaced {
                live: Box::new(|t: f64| 6000.0 * (t / 5.0).min(1.0)),
                per_sec: 120.0,
            },
        )],
        gc_every: 4.0,
        every: 5.0,
        duration: 210.0,
        rate: RATE,
        seed,
    }
}

/// [`series`] of what a watch started after a 60 s warm-up sees.
fn series_after_warm_up(mut run: Run) -> HeapSeries {
    run.sites.push(background());
    let warm_up = (60.0 / run.every) as usize;
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for p in run.profiles().into_iter().skip(warm_up) {
        sb.push(&p).unwrap();
    }
    sb.finish()
}

/// The walk is random, so the rule has a false-alarm rate, not none:
/// without it 11 of these 200 recordings were called leak; with it, at
/// most 1%.
#[test]
fn a_replaced_population_that_drifts_by_a_few_samples_is_no_leak() {
    let findings: Vec<(u64, Finding)> = (1..=200)
        .map(|seed| {
            let f = finding(
                &series_after_warm_up(replaced_log(seed)),
                "main.appendEntry",
            );
            (seed, f)
        })
        .collect();
    let leaks: Vec<u64> = findings
        .iter()
        .filter(|(_, f)| f.verdict == Verdict::Leak)
        .map(|(seed, _)| *seed)
        .collect();
    assert!(leaks.len() <= 2, "called leak with seeds {leaks:?}");
    // The rule is what held the walks back, and it says so.
    let held = findings
        .iter()
        .filter(|(_, f)| {
            f.verdict == Verdict::Suspect && f.notes.iter().any(|n| n.contains("are replaced"))
        })
        .count();
    assert!(held >= 5, "only {held} held back by the rule");
}
