//! One series of an archive, read into the series layer's one builder
//! (`series::SeriesBuilder`): which series to read ([`select_series`]),
//! and [`build_series`], which pushes the heap snapshots as the index's
//! per-site values (no file decoded) and the other kinds from their files.

use drift::series::Site;
use profile::ParseOptions;
use series::builder::{BuildOptions, Built, Data, Entry, SeriesBuilder, SnapshotRef, heap_format};
use series::notes::Note;

use crate::{Archive, Gap, Kind, SeriesInfo, SnapshotInfo, StoreError, TargetInfo};

impl ArchiveSeries {
    /// Where this series is, for a JSON report.
    pub fn json_ref(&self, dir: &std::path::Path) -> series::json::ArchiveRef {
        series::json::ArchiveRef {
            dir: dir.display().to_string(),
            target: self.target.url.clone(),
            series: self.series.id.0,
            series_started_unix_nanos: self.series.started_at,
            restart_reason: self.series.restart_reason.clone(),
            gaps: self.gaps.iter().map(Gap::to_json).collect(),
        }
    }
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
) -> Result<Vec<ArchiveSeries>, StoreError> {
    archive.consistent(|a| Ok(select_in(a, target, pick)))?
}

fn select_in(
    a: &Archive,
    target: Option<&str>,
    pick: SeriesPick,
) -> Result<Vec<ArchiveSeries>, StoreError> {
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
        return Err(StoreError::Select(match target {
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
        return Err(StoreError::Select(format!(
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

/// Why the heap series is read from the files rather than the index.
enum HeapFrom {
    Index,
    Files(&'static str),
}

/// The series of one selected archive series, ready for `drift::hunt`.
/// Heap snapshots of the chosen heap format come from the index's
/// per-site values unless `opts` asks for the files or the index was
/// attributed by older rules; every other snapshot from its file. The
/// header names the target and series and lists the gaps.
pub fn build_series(
    archive: &Archive,
    sel: &ArchiveSeries,
    opts: &ArchiveOptions,
) -> Result<Built, StoreError> {
    let heap_from = if !opts.user_prefixes.is_empty() {
        HeapFrom::Files("--user-prefix needs the files: the index holds the default attribution")
    } else if opts.from_files {
        HeapFrom::Files("as asked")
    } else if !archive.attribution_current()? {
        HeapFrom::Files(
            "the index's per-site values were attributed by older rules (the next `heapdrift watch` on this archive updates them)",
        )
    } else {
        HeapFrom::Index
    };
    let usable = |s: &SnapshotInfo| s.status != "unparsed";
    let (infos, matrix) = archive.consistent(|a| {
        let infos = a.snapshots(sel.series.id, None)?;
        let count = |k: Kind| infos.iter().filter(|s| s.kind == k && usable(s)).count();
        let chosen = heap_format(count(Kind::Heap), count(Kind::HeapDebug1));
        let matrix = match heap_from {
            HeapFrom::Index => Some((chosen, a.heap_matrix(&[sel.series.id], chosen)?)),
            HeapFrom::Files(_) => None,
        };
        Ok((infos, matrix))
    })?;
    let mut b = SeriesBuilder::new(BuildOptions {
        user_prefixes: opts.user_prefixes.clone(),
        thin_heap: false,
    });
    let id = &sel.series.identity;
    if let Some(bin) = id.main_binary.as_deref().filter(|b| !b.is_empty()) {
        b.set_process(
            bin.rsplit('/').next().unwrap_or(bin),
            id.build_id.as_deref().unwrap_or_default(),
        );
    }
    describe(&mut b, sel, &infos, &heap_from);
    // The index's rows by snapshot id, in the matrix's order.
    let (index_kind, mut rows) = match matrix {
        Some((kind, m)) => {
            let sites: Vec<Site> = m
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
            // The index does not keep the profiles' sampling period
            // (drift's per-site sampling model needs it): the first heap
            // file of the kind that reads gives it.
            let period = infos
                .iter()
                .filter(|s| s.kind == kind && s.status == "ok")
                .find_map(|s| read_parsed(archive, s, &opts.parse).ok())
                .map(|p| p.profile.period);
            b.index_sites(kind, sites, m.has_metric, period);
            (Some(kind), m.snapshots.into_iter().zip(m.rows).peekable())
        }
        None => (None, Vec::new().into_iter().zip(Vec::new()).peekable()),
    };
    let not_chosen = index_kind.map(|k| {
        if k == Kind::Heap {
            Kind::HeapDebug1
        } else {
            Kind::Heap
        }
    });
    let empty: Vec<[i64; 4]> = Vec::new();
    for info in &infos {
        if info.kind.family().is_none() || !usable(info) {
            continue;
        }
        let source = SnapshotRef::Id(info.id.0);
        if Some(info.kind) == index_kind {
            // A snapshot without samples has no row: a row of zeros.
            let row = match rows.peek() {
                Some((id, _)) if *id == info.id => rows.next().map(|(_, r)| r),
                _ => None,
            };
            // A debug=1 text's MemStats are only in its file.
            let text = if info.kind == Kind::HeapDebug1 && info.status == "ok" {
                Some(read_parsed(archive, info, &opts.parse)?)
            } else {
                None
            };
            b.push(Entry {
                kind: info.kind,
                time_nanos: info.taken_at,
                data: Data::Sites(row.as_deref().unwrap_or(&empty)),
                memstats: text.as_ref().and_then(|t| t.memstats.as_ref()),
                source: &source,
            })?;
            continue;
        }
        if info.status == "missing" {
            continue;
        }
        // The heap format not chosen is only counted, unless its texts
        // carry the MemStats.
        if Some(info.kind) == not_chosen && info.kind == Kind::Heap {
            b.push(Entry {
                kind: info.kind,
                time_nanos: info.taken_at,
                data: Data::None,
                memstats: None,
                source: &source,
            })?;
            continue;
        }
        if info.kind.family() == Some(series::Family::Rss) {
            let path = archive.path(info);
            let bytes = std::fs::read(&path).map_err(crate::io_err("open", &path))?;
            // A reading that does not parse says nothing; the archive keeps
            // the file.
            if let Some(rss) = info.kind.rss_reading(&bytes) {
                b.push(Entry {
                    kind: info.kind,
                    time_nanos: info.taken_at,
                    data: Data::Rss(rss),
                    memstats: None,
                    source: &source,
                })?;
            }
            continue;
        }
        let parsed = read_parsed(archive, info, &opts.parse)?;
        let mut entry = Entry::parsed(info.kind, info.taken_at, &parsed, &source);
        if Some(info.kind) == not_chosen {
            entry.data = Data::None;
        }
        b.push(entry)?;
    }
    let parse = opts.parse.clone();
    let built = b.finish(&mut |source| match source {
        SnapshotRef::Id(id) => archive
            .snapshot(crate::SnapshotId(*id))
            .and_then(|info| read_parsed(archive, &info, &parse))
            .map_err(|e| match e {
                StoreError::Series(s) => s,
                other => series::SeriesError::Reread {
                    what: format!("snapshot {id}"),
                    why: other.to_string(),
                },
            }),
        other => Err(series::SeriesError::Reread {
            what: other.to_string(),
            why: "not in the archive".into(),
        }),
    })?;
    Ok(built)
}

fn read_parsed(
    archive: &Archive,
    info: &SnapshotInfo,
    parse: &ParseOptions,
) -> Result<profile::Parsed, StoreError> {
    let path = archive.path(info);
    let bytes = std::fs::read(&path).map_err(crate::io_err("open", &path))?;
    profile::parse(&bytes, parse).map_err(|error| {
        StoreError::Series(series::SeriesError::Parse {
            path: path.display().to_string(),
            error,
        })
    })
}

/// Header notes: the target and series, files that are missing or
/// unparsed, the gaps.
fn describe(b: &mut SeriesBuilder, sel: &ArchiveSeries, infos: &[SnapshotInfo], from: &HeapFrom) {
    let mut note = |t: String| b.note(Note::Text(t));
    note(format!(
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
        match from {
            HeapFrom::Index => "from the archive's index".to_string(),
            HeapFrom::Files(why) => format!("from the files ({why})"),
        }
    ));
    let hunted = |s: &&SnapshotInfo| s.kind.family().is_some();
    let fast = matches!(from, HeapFrom::Index);
    let missing = infos
        .iter()
        .filter(hunted)
        .filter(|s| s.status == "missing")
        .count();
    if missing > 0 {
        note(format!(
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
        note(format!(
            "{unparsed} recovered file{} that did not parse left out",
            if unparsed == 1 { "" } else { "s" }
        ));
    }
    const SHOWN: usize = 5;
    for g in sel.gaps.iter().take(SHOWN) {
        note(format!(
            "gap{}: {} ({}) from {} for {}: {}",
            g.kind
                .map(|k| format!(" in {}", k.as_str()))
                .unwrap_or_default(),
            g.reason.as_str(),
            g.reason.describe(),
            drift::render::clock(g.from_ns),
            drift::render::duration((g.to_ns - g.from_ns) as f64 / 1e9),
            g.message
        ));
    }
    if sel.gaps.len() > SHOWN {
        note(format!("{} more gaps", sel.gaps.len() - SHOWN));
    }
}
