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
use profile::Profile;
use profile::proto::{FlatProfile, NO_INDEX};
use std::borrow::Cow;
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

/// The version of the attribution rules (which frame a sample goes to,
/// [`crate::frames`]). An archive records it beside the per-site values it
/// computed; raise it whenever a change of the rules changes any site, so
/// that archives written before are recomputed rather than mixed.
pub const ATTRIBUTION_VERSION: u32 = 1;

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
    /// Per snapshot: the profile's sampling period (runtime.MemProfileRate,
    /// bytes; a heap profile.proto's `period`, half the `heap/N` of a
    /// debug=1 header), 0 when unknown.
    periods: Vec<i64>,
}

impl HeapSeries {
    /// A series from values summed elsewhere (an archive's index keeps
    /// them per snapshot and site): `rows[snapshot][site]` with the
    /// `[inuse_space, inuse_objects, alloc_space, alloc_objects]` of each
    /// site, a row shorter than `sites` reading as 0 for the rest. Nothing
    /// is re-attributed: the sites must be attributed as
    /// [`HeapSeriesBuilder`] does for the result to equal a built series.
    /// `breaks` are the snapshots that start a new segment; `period` is
    /// the profiles' sampling period in bytes, when known.
    pub fn from_parts(
        time_nanos: Vec<i64>,
        breaks: Vec<usize>,
        sites: Vec<Site>,
        has_metric: [bool; METRICS],
        rows: Vec<Vec<[i64; METRICS]>>,
        period: Option<i64>,
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
        let periods = vec![period.filter(|&p| p > 0).unwrap_or(0); time_nanos.len()];
        Ok(HeapSeries {
            time_nanos,
            breaks,
            sites,
            has_metric,
            rows,
            periods,
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

    /// The sampling period (bytes) of `snapshot`'s profile, when known.
    pub fn period(&self, snapshot: usize) -> Option<i64> {
        self.periods.get(snapshot).copied().filter(|&p| p > 0)
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
    /// Per function and per location of the profile being pushed (see
    /// `push_view`), kept to reuse their memory.
    func_user: Vec<u8>,
    loc_site: Vec<u32>,
    loc_fallback: Vec<u32>,
    row: Vec<[i64; METRICS]>,
    /// The previous profile's locations by index (see `reuse_previous`).
    previous: Vec<Previous>,
}

/// One location of the previous profile and how it resolved.
#[derive(Clone, Copy)]
struct Previous {
    address: u64,
    mapping_key: u64,
    lines: u32,
    site: u32,
    fallback: u32,
}

/// A location's resolution, reusable by a later profile whose location at
/// the same address has the same lines (a 64-bit hash of every line's
/// function name, file and line number): profiles of one binary repeat
/// their locations, and hashing the names is much cheaper than classifying
/// and interning again (comparing with a stored copy costs a second cache
/// miss per location). The check also catches a restarted binary whose
/// addresses now hold other code, even when only an inlined caller
/// changed.
///
/// When the location's mapping has a build id and the same build id, file
/// and placement as when it was cached, the address alone identifies the
/// code and the name is not read at all (the name is a cache miss per
/// location, most of the cost of a push).
#[derive(Clone, Copy)]
struct Cached {
    lines: u32,
    mapping_key: u64,
    code_hash: u64,
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
        self.push_view(p, time_nanos)
    }

    /// [`HeapSeriesBuilder::push_at`] for a profile decoded by the lean
    /// decoder: the same series, without building a [`Profile`] first.
    pub fn push_flat(&mut self, p: &FlatProfile, time_nanos: i64) -> Result<(), DriftError> {
        self.push_view(p, time_nanos)
    }

    fn push_view<V: ProfileView>(&mut self, p: &V, time_nanos: i64) -> Result<(), DriftError> {
        if let Some(&last) = self.out.time_nanos.last()
            && time_nanos < last
        {
            return Err(DriftError::OutOfOrder {
                index: self.out.time_nanos.len(),
            });
        }
        let idx = [
            p.sample_type_index("inuse_space"),
            p.sample_type_index("inuse_objects"),
            p.sample_type_index("alloc_space"),
            p.sample_type_index("alloc_objects"),
        ];
        if idx[0].is_none() {
            return Err(DriftError::NotHeap {
                index: self.out.time_nanos.len(),
            });
        }
        for (m, i) in idx.iter().enumerate() {
            self.out.has_metric[m] |= i.is_some();
        }

        // Per-profile scratch, kept between pushes: 0 unknown, 1 user,
        // 2 helper, 3 other std.
        let mut func_user = std::mem::take(&mut self.func_user);
        let mut loc_site = std::mem::take(&mut self.loc_site);
        let mut loc_fallback = std::mem::take(&mut self.loc_fallback);
        func_user.clear();
        func_user.resize(p.function_count(), 0);
        loc_site.clear();
        loc_site.resize(p.location_count(), UNSET);
        loc_fallback.clear();
        loc_fallback.resize(p.location_count(), UNSET);
        self.mapping_keys.clear();
        for mi in 0..p.mapping_count() {
            let (build_id, file, start, limit, offset) = p.mapping(mi);
            self.mapping_keys.push(if build_id.is_empty() {
                0
            } else {
                let mut h = Fx::default();
                h.write(build_id.as_bytes());
                h.write(file.as_bytes());
                h.write_u64(start);
                h.write_u64(limit);
                h.write_u64(offset);
                h.finish() | 1
            });
        }
        // Summed in a scratch row that keeps its memory, then copied into
        // an exactly sized one: a row grown in place as new sites appear
        // would reallocate, and fresh memory is what costs here (the
        // kernel zeroes every new page; hundreds of rows of 10k sites).
        self.reuse_previous(p, &mut loc_site, &mut loc_fallback);
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        row.resize(self.out.sites.len(), [0; METRICS]);
        let mut alloc_total: i64 = 0;

        for i in 0..p.sample_count() {
            let mut vals = [0i64; METRICS];
            for (m, ix) in idx.iter().enumerate() {
                if let Some(ix) = *ix {
                    vals[m] = p.value(i, ix);
                }
            }
            alloc_total = alloc_total.saturating_add(vals[Metric::AllocSpace as usize]);
            let stack = p.stack(i);
            let site = self.attribute(p, stack, &mut func_user, &mut loc_site, &mut loc_fallback);
            let Some(site) = site else { continue };
            // Evidence: the stack of the first sample seen at the site. A
            // dense flag, not the Site itself, is checked per sample: Sites
            // are large and scattered, the flags stay in cache.
            if !self.has_stack[site as usize] {
                self.has_stack[site as usize] = true;
                self.out.sites[site as usize].stack = view_stack_frames(p, stack);
            }
            if row.len() <= site as usize {
                row.resize(site as usize + 1, [0; METRICS]);
            }
            let slot = &mut row[site as usize];
            for m in 0..METRICS {
                slot[m] = slot[m].saturating_add(vals[m]);
            }
        }
        self.remember_locations(p, &loc_site, &loc_fallback);
        self.func_user = func_user;
        self.loc_site = loc_site;
        self.loc_fallback = loc_fallback;

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
        self.out.periods.push(p.period().max(0));
        self.out.rows.push(row.as_slice().to_vec());
        self.row = row;
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

    /// Resolves, before any sample is read, the locations that sit at the
    /// same index as in the previous profile with the same address,
    /// mapping (with a build id) and number of lines: as [`Self::cached`]
    /// would, but by walking two tables in step rather than looking up
    /// each address in a large hash map (a cache miss per location, most
    /// of a push's time). Profiles of one process list their locations in
    /// much the same order.
    fn reuse_previous<V: ProfileView>(
        &self,
        p: &V,
        loc_site: &mut [u32],
        loc_fallback: &mut [u32],
    ) {
        let prev = &self.previous;
        let n = p.location_count().min(prev.len());
        for li in 0..n {
            let was = &prev[li];
            // Address 0 is no identity (symbolized profiles, such as a
            // profile store's, carry none): as in `cached`.
            if was.site == UNSET
                || was.mapping_key == 0
                || was.address == 0
                || was.address != p.address(li)
            {
                continue;
            }
            if self.mapping_key(p, li) == was.mapping_key && p.line_count(li) == was.lines as usize
            {
                loc_site[li] = was.site;
                loc_fallback[li] = was.fallback;
            }
        }
    }

    /// Keeps this profile's resolutions by location index for
    /// [`Self::reuse_previous`].
    fn remember_locations<V: ProfileView>(
        &mut self,
        p: &V,
        loc_site: &[u32],
        loc_fallback: &[u32],
    ) {
        let mut prev = std::mem::take(&mut self.previous);
        prev.clear();
        prev.extend((0..p.location_count()).map(|li| Previous {
            address: p.address(li),
            mapping_key: self.mapping_key(p, li),
            lines: p.line_count(li) as u32,
            site: loc_site[li],
            fallback: loc_fallback[li],
        }));
        self.previous = prev;
    }

    /// The site of a stack: the first user line; else the first non-helper
    /// line; else the leaf line. `None` for an empty stack.
    fn attribute<V: ProfileView>(
        &mut self,
        p: &V,
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
        if leaf >= p.location_count() {
            return None;
        }
        let (func, file, line) = match p.line(leaf, 0) {
            Some((function, line)) => match function {
                Some(f) => (
                    p.function_name(f).into_owned(),
                    p.function_file(f).into_owned(),
                    line,
                ),
                None => (format!("{:#x}", p.address(leaf)), String::new(), line),
            },
            None => (format!("{:#x}", p.address(leaf)), String::new(), 0),
        };
        Some(self.intern_site(&func, &file, line, false))
    }

    fn cached<V: ProfileView>(&self, p: &V, li: usize) -> Option<Cached> {
        let address = p.address(li);
        if address == 0 {
            return None;
        }
        let c = *self.by_address.get(&address)?;
        let lines = p.line_count(li);
        let mk = self.mapping_key(p, li);
        if mk != 0 && mk == c.mapping_key && c.lines as usize == lines {
            return Some(c);
        }
        let same = c.lines as usize == lines && code_hash(p, li) == c.code_hash;
        same.then_some(c)
    }

    fn mapping_key<V: ProfileView>(&self, p: &V, li: usize) -> u64 {
        p.location_mapping(li)
            .and_then(|m| self.mapping_keys.get(m as usize))
            .copied()
            .unwrap_or(0)
    }

    fn remember<V: ProfileView>(&mut self, p: &V, li: usize, site: u32, fallback: u32) {
        let Some((Some(_), _)) = p.line(li, 0) else {
            return;
        };
        let address = p.address(li);
        if address == 0 {
            return;
        }
        let cached = Cached {
            lines: p.line_count(li) as u32,
            mapping_key: self.mapping_key(p, li),
            code_hash: code_hash(p, li),
            site,
            fallback,
        };
        self.by_address.insert(address, cached);
    }

    /// The site id of the first line of location `li` whose function is
    /// user code (`fallback`: not a helper), or NONE.
    fn resolve<V: ProfileView>(
        &mut self,
        p: &V,
        li: usize,
        func_user: &mut [u8],
        fallback: bool,
    ) -> u32 {
        for k in 0..p.line_count(li) {
            let Some((Some(fi), line)) = p.line(li, k) else {
                continue;
            };
            let fi = fi as usize;
            if fi >= func_user.len() {
                continue;
            }
            if func_user[fi] == 0 {
                let name = p.function_name(fi as u32);
                func_user[fi] = if frames::is_user(&name, &self.opts.user_prefixes) {
                    1
                } else if frames::is_helper(&name) {
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
                let (name, file) = (p.function_name(fi as u32), p.function_file(fi as u32));
                return self.intern_site(&name, &file, line, !fallback);
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

/// What location `li` says about the code at its address: every line's
/// function name, file and line number.
fn code_hash<V: ProfileView>(p: &V, li: usize) -> u64 {
    let mut h = Fx::default();
    for k in 0..p.line_count(li) {
        let Some((f, line)) = p.line(li, k) else {
            continue;
        };
        match f {
            Some(f) => {
                for s in [p.function_name(f), p.function_file(f)] {
                    h.write(s.as_bytes());
                    h.write_usize(s.len());
                }
            }
            None => h.write_u8(0xff),
        }
        h.write_u64(line as u64);
    }
    h.finish()
}

/// The frames of a stack, leaf first, inlined frames expanded.
pub fn stack_frames(p: &Profile, stack: &[u32]) -> Vec<Frame> {
    view_stack_frames(p, stack)
}

fn view_stack_frames<V: ProfileView>(p: &V, stack: &[u32]) -> Vec<Frame> {
    let mut out = Vec::new();
    for &l in stack {
        let li = l as usize;
        if li >= p.location_count() {
            continue;
        }
        let n = p.line_count(li);
        if n == 0 {
            out.push(Frame {
                function: format!("{:#x}", p.address(li)),
                file: String::new(),
                line: 0,
            });
        }
        for k in 0..n {
            let Some((f, line)) = p.line(li, k) else {
                continue;
            };
            out.push(Frame {
                function: f.map_or_else(String::new, |f| p.function_name(f).into_owned()),
                file: f.map_or_else(String::new, |f| p.function_file(f).into_owned()),
                line,
            });
        }
    }
    out
}

/// What attribution reads of a heap profile, from a full [`Profile`] or a
/// lean [`FlatProfile`]: one attribution code for both, monomorphized.
trait ProfileView {
    fn sample_type_index(&self, name: &str) -> Option<usize>;
    /// The sampling period: for a heap profile, bytes per sample.
    fn period(&self) -> i64;
    fn sample_count(&self) -> usize;
    /// Sample `i`'s location indexes, leaf first.
    fn stack(&self, i: usize) -> &[u32];
    /// Sample `i`'s value at sample type `ix` (0 when missing).
    fn value(&self, i: usize, ix: usize) -> i64;
    fn mapping_count(&self) -> usize;
    /// (build id, file, start, limit, offset)
    fn mapping(&self, mi: usize) -> (Cow<'_, str>, Cow<'_, str>, u64, u64, u64);
    fn location_count(&self) -> usize;
    fn address(&self, li: usize) -> u64;
    fn location_mapping(&self, li: usize) -> Option<u32>;
    fn line_count(&self, li: usize) -> usize;
    /// Line `k` of location `li`: (function index, line number).
    fn line(&self, li: usize, k: usize) -> Option<(Option<u32>, i64)>;
    fn function_count(&self) -> usize;
    /// Out of range: "".
    fn function_name(&self, fi: u32) -> Cow<'_, str>;
    fn function_file(&self, fi: u32) -> Cow<'_, str>;
}

impl ProfileView for Profile {
    fn sample_type_index(&self, name: &str) -> Option<usize> {
        self.sample_types.iter().position(|v| v.r#type == name)
    }
    fn period(&self) -> i64 {
        self.period
    }
    fn sample_count(&self) -> usize {
        self.samples.len()
    }
    fn stack(&self, i: usize) -> &[u32] {
        &self.samples[i].locations
    }
    fn value(&self, i: usize, ix: usize) -> i64 {
        self.samples[i].values.get(ix).copied().unwrap_or(0)
    }
    fn mapping_count(&self) -> usize {
        self.mappings.len()
    }
    fn mapping(&self, mi: usize) -> (Cow<'_, str>, Cow<'_, str>, u64, u64, u64) {
        let m = &self.mappings[mi];
        (
            Cow::Borrowed(&m.build_id),
            Cow::Borrowed(&m.file),
            m.start,
            m.limit,
            m.offset,
        )
    }
    fn location_count(&self) -> usize {
        self.locations.len()
    }
    fn address(&self, li: usize) -> u64 {
        self.locations[li].address
    }
    fn location_mapping(&self, li: usize) -> Option<u32> {
        self.locations[li].mapping
    }
    fn line_count(&self, li: usize) -> usize {
        self.locations[li].lines.len()
    }
    fn line(&self, li: usize, k: usize) -> Option<(Option<u32>, i64)> {
        let ln = self.locations[li].lines.get(k)?;
        Some((
            ln.function.filter(|&f| (f as usize) < self.functions.len()),
            ln.line,
        ))
    }
    fn function_count(&self) -> usize {
        self.functions.len()
    }
    fn function_name(&self, fi: u32) -> Cow<'_, str> {
        self.functions
            .get(fi as usize)
            .map_or(Cow::Borrowed(""), |f| Cow::Borrowed(f.name.as_str()))
    }
    fn function_file(&self, fi: u32) -> Cow<'_, str> {
        self.functions
            .get(fi as usize)
            .map_or(Cow::Borrowed(""), |f| Cow::Borrowed(f.filename.as_str()))
    }
}

impl ProfileView for FlatProfile {
    fn sample_type_index(&self, name: &str) -> Option<usize> {
        self.sample_types
            .iter()
            .position(|v| self.string(v.r#type) == name)
    }
    fn period(&self) -> i64 {
        self.period
    }
    fn sample_count(&self) -> usize {
        FlatProfile::sample_count(self)
    }
    fn stack(&self, i: usize) -> &[u32] {
        self.sample_stack(i)
    }
    fn value(&self, i: usize, ix: usize) -> i64 {
        self.sample_values(i).get(ix).copied().unwrap_or(0)
    }
    fn mapping_count(&self) -> usize {
        self.mappings.len()
    }
    fn mapping(&self, mi: usize) -> (Cow<'_, str>, Cow<'_, str>, u64, u64, u64) {
        let m = &self.mappings[mi];
        (
            self.string(m.build_id),
            self.string(m.file),
            m.start,
            m.limit,
            m.offset,
        )
    }
    fn location_count(&self) -> usize {
        self.locations.len()
    }
    fn address(&self, li: usize) -> u64 {
        self.locations[li].address
    }
    fn location_mapping(&self, li: usize) -> Option<u32> {
        Some(self.locations[li].mapping).filter(|&m| m != NO_INDEX)
    }
    fn line_count(&self, li: usize) -> usize {
        self.location_lines(li).len()
    }
    fn line(&self, li: usize, k: usize) -> Option<(Option<u32>, i64)> {
        let ln = self.location_lines(li).get(k)?;
        Some((Some(ln.function), ln.line))
    }
    fn function_count(&self) -> usize {
        self.functions.len()
    }
    fn function_name(&self, fi: u32) -> Cow<'_, str> {
        self.functions
            .get(fi as usize)
            .map_or(Cow::Borrowed(""), |f| self.string(f.name))
    }
    fn function_file(&self, fi: u32) -> Cow<'_, str> {
        self.functions
            .get(fi as usize)
            .map_or(Cow::Borrowed(""), |f| self.string(f.filename))
    }
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
            Some(524_288),
        )
        .unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h.column(Metric::InuseSpace, 0), [5.0, 6.0, 0.0]);
        // Rows shorter than the site list read as 0.
        assert_eq!(h.column(Metric::InuseSpace, 1), [0.0, 7.0, 0.0]);
        assert_eq!(h.totals(Metric::InuseObjects), [1.0, 3.0, 0.0]);
        assert_eq!(h.breaks, [2]);
        assert_eq!(h.period(1), Some(524_288));
    }

    #[test]
    fn from_parts_rejects_inconsistent_parts() {
        let parts = |t: Vec<i64>, b: Vec<usize>, rows: Vec<Vec<[i64; 4]>>| {
            HeapSeries::from_parts(t, b, vec![site("a")], [true; 4], rows, None)
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
