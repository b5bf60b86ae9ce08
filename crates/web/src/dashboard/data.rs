//! Where the dashboard's series come from: an archive made by `heapdrift
//! watch` (read-only; its index is re-read on every request because a
//! running `watch` may still be adding to it) or plain snapshot files of one
//! process (read once, at start-up).
//!
//! Snapshot ids are the archive's snapshot ids, or for plain files the
//! index of the snapshot among all processes' snapshots, each process's in
//! time order. Loading and series building are the series layer's
//! (`series::build_files`, `store::read`); the builder says which snapshot
//! each point of a series came from.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use drift::Report;
use drift::memory::MemPoint;
use drift::render::Header;
use profile::{ParseOptions, Profile};
use series::json::{Gap, SeriesSummary, SnapshotMeta, Target};
use series::{Built, SeriesError, SnapshotRef};
use store::read::{self, ArchiveOptions, SeriesPick};
use store::{Archive, SeriesId, SnapshotId, StoreError};

use fetch::store::{ProfileStore, StoredProfile};
use series::fleet::{self, FleetQuery};

/// Errors of the dashboard's data layer; each is one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Series(#[from] SeriesError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no such {0}")]
    NotFound(String),
    #[error(transparent)]
    Read(#[from] profile::PathError),
    #[error("{path}: {error}")]
    Parse {
        path: String,
        error: profile::ParseError,
    },
    #[error(transparent)]
    Fleet(#[from] series::fleet::FleetError),
    #[error("diff of {source_id} and its base: {error}")]
    Diff {
        source_id: String,
        error: report::driver::DriverError,
    },
    /// The request's worker stopped (a panic): the server's fault.
    #[error("request failed: {0}")]
    Internal(String),
}

/// A series with its analysis and, per plotted point, the snapshot it came
/// from (`None` when no loaded snapshot has that time stamp).
pub struct Analysis {
    pub header: Header,
    pub report: Report,
    /// Every snapshot of the series that the analysis read, time-ordered.
    pub snapshots: Vec<SnapshotMeta>,
    pub heap: Points,
    pub goroutines: Points,
    pub memory: Points,
    /// Per custom profile name, the points of its series.
    pub resources: Vec<(String, Points)>,
    pub memory_points: Vec<MemPoint>,
    pub memory_breaks: Vec<usize>,
    /// Restarts seen inside the series (plain files: build id or counter
    /// changes; an archive starts a new series at each restart instead).
    pub restarts: usize,
}

/// The time stamps of a series' points and the snapshot behind each.
#[derive(Clone, Debug, Default)]
pub struct Points {
    pub time_nanos: Vec<i64>,
    pub snapshot: Vec<Option<String>>,
}

/// Which inputs the dashboard shows.
enum Origin {
    Archive(PathBuf),
    Fleet(Box<Fleet>),
    Files {
        paths: Vec<PathBuf>,
        /// One per process found among the files, with its series id.
        processes: Vec<(String, Arc<Analysis>)>,
        /// Snapshot files by snapshot id (= index).
        files: Vec<PathBuf>,
    },
}

/// A fleet in a profile store (`serve --from`): every instance read at
/// start-up, as plain files are; a snapshot's profile is read from the
/// store again when a view opens it.
struct Fleet {
    server: Box<dyn ProfileStore>,
    query: FleetQuery,
    /// Per instance: its series id, service, instance name and analysis.
    instances: Vec<FleetInstance>,
    /// The stored profile behind each snapshot id (= index).
    stored: Vec<StoredSnapshot>,
    /// Per service, its sites ranked by the replicas they grow on.
    rankings: Vec<series::json::ServiceRanking>,
}

struct FleetInstance {
    series: String,
    service: String,
    instance: String,
    analysis: Arc<Analysis>,
}

/// Where a snapshot of a fleet is in the store.
enum StoredSnapshot {
    Heap {
        selector: String,
        snapshot: fleet::HeapSnapshot,
    },
    Goroutines {
        selector: String,
        profile_type: &'static str,
        profile: StoredProfile,
    },
}

/// `GET /api/fleet`: the store, and per service the ranked sites and
/// which series each instance is.
#[derive(serde::Serialize)]
pub struct FleetDoc<'a> {
    pub store: &'a str,
    pub group_by: &'a str,
    pub services: Vec<FleetService<'a>>,
}

#[derive(serde::Serialize)]
pub struct FleetService<'a> {
    #[serde(flatten)]
    pub ranking: &'a series::json::ServiceRanking,
    /// Instance name → series id.
    pub series: BTreeMap<&'a str, &'a str>,
}

/// The dashboard's data: targets, series, analyses (cached per series
/// until it gains snapshots), and snapshot profiles for the views.
pub struct Dashboard {
    origin: Origin,
    analyses: Mutex<HashMap<i64, (Fingerprint, Arc<Analysis>)>>,
    /// Held while a series is analysed.
    analysing: Mutex<()>,
    /// A few recently opened profiles: the flame graph page and its data
    /// request load the same snapshot twice in a row.
    profiles: Mutex<Vec<(ProfileKey, Arc<Profile>)>>,
}

/// `src` and `base` of a view.
type ProfileKey = (String, Option<String>);

/// A series' state in the index: its snapshot count and highest id.
type Fingerprint = (usize, i64);

/// The series id of the (first) process among plain files; further
/// processes are `files-2`, `files-3`, ...
pub const FILES_SERIES: &str = "files";

fn files_series_id(index: usize) -> String {
    if index == 0 {
        FILES_SERIES.to_string()
    } else {
        format!("{FILES_SERIES}-{}", index + 1)
    }
}

const KEEP_PROFILES: usize = 6;

impl Dashboard {
    /// An archive directory (recognised by its index) or profile files and
    /// directories of one process.
    pub fn open(inputs: &[PathBuf]) -> Result<Dashboard, DashboardError> {
        if let [dir] = inputs
            && series::is_archive(dir)
        {
            // Fail now, not on the first page load, if it does not open.
            Archive::open_read_only(dir)?;
            return Ok(Dashboard::with(Origin::Archive(dir.clone())));
        }
        // Streamed: only the series and each snapshot's kind, time and path
        // stay in memory; a snapshot's profile is read again when a view
        // opens it (hundreds of profiles of 10k sites would take gigabytes).
        let found = series::build_files(
            &series::Files(inputs.to_vec()),
            &series::FileOptions::default(),
        )?;
        let mut files: Vec<PathBuf> = Vec::new();
        let mut processes = Vec::with_capacity(found.len());
        for (i, p) in found.into_iter().enumerate() {
            let first = files.len();
            let metas: Vec<SnapshotMeta> = p
                .snapshots
                .iter()
                .enumerate()
                .map(|(j, s)| SnapshotMeta {
                    id: (first + j).to_string(),
                    kind: s.kind.as_str().into(),
                    time_unix_nanos: s.time_nanos,
                    path: s.path.display().to_string(),
                })
                .collect();
            let ids: HashMap<PathBuf, String> = p
                .snapshots
                .iter()
                .enumerate()
                .map(|(j, s)| (s.path.clone(), (first + j).to_string()))
                .collect();
            files.extend(p.snapshots.into_iter().map(|s| s.path));
            let analysis = analyse(p.built, metas, |r| match r {
                SnapshotRef::Path(path) => ids.get(path).cloned(),
                SnapshotRef::Id(_) | SnapshotRef::Stored(_) => None,
            });
            processes.push((files_series_id(i), Arc::new(analysis)));
        }
        Ok(Dashboard::with(Origin::Files {
            paths: inputs.to_vec(),
            processes,
            files,
        }))
    }

    /// A fleet read from a store: `plans` as `series::fleet::plan` made
    /// them, `reads` as `series::fleet::read_fleet` read them.
    pub fn fleet(
        server: Box<dyn ProfileStore>,
        query: FleetQuery,
        plans: &[fleet::ServicePlan],
        reads: Vec<fleet::InstanceRead>,
    ) -> Dashboard {
        let mut stored = Vec::new();
        let mut instances = Vec::with_capacity(reads.len());
        for (i, read) in reads.into_iter().enumerate() {
            let fleet::InstanceRead {
                service,
                instance,
                built,
            } = read;
            let selector = fetch::store::with_matcher(
                &fleet::service_selector(server.service_label(), &service, &query.matchers),
                &query.group_by,
                &instance.group,
            );
            let place = format!("{service} {}={}", query.group_by, instance.group);
            // Every stored profile of the instance, time-ordered, with the
            // store's id a series point names it by.
            let mut found: Vec<(i64, &'static str, String, StoredSnapshot)> = Vec::new();
            for h in &instance.heap {
                found.push((
                    h.time_ms,
                    "heap",
                    h.ids[3].clone().unwrap_or_default(),
                    StoredSnapshot::Heap {
                        selector: selector.clone(),
                        snapshot: h.clone(),
                    },
                ));
            }
            for (kind, profile_type, list) in [
                ("goroutine", fleet::GOROUTINE_TYPE, &instance.goroutines),
                ("goroutineleak", fleet::GOROUTINE_LEAK_TYPE, &instance.leaks),
            ] {
                for g in list {
                    found.push((
                        g.time_ms,
                        kind,
                        g.id.clone(),
                        StoredSnapshot::Goroutines {
                            selector: selector.clone(),
                            profile_type,
                            profile: g.clone(),
                        },
                    ));
                }
            }
            found.sort_by_key(|(t, kind, _, _)| (*t, *kind));
            let mut metas = Vec::with_capacity(found.len());
            let mut ids: HashMap<String, String> = HashMap::new();
            for (time_ms, kind, stored_id, snapshot) in found {
                let id = stored.len().to_string();
                metas.push(SnapshotMeta {
                    id: id.clone(),
                    kind: kind.into(),
                    time_unix_nanos: time_ms.saturating_mul(1_000_000),
                    path: format!("{place}: stored profile {stored_id}"),
                });
                if !stored_id.is_empty() {
                    ids.insert(stored_id, id);
                }
                stored.push(snapshot);
            }
            let analysis = analyse(built, metas, |r| match r {
                SnapshotRef::Stored(id) => ids.get(id).cloned(),
                SnapshotRef::Path(_) | SnapshotRef::Id(_) => None,
            });
            instances.push(FleetInstance {
                series: format!("fleet-{}", i + 1),
                service,
                instance: instance.group,
                analysis: Arc::new(analysis),
            });
        }
        let found: Vec<(&str, &str, &[drift::Finding])> = instances
            .iter()
            .map(|i| {
                let findings = i.analysis.report.findings.as_slice();
                (i.service.as_str(), i.instance.as_str(), findings)
            })
            .collect();
        let rankings = fleet::rank_services(plans, &found);
        Dashboard::with(Origin::Fleet(Box::new(Fleet {
            server,
            query,
            instances,
            stored,
            rankings,
        })))
    }

    /// The fleet's ranking (`None` unless served from a store).
    pub fn fleet_doc(&self) -> Option<FleetDoc<'_>> {
        let Origin::Fleet(f) = &self.origin else {
            return None;
        };
        Some(FleetDoc {
            store: f.server.base(),
            group_by: &f.query.group_by,
            services: f
                .rankings
                .iter()
                .map(|r| FleetService {
                    ranking: r,
                    series: f
                        .instances
                        .iter()
                        .filter(|i| i.service == r.service)
                        .map(|i| (i.instance.as_str(), i.series.as_str()))
                        .collect(),
                })
                .collect(),
        })
    }

    fn with(origin: Origin) -> Dashboard {
        Dashboard {
            origin,
            analyses: Mutex::new(HashMap::new()),
            analysing: Mutex::new(()),
            profiles: Mutex::new(Vec::new()),
        }
    }

    /// `archive` or `files`, and the path(s) given.
    pub fn describe(&self) -> (&'static str, String) {
        match &self.origin {
            Origin::Archive(dir) => ("archive", dir.display().to_string()),
            Origin::Fleet(f) => ("fleet", f.server.base().to_string()),
            Origin::Files { paths, .. } => (
                "files",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }

    /// Targets and their series, read afresh.
    pub fn targets(&self) -> Result<Vec<Target>, DashboardError> {
        match &self.origin {
            Origin::Archive(dir) => archive_targets(dir),
            Origin::Fleet(f) => Ok(f
                .instances
                .iter()
                .map(|i| {
                    let place = format!("{} {}={}", i.service, f.query.group_by, i.instance);
                    process_target(&i.series, place, &i.analysis)
                })
                .collect()),
            Origin::Files { processes, .. } => Ok(processes
                .iter()
                .map(|(id, a)| {
                    let url = if a.header.process.is_empty() {
                        self.describe().1
                    } else {
                        a.header.process.clone()
                    };
                    process_target(id, url, a)
                })
                .collect()),
        }
    }

    /// The analysis of one series (recomputed only when an archive's series
    /// gained or lost snapshots since the last request).
    pub fn analysis(&self, series: &str) -> Result<Arc<Analysis>, DashboardError> {
        match &self.origin {
            Origin::Fleet(f) => f
                .instances
                .iter()
                .find(|i| i.series == series)
                .map(|i| i.analysis.clone())
                .ok_or_else(|| DashboardError::NotFound(format!("series {series:?}"))),
            Origin::Files { processes, .. } => processes
                .iter()
                .find(|(id, _)| id == series)
                .map(|(_, a)| a.clone())
                .ok_or_else(|| DashboardError::NotFound(format!("series {series:?}"))),
            Origin::Archive(dir) => {
                let id: i64 = series
                    .parse()
                    .map_err(|_| DashboardError::NotFound(format!("series {series:?}")))?;
                let archive = Archive::open_read_only(dir)?;
                let infos = archive.snapshots(SeriesId(id), None)?;
                let fp = (infos.len(), infos.iter().map(|s| s.id.0).max().unwrap_or(0));
                if let Some((f, a)) = lock(&self.analyses).get(&id)
                    && *f == fp
                {
                    return Ok(a.clone());
                }
                // The page asks for findings, memory and snapshots at once:
                // one of them analyses, the others wait for its result.
                let _one = lock(&self.analysing);
                if let Some((f, a)) = lock(&self.analyses).get(&id)
                    && *f == fp
                {
                    return Ok(a.clone());
                }
                if infos.is_empty() && !series_exists(&archive, id)? {
                    return Err(DashboardError::NotFound(format!("series {series:?}")));
                }
                let a = Arc::new(archive_analysis(&archive, id, &infos)?);
                lock(&self.analyses).insert(id, (fp, a.clone()));
                Ok(a)
            }
        }
    }

    /// A snapshot's profile, or with a base the difference `src − base`
    /// (pprof's `-diff_base`: base samples negated and labelled
    /// `pprof::base`). Without `src`: the latest heap profile.
    pub fn profile(
        &self,
        src: Option<&str>,
        base: Option<&str>,
    ) -> Result<Arc<Profile>, DashboardError> {
        let src = match src.filter(|s| !s.is_empty()) {
            Some(s) => s.to_string(),
            None => self.default_snapshot()?,
        };
        let base = base.filter(|b| !b.is_empty()).map(str::to_string);
        let key = (src.clone(), base.clone());
        if let Some((_, p)) = lock(&self.profiles).iter().find(|(k, _)| *k == key) {
            return Ok(p.clone());
        }
        let p = self.snapshot_profile(&src)?;
        let p = match &base {
            None => p,
            Some(b) => {
                let b = self.snapshot_profile(b)?;
                let o = report::driver::CombineOptions {
                    diff_base: true,
                    ..Default::default()
                };
                let mut sink = Vec::new();
                let d = report::driver::combine_sources(
                    vec![(*p).clone()],
                    vec![(*b).clone()],
                    &o,
                    &mut sink,
                )
                .map_err(|error| DashboardError::Diff {
                    source_id: src.to_string(),
                    error,
                })?;
                Arc::new(d)
            }
        };
        let mut cache = lock(&self.profiles);
        if cache.len() >= KEEP_PROFILES {
            cache.remove(0);
        }
        cache.push((key, p.clone()));
        Ok(p)
    }

    /// A one-line description of a snapshot for page titles.
    pub fn title(&self, src: Option<&str>) -> String {
        let id = match src.filter(|s| !s.is_empty()) {
            Some(s) => s.to_string(),
            None => match self.default_snapshot() {
                Ok(s) => s,
                Err(_) => return "heapdrift".into(),
            },
        };
        match self.meta(&id) {
            Ok(m) => format!(
                "snapshot {} · {} · {}",
                m.id,
                m.kind,
                drift::render::clock(m.time_unix_nanos)
            ),
            Err(_) => format!("snapshot {id}"),
        }
    }

    fn meta(&self, id: &str) -> Result<SnapshotMeta, DashboardError> {
        let missing = || DashboardError::NotFound(format!("snapshot {id:?}"));
        match &self.origin {
            Origin::Files { processes, .. } => processes
                .iter()
                .flat_map(|(_, a)| a.snapshots.iter())
                .find(|s| s.id == id)
                .cloned()
                .ok_or_else(missing),
            Origin::Fleet(f) => f
                .instances
                .iter()
                .flat_map(|i| i.analysis.snapshots.iter())
                .find(|s| s.id == id)
                .cloned()
                .ok_or_else(missing),
            Origin::Archive(dir) => {
                let n: i64 = id.parse().map_err(|_| missing())?;
                let archive = Archive::open_read_only(dir)?;
                let info = archive.snapshot(SnapshotId(n)).map_err(|_| missing())?;
                Ok(meta_of(&info))
            }
        }
    }

    fn snapshot_profile(&self, id: &str) -> Result<Arc<Profile>, DashboardError> {
        let missing = || DashboardError::NotFound(format!("snapshot {id:?}"));
        match &self.origin {
            Origin::Files { files, .. } => {
                let i: usize = id.parse().map_err(|_| missing())?;
                read_profile(files.get(i).ok_or_else(missing)?)
            }
            Origin::Fleet(f) => {
                let i: usize = id.parse().map_err(|_| missing())?;
                let p = match f.stored.get(i).ok_or_else(missing)? {
                    StoredSnapshot::Heap { selector, snapshot } => {
                        fleet::read_heap(&*f.server, selector, &f.query, snapshot)?
                    }
                    StoredSnapshot::Goroutines {
                        selector,
                        profile_type,
                        profile,
                    } => fleet::read_goroutines(
                        &*f.server,
                        selector,
                        &f.query,
                        profile_type,
                        profile,
                    )?,
                };
                Ok(Arc::new(p))
            }
            Origin::Archive(dir) => {
                let n: i64 = id.parse().map_err(|_| missing())?;
                let archive = Archive::open_read_only(dir)?;
                let info = archive.snapshot(SnapshotId(n)).map_err(|_| missing())?;
                read_profile(&archive.path(&info))
            }
        }
    }

    /// The latest heap profile (of the first target's latest series), else
    /// the latest snapshot of any kind.
    fn default_snapshot(&self) -> Result<String, DashboardError> {
        let pick = |snaps: &[SnapshotMeta]| {
            snaps
                .iter()
                .rev()
                .find(|s| s.kind == "heap")
                .or_else(|| snaps.iter().rev().find(|s| s.kind == "heap_debug1"))
                .or(snaps.last())
                .map(|s| s.id.clone())
        };
        let none = || DashboardError::NotFound("snapshot (the archive is empty)".into());
        match &self.origin {
            Origin::Files { processes, .. } => processes
                .first()
                .and_then(|(_, a)| pick(&a.snapshots))
                .ok_or_else(none),
            Origin::Fleet(f) => f
                .instances
                .first()
                .and_then(|i| pick(&i.analysis.snapshots))
                .ok_or_else(none),
            Origin::Archive(dir) => {
                let archive = Archive::open_read_only(dir)?;
                for t in archive.targets()? {
                    for s in archive.series(t.id)?.iter().rev() {
                        let metas: Vec<SnapshotMeta> = archive
                            .snapshots(s.id, None)?
                            .iter()
                            .filter(|i| i.status == "ok")
                            .map(meta_of)
                            .collect();
                        if let Some(id) = pick(&metas) {
                            return Ok(id);
                        }
                    }
                }
                Err(none())
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking request leaves only a cache behind: keep using it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A process read whole at start-up (plain files, a fleet's instance) as
/// a target with one series.
fn process_target(id: &str, url: String, a: &Analysis) -> Target {
    let (first, last) = (
        a.snapshots.first().map_or(0, |s| s.time_unix_nanos),
        a.snapshots.last().map_or(0, |s| s.time_unix_nanos),
    );
    let gaps = detected_gaps(&a.snapshots);
    Target {
        id: id.to_string(),
        url,
        series: vec![SeriesSummary {
            id: id.to_string(),
            first_unix_nanos: first,
            last_unix_nanos: last,
            span_seconds: (last - first) as f64 / 1e9,
            snapshots: count_kinds(&a.snapshots),
            total: a.snapshots.len(),
            restart_reason: "first".into(),
            restarts: a.restarts,
            gaps: gaps.len(),
            build_id: a.header.build_id.clone(),
        }],
        gaps,
    }
}

fn series_exists(archive: &Archive, id: i64) -> Result<bool, DashboardError> {
    for t in archive.targets()? {
        if archive.series(t.id)?.iter().any(|s| s.id.0 == id) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn count_kinds(snaps: &[SnapshotMeta]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in snaps {
        *m.entry(s.kind.clone()).or_insert(0) += 1;
    }
    m
}

/// For plain files, which record no gaps: intervals between heap snapshots
/// longer than three times the median interval.
fn detected_gaps(snaps: &[SnapshotMeta]) -> Vec<Gap> {
    // One kind only: protos and texts taken together interleave closely.
    let kind = if snaps.iter().any(|s| s.kind == "heap") {
        "heap"
    } else {
        "heap_debug1"
    };
    let mut times: Vec<i64> = snaps
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| s.time_unix_nanos)
        .collect();
    times.dedup();
    let mut steps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.len() < 3 {
        return Vec::new();
    }
    let gaps_from = steps.clone();
    steps.sort_unstable();
    let median = steps[steps.len() / 2];
    gaps_from
        .iter()
        .enumerate()
        .filter(|&(_, &d)| median > 0 && d > 3 * median)
        .map(|(i, &d)| Gap {
            kind: Some(kind.into()),
            from_unix_nanos: times[i],
            to_unix_nanos: times[i + 1],
            reason: "interval".into(),
            message: format!(
                "{} between snapshots (usually {})",
                drift::render::duration(d as f64 / 1e9),
                drift::render::duration(median as f64 / 1e9)
            ),
        })
        .collect()
}

fn archive_targets(dir: &Path) -> Result<Vec<Target>, DashboardError> {
    let archive = Archive::open_read_only(dir)?;
    archive
        .consistent(|a| {
            let mut out = Vec::new();
            for t in a.targets()? {
                let gaps: Vec<Gap> = a.gaps(t.id)?.iter().map(store::Gap::to_json).collect();
                let mut series = Vec::new();
                for s in a.series(t.id)? {
                    let snaps = a.snapshots(s.id, None)?;
                    let first = snaps.first().map_or(s.started_at, |x| x.taken_at);
                    let last = snaps.last().map_or(s.started_at, |x| x.taken_at);
                    let mut kinds = BTreeMap::new();
                    for x in &snaps {
                        *kinds.entry(x.kind.as_str().to_string()).or_insert(0) += 1;
                    }
                    series.push(SeriesSummary {
                        id: s.id.0.to_string(),
                        first_unix_nanos: first,
                        last_unix_nanos: last,
                        span_seconds: (last - first) as f64 / 1e9,
                        snapshots: kinds,
                        total: snaps.len(),
                        restart_reason: s.restart_reason.clone(),
                        restarts: 0,
                        gaps: gaps
                            .iter()
                            .filter(|g| g.to_unix_nanos >= first && g.from_unix_nanos <= last)
                            .count(),
                        build_id: s.identity.build_id.clone().unwrap_or_default(),
                    });
                }
                out.push(Target {
                    id: t.id.0.to_string(),
                    url: t.url,
                    series,
                    gaps,
                });
            }
            Ok(out)
        })
        .map_err(DashboardError::from)
}

fn meta_of(info: &store::SnapshotInfo) -> SnapshotMeta {
    SnapshotMeta {
        id: info.id.0.to_string(),
        kind: info.kind.as_str().into(),
        time_unix_nanos: info.taken_at,
        path: info.path.clone(),
    }
}

/// One archive series through `store::read::build_series` (the heap
/// series from the index's site matrix, the rest from the files).
fn archive_analysis(
    archive: &Archive,
    series: i64,
    infos: &[store::SnapshotInfo],
) -> Result<Analysis, DashboardError> {
    let sel = read::select_series(archive, None, SeriesPick::Id(series))?
        .into_iter()
        .next()
        .ok_or_else(|| DashboardError::NotFound(format!("series {series}")))?;
    let built = read::build_series(archive, &sel, &ArchiveOptions::default())?;
    let metas: Vec<SnapshotMeta> = infos
        .iter()
        .filter(|i| i.kind.family().is_some() && i.status == "ok")
        .map(meta_of)
        .collect();
    Ok(analyse(built, metas, |r| match r {
        SnapshotRef::Id(id) => Some(id.to_string()),
        SnapshotRef::Path(_) | SnapshotRef::Stored(_) => None,
    }))
}

/// The snapshot ids behind a series' points.
fn points(
    times: &[i64],
    sources: &[SnapshotRef],
    id: &impl Fn(&SnapshotRef) -> Option<String>,
) -> Points {
    Points {
        time_nanos: times.to_vec(),
        snapshot: (0..times.len())
            .map(|i| sources.get(i).and_then(id))
            .collect(),
    }
}

/// Hunts the built series; `snapshots` are the snapshots read (or, for
/// an archive, indexed), time-ordered; `id` names the snapshot of a
/// point's source.
fn analyse(
    built: Built,
    snapshots: Vec<SnapshotMeta>,
    id: impl Fn(&SnapshotRef) -> Option<String>,
) -> Analysis {
    let report = built.hunt(&drift::HuntOptions::default());
    let heap = built.heap.as_ref().map_or_else(Points::default, |h| {
        points(&h.time_nanos, &built.points.heap, &id)
    });
    let goroutines = built.goroutines.as_ref().map_or_else(Points::default, |g| {
        points(&g.time_nanos, &built.points.goroutines, &id)
    });
    let mem_times: Vec<i64> = built.memory.iter().map(|m| m.time_nanos).collect();
    let memory = points(&mem_times, &built.points.memory, &id);
    let resources = built
        .resources
        .iter()
        .zip(&built.points.resources)
        .map(|(r, sources)| (r.name.clone(), points(&r.series.time_nanos, sources, &id)))
        .collect();
    let restarts = [
        built.heap.as_ref().map_or(0, |h| h.breaks.len()),
        built.goroutines.as_ref().map_or(0, |g| g.breaks.len()),
        built.memory_breaks.len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    Analysis {
        header: built.header.clone(),
        report,
        snapshots,
        heap,
        goroutines,
        memory,
        resources,
        memory_points: built.memory,
        memory_breaks: built.memory_breaks,
        restarts,
    }
}

/// A snapshot file, parsed.
fn read_profile(path: &std::path::Path) -> Result<Arc<Profile>, DashboardError> {
    let bytes = std::fs::read(path).map_err(profile::PathError::on("open", path))?;
    let parsed = profile::parse(&bytes, &ParseOptions::default()).map_err(|error| {
        DashboardError::Parse {
            path: path.display().to_string(),
            error,
        }
    })?;
    Ok(Arc::new(parsed.profile))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: &str, secs: i64) -> SnapshotMeta {
        SnapshotMeta {
            id: secs.to_string(),
            kind: kind.into(),
            time_unix_nanos: secs * 1_000_000_000,
            path: String::new(),
        }
    }

    #[test]
    fn long_intervals_of_plain_files_are_gaps() {
        let mut snaps: Vec<SnapshotMeta> = [0, 15, 30, 45, 200, 215]
            .iter()
            .map(|&s| meta("heap", s))
            .collect();
        snaps.push(meta("goroutine", 100));
        // Texts taken beside the protos do not make the intervals short.
        snaps.extend(
            [1, 16, 31, 46, 201, 216]
                .iter()
                .map(|&s| meta("heap_debug1", s)),
        );
        snaps.sort_by_key(|s| s.time_unix_nanos);
        let gaps = detected_gaps(&snaps);
        assert_eq!(gaps.len(), 1);
        assert_eq!(
            (gaps[0].from_unix_nanos, gaps[0].to_unix_nanos),
            (45_000_000_000, 200_000_000_000)
        );
        assert_eq!(gaps[0].reason, "interval");
        // Regular intervals, or too few to tell: none.
        assert!(detected_gaps(&snaps[..8]).is_empty());
        assert!(detected_gaps(&snaps[..6]).is_empty());
    }
}
