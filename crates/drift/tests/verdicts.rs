//! The verdict model on synthetic series: each shape a real service shows.

use drift::Verdict;
use drift::stats::Series;
use drift::verdict::{Thresholds, assess};
use proptest::prelude::*;

/// Deterministic noise in −1..1 (xorshift).
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

const MB: f64 = 1024.0 * 1024.0;

/// `n` snapshots every 30 s.
fn series(n: usize, f: impl Fn(usize, f64) -> f64) -> Series {
    let x: Vec<f64> = (0..n).map(|i| i as f64 * 30.0).collect();
    let y = x.iter().enumerate().map(|(i, &t)| f(i, t)).collect();
    Series::new(x, y)
}

fn verdict(s: &Series) -> Verdict {
    assess(s, &Thresholds::heap()).verdict
}

#[test]
fn linear_leak_with_noise_is_a_leak() {
    for seed in 1..20 {
        let nz = noise(seed, 40);
        // 1 MiB/min on a 50 MiB site, ±1 MiB of noise.
        let s = series(40, |i, t| 50.0 * MB + t / 60.0 * MB + nz[i] * MB);
        let a = assess(&s, &Thresholds::heap());
        assert_eq!(a.verdict, Verdict::Leak, "seed {seed}: {a:?}");
        assert!(a.confidence > 0.7, "{a:?}");
        assert!((a.slope * 60.0 - MB).abs() < 0.15 * MB, "{a:?}");
        assert!(a.p_value < 1e-6);
    }
}

#[test]
fn warm_up_cache_is_a_plateau() {
    // Fills to 200 MiB in the first 8 minutes, then stays (with noise).
    for seed in 1..20 {
        let nz = noise(seed, 60);
        let s = series(60, |i, t| {
            (t / 480.0).min(1.0) * 200.0 * MB + nz[i] * 2.0 * MB
        });
        let a = assess(&s, &Thresholds::heap());
        assert_eq!(a.verdict, Verdict::Plateau, "seed {seed}: {a:?}");
        assert!(a.confidence > 0.5);
    }
    // Exponential approach (an LRU filling up).
    let s = series(60, |_, t| 100.0 * MB * (1.0 - (-t / 200.0).exp()));
    assert_eq!(verdict(&s), Verdict::Plateau);
}

#[test]
fn churn_with_flat_inuse_is_stable() {
    // In-use hovers around 10 MiB whatever the allocation rate.
    for seed in 1..20 {
        let nz = noise(seed, 50);
        let s = series(50, |i, _| 10.0 * MB + nz[i] * 3.0 * MB);
        assert_eq!(verdict(&s), Verdict::Stable, "seed {seed}");
    }
}

#[test]
fn constant_is_stable() {
    let s = series(30, |_, _| 5.0 * MB);
    let a = assess(&s, &Thresholds::heap());
    assert_eq!(a.verdict, Verdict::Stable);
    assert!(a.confidence > 0.9);
    assert_eq!(a.slope, 0.0);
}

#[test]
fn step_then_flat_is_a_plateau() {
    let s = series(30, |i, _| if i < 8 { 10.0 * MB } else { 60.0 * MB });
    assert_eq!(verdict(&s), Verdict::Plateau);
}

#[test]
fn gc_sawtooth_is_stable() {
    // Grows for 5 snapshots, collected, again: the shape of a heap between
    // GCs sampled faster than GC runs.
    let s = series(60, |i, _| 20.0 * MB + (i % 5) as f64 * 4.0 * MB);
    assert_eq!(verdict(&s), Verdict::Stable);
}

#[test]
fn sawtooth_on_a_leak_is_still_found() {
    let s = series(60, |i, t| {
        20.0 * MB + (i % 5) as f64 * 2.0 * MB + t / 60.0 * 2.0 * MB
    });
    let a = assess(&s, &Thresholds::heap());
    assert!(a.verdict >= Verdict::Suspect, "{a:?}");
}

#[test]
fn two_snapshots_say_more_are_needed() {
    let s = Series::new(vec![0.0, 60.0], vec![10.0 * MB, 30.0 * MB]);
    let a = assess(&s, &Thresholds::heap());
    assert_eq!(a.verdict, Verdict::Suspect);
    assert!(a.confidence <= 0.35);
    assert!(a.notes.iter().any(|n| n.contains("more are needed")));
    let flat = Series::new(vec![0.0, 60.0], vec![10.0 * MB, 10.0 * MB]);
    assert_eq!(verdict(&flat), Verdict::Stable);
    // Five perfectly growing snapshots are still only suspect.
    let s = series(5, |_, t| t * MB);
    assert_eq!(verdict(&s), Verdict::Suspect);
    let s = series(6, |_, t| t * MB);
    assert_eq!(verdict(&s), Verdict::Leak);
}

#[test]
fn tiny_growth_under_the_floor_is_stable() {
    // 100 KiB over the whole series: below the heap sampling resolution.
    let s = series(30, |_, t| 10.0 * MB + t / 870.0 * 100.0 * 1024.0);
    assert_eq!(verdict(&s), Verdict::Stable);
}

#[test]
fn slowing_growth_is_suspect_not_leak() {
    // sqrt growth: still rising at the end, but slower.
    let s = series(40, |_, t| (t / 30.0).sqrt() * 10.0 * MB);
    let v = verdict(&s);
    assert!(v == Verdict::Suspect || v == Verdict::Plateau, "{v:?}");
}

#[test]
fn leak_under_a_warm_up_is_not_a_plateau() {
    // A 200 MiB cache warms up in 5 minutes; 2 MiB/min keep leaking.
    let s = series(60, |_, t| {
        (t / 300.0).min(1.0) * 200.0 * MB + t / 60.0 * 2.0 * MB
    });
    let v = verdict(&s);
    assert!(v >= Verdict::Suspect, "{v:?}");
}

#[test]
fn restart_does_not_hide_a_leak() {
    // The process restarts half way; both runs leak.
    let x: Vec<f64> = (0..40).map(|i| i as f64 * 30.0).collect();
    let y: Vec<f64> = (0..40).map(|i| ((i % 20) as f64) * MB).collect();
    let s = Series::new(x, y).with_breaks(vec![20]);
    assert_eq!(verdict(&s), Verdict::Leak);
}

#[test]
fn decreasing_is_stable() {
    let s = series(30, |_, t| 100.0 * MB - t / 60.0 * MB);
    assert_eq!(verdict(&s), Verdict::Stable);
}

#[test]
fn long_series_are_bucketed_but_keep_their_verdicts() {
    let nz = noise(7, 500);
    let leak = series(500, |i, t| 10.0 * MB + t / 60.0 * 0.2 * MB + nz[i] * MB);
    assert_eq!(verdict(&leak), Verdict::Leak);
    let flat = series(500, |i, _| 10.0 * MB + nz[i] * MB);
    assert_eq!(verdict(&flat), Verdict::Stable);
}

fn any_series() -> impl Strategy<Value = Series> {
    (
        3usize..40,
        0.0f64..5.0,
        -3.0f64..3.0,
        0.0f64..3.0,
        any::<u64>(),
    )
        .prop_map(|(n, base, slope, amp, seed)| {
            let nz = noise(seed, n);
            series(n, |i, t| (base + slope * t / 60.0 + amp * nz[i]) * MB)
        })
}

fn no_floor() -> Thresholds {
    Thresholds {
        min_rise: 0.0,
        ..Thresholds::heap()
    }
}

proptest! {
    #[test]
    fn constant_is_never_a_leak(n in 1usize..60, v in -1e12f64..1e12, step in 1.0f64..1000.0) {
        let x: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
        let s = Series::new(x, vec![v; n]);
        let a = assess(&s, &Thresholds::heap());
        prop_assert_eq!(a.verdict, Verdict::Stable);
    }

    #[test]
    fn invariant_under_time_shift(s in any_series(), shift in -1e6f64..1e6) {
        let a = assess(&s, &Thresholds::heap());
        let shifted = Series::new(s.x.iter().map(|x| x + shift.round()).collect(), s.y.clone());
        let b = assess(&shifted, &Thresholds::heap());
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert!((a.confidence - b.confidence).abs() < 1e-6);
    }

    #[test]
    fn invariant_under_uniform_scaling(s in any_series(), c in 0.01f64..100.0) {
        let th = no_floor();
        let a = assess(&s, &th);
        let scaled = Series::new(s.x.clone(), s.y.iter().map(|y| y * c).collect());
        let b = assess(&scaled, &th);
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert!((a.confidence - b.confidence).abs() < 1e-6);
    }

    /// Sampling the same process faster or slower (x scaled) changes the
    /// rate, not the verdict: every threshold applies to the fitted rise,
    /// as long as both spans are long enough for a rate at all.
    #[test]
    fn invariant_under_time_scaling(s in any_series(), c in 0.01f64..100.0) {
        let a = assess(&s, &Thresholds::heap());
        let stretched = Series::new(s.x.iter().map(|x| x * c).collect(), s.y.clone());
        let b = assess(&stretched, &Thresholds::heap());
        prop_assume!(a.rate_known && b.rate_known);
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert!((a.confidence - b.confidence).abs() < 1e-6);
        prop_assert!((a.slope - b.slope * c).abs() <= 1e-6 * a.slope.abs().max(1.0));
    }

    #[test]
    fn invariant_under_offset(s in any_series(), off in 0.0f64..1e9) {
        let a = assess(&s, &Thresholds::heap());
        let moved = Series::new(s.x.clone(), s.y.iter().map(|y| y + off.round()).collect());
        let b = assess(&moved, &Thresholds::heap());
        prop_assert_eq!(a.verdict, b.verdict);
    }

    /// Arbitrary points, duplicate times, arbitrary (even invalid) breaks:
    /// no panic, confidence in range, finite rates.
    #[test]
    fn arbitrary_input_is_handled(
        mut x in proptest::collection::vec(-1e6f64..1e6, 0..120),
        y in proptest::collection::vec(-1e12f64..1e12, 0..120),
        breaks in proptest::collection::vec(0usize..130, 0..4),
    ) {
        x.sort_by(f64::total_cmp);
        let n = x.len().min(y.len());
        x.truncate(n);
        let s = Series::new(x, y[..n].to_vec()).with_breaks(breaks);
        let a = assess(&s, &Thresholds::heap());
        prop_assert!((0.0..=1.0).contains(&a.confidence));
        prop_assert!(a.slope.is_finite() && a.p_value.is_finite());
    }

    #[test]
    fn confidence_in_range_and_decreasing_never_leaks(s in any_series()) {
        let a = assess(&s, &Thresholds::heap());
        prop_assert!((0.0..=1.0).contains(&a.confidence));
        // Not growing: stable, or a plateau when an early jump (warm-up)
        // is followed by a flat or falling level; never leak or suspect.
        if a.slope <= 0.0 {
            prop_assert!(
                matches!(a.verdict, Verdict::Stable | Verdict::Plateau),
                "{:?}",
                a.verdict
            );
        }
    }
}

#[test]
fn short_warm_up_in_a_long_series_is_a_plateau() {
    let nz = noise(3, 500);
    // 500 snapshots 15 s apart; the cache fills in the first 10 minutes.
    let x: Vec<f64> = (0..500).map(|i| i as f64 * 15.0).collect();
    let y: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, t)| 2.0 * MB + (t / 600.0).min(1.0) * 50.0 * MB + 0.5 * MB * nz[i])
        .collect();
    let a = assess(&Series::new(x, y), &Thresholds::heap());
    assert_eq!(a.verdict, Verdict::Plateau, "{a:?}");
}

/// Issue 9, false alarm 4: an LRU filling as 1 − exp(−t/τ) with τ longer
/// than the window rises almost straight, its last third at over half its
/// first third's rate, and was called a leak. It bends, and a bend that
/// stands out from the noise is "still rising, slowing": suspect.
#[test]
fn a_cache_still_filling_is_suspect_not_leak() {
    for seed in 0..12 {
        let nz = noise(seed + 100, 40);
        // 40 snapshots over 19.5 minutes, τ = 30 minutes, ±0.3% noise.
        let s = series(40, |i, t| {
            200.0 * MB * (1.0 - (-t / 1800.0).exp()) * (1.0 + 0.003 * nz[i])
        });
        let a = assess(&s, &Thresholds::heap());
        assert_eq!(a.verdict, Verdict::Suspect, "seed {seed}: {a:?}");
        assert!(
            a.notes.iter().any(|n| n.contains("still rising, slowing")),
            "{a:?}"
        );
        assert!(a.late_ratio.unwrap() > 0.5, "the old rule passed it: {a:?}");
    }
}

/// Issue 9, honesty 6: snapshots whose times are a copy's modification
/// times, all within 20 ms, gave "+835 GB/min". No rate, no leak.
#[test]
fn no_rate_over_no_time() {
    let x: Vec<f64> = (0..18).map(|i| i as f64 * 0.001).collect();
    let y: Vec<f64> = (0..18).map(|i| i as f64 * 4.0 * MB).collect();
    let a = assess(&Series::new(x, y), &Thresholds::heap());
    assert_eq!(a.verdict, Verdict::Suspect, "{a:?}");
    assert!(!a.rate_known);
    assert_eq!((a.slope, a.rise), (0.0, 0.0));
    assert!(a.confidence <= 0.2);
    assert!(a.notes.iter().any(|n| n.contains("no rate")), "{a:?}");
    // Spread over minutes but 5 ms apart on median: 490 snapshots of a
    // copy in 2.5 s, then 10 taken later.
    let mut x: Vec<f64> = (0..490).map(|i| i as f64 * 0.005).collect();
    x.extend((1..=10).map(|i| 60.0 * i as f64));
    let y: Vec<f64> = (0..500).map(|i| i as f64 * MB).collect();
    let a = assess(&Series::new(x, y), &Thresholds::heap());
    assert!(!a.rate_known && a.verdict < Verdict::Leak, "{a:?}");
    // A second and a half at 100 ms: a rate (heapdrift watch --every 100ms).
    let x: Vec<f64> = (0..16).map(|i| i as f64 * 0.1).collect();
    let y: Vec<f64> = (0..16).map(|i| i as f64 * MB).collect();
    let a = assess(&Series::new(x, y), &Thresholds::heap());
    assert!(a.rate_known && a.verdict == Verdict::Leak, "{a:?}");
}

proptest! {
    /// A saturating rise, A·(1 − exp(−t/τ)) on any base, is never a leak
    /// once it slows by a quarter or more over the window (τ up to twice
    /// the window; slower, it is as straight as a leak under varying
    /// load).
    #[test]
    fn a_concave_saturating_series_is_never_a_leak(
        n in 6usize..200,
        step in 1.0f64..600.0,
        amplitude in 1e5f64..1e10,
        tau_over_window in 0.02f64..2.0,
        base in 0.0f64..1e10,
    ) {
        let window = step * (n - 1) as f64;
        let tau = tau_over_window * window;
        let x: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
        let y = x.iter().map(|t| base + amplitude * (1.0 - (-t / tau).exp())).collect();
        let a = assess(&Series::new(x, y), &Thresholds::heap());
        prop_assert!(a.verdict != Verdict::Leak, "{:?}", a);
    }
}
