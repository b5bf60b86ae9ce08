//! pprof's `-tagroot` / `-tagleaf` (internal/driver/tagroot.go): label
//! values become pseudo-frames above the root or below the leaf.
use crate::model::{Function, Line, Location, Profile, Sample, mem_index};
use std::collections::HashMap;

/// pprof's `addLabelNodes`. Each sample gets, for every key, one location
/// whose function is named by the sample's values for that key joined with
/// "," (string values first, then numeric ones through
/// `format_num(value, unit)`) and
/// whose file is the key. The first root key ends up root-most, the first
/// leaf key leaf-most. New functions and locations get ids after the
/// current maximum, in the order they are first needed.
///
/// `unit` is `None` when the sample's values for the key carry no units at
/// all: pprof then formats with `measurement.ScaledLabel(v, "", "")`, and
/// otherwise with `ScaledLabel(v, unit, outputUnit)`, where a value without
/// a unit among values with units reads as `Some("")` (that difference shows
/// with an explicit `-unit`, which pprof appends to unit-less values).
///
/// Returns whether any sample had a value for a root key, and for a leaf key.
pub fn add_label_nodes(
    p: &mut Profile,
    root_keys: &[&str],
    leaf_keys: &[&str],
    format_num: impl Fn(i64, Option<&str>) -> String,
) -> (bool, bool) {
    let mut next_loc = p
        .locations
        .iter()
        .map(|l| l.id)
        .max()
        .unwrap_or(0)
        .wrapping_add(1);
    let mut next_func = p
        .functions
        .iter()
        .map(|f| f.id)
        .max()
        .unwrap_or(0)
        .wrapping_add(1);
    // Keyed by label key, then by joined values: lookups borrow both.
    let mut interned: HashMap<String, HashMap<String, u32>> = HashMap::new();
    let (mut rootm, mut leafm) = (false, false);

    let mut samples = std::mem::take(&mut p.samples);
    for s in &mut samples {
        let mut make = |keys: &[&str]| -> (Vec<u32>, bool) {
            let mut locs = Vec::with_capacity(keys.len());
            let mut matched = false;
            for k in keys.iter().rev() {
                let values = label_values(s, k, &format_num);
                matched |= !values.is_empty();
                let name = values.join(",");
                let idx = match interned.get(*k).and_then(|m| m.get(&name)) {
                    Some(&i) => i,
                    None => {
                        p.functions.push(Function {
                            id: next_func,
                            name: name.clone(),
                            filename: (*k).to_string(),
                            ..Default::default()
                        });
                        next_func = next_func.wrapping_add(1);
                        let i = mem_index(p.locations.len());
                        p.locations.push(Location {
                            id: next_loc,
                            lines: vec![Line {
                                function: Some(mem_index(p.functions.len() - 1)),
                                line: 0,
                                column: 0,
                            }],
                            ..Default::default()
                        });
                        next_loc = next_loc.wrapping_add(1);
                        interned
                            .entry((*k).to_string())
                            .or_default()
                            .insert(name, i);
                        i
                    }
                };
                locs.push(idx);
            }
            (locs, matched)
        };
        let (roots, rm) = make(root_keys);
        rootm |= rm;
        let (leaves, lm) = make(leaf_keys);
        leafm |= lm;
        if roots.is_empty() && leaves.is_empty() {
            continue;
        }
        let mut locs = leaves;
        locs.extend_from_slice(&s.locations);
        locs.extend_from_slice(&roots);
        s.locations = locs;
    }
    p.samples = samples;
    (rootm, leafm)
}

/// pprof's `formatLabelValues`.
fn label_values(
    s: &Sample,
    key: &str,
    format_num: &impl Fn(i64, Option<&str>) -> String,
) -> Vec<String> {
    let mut values: Vec<String> = s.label_values(key).map(str::to_string).collect();
    let nums: Vec<_> = s.num_labels.iter().filter(|l| *l.key == *key).collect();
    // pprof's units list is empty or one per value; "no unit" in a list that
    // has units reads as "".
    let has_units = nums.iter().any(|l| l.unit.is_some());
    for l in nums {
        let unit = if has_units {
            Some(l.unit.as_deref().unwrap_or(""))
        } else {
            None
        };
        values.push(format_num(l.value, unit));
    }
    values
}
