//! pprof's measurement units (`internal/measurement`): unit aliases, scaling,
//! value labels and percentages.

use crate::gofmt;
use profile::{Profile, ValueType};

#[derive(Debug)]
pub struct Unit {
    pub canonical: &'static str,
    aliases: &'static [&'static str],
    pub factor: f64,
}

#[derive(Debug)]
pub struct UnitType {
    pub default_unit: Unit,
    pub units: &'static [Unit],
}

const fn u(canonical: &'static str, aliases: &'static [&'static str], factor: f64) -> Unit {
    Unit {
        canonical,
        aliases,
        factor,
    }
}

/// The unit families pprof knows, in its order (the order decides which
/// family claims an alias first).
pub static UNIT_TYPES: [UnitType; 3] = [
    UnitType {
        units: &[
            u("B", &["b", "byte"], 1.0),
            u("kB", &["kb", "kbyte", "kilobyte"], 1024.0),
            u("MB", &["mb", "mbyte", "megabyte"], 1048576.0),
            u("GB", &["gb", "gbyte", "gigabyte"], 1073741824.0),
            u("TB", &["tb", "tbyte", "terabyte"], 1099511627776.0),
            u("PB", &["pb", "pbyte", "petabyte"], 1125899906842624.0),
        ],
        default_unit: u("B", &["b", "byte"], 1.0),
    },
    UnitType {
        units: &[
            u("ns", &["ns", "nanosecond"], 1.0),
            u("us", &["μs", "us", "microsecond"], 1e3),
            u("ms", &["ms", "millisecond"], 1e6),
            u("s", &["s", "sec", "second"], 1e9),
            u("hrs", &["hour", "hr"], 3600e9),
        ],
        default_unit: u("s", &[], 1e9),
    },
    UnitType {
        units: &[
            u("n*GCU", &["nanogcu"], 1e-9),
            u("u*GCU", &["microgcu"], 1e-6),
            u("m*GCU", &["milligcu"], 1e-3),
            u("GCU", &["gcu"], 1.0),
            u("k*GCU", &["kilogcu"], 1e3),
            u("M*GCU", &["megagcu"], 1e6),
            u("G*GCU", &["gigagcu"], 1e9),
            u("T*GCU", &["teragcu"], 1e12),
            u("P*GCU", &["petagcu"], 1e15),
        ],
        default_unit: u("GCU", &[], 1.0),
    },
];

impl UnitType {
    fn find_by_alias(&self, alias: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.aliases.contains(&alias))
    }

    /// Lower-cases the name and drops a plural `s` (only from names longer
    /// than two bytes, so `ms`/`us` survive).
    fn sniff_unit(&self, unit: &str) -> Option<&Unit> {
        let lower = unit.to_lowercase();
        let name = if lower.len() > 2 {
            lower.strip_suffix('s').unwrap_or(&lower)
        } else {
            &lower
        };
        self.find_by_alias(name)
    }

    fn auto_scale(&self, value: f64) -> Option<(f64, &'static str)> {
        let mut f = 0.0;
        let mut unit = "";
        for u in self.units {
            if u.factor >= f && value / u.factor >= 1.0 {
                f = u.factor;
                unit = u.canonical;
            }
        }
        if f == 0.0 {
            None
        } else {
            Some((value / f, unit))
        }
    }

    fn convert_unit(&self, value: i64, from: &str, to: &str) -> Option<(f64, &'static str)> {
        let from_unit = self.sniff_unit(from)?;
        let v = value as f64 * from_unit.factor;
        if to == "minimum" || to == "auto" {
            if let Some(r) = self.auto_scale(v) {
                return Some(r);
            }
            return Some((v / self.default_unit.factor, self.default_unit.canonical));
        }
        match self.sniff_unit(to) {
            Some(t) => Some((v / t.factor, t.canonical)),
            None => Some((v / self.default_unit.factor, self.default_unit.canonical)),
        }
    }
}

/// Whether `unit` names a unit of a known family (pprof's `sniffUnit != nil`
/// over all families).
pub fn is_known_unit(unit: &str) -> bool {
    UNIT_TYPES.iter().any(|ut| ut.sniff_unit(unit).is_some())
}

/// Scales `value` from `from` to `to` (`minimum`/`auto` pick a unit per
/// value). The returned unit is empty when it is not worth printing.
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    // i64::MIN negates to itself, so it takes the positive path (as in Go).
    if value < 0 && value.wrapping_neg() > 0 {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for ut in &UNIT_TYPES {
        if let Some((v, u)) = ut.convert_unit(value, from, to) {
            return (v, u.to_string());
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        _ => (value as f64, to.to_string()),
    }
}

/// `measurement.Label`: the value with an automatically chosen unit.
pub fn label(value: i64, unit: &str) -> String {
    scaled_label(value, unit, "auto")
}

/// `measurement.ScaledLabel`.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, u) = scale(value, from, to);
    let s = gofmt::fmt_f(v, 2);
    let s = s.strip_suffix(".00").unwrap_or(&s);
    if s == "0" || s == "-0" {
        return "0".to_string();
    }
    format!("{s}{u}")
}

/// `measurement.Percentage`: at least two significant digits, 6 columns.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio.abs()) {
        "  100%".to_string()
    } else if ratio.abs() >= 1.0 {
        format!("{}%", gofmt::pad_left(&gofmt::fmt_f(ratio, 2), 5))
    } else {
        format!("{}%", gofmt::pad_left(&gofmt::fmt_g(ratio, Some(2)), 5))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MeasurementError {
    #[error("incompatible types: {{{} {}}} {{{} {}}}", .0.r#type, .0.unit, .1.r#type, .1.unit)]
    Incompatible(ValueType, ValueType),
    #[error("period type: {0}")]
    PeriodType(Box<MeasurementError>),
    #[error("sample types: {0}")]
    SampleTypes(Box<MeasurementError>),
    #[error("inconsistent samples type count: {0} != {1}")]
    SampleTypeCount(usize, usize),
}

fn compatible_value_types(v1: &ValueType, v2: &ValueType) -> bool {
    let t1 = v1.r#type.strip_suffix('s').unwrap_or(&v1.r#type);
    let t2 = v2.r#type.strip_suffix('s').unwrap_or(&v2.r#type);
    if t1 != t2 {
        return false;
    }
    if v1.unit == v2.unit {
        return true;
    }
    UNIT_TYPES
        .iter()
        .any(|ut| ut.sniff_unit(&v1.unit).is_some() && ut.sniff_unit(&v2.unit).is_some())
}

/// `measurement.CommonValueType`: the finest of compatible types (None for
/// fewer than two).
pub fn common_value_type(ts: &[&ValueType]) -> Result<Option<ValueType>, MeasurementError> {
    if ts.len() <= 1 {
        return Ok(None);
    }
    let mut min = ts[0];
    for &t in &ts[1..] {
        if !compatible_value_types(min, t) {
            return Err(MeasurementError::Incompatible(min.clone(), t.clone()));
        }
        if scale(1, &t.unit, &min.unit).0 < 1.0 {
            min = t;
        }
    }
    Ok(Some(min.clone()))
}

/// `measurement.ScaleProfiles`: converts every profile to the finest common
/// unit per sample type, so that they can be merged.
pub fn scale_profiles(profiles: &mut [Profile]) -> Result<(), MeasurementError> {
    if profiles.is_empty() {
        return Ok(());
    }
    let period_types: Vec<&ValueType> = profiles
        .iter()
        .filter_map(|p| p.period_type.as_ref())
        .collect();
    let period_type =
        common_value_type(&period_types).map_err(|e| MeasurementError::PeriodType(Box::new(e)))?;
    let n = profiles[0].sample_types.len();
    for p in &profiles[1..] {
        if p.sample_types.len() != n {
            return Err(MeasurementError::SampleTypeCount(n, p.sample_types.len()));
        }
    }
    let mut common = Vec::with_capacity(n);
    for i in 0..n {
        let ts: Vec<&ValueType> = profiles.iter().map(|p| &p.sample_types[i]).collect();
        common
            .push(common_value_type(&ts).map_err(|e| MeasurementError::SampleTypes(Box::new(e)))?);
    }
    for p in profiles.iter_mut() {
        if let (Some(pt), Some(common_pt)) = (p.period_type.as_mut(), period_type.as_ref()) {
            let (period, _) = scale(p.period, &pt.unit, &common_pt.unit);
            p.period = period as i64;
            pt.unit = common_pt.unit.clone();
        }
        let mut ratios = vec![1.0; p.sample_types.len()];
        for (i, st) in p.sample_types.iter_mut().enumerate() {
            if let Some(c) = &common[i] {
                ratios[i] = scale(1, &st.unit, &c.unit).0;
                st.unit = c.unit.clone();
            }
        }
        scale_n(p, &ratios);
    }
    Ok(())
}

/// `Profile.ScaleN`: multiplies each sample value by its ratio (truncating
/// toward zero, as Go's float→int conversion) and drops all-zero samples.
fn scale_n(p: &mut Profile, ratios: &[f64]) {
    if ratios.iter().all(|&r| r == 1.0) {
        return;
    }
    p.samples.retain_mut(|s| {
        let mut all_zero = true;
        for (v, &r) in s.values.iter_mut().zip(ratios) {
            if r != 1.0 {
                *v = (*v as f64 * r) as i64;
            }
            if *v != 0 {
                all_zero = false;
            }
        }
        !all_zero
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_pprof() {
        // Expected strings come from pprof's measurement.ScaledLabel.
        assert_eq!(label(0, "bytes"), "0");
        assert_eq!(label(16, "bytes"), "16B");
        assert_eq!(label(1536, "bytes"), "1.50kB");
        assert_eq!(label(8192, "bytes"), "8kB");
        assert_eq!(label(13117440, "bytes"), "12.51MB");
        assert_eq!(label(10_000_000, "nanoseconds"), "10ms");
        assert_eq!(label(16_488_000_000_000, "nanoseconds"), "4.58hrs");
        assert_eq!(label(1500, "microseconds"), "1.50ms");
        assert_eq!(label(7, "count"), "7");
        assert_eq!(label(7, "goroutine"), "7");
        assert_eq!(label(-1536, "bytes"), "-1.50kB");
        assert_eq!(scaled_label(10_000_000, "nanoseconds", "s"), "0.01s");
        assert_eq!(scaled_label(1_280_000_000, "nanoseconds", "ms"), "1280ms");
        assert_eq!(scaled_label(65536, "bytes", "MB"), "0.06MB");
        assert_eq!(scaled_label(1000, "bytes", "xyz"), "1000B");
        assert_eq!(scaled_label(1000, "widgets", "xyz"), "1000xyz");
        assert_eq!(scaled_label(1000, "widgets", "minimum"), "1000");
        assert_eq!(scaled_label(1, "bytes", "kb"), "0");
        assert_eq!(label(2500, "milligcu"), "2.50GCU");
        assert_eq!(label(0, "ns"), "0");
        // "μs" is 3 bytes long, so its final `s` is stripped and it is not found.
        assert_eq!(label(5, "μs"), "5");
    }

    #[test]
    fn scale_values() {
        assert_eq!(scale(2048, "bytes", "kilobytes"), (2.0, "kB".to_string()));
        assert_eq!(scale(3, "hours", "seconds"), (10800.0, "s".to_string()));
        assert_eq!(scale(3, "samples", "count"), (3.0, String::new()));
        assert_eq!(scale(-2048, "b", "auto"), (-2.0, "kB".to_string()));
        assert_eq!(scale(1, "sec", "ns"), (1e9, "ns".to_string()));
        assert_eq!(scale(i64::MIN, "count", "count").0, i64::MIN as f64);
    }

    #[test]
    fn percentages_match_pprof() {
        assert_eq!(percentage(1, 1), "  100%");
        assert_eq!(percentage(9995, 10000), "  100%");
        assert_eq!(percentage(953, 10000), " 9.53%");
        assert_eq!(percentage(8538, 10000), "85.38%");
        assert_eq!(percentage(86, 100000), "0.086%");
        assert_eq!(percentage(19, 10000), " 0.19%");
        assert_eq!(percentage(73, 10000000), "0.00073%");
        assert_eq!(percentage(0, 100), "    0%");
        assert_eq!(percentage(5, 0), "    0%");
        assert_eq!(percentage(1, 10000000), "1e-05%");
        assert_eq!(percentage(-5, 10), "50.00%");
        assert_eq!(percentage(221032358800, 1000000), "22103235.88%");
    }

    #[test]
    fn common_types() {
        let a = ValueType::new("cpu", "nanoseconds");
        let b = ValueType::new("cpu", "milliseconds");
        let c = ValueType::new("alloc", "bytes");
        assert_eq!(common_value_type(&[&b, &a]).unwrap(), Some(a.clone()));
        assert_eq!(common_value_type(&[&a]).unwrap(), None);
        let err = common_value_type(&[&a, &c]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "incompatible types: {cpu nanoseconds} {alloc bytes}"
        );
        assert!(compatible_value_types(
            &ValueType::new("samples", "count"),
            &ValueType::new("sample", "count")
        ));
    }

    #[test]
    fn scale_profiles_to_finest_unit() {
        let mut p1 = Profile {
            sample_types: vec![ValueType::new("cpu", "milliseconds")],
            period_type: Some(ValueType::new("cpu", "milliseconds")),
            period: 10,
            ..Default::default()
        };
        p1.samples.push(profile::Sample {
            values: vec![3],
            ..Default::default()
        });
        let p2 = Profile {
            sample_types: vec![ValueType::new("cpu", "nanoseconds")],
            period_type: Some(ValueType::new("cpu", "nanoseconds")),
            period: 1,
            ..Default::default()
        };
        let mut ps = vec![p1, p2];
        scale_profiles(&mut ps).unwrap();
        assert_eq!(ps[0].sample_types[0].unit, "nanoseconds");
        assert_eq!(ps[0].samples[0].values, vec![3_000_000]);
        assert_eq!(ps[0].period, 10_000_000);
        let mut bad = vec![
            ps[0].clone(),
            Profile {
                sample_types: vec![],
                ..Default::default()
            },
        ];
        assert_eq!(
            scale_profiles(&mut bad).unwrap_err().to_string(),
            "inconsistent samples type count: 1 != 0"
        );
    }
}
