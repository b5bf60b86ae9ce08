//! Heap series under GC pacing, as plain `/debug/pprof/heap` serves them:
//! GCs start when the heap has grown by GOGC percent, so their cycles
//! lengthen as the live heap grows, and each profile shows the heap as of
//! the GC before the last one (tests/common/gosim.rs, `Run::paced`). Timed
//! at their fetch, the points of a growing heap arrive ever later after
//! what they show and a filling cache reads as a straight rise;
//! `drift::hunt` places them at the GCs they show (drift::cycles).

mod common;

use common::gosim::{Pacing, Population, RATE, Run, SimSite};
use drift::memory::MemPoint;
use drift::series::{HeapSeries, HeapSeriesBuilder, SeriesOptions};
use drift::verdict::{HeapOptions, analyze_heap};
use drift::{Finding, HuntOptions, Inputs, Kind, Verdict};

const MB: f64 = 1024.0 * 1024.0;

/// A quiet service: little garbage, so GCs are rare and far apart as the
/// heap grows (the zoo's mmapleak and lrufill ran 8–13 GCs in 3 minutes).
fn quiet() -> Pacing {
    Pacing {
        garbage_per_sec: 0.15 * MB,
        base_live: 2.0 * MB,
        gogc: 100.0,
    }
}

/// Three minutes, a profile every 2 s, at Go's default rate.
fn run(site: SimSite, seed: u64) -> Run {
    Run {
        sites: vec![site],
        gc_every: 0.0,
        every: 2.0,
        duration: 180.0,
        rate: RATE,
        seed,
    }
}

/// A cache of 200 thumbnails of 160 KiB filling from random requests with
/// a time constant of 70 s (the zoo's mmapleak): 92% full at the end.
fn thumbnails(seed: u64) -> Run {
    run(
        SimSite::new(
            "main.decode",
            56,
            160.0 * 1024.0,
            Population::Kept {
                live: Box::new(|t: f64| 200.0 * (1.0 - (-t / 70.0).exp())),
            },
        ),
        seed,
    )
}

/// An LRU of 4 KiB entries that fills to 24 MiB with a time constant of
/// 110 s (the zoo's lrufill): at the end still rising at a fifth of its
/// first rate.
fn lru(seed: u64) -> Run {
    run(
        SimSite::new(
            "main.(*LRU).Get",
            52,
            4096.0,
            Population::Kept {
                live: Box::new(|t: f64| 24.0 * MB / 4096.0 * (1.0 - (-t / 110.0).exp())),
            },
        ),
        seed,
    )
}

/// A leak of 3 MiB a minute in 1 KiB objects.
fn leak(seed: u64) -> Run {
    run(
        SimSite::new(
            "main.remember",
            74,
            1024.0,
            Population::Leak {
                per_sec: 3.0 * MB / 60.0 / 1024.0,
            },
        ),
        seed,
    )
}

fn build(profiles: &[profile::Profile]) -> HeapSeries {
    let mut sb = HeapSeriesBuilder::new(SeriesOptions::default());
    for p in profiles {
        sb.push(p).unwrap();
    }
    sb.finish()
}

/// The site's finding as `hunt` makes it (heap points at the GCs they
/// show) and as the fetch times alone would.
fn findings(r: &Run, pacing: &Pacing, function: &str) -> (Option<Finding>, Option<Finding>) {
    let (profiles, memory): (_, Vec<MemPoint>) = r.paced(pacing);
    let hs = build(&profiles);
    let report = drift::hunt(
        &Inputs {
            heap: Some(&hs),
            memory: &memory,
            ..Default::default()
        },
        &HuntOptions::default(),
    );
    let timed = report
        .findings
        .into_iter()
        .find(|f| f.kind == Kind::Heap && f.function == function);
    let at_fetch = analyze_heap(&hs, &HeapOptions::default())
        .into_iter()
        .find(|f| f.function == function);
    (timed, at_fetch)
}

fn verdict(f: &Option<Finding>) -> Verdict {
    f.as_ref().map_or(Verdict::Stable, |f| f.verdict)
}

fn count(verdicts: &[Verdict], v: Verdict) -> usize {
    verdicts.iter().filter(|&&x| x == v).count()
}

const SEEDS: u64 = 20;

/// Timed at the fetch, the caches are called leak in up to half the runs;
/// timed at the GCs they show, their bend is seen (in the values
/// or in the heap goals) and at most one run in twenty is a leak.
#[test]
fn caches_filling_under_gc_pacing_are_no_leaks() {
    for (pacing_name, pacing) in [("quiet", &quiet()), ("busy", &busy())] {
        for (name, make, function) in [
            ("thumbnails", thumbnails as fn(u64) -> Run, "main.decode"),
            ("lru", lru, "main.(*LRU).Get"),
        ] {
            let (mut timed, mut at_fetch) = (Vec::new(), Vec::new());
            let mut goal_notes = 0;
            for seed in 1..=SEEDS {
                let (t, f) = findings(&make(seed), pacing, function);
                goal_notes += t
                    .as_ref()
                    .is_some_and(|f| f.notes.iter().any(|n| n.contains("the heap goal")))
                    as usize;
                timed.push(verdict(&t));
                at_fetch.push(verdict(&f));
            }
            eprintln!(
                "{name}, {pacing_name}: leak in {}/{SEEDS} timed at the GCs shown ({goal_notes} told by the heap goals), {}/{SEEDS} at the fetch",
                count(&timed, Verdict::Leak),
                count(&at_fetch, Verdict::Leak)
            );
            assert!(
                count(&timed, Verdict::Leak) <= 1,
                "{name}, {pacing_name}: {timed:?} (at the fetch: {at_fetch:?})"
            );
        }
    }
}

/// A busier service: GCs every few seconds.
fn busy() -> Pacing {
    Pacing {
        garbage_per_sec: 1.5 * MB,
        ..quiet()
    }
}

/// A steady leak keeps its verdict: with a GC every few seconds it is a
/// leak in at least 18 of 20 runs; in the quiet service, whose 7 or 8 GCs
/// give 6 points and about a dozen samples, it is often only `suspect`,
/// as often as when timed at the fetch, and never unreported.
#[test]
fn a_leak_under_gc_pacing_stays_a_leak() {
    for (name, pacing) in [("quiet", quiet()), ("busy", busy())] {
        let (mut timed, mut at_fetch) = (Vec::new(), Vec::new());
        for seed in 1..=SEEDS {
            let (t, f) = findings(&leak(seed), &pacing, "main.remember");
            timed.push(verdict(&t));
            at_fetch.push(verdict(&f));
        }
        eprintln!("leak, {name}: timed at the GCs shown {timed:?}; at the fetch {at_fetch:?}");
        assert!(
            count(&timed, Verdict::Leak) + 1 >= count(&at_fetch, Verdict::Leak),
            "{name}: no leak is lost to the timing: {timed:?} against {at_fetch:?}"
        );
        assert_eq!(count(&timed, Verdict::Stable), 0, "{name}: {timed:?}");
    }
    // With a GC every few seconds there are points enough for a verdict.
    let busy_leaks = (1..=SEEDS)
        .filter(|&seed| {
            verdict(&findings(&leak(seed), &busy(), "main.remember").0) == Verdict::Leak
        })
        .count();
    assert!(busy_leaks >= 18, "{busy_leaks}/{SEEDS}");
}
