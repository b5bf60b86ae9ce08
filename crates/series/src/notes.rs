//! The notes a report's header carries about its inputs: which formats
//! made the series, what was left out and why, where times came from.

use std::path::PathBuf;

use crate::Kind;
use crate::kind::Unread;
use crate::time::TimeSource;

/// Why a file is not part of any series.
#[derive(Clone, Debug, PartialEq)]
pub enum SkipReason {
    Empty,
    /// Bytes that do not parse as any profile format (the parser's error).
    NotProfile(String),
    /// A profile `hunt` does not read.
    Unread(Unread),
    /// Could not be read (the I/O error).
    Unreadable(String),
    /// No time stamp: not in the profile, the name, a paired snapshot or
    /// the file's metadata.
    NoTime,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Empty => f.write_str("empty file"),
            SkipReason::NotProfile(e) => write!(f, "not a profile ({e})"),
            SkipReason::Unread(u) => write!(f, "{u}"),
            SkipReason::Unreadable(e) => write!(f, "unreadable ({e})"),
            SkipReason::NoTime => f.write_str(
                "no time stamp (not in the profile, the file name, a snapshot fetched alongside or the file's metadata)",
            ),
        }
    }
}

/// One line of a header's notes.
#[derive(Clone, Debug, PartialEq)]
pub enum Note {
    /// Both heap formats were given; one made the series.
    HeapFormat {
        from_text: bool,
        protos: usize,
        texts: usize,
    },
    /// Both goroutine formats were given; one made the series.
    GoroutineFormat {
        from_dumps: bool,
        dumps: usize,
        profiles: usize,
    },
    /// The heap series has segments: a cumulative counter fell.
    Restarts(usize),
    /// Byte-identical copies of an earlier file, left out.
    Duplicates { count: usize, first: PathBuf },
    /// A file that is no snapshot `hunt` reads.
    Skipped { path: PathBuf, reason: SkipReason },
    /// More skipped files than are named one by one.
    MoreSkipped(usize),
    /// Where the times of a kind's snapshots came from.
    Times {
        kind: Kind,
        sources: Vec<(TimeSource, usize)>,
    },
    /// Snapshots left out because their times (from a weak source)
    /// disagree with the profiles' own.
    TimesDisagree {
        kind: Kind,
        source: TimeSource,
        count: usize,
        first: PathBuf,
        off_seconds: f64,
    },
    /// This report is one of several processes found among the inputs.
    OneOfProcesses {
        index: usize,
        of: usize,
        why: String,
    },
    /// Snapshots without a process identity of their own, not attributable
    /// to one of several processes.
    Unattributed { count: usize, first: PathBuf },
    /// MemStats points that have the process's current RSS beside them;
    /// `from_probe` when heapdrift's Go companion gave some of it.
    CurrentRss {
        with: usize,
        of: usize,
        from_probe: bool,
    },
    /// Snapshots that heapdrift's Go companion (`Guard`) captured near the
    /// memory limit: how many, and the last one's reason.
    NearLimit {
        count: usize,
        last: profile::probe::Capture,
    },
    /// Free text from a source the builder does not know (an archive).
    Text(String),
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::HeapFormat {
                from_text: true,
                protos,
                texts,
            } => write!(
                f,
                "heap series from {}; {} left out (their MemStats are used)",
                plural(*texts, "debug=1 text", "debug=1 texts"),
                plural(*protos, "proto", "protos")
            ),
            Note::HeapFormat {
                from_text: false,
                protos,
                texts,
            } => write!(
                f,
                "heap series from {}; {} used for MemStats only",
                plural(*protos, "proto", "protos"),
                plural(*texts, "debug=1 text", "debug=1 texts")
            ),
            Note::GoroutineFormat {
                from_dumps,
                dumps,
                profiles,
            } => {
                let d = plural(*dumps, "debug=2 dump", "debug=2 dumps");
                let p = plural(*profiles, "goroutine profile", "goroutine profiles");
                let (used, unused) = if *from_dumps { (d, p) } else { (p, d) };
                write!(
                    f,
                    "goroutine series from {used}; {unused} left out (the formats group goroutines differently)"
                )
            }
            Note::Restarts(n) => write!(
                f,
                "the heap's cumulative allocation counter fell {}: a new segment starts at each restart",
                plural(*n, "time", "times")
            ),
            Note::Duplicates { count, first } => write!(
                f,
                "{} left out (first: {})",
                plural(*count, "byte-identical file", "byte-identical files"),
                first.display()
            ),
            Note::Skipped { path, reason } => {
                write!(f, "skipped {}: {reason}", path.display())
            }
            Note::MoreSkipped(n) => write!(f, "{} more skipped", plural(*n, "file", "files")),
            Note::Times { kind, sources } => {
                let parts: Vec<String> = sources
                    .iter()
                    .map(|(s, n)| format!("{} ({n})", s.describe()))
                    .collect();
                write!(f, "{} times from {}", kind.describe(), parts.join(", "))
            }
            Note::TimesDisagree {
                kind,
                source,
                count,
                first,
                off_seconds,
            } => write!(
                f,
                "warning: {} left out: their times, from {}, lie {} outside the span of the other snapshots' times (first: {})",
                plural(*count, kind.describe(), &format!("{}s", kind.describe())),
                source.describe(),
                drift::render::duration(*off_seconds),
                first.display()
            ),
            Note::OneOfProcesses { index, of, why } => {
                write!(f, "process {index} of {of} among the inputs ({why})")
            }
            Note::Unattributed { count, first } => write!(
                f,
                "{} without a process identity of their own left out: they pair with none of the processes (first: {})",
                plural(*count, "snapshot", "snapshots"),
                first.display()
            ),
            Note::CurrentRss {
                with,
                of,
                from_probe,
            } => write!(
                f,
                "current RSS read beside {with} of {} ({}): used instead of MemStats' MaxRSS, a peak",
                plural(*of, "MemStats point", "MemStats points"),
                if *from_probe {
                    "from heapdriftprobe's snapshots"
                } else {
                    "from /metrics or /proc"
                }
            ),
            Note::NearLimit { count, last } => {
                let measure = match last.measure.as_str() {
                    "go_memory" => "Go's memory (mapped minus released)",
                    "rss" => "RSS",
                    other => other,
                };
                let source = match last.limit_source.as_str() {
                    "cgroup" => "the cgroup's limit",
                    "gomemlimit" => "GOMEMLIMIT",
                    "fixed" => "the limit Guard was given",
                    other => other,
                };
                write!(
                    f,
                    "{} captured near the memory limit by heapdriftprobe.Guard; the last: {measure} {} crossed {}% of {source}, {}",
                    plural(*count, "snapshot was", "snapshots were"),
                    mib(last.measured_bytes),
                    (last.fraction * 100.0).round(),
                    mib(last.limit_bytes)
                )
            }
            Note::Text(t) => f.write_str(t),
        }
    }
}
