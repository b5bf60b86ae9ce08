//! Snapshots as a continuous-profiling store (Grafana Pyroscope) keeps
//! them: a pprof per snapshot, at the snapshot's time, under a profile
//! name. What such a store cannot hold (MemStats footers, goroutine
//! states and wait times, RSS) stays behind; the pprof of a text snapshot
//! is what `go tool pprof` would make of it.

use std::path::Path;

use profile::ParseOptions;

use crate::{Kind, SeriesError};

/// The `__name__` Pyroscope files a kind under (its Go integrations' names:
/// `memory` for the heap, `process_cpu`, ...), or `None` for kinds that
/// are not profiles (metrics texts).
pub fn profile_name(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Heap | Kind::HeapDebug1 | Kind::Allocs => "memory",
        Kind::Goroutine | Kind::GoroutineDebug1 | Kind::GoroutineDump => "goroutine",
        Kind::GoroutineLeak => "goroutineleak",
        Kind::Profile => "process_cpu",
        Kind::Block => "block",
        Kind::Mutex => "mutex",
        Kind::Threadcreate => "threadcreate",
        // RSS readings go as a side series of their own: a store keeps
        // profiles, not numbers (`rss_profile`).
        Kind::Metrics | Kind::Probe => RSS_PROFILE,
        // Not pushed: `hunt --from` reads no custom profile back yet
        // (docs/fleet.md).
        Kind::Resource => return None,
    })
}

/// Which of a series' kinds to push. Kinds that are views of one profile
/// (`heap`, its `debug=1` text and `allocs` hold the same four sample
/// values; the goroutine profile, its text and the full dump the same
/// counts) would be added up by the store, which sums what shares a name:
/// only the most complete view of each goes, the proto first.
pub fn kinds_to_push(present: &[Kind]) -> Vec<Kind> {
    let families: [&[Kind]; 3] = [
        &[Kind::Heap, Kind::HeapDebug1, Kind::Allocs],
        &[Kind::Goroutine, Kind::GoroutineDebug1, Kind::GoroutineDump],
        // Two sources of one RSS; the probe's has the limits too.
        &[Kind::Probe, Kind::Metrics],
    ];
    let mut out = Vec::new();
    for &k in present {
        if profile_name(k).is_none() || out.contains(&k) {
            continue;
        }
        let preferred = families
            .iter()
            .find(|f| f.contains(&k))
            .and_then(|f| f.iter().find(|c| present.contains(c)))
            .copied()
            .unwrap_or(k);
        if preferred == k {
            out.push(k);
        }
    }
    out
}

/// What to push for one snapshot.
pub struct Payload {
    /// The gzipped pprof.
    pub bytes: Vec<u8>,
    /// Its sampling period (0: none), which the store does not keep: heap
    /// profiles carry it in the label `fetch::store::PERIOD_LABEL`.
    pub period: i64,
    /// Facts of the snapshot that go as labels (the memory limits of a
    /// probe snapshot).
    pub labels: Vec<(&'static str, String)>,
}

/// The labels a snapshot of `kind` is pushed under, beyond the caller's
/// own (`service_name`, `instance`, ...): its profile name and, for heap
/// profiles, the sampling period the store would otherwise guess.
pub fn labels(kind: Kind, payload: &Payload) -> Vec<(&'static str, String)> {
    let Some(name) = profile_name(kind) else {
        return Vec::new();
    };
    let mut out = vec![("__name__", name.to_string())];
    if name == "memory" && payload.period > 0 {
        out.push((fetch::store::PERIOD_LABEL, payload.period.to_string()));
    }
    out.extend(payload.labels.iter().cloned());
    out
}

/// The gzipped pprof to push for the snapshot at `path`: parsed as
/// `hunt` parses it, stamped with the series' time for it (the store
/// files a profile at its own `time_nanos`).
pub fn payload(
    kind: Kind,
    path: &Path,
    time_nanos: i64,
    opts: &ParseOptions,
) -> Result<Payload, SeriesError> {
    let bytes =
        std::fs::read(path).map_err(|error| profile::PathError::new("open", path, error))?;
    if kind.family() == Some(crate::Family::Rss) {
        return rss_payload(kind, path, &bytes, time_nanos);
    }
    let mut parsed = profile::parse(&bytes, opts).map_err(|error| SeriesError::Parse {
        path: path.display().to_string(),
        error,
    })?;
    parsed.profile.time_nanos = time_nanos;
    Ok(Payload {
        bytes: profile::gz::compress(&profile::proto::encode(&parsed.profile)),
        period: parsed.profile.period,
        labels: Vec::new(),
    })
}

/// The `__name__` of the RSS side series.
pub const RSS_PROFILE: &str = "heapdrift_rss";

/// An RSS reading (a probe snapshot or a metrics text) as a pprof of one
/// sample type, `resident/bytes`, whose samples split the RSS into its
/// anonymous and file-backed parts: the store's timeline of the series is
/// the process's RSS, and its flame graph the split. A probe snapshot's
/// limits go as labels (constant over a process's life, so they add no
/// series per value).
fn rss_payload(
    kind: Kind,
    path: &Path,
    bytes: &[u8],
    time_nanos: i64,
) -> Result<Payload, SeriesError> {
    let unreadable = |why: &str| SeriesError::Reread {
        what: path.display().to_string(),
        why: why.to_string(),
    };
    let no_reading = || unreadable("no RSS reading in it");
    let mut labels = Vec::new();
    // A probe snapshot is parsed once, for its reading and its limits.
    let reading = if kind == Kind::Probe {
        let snap = profile::probe::parse_snapshot(bytes).map_err(|_| no_reading())?;
        if let Some(l) = snap.cgroup_limit_bytes {
            labels.push(("heapdrift_cgroup_limit_bytes", l.to_string()));
        }
        if let Some(l) = snap.gomemlimit_bytes.filter(|&l| l > 0 && l < i64::MAX) {
            labels.push(("heapdrift_gomemlimit_bytes", l.to_string()));
        }
        // A Guard capture: the limit it was taken near.
        if let Some(c) = &snap.capture {
            labels.push(("heapdrift_guard_limit_bytes", c.limit_bytes.to_string()));
        }
        snap.rss.ok_or_else(no_reading)?
    } else {
        kind.rss_reading(bytes).ok_or_else(no_reading)?
    };
    Ok(Payload {
        bytes: profile::gz::compress(&profile::proto::encode(&rss_profile(reading, time_nanos))),
        period: 0,
        labels,
    })
}

/// The pprof of an RSS reading (see [`rss_payload`]).
pub fn rss_profile(r: profile::metrics::Resident, time_nanos: i64) -> profile::Profile {
    use profile::{Function, Line, Location, Profile, Sample, ValueType};
    let parts: Vec<(&str, u64)> = match r.anonymous {
        Some(anon) => vec![
            ("anonymous", anon.min(r.total)),
            ("file-backed", r.total.saturating_sub(anon)),
        ],
        None => vec![("resident (not split)", r.total)],
    };
    let mut p = Profile {
        sample_types: vec![ValueType::new("resident", "bytes")],
        period_type: Some(ValueType::new("resident", "bytes")),
        period: 1,
        time_nanos,
        ..Default::default()
    };
    let mut samples = Vec::new();
    for (i, name) in std::iter::once("RSS")
        .chain(parts.iter().map(|(n, _)| *n))
        .enumerate()
    {
        p.functions.push(Function {
            id: i as u64 + 1,
            name: name.into(),
            system_name: name.into(),
            ..Default::default()
        });
        p.locations.push(Location {
            id: i as u64 + 1,
            lines: vec![Line {
                function: Some(i as u32),
                line: 0,
                column: 0,
            }],
            ..Default::default()
        });
    }
    for (i, &(_, value)) in parts.iter().enumerate() {
        samples.push(Sample {
            // Leaf first: the part, then the root.
            locations: vec![i as u32 + 1, 0],
            values: vec![value as i64],
            labels: Vec::new(),
            num_labels: Vec::new(),
        });
    }
    p.samples = samples.into();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    use Kind::*;

    #[test]
    fn one_view_of_each_profile() {
        assert_eq!(
            kinds_to_push(&[Allocs, HeapDebug1, Heap, GoroutineDump, Metrics]),
            vec![Heap, GoroutineDump, Metrics]
        );
        assert_eq!(
            kinds_to_push(&[
                HeapDebug1,
                Allocs,
                GoroutineLeak,
                Goroutine,
                GoroutineDebug1
            ]),
            vec![HeapDebug1, GoroutineLeak, Goroutine]
        );
        assert_eq!(kinds_to_push(&[Metrics]), vec![Metrics]);
        assert_eq!(kinds_to_push(&[Metrics, Heap, Probe]), vec![Heap, Probe]);
        assert_eq!(kinds_to_push(&[Resource, Heap]), vec![Heap]);
    }

    /// A probe snapshot goes as the RSS side series: its total is the RSS,
    /// split into the anonymous and file-backed parts, at the snapshot's
    /// time, with the limits as labels.
    #[test]
    fn a_probe_snapshot_is_pushed_as_a_pprof_of_its_rss() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/probe/guard-captures");
        let path = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .expect("a probe snapshot");
        let bytes = std::fs::read(&path).unwrap();
        let snap = profile::probe::parse_snapshot(&bytes).unwrap();
        let rss = snap.rss.unwrap();
        let payload = payload(Probe, &path, 123, &ParseOptions::default()).unwrap();
        let p = profile::parse(&payload.bytes, &ParseOptions::default())
            .unwrap()
            .profile;
        assert_eq!(p.time_nanos, 123);
        assert_eq!(p.sample_types[0].r#type, "resident");
        let total: i64 = p.samples.iter().map(|s| s.values[0]).sum();
        assert_eq!(total as u64, rss.total);
        let anon = rss.anonymous.expect("the probe splits the RSS");
        let part = |name: &str| {
            p.samples
                .iter()
                .find(|s| {
                    p.functions[p.locations[s.locations[0] as usize].lines[0]
                        .function
                        .unwrap() as usize]
                        .name
                        == name
                })
                .map(|s| s.values[0] as u64)
        };
        assert_eq!(part("anonymous"), Some(anon));
        assert_eq!(part("file-backed"), Some(rss.total - anon));
        let labels = labels(Probe, &payload);
        assert_eq!(labels[0], ("__name__", RSS_PROFILE.to_string()));
        if let Some(l) = snap.cgroup_limit_bytes {
            assert!(labels.contains(&("heapdrift_cgroup_limit_bytes", l.to_string())));
        }
        let limit = snap.capture.expect("a Guard capture").limit_bytes;
        assert!(labels.contains(&("heapdrift_guard_limit_bytes", limit.to_string())));
    }
}
