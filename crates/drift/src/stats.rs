//! Robust trend statistics for one time series.
//!
//! Every function takes x (seconds, strictly ordered by the caller, gaps of
//! any size allowed) and y, plus the indexes where a new segment starts
//! (a restart of the process). Pairwise statistics (Theil–Sen, Mann–Kendall)
//! only compare points of the same segment, so a restart that drops memory
//! to zero reads as two growing runs, not as a fall.

use std::borrow::Cow;

/// Above this many points the pairwise statistics run on bucket medians
/// (see [`reduce`]); 64 points give 2,016 pairs per series, which keeps
/// 10k series well under a second, and 64 points are plenty for a p-value
/// (a clean trend reaches p < 1e-20).
pub const MAX_PAIRWISE_POINTS: usize = 64;

/// A series as the statistics see it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Seconds, non-decreasing.
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// Start indexes of segments after the first (each in `1..len`,
    /// increasing). Empty: one segment.
    pub breaks: Vec<usize>,
}

impl Series {
    pub fn new(x: Vec<f64>, y: Vec<f64>) -> Series {
        Series {
            x,
            y,
            breaks: Vec::new(),
        }
    }

    pub fn with_breaks(mut self, breaks: Vec<usize>) -> Series {
        self.breaks = breaks;
        self
    }

    pub fn len(&self) -> usize {
        self.x.len().min(self.y.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Segment ranges, clamped to the data; invalid breaks are ignored.
    pub fn segments(&self) -> Vec<std::ops::Range<usize>> {
        let n = self.len();
        let mut out = Vec::with_capacity(self.breaks.len() + 1);
        let mut start = 0;
        for &b in &self.breaks {
            if b > start && b < n {
                out.push(start..b);
                start = b;
            }
        }
        if start < n || n == 0 {
            out.push(start..n);
        }
        out
    }

    /// The segment index of every point.
    fn segment_ids(&self) -> Vec<u32> {
        let mut ids = vec![0u32; self.len()];
        for (s, r) in self.segments().into_iter().enumerate() {
            for id in &mut ids[r] {
                *id = s as u32;
            }
        }
        ids
    }

    /// Total time covered by the segments (gaps between segments excluded).
    pub fn span(&self) -> f64 {
        self.segments()
            .into_iter()
            .filter(|r| !r.is_empty())
            .map(|r| self.x[r.end - 1] - self.x[r.start])
            .sum()
    }

    /// The points `range` as a series of their own, breaks kept.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Series {
        let breaks = self
            .breaks
            .iter()
            .filter(|&&b| b > range.start && b < range.end)
            .map(|&b| b - range.start)
            .collect();
        Series {
            x: self.x[range.clone()].to_vec(),
            y: self.y[range].to_vec(),
            breaks,
        }
    }
}

/// Shrinks a long series to at most `max` points per the whole series:
/// each segment is cut into consecutive buckets, and each bucket becomes one
/// point (median x, median y). Medians keep the robustness the pairwise
/// statistics rely on, and a trend over hundreds of snapshots survives
/// bucketing intact. Short series come back unchanged.
pub fn reduce(s: &Series, max: usize) -> Cow<'_, Series> {
    let n = s.len();
    if n <= max || max < 2 {
        return Cow::Borrowed(s);
    }
    let mut out = Series::default();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for r in s.segments() {
        // Buckets proportional to the segment's share, at least one.
        let len = r.len();
        let buckets = ((len * max) / n).clamp(1, len);
        if !out.x.is_empty() {
            out.breaks.push(out.x.len());
        }
        for b in 0..buckets {
            let lo = r.start + b * len / buckets;
            let hi = r.start + (b + 1) * len / buckets;
            xs.clear();
            ys.clear();
            xs.extend_from_slice(&s.x[lo..hi]);
            ys.extend_from_slice(&s.y[lo..hi]);
            out.x.push(median_in_place(&mut xs));
            out.y.push(median_in_place(&mut ys));
        }
    }
    Cow::Owned(out)
}

/// The median of `v` (mean of the two middle values for even lengths);
/// NaN for an empty slice. Reorders `v`.
pub fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (_, &mut hi, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo + hi) / 2.0
    }
}

pub fn median(v: &[f64]) -> f64 {
    median_in_place(&mut v.to_vec())
}

/// A fitted Theil–Sen line: one slope, one intercept per segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// y units per second.
    pub slope: f64,
    /// Per segment: y at x = 0 of that segment's line.
    pub intercepts: Vec<f64>,
}

impl Line {
    pub fn at(&self, segment: usize, x: f64) -> f64 {
        self.intercepts.get(segment).copied().unwrap_or(0.0) + self.slope * x
    }
}

/// Theil–Sen estimator: the median of the slopes of all point pairs within
/// a segment (pairs with equal x are skipped), and per segment the median of
/// `y - slope·x` as intercept. `None` when no pair has distinct x.
/// Breakdown point about 29%: a few GC spikes do not move it.
pub fn theil_sen(s: &Series) -> Option<Line> {
    let s = reduce(s, MAX_PAIRWISE_POINTS);
    let n = s.len();
    let seg = s.segment_ids();
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            if seg[i] != seg[j] {
                continue;
            }
            let dx = s.x[j] - s.x[i];
            if dx > 0.0 {
                slopes.push((s.y[j] - s.y[i]) / dx);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    let slope = median_in_place(&mut slopes);
    let segments = s.segments();
    let mut intercepts = Vec::with_capacity(segments.len());
    let mut buf = Vec::new();
    for r in segments {
        buf.clear();
        buf.extend(r.map(|i| s.y[i] - slope * s.x[i]));
        intercepts.push(if buf.is_empty() {
            0.0
        } else {
            median_in_place(&mut buf)
        });
    }
    Some(Line { slope, intercepts })
}

/// Result of a Mann–Kendall trend test.
#[derive(Clone, Debug, PartialEq)]
pub struct MannKendall {
    /// Σ sign(y_j − y_i) over pairs i<j of a segment.
    pub s: i64,
    /// Variance of S under H0, with the tie correction.
    pub var_s: f64,
    /// Continuity-corrected normal score.
    pub z: f64,
    /// One-sided p-value for an increasing trend (P[Z ≥ z]).
    pub p_increasing: f64,
    /// Two-sided p-value.
    pub p_two_sided: f64,
    /// Kendall's tau-a: S / number of compared pairs (−1..1).
    pub tau: f64,
}

/// Mann–Kendall test with the tie correction
/// `Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18` summed over segments
/// (the blocked form: segments are independent), and the normal
/// approximation with continuity correction. With no variance (n < 2, or
/// every value tied) z = 0 and both p-values are 1.
pub fn mann_kendall(s: &Series) -> MannKendall {
    let s = reduce(s, MAX_PAIRWISE_POINTS);
    let mut total_s: i64 = 0;
    let mut var = 0.0;
    let mut pairs: i64 = 0;
    let mut sorted = Vec::new();
    for r in s.segments() {
        let y = &s.y[r];
        let n = y.len();
        for i in 0..n {
            for j in i + 1..n {
                total_s += match y[j].partial_cmp(&y[i]) {
                    Some(std::cmp::Ordering::Greater) => 1,
                    Some(std::cmp::Ordering::Less) => -1,
                    _ => 0,
                };
            }
        }
        pairs += (n * n.saturating_sub(1) / 2) as i64;
        let nf = n as f64;
        let mut v = nf * (nf - 1.0) * (2.0 * nf + 5.0);
        sorted.clear();
        sorted.extend_from_slice(y);
        sorted.sort_by(f64::total_cmp);
        let mut i = 0;
        while i < sorted.len() {
            let mut j = i + 1;
            while j < sorted.len() && sorted[j] == sorted[i] {
                j += 1;
            }
            let t = (j - i) as f64;
            v -= t * (t - 1.0) * (2.0 * t + 5.0);
            i = j;
        }
        var += v / 18.0;
    }
    let z = if var <= 0.0 {
        0.0
    } else if total_s > 0 {
        (total_s as f64 - 1.0) / var.sqrt()
    } else if total_s < 0 {
        (total_s as f64 + 1.0) / var.sqrt()
    } else {
        0.0
    };
    let (p_inc, p_two) = if var <= 0.0 {
        (1.0, 1.0)
    } else {
        (normal_sf(z), (2.0 * normal_sf(z.abs())).min(1.0))
    };
    MannKendall {
        s: total_s,
        var_s: var,
        z,
        p_increasing: p_inc,
        p_two_sided: p_two,
        tau: if pairs > 0 {
            total_s as f64 / pairs as f64
        } else {
            0.0
        },
    }
}

/// Complementary error function, relative error below 1e-13 over the whole
/// real line (checked against a reference table in the tests). Relative,
/// not absolute, accuracy matters: p-values of strong trends are tiny and
/// are compared on a log scale. |x| < 1.5: the Maclaurin series of erf
/// (no harmful cancellation there); beyond: the continued fraction of erfc
/// (Abramowitz–Stegun 7.1.14), evaluated backwards with 120 terms.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() < 1.5 {
        return 1.0 - erf_series(x);
    }
    let z = x.abs();
    let mut t = z;
    for k in (1..=120).rev() {
        t = z + (k as f64 / 2.0) / t;
    }
    let r = (-z * z).exp() / (std::f64::consts::PI.sqrt() * t);
    if x > 0.0 { r } else { 2.0 - r }
}

/// erf by its Maclaurin series Σ (−1)ⁿ x²ⁿ⁺¹ / (n! (2n+1)) · 2/√π.
fn erf_series(x: f64) -> f64 {
    let mut power = x;
    let mut sum = 0.0;
    for n in 0..200 {
        let term = power / (2 * n + 1) as f64;
        sum += term;
        if term.abs() <= 1e-17 * sum.abs() {
            break;
        }
        power = -power * x * x / (n + 1) as f64;
    }
    sum * std::f64::consts::FRAC_2_SQRT_PI
}

pub fn erf(x: f64) -> f64 {
    if x.abs() < 1.5 {
        erf_series(x)
    } else {
        1.0 - erfc(x)
    }
}

/// Standard normal CDF Φ(z).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Standard normal survival function 1 − Φ(z), accurate in the upper tail.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Coefficient of determination of `line` on `s`: 1 − SS_res/SS_tot, with
/// SS_tot taken around each segment's mean. Clamped to 0..1. A series with
/// no variance has nothing to explain: 0.
pub fn r_squared(s: &Series, line: &Line) -> f64 {
    let mut ss_res = 0.0;
    let mut ss_tot = 0.0;
    for (k, r) in s.segments().into_iter().enumerate() {
        if r.is_empty() {
            continue;
        }
        let mean = s.y[r.clone()].iter().sum::<f64>() / r.len() as f64;
        for i in r {
            let e = s.y[i] - line.at(k, s.x[i]);
            ss_res += e * e;
            ss_tot += (s.y[i] - mean) * (s.y[i] - mean);
        }
    }
    if ss_tot <= 0.0 {
        return 0.0;
    }
    (1.0 - ss_res / ss_tot).clamp(0.0, 1.0)
}

/// Robust noise: 1.4826 × the median absolute residual from `line` (equals
/// σ for Gaussian noise).
pub fn mad_noise(s: &Series, line: &Line) -> f64 {
    let mut res = Vec::with_capacity(s.len());
    for (k, r) in s.segments().into_iter().enumerate() {
        for i in r {
            res.push((s.y[i] - line.at(k, s.x[i])).abs());
        }
    }
    if res.is_empty() {
        return 0.0;
    }
    1.4826 * median_in_place(&mut res)
}

/// Robust noise from consecutive differences: 1.4826 × MAD of the steps
/// (around their median) / √2. Unlike [`mad_noise`] it does not grow when a
/// straight line fits the series badly (a plateau, a step), because a level
/// shift changes only a few steps.
pub fn diff_noise(s: &Series) -> f64 {
    let mut d = Vec::with_capacity(s.len());
    for r in s.segments() {
        for i in r.start + 1..r.end {
            d.push(s.y[i] - s.y[i - 1]);
        }
    }
    if d.is_empty() {
        return 0.0;
    }
    let m = median_in_place(&mut d);
    for v in &mut d {
        *v = (*v - m).abs();
    }
    1.4826 * median_in_place(&mut d) / std::f64::consts::SQRT_2
}

/// Level change of the last segment: median of its last third minus the
/// 10th percentile of its first half (last minus first under 6 points).
/// Robust to single outliers, and unlike a fitted slope it sees a step or a
/// plateau, including a warm-up that took only the first tenth of a long
/// series (a median of the first third would already sit on the plateau).
pub fn level_change(s: &Series) -> f64 {
    let Some(r) = s.segments().pop() else {
        return 0.0;
    };
    let y = &s.y[r];
    let n = y.len();
    if n < 2 {
        return 0.0;
    }
    if n < 6 {
        return y[n - 1] - y[0];
    }
    let third = n.div_ceil(3);
    let mut first_half = y[..n / 2].to_vec();
    let k = (first_half.len() - 1) / 10;
    let (_, &mut low, _) = first_half.select_nth_unstable_by(k, f64::total_cmp);
    median(&y[n - third..]) - low
}

/// Of the consecutive changes within segments that are not zero, the
/// fraction that are increases; 0 when nothing changes.
pub fn monotonic_fraction(s: &Series) -> f64 {
    let (mut up, mut moved) = (0usize, 0usize);
    for r in s.segments() {
        for i in r.start + 1..r.end {
            let d = s.y[i] - s.y[i - 1];
            if d != 0.0 {
                moved += 1;
                if d > 0.0 {
                    up += 1;
                }
            }
        }
    }
    if moved == 0 {
        0.0
    } else {
        up as f64 / moved as f64
    }
}

/// How the growth rate changed between the start and the end of a series.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// Theil–Sen slope of the first third of the points.
    pub early_slope: f64,
    /// Theil–Sen slope of the last third of the points.
    pub late_slope: f64,
    /// late_slope / max(overall slope, early slope); when both are ≤ 0,
    /// 1 if the late slope is positive, else 0.
    pub late_ratio: f64,
    /// One-sided Mann–Kendall p-value of an increase in the last third.
    pub late_p: f64,
}

/// Compares the start and end of a series (by point count, thirds, the last
/// segment only when there are restarts). A warm-up cache rises early and
/// then flattens: late_ratio near 0. A leak keeps its rate: near 1.
/// `None` with fewer than 6 points in the last segment: thirds of 2 points
/// say nothing.
pub fn shape(s: &Series, overall_slope: f64) -> Option<Shape> {
    let last = s.segments().pop()?;
    if last.len() < 6 {
        return None;
    }
    let seg = s.slice(last);
    let n = seg.len();
    let third = n.div_ceil(3);
    let early = seg.slice(0..third);
    let late = seg.slice(n - third..n);
    let early_slope = theil_sen(&early)?.slope;
    let late_slope = theil_sen(&late)?.slope;
    // Against the larger of the two: after a fast warm-up the overall slope
    // is small, and the late slope must be judged against the early one.
    let reference = overall_slope.max(early_slope);
    let late_ratio = if reference > 0.0 {
        late_slope / reference
    } else if late_slope > 0.0 {
        1.0
    } else {
        0.0
    };
    Some(Shape {
        early_slope,
        late_slope,
        late_ratio,
        late_p: mann_kendall(&late).p_increasing,
    })
}

/// Allocation churn of a site: how much it allocated over the series
/// compared with what it holds. `alloc` is the cumulative allocated bytes
/// (a heap profile's alloc_space), `inuse` the bytes in use, both on the
/// same points as `s`' segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Churn {
    /// Bytes allocated per second over the covered time (within segments).
    pub alloc_rate: f64,
    /// Allocated bytes / mean in-use bytes: how many times the in-use
    /// memory was replaced. Large with a flat in-use = churn, not a leak.
    pub turnover: f64,
    /// Net in-use change / allocated bytes: the retained fraction.
    pub retained_fraction: f64,
}

pub fn churn(s: &Series, alloc: &[f64]) -> Option<Churn> {
    if alloc.len() < s.len() || s.len() < 2 {
        return None;
    }
    let (mut allocated, mut net, mut time) = (0.0, 0.0, 0.0);
    for r in s.segments() {
        if r.len() < 2 {
            continue;
        }
        // A cumulative counter never falls within a segment; if it does
        // (an unmarked restart) count nothing for that step.
        for i in r.start + 1..r.end {
            allocated += (alloc[i] - alloc[i - 1]).max(0.0);
        }
        net += s.y[r.end - 1] - s.y[r.start];
        time += s.x[r.end - 1] - s.x[r.start];
    }
    let mean = s.y.iter().sum::<f64>() / s.len() as f64;
    Some(Churn {
        alloc_rate: if time > 0.0 { allocated / time } else { 0.0 },
        turnover: if mean > 0.0 { allocated / mean } else { 0.0 },
        retained_fraction: if allocated > 0.0 {
            net / allocated
        } else {
            0.0
        },
    })
}

/// P[X ≤ k] for X ~ Poisson(`lambda`) (k rounded down; 1 for λ ≤ 0): the
/// sum of the terms, kept in log scale so that large means do not
/// underflow e^−λ. Above a million (no heap site has that many samples in
/// a third of a series) the normal approximation with continuity
/// correction.
pub fn poisson_cdf(k: f64, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if k < 0.0 {
        return 0.0;
    }
    let k = k.floor();
    if lambda > 1e6 || k > 1e7 {
        return normal_cdf((k + 0.5 - lambda) / lambda.sqrt());
    }
    // Σ exp(log_term), scaled by the largest term seen so far.
    let (ln_lambda, mut log_term) = (lambda.ln(), -lambda);
    let (mut top, mut sum) = (log_term, 1.0);
    let mut i = 1.0;
    while i <= k {
        log_term += ln_lambda - f64::ln(i);
        if log_term > top {
            sum = sum * (top - log_term).exp() + 1.0;
            top = log_term;
        } else {
            sum += (log_term - top).exp();
            if i > lambda && log_term - top < -40.0 {
                break;
            }
        }
        i += 1.0;
    }
    (top + sum.ln()).exp().min(1.0)
}

/// How far the last segment bends away from a straight line: the
/// quadratic term of a least-squares fit `y = a + b·u + c·u²` (u is time
/// scaled to −1..1), and its normal score against the noise.
#[derive(Clone, Debug, PartialEq)]
pub struct Curvature {
    /// The quadratic coefficient, in y units (the bend over half the
    /// segment's time).
    pub c: f64,
    /// c over its standard error: below −3 the rise is concave (slowing)
    /// beyond what the noise explains.
    pub z: f64,
    /// The fitted slope at the middle of the last third over that at the
    /// middle of the first (1 for a line; `None` when the fit does not
    /// rise at the start).
    pub late_to_early: Option<f64>,
}

/// The curvature of the last segment (at least 6 points; `None` below).
/// The noise is the robust spread of the quadratic fit's residuals
/// (1.4826 × median |residual|, so a GC spike does not inflate it). Long
/// series are reduced first, like every pairwise statistic.
pub fn curvature(s: &Series) -> Option<Curvature> {
    let s = reduce(s, MAX_PAIRWISE_POINTS);
    let r = s.segments().pop()?;
    if r.len() < 6 {
        return None;
    }
    let (x, y) = (&s.x[r.clone()], &s.y[r]);
    let (x0, x1) = (x[0], x[x.len() - 1]);
    if x1 <= x0 {
        return None;
    }
    let n = x.len() as f64;
    let u: Vec<f64> = x
        .iter()
        .map(|&t| 2.0 * (t - x0) / (x1 - x0) - 1.0)
        .collect();
    // An orthogonal design: 1, u − ū, and u² with its projection on both
    // removed, so each coefficient is a plain projection.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n;
    let (u_mean, y_mean) = (mean(&u), mean(y));
    let du: Vec<f64> = u.iter().map(|v| v - u_mean).collect();
    let suu: f64 = du.iter().map(|d| d * d).sum();
    let sq: Vec<f64> = u.iter().map(|v| v * v).collect();
    let sq_mean = mean(&sq);
    if suu <= 0.0 {
        return None;
    }
    let beta = du.iter().zip(&sq).map(|(d, q)| d * q).sum::<f64>() / suu;
    let q: Vec<f64> = sq
        .iter()
        .zip(&du)
        .map(|(v, d)| v - sq_mean - beta * d)
        .collect();
    let sqq: f64 = q.iter().map(|v| v * v).sum();
    if sqq <= 0.0 {
        return None;
    }
    let b = du.iter().zip(y).map(|(d, v)| d * v).sum::<f64>() / suu;
    let c = q.iter().zip(y).map(|(w, v)| w * v).sum::<f64>() / sqq;
    let mut res: Vec<f64> = (0..x.len())
        .map(|i| (y[i] - y_mean - b * du[i] - c * q[i]).abs())
        .collect();
    // Exact data (no noise at all) still gets a scale, so that rounding
    // in a straight line never reads as a bend.
    let range = y.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - y.iter().copied().fold(f64::INFINITY, f64::min);
    let sigma = (1.4826 * median_in_place(&mut res)).max(1e-9 * (range + y_mean.abs()));
    // dy/du of the fit ȳ + b·(u − ū) + c·(u² − mean(u²) − β·(u − ū)).
    let slope_at = |at: f64| b + c * (2.0 * at - beta);
    let (early, late) = (slope_at(-2.0 / 3.0), slope_at(2.0 / 3.0));
    let late_to_early = (early > 0.0).then(|| late / early);
    let z = if sigma > 0.0 {
        c / (sigma / sqq.sqrt())
    } else {
        0.0
    };
    Some(Curvature {
        c,
        z,
        late_to_early,
    })
}

/// The Laplace test for a trend in the rate of a counting process, on the
/// last segment of a series that only accumulates (every increase is new
/// events, `unit` each: heap samples of objects that stay). Under a
/// constant rate the events fall uniformly over the segment's time, so
/// their mean time is its middle, with a standard error of
/// duration/√(12·K) for K events; events crowding into the start (a
/// slowing rate) give a negative score. `None` under 6 points, without
/// events, or when the series also falls by more than a tenth of what it
/// rises (values that come and go are no counting process).
pub fn rate_trend(s: &Series, unit: f64) -> Option<f64> {
    let r = s.segments().pop()?;
    if r.len() < 6 || unit <= 0.0 {
        return None;
    }
    let (x0, x1) = (s.x[r.start], s.x[r.end - 1]);
    if x1 <= x0 {
        return None;
    }
    let (mut up, mut down, mut moment) = (0.0, 0.0, 0.0);
    for i in r.start + 1..r.end {
        let d = s.y[i] - s.y[i - 1];
        if d > 0.0 {
            up += d;
            moment += d * (s.x[i] + s.x[i - 1]) / 2.0;
        } else {
            down -= d;
        }
    }
    if up <= 0.0 || down > 0.1 * up {
        return None;
    }
    let events = up / unit;
    let mean_time = moment / up;
    Some((mean_time - (x0 + x1) / 2.0) / ((x1 - x0) / (12.0 * events).sqrt()))
}

/// The low envelope of a series: each segment cut into windows of
/// `window` consecutive points (the last window takes the remainder), and
/// each window becomes one point, its `q` quantile at its median time.
/// A heap profile is the state as of the last completed GC, so what a
/// snapshot shows of memory that fills and empties between GCs depends on
/// when the GCs ran; the lowest values of a window are the snapshots
/// taken just after the emptying, and they rise only if memory that is
/// never freed grows underneath.
pub fn low_envelope(s: &Series, window: usize, q: f64) -> Series {
    let mut out = Series::default();
    if window == 0 {
        return out;
    }
    let mut buf = Vec::new();
    for r in s.segments() {
        let count = r.len() / window;
        if count == 0 {
            continue;
        }
        if !out.x.is_empty() {
            out.breaks.push(out.x.len());
        }
        for k in 0..count {
            let lo = r.start + k * window;
            let hi = if k + 1 == count { r.end } else { lo + window };
            buf.clear();
            buf.extend_from_slice(&s.x[lo..hi]);
            out.x.push(median_in_place(&mut buf));
            buf.clear();
            buf.extend_from_slice(&s.y[lo..hi]);
            buf.sort_by(f64::total_cmp);
            let pos = q.clamp(0.0, 1.0) * (buf.len() - 1) as f64;
            let (i, f) = (pos.floor() as usize, pos.fract());
            let v = if i + 1 < buf.len() {
                buf[i] + f * (buf[i + 1] - buf[i])
            } else {
                buf[i]
            };
            out.y.push(v);
        }
    }
    out
}

/// P[X >= k] for X ~ Binomial(n, ½), `n` and `k` whole numbers: exact up
/// to 1000 trials (summed in log space), the normal approximation with a
/// continuity correction beyond.
pub fn binomial_half_upper_tail(n: f64, k: f64) -> f64 {
    let (n, k) = (n.round().max(0.0), k.round());
    if k <= 0.0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    if n > 1000.0 {
        return normal_sf((k - 0.5 - n / 2.0) / (n / 4.0).sqrt());
    }
    let (n, k) = (n as u64, k as u64);
    // pmf(n) = 2^-n; pmf(i - 1) = pmf(i) · i / (n - i + 1).
    let mut log_pmf = -(n as f64) * std::f64::consts::LN_2;
    let mut total = 0.0;
    let mut i = n;
    loop {
        total += log_pmf.exp();
        if i == k {
            break;
        }
        log_pmf += (i as f64).ln() - ((n - i + 1) as f64).ln();
        i -= 1;
    }
    total.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lin(n: usize, a: f64, b: f64) -> Series {
        let x: Vec<f64> = (0..n).map(|i| i as f64 * 10.0).collect();
        let y = x.iter().map(|&x| a + b * x).collect();
        Series::new(x, y)
    }

    /// Deterministic pseudo-noise in −1..1 (xorshift), so tests need no RNG.
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

    #[test]
    fn binomial_half_tails() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(binomial_half_upper_tail(3.0, 3.0), 0.125));
        assert!(close(binomial_half_upper_tail(7.0, 7.0), 1.0 / 128.0));
        assert!(close(binomial_half_upper_tail(14.0, 12.0), 106.0 / 16384.0));
        assert_eq!(binomial_half_upper_tail(5.0, 0.0), 1.0);
        assert_eq!(binomial_half_upper_tail(5.0, 6.0), 0.0);
        // P[X >= 5] for n = 10 is 1/2 + pmf(5)/2.
        assert!(close(
            binomial_half_upper_tail(10.0, 5.0),
            0.5 + 252.0 / 1024.0 / 2.0
        ));
        // The normal approximation meets the exact sum at the switch.
        let exact = binomial_half_upper_tail(1000.0, 530.0);
        let approx = binomial_half_upper_tail(1002.0, 531.0);
        assert!((exact - approx).abs() < 0.01, "{exact} {approx}");
    }

    #[test]
    fn erfc_reference_values() {
        // Values from a 30-digit table (mpmath).
        let cases = [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544e-5),
            (1.49, 0.035_102_135_156_795_79),
            (1.51, 0.032_723_251_871_288_36),
            (5.0, 1.537_459_794_428_034_8e-12),
            (10.0, 2.088_487_583_762_545e-45),
            (-1.0, 1.842_700_792_949_715),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            assert!(
                ((got - want) / want).abs() < 1e-13,
                "erfc({x}) = {got}, want {want}"
            );
        }
        assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-15);
        assert!((erf(-0.3) + 0.328_626_759_459_127_4).abs() < 1e-15);
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(-30.0), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn normal_tails() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-9);
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-7);
        assert!((normal_sf(1.644_853_626_951_472) - 0.05).abs() < 1e-8);
        // Far tail keeps relative precision: P[Z > 8] = 6.22e-16.
        let p = normal_sf(8.0);
        assert!(((p - 6.220_960_574_271_785e-16) / 6.22e-16).abs() < 1e-12);
        assert_eq!(normal_sf(40.0), 0.0);
        assert!((normal_cdf(-40.0)).abs() < 1e-300);
    }

    #[test]
    fn theil_sen_exact_line_and_outliers() {
        let mut s = lin(20, 5.0, 2.0);
        let l = theil_sen(&s).unwrap();
        assert!((l.slope - 2.0).abs() < 1e-12);
        assert!((l.intercepts[0] - 5.0).abs() < 1e-9);
        // Two wild GC spikes do not move the robust slope.
        s.y[3] += 1e6;
        s.y[11] -= 1e6;
        let l = theil_sen(&s).unwrap();
        assert!((l.slope - 2.0).abs() < 1e-12);
    }

    #[test]
    fn theil_sen_degenerate() {
        assert!(theil_sen(&Series::default()).is_none());
        assert!(theil_sen(&Series::new(vec![1.0], vec![3.0])).is_none());
        assert!(theil_sen(&Series::new(vec![1.0, 1.0], vec![3.0, 4.0])).is_none());
        let two = theil_sen(&Series::new(vec![0.0, 60.0], vec![10.0, 70.0])).unwrap();
        assert_eq!(two.slope, 1.0);
        let c = lin(10, 7.0, 0.0);
        assert_eq!(theil_sen(&c).unwrap().slope, 0.0);
    }

    #[test]
    fn irregular_timestamps() {
        let x = vec![0.0, 1.0, 7.0, 8.0, 30.0, 31.0, 100.0];
        let y: Vec<f64> = x.iter().map(|x| 3.0 * x + 1.0).collect();
        let s = Series::new(x, y);
        assert!((theil_sen(&s).unwrap().slope - 3.0).abs() < 1e-12);
        assert!(mann_kendall(&s).p_increasing < 0.01);
    }

    #[test]
    fn restart_segments() {
        // Two runs of the same leak; the restart drops memory to 0.
        let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..20).map(|i| ((i % 10) * 4) as f64).collect();
        let whole = Series::new(x.clone(), y.clone());
        let seg = Series::new(x, y).with_breaks(vec![10]);
        let l = theil_sen(&seg).unwrap();
        assert!((l.slope - 4.0).abs() < 1e-12);
        assert_eq!(l.intercepts.len(), 2);
        assert!((l.intercepts[1] - -40.0).abs() < 1e-9);
        assert!((r_squared(&seg, &l) - 1.0).abs() < 1e-12);
        let mk = mann_kendall(&seg);
        assert_eq!(mk.s, 90);
        assert!(mk.tau > 0.99);
        // Without the break the cross-restart pairs add variance, not
        // signal: the evidence is weaker.
        assert_eq!(mann_kendall(&whole).s, 90);
        assert!(mann_kendall(&whole).z < mk.z);
        assert_eq!(seg.span(), 18.0);
        // Out-of-range breaks are ignored.
        let odd = Series::new(vec![0.0, 1.0], vec![0.0, 1.0]).with_breaks(vec![0, 5]);
        assert_eq!(odd.segments(), vec![0..2]);
    }

    #[test]
    fn mann_kendall_known_values() {
        // Strictly increasing n = 10: S = 45, Var = 10·9·25/18 = 125.
        let mk = mann_kendall(&lin(10, 0.0, 1.0));
        assert_eq!(mk.s, 45);
        assert!((mk.var_s - 125.0).abs() < 1e-9);
        assert!((mk.z - 44.0 / 125f64.sqrt()).abs() < 1e-12);
        assert!(mk.p_increasing < 1e-4);
        // Ties: y = [1,1,2,2,3]; S = 8; Var = (5·4·15 − 2·(2·1·9))/18 = 264/18.
        let s = Series::new(
            (0..5).map(f64::from).collect(),
            vec![1.0, 1.0, 2.0, 2.0, 3.0],
        );
        let mk = mann_kendall(&s);
        assert_eq!(mk.s, 8);
        assert!((mk.var_s - 264.0 / 18.0).abs() < 1e-9);
        assert!((mk.z - 7.0 / (264.0f64 / 18.0).sqrt()).abs() < 1e-12);
        // Constant: no variance, no evidence.
        let mk = mann_kendall(&lin(8, 3.0, 0.0));
        assert_eq!((mk.s, mk.z, mk.p_increasing), (0, 0.0, 1.0));
        // Two points can never be significant.
        let mk = mann_kendall(&Series::new(vec![0.0, 1.0], vec![0.0, 9.0]));
        assert!(mk.p_increasing >= 0.5);
        // Decreasing.
        let mk = mann_kendall(&lin(10, 0.0, -1.0));
        assert!(mk.p_increasing > 0.999 && mk.p_two_sided < 1e-3);
    }

    #[test]
    fn noisy_leak_vs_noise() {
        let n = 40;
        let nz = noise(1, n);
        let x: Vec<f64> = (0..n).map(|i| i as f64 * 15.0).collect();
        let leak: Vec<f64> = (0..n).map(|i| 1e6 + 1e4 * i as f64 + 2e4 * nz[i]).collect();
        let s = Series::new(x.clone(), leak);
        let l = theil_sen(&s).unwrap();
        assert!((l.slope - 1e4 / 15.0).abs() < 0.2 * 1e4 / 15.0);
        assert!(mann_kendall(&s).p_increasing < 1e-6);
        assert!(r_squared(&s, &l) > 0.8);
        let noisy: Vec<f64> = nz.iter().map(|v| 1e6 + 5e4 * v).collect();
        let s = Series::new(x, noisy);
        assert!(mann_kendall(&s).p_increasing > 0.01);
        let l = theil_sen(&s).unwrap();
        let mad = mad_noise(&s, &l);
        // Uniform(−1,1)·5e4 has σ ≈ 2.9e4; MAD-based σ is ≈ 1.48·2.5e4.
        assert!(mad > 2e4 && mad < 5e4, "{mad}");
    }

    #[test]
    fn plateau_shape() {
        // Rises over the first third, flat afterwards.
        let x: Vec<f64> = (0..30).map(|i| i as f64 * 60.0).collect();
        let y: Vec<f64> = (0..30).map(|i| (i.min(10) * 1000) as f64).collect();
        let s = Series::new(x.clone(), y);
        let l = theil_sen(&s).unwrap();
        let sh = shape(&s, l.slope).unwrap();
        assert!(sh.early_slope > 0.0);
        assert_eq!(sh.late_slope, 0.0);
        assert_eq!(sh.late_ratio, 0.0);
        assert_eq!(sh.late_p, 1.0);
        let lin = Series::new(x, (0..30).map(|i| i as f64).collect());
        let sh = shape(&lin, theil_sen(&lin).unwrap().slope).unwrap();
        assert!((sh.late_ratio - 1.0).abs() < 1e-9);
        assert!(shape(&Series::new(vec![0.0; 5], vec![0.0; 5]), 1.0).is_none());
    }

    #[test]
    fn churn_measure() {
        let x: Vec<f64> = (0..5).map(|i| i as f64 * 60.0).collect();
        let inuse = vec![100.0; 5];
        let alloc: Vec<f64> = (0..5).map(|i| i as f64 * 10_000.0).collect();
        let c = churn(&Series::new(x.clone(), inuse), &alloc).unwrap();
        assert!((c.alloc_rate - 40_000.0 / 240.0).abs() < 1e-9);
        assert!((c.turnover - 400.0).abs() < 1e-9);
        assert_eq!(c.retained_fraction, 0.0);
        // Leak: everything allocated stays.
        let c = churn(&Series::new(x, alloc.clone()), &alloc).unwrap();
        assert!((c.retained_fraction - 1.0).abs() < 1e-12);
    }

    #[test]
    fn monotonicity() {
        assert_eq!(monotonic_fraction(&lin(5, 0.0, 1.0)), 1.0);
        assert_eq!(monotonic_fraction(&lin(5, 0.0, 0.0)), 0.0);
        let s = Series::new(
            (0..5).map(f64::from).collect(),
            vec![0.0, 2.0, 1.0, 3.0, 3.0],
        );
        assert!((monotonic_fraction(&s) - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn poisson_cdf_reference_values() {
        // P[X ≤ k] from the terms by hand: e^-2 (1 + 2 + 2) = 5 e^-2.
        assert!((poisson_cdf(2.0, 2.0) - 5.0 * (-2.0f64).exp()).abs() < 1e-15);
        assert!((poisson_cdf(0.0, 6.7) - (-6.7f64).exp()).abs() < 1e-15);
        assert_eq!(poisson_cdf(3.0, 0.0), 1.0);
        assert_eq!(poisson_cdf(-1.0, 3.0), 0.0);
        // Fractional counts round down.
        assert_eq!(poisson_cdf(2.9, 2.0), poisson_cdf(2.0, 2.0));
        // Large means do not underflow: P[X ≤ 1000 | λ = 1000] = 0.50841
        // (its 1001 terms summed in Python), and the tail far below is tiny.
        assert!((poisson_cdf(1000.0, 1000.0) - 0.508_409).abs() < 1e-5);
        assert!(poisson_cdf(800.0, 1000.0) < 1e-9);
    }

    #[test]
    fn curvature_of_lines_and_bends() {
        let x: Vec<f64> = (0..30).map(|i| i as f64 * 10.0).collect();
        let nz = noise(5, 30);
        let line = Series::new(x.clone(), x.iter().map(|t| 3.0 * t).collect());
        assert!(curvature(&line).unwrap().z.abs() < 1e-3);
        let noisy = Series::new(
            x.clone(),
            x.iter().zip(&nz).map(|(t, e)| 3.0 * t + 50.0 * e).collect(),
        );
        assert!(curvature(&noisy).unwrap().z.abs() < 3.0);
        let sat = Series::new(
            x.clone(),
            x.iter()
                .map(|t| 1000.0 * (1.0 - (-t / 150.0).exp()))
                .collect(),
        );
        let c = curvature(&sat).unwrap();
        assert!(c.c < 0.0 && c.z < -3.0, "{c:?}");
        let convex = Series::new(x.clone(), x.iter().map(|t| t * t).collect());
        assert!(curvature(&convex).unwrap().z > 3.0);
        assert!(curvature(&Series::new(x[..5].to_vec(), x[..5].to_vec())).is_none());
    }

    #[test]
    fn laplace_trend_of_counts() {
        let x: Vec<f64> = (0..21).map(|i| i as f64 * 60.0).collect();
        // 4 events a minute throughout: the mean event time is the middle.
        let steady = Series::new(x.clone(), (0..21).map(|i| 4.0 * i as f64).collect());
        assert!(rate_trend(&steady, 1.0).unwrap().abs() < 1e-9);
        // All 80 events in the first half: z = −(T/4)·√(12·80)/T ≈ −7.7.
        let early = Series::new(
            x.clone(),
            (0..21).map(|i| 8.0 * (i.min(10)) as f64).collect(),
        );
        let z = rate_trend(&early, 1.0).unwrap();
        assert!((z + 0.25 * (12.0f64 * 80.0).sqrt()).abs() < 0.1, "{z}");
        // The same bytes as 1/10th the samples: less evidence.
        assert!(rate_trend(&early, 10.0).unwrap() > z);
        // Values that also fall are not a counting process.
        let churn = Series::new(x, (0..21).map(|i| (i % 3) as f64).collect());
        assert!(rate_trend(&churn, 1.0).is_none());
    }

    #[test]
    fn low_envelope_keeps_the_floor() {
        // A sawtooth 0..9 over a rising floor, windows of 10.
        let x: Vec<f64> = (0..60).map(f64::from).collect();
        let y: Vec<f64> = (0..60).map(|i| (i % 10) as f64 + i as f64 / 10.0).collect();
        let env = low_envelope(&Series::new(x, y).with_breaks(vec![30]), 10, 0.0);
        assert_eq!(env.len(), 6);
        assert_eq!(env.breaks, vec![3]);
        assert_eq!(env.y, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(env.x[0], 4.5);
        // The remainder joins the last window.
        let e = low_envelope(&Series::new(vec![0.0; 7], vec![5.0; 7]), 3, 0.1);
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn reduce_long_series() {
        let s = lin(1000, 0.0, 2.0).with_breaks(vec![500]);
        let r = reduce(&s, 100);
        assert!(r.len() <= 100 && r.len() >= 98);
        assert_eq!(r.breaks.len(), 1);
        assert!((theil_sen(&s).unwrap().slope - 2.0).abs() < 1e-9);
        assert!(mann_kendall(&s).p_increasing < 1e-10);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
