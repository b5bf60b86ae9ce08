//! Per-site series from a time-ordered sequence of heap profiles.
//!
//! Each sample is attributed to its *site*: the first frame (leaf first,
//! inlined callees first) that is the user's own code (see [`crate::frames`]).
//! A stack with no user frame goes to its first non-helper frame, and a
//! stack of helpers only to its leaf. Values of all samples of a site are
//! summed per snapshot.
//!
//! Built for hundreds of snapshots of thousands of sites: functions are
//! classified lazily (only frames walked until the first user frame), each
//! location's site is resolved once per profile, and strings are interned
//! once per distinct function and file, so a sample costs a few array
//! lookups.

use crate::DriftError;
use crate::frames;
use profile::{Profile, ValueType};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash: the keys are small integers and short strings from our own
/// profiles, so a fast non-DoS-resistant hash is fine.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
}

impl Fx {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// One frame of evidence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: i64,
}

/// An allocation site: the frame a sample is attributed to.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub function: String,
    pub file: String,
    pub line: i64,
    /// Whether the site is a user frame (false: fallback attribution).
    pub user: bool,
    /// The first stack seen for this site, leaf first, inlined frames
    /// expanded: the evidence of how the allocation is reached.
    pub stack: Vec<Frame>,
}

/// Options for attribution.
#[derive(Clone, Debug, Default)]
pub struct SeriesOptions {
    /// Package path prefixes of the user's own code (for example the
    /// module path). Empty: every non-standard package counts as user code.
    pub user_prefixes: Vec<String>,
    /// Do not start a new segment when the total alloc_space falls (the
    /// cumulative counter resets when the process restarts).
    pub no_restart_detection: bool,
}

/// The heap metrics kept per site and snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    InuseSpace = 0,
    InuseObjects = 1,
    AllocSpace = 2,
    AllocObjects = 3,
}

/// The number of [`Metric`]s.
pub const METRICS: usize = 4;

/// Heap series of all sites: `value(metric, site, snapshot)`.
#[derive(Clone, Debug, Default)]
pub struct HeapSeries {
    /// Snapshot times, as given.
    pub time_nanos: Vec<i64>,
    /// Indexes of snapshots that start a new segment (restarts).
    pub breaks: Vec<usize>,
    pub sites: Vec<Site>,
    /// Which metrics the profiles carried.
    pub has_metric: [bool; METRICS],
    /// rows[snapshot][site]; sites first seen later are missing from
    /// earlier rows and read as 0.
    rows: Vec<Vec<[i64; METRICS]>>,
}

impl HeapSeries {
    /// A series from values summed elsewhere (an archive's index keeps
    /// them per snapshot and site): `rows[snapshot][site]` with the
    /// `[inuse_space, inuse_objects, alloc_space, alloc_objects]` of each
    /// site, a row shorter than `sites` reading as 0 for the rest. Nothing
    /// is re-attributed: the sites must be attributed as
    /// [`HeapSeriesBuilder`] does for the result to equal a built series.
    /// `breaks` are the snapshots that start a new segment.
    pub fn from_parts(
        time_nanos: Vec<i64>,
        breaks: Vec<usize>,
        sites: Vec<Site>,
        has_metric: [bool; METRICS],
        rows: Vec<Vec<[i64; METRICS]>>,
    ) -> Result<HeapSeries, DriftError> {
        if rows.len() != time_nanos.len() {
            return Err(DriftError::Parts("one row per snapshot time"));
        }
        if let Some(i) = time_nanos.windows(2).position(|w| w[1] < w[0]) {
            return Err(DriftError::OutOfOrder { index: i + 1 });
        }
        if rows.iter().any(|r| r.len() > sites.len()) {
            return Err(DriftError::Parts(
                "a row has more values than there are sites",
            ));
        }
        let in_range = breaks.iter().all(|&b| b > 0 && b < time_nanos.len());
        if !in_range || breaks.windows(2).any(|w| w[1] <= w[0]) {
            return Err(DriftError::Parts(
                "breaks must be increasing snapshot indexes after the first",
            ));
        }
        Ok(HeapSeries {
            time_nanos,
            breaks,
            sites,
            has_metric,
            rows,
        })
    }

    pub fn len(&self) -> usize {
        self.time_nanos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_nanos.is_empty()
    }

    pub fn value(&self, metric: Metric, site: usize, snapshot: usize) -> i64 {
        self.rows
            .get(snapshot)
            .and_then(|r| r.get(site))
            .map_or(0, |v| v[metric as usize])
    }

    /// One site's values over all snapshots.
    pub fn column(&self, metric: Metric, site: usize) -> Vec<f64> {
        (0..self.len())
            .map(|s| self.value(metric, site, s) as f64)
            .collect()
    }

    /// The sum over all sites per snapshot.
    pub fn totals(&self, metric: Metric) -> Vec<f64> {
        self.rows
            .iter()
            .map(|r| r.iter().map(|v| v[metric as usize] as f64).sum())
            .collect()
    }

    /// Snapshot times in seconds since the first snapshot.
    pub fn seconds(&self) -> Vec<f64> {
        let t0 = self.time_nanos.first().copied().unwrap_or(0);
        self.time_nanos
            .iter()
            .map(|&t| (t - t0) as f64 / 1e9)
            .collect()
    }
}

const UNSET: u32 = u32::MAX;
const NONE: u32 = u32::MAX - 1;

/// Builds a [`HeapSeries`] one profile at a time, so callers can parse,
/// push and drop profiles without holding them all.
#[derive(Default)]
pub struct HeapSeriesBuilder {
    opts: SeriesOptions,
    out: HeapSeries,
    strings: FxMap<Box<str>, u32>,
    site_ids: FxMap<(u32, u32, i64), u32>,
    pending_break: bool,
    last_alloc_total: Option<i64>,
    /// Resolutions of earlier profiles by location address (see
    /// `cached`).
    by_address: FxMap<u64, Cached>,
    /// Per site: its evidence stack is recorded.
    has_stack: Vec<bool>,
    /// Per mapping of the profile being pushed: a hash of (build id, file,
    /// start, limit, offset), 0 without a build id.
    mapping_keys: Vec<u64>,
}

/// A location's resolution, reusable by a later profile whose location at
/// the same address has as many lines and the same first line (64-bit hash
/// of the function name, and line number): profiles of one binary repeat
/// their locations, and hashing one name is much cheaper than classifying
/// and interning again (comparing with a stored copy costs a second cache
/// miss per location). The check also catches a restarted
/// position-independent binary whose addresses moved.
///
/// When the location's mapping has a build id and the same build id, file
/// and placement as when it was cached, the address alone identifies the
/// code and the name is not read at all (the name is a cache miss per
/// location, most of the cost of a push).
#[derive(Clone, Copy)]
struct Cached {
    lines: u32,
    mapping_key: u64,
    name_hash: u64,
    first_line: i64,
    site: u32,
    fallback: u32,
}

impl HeapSeriesBuilder {
    pub fn new(opts: SeriesOptions) -> Self {
        HeapSeriesBuilder {
            opts,
            ..Default::default()
        }
    }

    /// The next snapshot starts a new segment (the caller knows the
    /// process restarted: another build id, start time or pid).
    pub fn mark_restart(&mut self) {
        self.pending_break = true;
    }

    /// Adds a snapshot taken at `profile.time_nanos`.
    pub fn push(&mut self, p: &Profile) -> Result<(), DriftError> {
        self.push_at(p, p.time_nanos)
    }

    /// Adds a snapshot taken at `time_nanos` (for formats without a time
    /// stamp, such as Go's debug=1 heap text).
    pub fn push_at(&mut self, p: &Profile, time_nanos: i64) -> Result<(), DriftError> {
        if let Some(&last) = self.out.time_nanos.last()
            && time_nanos < last
        {
            return Err(DriftError::OutOfOrder {
                index: self.out.time_nanos.len(),
            });
        }
        let find = |t: &str| {
            p.sample_types
                .iter()
                .position(|v: &ValueType| v.r#type == t)
        };
        let idx = [
            find("inuse_space"),
            find("inuse_objects"),
            find("alloc_space"),
            find("alloc_objects"),
        ];
        if idx[0].is_none() {
            return Err(DriftError::NotHeap {
                index: self.out.time_nanos.len(),
            });
        }
        for (m, i) in idx.iter().enumerate() {
            self.out.has_metric[m] |= i.is_some();
        }

        let mut func_user: Vec<u8> = vec![0; p.functions.len()]; // 0 unknown, 1 user, 2 helper, 3 other std
        let mut loc_site: Vec<u32> = vec![UNSET; p.locations.len()];
        let mut loc_fallback: Vec<u32> = vec![UNSET; p.locations.len()];
        self.mapping_keys.clear();
        self.mapping_keys.extend(p.mappings.iter().map(|m| {
            if m.build_id.is_empty() {
                return 0;
            }
            let mut h = Fx::default();
            h.write(m.build_id.as_bytes());
            h.write(m.file.as_bytes());
            h.write_u64(m.start);
            h.write_u64(m.limit);
            h.write_u64(m.offset);
            h.finish() | 1
        }));
        let mut row: Vec<[i64; METRICS]> = vec![[0; METRICS]; self.out.sites.len()];
        let mut alloc_total: i64 = 0;

        for sample in &p.samples {
            let mut vals = [0i64; METRICS];
            for (m, i) in idx.iter().enumerate() {
                if let Some(i) = *i {
                    vals[m] = sample.values.get(i).copied().unwrap_or(0);
                }
            }
            alloc_total = alloc_total.saturating_add(vals[Metric::AllocSpace as usize]);
            let site = self.attribute(
                p,
                &sample.locations,
                &mut func_user,
                &mut loc_site,
                &mut loc_fallback,
            );
            let Some(site) = site else { continue };
            // Evidence: the stack of the first sample seen at the site. A
            // dense flag, not the Site itself, is checked per sample: Sites
            // are large and scattered, the flags stay in cache.
            if !self.has_stack[site as usize] {
                self.has_stack[site as usize] = true;
                self.out.sites[site as usize].stack = stack_frames(p, &sample.locations);
            }
            if row.len() <= site as usize {
                row.resize(site as usize + 1, [0; METRICS]);
            }
            let slot = &mut row[site as usize];
            for m in 0..METRICS {
                slot[m] = slot[m].saturating_add(vals[m]);
            }
        }

        let restarted = !self.opts.no_restart_detection
            && idx[2].is_some()
            && self.last_alloc_total.is_some_and(|prev| alloc_total < prev);
        if idx[2].is_some() {
            self.last_alloc_total = Some(alloc_total);
        }
        if (self.pending_break || restarted) && !self.out.time_nanos.is_empty() {
            self.out.breaks.push(self.out.time_nanos.len());
        }
        self.pending_break = false;
        self.out.time_nanos.push(time_nanos);
        self.out.rows.push(row);
        Ok(())
    }

    pub fn finish(self) -> HeapSeries {
        self.out
    }

    /// The series so far, without ending it: `watch` analyses it after
    /// every round and keeps pushing.
    pub fn current(&self) -> &HeapSeries {
        &self.out
    }

    /// The site of a stack: the first user line; else the first non-helper
    /// line; else the leaf line. `None` for an empty stack.
    fn attribute(
        &mut self,
        p: &Profile,
        stack: &[u32],
        func_user: &mut [u8],
        loc_site: &mut [u32],
        loc_fallback: &mut [u32],
    ) -> Option<u32> {
        for &l in stack {
            let li = l as usize;
            if loc_site[li] == UNSET {
                match self.cached(p, li) {
                    Some(c) => {
                        loc_site[li] = c.site;
                        loc_fallback[li] = c.fallback;
                    }
                    None => {
                        loc_site[li] = self.resolve(p, li, func_user, false);
                        self.remember(p, li, loc_site[li], UNSET);
                    }
                }
            }
            if loc_site[li] != NONE {
                return Some(loc_site[li]);
            }
        }
        for &l in stack {
            let li = l as usize;
            if loc_fallback[li] == UNSET {
                loc_fallback[li] = self.resolve(p, li, func_user, true);
                self.remember(p, li, loc_site[li], loc_fallback[li]);
            }
            if loc_fallback[li] != NONE {
                return Some(loc_fallback[li]);
            }
        }
        let leaf = *stack.first()? as usize;
        let loc = p.locations.get(leaf)?;
        let (func, file, line) = match loc.lines.first() {
            Some(ln) => {
                let f = ln.function.and_then(|f| p.functions.get(f as usize));
                (
                    f.map_or_else(|| format!("{:#x}", loc.address), |f| f.name.clone()),
                    f.map_or(String::new(), |f| f.filename.clone()),
                    ln.line,
                )
            }
            None => (format!("{:#x}", loc.address), String::new(), 0),
        };
        Some(self.intern_site(&func, &file, line, false))
    }

    fn cached(&self, p: &Profile, li: usize) -> Option<Cached> {
        let loc = &p.locations[li];
        if loc.address == 0 {
            return None;
        }
        let c = *self.by_address.get(&loc.address)?;
        let mk = self.mapping_key(loc);
        if mk != 0 && mk == c.mapping_key && c.lines as usize == loc.lines.len() {
            return Some(c);
        }
        let first = loc.lines.first();
        let name = first
            .and_then(|l| l.function)
            .and_then(|f| p.functions.get(f as usize))
            .map(|f| f.name.as_str());
        let same = c.lines as usize == loc.lines.len()
            && first.map(|l| l.line) == Some(c.first_line).filter(|_| c.lines > 0)
            && name.is_some_and(|n| name_hash(n) == c.name_hash);
        same.then_some(c)
    }

    fn mapping_key(&self, loc: &profile::Location) -> u64 {
        loc.mapping
            .and_then(|m| self.mapping_keys.get(m as usize))
            .copied()
            .unwrap_or(0)
    }

    fn remember(&mut self, p: &Profile, li: usize, site: u32, fallback: u32) {
        let loc = &p.locations[li];
        let Some(first) = loc.lines.first() else {
            return;
        };
        let Some(f) = first.function.and_then(|f| p.functions.get(f as usize)) else {
            return;
        };
        if loc.address == 0 {
            return;
        }
        self.by_address.insert(
            loc.address,
            Cached {
                lines: loc.lines.len() as u32,
                mapping_key: self.mapping_key(loc),
                name_hash: name_hash(&f.name),
                first_line: first.line,
                site,
                fallback,
            },
        );
    }

    /// The site id of the first line of location `li` whose function is
    /// user code (`fallback`: not a helper), or NONE.
    fn resolve(&mut self, p: &Profile, li: usize, func_user: &mut [u8], fallback: bool) -> u32 {
        let loc = &p.locations[li];
        for ln in &loc.lines {
            let Some(fi) = ln.function else { continue };
            let fi = fi as usize;
            let Some(f) = p.functions.get(fi) else {
                continue;
            };
            if func_user[fi] == 0 {
                func_user[fi] = if frames::is_user(&f.name, &self.opts.user_prefixes) {
                    1
                } else if frames::is_helper(&f.name) {
                    2
                } else {
                    3
                };
            }
            let hit = if fallback {
                func_user[fi] != 2
            } else {
                func_user[fi] == 1
            };
            if hit {
                return self.intern_site(&f.name, &f.filename, ln.line, !fallback);
            }
        }
        NONE
    }

    fn intern_str(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.insert(s.into(), id);
        id
    }

    fn intern_site(&mut self, func: &str, file: &str, line: i64, user: bool) -> u32 {
        let key = (self.intern_str(func), self.intern_str(file), line);
        if let Some(&id) = self.site_ids.get(&key) {
            return id;
        }
        let id = self.out.sites.len() as u32;
        self.site_ids.insert(key, id);
        self.out.sites.push(Site {
            function: func.to_string(),
            file: file.to_string(),
            line,
            user,
            stack: Vec::new(),
        });
        self.has_stack.push(false);
        id
    }
}

fn name_hash(s: &str) -> u64 {
    let mut h = Fx::default();
    h.write(s.as_bytes());
    h.write_usize(s.len());
    h.finish()
}

/// The frames of a stack, leaf first, inlined frames expanded.
pub fn stack_frames(p: &Profile, stack: &[u32]) -> Vec<Frame> {
    let mut out = Vec::new();
    for &l in stack {
        let Some(loc) = p.locations.get(l as usize) else {
            continue;
        };
        if loc.lines.is_empty() {
            out.push(Frame {
                function: format!("{:#x}", loc.address),
                file: String::new(),
                line: 0,
            });
        }
        for ln in &loc.lines {
            let f = ln.function.and_then(|f| p.functions.get(f as usize));
            out.push(Frame {
                function: f.map_or_else(String::new, |f| f.name.clone()),
                file: f.map_or_else(String::new, |f| f.filename.clone()),
                line: ln.line,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str) -> Site {
        Site {
            function: name.into(),
            file: "f.go".into(),
            line: 1,
            user: true,
            stack: Vec::new(),
        }
    }

    #[test]
    fn from_parts_reads_like_a_built_series() {
        let h = HeapSeries::from_parts(
            vec![0, 10, 20],
            vec![2],
            vec![site("a"), site("b")],
            [true, true, false, false],
            vec![vec![[5, 1, 0, 0]], vec![[6, 1, 0, 0], [7, 2, 0, 0]], vec![]],
        )
        .unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h.column(Metric::InuseSpace, 0), [5.0, 6.0, 0.0]);
        // Rows shorter than the site list read as 0.
        assert_eq!(h.column(Metric::InuseSpace, 1), [0.0, 7.0, 0.0]);
        assert_eq!(h.totals(Metric::InuseObjects), [1.0, 3.0, 0.0]);
        assert_eq!(h.breaks, [2]);
    }

    #[test]
    fn from_parts_rejects_inconsistent_parts() {
        let parts = |t: Vec<i64>, b: Vec<usize>, rows: Vec<Vec<[i64; 4]>>| {
            HeapSeries::from_parts(t, b, vec![site("a")], [true; 4], rows)
        };
        let row = || vec![[1, 1, 1, 1]];
        assert!(matches!(
            parts(vec![0, 1], vec![], vec![row()]),
            Err(DriftError::Parts(_))
        ));
        assert_eq!(
            parts(vec![5, 1], vec![], vec![row(), row()]).unwrap_err(),
            DriftError::OutOfOrder { index: 1 }
        );
        assert!(parts(vec![0], vec![], vec![vec![[0; 4], [0; 4]]]).is_err());
        for b in [vec![0], vec![2], vec![1, 1]] {
            assert!(parts(vec![0, 1], b, vec![row(), row()]).is_err());
        }
    }
}
