//! pprof's `driver_focus.go`: compiles the sample filters
//! (focus/ignore/hide/show/show_from/prune_from regexes and
//! tagfocus/tagignore string or numeric-range filters). The passes that
//! apply them live in the profile crate.

use std::collections::HashMap;
use std::sync::OnceLock;

use profile::Sample;
use regex::Regex;

use crate::measurement;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FocusError {
    /// pprof: `parsing <option> regexp: <error>` (the regex engine's message
    /// differs from Go's).
    #[error("parsing {name} regexp: {message}")]
    Regex { name: String, message: String },
    /// Go's strconv fails (pprof panics) on out-of-range numbers.
    #[error("failed to parse int {0}: value out of range")]
    Int(String),
}

pub type TagFilter = Box<dyn Fn(&Sample) -> bool + Send + Sync>;
pub type NumFilter = Box<dyn Fn(i64, &str) -> bool + Send + Sync>;

/// The filter options as given by the user (empty = unset).
#[derive(Clone, Debug, Default)]
pub struct FocusOptions {
    pub focus: String,
    pub ignore: String,
    pub hide: String,
    pub show: String,
    pub show_from: String,
    pub tag_focus: String,
    pub tag_ignore: String,
    pub tag_show: String,
    pub tag_hide: String,
    pub prune_from: String,
}

/// The compiled filters, applied in pprof's order: focus/ignore/hide/show,
/// show_from, tagfocus/tagignore, tagshow/taghide, prune_from.
#[derive(Default)]
pub struct Compiled {
    pub focus: Option<Regex>,
    pub ignore: Option<Regex>,
    pub hide: Option<Regex>,
    pub show: Option<Regex>,
    pub show_from: Option<Regex>,
    pub tag_focus: Option<TagFilter>,
    pub tag_ignore: Option<TagFilter>,
    pub tag_show: Option<Regex>,
    pub tag_hide: Option<Regex>,
    pub prune_from: Option<Regex>,
    /// Lines pprof prints on stderr while compiling (range notices).
    pub notices: Vec<String>,
}

/// Compiles all filters, failing on the first bad one in pprof's order.
pub fn compile(
    o: &FocusOptions,
    num_label_units: &HashMap<String, String>,
) -> Result<Compiled, FocusError> {
    let mut c = Compiled {
        focus: compile_regex_option("focus", &o.focus)?,
        ignore: compile_regex_option("ignore", &o.ignore)?,
        hide: compile_regex_option("hide", &o.hide)?,
        show: compile_regex_option("show", &o.show)?,
        show_from: compile_regex_option("show_from", &o.show_from)?,
        ..Default::default()
    };
    c.tag_focus = compile_tag_filter("tagfocus", &o.tag_focus, num_label_units, &mut c.notices)?;
    c.tag_ignore = compile_tag_filter("tagignore", &o.tag_ignore, num_label_units, &mut c.notices)?;
    c.prune_from = compile_regex_option("prune_from", &o.prune_from)?;
    c.tag_show = compile_regex_option("tagshow", &o.tag_show)?;
    c.tag_hide = compile_regex_option("taghide", &o.tag_hide)?;
    Ok(c)
}

/// `compileRegexOption`: None for an empty value.
pub fn compile_regex_option(name: &str, value: &str) -> Result<Option<Regex>, FocusError> {
    if value.is_empty() {
        return Ok(None);
    }
    Regex::new(value).map(Some).map_err(|e| FocusError::Regex {
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// pprof's warning when a filter matched nothing (`warnNoMatches`).
pub fn no_match_warning(option: &str) -> String {
    format!("{option} expression matched no samples")
}

/// `compileTagFilter`: `[key=]value`, where value is a numeric range
/// (`64kb`, `1kb:`, `:64kb`, `1kb:4kb`) or comma-separated regexes matched
/// against `key:value` (or against the values of `key`).
pub fn compile_tag_filter(
    name: &str,
    value: &str,
    num_label_units: &HashMap<String, String>,
    notices: &mut Vec<String>,
) -> Result<Option<TagFilter>, FocusError> {
    if value.is_empty() {
        return Ok(None);
    }
    let (want_key, value) = match value.split_once('=') {
        Some((k, v)) => (Some(k.to_string()), v),
        None => (None, value),
    };
    if let Some(num) = parse_tag_filter_range(value)? {
        notices.push(format!("{name}:Interpreted '{value}' as range, not regexp"));
        let units = num_label_units.clone();
        let unit_of = move |key: &str| units.get(key).cloned().unwrap_or_default();
        return Ok(Some(match want_key {
            None => Box::new(move |s: &Sample| {
                s.num_labels.iter().any(|l| num(l.value, &unit_of(&l.key)))
            }),
            Some(key) => Box::new(move |s: &Sample| {
                let unit = unit_of(&key);
                s.num_label_values(&key).any(|v| num(v, &unit))
            }),
        }));
    }
    let mut rfx = Vec::new();
    for tagf in value.split(',') {
        rfx.push(Regex::new(tagf).map_err(|e| FocusError::Regex {
            name: name.to_string(),
            message: e.to_string(),
        })?);
    }
    Ok(Some(match want_key {
        None => Box::new(move |s: &Sample| {
            rfx.iter().all(|rx| {
                s.labels
                    .iter()
                    .any(|l| rx.is_match(&format!("{}:{}", l.key, l.value)))
            })
        }),
        Some(key) => Box::new(move |s: &Sample| {
            rfx.iter()
                .any(|rx| s.label_values(&key).any(|v| rx.is_match(v)))
        }),
    }))
}

fn range_rx() -> &'static Regex {
    static RX: OnceLock<Regex> = OnceLock::new();
    RX.get_or_init(|| Regex::new("([+-]?[0-9]+)([A-Za-z]+)?").expect("valid regex"))
}

/// `parseTagFilterRange`: None when `filter` is not a numeric range.
pub fn parse_tag_filter_range(filter: &str) -> Result<Option<NumFilter>, FocusError> {
    let ranges: Vec<(String, String, String)> = range_rx()
        .captures_iter(filter)
        .take(2)
        .map(|c| {
            (
                c[0].to_string(),
                c[1].to_string(),
                c.get(2).map(|m| m.as_str().to_string()).unwrap_or_default(),
            )
        })
        .collect();
    if ranges.is_empty() {
        return Ok(None);
    }
    let parse = |s: &str| s.parse::<i64>().map_err(|_| FocusError::Int(s.to_string()));
    let v = parse(&ranges[0].1)?;
    let (scaled, unit) = measurement::scale(v, &ranges[0].2, &ranges[0].2);
    let matches_unit = {
        let unit = unit.clone();
        move |v: i64, u: &str| {
            let (sv, su) = measurement::scale(v, u, &unit);
            (su == unit).then_some(sv)
        }
    };
    if ranges.len() == 1 {
        let m = &ranges[0].0;
        let f: NumFilter = if filter == m {
            Box::new(move |v, u| matches_unit(v, u) == Some(scaled))
        } else if filter == format!("{m}:") {
            Box::new(move |v, u| matches_unit(v, u).is_some_and(|sv| sv >= scaled))
        } else if filter == format!(":{m}") {
            Box::new(move |v, u| matches_unit(v, u).is_some_and(|sv| sv <= scaled))
        } else {
            return Ok(None);
        };
        return Ok(Some(f));
    }
    if filter != format!("{}:{}", ranges[0].0, ranges[1].0) {
        return Ok(None);
    }
    let v2 = parse(&ranges[1].1)?;
    let (scaled2, unit2) = measurement::scale(v2, &ranges[1].2, &unit);
    if unit != unit2 {
        return Ok(None);
    }
    Ok(Some(Box::new(move |v, u| {
        matches_unit(v, u).is_some_and(|sv| sv >= scaled && sv <= scaled2)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use profile::{Label, NumLabel};

    fn sample(labels: &[(&str, &str)], nums: &[(&str, i64)]) -> Sample {
        Sample {
            labels: labels
                .iter()
                .map(|(k, v)| Label {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
            num_labels: nums
                .iter()
                .map(|(k, v)| NumLabel {
                    key: (*k).into(),
                    value: *v,
                    unit: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn units() -> HashMap<String, String> {
        HashMap::from([("bytes".to_string(), "bytes".to_string())])
    }

    // Cases ported from pprof's TestTagFilter / parseTagFilterRange tests.
    #[test]
    fn numeric_ranges() {
        let s1k = sample(&[], &[("bytes", 1024)]);
        let s64k = sample(&[], &[("bytes", 65536)]);
        let s512 = sample(&[], &[("bytes", 512)]);
        let check = |filter: &str, s: &Sample| {
            let mut n = Vec::new();
            let f = compile_tag_filter("tagfocus", filter, &units(), &mut n)
                .unwrap()
                .unwrap();
            f(s)
        };
        assert!(check("1kb", &s1k));
        assert!(!check("1kb", &s64k));
        assert!(check("1kb:", &s64k));
        assert!(!check("1kb:", &s512));
        assert!(check(":64kb", &s1k));
        assert!(!check(":1kb", &s64k));
        assert!(check("1kb:64kb", &s64k));
        assert!(!check("2kb:63kb", &s64k));
        assert!(check("bytes=512b:1kb", &s512));
        assert!(!check("other=512b:1kb", &s512));
        assert!(!check("512", &s512), "unitless value vs bytes unit");
        let mut n = Vec::new();
        compile_tag_filter("tagfocus", "1kb:", &units(), &mut n).unwrap();
        assert_eq!(n, vec!["tagfocus:Interpreted '1kb:' as range, not regexp"]);
        // Mixed units do not form a range.
        assert!(parse_tag_filter_range("1kb:1s").unwrap().is_none());
        assert!(parse_tag_filter_range("1kb-2kb").unwrap().is_none());
        assert!(parse_tag_filter_range("abc").unwrap().is_none());
    }

    #[test]
    fn string_tags() {
        let s = sample(&[("worker", "a"), ("op", "read")], &[]);
        let mut n = Vec::new();
        let f = |v: &str, n: &mut Vec<String>| {
            compile_tag_filter("tagfocus", v, &units(), n)
                .unwrap()
                .unwrap()
        };
        assert!(f("worker:a", &mut n)(&s));
        assert!(f("worker:a,op:read", &mut n)(&s));
        assert!(!f("worker:a,op:write", &mut n)(&s));
        assert!(f("worker=b,a", &mut n)(&s));
        assert!(!f("op=^write$", &mut n)(&s));
        assert!(n.is_empty());
    }

    #[test]
    fn regex_errors() {
        let e = compile_regex_option("focus", "main.(").unwrap_err();
        assert!(e.to_string().starts_with("parsing focus regexp: "));
        assert!(compile_regex_option("focus", "").unwrap().is_none());
        let o = FocusOptions {
            ignore: "(".into(),
            ..Default::default()
        };
        let e = compile(&o, &units()).err().unwrap();
        assert!(e.to_string().starts_with("parsing ignore regexp: "));
    }
}
