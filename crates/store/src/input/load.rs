//! Snapshot sources, classification, time stamps and order.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use profile::legacy::MemStats;
use profile::{ParseOptions, Profile, SourceFormat};

use super::InputError;

/// What a snapshot is, as far as `hunt` is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SnapshotKind {
    Heap,
    Goroutine,
    GoroutineLeak,
}

impl SnapshotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Heap => "heap",
            SnapshotKind::Goroutine => "goroutine",
            SnapshotKind::GoroutineLeak => "goroutineleak",
        }
    }
}

/// Where a snapshot's time stamp came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSource {
    Source,
    Profile,
    FileName,
    ModTime,
}

/// One snapshot as a source yields it.
#[derive(Clone, Debug)]
pub struct RawSnapshot {
    /// Known to the source (an archive's index), else found by parsing.
    pub kind: Option<SnapshotKind>,
    /// Unix nanoseconds, when the source knows it.
    pub time_nanos: Option<i64>,
    /// The file's modification time, the last resort for texts.
    pub mtime_nanos: Option<i64>,
    pub bytes: Vec<u8>,
    /// For messages and the file-name time stamp.
    pub path: PathBuf,
}

/// Anything that yields snapshots of one process: plain files and
/// directories ([`Files`]), one series of an archive
/// ([`super::ArchiveSource`]).
pub trait SnapshotSource {
    fn snapshots(&self) -> Result<Vec<RawSnapshot>, InputError>;

    /// Whether byte-identical snapshots are copies of one file, to be read
    /// once (plain files: the same file named twice). An archive's index
    /// says each is its own snapshot (a debug=1 text of a quiet process
    /// can repeat).
    fn dedup(&self) -> bool {
        true
    }
}

/// Files named on the command line; directories are walked recursively, in
/// sorted order, skipping hidden entries.
pub struct Files(pub Vec<PathBuf>);

impl Files {
    /// Every file named or found under a named directory, in order.
    pub fn paths(&self) -> Result<Vec<PathBuf>, InputError> {
        let mut paths = Vec::new();
        for p in &self.0 {
            let meta = std::fs::metadata(p).map_err(io_err(p))?;
            if meta.is_dir() {
                walk(p, &mut paths)?;
            } else {
                paths.push(p.clone());
            }
        }
        Ok(paths)
    }
}

/// One file as a raw snapshot (no kind or time known yet).
pub(crate) fn read_file(path: PathBuf) -> Result<RawSnapshot, InputError> {
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let mtime_nanos = mtime(&path);
    Ok(RawSnapshot {
        kind: None,
        time_nanos: None,
        mtime_nanos,
        bytes,
        path,
    })
}

/// A file's modification time in Unix nanoseconds, if the system has it.
pub(crate) fn mtime(path: &Path) -> Option<i64> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
}

/// Time stamp rules 3 and 4 (see the module doc): a time in the file
/// name, else the file's modification time.
pub(crate) fn time_of_file(
    path: &Path,
    mtime_nanos: Option<i64>,
) -> Result<(i64, TimeSource), InputError> {
    if let Some(t) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(time_from_name)
    {
        Ok((t, TimeSource::FileName))
    } else if let Some(t) = mtime_nanos {
        Ok((t, TimeSource::ModTime))
    } else {
        Err(InputError::NoTime {
            path: path.display().to_string(),
        })
    }
}

impl SnapshotSource for Files {
    fn snapshots(&self) -> Result<Vec<RawSnapshot>, InputError> {
        self.paths()?.into_iter().map(read_file).collect()
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> InputError + '_ {
    move |error| InputError::Io {
        path: path.display().to_string(),
        error,
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    // Its files are several targets' and processes' series: only the index
    // can tell them apart (`select_series`).
    if super::is_archive(dir) {
        return Err(InputError::Other(format!(
            "{}: an archive made by heapdrift watch; read it on its own (hunt ARCHIVE), not among plain files",
            dir.display()
        )));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io_err(dir))?;
    entries.sort();
    for p in entries {
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// A parsed, classified, time-stamped snapshot.
#[derive(Debug)]
pub struct Snapshot {
    pub kind: SnapshotKind,
    pub time_nanos: i64,
    pub time_source: TimeSource,
    pub format: SourceFormat,
    pub profile: Profile,
    pub memstats: Option<MemStats>,
    pub goroutines: Option<Vec<profile::goroutine_dump::Goroutine>>,
    pub path: PathBuf,
}

/// Everything loaded, time-ordered (ties: kind, then path).
#[derive(Debug, Default)]
pub struct Loaded {
    pub snapshots: Vec<Snapshot>,
    /// Files left out as byte-identical copies of an earlier one.
    pub duplicates: Vec<PathBuf>,
}

/// Parses and classifies every snapshot of `source`. Any file that cannot
/// be read, parsed or classified is an error naming it.
pub fn load(source: &dyn SnapshotSource, opts: &ParseOptions) -> Result<Loaded, InputError> {
    let raw = source.snapshots()?;
    let dedup = source.dedup();
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut kept: Vec<RawSnapshot> = Vec::new();
    let mut duplicates = Vec::new();
    for r in raw {
        if !dedup {
            kept.push(r);
            continue;
        }
        let mut h = DefaultHasher::new();
        r.bytes.hash(&mut h);
        let slot = seen.entry(h.finish()).or_default();
        if slot.iter().any(|&i| kept[i].bytes == r.bytes) {
            duplicates.push(r.path);
            continue;
        }
        slot.push(kept.len());
        kept.push(r);
    }
    let mut snapshots = Vec::with_capacity(kept.len());
    for r in kept {
        snapshots.push(classify(r, opts)?);
    }
    snapshots.sort_by(|a, b| {
        a.time_nanos
            .cmp(&b.time_nanos)
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok(Loaded {
        snapshots,
        duplicates,
    })
}

pub(crate) fn classify(r: RawSnapshot, opts: &ParseOptions) -> Result<Snapshot, InputError> {
    let name = r.path.display().to_string();
    let parsed = profile::parse(&r.bytes, opts).map_err(|error| InputError::Parse {
        path: name.clone(),
        error,
    })?;
    let p = &parsed.profile;
    let has = |t: &str| p.sample_types.iter().any(|v| v.r#type == t);
    let kind = match r.kind {
        Some(k) => k,
        None if parsed.format == SourceFormat::GoroutineDump => SnapshotKind::Goroutine,
        None if p.sample_types.len() == 1 && has("goroutineleak") => SnapshotKind::GoroutineLeak,
        None if p.sample_types.len() == 1 && has("goroutine") => SnapshotKind::Goroutine,
        None if has("inuse_space") || has("alloc_space") => SnapshotKind::Heap,
        None => {
            let types: Vec<String> = p
                .sample_types
                .iter()
                .map(|v| format!("{}/{}", v.r#type, v.unit))
                .collect();
            return Err(InputError::NotHunted {
                path: name,
                types: types.join(", "),
            });
        }
    };
    let (time_nanos, time_source) = if let Some(t) = r.time_nanos {
        (t, TimeSource::Source)
    } else if parsed.format == SourceFormat::Proto && p.time_nanos != 0 {
        (p.time_nanos, TimeSource::Profile)
    } else {
        time_of_file(&r.path, r.mtime_nanos)?
    };
    Ok(Snapshot {
        kind,
        time_nanos,
        time_source,
        format: parsed.format,
        profile: with_inuse(parsed.profile),
        memstats: parsed.memstats,
        goroutines: parsed.goroutines,
        path: r.path,
    })
}

/// An allocations-only profile (alloc_space/alloc_objects, no in-use
/// values) still feeds the heap series' allocation rates: it gets zero
/// in-use columns, so its sites read as flat in use.
fn with_inuse(mut p: Profile) -> Profile {
    let has = |t: &str| p.sample_types.iter().any(|v| v.r#type == t);
    if has("inuse_space") || !has("alloc_space") {
        return p;
    }
    let unit = |t: &str| {
        p.sample_types
            .iter()
            .find(|v| v.r#type == t)
            .map(|v| v.unit.clone())
    };
    let space_unit = unit("alloc_space").unwrap_or_else(|| "bytes".into());
    let objects_unit = unit("alloc_objects");
    p.sample_types.push(profile::ValueType {
        r#type: "inuse_space".into(),
        unit: space_unit,
    });
    let mut extra = 1;
    if let Some(u) = objects_unit {
        p.sample_types.push(profile::ValueType {
            r#type: "inuse_objects".into(),
            unit: u,
        });
        extra = 2;
    }
    for s in &mut p.samples {
        s.values.extend(std::iter::repeat_n(0, extra));
    }
    p
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

/// A UTC time stamp in a file name (rule 3 of the module doc), in Unix
/// nanoseconds.
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

    #[test]
    fn allocs_only_profiles_get_zero_inuse() {
        let vt = |t: &str, u: &str| profile::ValueType {
            r#type: t.into(),
            unit: u.into(),
        };
        let p = Profile {
            sample_types: vec![vt("alloc_objects", "count"), vt("alloc_space", "bytes")],
            samples: vec![profile::Sample {
                values: vec![3, 4096],
                ..Default::default()
            }],
            ..Default::default()
        };
        let q = with_inuse(p);
        let types: Vec<&str> = q.sample_types.iter().map(|v| v.r#type.as_str()).collect();
        assert_eq!(
            types,
            [
                "alloc_objects",
                "alloc_space",
                "inuse_space",
                "inuse_objects"
            ]
        );
        assert_eq!(q.samples[0].values, [3, 4096, 0, 0]);
        // A profile with in-use values is left alone.
        let r = with_inuse(q.clone());
        assert_eq!(r, q);
    }
}
