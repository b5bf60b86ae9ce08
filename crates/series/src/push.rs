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
        // Not pushed: `hunt --from` reads no custom profile back yet
        // (docs/fleet.md).
        Kind::Metrics | Kind::Probe | Kind::Resource => return None,
    })
}

/// Which of a series' kinds to push. Kinds that are views of one profile
/// (`heap`, its `debug=1` text and `allocs` hold the same four sample
/// values; the goroutine profile, its text and the full dump the same
/// counts) would be added up by the store, which sums what shares a name:
/// only the most complete view of each goes, the proto first.
pub fn kinds_to_push(present: &[Kind]) -> Vec<Kind> {
    let families: [&[Kind]; 2] = [
        &[Kind::Heap, Kind::HeapDebug1, Kind::Allocs],
        &[Kind::Goroutine, Kind::GoroutineDebug1, Kind::GoroutineDump],
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
    out
}

/// The gzipped pprof to push for the snapshot at `path`: parsed as
/// `hunt` parses it, stamped with the series' time for it (the store
/// files a profile at its own `time_nanos`).
pub fn payload(path: &Path, time_nanos: i64, opts: &ParseOptions) -> Result<Payload, SeriesError> {
    let bytes =
        std::fs::read(path).map_err(|error| profile::PathError::new("open", path, error))?;
    let mut parsed = profile::parse(&bytes, opts).map_err(|error| SeriesError::Parse {
        path: path.display().to_string(),
        error,
    })?;
    parsed.profile.time_nanos = time_nanos;
    Ok(Payload {
        bytes: profile::gz::compress(&profile::proto::encode(&parsed.profile)),
        period: parsed.profile.period,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_view_of_each_profile() {
        use Kind::*;
        assert_eq!(
            kinds_to_push(&[Allocs, HeapDebug1, Heap, GoroutineDump, Metrics]),
            vec![Heap, GoroutineDump]
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
        assert_eq!(kinds_to_push(&[Metrics]), vec![]);
    }
}
