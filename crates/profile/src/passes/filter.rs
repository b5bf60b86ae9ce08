//! pprof's sample filters (filter.go): focus/ignore/hide/show, show_from,
//! tag filters and tag visibility. Regexes match unanchored, as Go's
//! `MatchString`.
use super::hash::{FxMap, map_with_capacity};
use crate::model::{Function, LabelStr, Line, Location, Mapping, Profile, Sample};
use regex::Regex;

fn line_matches(p: &Profile, ln: &Line, re: &Regex) -> bool {
    line_matches_fn(&p.functions, ln, re)
}

fn line_matches_fn(funcs: &[Function], ln: &Line, re: &Regex) -> bool {
    match ln.function {
        Some(f) => {
            let f = &funcs[f as usize];
            re.is_match(&f.name) || re.is_match(&f.filename)
        }
        None => false,
    }
}

fn mapping_of<'a>(mappings: &'a [Mapping], l: &Location) -> Option<&'a Mapping> {
    l.mapping.map(|m| &mappings[m as usize])
}

/// pprof's `Location.matchesName`: any line's function name or file name,
/// or the mapping's file.
fn matches_name(p: &Profile, l: &Location, re: &Regex) -> bool {
    l.lines.iter().any(|ln| line_matches(p, ln, re))
        || mapping_of(&p.mappings, l).is_some_and(|m| re.is_match(&m.file))
}

/// pprof's `FilterSamplesByName`. Returns (focus matched, ignore matched,
/// hide matched, show matched). Hide and show act on each inline line of a
/// location separately; a location left with no lines leaves the stacks.
pub fn filter_samples_by_name(
    p: &mut Profile,
    focus: Option<&Regex>,
    ignore: Option<&Regex>,
    hide: Option<&Regex>,
    show: Option<&Regex>,
) -> (bool, bool, bool, bool) {
    let (mut fm, mut im, mut hm, mut hnm) = (false, false, false, false);
    if focus.is_none() && ignore.is_none() && hide.is_none() && show.is_none() {
        return (true, im, hm, hnm);
    }
    // Per location: Some(true) focused, Some(false) ignored.
    let mut focus_or_ignore: Vec<Option<bool>> = vec![None; p.locations.len()];
    let mut hidden = vec![false; p.locations.len()];
    let mut any_hidden = false;
    for li in 0..p.locations.len() {
        let l = &p.locations[li];
        focus_or_ignore[li] = focus_or_ignore_of(p, l, focus, ignore);
        match focus_or_ignore[li] {
            Some(false) => im = true,
            Some(true) => fm = true,
            None => {}
        }
        if let Some(re) = hide
            && matches_name(p, l, re)
        {
            hm = true;
            let lines = if mapping_of(&p.mappings, l).is_some_and(|m| re.is_match(&m.file)) {
                Vec::new()
            } else {
                l.lines
                    .iter()
                    .filter(|ln| !line_matches(p, ln, re))
                    .cloned()
                    .collect()
            };
            if lines.is_empty() {
                hidden[li] = true;
                any_hidden = true;
            }
            p.locations[li].lines = lines;
        }
        if let Some(re) = show {
            let l = &p.locations[li];
            if !mapping_of(&p.mappings, l).is_some_and(|m| re.is_match(&m.file)) {
                // Lines without a function are kept, as in pprof.
                let lines: Vec<Line> = l
                    .lines
                    .iter()
                    .filter(|ln| ln.function.is_none() || line_matches(p, ln, re))
                    .cloned()
                    .collect();
                p.locations[li].lines = lines;
            }
            if p.locations[li].lines.is_empty() {
                hidden[li] = true;
                any_hidden = true;
            } else {
                hnm = true;
            }
        }
    }
    // Samples shared with another copy of the profile are copied on the
    // first write: a filter that keeps every sample as it is (a focus on a
    // function all stacks go through, an ignore that matches nothing)
    // leaves them shared.
    let changes = any_hidden
        || p.samples
            .iter()
            .any(|s| !focused_and_not_ignored(&s.locations, &focus_or_ignore));
    if !changes {
        return (fm, im, hm, hnm);
    }
    p.samples.retain_mut(|s| {
        if !focused_and_not_ignored(&s.locations, &focus_or_ignore) {
            return false;
        }
        if any_hidden {
            s.locations.retain(|&l| !hidden[l as usize]);
            if s.locations.is_empty() {
                return false;
            }
        }
        true
    });
    (fm, im, hm, hnm)
}

/// A location's verdict under focus and ignore: `Some(false)` ignored,
/// `Some(true)` focused (every location when there is no focus).
fn focus_or_ignore_of(
    p: &Profile,
    l: &Location,
    focus: Option<&Regex>,
    ignore: Option<&Regex>,
) -> Option<bool> {
    if ignore.is_some_and(|re| matches_name(p, l, re)) {
        Some(false)
    } else if focus.is_none_or(|re| matches_name(p, l, re)) {
        Some(true)
    } else {
        None
    }
}

/// The samples that [`filter_samples_by_name`] keeps for `focus` and
/// `ignore` (hide and show drop only samples left without frames), decided
/// without changing the profile: a caller about to copy a large profile
/// only to filter it copies these alone. `None` without either regexp.
pub fn samples_kept_by_name(
    p: &Profile,
    focus: Option<&Regex>,
    ignore: Option<&Regex>,
) -> Option<Vec<bool>> {
    let verdicts = location_verdicts(p, focus, ignore)?;
    Some(samples_kept_by_verdicts(p, &verdicts))
}

/// The samples that [`location_verdicts`]' `verdicts` keep, one flag per
/// sample, deciding frame by frame.
pub fn samples_kept_by_verdicts(p: &Profile, verdicts: &[Option<bool>]) -> Vec<bool> {
    p.samples
        .iter()
        .map(|s| focused_and_not_ignored(&s.locations, verdicts))
        .collect()
}

/// What each location says about the samples through it under `focus` and
/// `ignore`: `Some(false)` drops them (ignore matches), `Some(true)` lets
/// them be kept (focus matches, or there is no focus), `None` neither. A
/// sample is kept when no location drops it and one lets it be kept.
/// `None` without either regexp.
pub fn location_verdicts(
    p: &Profile,
    focus: Option<&Regex>,
    ignore: Option<&Regex>,
) -> Option<Vec<Option<bool>>> {
    if focus.is_none() && ignore.is_none() {
        return None;
    }
    Some(
        p.locations
            .iter()
            .map(|l| focus_or_ignore_of(p, l, focus, ignore))
            .collect(),
    )
}

fn focused_and_not_ignored(locs: &[u32], m: &[Option<bool>]) -> bool {
    let mut f = false;
    for &l in locs {
        match m[l as usize] {
            Some(true) => f = true,
            Some(false) => return false,
            None => {}
        }
    }
    f
}

/// pprof's `ShowFrom`: cut every stack above its root-most frame matching
/// `re` (function name, file name or mapping file); drop samples with none.
/// Within a matching location, the callers above the last matching inline
/// line go too. Returns whether any location matched.
pub fn show_from(p: &mut Profile, re: &Regex) -> bool {
    let mut matched = false;
    let mut show = vec![false; p.locations.len()];
    let (funcs, mappings) = (&p.functions, &p.mappings);
    for (l, shown) in p.locations.iter_mut().zip(show.iter_mut()) {
        let hit = if mapping_of(mappings, l).is_some_and(|m| re.is_match(&m.file)) {
            true
        } else if let Some(i) = l
            .lines
            .iter()
            .rposition(|ln| line_matches_fn(funcs, ln, re))
        {
            l.lines.truncate(i + 1);
            true
        } else {
            false
        };
        if hit {
            *shown = true;
            matched = true;
        }
    }
    p.samples.retain_mut(
        |s| match s.locations.iter().rposition(|&l| show[l as usize]) {
            Some(i) => {
                s.locations.truncate(i + 1);
                true
            }
            None => false,
        },
    );
    matched
}

/// pprof's `FilterTagsByName`: drop label keys (string and numeric) that
/// `show` does not match or `hide` matches. Returns (show matched, hide
/// matched) over all keys seen.
pub fn filter_tags_by_name(
    p: &mut Profile,
    show: Option<&Regex>,
    hide: Option<&Regex>,
) -> (bool, bool) {
    let (mut sm, mut hm) = (false, false);
    // Keys repeat across samples: match each distinct key once.
    let mut cache: FxMap<LabelStr, bool> = map_with_capacity(16);
    let mut remove = |name: &LabelStr| -> bool {
        if let Some(&r) = cache.get(name) {
            return r;
        }
        let match_show = show.is_none_or(|re| re.is_match(name));
        let match_hide = hide.is_some_and(|re| re.is_match(name));
        sm |= match_show;
        hm |= match_hide;
        let r = !match_show || match_hide;
        cache.insert(name.clone(), r);
        r
    };
    for s in &mut p.samples {
        s.labels.retain(|l| !remove(&l.key));
        s.num_labels.retain(|l| !remove(&l.key));
    }
    (sm, hm)
}

/// pprof's `FilterSamplesByTag`: keep samples that `focus` accepts and
/// `ignore` rejects. Pass `|_| true` / `|_| false` for an absent filter.
/// Returns (focus matched, ignore matched) over all samples.
pub fn filter_samples_by_tag(
    p: &mut Profile,
    focus: impl Fn(&Sample) -> bool,
    ignore: impl Fn(&Sample) -> bool,
) -> (bool, bool) {
    let (mut fm, mut im) = (false, false);
    p.samples.retain(|s| {
        let focused = focus(s);
        let ignored = ignore(s);
        fm |= focused;
        im |= ignored;
        focused && !ignored
    });
    (fm, im)
}
