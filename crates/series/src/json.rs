//! Every JSON document about a hunt, in one place: `heapdrift hunt --json`
//! (one report, or an envelope of reports) and the API of `heapdrift
//! serve`'s dashboard. One shape per concept, so a field has one name
//! everywhere: times are Unix nanoseconds named `*_unix_nanos`, a gap is
//! a [`Gap`] in the hunt report and in the dashboard's target list alike,
//! and the dashboard's findings document is a [`Report`] whose findings
//! carry what it draws. The schemas are in docs/hunt-json.md and
//! docs/dashboard.md; this module only defines the shapes, their producers
//! fill them.

use std::collections::BTreeMap;

use drift::Finding;
use drift::render::Header;
use serde::Serialize;

/// Changes only when a field is removed or changes meaning.
pub const SCHEMA: u32 = 1;

/// One report: a process (plain files) or one series of an archive.
/// `findings` are drift's findings (`hunt --json`) or those with what the
/// dashboard draws ([`FindingView`]).
#[derive(Clone, Debug, Serialize)]
pub struct Report<'a, F: Serialize> {
    pub schema: u32,
    /// The dashboard's series id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<&'a str>,
    pub process: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub build_id: &'a str,
    pub snapshots: BTreeMap<&'a str, usize>,
    pub start_unix_nanos: i64,
    pub end_unix_nanos: i64,
    pub span_seconds: f64,
    pub notes: Vec<String>,
    pub findings: F,
    /// Where in an archive the series comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveRef>,
    /// Where in a profile store (Pyroscope, Parca) the series comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetRef>,
}

/// One service of a profile store: what grows, on how many replicas.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceRanking {
    pub service: String,
    pub instances_read: usize,
    /// Instances the `--replicas` triage left out.
    pub instances_left_out: Vec<String>,
    pub sites: Vec<drift::fleet::FleetSite>,
}

/// A service's instance in a profile store.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FleetRef {
    /// The store's URL.
    pub store: String,
    pub service: String,
    /// The label that tells instances apart (`instance`, `pod`) and its
    /// value.
    pub group_by: String,
    pub instance: String,
}

impl<'a, F: Serialize> Report<'a, F> {
    pub fn new(header: &'a Header, findings: F) -> Self {
        Report {
            schema: SCHEMA,
            series: None,
            process: &header.process,
            build_id: &header.build_id,
            snapshots: header
                .snapshots
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect(),
            start_unix_nanos: header.start_unix_nanos,
            end_unix_nanos: header.end_unix_nanos,
            span_seconds: header.span_seconds(),
            notes: drift::render::header_notes(header),
            findings,
            archive: None,
            fleet: None,
        }
    }
}

/// `hunt --json`'s report of drift's findings.
pub type HuntReport<'a> = Report<'a, &'a [Finding]>;

/// `GET /api/series/{id}/findings`: the same report, its findings with
/// what the dashboard draws, and `series` set.
pub type FindingsReport<'a> = Report<'a, Vec<FindingView<'a>>>;

/// Several reports: several series of an archive (`archive`), or several
/// processes among plain files (`inputs`).
#[derive(Clone, Debug, Serialize)]
pub struct Envelope<R: Serialize> {
    pub schema: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<String>>,
    /// The profile store the reports come from (`hunt --from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// `hunt --from`: per service, its growing sites across instances.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceRanking>,
    pub reports: Vec<R>,
}

/// Where in an archive a series comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArchiveRef {
    pub dir: String,
    pub target: String,
    pub series: i64,
    pub series_started_unix_nanos: i64,
    pub restart_reason: String,
    pub gaps: Vec<Gap>,
}

/// A time a target gave nothing (for `kind`, or at all when absent).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gap {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub from_unix_nanos: i64,
    pub to_unix_nanos: i64,
    /// `down`, `timeout`, `5xx`, `garbage`; for plain files, `interval`.
    pub reason: String,
    pub message: String,
}

/// `GET /api/targets`.
#[derive(Clone, Debug, Serialize)]
pub struct Targets {
    /// `archive` or `files`.
    pub source: &'static str,
    pub path: String,
    pub targets: Vec<Target>,
}

/// A target (plain files: a process among them) and its series.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub id: String,
    pub url: String,
    pub series: Vec<SeriesSummary>,
    pub gaps: Vec<Gap>,
}

/// One series (process lifetime) as a list shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesSummary {
    pub id: String,
    /// Of the first and last snapshot (0 without any).
    pub first_unix_nanos: i64,
    pub last_unix_nanos: i64,
    pub span_seconds: f64,
    /// Snapshots per kind.
    pub snapshots: BTreeMap<String, usize>,
    pub total: usize,
    /// "first", or why the process is thought to have restarted.
    pub restart_reason: String,
    /// Restarts inside this series (always 0 for an archive, whose
    /// restarts start new series).
    pub restarts: usize,
    /// Gaps of the target that overlap this series.
    pub gaps: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub build_id: String,
}

/// One snapshot as a list shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnapshotMeta {
    pub id: String,
    /// The archive's kind name (`heap`, `heap_debug1`, `goroutine_dump`,
    /// ...), also for plain files.
    pub kind: String,
    pub time_unix_nanos: i64,
    /// The file, relative to the archive or as given.
    pub path: String,
}

/// `GET /api/series/{id}/snapshots`.
#[derive(Serialize)]
pub struct Snapshots<'a> {
    pub series: &'a str,
    pub snapshots: &'a [SnapshotMeta],
}

/// One finding of `GET /api/series/{id}/findings` (a [`Report`] of these):
/// drift's finding (the `hunt --json` fields) plus what the dashboard
/// draws.
#[derive(Serialize)]
pub struct FindingView<'a> {
    /// 1-based, in drift's rank order.
    pub rank: usize,
    #[serde(flatten)]
    pub finding: &'a Finding,
    /// The growth rate as the text report prints it (`+1.2 MiB/min`), or
    /// `no rate`.
    pub rate: String,
    /// The series' points, with the snapshot each was read from.
    pub points: Vec<Point>,
    /// The Theil–Sen line of the finding's statistics, one piece per
    /// segment (restarts split a series).
    pub trend: Option<Trend>,
    /// For a plateau: the level it settled at (median of the last third).
    pub plateau: Option<f64>,
    /// The flame graph of the latest snapshot, and the diff flame graph of
    /// the last snapshot against the first.
    pub flame: Option<String>,
    pub diff: Option<String>,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct Point {
    pub time_unix_nanos: i64,
    pub value: f64,
    /// null when unknown.
    pub snapshot: Option<String>,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct Trend {
    /// Units per second.
    pub slope_per_sec: f64,
    pub segments: Vec<TrendSegment>,
}

/// The line `value = intercept + slope_per_sec × (t − origin)/1e9` over the
/// points `first_point..=last_point` (indexes into the finding's points),
/// where `origin_unix_nanos` is the series' first time; its end points are
/// given too.
#[derive(Serialize, Debug, PartialEq)]
pub struct TrendSegment {
    pub first_point: usize,
    pub last_point: usize,
    pub origin_unix_nanos: i64,
    pub intercept: f64,
    pub start_unix_nanos: i64,
    pub start_value: f64,
    pub end_unix_nanos: i64,
    pub end_value: f64,
}

/// `GET /api/series/{id}/memory`: the MemStats accounting per snapshot,
/// bytes, in the stacking order of `components`.
#[derive(Serialize)]
pub struct Memory<'a> {
    pub series: &'a str,
    pub components: [&'static str; 6],
    pub points: Vec<MemoryPoint>,
    pub breaks: &'a [usize],
}

#[derive(Serialize)]
pub struct MemoryPoint {
    pub time_unix_nanos: i64,
    pub snapshot: Option<String>,
    pub values: [u64; 6],
    /// The footer's MaxRSS (a peak), when printed.
    pub max_rss: Option<u64>,
    /// The current RSS read beside it, when known.
    pub rss: Option<u64>,
}
