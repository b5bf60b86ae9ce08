//! An archive written by `watch` as `hunt`'s input: which series to read,
//! a [`SnapshotSource`] over one series' files, and the fast path that takes
//! the heap series from the index's site matrix without decoding a file.

use std::path::Path;

use drift::series::{HeapSeries, Site};
use profile::ParseOptions;

use super::{
    Built, InputError, PrebuiltHeap, RawSnapshot, SnapshotKind, SnapshotSource, build_with, load,
};
use crate::{Archive, Gap, INDEX_FILE, Kind, SeriesId, SeriesInfo, SnapshotInfo, TargetInfo};

/// Whether `dir` is an archive's root (it has the index).
pub fn is_archive(dir: &Path) -> bool {
    dir.join(INDEX_FILE).is_file()
}

/// Which series of a target to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SeriesPick {
    /// The latest (the current process).
    #[default]
    Latest,
    /// The series with this id (the directory name under the target's).
    Id(i64),
    /// Every series, oldest first, each on its own.
    All,
}

/// One series of one target, as selected.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchiveSeries {
    pub target: TargetInfo,
    pub series: SeriesInfo,
    /// 1-based position among the target's series, and their number.
    pub position: usize,
    pub of: usize,
    /// Start of the target's next series (this one ends there), if any.
    pub next_started_at: Option<i64>,
    /// The target's gaps that overlap this series' lifetime.
    pub gaps: Vec<Gap>,
}

/// The series to read: for every target matching `target` (an exact URL,
/// else a substring of URL or slug; every target when `None`), the series
/// `pick` names. A target whose series `pick` does not name is left out;
/// no series at all is an error that lists what there is.
pub fn select_series(
    archive: &Archive,
    target: Option<&str>,
    pick: SeriesPick,
) -> Result<Vec<ArchiveSeries>, InputError> {
    archive
        .consistent(|a| Ok(select_in(a, target, pick)))
        .map_err(InputError::from)?
}

fn select_in(
    a: &Archive,
    target: Option<&str>,
    pick: SeriesPick,
) -> Result<Vec<ArchiveSeries>, InputError> {
    let dir = a.dir().display().to_string();
    let all = a.targets()?;
    let targets: Vec<&TargetInfo> = match target {
        None => all.iter().collect(),
        Some(t) => match all.iter().find(|x| x.url == t) {
            Some(x) => vec![x],
            None => all
                .iter()
                .filter(|x| x.url.contains(t) || x.slug.contains(t))
                .collect(),
        },
    };
    let names = || {
        all.iter()
            .map(|t| t.url.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if targets.is_empty() {
        return Err(InputError::Other(match target {
            Some(t) => format!("{dir}: no target matches {t:?} (targets: {})", names()),
            None => format!("{dir}: the archive has no targets"),
        }));
    }
    let mut out = Vec::new();
    for t in targets {
        let series = a.series(t.id)?;
        let gaps = a.gaps(t.id)?;
        let n = series.len();
        for (i, s) in series.iter().enumerate() {
            let wanted = match pick {
                SeriesPick::Latest => i + 1 == n,
                SeriesPick::Id(id) => s.id.0 == id,
                SeriesPick::All => true,
            };
            if !wanted {
                continue;
            }
            let next = series.get(i + 1).map(|x| x.started_at);
            // A gap overlaps the series' lifetime [start, next start); one
            // before a target's first snapshot belongs to its first series
            // (the target was down when watch began).
            let from = if i == 0 { i64::MIN } else { s.started_at };
            let gaps = gaps
                .iter()
                .filter(|g| g.to_ns > from && next.is_none_or(|e| g.from_ns < e))
                .cloned()
                .collect();
            out.push(ArchiveSeries {
                target: t.clone(),
                series: s.clone(),
                position: i + 1,
                of: n,
                next_started_at: next,
                gaps,
            });
        }
    }
    if out.is_empty() {
        let what = match pick {
            SeriesPick::Id(id) => format!("no series {id}"),
            _ => "no series".to_string(),
        };
        let ids: Vec<String> = all
            .iter()
            .flat_map(|t| a.series(t.id).unwrap_or_default())
            .map(|s| s.id.0.to_string())
            .collect();
        return Err(InputError::Other(format!(
            "{dir}: {what} for the selected targets (series: {})",
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        )));
    }
    Ok(out)
}

/// Which archive kinds `hunt` reads, as which snapshot kind. Allocs
/// profiles repeat the heap's samples (same profile, other default type)
/// and would double the heap series; CPU, block, mutex and threadcreate
/// profiles say nothing about leaks.
pub fn hunted_kind(k: Kind) -> Option<SnapshotKind> {
    match k {
        Kind::Heap | Kind::HeapDebug1 => Some(SnapshotKind::Heap),
        Kind::Goroutine | Kind::GoroutineDebug1 | Kind::GoroutineDump => {
            Some(SnapshotKind::Goroutine)
        }
        Kind::GoroutineLeak => Some(SnapshotKind::GoroutineLeak),
        Kind::Allocs | Kind::Profile | Kind::Block | Kind::Mutex | Kind::Threadcreate => None,
    }
}

/// The files of one series: kind and time from the index (the time the
/// fetch started). Snapshots whose file is missing or did not parse are
/// left out.
pub struct ArchiveSource<'a> {
    pub archive: &'a Archive,
    pub series: SeriesId,
    /// The archive kinds to read (see [`hunted_kind`]).
    pub kinds: Vec<Kind>,
}

impl<'a> ArchiveSource<'a> {
    /// Every kind `hunt` reads.
    pub fn new(archive: &'a Archive, series: SeriesId) -> Self {
        ArchiveSource {
            archive,
            series,
            kinds: Kind::ALL
                .into_iter()
                .filter(|k| hunted_kind(*k).is_some())
                .collect(),
        }
    }

    fn infos(&self) -> Result<Vec<SnapshotInfo>, InputError> {
        Ok(self
            .archive
            .snapshots(self.series, None)?
            .into_iter()
            .filter(|s| self.kinds.contains(&s.kind) && s.status == "ok")
            .collect())
    }
}

impl SnapshotSource for ArchiveSource<'_> {
    fn snapshots(&self) -> Result<Vec<RawSnapshot>, InputError> {
        self.infos()?
            .into_iter()
            .map(|info| {
                let path = self.archive.path(&info);
                let bytes = std::fs::read(&path).map_err(super::load::io_err(&path))?;
                Ok(RawSnapshot {
                    kind: hunted_kind(info.kind),
                    time_nanos: Some(info.taken_at),
                    mtime_nanos: None,
                    bytes,
                    path,
                })
            })
            .collect()
    }

    fn dedup(&self) -> bool {
        false
    }
}

/// How to read a series.
#[derive(Clone, Debug, Default)]
pub struct ArchiveOptions {
    /// As `drift::series::SeriesOptions::user_prefixes`. The index holds
    /// the default attribution only, so prefixes mean reading the files.
    pub user_prefixes: Vec<String>,
    /// Decode the heap files even when the index could give the series.
    pub from_files: bool,
    pub parse: ParseOptions,
}

/// The series of one selected archive series, ready for `drift::hunt`.
/// The heap series comes from the index ([`heap_from_index`]) unless
/// `opts` asks for the files; goroutine, goroutineleak and MemStats
/// (heap debug=1) snapshots come from their files. The header names the
/// target and series and lists the gaps.
pub fn build_series(
    archive: &Archive,
    sel: &ArchiveSeries,
    opts: &ArchiveOptions,
) -> Result<Built, InputError> {
    let fast = !opts.from_files && opts.user_prefixes.is_empty();
    let (infos, prebuilt) = archive.consistent(|a| {
        let infos = a.snapshots(sel.series.id, None)?;
        let prebuilt = if fast {
            Some(heap_from_index(a, sel.series.id, &infos))
        } else {
            None
        };
        Ok((infos, prebuilt))
    })?;
    let prebuilt = prebuilt.transpose()?;
    let mut src = ArchiveSource::new(archive, sel.series.id);
    if prebuilt.is_some() {
        // The protos are in the prebuilt series; debug=1 texts are read
        // for their MemStats (and are the series when there are more).
        src.kinds.retain(|k| *k != Kind::Heap);
    }
    let loaded = load(&src, &opts.parse)?;
    let mut built = build_with(&loaded.snapshots, &opts.user_prefixes, prebuilt, None)?;
    describe(&mut built, sel, &infos, fast);
    Ok(built)
}

/// The heap series of `series` from the index alone: heap protos, or the
/// debug=1 texts when there are more of those (the rule of
/// [`super::build`]). Equal to what [`super::build`] makes of the decoded
/// files with default attribution: the index stores sites attributed that
/// way, a segment starts where the cumulative alloc_space total falls, and
/// a snapshot without samples is a row of zeros.
pub fn heap_from_index(
    a: &Archive,
    series: SeriesId,
    infos: &[SnapshotInfo],
) -> Result<PrebuiltHeap, InputError> {
    let usable = |k: Kind| {
        infos
            .iter()
            .filter(|s| s.kind == k && s.status != "unparsed")
            .count()
    };
    let (protos, texts) = (usable(Kind::Heap), usable(Kind::HeapDebug1));
    let from_text = texts > protos;
    let kind = if from_text {
        Kind::HeapDebug1
    } else {
        Kind::Heap
    };
    let m = a.heap_matrix(&[series], kind)?;
    let mut at = m.snapshots.iter().zip(m.rows).peekable();
    let mut time_nanos = Vec::new();
    let mut breaks = Vec::new();
    let mut rows = Vec::new();
    let mut last_alloc: Option<i64> = None;
    for info in infos
        .iter()
        .filter(|s| s.kind == kind && s.status != "unparsed")
    {
        let row = match at.peek() {
            Some((id, _)) if **id == info.id => at.next().map(|(_, r)| r).unwrap_or_default(),
            _ => Vec::new(),
        };
        // As HeapSeriesBuilder: a fall of the cumulative total is a restart.
        if let Some(total) = info.alloc_space {
            if last_alloc.is_some_and(|prev| total < prev) && !time_nanos.is_empty() {
                breaks.push(time_nanos.len());
            }
            last_alloc = Some(total);
        }
        time_nanos.push(info.taken_at);
        rows.push(row);
    }
    let sites = m
        .sites
        .into_iter()
        .map(|s| Site {
            function: s.function,
            file: s.file,
            line: s.line,
            user: s.user,
            stack: s.stack,
        })
        .collect();
    // The index does not keep the profiles' sampling period (drift's
    // per-site sampling model needs it): the first heap file that reads
    // gives it.
    let period = infos
        .iter()
        .filter(|s| s.kind == kind && s.status == "ok")
        .find_map(|s| {
            let bytes = std::fs::read(a.path(s)).ok()?;
            Some(
                profile::parse(&bytes, &ParseOptions::default())
                    .ok()?
                    .profile
                    .period,
            )
        });
    let series = HeapSeries::from_parts(time_nanos, breaks, sites, m.has_metric, rows, period)
        .map_err(|error| InputError::Series {
            path: a.dir().display().to_string(),
            error,
        })?;
    Ok(PrebuiltHeap {
        series,
        from_text,
        protos,
        texts,
        restarts: 0,
    })
}

/// Header: the process from the series' identity, the target and series,
/// files that are missing or unparsed, the gaps.
fn describe(built: &mut Built, sel: &ArchiveSeries, infos: &[SnapshotInfo], fast: bool) {
    let h = &mut built.header;
    let id = &sel.series.identity;
    if let Some(bin) = id.main_binary.as_deref().filter(|b| !b.is_empty()) {
        h.process = bin.rsplit('/').next().unwrap_or(bin).to_string();
        h.build_id = id.build_id.clone().unwrap_or_default();
    }
    let mut notes = vec![format!(
        "target {}, series {} ({} of {}; {}), heap series {}",
        sel.target.url,
        sel.series.id.0,
        sel.position,
        sel.of,
        if sel.series.restart_reason == "first" {
            "first".to_string()
        } else {
            format!("after a restart: {}", sel.series.restart_reason)
        },
        if fast {
            "from the archive's index"
        } else {
            "from the files"
        }
    )];
    let hunted = |s: &&SnapshotInfo| hunted_kind(s.kind).is_some();
    let missing = infos
        .iter()
        .filter(hunted)
        .filter(|s| s.status == "missing")
        .count();
    if missing > 0 {
        notes.push(format!(
            "{missing} snapshot file{} missing: {}",
            if missing == 1 { " is" } else { "s are" },
            if fast {
                "left out, except heap values, which the index keeps"
            } else {
                "left out"
            }
        ));
    }
    let unparsed = infos
        .iter()
        .filter(hunted)
        .filter(|s| s.status == "unparsed")
        .count();
    if unparsed > 0 {
        notes.push(format!(
            "{unparsed} recovered file{} that did not parse left out",
            if unparsed == 1 { "" } else { "s" }
        ));
    }
    const SHOWN: usize = 5;
    for g in sel.gaps.iter().take(SHOWN) {
        notes.push(format!(
            "gap{}: {} ({}) from {} for {}: {}",
            g.kind
                .map(|k| format!(" in {}", k.as_str()))
                .unwrap_or_default(),
            g.reason.as_str(),
            match g.reason {
                crate::GapReason::Down => "target down",
                crate::GapReason::Timeout => "timed out",
                crate::GapReason::ServerError => "server error",
                crate::GapReason::Garbage => "not a profile",
            },
            drift::render::clock(g.from_ns),
            drift::render::duration((g.to_ns - g.from_ns) as f64 / 1e9),
            g.message
        ));
    }
    if sel.gaps.len() > SHOWN {
        notes.push(format!("{} more gaps", sel.gaps.len() - SHOWN));
    }
    notes.append(&mut h.notes);
    h.notes = notes;
}
