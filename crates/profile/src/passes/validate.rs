//! pprof's `CheckValid`.
use crate::error::ParseError;
use crate::model::Profile;
use std::collections::HashSet;

fn invalid(msg: String) -> Result<(), ParseError> {
    Err(ParseError::Invalid(msg))
}

/// pprof's `CheckValid`: sample/type arity, reserved and duplicate ids, and
/// dangling references. pprof's nil-pointer checks become index-bounds checks
/// here; the messages are pprof's (pointer values, which pprof prints with
/// `%p`, are not reproducible and are left out).
pub fn check_valid(p: &Profile) -> Result<(), ParseError> {
    check_samples(p)?;
    check_tables(p)
}

/// The part of [`check_valid`] that reads the samples: their number of
/// values and their locations. Passes that only drop samples or frames
/// keep it true, so a caller that checked the samples may skip it.
pub fn check_samples(p: &Profile) -> Result<(), ParseError> {
    let sample_len = p.sample_types.len();
    if sample_len == 0 && !p.samples.is_empty() {
        return invalid("missing sample type information".into());
    }
    for s in &p.samples {
        if s.values.len() != sample_len {
            return invalid(format!(
                "mismatch: sample has {} values vs. {} types",
                s.values.len(),
                sample_len
            ));
        }
        // The maximum vectorizes; `any` would not.
        if s.locations
            .iter()
            .copied()
            .max()
            .is_some_and(|l| l as usize >= p.locations.len())
        {
            return invalid("sample has nil location".into());
        }
    }
    Ok(())
}

/// The part of [`check_valid`] that reads the mappings, functions and
/// locations.
pub fn check_tables(p: &Profile) -> Result<(), ParseError> {
    let mut seen = HashSet::with_capacity(p.mappings.len());
    for m in &p.mappings {
        if m.id == 0 {
            return invalid("found mapping with reserved ID=0".into());
        }
        if !seen.insert(m.id) {
            return invalid(format!("multiple mappings with same id: {}", m.id));
        }
    }
    seen.clear();
    for f in &p.functions {
        if f.id == 0 {
            return invalid("found function with reserved ID=0".into());
        }
        if !seen.insert(f.id) {
            return invalid(format!("multiple functions with same id: {}", f.id));
        }
    }
    seen.clear();
    for l in &p.locations {
        if l.id == 0 {
            return invalid("found location with reserved id=0".into());
        }
        if !seen.insert(l.id) {
            return invalid(format!("multiple locations with same id: {}", l.id));
        }
        if let Some(m) = l.mapping
            && m as usize >= p.mappings.len()
        {
            return invalid(format!("inconsistent mapping: {m}"));
        }
        for ln in &l.lines {
            match ln.function {
                None => {
                    return invalid(format!(
                        "location id: {} has a line with nil function",
                        l.id
                    ));
                }
                Some(f) if f as usize >= p.functions.len() => {
                    return invalid(format!("inconsistent function: {f}"));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}
