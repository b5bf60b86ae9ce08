//! The `Profile` methods of pprof's profile.go and merge.go that transform
//! a profile in place: scaling, normalization, labels, aggregation, unit
//! inference and pprof's encode/decode `Copy`.
use super::merge::{MergeError, compatible};
use super::validate::check_valid;
use crate::error::ParseError;
use crate::model::{Label, LabelStr, NumLabel, Profile, Sample};
use std::collections::BTreeMap;
use std::sync::Arc;

/// pprof's `Scale`: every value times `ratio`, rounded; a no-op for 1.
pub fn scale(p: &mut Profile, ratio: f64) {
    if ratio == 1.0 {
        return;
    }
    let ratios = vec![ratio; p.sample_types.len()];
    // Cannot fail: one ratio per sample type.
    let _ = scale_n(p, &ratios);
}

/// pprof's `ScaleN`. Samples whose scaled values all round to zero are
/// dropped; as in pprof only values whose ratio is not 1 are considered.
pub fn scale_n(p: &mut Profile, ratios: &[f64]) -> Result<(), MergeError> {
    if ratios.len() != p.sample_types.len() {
        return Err(MergeError::ScaleRatios {
            got: ratios.len(),
            want: p.sample_types.len(),
        });
    }
    if ratios.iter().all(|&r| r == 1.0) {
        return Ok(());
    }
    p.samples.retain_mut(|s| {
        let mut keep = false;
        for (v, &r) in s.values.iter_mut().zip(ratios) {
            if r != 1.0 {
                let val = go_round_to_i64(*v as f64 * r);
                *v = val;
                keep = keep || val != 0;
            }
        }
        keep
    });
    Ok(())
}

/// `int64(math.Round(x))`. Out-of-range conversions are undefined in Go
/// (amd64 yields i64::MIN); Rust saturates, and NaN becomes i64::MIN to
/// match amd64.
#[expect(
    clippy::cast_possible_truncation,
    reason = "r is integral and in [-2^63, 2^63) when cast (checked): the cast is exact"
)]
fn go_round_to_i64(x: f64) -> i64 {
    let r = x.round();
    let lim = (1u64 << 63) as f64;
    if r.is_nan() || !(-lim..lim).contains(&r) {
        i64::MIN
    } else {
        r as i64
    }
}

/// pprof's `Normalize`: scale `p` per sample type by the ratio of the base's
/// total to `p`'s total (0 when `p`'s total is 0).
pub fn normalize(p: &mut Profile, base: &Profile) -> Result<(), MergeError> {
    compatible(p, base)?;
    let n = p.sample_types.len();
    let totals = |q: &Profile| {
        let mut t = vec![0i64; n];
        for s in &q.samples {
            for (acc, v) in t.iter_mut().zip(&s.values) {
                *acc = acc.wrapping_add(*v);
            }
        }
        t
    };
    let base_vals = totals(base);
    let src_vals = totals(p);
    let ratios: Vec<f64> = base_vals
        .iter()
        .zip(&src_vals)
        .map(|(&b, &s)| if s == 0 { 0.0 } else { b as f64 / s as f64 })
        .collect();
    scale_n(p, &ratios)
}

/// pprof's `SetLabel`: replace the values of string label `key` on every
/// sample. (pprof can also store a key with no values; an empty `values`
/// here removes the key instead, as this model cannot represent that.)
pub fn set_label(p: &mut Profile, key: &str, values: &[&str]) {
    let k: LabelStr = Arc::from(key);
    let vals: Vec<LabelStr> = values.iter().map(|v| Arc::from(*v)).collect();
    for s in &mut p.samples {
        s.labels.retain(|l| *l.key != *key);
        for v in &vals {
            s.labels.push(Label {
                key: k.clone(),
                value: v.clone(),
            });
        }
    }
}

/// pprof's `RemoveLabel`.
pub fn remove_label(p: &mut Profile, key: &str) {
    for s in &mut p.samples {
        s.labels.retain(|l| *l.key != *key);
    }
}

/// pprof's `Sample.HasLabel`.
pub fn has_label(s: &Sample, key: &str, value: &str) -> bool {
    s.labels
        .iter()
        .any(|l| *l.key == *key && *l.value == *value)
}

/// The label `-diff_base` puts on base samples.
pub const DIFF_BASE_LABEL: &str = "pprof::base";

/// pprof's `Sample.DiffBaseSample`.
pub fn is_diff_base_sample(s: &Sample) -> bool {
    has_label(s, DIFF_BASE_LABEL, "true")
}

/// pprof's `SetNumLabel`. `units` is either empty or one unit per value,
/// as pprof keeps them.
pub fn set_num_label(p: &mut Profile, key: &str, values: &[i64], units: &[&str]) {
    let k: LabelStr = Arc::from(key);
    let us: Vec<Option<LabelStr>> = (0..values.len())
        .map(|i| units.get(i).map(|u| Arc::from(*u)))
        .collect();
    for s in &mut p.samples {
        s.num_labels.retain(|l| *l.key != *key);
        for (v, u) in values.iter().zip(&us) {
            s.num_labels.push(NumLabel {
                key: k.clone(),
                value: *v,
                unit: u.clone(),
            });
        }
    }
}

/// pprof's `RemoveNumLabel`.
pub fn remove_num_label(p: &mut Profile, key: &str) {
    for s in &mut p.samples {
        s.num_labels.retain(|l| *l.key != *key);
    }
}

/// pprof's `HasFunctions`.
pub fn has_functions(p: &Profile) -> bool {
    p.locations.iter().all(|l| match l.mapping {
        Some(m) => p.mappings[m as usize].has_functions,
        None => true,
    })
}

/// pprof's `HasFileLines`.
pub fn has_file_lines(p: &Profile) -> bool {
    p.locations.iter().all(|l| match l.mapping {
        Some(m) => {
            let m = &p.mappings[m as usize];
            m.has_filenames && m.has_line_numbers
        }
        None => true,
    })
}

/// pprof's `Mapping.Unsymbolizable`: pseudo-files (`[vdso]`, `//anon`,
/// `/memfd:`, GPU buffers, empty names) that have no symbols to look up.
pub fn mapping_unsymbolizable(m: &crate::model::Mapping) -> bool {
    let name = go_base(&m.file);
    name.starts_with('[')
        || name.starts_with("linux-vdso")
        || m.file.starts_with("/dev/dri/")
        || m.file == "//anon"
        || m.file.is_empty()
        || m.file.starts_with("/memfd:")
}

/// Go's `filepath.Base` on Unix: the last element after trailing slashes
/// are removed; "." for "", "/" for all-slashes.
fn go_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// pprof's `Aggregate`: forget the information that the granularity does
/// not keep, then `CheckValid`. Locations are not merged here; that happens
/// when the report builds its graph.
pub fn aggregate(
    p: &mut Profile,
    inline_frame: bool,
    function: bool,
    filename: bool,
    line_number: bool,
    column_number: bool,
    address: bool,
) -> Result<(), ParseError> {
    aggregate_locations(
        p,
        inline_frame,
        function,
        filename,
        line_number,
        column_number,
        address,
    );
    check_valid(p)
}

/// [`aggregate`] without its final `CheckValid`, for callers that check
/// what they need themselves (a session whose samples were checked once).
pub fn aggregate_locations(
    p: &mut Profile,
    inline_frame: bool,
    function: bool,
    filename: bool,
    line_number: bool,
    column_number: bool,
    address: bool,
) {
    for m in &mut p.mappings {
        m.has_inline_frames &= inline_frame;
        m.has_functions &= function;
        m.has_filenames &= filename;
        m.has_line_numbers &= line_number;
    }
    if !function || !filename {
        for f in &mut p.functions {
            if !function {
                f.name.clear();
                f.system_name.clear();
            }
            if !filename {
                f.filename.clear();
            }
        }
    }
    if !inline_frame || !address || !line_number || !column_number {
        for l in &mut p.locations {
            if !inline_frame && l.lines.len() > 1 {
                l.lines.drain(..l.lines.len() - 1);
            }
            if !line_number {
                for ln in &mut l.lines {
                    ln.line = 0;
                    ln.column = 0;
                }
            }
            if !column_number {
                for ln in &mut l.lines {
                    ln.column = 0;
                }
            }
            if !address {
                l.address = 0;
            }
        }
    }
}

/// pprof's `NumLabelUnits`: for each numeric label key, the first non-empty
/// unit seen (in sample order), else `bytes` for `alignment`/`request` and
/// the key itself otherwise; plus, per key, the other units met, sorted.
pub fn num_label_units(p: &Profile) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let mut units: BTreeMap<String, String> = BTreeMap::new();
    let mut ignored: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut keys: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for s in &p.samples {
        for l in &s.num_labels {
            keys.insert(&l.key);
            let Some(u) = l.unit.as_deref() else { continue };
            if u.is_empty() {
                continue;
            }
            match units.get(&*l.key) {
                None => {
                    units.insert(l.key.to_string(), u.to_string());
                }
                Some(want) if want != u => {
                    ignored
                        .entry(l.key.to_string())
                        .or_default()
                        .insert(u.to_string());
                }
                Some(_) => {}
            }
        }
    }
    for k in keys {
        if units.get(k).is_none_or(|u| u.is_empty()) {
            let u = match k {
                "alignment" | "request" => "bytes",
                other => other,
            };
            units.insert(k.to_string(), u.to_string());
        }
    }
    let ignored = ignored
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect();
    (units, ignored)
}

/// pprof's `Copy` (and the driver's `profileCopier`), which round-trips the
/// profile through profile.proto. The round trip is not the identity: label
/// keys come back sorted, string labels with an empty value and numeric
/// labels that are 0 with no unit vanish, an empty unit becomes "no unit",
/// the period type becomes present, and `[kernel.kallsyms]` mappings get
/// their relocation symbol. This reproduces those effects without encoding.
pub fn copy_profile(p: &Profile) -> Profile {
    let mut q = p.clone();
    roundtrip_normalize(&mut q);
    q
}

/// The in-place form of [`copy_profile`].
pub fn roundtrip_normalize(p: &mut Profile) {
    // Samples shared with another profile are copied only if one changes.
    let changes = |s: &crate::model::Sample| {
        s.labels.iter().any(|l| l.value.is_empty())
            || !s.labels.is_sorted_by(|a, b| a.key <= b.key)
            || s.num_labels
                .iter()
                .any(|l| l.unit.as_deref() == Some("") || (l.value == 0 && l.unit.is_none()))
            || !s.num_labels.is_sorted_by(|a, b| a.key <= b.key)
    };
    if !p.samples.iter().any(changes) {
        return normalize_tables(p);
    }
    for s in &mut p.samples {
        if !s.labels.is_empty() {
            s.labels.retain(|l| !l.value.is_empty());
            s.labels.sort_by(|a, b| a.key.cmp(&b.key));
        }
        if !s.num_labels.is_empty() {
            for l in &mut s.num_labels {
                if l.unit.as_deref() == Some("") {
                    l.unit = None;
                }
            }
            s.num_labels.retain(|l| l.value != 0 || l.unit.is_some());
            s.num_labels.sort_by(|a, b| a.key.cmp(&b.key));
        }
    }
    normalize_tables(p);
}

/// What [`roundtrip_normalize`] changes outside the samples.
fn normalize_tables(p: &mut Profile) {
    if p.period_type.is_none() {
        p.period_type = Some(Default::default());
    }
    const KERNEL: &str = "[kernel.kallsyms]";
    for m in &mut p.mappings {
        if let Some(rest) = m.file.strip_prefix(KERNEL) {
            m.kernel_relocation_symbol = rest.to_string();
        }
    }
}
