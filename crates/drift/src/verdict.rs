//! From statistics to a verdict, and the heap analysis built on it.
//! The model and every threshold is explained in docs/drift-model.md.

use crate::cycles::HeapCycles;
use crate::finding::{Evidence, Finding, Kind, Signature, Verdict};
use crate::series::{HeapSeries, Metric};
use crate::stats::{self, Series};
use crate::units::{self, Unit};

/// Thresholds of the verdict model (docs/drift-model.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// One-sided Mann–Kendall p-value below which a trend can be a leak.
    pub alpha_leak: f64,
    /// p-value below which a trend is at least suspect.
    pub alpha_suspect: f64,
    /// Fewest snapshots for a `leak` (or `plateau`) verdict; below, a trend
    /// is at most `suspect`. Six is the smallest n at which a perfectly
    /// monotone series reaches p < 0.01, and the smallest with thirds of 2.
    pub min_points: usize,
    /// Fewest R² of the Theil–Sen line for a leak (a straight-ish climb).
    pub min_r2: f64,
    /// Late slope / overall slope at or above which growth has not slowed.
    pub min_late_ratio: f64,
    /// Late slope / overall slope at or below which growth has stopped.
    pub max_plateau_ratio: f64,
    /// The fitted rise must exceed `noise_factor` × the robust noise ...
    pub noise_factor: f64,
    /// ... and this absolute amount (series unit).
    pub min_rise: f64,
    /// Turnover (allocated / mean in use) from which a flat site is noted
    /// as churn.
    pub churn_turnover: f64,
    /// Normal score of the curvature below which a rise is concave
    /// (slowing) beyond its noise: a cache filling up, not yet a leak.
    pub concave_z: f64,
    /// Whether the series saws with GC timing (heap values as of the last
    /// GC), so that its low envelope is tried when the values themselves
    /// show no clear trend.
    pub gc_floor: bool,
}

impl Thresholds {
    /// For heap inuse_space: rises under 256 KiB are within the heap
    /// profile's sampling resolution (one sample per 512 KiB allocated).
    pub fn heap() -> Thresholds {
        Thresholds {
            min_rise: 256.0 * 1024.0,
            gc_floor: true,
            ..Thresholds::base()
        }
    }

    /// For goroutine counts: fewer than 3 extra goroutines is no pattern.
    pub fn goroutines() -> Thresholds {
        Thresholds {
            min_rise: 3.0,
            ..Thresholds::base()
        }
    }

    fn base() -> Thresholds {
        Thresholds {
            alpha_leak: 0.01,
            alpha_suspect: 0.05,
            min_points: 6,
            min_r2: 0.5,
            min_late_ratio: 0.5,
            max_plateau_ratio: 0.25,
            noise_factor: 3.0,
            min_rise: 0.0,
            churn_turnover: 10.0,
            concave_z: 3.0,
            gc_floor: false,
        }
    }
}

/// The shortest time a series must cover for a rate. The coarsest time
/// stamp heapdrift reads (a date-time in a file name) has a resolution of
/// one second, and a heap profile moves only when a GC completes: under a
/// second, the span is not known to better than itself, and the few GC
/// cycles in it, extrapolated to a minute, give rates like "+835 GB/min".
pub const MIN_RATE_SPAN_SECS: f64 = 1.0;

/// The shortest median gap between consecutive snapshots whose times are
/// capture times. Serving a profile is an HTTP round trip plus writing
/// and compressing the profile (the goroutine profile stops the world):
/// snapshots closer than this were not taken then; their times are when
/// files were copied or checked out (modification times written in a
/// burst).
pub const MIN_SNAPSHOT_GAP_SECS: f64 = 0.01;

/// Why the times of `s` cannot carry a rate, if they cannot: the series
/// spans less than [`MIN_RATE_SPAN_SECS`], or its snapshots are closer
/// than [`MIN_SNAPSHOT_GAP_SECS`] (median of the gaps between distinct
/// times within segments).
pub fn too_short_for_a_rate(s: &Series) -> Option<String> {
    let span = s.span();
    let mut gaps: Vec<f64> = s
        .segments()
        .into_iter()
        .flat_map(|r| (r.start + 1..r.end).map(|i| s.x[i] - s.x[i - 1]))
        .filter(|&g| g > 0.0)
        .collect();
    let n = s.len();
    if gaps.is_empty() {
        return None;
    }
    let gap = stats::median_in_place(&mut gaps);
    if span < MIN_RATE_SPAN_SECS {
        Some(format!(
            "the {n} snapshots span only {span:.3} s: too short for a growth rate (at least {MIN_RATE_SPAN_SECS} s are needed); no rate and no leak verdict"
        ))
    } else if gap < MIN_SNAPSHOT_GAP_SECS {
        Some(format!(
            "the {n} snapshots are {:.1} ms apart (median): no profile is served that fast, so their times are not when they were taken (file times of a copy?); no rate and no leak verdict",
            gap * 1e3
        ))
    } else {
        None
    }
}

/// 1.4826 × MAD of the values of the last third of the last segment.
fn late_spread(s: &Series) -> f64 {
    let Some(r) = s.segments().pop() else {
        return 0.0;
    };
    let n = r.len();
    let third = n.div_ceil(3);
    let mut v = s.y[r.end - third..r.end].to_vec();
    if v.is_empty() {
        return 0.0;
    }
    let m = stats::median_in_place(&mut v);
    for x in &mut v {
        *x = (*x - m).abs();
    }
    1.4826 * stats::median_in_place(&mut v)
}

/// The verdict on one series with the statistics behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub verdict: Verdict,
    pub confidence: f64,
    /// Theil–Sen slope per second.
    pub slope: f64,
    pub rise: f64,
    pub mk_z: f64,
    pub p_value: f64,
    pub r2: f64,
    pub noise: f64,
    pub monotonic_fraction: f64,
    pub late_ratio: Option<f64>,
    /// False when the snapshots span too little time for a rate
    /// ([`too_short_for_a_rate`]): slope and rise are then 0, not
    /// measured.
    pub rate_known: bool,
    pub notes: Vec<String>,
}

/// How much `n` snapshots can say at all: 0.2 at 2, 0.6 at 5, 0.9 at 10.
fn data_factor(n: usize) -> f64 {
    1.0 - 0.5f64.powf((n.saturating_sub(1)) as f64 / 3.0)
}

/// The late rate over the early one (of a fitted quadratic) under which a
/// rise bends over enough to be a cache filling up rather than a leak
/// whose rate follows a varying load.
const MAX_CONCAVE_RATIO: f64 = 0.75;

/// Snapshots per window of the low envelope: about 16 windows, at least
/// 3 snapshots each, so that each window holds snapshots from several GC
/// cycles (one of them soon after the memory that comes and goes was
/// freed) and the envelope still has enough points for a trend.
const FLOOR_WINDOWS: usize = 16;

/// The quantile of a window taken as its floor: its lowest values, not
/// the single lowest one (one snapshot of a profile read mid-update, or a
/// site that briefly reads 0, does not make a floor).
const FLOOR_QUANTILE: f64 = 0.1;

/// Classifies one series (see docs/drift-model.md for the decision order).
pub fn assess(s: &Series, th: &Thresholds) -> Assessment {
    assess_sampled(s, th, None)
}

/// How a heap profile samples one site. Go samples an allocation of
/// `size` bytes with probability p = 1 − exp(−size/rate) and scales the
/// sampled count by 1/p, so a value of y bytes stands on y / (size/p)
/// samples, a count with Poisson noise (binomial, for p near 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiteSampling {
    /// What one sample stands for: size / p (about the rate for objects
    /// much smaller than it, the object size for much larger ones).
    pub bytes_per_sample: f64,
}

impl SiteSampling {
    /// For objects of `size` bytes sampled at `rate` bytes (a profile's
    /// `period`); `None` unless both are positive.
    pub fn new(size: f64, rate: f64) -> Option<SiteSampling> {
        if !(size > 0.0 && rate > 0.0) {
            return None;
        }
        let p = -(-size / rate).exp_m1();
        if p <= 0.0 {
            return None;
        }
        Some(SiteSampling {
            bytes_per_sample: size / p,
        })
    }

    /// P[the last third grows by no more than it did | the reference rate
    /// went on], and the samples that rate would add: the new samples of a
    /// third are Poisson, with the mean the reference rate (the larger of
    /// the overall and early slopes) gives.
    fn late_shortfall(&self, s: &Series, sh: &stats::Shape, overall_slope: f64) -> (f64, f64) {
        let Some(r) = s.segments().pop() else {
            return (1.0, 0.0);
        };
        let third = r.len().div_ceil(3);
        let first = r.end - third;
        let duration = s.x[r.end - 1] - s.x[first];
        let reference = overall_slope.max(sh.early_slope);
        if reference <= 0.0 || duration <= 0.0 {
            return (1.0, 0.0);
        }
        let b = self.bytes_per_sample;
        let expected = reference * duration / b;
        let seen = (sh.late_slope * duration).max(s.y[r.end - 1] - s.y[first]) / b;
        (stats::poisson_cdf(seen.max(0.0), expected), expected)
    }
}

/// [`assess`] for a sampled heap site. The number of samples behind each
/// value is then known, and its noise is Poisson: a flat stretch where a
/// few samples were expected is no evidence that growth stopped, and a
/// bend must stand out from the sampling noise.
pub fn assess_sampled(s: &Series, th: &Thresholds, sampling: Option<SiteSampling>) -> Assessment {
    let mut a = assess_values(s, th, sampling);
    // The floor is looked at only when the values do trend up (their swing
    // hides by how much), which also keeps it off the many flat sites.
    if th.gc_floor
        && a.rate_known
        && a.verdict <= Verdict::Suspect
        && a.p_value < th.alpha_suspect
        && let Some(f) = floor_leak(s, th)
    {
        a = f;
    }
    a
}

/// A leak seen in the low envelope of a series that saws with GC timing:
/// the values swing by more than they grow, so the growth does not stand
/// out from their spread, but the floor under the swing rises steadily.
/// The envelope is a second look at the same values, so its trend must
/// pass a ten times stricter test (looking twice must not double the false
/// alarms); with a dozen or so points, thirds are too short for a shape,
/// so a bend (a cache filling up under the swing) is judged by the
/// curvature of the whole envelope.
///
/// The premise is checked: the values' late spread must be large enough
/// that their rise does not clear it (by the noise factor). Values that
/// rise smoothly and then creep (a cache warming up, then replacing
/// entries one by one) have a floor that rises with them: no second
/// witness of anything.
fn floor_leak(s: &Series, th: &Thresholds) -> Option<Assessment> {
    // On at most MAX_PAIRWISE_POINTS bucket medians, as the verdict's own
    // slope: this runs for every site whose values trend at all.
    let values_rise = stats::theil_sen(&stats::reduce(s, stats::MAX_PAIRWISE_POINTS))
        .map_or(0.0, |l| l.slope * s.span());
    if th.noise_factor * late_spread(s) <= values_rise {
        return None;
    }
    let window = (s.len() / FLOOR_WINDOWS).max(3);
    let env = stats::low_envelope(s, window, FLOOR_QUANTILE);
    if env.len() < th.min_points.max(6) {
        return None;
    }
    let span = env.span();
    let line = stats::theil_sen(&env)?;
    let mk = stats::mann_kendall(&env);
    let r2 = stats::r_squared(&env, &line);
    let noise = stats::mad_noise(&env, &line).min(stats::diff_noise(&env));
    let rise = line.slope * span;
    let alpha = th.alpha_leak / 10.0;
    let bends = stats::curvature(&env).is_some_and(|c| {
        c.z < -th.concave_z && c.late_to_early.is_some_and(|r| r < MAX_CONCAVE_RATIO)
    });
    if mk.p_increasing >= alpha
        || r2 < th.min_r2
        || rise <= th.min_rise.max(th.noise_factor * noise)
        || bends
    {
        return None;
    }
    let sig = (-mk.p_increasing.max(1e-300).log10() / (-alpha.log10() + 2.0)).min(1.0);
    Some(Assessment {
        verdict: Verdict::Leak,
        confidence: (data_factor(env.len()) * sig * r2.sqrt()).clamp(0.0, 1.0),
        slope: line.slope,
        rise,
        mk_z: mk.z,
        p_value: mk.p_increasing,
        r2,
        noise,
        monotonic_fraction: stats::monotonic_fraction(s),
        late_ratio: None,
        rate_known: true,
        notes: vec![format!(
            "the values saw up and down with GC timing (a heap profile is as of the last completed GC), but their floor (the {}% quantile of every {window} snapshots) rises steadily: memory underneath that no GC frees; the rate and statistics are the floor's",
            (FLOOR_QUANTILE * 100.0) as u32
        )],
    })
}

/// The verdict on the values themselves (no envelope).
fn assess_values(s: &Series, th: &Thresholds, sampling: Option<SiteSampling>) -> Assessment {
    let n = s.len();
    let mut a = Assessment {
        verdict: Verdict::Stable,
        confidence: 0.0,
        slope: 0.0,
        rise: 0.0,
        mk_z: 0.0,
        p_value: 1.0,
        r2: 0.0,
        noise: 0.0,
        monotonic_fraction: stats::monotonic_fraction(s),
        late_ratio: None,
        rate_known: true,
        notes: Vec::new(),
    };
    let span = s.span();
    let original = s;
    // Reduce a long series once; the statistics below then run on at most
    // MAX_PAIRWISE_POINTS bucket medians, except the noise, which is the
    // noise of single snapshots (bucket medians would understate it).
    let reduced = stats::reduce(s, stats::MAX_PAIRWISE_POINTS);
    let s: &Series = &reduced;
    let line = match stats::theil_sen(s) {
        Some(l) if span > 0.0 => l,
        _ => {
            a.notes
                .push("at least two snapshots at different times are needed".into());
            return a;
        }
    };
    let fd = data_factor(n);
    // A rise under half a sample's worth is sampling noise. `min_rise` is
    // that at Go's default rate for small objects, and stays the least
    // growth worth a finding at finer rates; large objects (a sample
    // stands for more than the rate) raise it.
    let min_rise = sampling.map_or(th.min_rise, |m| th.min_rise.max(m.bytes_per_sample / 2.0));
    if let Some(why) = too_short_for_a_rate(original) {
        // The values may have moved, but not at any rate one can state:
        // at most suspect, with little confidence, and no slope.
        a.rate_known = false;
        a.noise = stats::diff_noise(original);
        let change = stats::level_change(s);
        let floor = min_rise.max(th.noise_factor * a.noise);
        if change > floor {
            a.verdict = Verdict::Suspect;
            a.confidence = (0.5 * fd).min(0.2);
        } else {
            a.verdict = Verdict::Stable;
            a.confidence = 0.5 * fd;
        }
        a.notes.push(why);
        return a;
    }
    let mk = stats::mann_kendall(s);
    a.slope = line.slope;
    a.rise = line.slope * span;
    a.mk_z = mk.z;
    a.p_value = mk.p_increasing;
    a.r2 = stats::r_squared(s, &line);
    // The smaller of the two noise estimates: residuals overstate noise
    // when a line fits badly (plateau, step), steps understate it for a
    // regular sawtooth (caught by Mann–Kendall instead).
    a.noise = stats::mad_noise(original, &line).min(stats::diff_noise(original));
    let delta = stats::level_change(s);
    let shape = stats::shape(s, line.slope);
    a.late_ratio = shape.as_ref().map(|sh| sh.late_ratio);
    let floor = min_rise.max(th.noise_factor * a.noise);
    let grows = a.rise > floor || (n >= 6 && delta > floor);

    if !grows {
        a.verdict = Verdict::Stable;
        a.confidence = fd
            * if a.p_value < th.alpha_suspect {
                0.7
            } else {
                1.0
            };
        return a;
    }
    if n < th.min_points {
        a.verdict = Verdict::Suspect;
        a.confidence = (0.1 * (n - 1) as f64).min(0.35) * (0.5 + 0.5 * a.monotonic_fraction);
        a.notes.push(format!(
            "only {n} snapshots: more are needed for confidence (a leak verdict needs at least {})",
            th.min_points
        ));
        return a;
    }
    if a.p_value > th.alpha_suspect {
        // A warm-up over the first few percent of a long series leaves too
        // few rising pairs for Mann–Kendall, yet the level clearly rose and
        // then stayed: still a plateau.
        // The rise must also stand out from the spread of the late level,
        // or a GC sawtooth sampled against its period would qualify.
        if let Some(sh) = &shape
            && delta > floor
            && delta > th.noise_factor * late_spread(s)
            && sh.early_slope > 0.0
            && sh.late_slope * span / 3.0 <= floor
        {
            a.verdict = Verdict::Plateau;
            a.confidence = fd * 0.8;
            a.notes
                .push("rose early, then stayed level: a warm-up (cache, pool), not a leak".into());
            return a;
        }
        a.verdict = Verdict::Stable;
        a.confidence = fd * 0.6;
        a.notes
            .push("values vary but show no consistent trend".into());
        return a;
    }
    let sig = (-a.p_value.max(1e-300).log10() / (-th.alpha_leak.log10() + 2.0)).min(1.0);
    // Whether the late third's growth falls short of the reference rate by
    // more than the site's sampling noise explains, as surely as a leak
    // must be shown (a plateau clears a site): true without a sampling
    // model, where the shortfall is taken at face value.
    let short_of_rate = |sh: &stats::Shape| {
        sampling
            .as_ref()
            .is_none_or(|m| m.late_shortfall(original, sh, line.slope).0 < th.alpha_leak)
    };
    if let Some(sh) = &shape {
        // Growth after a warm-up counts when it is above the noise floor and
        // a visible part (5%) of the total change.
        let late_floor = floor.max(0.05 * delta.max(a.rise));
        let late_grows = sh.late_p < th.alpha_leak && sh.late_slope * span / 3.0 > late_floor;
        if sh.late_ratio <= th.max_plateau_ratio {
            if late_grows {
                a.verdict = Verdict::Suspect;
                a.confidence = fd * sig * 0.6;
                a.notes.push(
                    "rose fast, then kept growing slowly: a leak under a warm-up, or a slow warm-up"
                        .into(),
                );
            } else if !short_of_rate(sh) {
                a.verdict = Verdict::Suspect;
                a.confidence = fd * sig * 0.5;
                let m = sampling
                    .as_ref()
                    .map_or(0.0, |m| m.late_shortfall(original, sh, line.slope).1);
                a.notes.push(format!(
                    "the last third is flat, but at the earlier rate it would hold only {m:.1} new heap samples: too few to tell a stop (a warm-up) from sparse sampling of a slow leak"
                ));
            } else {
                a.verdict = Verdict::Plateau;
                let flat = 1.0 - (sh.late_ratio.max(0.0) / th.max_plateau_ratio) * 0.5;
                a.confidence = (fd * flat).clamp(0.0, 1.0);
                a.notes
                    .push("grew, then levelled off: a warm-up (cache, pool), not a leak".into());
            }
            return a;
        }
    }
    // A rise that bends over is a cache filling up (an LRU, a TTL cache)
    // until it proves otherwise; a straight line with noise does not bend.
    // Sampled objects that stay (a leak, a cache that only fills) add heap
    // samples as a Poisson process, whose rate trend has an exact test;
    // other values are judged by the bend of a quadratic against their
    // own noise.
    // A bend counts when it is real (beyond the noise) and large: the late
    // rate a quarter or more below the early one. A leak's rate follows
    // the load, which varies by less over a recording; a cache's decays.
    let curve = stats::curvature(s);
    let large = curve
        .as_ref()
        .and_then(|c| c.late_to_early)
        .is_some_and(|r| r < MAX_CONCAVE_RATIO);
    let z = sampling
        .as_ref()
        .and_then(|m| stats::rate_trend(original, m.bytes_per_sample))
        .or_else(|| curve.as_ref().map(|c| c.z));
    let concave = large && z.is_some_and(|z| z < -th.concave_z);
    // With a sampling model, a late slope below half the rate is only
    // slowing when the shortfall exceeds the Poisson noise of the samples
    // the late third should hold.
    let shape_ok = shape.as_ref().is_none_or(|sh| {
        sh.late_ratio >= th.min_late_ratio || (sampling.is_some() && !concave && !short_of_rate(sh))
    });
    if a.p_value < th.alpha_leak && a.r2 >= th.min_r2 && shape_ok && a.rise > floor {
        if concave {
            a.verdict = Verdict::Suspect;
            a.confidence = (fd * sig * 0.5).clamp(0.0, 1.0);
            a.notes.push(
                "still rising, slowing: the rise bends over, as a cache filling up (an LRU, a TTL cache) does before it levels off; a leak keeps its rate"
                    .into(),
            );
            return a;
        }
        a.verdict = Verdict::Leak;
        let f_shape = a.late_ratio.map_or(1.0, |r| (r / 0.75).min(1.0));
        a.confidence = (fd * sig * a.r2.sqrt() * f_shape).clamp(0.0, 1.0);
        return a;
    }
    a.verdict = Verdict::Suspect;
    a.confidence = (fd * sig * 0.5).clamp(0.0, 1.0);
    if !shape_ok {
        a.notes.push(if concave {
            "still rising, slowing: the rise bends over, as a cache filling up (an LRU, a TTL cache) does before it levels off; a leak keeps its rate".into()
        } else {
            "growth is slowing down; may still level off".into()
        });
    }
    if a.r2 < th.min_r2 {
        a.notes
            .push("trend is significant but irregular (poor straight-line fit)".into());
    }
    a
}

/// A finding's evidence from a series and its assessment.
pub fn evidence(s: &Series, a: &Assessment) -> Evidence {
    Evidence {
        times: s.x.clone(),
        values: s.y.clone(),
        breaks: s.breaks.clone(),
        first: s.y.first().copied().unwrap_or(0.0),
        last: s.y.last().copied().unwrap_or(0.0),
        slope_per_min: a.slope * 60.0,
        rise: a.rise,
        mann_kendall_z: a.mk_z,
        p_value: a.p_value,
        r_squared: a.r2,
        noise: a.noise,
        monotonic_fraction: a.monotonic_fraction,
        late_ratio: a.late_ratio,
        alloc_per_min: None,
        objects_per_min: None,
        turnover: None,
        share_of_growth: 0.0,
        wait_minutes: Vec::new(),
    }
}

/// The ranking score: confidence weighted by the share of growth, so that
/// among equally certain leaks the one that explains most of the growth
/// comes first.
pub fn score(confidence: f64, share: f64) -> f64 {
    confidence * (0.25 + 0.75 * share.clamp(0.0, 1.0))
}

/// Sets every finding's share of the positive growth of the whole set and
/// its score.
pub fn apply_shares(findings: &mut [Finding]) {
    let total: f64 = findings.iter().map(|f| f.evidence.rise.max(0.0)).sum();
    for f in findings {
        f.evidence.share_of_growth = if total > 0.0 {
            f.evidence.rise.max(0.0) / total
        } else {
            0.0
        };
        f.score = score(f.confidence, f.evidence.share_of_growth);
    }
}

/// Options of the heap analysis.
#[derive(Clone, Debug)]
pub struct HeapOptions {
    pub thresholds: Thresholds,
    /// Also return findings for stable sites.
    pub include_stable: bool,
}

impl Default for HeapOptions {
    fn default() -> Self {
        HeapOptions {
            thresholds: Thresholds::heap(),
            include_stable: false,
        }
    }
}

/// One finding per site of a heap series whose verdict is not stable (or
/// every site with `include_stable`), unranked; pass them to
/// [`crate::Report::new`] with the other kinds.
pub fn analyze_heap(hs: &HeapSeries, opts: &HeapOptions) -> Vec<Finding> {
    analyze_heap_cycles(hs, &HeapCycles::at_fetch(hs), opts)
}

/// [`analyze_heap`] on the points `cycles` picks from `hs` and times
/// ([`HeapCycles::new`] places them at the GC each shows).
pub fn analyze_heap_cycles(
    hs: &HeapSeries,
    cycles: &HeapCycles,
    opts: &HeapOptions,
) -> Vec<Finding> {
    let ctx = HeapContext {
        hs,
        opts,
        x: cycles.x.clone(),
        breaks: cycles.breaks.clone(),
        timing_note: cycles.note(hs.len()),
        period: sampling_period(hs, &cycles.keep),
        keep: cycles.keep.clone(),
    };
    // Sites are independent: blocks of them are assessed on up to four
    // threads, and put back in site order, so the result does not depend
    // on the number of threads.
    const BLOCK: usize = 512;
    let sites = hs.sites.len();
    let blocks = sites.div_ceil(BLOCK);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(blocks.max(1));
    let run_block = |b: usize| {
        let mut found = Vec::new();
        let mut rises = Vec::with_capacity(BLOCK);
        for site in b * BLOCK..((b + 1) * BLOCK).min(sites) {
            let (rise, finding) = ctx.site(site);
            rises.push(rise);
            found.extend(finding);
        }
        (rises, found)
    };
    let mut results: Vec<Option<(Vec<f64>, Vec<Finding>)>> = (0..blocks).map(|_| None).collect();
    if threads <= 1 {
        for (b, slot) in results.iter_mut().enumerate() {
            *slot = Some(run_block(b));
        }
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::Mutex::new(&mut results);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if b >= blocks {
                            return;
                        }
                        let r = run_block(b);
                        done.lock().unwrap_or_else(|e| e.into_inner())[b] = Some(r);
                    }
                });
            }
        });
    }
    let mut out = Vec::new();
    // Summed in site order, as one thread would.
    let mut all_rises = 0.0;
    for (rises, found) in results.into_iter().flatten() {
        for r in rises {
            all_rises += r.max(0.0);
        }
        out.extend(found);
    }
    // Shares are relative to all sites' growth, not only the reported ones.
    set_shares(&mut out, all_rises);
    let totals: Vec<f64> = {
        let all = hs.totals(Metric::InuseSpace);
        cycles.keep.iter().map(|&i| all[i]).collect()
    };
    slowing_by_goals(&mut out, &cycles.goals, &totals, &opts.thresholds);
    out
}

/// The least part of the heap profile's whole change over a site's
/// window that the site's own change must be for its shape to be read
/// from the heap goals: then most of what moved the live heap (and so the
/// goal) is that site, not a cache warming up beside it.
const GOAL_SHAPE_MIN_PART: f64 = 0.5;

/// Calls a heap leak "still rising, slowing" when the heap goals bend
/// over while it carries most of the heap's growth. A sampled site holds
/// too few samples to show a bend: a cache whose fill rate decays
/// five-fold over a recording, seen through ~20 samples, sits under two
/// standard errors from a straight line. The goals are exact and set at
/// every GC ([`crate::cycles::heap_goals`]): the same test of curvature
/// as for unsampled values, on the goals since the site's first point.
fn slowing_by_goals(findings: &mut [Finding], goals: &Series, totals: &[f64], th: &Thresholds) {
    let change = |v: &[f64]| v.last().copied().unwrap_or(0.0) - v.first().copied().unwrap_or(0.0);
    let whole = change(totals);
    for f in findings.iter_mut() {
        if f.kind != Kind::Heap
            || f.verdict != Verdict::Leak
            || change(&f.evidence.values) < GOAL_SHAPE_MIN_PART * whole
        {
            continue;
        }
        let from = f
            .evidence
            .times
            .first()
            .copied()
            .unwrap_or(f64::NEG_INFINITY);
        let since = goals.x.partition_point(|&x| x < from);
        let recent = Series::new(goals.x[since..].to_vec(), goals.y[since..].to_vec());
        let Some(c) = stats::curvature(&recent) else {
            continue;
        };
        let bends = c.z < -th.concave_z && c.late_to_early.is_some_and(|r| r < MAX_CONCAVE_RATIO);
        if !bends {
            continue;
        }
        f.verdict = Verdict::Suspect;
        f.confidence *= 0.5;
        f.score = score(f.confidence, f.evidence.share_of_growth);
        f.notes.push(format!(
            "still rising, slowing: the heap goal set at each of the last {} GCs (MemStats NextGC, exact where the heap profile is sampled) rises ever more slowly ({:.0}% of its early rate late in the window), as a cache filling up does; this site is {:.0}% of the heap profile's change",
            recent.len(),
            c.late_to_early.unwrap_or(0.0).max(0.0) * 100.0,
            100.0 * change(&f.evidence.values) / whole
        ));
    }
}

/// Each finding's share of `all_rises` (the positive rises of everything
/// assessed, reported or not) and the score that follows from it.
pub(crate) fn set_shares(findings: &mut [Finding], all_rises: f64) {
    for f in findings {
        f.evidence.share_of_growth = if all_rises > 0.0 {
            f.evidence.rise.max(0.0) / all_rises
        } else {
            0.0
        };
        f.score = score(f.confidence, f.evidence.share_of_growth);
    }
}

/// What every site's assessment in [`analyze_heap`] shares.
struct HeapContext<'a> {
    hs: &'a HeapSeries,
    opts: &'a HeapOptions,
    /// The snapshots kept (one per GC cycle), their times and breaks.
    keep: Vec<usize>,
    x: Vec<f64>,
    breaks: Vec<usize>,
    /// How the points were timed, for findings that are not stable.
    timing_note: Option<String>,
    /// The profiles' sampling period (bytes), when known.
    period: Option<f64>,
}

/// The sampling period of the kept snapshots (their median, should a
/// restarted process have changed runtime.MemProfileRate).
fn sampling_period(hs: &HeapSeries, keep: &[usize]) -> Option<f64> {
    let mut p: Vec<f64> = keep
        .iter()
        .filter_map(|&i| hs.period(i))
        .map(|p| p as f64)
        .collect();
    (!p.is_empty()).then(|| stats::median_in_place(&mut p))
}

impl HeapContext<'_> {
    fn column(&self, metric: Metric, site: usize) -> Vec<f64> {
        self.keep
            .iter()
            .map(|&i| self.hs.value(metric, site, i) as f64)
            .collect()
    }

    /// How the profiles sampled `site`: from its mean object size over the
    /// kept snapshots and the sampling period.
    fn sampling(&self, site: usize) -> Option<SiteSampling> {
        let rate = self.period?;
        if !self.hs.has_metric[Metric::InuseObjects as usize] {
            return None;
        }
        let (mut bytes, mut objects) = (0.0, 0.0);
        for &i in &self.keep {
            bytes += self.hs.value(Metric::InuseSpace, site, i).max(0) as f64;
            objects += self.hs.value(Metric::InuseObjects, site, i).max(0) as f64;
        }
        if objects <= 0.0 {
            return None;
        }
        SiteSampling::new(bytes / objects, rate)
    }

    /// A site's rise (its part of all growth) and its finding, if it is
    /// not stable (or every site with `include_stable`).
    fn site(&self, site: usize) -> (f64, Option<Finding>) {
        let (hs, opts) = (self.hs, self.opts);
        let st = &hs.sites[site];
        // The profiler's own allocations (gzip state of a profile being
        // written while a GC ran) come and go with the requests of whoever
        // watches the process: never a finding, and no part of the growth.
        let observer = is_observer(st);
        if observer && !opts.include_stable {
            return (0.0, None);
        }
        let y = self.column(Metric::InuseSpace, site);
        let s = Series::new(self.x.clone(), y).with_breaks(self.breaks.clone());
        // Cheap exit for the common case of a site that never changes.
        let constant = observer || s.y.windows(2).all(|w| w[0] == w[1]);
        let sampling = self.sampling(site);
        let a = if constant {
            None
        } else {
            Some(assess_sampled(&s, &opts.thresholds, sampling))
        };
        let rise = a.as_ref().map_or(0.0, |a| a.rise);
        let verdict = a.as_ref().map_or(Verdict::Stable, |a| a.verdict);
        if verdict == Verdict::Stable && !opts.include_stable {
            return (rise, None);
        }
        let mut a = match a {
            Some(a) => a,
            None if observer => Assessment {
                notes: vec![OBSERVER_NOTE.into()],
                ..assess(&Series::default(), &opts.thresholds)
            },
            None => assess_sampled(&s, &opts.thresholds, sampling),
        };
        // Allocation and object rates need the time a growth rate needs.
        let alloc = (hs.has_metric[Metric::AllocSpace as usize] && a.rate_known)
            .then(|| self.column(Metric::AllocSpace, site));
        if a.verdict == Verdict::Leak
            && let (Some(m), Some(alloc)) = (sampling, &alloc)
            && let Some(note) = within_sampling_noise(&s, alloc, &a, m, &opts.thresholds)
        {
            a.verdict = Verdict::Suspect;
            a.confidence *= 0.5;
            a.notes.push(note);
        }
        let mut ev = evidence(&s, &a);
        let mut notes = a.notes.clone();
        if let Some(note) = &self.timing_note
            && a.verdict != Verdict::Stable
        {
            notes.push(note.clone());
        }
        if let Some(alloc) = &alloc
            && let Some(c) = stats::churn(&s, alloc)
        {
            ev.alloc_per_min = Some(c.alloc_rate * 60.0);
            ev.turnover = Some(c.turnover);
            if a.verdict != Verdict::Leak && c.turnover >= opts.thresholds.churn_turnover {
                notes.push(format!(
                    "allocation churn: {:.0} bytes/min allocated, in-use memory replaced {:.0} times",
                    c.alloc_rate * 60.0,
                    c.turnover
                ));
            }
        }
        if hs.has_metric[Metric::InuseObjects as usize] && a.rate_known {
            let objs = Series::new(self.x.clone(), self.column(Metric::InuseObjects, site))
                .with_breaks(self.breaks.clone());
            ev.objects_per_min =
                stats::theil_sen(&stats::reduce(&objs, stats::MAX_PAIRWISE_POINTS))
                    .map(|l| l.slope * 60.0);
        }
        let last = hs.len().saturating_sub(1);
        let objs = hs.value(Metric::InuseObjects, site, last);
        let bytes_per_obj = if objs > 0 {
            hs.value(Metric::InuseSpace, site, last) as f64 / objs as f64
        } else {
            0.0
        };
        let (signature, cause, fix) = heap_signature(&st.stack, bytes_per_obj, a.verdict);
        if !st.user {
            notes.push("no frame of your own code in the stack; attributed to the first standard-library frame past the allocator".into());
        }
        let finding = Finding {
            kind: Kind::Heap,
            verdict: a.verdict,
            function: st.function.clone(),
            file: st.file.clone(),
            line: st.line,
            growth_per_min: a.slope * 60.0,
            unit: Unit::Bytes,
            confidence: a.confidence,
            score: 0.0,
            rule: None,
            signature,
            state: None,
            created_by: None,
            created_at: None,
            blocking_frame: None,
            resource: None,
            root_cause: cause,
            fix_hint: fix,
            notes,
            stack: st.stack.clone(),
            evidence: ev,
        };
        (rise, Some(finding))
    }
}

/// A sampled site's last segment, counted: what it kept and what it
/// freed (its allocation growth beyond what it kept), in bytes.
struct SegmentCounts {
    kept: f64,
    freed: f64,
    /// The larger of the fitted rise and `kept`.
    rise: f64,
    /// The segment's mean in-use bytes.
    mean: f64,
}

/// Why a sampled site's `leak` is within its sampling noise, if it is:
/// [`replaced_within_noise`] for a site that freed at least as much as it
/// rose, [`too_few_samples_gained`] for one that freed less.
fn within_sampling_noise(
    s: &Series,
    alloc: &[f64],
    a: &Assessment,
    m: SiteSampling,
    th: &Thresholds,
) -> Option<String> {
    let r = s.segments().pop()?;
    let (first, last) = (r.start, r.end.checked_sub(1)?);
    let kept = s.y[last] - s.y[first];
    let c = SegmentCounts {
        kept,
        freed: (alloc[last] - alloc[first]) - kept,
        rise: a.rise.max(kept),
        mean: s.y[r.clone()].iter().sum::<f64>() / r.len() as f64,
    };
    if c.rise <= 0.0 {
        return None;
    }
    if c.freed >= c.rise {
        replaced_within_noise(&c, m, th)
    } else {
        too_few_samples_gained(&c, m, th)
    }
}

/// Why a sampled site's rise is no leak, when its objects are replaced
/// (the site freed at least as much as it kept over the last segment)
/// and the rise is within the Poisson noise of its level. Such a
/// population (a cache replacing entries, a log truncated behind its
/// head) is a fresh draw of μ samples only once its objects have been
/// replaced; in between, its count moves slowly and looks like a trend
/// to Mann–Kendall, which assumes independent snapshots. Two
/// independent draws differ by √(2μ) samples; a leak verdict needs the
/// rise to clear that by the noise factor. A site that frees less is
/// judged by [`too_few_samples_gained`].
fn replaced_within_noise(c: &SegmentCounts, m: SiteSampling, th: &Thresholds) -> Option<String> {
    let b = m.bytes_per_sample;
    let mean_samples = c.mean / b;
    let noise_samples = (2.0 * mean_samples.max(0.0)).sqrt();
    let rise_samples = c.rise / b;
    (rise_samples < th.noise_factor * noise_samples).then(|| {
        format!(
            "objects here are replaced ({} freed while it rose by {}) and the rise is {rise_samples:.1} heap samples, within the sampling noise of a population of {mean_samples:.1} samples (two independent counts differ by ±{noise_samples:.1}): a replaced population that drifted, or a small leak",
            units::bytes(c.freed),
            units::bytes(c.rise),
        )
    })
}

/// Why a sampled site's rise is too few heap samples for a leak verdict,
/// when the site freed less than it rose. Over the last segment its
/// sampled objects were born (its allocation count rose by `births`
/// samples) and died (`deaths`, the births it did not keep). In a
/// population that only turns over (objects born and dying independently,
/// at any level) births and deaths are Poisson counts with equal means, so
/// given `births + deaths` events, each is a birth with probability ½; the
/// chance of at least the births seen is a binomial tail, which must be
/// under the leak level for a leak. A pure leak (nothing freed) thus
/// needs 7 samples gained at the 1% level. Mann–Kendall alone takes the
/// staircase of a few long-lived samples for a trend: etcd's
/// `keyIndex.put` under a steady load, 0 to 3 samples over 150 s and
/// nothing freed, was a leak with p 1e-7
/// (crates/heapdrift/tests/thirdparty.rs); here it is 1 in 8.
fn too_few_samples_gained(c: &SegmentCounts, m: SiteSampling, th: &Thresholds) -> Option<String> {
    // The samples gained between the segment's ends, not the fitted rise:
    // the counts are what the model is about, and they do not depend on
    // when the points are timed.
    if c.kept <= 0.0 {
        return None;
    }
    let b = m.bytes_per_sample;
    let freed = c.freed.max(0.0);
    let births = ((c.kept + freed) / b).round();
    let deaths = (freed / b).round();
    let p = stats::binomial_half_upper_tail(births + deaths, births);
    (p >= th.alpha_leak).then(|| {
        format!(
            "only {:.0} heap samples gained ({births:.0} sampled objects allocated here, {deaths:.0} of them freed): a population that merely turns over gains as many with probability {p:.2}; too few to call a leak yet, more snapshots will tell",
            births - deaths
        )
    })
}

const OBSERVER_NOTE: &str = "allocated while serving a profile (runtime/pprof, net/http/pprof): the profiler's own transient memory, not the program's";

/// A site without user code whose stack runs through the profiling
/// endpoint: memory that exists because someone is profiling.
fn is_observer(site: &crate::series::Site) -> bool {
    !site.user
        && site.stack.iter().any(|f| {
            f.function.starts_with("runtime/pprof.") || f.function.starts_with("net/http/pprof.")
        })
}

/// The snapshots that show a new GC cycle. A heap profile is the state as
/// of the last completed GC (runtime.MemProfile), so snapshots taken
/// between two GCs repeat the same numbers; timed at their fetch, a site
/// growing steadily reads as a staircase whose last flat run looks like a
/// plateau. Keeps the first snapshot of every run of identical ones (every
/// site, every metric) and the first of every segment, so each cycle is one
/// point, timed when it was first seen.
pub fn gc_cycles(hs: &HeapSeries) -> Vec<usize> {
    (0..hs.len())
        .filter(|&i| {
            i == 0 || hs.breaks.contains(&i) || !crate::cycles::same_snapshot(hs, i - 1, i)
        })
        .collect()
}

/// Segment breaks re-indexed onto the kept snapshots: a break lands on the
/// first kept snapshot at or after it (segments always keep their first).
pub(crate) fn kept_breaks(breaks: &[usize], keep: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = breaks
        .iter()
        .filter_map(|b| keep.iter().position(|k| k >= b))
        .filter(|&p| p > 0)
        .collect();
    out.dedup();
    out
}

/// The catalogue entry (go-leak-signals §6) that matches a heap site's
/// stack: (signature, root cause, fix hint).
pub fn heap_signature(
    stack: &[crate::series::Frame],
    bytes_per_object: f64,
    verdict: Verdict,
) -> (Option<Signature>, String, String) {
    let has = |prefixes: &[&str]| {
        stack
            .iter()
            .any(|f| prefixes.iter().any(|p| f.function.starts_with(p)))
    };
    let named =
        |sig: Signature, cause: &str, fix: &str| (Some(sig), cause.to_string(), fix.to_string());
    if matches!(verdict, Verdict::Stable | Verdict::Plateau) {
        let cause = if verdict == Verdict::Plateau {
            "memory grew during warm-up and then stayed level"
        } else {
            "no growth"
        };
        return (None, cause.into(), String::new());
    }
    if has(&["time.NewTicker", "time.Tick"]) {
        return named(
            Signature::TickerNeverStopped,
            "tickers are created and never stopped; each keeps its timer and channel alive",
            "call t.Stop() (defer it) when the loop that reads t.C ends; avoid time.Tick outside main",
        );
    }
    if has(&["time.NewTimer", "time.After"]) {
        return named(
            Signature::TimersInALoop,
            "a timer per iteration (time.After in a loop) lives until it fires",
            "reuse one timer with Reset, or build with Go 1.23+ semantics (go.mod go >= 1.23)",
        );
    }
    if has(&[
        "context.WithCancel",
        "context.WithTimeout",
        "context.WithDeadline",
        "context.(*cancelCtx).propagateCancel",
        "context.withCancel",
    ]) {
        return named(
            Signature::ContextNeverCancelled,
            "derived contexts are never cancelled, so the parent keeps every child",
            "call the cancel function (defer cancel()) on every path; go vet's lostcancel finds simple cases",
        );
    }
    if has(&["net/http.(*Transport).dialConn"]) {
        return named(
            Signature::HttpBodiesNeverClosed,
            "connection buffers accumulate: response bodies are not closed, so connections are never reused or freed",
            "defer resp.Body.Close() after every successful request, and drain the body",
        );
    }
    if has(&[
        "runtime.mapassign",
        "internal/runtime/maps.",
        "runtime.growWork",
        "runtime.hashGrow",
    ]) {
        return named(
            Signature::MapThatOnlyGrows,
            "entries are added to a map and never removed (a cache without eviction)",
            "bound it: an LRU or TTL eviction, clear and rebuild, or weak pointers (Go 1.24 weak/unique)",
        );
    }
    if bytes_per_object >= 64.0 * 1024.0 {
        return named(
            Signature::LargeBuffersRetained,
            "large buffers stay reachable; a small subslice or substring can keep a whole backing array alive",
            "copy what you keep (bytes.Clone, strings.Clone) instead of slicing a large buffer",
        );
    }
    (
        None,
        "memory allocated here stays reachable and keeps growing (a collection or registry that only grows, or closures kept in one)".into(),
        "find what holds these objects (a global map, slice, registry or cache) and remove entries when done; a core-dump retainer tool (goref) shows the chain".into(),
    )
}
