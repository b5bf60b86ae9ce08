//! Time stamps: where each snapshot's time comes from, and the placement
//! of snapshots that carry none of their own.
//!
//! Rule, first that applies:
//! 1. the time the source recorded (an archive's index);
//! 2. the profile's own `time_nanos` (profile.proto; Go always sets it);
//! 3. a UTC date-time in the file name: `YYYYMMDDTHHMMSS[.fff]Z` or
//!    `YYYY-MM-DDTHH:MM:SS[.fff]Z` (also with `_` or `-` for `T`, `-`/`.`
//!    between time fields), or else a Unix time of 10 digits (seconds) or
//!    13 digits (milliseconds) standing alone between non-digits;
//! 4. paired: the time of a snapshot with a time of its own whose file
//!    has the same name once kind words and extensions are taken off, in
//!    the same directory (`heap-0007.txt` beside `heap-0007.pb.gz` or
//!    `goroutine-0007.pb.gz`: fetched together);
//! 5. a sequence number in the name, between (or beyond) the sequence
//!    numbers of snapshots with times of their own;
//! 6. a heap debug=1 text's MemStats `LastGC`: the end of the last GC
//!    before the fetch, so at most one GC cycle early (Go forces a GC at
//!    least every two minutes);
//! 7. the file's modification time.
//!
//! Debug=1 and debug=2 texts carry no time, and copies (git, tar, scp)
//! reset file times, so rules 4–6 come before 7. Times from rules 6–7
//! that lie far outside the span of the others are not believed (see
//! [`disagrees`]).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Where a snapshot's time came from (rules of the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeSource {
    Index,
    Profile,
    FileName,
    Paired,
    Sequence,
    LastGc,
    ModTime,
}

impl TimeSource {
    pub fn describe(self) -> &'static str {
        match self {
            TimeSource::Index => "the archive's index",
            TimeSource::Profile => "the profiles' own time stamps",
            TimeSource::FileName => "the file names",
            TimeSource::Paired => "the snapshots fetched alongside (same name)",
            TimeSource::Sequence => "sequence numbers in the names",
            TimeSource::LastGc => "MemStats' last GC",
            TimeSource::ModTime => "file modification times",
        }
    }

    /// A time that can disagree with the rest (see [`disagrees`]).
    pub fn is_weak(self) -> bool {
        matches!(self, TimeSource::LastGc | TimeSource::ModTime)
    }
}

static ISO: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?:^|[^0-9])(\d{4})-?(\d{2})-?(\d{2})[T_-](\d{2})[:.-]?(\d{2})[:.-]?(\d{2})(?:[.,](\d{1,9}))?Z?(?:[^0-9]|$)",
    )
    .expect("valid regex")
});
static UNIX: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?:^|[^0-9])(\d{13}|\d{10})(?:[^0-9]|$)").expect("valid regex")
});

/// A UTC time stamp in a file name (rule 3), in Unix nanoseconds.
pub fn time_from_name(name: &str) -> Option<i64> {
    if let Some(c) = ISO.captures(name) {
        let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i64>().ok());
        let (y, mo, d, h, mi, s) = (n(1)?, n(2)?, n(3)?, n(4)?, n(5)?, n(6)?);
        if (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s < 61 {
            let frac = c.get(7).map_or(0, |m| {
                let digits = m.as_str();
                let v: i64 = digits.parse().unwrap_or(0);
                v * 10i64.pow(9 - digits.len() as u32)
            });
            let days = profile::civil::days_from_civil(y, mo as u32, d as u32);
            return Some(((days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000_000) + frac);
        }
    }
    let c = UNIX.captures(name)?;
    let digits = c.get(1)?.as_str();
    let v: i64 = digits.parse().ok()?;
    Some(if digits.len() == 13 {
        v * 1_000_000
    } else {
        v * 1_000_000_000
    })
}

/// What a file's name says beyond its kind and format: snapshots fetched
/// together share it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NameKey {
    pub dir: PathBuf,
    /// The name without kind words and extensions, numbers without
    /// leading zeros: `heap-0007.debug1.txt` → `7`.
    pub key: String,
    /// The key without a trailing sequence number.
    pub prefix: String,
    /// A trailing number of the key.
    pub seq: Option<u64>,
}

/// Words of file names that say what kind or format a snapshot is, not
/// which one it is.
const KIND_WORDS: &[&str] = &[
    "heap",
    "allocs",
    "alloc",
    "goroutineleak",
    "goroutines",
    "goroutine",
    "profile",
    "pprof",
    "prof",
    "dump",
    "debug",
    "debug1",
    "debug2",
    "memstats",
    "pb",
    "proto",
    "gz",
    "txt",
    "text",
    "out",
    "json",
    "inuse",
    "leak",
    // heapdriftprobe's snapshots (heapdrift-STAMP.json beside Guard's
    // heap-STAMP.pb.gz) and watch's archived ones.
    "heapdrift",
    "probe",
];

/// The [`NameKey`] of `path`.
pub fn name_key(path: &Path) -> NameKey {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let raw: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let mut cleaned: Vec<String> = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        // `debug=1` splits as `debug`, `1`: that digit is the format, not
        // a sequence number.
        let format_digit = i > 0 && raw[i - 1] == "debug" && (*t == "1" || *t == "2");
        if KIND_WORDS.contains(t) || format_digit {
            continue;
        }
        cleaned.push(if t.bytes().all(|b| b.is_ascii_digit()) {
            let trimmed = t.trim_start_matches('0');
            if trimmed.is_empty() { "0" } else { trimmed }.to_string()
        } else {
            t.to_string()
        });
    }
    let seq = cleaned.last().and_then(|t| t.parse::<u64>().ok());
    let prefix = match seq {
        Some(_) => cleaned[..cleaned.len() - 1].join("-"),
        None => cleaned.join("-"),
    };
    NameKey {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        key: cleaned.join("-"),
        prefix,
        seq,
    }
}

/// A snapshot with a time of its own (rules 1–3), that others can be
/// placed by.
#[derive(Clone, Debug)]
pub struct Anchor {
    pub key: NameKey,
    pub time_nanos: i64,
}

/// What is known of a snapshot without a time of its own.
#[derive(Clone, Debug)]
pub struct Unplaced {
    pub key: NameKey,
    /// MemStats' LastGC, Unix nanoseconds (0 or absent: none).
    pub last_gc: Option<i64>,
    pub mtime_nanos: Option<i64>,
}

/// Places each of `unplaced` by rules 4–7; `None` when nothing gives a
/// time.
pub fn place(unplaced: &[Unplaced], anchors: &[Anchor]) -> Vec<Option<(i64, TimeSource)>> {
    use std::collections::HashMap;
    // Paired: the earliest anchor of each (dir, key); snapshots fetched
    // together are milliseconds apart.
    let mut by_key: HashMap<(&Path, &str), i64> = HashMap::new();
    // Sequence: anchors by (dir, prefix), as (seq, time).
    let mut by_prefix: HashMap<(&Path, &str), Vec<(u64, i64)>> = HashMap::new();
    for a in anchors {
        by_key
            .entry((&a.key.dir, &a.key.key))
            .and_modify(|t| *t = (*t).min(a.time_nanos))
            .or_insert(a.time_nanos);
        if let Some(s) = a.key.seq {
            by_prefix
                .entry((&a.key.dir, &a.key.prefix))
                .or_default()
                .push((s, a.time_nanos));
        }
    }
    for v in by_prefix.values_mut() {
        v.sort_unstable();
        v.dedup_by_key(|x| x.0);
    }
    unplaced
        .iter()
        .map(|u| {
            if !u.key.key.is_empty()
                && let Some(&t) = by_key.get(&(u.key.dir.as_path(), u.key.key.as_str()))
            {
                return Some((t, TimeSource::Paired));
            }
            if let Some(s) = u.key.seq
                && let Some(seqs) = by_prefix.get(&(u.key.dir.as_path(), u.key.prefix.as_str()))
                && let Some(t) = by_sequence(seqs, s)
            {
                return Some((t, TimeSource::Sequence));
            }
            if let Some(t) = u.last_gc.filter(|&t| t > 0) {
                return Some((t, TimeSource::LastGc));
            }
            u.mtime_nanos.map(|t| (t, TimeSource::ModTime))
        })
        .collect()
}

/// The time of sequence number `s` among anchors `(seq, time)` sorted by
/// seq: interpolated between the nearest below and above, or extrapolated
/// by the median time per step beyond them (at least two anchors).
fn by_sequence(seqs: &[(u64, i64)], s: u64) -> Option<i64> {
    let above = seqs.partition_point(|&(q, _)| q < s);
    if let Some(&(q, t)) = seqs.get(above)
        && q == s
    {
        return Some(t);
    }
    let lo = above.checked_sub(1).map(|i| seqs[i]);
    let hi = seqs.get(above).copied();
    match (lo, hi) {
        (Some((q0, t0)), Some((q1, t1))) => {
            let f = (s - q0) as f64 / (q1 - q0) as f64;
            Some(t0 + ((t1 - t0) as f64 * f).round() as i64)
        }
        _ if seqs.len() >= 2 => {
            let mut steps: Vec<f64> = seqs
                .windows(2)
                .map(|w| (w[1].1 - w[0].1) as f64 / (w[1].0 - w[0].0) as f64)
                .collect();
            steps.sort_by(f64::total_cmp);
            let step = steps[steps.len() / 2];
            let (q, t) = lo.or(hi)?;
            Some(t + ((s as f64 - q as f64) * step).round() as i64)
        }
        _ => None,
    }
}

/// How far (seconds) `t` lies outside the span `[min, max]` of the times
/// the snapshots carry themselves, when that is more than the span's
/// width and more than two minutes (one forced GC period: LastGC can lag
/// that much); `None` when it is believable.
pub fn disagrees(t: i64, min: i64, max: i64) -> Option<f64> {
    let tolerance = (max - min).max(120_000_000_000);
    let off = if t < min {
        min - t
    } else if t > max {
        t - max
    } else {
        0
    };
    (off > tolerance).then(|| off as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_stamps_in_names() {
        let t = 1_795_712_438_957_000_000; // 2026-11-26 17:00:38.957 UTC
        assert_eq!(time_from_name("heap-20261126T170038.957Z.pb.gz"), Some(t));
        assert_eq!(time_from_name("heap-2026-11-26T17:00:38.957Z.txt"), Some(t));
        assert_eq!(time_from_name("heap_2026-11-26_17-00-38.957.txt"), Some(t));
        assert_eq!(
            time_from_name("goroutine.1795712438.txt"),
            Some(1_795_712_438_000_000_000)
        );
        assert_eq!(time_from_name("g-1795712438957.txt"), Some(t));
        assert_eq!(time_from_name("heap.txt"), None);
        assert_eq!(time_from_name("heap-123.txt"), None);
    }

    fn key(p: &str) -> NameKey {
        name_key(Path::new(p))
    }

    #[test]
    fn names_fetched_together_share_a_key() {
        let a = key("rec/heap-0007.pb.gz");
        assert_eq!((a.key.as_str(), a.seq), ("7", Some(7)));
        assert_eq!(key("rec/heap-0007.debug1.txt").key, "7");
        assert_eq!(key("rec/heap_7.debug=1.txt").key, "7");
        assert_eq!(key("rec/goroutine-7.debug2.txt.gz").key, "7");
        assert_eq!(key("rec/goroutine-07.pb.gz").key, "7");
        let svc = key("rec/svc-a-heap-12.txt");
        assert_eq!(
            (svc.key.as_str(), svc.prefix.as_str(), svc.seq),
            ("svc-a-12", "svc-a", Some(12))
        );
        assert_eq!(key("rec/heap.txt").key, "");
        assert_ne!(key("a/heap-1.txt").dir, key("b/heap-1.pb.gz").dir);
    }

    #[test]
    fn placement_prefers_pairs_then_sequence_then_last_gc() {
        let s = 1_000_000_000i64;
        let anchors: Vec<Anchor> = [(1, 100), (2, 110), (4, 130)]
            .iter()
            .map(|&(q, t)| Anchor {
                key: key(&format!("r/heap-{q}.pb.gz")),
                time_nanos: t * s,
            })
            .collect();
        let un = |name: &str, last_gc: Option<i64>| Unplaced {
            key: key(name),
            last_gc,
            mtime_nanos: Some(999 * s),
        };
        let placed = place(
            &[
                un("r/heap-2.debug1.txt", Some(5 * s)),
                un("r/heap-3.debug1.txt", None),
                un("r/heap-6.debug1.txt", None),
                un("r/other.txt", Some(7 * s)),
                un("q/heap-2.txt", None),
            ],
            &anchors,
        );
        assert_eq!(
            placed,
            [
                Some((110 * s, TimeSource::Paired)),
                Some((120 * s, TimeSource::Sequence)),
                // Beyond the last anchor by the median step (10 s).
                Some((150 * s, TimeSource::Sequence)),
                Some((7 * s, TimeSource::LastGc)),
                Some((999 * s, TimeSource::ModTime)),
            ]
        );
    }

    #[test]
    fn far_times_disagree() {
        let s = 1_000_000_000i64;
        assert_eq!(disagrees(150 * s, 100 * s, 200 * s), None);
        assert_eq!(
            disagrees(0, 100 * s, 200 * s),
            None,
            "within the span's width"
        );
        assert_eq!(
            disagrees(6 * 86_400 * s, 100 * s, 200 * s).map(|o| o > 5.0 * 86_400.0),
            Some(true)
        );
        // A short span still tolerates two minutes.
        assert_eq!(disagrees(200 * s, 100 * s, 101 * s), None);
    }
}
