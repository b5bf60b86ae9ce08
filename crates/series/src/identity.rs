//! Process identity and restart detection.
//!
//! A Go process serves no pid or start time through `/debug/pprof/`, so a
//! restart is inferred from what the profiles do carry: the build id and
//! path of the main binary (first mapping), cumulative counters that only
//! grow within one process (the heap profile's alloc totals, MemStats'
//! TotalAlloc, Mallocs, NumGC), the end time of the first GC (known while
//! the MemStats pause ring still holds every GC), and goroutine ids.

use profile::proto::FlatProfile;
use profile::{Parsed, SourceFormat};
use serde::{Deserialize, Serialize};

/// What a snapshot tells about the process that produced it. Fields are
/// `None` when the snapshot's format does not carry them; comparisons use
/// only fields both sides have, so compare snapshots of the same kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Build id of the main binary (the first mapping).
    pub build_id: Option<String>,
    /// Path of the main binary (the first mapping).
    pub main_binary: Option<String>,
    /// Start address of the first mapping: differs between processes of a
    /// position-independent binary (ASLR), fixed within one.
    pub main_start: Option<u64>,
    /// Start address of the `[vdso]` mapping: placed by ASLR at exec, so
    /// it differs between processes even of a non-PIE binary and catches a
    /// restart whose counters have already caught up.
    pub vdso_start: Option<u64>,
    /// Heap profile: sum of alloc_space over all samples (cumulative).
    pub alloc_space: Option<i64>,
    /// Heap profile: sum of alloc_objects over all samples (cumulative).
    pub alloc_objects: Option<i64>,
    /// MemStats (heap debug=1 footer).
    pub total_alloc: Option<u64>,
    pub mallocs: Option<u64>,
    pub num_gc: Option<u64>,
    /// Unix nanoseconds at which the process's first GC ended, when the
    /// MemStats pause ring still holds every GC (NumGC <= its length): a
    /// fixed point of the process's life, so a change means another process.
    pub first_gc_end: Option<u64>,
    /// Highest goroutine id in a `debug=2` dump.
    pub max_goroutine_id: Option<u64>,
    /// The profile's own time stamp (0 in formats without one).
    pub time_nanos: Option<i64>,
}

impl Identity {
    /// Extracts the identity of a parsed snapshot.
    pub fn from_parsed(p: &Parsed) -> Identity {
        let prof = &p.profile;
        let mut id = Identity::default();
        if let Some(m) = prof.mappings.first() {
            if !m.build_id.is_empty() {
                id.build_id = Some(m.build_id.clone());
            }
            if !m.file.is_empty() {
                id.main_binary = Some(m.file.clone());
            }
            id.main_start = Some(m.start).filter(|&s| s != 0);
        }
        id.vdso_start = prof
            .mappings
            .iter()
            .find(|m| m.file == "[vdso]")
            .map(|m| m.start)
            .filter(|&s| s != 0);
        let col = |name: &str| prof.sample_types.iter().position(|t| t.r#type == name);
        let sum = |i: usize| {
            prof.samples
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .fold(0i64, i64::saturating_add)
        };
        // A profile without samples tells nothing of the counters (a
        // total of 0 would read as a reset).
        if !prof.samples.is_empty() {
            id.alloc_space = col("alloc_space").map(sum);
            id.alloc_objects = col("alloc_objects").map(sum);
        }
        if let Some(ms) = &p.memstats {
            id.total_alloc = Some(ms.total_alloc);
            id.mallocs = Some(ms.mallocs);
            id.num_gc = Some(ms.num_gc);
            let n = ms.num_gc as usize;
            if n > 0 && n <= ms.pause_end.len() {
                // Go writes the ring at index (NumGC+255)%256, so while it
                // has not wrapped, the first GC sits at index 0.
                id.first_gc_end = ms.pause_end.first().copied().filter(|&t| t > 0);
            }
        }
        if let Some(gs) = &p.goroutines {
            id.max_goroutine_id = gs.iter().map(|g| g.id).max();
        }
        if prof.time_nanos != 0 && p.format == SourceFormat::Proto {
            id.time_nanos = Some(prof.time_nanos);
        }
        id
    }
}

impl Identity {
    /// [`Identity::from_parsed`] of a heap profile.proto read by the lean
    /// decoder.
    pub fn from_flat(f: &FlatProfile) -> Identity {
        let mut id = Identity::default();
        if let Some(m) = f.mappings.first() {
            let build_id = f.string(m.build_id);
            if !build_id.is_empty() {
                id.build_id = Some(build_id.into_owned());
            }
            let file = f.string(m.file);
            if !file.is_empty() {
                id.main_binary = Some(file.into_owned());
            }
            id.main_start = Some(m.start).filter(|&s| s != 0);
        }
        id.vdso_start = f
            .mappings
            .iter()
            .find(|m| f.string(m.file) == "[vdso]")
            .map(|m| m.start)
            .filter(|&s| s != 0);
        let col = |name: &str| {
            f.sample_types
                .iter()
                .position(|t| f.string(t.r#type) == name)
        };
        let sum = |i: usize| {
            (0..f.sample_count())
                .map(|s| f.sample_values(s).get(i).copied().unwrap_or(0))
                .fold(0i64, i64::saturating_add)
        };
        if f.sample_count() > 0 {
            id.alloc_space = col("alloc_space").map(sum);
            id.alloc_objects = col("alloc_objects").map(sum);
        }
        if f.time_nanos != 0 {
            id.time_nanos = Some(f.time_nanos);
        }
        id
    }

    /// Whether the snapshot names its main binary: then it can be told
    /// apart from other processes' snapshots on its own.
    pub fn has_mapping(&self) -> bool {
        self.main_binary.is_some() || self.build_id.is_some()
    }

    /// Only what the mappings say: comparable across kinds (the counters
    /// of a proto and of a debug=1 text differ by sampling).
    pub fn mapping_only(&self) -> Identity {
        Identity {
            build_id: self.build_id.clone(),
            main_binary: self.main_binary.clone(),
            main_start: self.main_start,
            vdso_start: self.vdso_start,
            ..Default::default()
        }
    }
}

/// Why a snapshot starts a new series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RestartReason {
    BuildIdChanged {
        from: String,
        to: String,
    },
    BinaryChanged {
        from: String,
        to: String,
    },
    /// The main binary or the vdso sits at another address.
    AddressLayoutChanged {
        mapping: String,
        from: u64,
        to: u64,
    },
    /// A counter that only grows within one process went down.
    CounterReset {
        counter: String,
        from: i128,
        to: i128,
    },
    FirstGcChanged {
        from: u64,
        to: u64,
    },
    /// The highest goroutine id fell sharply; used only when no counter is
    /// available (live ids can fall when old goroutines exit).
    GoroutineIdsReset {
        from: u64,
        to: u64,
    },
}

impl std::fmt::Display for RestartReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartReason::BuildIdChanged { from, to } => write!(f, "build id {from} -> {to}"),
            RestartReason::BinaryChanged { from, to } => write!(f, "binary {from} -> {to}"),
            RestartReason::AddressLayoutChanged { mapping, from, to } => {
                write!(f, "{mapping} moved {from:#x} -> {to:#x}")
            }
            RestartReason::CounterReset { counter, from, to } => {
                write!(f, "{counter} went down {from} -> {to}")
            }
            RestartReason::FirstGcChanged { from, to } => {
                write!(f, "first GC end moved {from} -> {to}")
            }
            RestartReason::GoroutineIdsReset { from, to } => {
                write!(f, "max goroutine id fell {from} -> {to}")
            }
        }
    }
}

/// The verdict of [`detect_restart`].
#[derive(Clone, Debug, PartialEq)]
pub enum Continuity {
    SameProcess,
    Restarted(Vec<RestartReason>),
}

impl Continuity {
    pub fn is_restart(&self) -> bool {
        matches!(self, Continuity::Restarted(_))
    }

    /// The reasons, joined for a log line or the `series.restart_reason`
    /// column.
    pub fn describe(&self) -> String {
        match self {
            Continuity::SameProcess => "same process".into(),
            Continuity::Restarted(r) => r
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Decides whether `new` comes from the same process as `prev`.
pub fn detect_restart(prev: &Identity, new: &Identity) -> Continuity {
    let mut reasons = Vec::new();
    if let (Some(a), Some(b)) = (&prev.build_id, &new.build_id)
        && a != b
    {
        reasons.push(RestartReason::BuildIdChanged {
            from: a.clone(),
            to: b.clone(),
        });
    }
    if let (Some(a), Some(b)) = (&prev.main_binary, &new.main_binary)
        && a != b
    {
        reasons.push(RestartReason::BinaryChanged {
            from: a.clone(),
            to: b.clone(),
        });
    }
    // Addresses are compared only for the same binary: a new build moving
    // is already reported above.
    if reasons.is_empty() {
        for (name, a, b) in [
            ("main binary", prev.main_start, new.main_start),
            ("[vdso]", prev.vdso_start, new.vdso_start),
        ] {
            if let (Some(a), Some(b)) = (a, b)
                && a != b
            {
                reasons.push(RestartReason::AddressLayoutChanged {
                    mapping: name.into(),
                    from: a,
                    to: b,
                });
            }
        }
    }
    let mut counters = 0;
    let mut check = |name: &str, a: Option<i128>, b: Option<i128>| {
        if let (Some(a), Some(b)) = (a, b) {
            counters += 1;
            if b < a {
                reasons.push(RestartReason::CounterReset {
                    counter: name.into(),
                    from: a,
                    to: b,
                });
            }
        }
    };
    check(
        "alloc_space",
        prev.alloc_space.map(i128::from),
        new.alloc_space.map(i128::from),
    );
    check(
        "alloc_objects",
        prev.alloc_objects.map(i128::from),
        new.alloc_objects.map(i128::from),
    );
    check(
        "MemStats.TotalAlloc",
        prev.total_alloc.map(i128::from),
        new.total_alloc.map(i128::from),
    );
    check(
        "MemStats.Mallocs",
        prev.mallocs.map(i128::from),
        new.mallocs.map(i128::from),
    );
    check(
        "MemStats.NumGC",
        prev.num_gc.map(i128::from),
        new.num_gc.map(i128::from),
    );
    if let (Some(a), Some(b)) = (prev.first_gc_end, new.first_gc_end)
        && a != b
    {
        reasons.push(RestartReason::FirstGcChanged { from: a, to: b });
    }
    if counters == 0
        && let (Some(a), Some(b)) = (prev.max_goroutine_id, new.max_goroutine_id)
        && a >= 100
        && b < a / 2
    {
        reasons.push(RestartReason::GoroutineIdsReset { from: a, to: b });
    }
    if reasons.is_empty() {
        Continuity::SameProcess
    } else {
        Continuity::Restarted(reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap(build: &str, alloc: i64) -> Identity {
        Identity {
            build_id: Some(build.into()),
            main_binary: Some("/srv/app".into()),
            alloc_space: Some(alloc),
            alloc_objects: Some(alloc / 16),
            ..Default::default()
        }
    }

    #[test]
    fn growing_counters_same_process() {
        assert_eq!(
            detect_restart(&heap("b1", 1000), &heap("b1", 5000)),
            Continuity::SameProcess
        );
        // Equal counters (an idle process) are not a restart.
        assert_eq!(
            detect_restart(&heap("b1", 1000), &heap("b1", 1000)),
            Continuity::SameProcess
        );
    }

    #[test]
    fn counter_reset_is_restart() {
        let c = detect_restart(&heap("b1", 5000), &heap("b1", 1000));
        let Continuity::Restarted(r) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(
            matches!(&r[0], RestartReason::CounterReset { counter, from: 5000, to: 1000 } if counter == "alloc_space")
        );
        assert!(c.describe().contains("alloc_space went down 5000 -> 1000"));
    }

    #[test]
    fn new_build_is_restart_even_with_grown_counters() {
        let c = detect_restart(&heap("b1", 1000), &heap("b2", 9000));
        assert_eq!(
            c,
            Continuity::Restarted(vec![RestartReason::BuildIdChanged {
                from: "b1".into(),
                to: "b2".into()
            }])
        );
    }

    #[test]
    fn missing_fields_are_not_evidence() {
        let bare = Identity::default();
        assert_eq!(
            detect_restart(&heap("b1", 1000), &bare),
            Continuity::SameProcess
        );
        assert_eq!(
            detect_restart(&bare, &heap("b1", 10)),
            Continuity::SameProcess
        );
    }

    #[test]
    fn memstats_counters_and_first_gc() {
        let a = Identity {
            total_alloc: Some(10 << 20),
            mallocs: Some(1000),
            num_gc: Some(5),
            first_gc_end: Some(111),
            ..Default::default()
        };
        let grown = Identity {
            total_alloc: Some(20 << 20),
            mallocs: Some(2000),
            num_gc: Some(9),
            first_gc_end: Some(111),
            ..Default::default()
        };
        assert_eq!(detect_restart(&a, &grown), Continuity::SameProcess);
        // A fast restart whose counters already exceed the old ones is still
        // caught by the first GC's time.
        let other = Identity {
            first_gc_end: Some(222),
            ..grown.clone()
        };
        assert_eq!(
            detect_restart(&a, &other),
            Continuity::Restarted(vec![RestartReason::FirstGcChanged { from: 111, to: 222 }])
        );
        let reset = Identity {
            num_gc: Some(1),
            ..grown
        };
        assert!(detect_restart(&a, &reset).is_restart());
    }

    #[test]
    fn goroutine_ids_only_without_counters() {
        let a = Identity {
            max_goroutine_id: Some(5000),
            ..Default::default()
        };
        let b = Identity {
            max_goroutine_id: Some(12),
            ..Default::default()
        };
        assert!(detect_restart(&a, &b).is_restart());
        let small = Identity {
            max_goroutine_id: Some(50),
            ..Default::default()
        };
        assert!(!detect_restart(&small, &b).is_restart());
        let with_counters = |g| Identity {
            max_goroutine_id: Some(g),
            num_gc: Some(3),
            ..Default::default()
        };
        assert!(!detect_restart(&with_counters(5000), &with_counters(12)).is_restart());
    }

    #[test]
    fn vdso_move_is_restart() {
        let a = Identity {
            vdso_start: Some(0x7fc880b5a000),
            ..heap("b1", 1000)
        };
        let b = Identity {
            vdso_start: Some(0x7ffd12345000),
            ..heap("b1", 9000)
        };
        assert_eq!(
            detect_restart(&a, &b),
            Continuity::Restarted(vec![RestartReason::AddressLayoutChanged {
                mapping: "[vdso]".into(),
                from: 0x7fc880b5a000,
                to: 0x7ffd12345000
            }])
        );
        assert!(
            !detect_restart(
                &a,
                &Identity {
                    alloc_space: Some(2000),
                    ..a.clone()
                }
            )
            .is_restart()
        );
    }

    #[test]
    fn from_real_profiles() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/profiles/");
        let parse = |n: &str| {
            let b = std::fs::read(format!("{dir}{n}")).unwrap();
            profile::parse(&b, &profile::ParseOptions::default()).unwrap()
        };
        let h1 = Identity::from_parsed(&parse("heap_1.pb.gz"));
        assert!(
            h1.alloc_space.is_some() && h1.main_binary.is_some(),
            "{h1:?}"
        );
        let txt = Identity::from_parsed(&parse("heap.txt"));
        assert!(txt.total_alloc.is_some() && txt.num_gc.is_some(), "{txt:?}");
        let dump = Identity::from_parsed(&parse("goroutine_dump.txt"));
        assert!(dump.max_goroutine_id.is_some(), "{dump:?}");
    }
}
