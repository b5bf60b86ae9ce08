//! Series from a profile store: Grafana Pyroscope and Parca keep a
//! fleet's profiles, split by sample type; this module lists what one
//! holds per service and instance (through [`ProfileStore`]) and rebuilds
//! each instance's snapshots for the one [`SeriesBuilder`].
//!
//! What a store cannot give is said, not guessed: neither keeps a MemStats
//! footer, a goroutine dump or numeric sample labels, nor the heap's
//! sampling period (Pyroscope answers Go's default rate, Parca 0): the
//! period heapdrift pushed as a label is used, else Go's default is
//! assumed, in a note.

use std::collections::BTreeMap;

use fetch::store::{
    GO_DEFAULT_HEAP_PERIOD, GroupProfiles, ProfileStore, StoreError, StoredProfile, with_matcher,
};
use profile::{ParseOptions, Profile, ValueType};

use crate::builder::{BuildOptions, Built, Data, Entry, SeriesBuilder, SnapshotRef};
use crate::kind::Kind;
use crate::notes::Note;

/// The four parts of a Go heap profile as the stores keep them (pushed
/// with `__name__=memory`), in the order of Go's own heap profile.
pub const HEAP_TYPES: [(&str, &str); 4] = [
    ("alloc_objects", "count"),
    ("alloc_space", "bytes"),
    ("inuse_objects", "count"),
    ("inuse_space", "bytes"),
];

/// The goroutine profile's type.
pub const GOROUTINE_TYPE: &str = "goroutine:goroutine:count:goroutine:count";

/// The goroutineleak profile's type (Go 1.26+, pushed by heapdrift as
/// `__name__=goroutineleak`).
pub const GOROUTINE_LEAK_TYPE: &str = "goroutineleak:goroutineleak:count:goroutineleak:count";

fn heap_type_id(i: usize) -> String {
    let (ty, unit) = HEAP_TYPES[i];
    format!("memory:{ty}:{unit}:space:bytes")
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Server(#[from] StoreError),
    #[error("{what}: {error}")]
    Parse {
        what: String,
        error: profile::ParseError,
    },
    #[error("{what}: {error}")]
    Merge {
        what: String,
        error: profile::passes::merge::MergeError,
    },
    #[error(transparent)]
    Series(#[from] crate::SeriesError),
}

/// What to read from the store.
#[derive(Clone, Debug)]
pub struct FleetQuery {
    /// Services to read; empty: every service with Go heap or goroutine
    /// profiles.
    pub services: Vec<String>,
    /// Extra label matchers (`namespace="prod"`), ANDed with the service.
    pub matchers: Vec<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// One snapshot per step (the last in each), else every snapshot.
    pub step_ms: Option<i64>,
    /// The label that tells instances apart (`instance`, `pod`).
    pub group_by: String,
    /// Read only the K instances of each service whose totals grow most.
    pub replicas: Option<usize>,
    /// This worker's share of the fleet: `(i, n)` keeps the instances
    /// whose [`shard_of`] is `i`.
    pub shard: Option<(u32, u32)>,
}

/// Which of `n` shards reads an instance: a hash of its service and
/// instance names (FNV-1a, fixed forever: workers of different versions
/// must split a fleet the same way). Each instance falls in exactly one
/// shard whatever else the fleet holds, so N stateless workers cover it
/// exactly once.
pub fn shard_of(service: &str, instance: &str, n: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in service.bytes().chain([0]).chain(instance.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % u64::from(n.max(1))) as u32
}

/// One heap snapshot of an instance: the store's ids of its four parts
/// (a part the store did not keep, all zero, is `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct HeapSnapshot {
    pub time_ms: i64,
    pub ids: [Option<String>; 4],
    /// `inuse_space` total.
    pub inuse_bytes: f64,
    /// The sampling period pushed with it, if heapdrift pushed it.
    pub period: Option<i64>,
}

/// What the store holds of one instance, after the step's thinning.
#[derive(Clone, Debug, PartialEq)]
pub struct InstancePlan {
    pub group: String,
    pub heap: Vec<HeapSnapshot>,
    pub goroutines: Vec<StoredProfile>,
    /// goroutineleak profiles: every one (each confirms leaked goroutines
    /// on its own; they are not thinned).
    pub leaks: Vec<StoredProfile>,
    /// How fast its totals grow, for `--replicas` (see [`triage_score`]).
    pub score: f64,
    /// Seconds that held several heap or goroutine profiles, of which one
    /// was read.
    pub shared_seconds: usize,
}

/// One service's instances to read, and those left out by `--replicas`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServicePlan {
    pub service: String,
    pub instances: Vec<InstancePlan>,
    pub left_out: Vec<String>,
}

/// The label selector of one service, named by the store's service label
/// ([`ProfileStore::service_label`]).
pub fn service_selector(label: &str, service: &str, matchers: &[String]) -> String {
    let mut sel = with_matcher("", label, service);
    for m in matchers {
        let inner = sel.trim_end_matches('}').to_string();
        sel = format!("{inner}, {}}}", m.trim());
    }
    sel
}

/// Lists services, instances and their snapshots: three `Series`-like
/// calls per service at most (heap parts, goroutines), no profile read.
pub fn plan(server: &dyn ProfileStore, q: &FleetQuery) -> Result<Vec<ServicePlan>, FleetError> {
    let stored = server.services(q.start_ms, q.end_ms)?;
    let heap_id = heap_type_id(3);
    let mut out = Vec::new();
    for (service, types) in stored {
        if !q.services.is_empty() && !q.services.contains(&service) {
            continue;
        }
        let has_heap = types.contains(&heap_id);
        let has_goroutines = types.iter().any(|t| t == GOROUTINE_TYPE);
        if !has_heap && !has_goroutines {
            continue;
        }
        let sel = service_selector(server.service_label(), &service, &q.matchers);
        let list = |ty: &str| server.list_profiles(ty, &sel, &q.group_by, q.start_ms, q.end_ms);
        let mut parts: Vec<Vec<GroupProfiles>> = Vec::new();
        if has_heap {
            for i in 0..4 {
                let ty = heap_type_id(i);
                parts.push(if types.contains(&ty) {
                    list(&ty)?
                } else {
                    Vec::new()
                });
            }
        }
        let goroutines = if has_goroutines {
            list(GOROUTINE_TYPE)?
        } else {
            Vec::new()
        };
        let mut plan = plan_service(&service, &parts, &goroutines, q);
        if types.iter().any(|t| t == GOROUTINE_LEAK_TYPE) {
            for g in list(GOROUTINE_LEAK_TYPE)? {
                if let Some(i) = plan.instances.iter_mut().find(|i| i.group == g.group) {
                    i.leaks = g.profiles;
                }
            }
        }
        out.push(plan);
    }
    Ok(out)
}

/// [`plan`] on listings already made: heap snapshots are matched across
/// the four parts by their time (one pushed profile, one time).
pub fn plan_service(
    service: &str,
    heap_parts: &[Vec<GroupProfiles>],
    goroutines: &[GroupProfiles],
    q: &FleetQuery,
) -> ServicePlan {
    let mut instances: BTreeMap<String, InstancePlan> = BTreeMap::new();
    fn instance<'m>(
        instances: &'m mut BTreeMap<String, InstancePlan>,
        g: &str,
    ) -> &'m mut InstancePlan {
        instances
            .entry(g.to_string())
            .or_insert_with(|| InstancePlan {
                group: g.to_string(),
                heap: Vec::new(),
                goroutines: Vec::new(),
                leaks: Vec::new(),
                score: 0.0,
                shared_seconds: 0,
            })
    }
    if let Some(inuse) = heap_parts.get(3) {
        for g in inuse {
            let mut by_time: BTreeMap<i64, HeapSnapshot> = g
                .profiles
                .iter()
                .map(|p| {
                    let mut ids: [Option<String>; 4] = Default::default();
                    ids[3] = Some(p.id.clone());
                    (
                        p.time_ms,
                        HeapSnapshot {
                            time_ms: p.time_ms,
                            ids,
                            inuse_bytes: p.value,
                            period: p.period,
                        },
                    )
                })
                .collect();
            for (part, listing) in heap_parts.iter().enumerate().take(3) {
                let Some(other) = listing.iter().find(|o| o.group == g.group) else {
                    continue;
                };
                for p in &other.profiles {
                    if let Some(s) = by_time.get_mut(&p.time_ms) {
                        s.ids[part] = Some(p.id.clone());
                    }
                }
            }
            let heap: Vec<HeapSnapshot> = by_time.into_values().collect();
            let inst = instance(&mut instances, &g.group);
            inst.heap = thin(heap, q.step_ms, |s| s.time_ms);
            inst.shared_seconds += g.shared_seconds;
        }
    }
    for g in goroutines {
        let inst = instance(&mut instances, &g.group);
        inst.goroutines = thin(g.profiles.clone(), q.step_ms, |p| p.time_ms);
        inst.shared_seconds += g.shared_seconds;
    }
    let mut all: Vec<InstancePlan> = instances
        .into_values()
        .map(|mut i| {
            i.score = triage_score(&i);
            i
        })
        .collect();
    let mut left_out = Vec::new();
    if let Some(k) = q.replicas
        && all.len() > k
    {
        all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.group.cmp(&b.group)));
        left_out = all.split_off(k).into_iter().map(|i| i.group).collect();
        left_out.sort();
        all.sort_by(|a, b| a.group.cmp(&b.group));
    }
    // After the triage: every worker ranks the same whole service, then
    // reads its share of the chosen instances.
    if let Some((i, n)) = q.shard {
        all.retain(|inst| shard_of(service, &inst.group, n) == i);
    }
    ServicePlan {
        service: service.to_string(),
        instances: all,
        left_out,
    }
}

/// Keeps the last snapshot of each step (steps counted from the first
/// snapshot), or all without a step.
fn thin<T>(items: Vec<T>, step_ms: Option<i64>, time: impl Fn(&T) -> i64) -> Vec<T> {
    let Some(step) = step_ms.filter(|s| *s > 0) else {
        return items;
    };
    let Some(t0) = items.first().map(&time) else {
        return items;
    };
    let mut out: Vec<T> = Vec::new();
    let mut last_bucket = None;
    for it in items {
        let bucket = (time(&it) - t0) / step;
        if last_bucket == Some(bucket) {
            out.pop();
        }
        last_bucket = Some(bucket);
        out.push(it);
    }
    out
}

/// How much an instance's totals grow, relative to where they started:
/// the growth of the in-use heap and of the goroutine count, each as the
/// median of its last third over the median of its first third, the
/// larger one. Only an order for `--replicas`: which instances to read in
/// full when a service has many; the verdicts come from the full read.
pub fn triage_score(i: &InstancePlan) -> f64 {
    fn third_ratio(v: &[f64]) -> f64 {
        if v.len() < 3 {
            return 0.0;
        }
        let third = v.len().div_ceil(3);
        let median = |s: &[f64]| {
            let mut s = s.to_vec();
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        };
        let first = median(&v[..third]);
        let last = median(&v[v.len() - third..]);
        if first > 0.0 { last / first - 1.0 } else { 0.0 }
    }
    let heap: Vec<f64> = i.heap.iter().map(|s| s.inuse_bytes).collect();
    let goroutines: Vec<f64> = i.goroutines.iter().map(|p| p.value).collect();
    third_ratio(&heap).max(third_ratio(&goroutines))
}

/// The four parts of one heap snapshot, read and put together as Go's own
/// heap profile (four sample types, one sample per stack).
pub fn read_heap(
    server: &dyn ProfileStore,
    selector: &str,
    q: &FleetQuery,
    s: &HeapSnapshot,
) -> Result<Profile, FleetError> {
    let what = |part: usize| {
        format!(
            "{}: stored profile {} ({})",
            server.base(),
            s.ids[part].as_deref().unwrap_or("-"),
            heap_type_id(part)
        )
    };
    let types: Vec<ValueType> = HEAP_TYPES
        .iter()
        .map(|(t, u)| ValueType::new(t, u))
        .collect();
    let mut parts = Vec::with_capacity(4);
    for (part, id) in s.ids.iter().enumerate() {
        let Some(id) = id else {
            continue;
        };
        let bytes = server.read_profile(&heap_type_id(part), selector, q.start_ms, q.end_ms, id)?;
        let mut p = profile::parse(&bytes, &ParseOptions::default())
            .map_err(|error| FleetError::Parse {
                what: what(part),
                error,
            })?
            .profile;
        // One column of four: the merge below sums equal stacks.
        for sample in &mut p.samples {
            let v = sample.values.first().copied().unwrap_or(0);
            sample.values = vec![0; 4];
            sample.values[part] = v;
        }
        p.sample_types.clone_from(&types);
        p.default_sample_type = "inuse_space".into();
        p.period_type = Some(ValueType::new("space", "bytes"));
        parts.push(p);
    }
    let mut merged = profile::passes::merge::merge(&parts).map_err(|error| FleetError::Merge {
        what: what(3),
        error,
    })?;
    merged.time_nanos = s.time_ms.saturating_mul(1_000_000);
    // The pushed period, else Go's default (what Pyroscope answers; Parca
    // answers 0): build_instance's note says which.
    merged.period = s.period.unwrap_or(GO_DEFAULT_HEAP_PERIOD);
    Ok(merged)
}

/// One goroutine (or goroutineleak) profile of type `ty`.
pub fn read_goroutines(
    server: &dyn ProfileStore,
    selector: &str,
    q: &FleetQuery,
    ty: &str,
    p: &StoredProfile,
) -> Result<Profile, FleetError> {
    let bytes = server.read_profile(ty, selector, q.start_ms, q.end_ms, &p.id)?;
    let mut prof = profile::parse(&bytes, &ParseOptions::default())
        .map_err(|error| FleetError::Parse {
            what: format!("{}: stored profile {} ({ty})", server.base(), p.id),
            error,
        })?
        .profile;
    prof.time_nanos = p.time_ms.saturating_mul(1_000_000);
    Ok(prof)
}

/// Per service of `plans` that has an instance in `instances` (service,
/// instance, its findings), its sites ranked by the replicas they grow on.
pub fn rank_services<'a>(
    plans: &[ServicePlan],
    instances: &[(&'a str, &'a str, &'a [drift::Finding])],
) -> Vec<crate::json::ServiceRanking> {
    plans
        .iter()
        .map(|plan| {
            let of_service: Vec<(&str, &[drift::Finding])> = instances
                .iter()
                .filter(|(service, _, _)| *service == plan.service)
                .map(|&(_, instance, findings)| (instance, findings))
                .collect();
            crate::json::ServiceRanking {
                service: plan.service.clone(),
                instances_read: of_service.len(),
                instances_left_out: plan.left_out.clone(),
                sites: drift::fleet::rank(&of_service),
            }
        })
        .filter(|r| r.instances_read > 0)
        .collect()
}

/// One instance of a fleet, read.
pub struct InstanceRead {
    pub service: String,
    pub instance: InstancePlan,
    pub built: Built,
}

/// Every instance of `plans` through [`build_instance`], `jobs` of them
/// side by side (each is a few hundred small queries whose time is the
/// server's), in plan order. The first failure is the error; instances
/// not read after it are not returned.
pub fn read_fleet(
    server: &dyn ProfileStore,
    q: &FleetQuery,
    plans: &[ServicePlan],
    opts: &BuildOptions,
    jobs: usize,
) -> Result<Vec<InstanceRead>, FleetError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    let work: Vec<(&ServicePlan, &InstancePlan)> = plans
        .iter()
        .flat_map(|p| p.instances.iter().map(move |i| (p, i)))
        .collect();
    let results: Vec<Mutex<Option<Result<Built, FleetError>>>> =
        work.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, work.len().max(1)) {
            scope.spawn(|| {
                while !failed.load(Relaxed) {
                    let k = next.fetch_add(1, Relaxed);
                    let Some(&(plan, inst)) = work.get(k) else {
                        break;
                    };
                    let read = read_one(server, q, plan, inst, opts);
                    failed.fetch_or(read.is_err(), Relaxed);
                    *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(read);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(work.len());
    for ((plan, inst), r) in work.into_iter().zip(results) {
        if let Some(read) = r.into_inner().unwrap_or_else(|e| e.into_inner()) {
            out.push(InstanceRead {
                service: plan.service.clone(),
                instance: inst.clone(),
                built: read?,
            });
        }
    }
    Ok(out)
}

/// One instance, with a note naming the instances the triage left out.
fn read_one(
    server: &dyn ProfileStore,
    q: &FleetQuery,
    plan: &ServicePlan,
    inst: &InstancePlan,
    opts: &BuildOptions,
) -> Result<Built, FleetError> {
    let mut built = build_instance(server, q, &plan.service, inst, opts.clone())?;
    if !plan.left_out.is_empty() {
        built.header.notes.push(format!(
            "{} of {} instances of {} read (--replicas); left out: {}",
            plan.instances.len(),
            plan.instances.len() + plan.left_out.len(),
            plan.service,
            plan.left_out.join(", ")
        ));
    }
    Ok(built)
}

/// One instance's series, read profile by profile.
pub fn build_instance(
    server: &dyn ProfileStore,
    q: &FleetQuery,
    service: &str,
    plan: &InstancePlan,
    opts: BuildOptions,
) -> Result<Built, FleetError> {
    let selector = with_matcher(
        &service_selector(server.service_label(), service, &q.matchers),
        &q.group_by,
        &plan.group,
    );
    let mut b = SeriesBuilder::new(opts);
    b.set_process(&format!("{service} {}={}", q.group_by, plan.group), "");
    // Every kind in time order: the builder then never reads one again.
    enum Stored<'a> {
        Heap(&'a HeapSnapshot),
        Goroutines(&'a StoredProfile),
        Leaks(&'a StoredProfile),
    }
    let mut snapshots: Vec<(i64, Stored<'_>)> = plan
        .heap
        .iter()
        .map(|s| (s.time_ms, Stored::Heap(s)))
        .chain(
            plan.goroutines
                .iter()
                .map(|g| (g.time_ms, Stored::Goroutines(g))),
        )
        .chain(plan.leaks.iter().map(|g| (g.time_ms, Stored::Leaks(g))))
        .collect();
    snapshots.sort_by_key(|(t, s)| (*t, matches!(s, Stored::Heap(_))));
    for (time_ms, stored) in snapshots {
        let (kind, profile, id) = match stored {
            Stored::Heap(h) => (
                Kind::Heap,
                read_heap(server, &selector, q, h)?,
                h.ids[3].clone().unwrap_or_default(),
            ),
            Stored::Goroutines(g) => (
                Kind::Goroutine,
                read_goroutines(server, &selector, q, GOROUTINE_TYPE, g)?,
                g.id.clone(),
            ),
            Stored::Leaks(g) => (
                Kind::GoroutineLeak,
                read_goroutines(server, &selector, q, GOROUTINE_LEAK_TYPE, g)?,
                g.id.clone(),
            ),
        };
        let source = SnapshotRef::Stored(id);
        b.push(Entry {
            kind,
            time_nanos: time_ms.saturating_mul(1_000_000),
            data: Data::Profile(&profile),
            memstats: None,
            source: &source,
        })?;
    }
    if plan.shared_seconds > 0 {
        b.note(Note::Text(format!(
            "{} times held more than one profile of a kind; one of each was read (Pyroscope lists one profile per second, Parca one per nanosecond)",
            plan.shared_seconds,
        )));
    }
    let period = if plan.heap.iter().all(|h| h.period.is_some()) {
        "the heap's sampling period as pushed with it".to_string()
    } else {
        format!(
            "the heap's sampling period assumed to be Go's default, {GO_DEFAULT_HEAP_PERIOD} bytes (512 KiB), where it was not pushed with it (label {})",
            fetch::store::PERIOD_LABEL
        )
    };
    b.note(Note::Text(format!(
        "read from {} at {}: no MemStats (memory components and RSS are unavailable), no goroutine dumps, and {period}",
        server.kind(),
        server.base()
    )));
    let built = b.finish(&mut |r| {
        Err(crate::SeriesError::Reread {
            what: r.to_string(),
            why: "stored profiles are read in time order once".into(),
        })
    })?;
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(t: i64, id: &str, v: f64) -> StoredProfile {
        StoredProfile {
            period: None,
            time_ms: t,
            id: id.into(),
            value: v,
        }
    }

    fn query(step_ms: Option<i64>, replicas: Option<usize>) -> FleetQuery {
        FleetQuery {
            services: vec![],
            matchers: vec![],
            start_ms: 0,
            end_ms: 100_000,
            step_ms,
            group_by: "instance".into(),
            replicas,
            shard: None,
        }
    }

    #[test]
    fn heap_parts_are_matched_by_time_and_thinned_per_step() {
        let part = |prefix: &str| {
            vec![GroupProfiles {
                group: "a".into(),
                profiles: (0..6)
                    .map(|i| stored(i * 1000, &format!("{prefix}{i}"), (i + 1) as f64))
                    .collect(),
                shared_seconds: 0,
            }]
        };
        let mut alloc_objects = part("ao");
        // A part the store did not keep for one snapshot.
        alloc_objects[0].profiles.remove(2);
        let parts = vec![alloc_objects, part("as"), part("io"), part("is")];
        let p = plan_service("svc", &parts, &[], &query(None, None));
        assert_eq!(p.instances.len(), 1);
        let heap = &p.instances[0].heap;
        assert_eq!(heap.len(), 6);
        assert_eq!(
            heap[1].ids,
            [
                Some("ao1".to_string()),
                Some("as1".into()),
                Some("io1".into()),
                Some("is1".into())
            ]
        );
        assert_eq!(heap[2].ids[0], None);
        // A 2.5 s step keeps the last of each: 1 s, 4 s, 5 s.
        let p = plan_service("svc", &parts, &[], &query(Some(2500), None));
        let times: Vec<i64> = p.instances[0].heap.iter().map(|s| s.time_ms).collect();
        assert_eq!(times, vec![2000, 4000, 5000]);
    }

    #[test]
    fn replicas_keep_the_fastest_growing_instances() {
        let goroutines: Vec<GroupProfiles> = ["flat", "grows", "doubles"]
            .iter()
            .enumerate()
            .map(|(k, g)| GroupProfiles {
                group: g.to_string(),
                profiles: (0..9)
                    .map(|i| {
                        stored(
                            i * 1000,
                            &format!("{g}{i}"),
                            10.0 + (k * k * i as usize) as f64,
                        )
                    })
                    .collect(),
                shared_seconds: 0,
            })
            .collect();
        let p = plan_service("svc", &[], &goroutines, &query(None, Some(2)));
        let kept: Vec<&str> = p.instances.iter().map(|i| i.group.as_str()).collect();
        assert_eq!(kept, vec!["doubles", "grows"]);
        assert_eq!(p.left_out, vec!["flat".to_string()]);
    }

    #[test]
    fn shards_cover_every_instance_exactly_once() {
        let goroutines: Vec<GroupProfiles> = (0..200)
            .map(|k| GroupProfiles {
                group: format!("pod-{k}"),
                profiles: vec![stored(0, &format!("g{k}"), 1.0)],
                shared_seconds: 0,
            })
            .collect();
        for n in [1u32, 2, 3, 7] {
            let mut seen: Vec<String> = Vec::new();
            let mut sizes = Vec::new();
            for i in 0..n {
                let mut q = query(None, None);
                q.shard = Some((i, n));
                let p = plan_service("svc", &[], &goroutines, &q);
                sizes.push(p.instances.len());
                seen.extend(p.instances.into_iter().map(|i| i.group));
            }
            seen.sort();
            let mut all: Vec<String> = goroutines.iter().map(|g| g.group.clone()).collect();
            all.sort();
            assert_eq!(seen, all, "{n} shards");
            // Roughly even: no shard holds more than twice its share.
            assert!(
                sizes.iter().all(|&s| s <= 2 * 200 / n as usize + 1),
                "{n} shards: {sizes:?}"
            );
        }
        // Fixed values: a change would split a fleet differently between
        // workers of two versions.
        // FNV-1a 64 of "api\0pod-1" is 11363811049663175270.
        assert_eq!(shard_of("api", "pod-1", 1000), 270);
        // The separator keeps ("ap", "ipod-1") apart from ("api", "pod-1").
        assert_ne!(
            shard_of("api", "pod-1", 1 << 31),
            shard_of("ap", "ipod-1", 1 << 31)
        );
    }

    #[test]
    fn selectors() {
        assert_eq!(
            service_selector("service_name", "api", &[]),
            r#"{service_name="api"}"#
        );
        assert_eq!(service_selector("job", "api", &[]), r#"{job="api"}"#);
        assert_eq!(
            service_selector("service_name", "api", &[r#"namespace="prod""#.into()]),
            r#"{service_name="api", namespace="prod"}"#
        );
    }
}
