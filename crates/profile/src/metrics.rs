//! Prometheus' text exposition format, as `/metrics` serves it (client_golang's
//! `promhttp`, text format 0.0.4, and OpenMetrics 1.0 text), read for the
//! few process gauges heapdrift uses: above all the resident set size,
//! `process_resident_memory_bytes`, which client_golang's process collector
//! exports by default. Go's MemStats only knows the memory Go itself asked
//! the OS for and the peak RSS; this is the current one.
//!
//! Strict where Prometheus is strict (a line it would reject is an error
//! naming the line), so that a page that is not an exposition (HTML, a
//! protobuf exposition) is an error rather than an empty set of metrics.

use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("metrics text, line {line}: {message}")]
pub struct MetricsError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// One sample line: `name{label="value",…} value [timestamp]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<'a> {
    pub name: Cow<'a, str>,
    pub labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub value: f64,
    /// Milliseconds since the epoch (text 0.0.4) or seconds (OpenMetrics),
    /// as written; heapdrift does not use it.
    pub timestamp: Option<f64>,
}

/// The samples of an exposition, in order, each `Err` naming its line.
/// Comments (`# HELP`, `# TYPE`, `# EOF`, any other `#` line) and blank
/// lines are skipped.
pub fn samples(text: &[u8]) -> impl Iterator<Item = Result<Sample<'_>, MetricsError>> {
    // Invalid UTF-8 is an error of the line that holds it.
    text.split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, raw)| {
            let err = |message: String| MetricsError {
                line: i + 1,
                message,
            };
            let line = match std::str::from_utf8(raw) {
                Ok(l) => l.strip_suffix('\r').unwrap_or(l),
                Err(_) => return Some(Err(err("not UTF-8".into()))),
            };
            let t = line.trim_start_matches([' ', '\t']);
            if t.is_empty() || t.starts_with('#') {
                return None;
            }
            Some(sample(t).map_err(err))
        })
}

/// The value of the first sample named `name` without labels, else of the
/// first one named `name` with any labels; `None` if there is none. Every
/// line is checked, so a page that is not an exposition is an error.
pub fn gauge(text: &[u8], name: &str) -> Result<Option<f64>, MetricsError> {
    let mut first = None;
    let mut unlabelled = None;
    for s in samples(text) {
        let s = s?;
        if s.name == name {
            if s.labels.is_empty() && unlabelled.is_none() {
                unlabelled = Some(s.value);
            }
            first.get_or_insert(s.value);
        }
    }
    Ok(unlabelled.or(first))
}

/// `process_resident_memory_bytes`, the process's current resident set
/// size. `None` when the exposition has none (or a value that is not a
/// byte count: negative, NaN, infinite).
pub fn resident_memory_bytes(text: &[u8]) -> Result<Option<u64>, MetricsError> {
    byte_gauge(text, "process_resident_memory_bytes")
}

/// A gauge that is a byte count: `None` when absent, negative, NaN or
/// infinite.
fn byte_gauge(text: &[u8], name: &str) -> Result<Option<u64>, MetricsError> {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "v is finite and in [0, 2^64) (filtered), and so is its rounding: exact"
    )]
    let round = |v: f64| v.round() as u64;
    Ok(gauge(text, name)?
        .filter(|v| v.is_finite() && *v >= 0.0 && *v < u64::MAX as f64)
        .map(round))
}

/// The process's resident memory as one reading gives it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resident {
    /// `process_resident_memory_bytes` (VmRSS): every resident page,
    /// file-backed ones (the binary, shared libraries) included.
    pub total: u64,
    /// Resident anonymous and shared memory (`RssAnon + RssShmem` of
    /// /proc/PID/status), when the reading has it: heapdrift's own /proc
    /// reading exports `heapdrift_process_rss_anon_bytes` and
    /// `heapdrift_process_rss_shmem_bytes`. All of Go's memory is
    /// anonymous, and, unlike file pages, none of it can be dropped by
    /// the kernel, so growth beyond Go's own is judged on this part.
    pub anonymous: Option<u64>,
}

/// [`resident_memory_bytes`] with its anonymous part, when present.
pub fn resident_memory(text: &[u8]) -> Result<Option<Resident>, MetricsError> {
    let Some(total) = resident_memory_bytes(text)? else {
        return Ok(None);
    };
    let anon = byte_gauge(text, "heapdrift_process_rss_anon_bytes")?;
    // Shared memory is anonymous too (memfd, MAP_SHARED|MAP_ANONYMOUS);
    // a reading without the gauge had none to report.
    let shmem = byte_gauge(text, "heapdrift_process_rss_shmem_bytes")?.unwrap_or(0);
    Ok(Some(Resident {
        total,
        anonymous: anon.map(|a| a.saturating_add(shmem)),
    }))
}

/// `process_start_time_seconds`: when the process started (Unix seconds);
/// a new value is a new process.
pub fn start_time_seconds(text: &[u8]) -> Result<Option<f64>, MetricsError> {
    Ok(gauge(text, "process_start_time_seconds")?.filter(|v| v.is_finite()))
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) at the start of `s`.
fn name(s: &str) -> Option<(&str, &str)> {
    let mut it = s.char_indices();
    match it.next() {
        Some((_, c)) if is_name_start(c) => {}
        _ => return None,
    }
    let end = it
        .find(|&(_, c)| !is_name_char(c))
        .map_or(s.len(), |(i, _)| i);
    Some((&s[..end], &s[end..]))
}

/// A double-quoted string at the start of `s` (the opening quote
/// included), unescaped: `\\`, `\"`, `\n`.
fn quoted(s: &str) -> Result<(Cow<'_, str>, &str), String> {
    let body = s.strip_prefix('"').ok_or("expected '\"'")?;
    let mut owned: Option<String> = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let value = match owned {
                    Some(o) => Cow::Owned(o),
                    None => Cow::Borrowed(&body[..i]),
                };
                return Ok((value, &body[i + 1..]));
            }
            '\\' => {
                let o = owned.get_or_insert_with(|| body[..i].to_string());
                match chars.next() {
                    Some((_, '\\')) => o.push('\\'),
                    Some((_, '"')) => o.push('"'),
                    Some((_, 'n')) => o.push('\n'),
                    Some((_, e)) => return Err(format!("invalid escape '\\{e}'")),
                    None => return Err("unterminated string".into()),
                }
            }
            c => {
                if let Some(o) = owned.as_mut() {
                    o.push(c);
                }
            }
        }
    }
    Err("unterminated string".into())
}

fn skip_blanks(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// A value as Prometheus writes it: a Go float (`1.5e+09`, `-0`, `NaN`,
/// `+Inf`, `-Inf`, case-insensitive special values).
fn number(s: &str) -> Result<f64, String> {
    let special = match s.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    };
    if let Some(v) = special {
        return Ok(v);
    }
    // Rust's parser also takes "infinity" and "nan" spelled out; those are
    // handled above, and anything else with letters other than an exponent
    // is not a Go float.
    let plain = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'));
    let v = if plain && !s.contains('_') {
        s.parse::<f64>().ok()
    } else {
        None
    };
    v.ok_or_else(|| format!("invalid value {s:?}"))
}

/// One non-comment, non-blank line.
fn sample(line: &str) -> Result<Sample<'_>, String> {
    let (name, mut rest, mut labels) = if line.starts_with('{') {
        // Prometheus 3's quoted names: `{"name.with.dots",label="v"} 1`.
        (None, line, Vec::new())
    } else {
        let (n, r) = name(line).ok_or_else(|| format!("invalid metric name in {line:?}"))?;
        (Some(Cow::Borrowed(n)), r, Vec::new())
    };
    let mut name = name;
    let mut value_part = rest;
    if let Some(r) = skip_blanks(rest).strip_prefix('{') {
        rest = skip_blanks(r);
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                // After the labels the blank before the value is optional.
                value_part = skip_blanks(r);
                break;
            }
            let (key, r) = if rest.starts_with('"') {
                let (q, r) = quoted(rest)?;
                let r = skip_blanks(r);
                if name.is_none() && !r.starts_with('=') {
                    // The quoted metric name itself.
                    name = Some(q);
                    rest = r;
                    if let Some(r) = rest.strip_prefix(',') {
                        rest = skip_blanks(r);
                    } else if !rest.starts_with('}') {
                        return Err("expected ',' or '}' after the name".into());
                    }
                    continue;
                }
                (q, r)
            } else {
                let (k, r) = name_of_label(rest)?;
                (Cow::Borrowed(k), r)
            };
            let r = skip_blanks(r)
                .strip_prefix('=')
                .ok_or_else(|| format!("expected '=' after label {key:?}"))?;
            let (value, r) = quoted(skip_blanks(r))?;
            labels.push((key, value));
            rest = skip_blanks(r);
            if let Some(r) = rest.strip_prefix(',') {
                rest = skip_blanks(r);
            } else if !rest.starts_with('}') {
                return Err("expected ',' or '}' in the labels".into());
            }
        }
    }
    let name = name.ok_or("no metric name")?;
    if value_part == rest && !rest.starts_with([' ', '\t']) {
        return Err(format!("expected a value after {name:?}"));
    }
    // An OpenMetrics exemplar follows a `#`.
    let value_part = value_part.split_once('#').map_or(value_part, |(v, _)| v);
    let mut fields = value_part.split([' ', '\t']).filter(|f| !f.is_empty());
    let value = number(fields.next().ok_or("no value")?)?;
    let timestamp = fields.next().map(number).transpose()?;
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected {extra:?} after the value"));
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp,
    })
}

/// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn name_of_label(s: &str) -> Result<(&str, &str), String> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    if end == 0 {
        return Err(format!(
            "invalid label name at {:?}",
            s.chars().take(20).collect::<String>()
        ));
    }
    Ok((&s[..end], &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of what client_golang 1.x's default registry serves.
    const CLIENT_GOLANG: &str = "# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile=\"0\"} 2.3781e-05
go_gc_duration_seconds{quantile=\"1\"} 0.000172452
go_gc_duration_seconds_sum 0.001184536
go_gc_duration_seconds_count 12
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 41
# HELP go_info Information about the Go environment.
# TYPE go_info gauge
go_info{version=\"go1.27.3\"} 1
# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.0199040e+07
# HELP http_request_duration_seconds_bucket x
http_request_duration_seconds_bucket{code=\"200\",le=\"+Inf\"} 1234
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 3.4181120e+07
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.79571264512e+09
# HELP process_virtual_memory_max_bytes Maximum amount of virtual memory available in bytes.
# TYPE process_virtual_memory_max_bytes gauge
process_virtual_memory_max_bytes 1.8446744073709552e+19
";

    #[test]
    fn heapdrift_proc_reading_has_the_anonymous_part() {
        let text = "process_resident_memory_bytes 10084352\n\
                    heapdrift_process_rss_anon_bytes 1740800\n\
                    heapdrift_process_rss_file_bytes 8343552\n\
                    heapdrift_process_rss_shmem_bytes 4096\n";
        assert_eq!(
            resident_memory(text.as_bytes()),
            Ok(Some(Resident {
                total: 10_084_352,
                anonymous: Some(1_744_896),
            }))
        );
        // client_golang's collector has only the total.
        assert_eq!(
            resident_memory(CLIENT_GOLANG.as_bytes()),
            Ok(Some(Resident {
                total: 34_181_120,
                anonymous: None,
            }))
        );
        assert_eq!(resident_memory(b"go_goroutines 3\n"), Ok(None));
    }

    #[test]
    fn client_golang_exposition() {
        let b = CLIENT_GOLANG.as_bytes();
        assert_eq!(resident_memory_bytes(b), Ok(Some(34_181_120)));
        assert_eq!(start_time_seconds(b), Ok(Some(1_795_712_645.12)));
        assert_eq!(gauge(b, "go_goroutines"), Ok(Some(41.0)));
        assert_eq!(
            gauge(b, "go_memstats_heap_inuse_bytes"),
            Ok(Some(10_199_040.0))
        );
        assert_eq!(gauge(b, "go_info"), Ok(Some(1.0)));
        assert_eq!(gauge(b, "absent"), Ok(None));
        let all: Vec<Sample> = samples(b).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 11);
        let inf = all.iter().find(|s| s.name.ends_with("_bucket")).unwrap();
        assert_eq!(
            inf.labels,
            vec![
                (Cow::Borrowed("code"), Cow::Borrowed("200")),
                (Cow::Borrowed("le"), Cow::Borrowed("+Inf"))
            ]
        );
        assert_eq!(
            all.last().unwrap().value,
            18_446_744_073_709_552_000.0,
            "exponent past u64"
        );
    }

    #[test]
    fn labels_escapes_timestamps_and_special_values() {
        let text = "m{a=\"x,y} z\",b=\"q\\\"uo\\\\te\\nd\",} 1 1700000000000\n\
                    m_inf +Inf\nm_ninf -Inf\nm_nan NaN\n\
                    m_sp  \t {  a = \"1\" , b=\"2\"  }   -1.5E-3   \r\n\
                    {\"dotted.name\",le=\"0.5\"} 7\n\
                    {\"only.name\"} 8\n\
                    om_total 3 # {trace_id=\"abc\"} 1.0\n\
                    # EOF\n";
        let all: Vec<Sample> = samples(text.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(all[0].labels[0].1, "x,y} z");
        assert_eq!(all[0].labels[1].1, "q\"uo\\te\nd");
        assert_eq!(all[0].timestamp, Some(1.7e12));
        assert_eq!(all[1].value, f64::INFINITY);
        assert_eq!(all[2].value, f64::NEG_INFINITY);
        assert!(all[3].value.is_nan());
        assert_eq!(all[4].name, "m_sp");
        assert_eq!(all[4].labels.len(), 2);
        assert_eq!(all[4].value, -0.0015);
        assert_eq!(all[5].name, "dotted.name");
        assert_eq!(all[5].labels, vec![("le".into(), "0.5".into())]);
        assert_eq!(all[6].name, "only.name");
        assert_eq!(all[7].value, 3.0);
        assert_eq!(all.len(), 8);
    }

    #[test]
    fn unlabelled_sample_wins_and_odd_values_are_no_rss() {
        let t =
            b"process_resident_memory_bytes{pid=\"7\"} 100\nprocess_resident_memory_bytes 200\n";
        assert_eq!(resident_memory_bytes(t), Ok(Some(200)));
        let t = b"process_resident_memory_bytes{pid=\"7\"} 100\n";
        assert_eq!(resident_memory_bytes(t), Ok(Some(100)));
        for v in ["NaN", "-1", "+Inf", "1e300"] {
            let t = format!("process_resident_memory_bytes {v}\n");
            assert_eq!(resident_memory_bytes(t.as_bytes()), Ok(None), "{v}");
        }
        assert_eq!(resident_memory_bytes(b""), Ok(None));
        assert_eq!(resident_memory_bytes(b"# only a comment\n"), Ok(None));
    }

    #[test]
    fn a_page_that_is_not_an_exposition_is_an_error_naming_the_line() {
        let html = b"<html>\n<body>404 page not found</body>\n";
        let e = resident_memory_bytes(html).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.to_string().starts_with("metrics text, line 1: "), "{e}");
        for bad in [
            "m",
            "m 1 2 3",
            "m{a=\"1\" 1",
            "m{a=1} 1",
            "m{a=\"\\x\"} 1",
            "m{a=\"1\"",
            "m{1a=\"x\"} 1",
            "m one",
            "m 0x10",
            "m infinity",
            "m 1_000",
            "{} 1",
            "{\"a\" \"b\"} 1",
            "m} 1",
        ] {
            let text = format!("ok 1\n{bad}\n");
            let e = gauge(text.as_bytes(), "ok").unwrap_err();
            assert_eq!(e.line, 2, "{bad}: {e}");
        }
        assert_eq!(gauge(b"ok 1\n\xff 2\n", "ok").unwrap_err().line, 2);
    }

    proptest::proptest! {
        /// Any bytes: a value or an error, never a panic.
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = resident_memory_bytes(&bytes);
            let _ = samples(&bytes).count();
        }

        /// Lines made of the format's own characters, which reach deeper
        /// into the label and value parsers than random bytes.
        #[test]
        fn never_panics_on_near_misses(s in "[a-z_{}=\",.\\\\ #\\n0-9eE+-]{0,120}") {
            let _ = samples(s.as_bytes()).count();
        }

        /// A value written as Go writes floats reads back.
        #[test]
        fn values_round_trip(v in proptest::num::f64::NORMAL | proptest::num::f64::ZERO) {
            let text = format!("g{{l=\"x\"}} {v:e}\n");
            proptest::prop_assert_eq!(gauge(text.as_bytes(), "g"), Ok(Some(v)));
        }
    }
}
