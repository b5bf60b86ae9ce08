//! Text for people: the live view (redrawn in place on a terminal), one
//! log line per event (`--quiet` or not a terminal), and the closing
//! summary. Pure: state in, strings out.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use drift::units::bytes;

use crate::{Event, Suspect, TargetState, Totals, WatchState};

/// A sparkline of at most `width` characters (the last values when longer).
pub fn sparkline(values: &[f64], width: usize) -> String {
    drift::render::bars(&values[values.len().saturating_sub(width)..])
}

fn opt_bytes(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| bytes(v as f64))
}

fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// "2026-11-26T17:04:05Z" for a Unix time.
pub fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = profile::civil::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn growth(s: &Suspect) -> String {
    match s.growth_per_min {
        Some(g) => drift::units::rate(g, s.unit),
        None => "no rate yet".into(),
    }
}

fn site(s: &Suspect) -> String {
    let file = s.file.rsplit('/').next().unwrap_or(&s.file);
    if file.is_empty() {
        s.function.clone()
    } else {
        format!("{} {file}:{}", s.function, s.line)
    }
}

fn suspect_line(s: &Suspect, spark: usize) -> String {
    format!(
        "{:<7} {:<9} {}  {}  {:.0}%  {}",
        s.verdict.as_str(),
        format!("{:?}", s.kind).to_lowercase(),
        site(s),
        growth(s),
        s.confidence * 100.0,
        sparkline(&s.values, spark)
    )
}

fn totals_line(t: &Totals) -> String {
    format!(
        "heap in use {}  goroutines {}  HeapSys {}  HeapReleased {}  Stack {}  Sys {}  RSS {}",
        t.inuse_space.map_or("-".into(), |v| bytes(v as f64)),
        t.goroutines.map_or("-".into(), |v| v.to_string()),
        opt_bytes(t.heap_sys),
        opt_bytes(t.heap_released),
        opt_bytes(t.stack_sys),
        opt_bytes(t.sys),
        opt_bytes(t.rss),
    )
}

fn rss_source_line(source: &Result<String, String>) -> String {
    match source {
        Ok(s) => format!("RSS from {s}"),
        Err(why) => format!("no RSS source: {why}"),
    }
}

fn status(t: &TargetState) -> String {
    let mut s = format!(
        "{} snapshots, {} gaps, {} series ({} restarts)",
        t.snapshot_count(),
        t.gaps,
        t.series,
        t.restarts
    );
    for (k, r, m) in &t.failing {
        let _ = write!(
            s,
            "; FAILING {} ({}): {}",
            k.map_or("target", |k| k.as_str()),
            r.as_str(),
            m
        );
    }
    s
}

/// The live view: a block of lines per target. Lines are cut to `width`.
pub fn render_live(st: &WatchState, width: usize) -> String {
    let elapsed = st.started.elapsed();
    let mut out = String::new();
    let of = st
        .duration
        .map_or(String::new(), |d| format!(" / {}", duration(d)));
    let _ = writeln!(
        out,
        "heapdrift watch: {} target(s) every {}, {}{of}{}",
        st.targets.len(),
        duration(st.every),
        duration(elapsed),
        if st.stopping { "  (stopping…)" } else { "" }
    );
    for t in &st.targets {
        let _ = writeln!(out, "● {}  round {}  {}", t.url, t.rounds, status(t));
        let _ = writeln!(out, "  {}", totals_line(&t.totals));
        if let Some(src) = &t.rss_source {
            let _ = writeln!(out, "  {}", rss_source_line(src));
        }
        if t.suspects.is_empty() {
            let _ = writeln!(out, "  no suspects yet");
        }
        for s in &t.suspects {
            let _ = writeln!(out, "  {}", suspect_line(s, 24));
        }
    }
    out.lines()
        .map(|l| {
            let cut: String = l.chars().take(width.max(20)).collect();
            cut + "\n"
        })
        .collect()
}

/// One log line for an event, or None for events not worth a line.
pub fn log_line(e: &Event, st: &WatchState) -> Option<String> {
    let url = |i: &usize| st.targets[*i].url.as_str();
    let body = match e {
        Event::Probed { target, profiles } => format!(
            "{} probed: {}",
            url(target),
            if profiles.is_empty() {
                "no Go index page; trying endpoints directly".to_string()
            } else {
                profiles.join(",")
            }
        ),
        Event::RssSource { target, source } => {
            format!("{} {}", url(target), rss_source_line(source))
        }
        Event::Series {
            target,
            series,
            reason,
            restart,
        } => {
            if *restart {
                format!(
                    "{} RESTART detected ({reason}): series {series} begins",
                    url(target)
                )
            } else {
                format!("{} series {series} ({reason})", url(target))
            }
        }
        Event::Round {
            target,
            round,
            stored,
            totals,
            suspects,
        } => {
            let kinds: Vec<&str> = stored.iter().map(|k| k.as_str()).collect();
            let mut s = format!(
                "{} round {round}: stored {}; {}",
                url(target),
                kinds.join(","),
                totals_line(totals)
            );
            if let Some(top) = suspects.first() {
                let _ = write!(
                    s,
                    "; top: {} {} {}",
                    top.verdict.as_str(),
                    site(top),
                    growth(top)
                );
            }
            s
        }
        Event::GapOpened {
            target,
            kind,
            reason,
            message,
        } => format!(
            "{} {} failing ({}): {message}; retrying",
            url(target),
            kind.map_or("target", |k| k.as_str()),
            reason.as_str()
        ),
        Event::GapClosed {
            target,
            kind,
            reason,
            seconds,
            message,
        } => format!(
            "{} gap recorded: {} {} for {seconds:.1}s ({message})",
            url(target),
            kind.map_or("target", |k| k.as_str()),
            reason.as_str()
        ),
        Event::Unavailable { target, kind } => format!(
            "{} does not serve {} (404 Unknown profile); not asked again",
            url(target),
            kind.as_str()
        ),
        Event::Skipped {
            target,
            kind,
            message,
        } => format!("{} skipped {}: {message}", url(target), kind.as_str()),
        Event::StoreFailed { target, message } => {
            format!("{} archive write failed: {message}", url(target))
        }
        Event::Done { .. } | Event::Stored { .. } => return None,
    };
    Some(format!("{} {body}", utc(SystemTime::now())))
}

/// The closing summary: per target, snapshots by kind, gaps, series and
/// the current top suspects.
pub fn render_summary(st: &WatchState, archive: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "heapdrift watch: {} target(s), {} elapsed; archive {archive}",
        st.targets.len(),
        duration(st.started.elapsed())
    );
    if st.abandoned > 0 {
        let _ = writeln!(
            out,
            "{} target(s) still fetching at the end were abandoned",
            st.abandoned
        );
    }
    for t in &st.targets {
        let kinds: Vec<String> = t
            .snapshots
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(out, "{}", t.url);
        let _ = writeln!(
            out,
            "  {} rounds; snapshots: {} ({})",
            t.rounds,
            t.snapshot_count(),
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            }
        );
        let _ = writeln!(
            out,
            "  gaps: {}; series: {} ({} restarts){}",
            t.gaps,
            t.series,
            t.restarts,
            if t.store_failures > 0 {
                format!("; {} archive writes failed", t.store_failures)
            } else {
                String::new()
            }
        );
        if let Some(src) = &t.rss_source {
            let _ = writeln!(out, "  {}", rss_source_line(src));
        }
        for n in &t.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        if t.suspects.is_empty() {
            let _ = writeln!(out, "  no suspects");
        }
        for s in &t.suspects {
            let _ = writeln!(out, "  {}", suspect_line(s, 32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_and_cuts() {
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[5.0, 5.0], 8), "▁▁");
        assert_eq!(sparkline(&[0.0, 9.0, 0.0, 7.0], 2), "▁█");
        assert_eq!(sparkline(&[], 4), "");
    }

    #[test]
    fn formats() {
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(12.0), "12 B");
        assert_eq!(bytes(5.0 * 1024.0 * 1024.0), "5.0 MiB");
        assert_eq!(
            utc(UNIX_EPOCH + Duration::from_secs(1_795_712_645)),
            "2026-11-26T17:04:05Z"
        );
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(duration(Duration::from_secs(3725)), "1h02m05s");
    }
}
