//! pprof's `Merge`, `Compact`, `compatible` and `CompatibilizeSampleTypes`.
//!
//! Entities are deduplicated with pprof's keys and renumbered 1.. in the
//! order they are first met, which `-raw` output depends on.
use super::hash::{FxMap, map_with_capacity};
use crate::model::{
    Function, Line, Location, Mapping, Profile, Sample, Samples, ValueType, mem_index,
};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MergeError {
    #[error("no profiles to merge")]
    NoProfiles,
    #[error("incompatible period types {0} and {1}")]
    PeriodTypes(String, String),
    #[error("incompatible sample types {0} and {1}")]
    SampleTypes(String, String),
    #[error("profiles have empty common sample type list")]
    EmptyCommonSampleTypes,
    #[error("{0:?} sample type is not found in profile")]
    SampleTypeNotFound(String),
    #[error("mismatched scale ratios, got {got}, want {want}")]
    ScaleRatios { got: usize, want: usize },
}

/// Go prints `%v` of a `*ValueType` as `&{type unit …}`; the string-table
/// indexes it also prints are not reproducible, so they are omitted.
fn fmt_value_type(v: &ValueType) -> String {
    format!("&{{{} {}}}", v.r#type, v.unit)
}

fn fmt_value_types(v: &[ValueType]) -> String {
    let parts: Vec<String> = v.iter().map(fmt_value_type).collect();
    format!("[{}]", parts.join(" "))
}

/// pprof's `Profile.compatible`: same period type and the same sample types
/// in the same order. A missing period type equals the empty one, as after
/// pprof's decoding.
pub fn compatible(a: &Profile, b: &Profile) -> Result<(), MergeError> {
    let empty = ValueType::default();
    let pa = a.period_type.as_ref().unwrap_or(&empty);
    let pb = b.period_type.as_ref().unwrap_or(&empty);
    if pa != pb {
        return Err(MergeError::PeriodTypes(
            fmt_value_type(pa),
            fmt_value_type(pb),
        ));
    }
    if a.sample_types != b.sample_types {
        return Err(MergeError::SampleTypes(
            fmt_value_types(&a.sample_types),
            fmt_value_types(&b.sample_types),
        ));
    }
    Ok(())
}

/// pprof's `Compact`: a merge of one profile, which drops unreferenced
/// entities and zero samples and renumbers ids.
pub fn compact(p: &Profile) -> Profile {
    // A single profile is always compatible with itself.
    merge_refs(&[p]).unwrap_or_else(|_| p.clone())
}

/// pprof's `Merge`.
pub fn merge(srcs: &[Profile]) -> Result<Profile, MergeError> {
    let refs: Vec<&Profile> = srcs.iter().collect();
    merge_refs(&refs)
}

/// `merge` over borrowed profiles, so callers need not move or clone them.
pub fn merge_refs(srcs: &[&Profile]) -> Result<Profile, MergeError> {
    let Some(first) = srcs.first() else {
        return Err(MergeError::NoProfiles);
    };
    let header = combine_headers(srcs)?;
    let mut m = Merger::new(header, first);
    for src in srcs {
        m.add_profile(src);
    }
    let p = m.out;
    if p.samples.iter().any(is_zero_sample) {
        // Samples that cancelled out are dropped by merging once more, which
        // also collects whatever only they referenced.
        return merge_refs(&[&p]);
    }
    Ok(p)
}

fn is_zero_sample(s: &Sample) -> bool {
    s.values.iter().all(|&v| v == 0)
}

fn combine_headers(srcs: &[&Profile]) -> Result<Profile, MergeError> {
    let first = srcs[0];
    for s in &srcs[1..] {
        compatible(first, s)?;
    }
    let mut time_nanos = 0i64;
    let mut duration_nanos = 0i64;
    let mut period = 0i64;
    let mut comments: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut default_sample_type = String::new();
    let mut doc_url = String::new();
    for s in srcs {
        // pprof's test lets a later zero time reset the minimum; kept as is.
        if time_nanos == 0 || s.time_nanos < time_nanos {
            time_nanos = s.time_nanos;
        }
        duration_nanos = duration_nanos.wrapping_add(s.duration_nanos);
        if period == 0 || period < s.period {
            period = s.period;
        }
        for c in &s.comments {
            if seen.insert(c.as_str()) {
                comments.push(c.clone());
            }
        }
        if default_sample_type.is_empty() {
            default_sample_type = s.default_sample_type.clone();
        }
        if doc_url.is_empty() {
            doc_url = s.doc_url.clone();
        }
    }
    Ok(Profile {
        sample_types: first.sample_types.clone(),
        default_sample_type,
        samples: Samples::default(),
        mappings: Vec::new(),
        locations: Vec::new(),
        functions: Vec::new(),
        comments,
        doc_url,
        drop_frames: first.drop_frames.clone(),
        keep_frames: first.keep_frames.clone(),
        time_nanos,
        duration_nanos,
        period_type: first.period_type.clone(),
        period,
    })
}

fn hash_key(key: &[u64]) -> u64 {
    use std::hash::Hasher;
    let mut h = super::hash::FxHasher::default();
    for &k in key {
        h.write_u64(k);
    }
    h.finish()
}

/// Sample keys, stored back to back in one arena and indexed by hash with
/// collision chains; sample `i` of the merged profile owns key `i`. This
/// saves an allocation per distinct sample over a map of `Vec` keys.
struct SampleTable {
    heads: FxMap<u64, u32>,
    next: Vec<u32>,
    spans: Vec<(usize, usize)>,
    arena: Vec<u64>,
}

const NONE: u32 = u32::MAX;

impl SampleTable {
    fn with_capacity(n: usize) -> Self {
        SampleTable {
            heads: map_with_capacity(n),
            next: Vec::with_capacity(n),
            spans: Vec::with_capacity(n),
            arena: Vec::with_capacity(n * 8),
        }
    }

    fn find(&self, hash: u64, key: &[u64]) -> Option<usize> {
        let mut i = *self.heads.get(&hash)?;
        while i != NONE {
            let (start, len) = self.spans[i as usize];
            if self.arena[start..start + len] == *key {
                return Some(i as usize);
            }
            i = self.next[i as usize];
        }
        None
    }

    /// Adds the key of the next sample (the caller pushes samples in step).
    fn insert(&mut self, hash: u64, key: &[u64]) {
        let i = mem_index(self.spans.len());
        self.spans.push((self.arena.len(), key.len()));
        self.arena.extend_from_slice(key);
        let head = self.heads.entry(hash).or_insert(NONE);
        self.next.push(*head);
        *head = i;
    }
}

/// One slot of pprof's location key. pprof joins hex strings; a function id
/// (u64) and a line or column (i64) print alike exactly when they are equal
/// as integers, so i128 preserves its equality.
type Slot = Option<i128>;

#[derive(PartialEq, Eq, Hash)]
struct LocKey {
    addr: u64,
    mapping_id: u64,
    is_folded: bool,
    slots: Vec<Slot>,
}

type FuncKey<'a> = (i64, &'a str, &'a str, &'a str);
type MapKey<'a> = (u64, u64, &'a str);

struct Merger<'a> {
    out: Profile,
    // Per-source memo tables, indexed by the source's own indexes (pprof
    // uses ids, which are unique in a valid profile).
    loc_memo: Vec<Option<u32>>,
    func_memo: Vec<Option<u32>>,
    map_memo: Vec<Option<(u32, i64)>>,
    // Global dedup tables.
    samples: SampleTable,
    locations: FxMap<LocKey, u32>,
    functions: FxMap<FuncKey<'a>, u32>,
    mappings: FxMap<MapKey<'a>, u32>,
    strings: FxMap<&'a str, u64>,
    key_buf: Vec<u64>,
    order_buf: Vec<usize>,
}

const SECTION: u64 = u64::MAX;

impl<'a> Merger<'a> {
    fn new(out: Profile, first: &Profile) -> Self {
        Merger {
            out,
            loc_memo: Vec::new(),
            func_memo: Vec::new(),
            map_memo: Vec::new(),
            samples: SampleTable::with_capacity(first.samples.len()),
            locations: map_with_capacity(first.locations.len()),
            functions: map_with_capacity(first.functions.len()),
            mappings: map_with_capacity(first.mappings.len()),
            strings: map_with_capacity(64),
            key_buf: Vec::with_capacity(64),
            order_buf: Vec::new(),
        }
    }

    fn add_profile(&mut self, src: &'a Profile) {
        self.loc_memo.clear();
        self.loc_memo.resize(src.locations.len(), None);
        self.func_memo.clear();
        self.func_memo.resize(src.functions.len(), None);
        self.map_memo.clear();
        self.map_memo.resize(src.mappings.len(), None);
        if self.mappings.is_empty() && !src.mappings.is_empty() {
            // The first mapping is the main binary; keep it first.
            self.map_mapping(src, 0);
        }
        for s in &src.samples {
            if !is_zero_sample(s) {
                self.map_sample(src, s);
            }
        }
    }

    fn intern(&mut self, s: &'a str) -> u64 {
        let n = self.strings.len() as u64;
        *self.strings.entry(s).or_insert(n)
    }

    fn map_sample(&mut self, src: &'a Profile, s: &'a Sample) {
        let mut key = std::mem::take(&mut self.key_buf);
        key.clear();
        for &l in &s.locations {
            let idx = self.map_location(src, l as usize);
            key.push(idx as u64 + 1);
        }
        key.push(0);
        self.push_label_key(s, &mut key);
        let hash = hash_key(&key);
        if let Some(i) = self.samples.find(hash, &key) {
            let dst = &mut self.out.samples[i];
            for (d, v) in dst.values.iter_mut().zip(&s.values) {
                *d = d.wrapping_add(*v);
            }
        } else {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "key[..n] holds the u32 location indexes plus one, pushed above"
            )]
            let locations = key[..s.locations.len()]
                .iter()
                .map(|&id| (id - 1) as u32)
                .collect();
            self.out.samples.push(Sample {
                locations,
                values: s.values.clone(),
                labels: s.labels.clone(),
                num_labels: s.num_labels.clone(),
            });
            self.samples.insert(hash, &key);
        }
        self.key_buf = key;
    }

    /// pprof's sample key encodes labels grouped by key, keys sorted, values
    /// in order; numeric labels also carry their units list, which pprof has
    /// either empty or one entry per value.
    fn push_label_key(&mut self, s: &'a Sample, key: &mut Vec<u64>) {
        if !s.labels.is_empty() {
            let mut order = std::mem::take(&mut self.order_buf);
            order.clear();
            order.extend(0..s.labels.len());
            order.sort_by(|&a, &b| s.labels[a].key.cmp(&s.labels[b].key));
            let mut i = 0;
            while i < order.len() {
                let k = &s.labels[order[i]].key;
                let mut j = i;
                while j < order.len() && s.labels[order[j]].key == *k {
                    j += 1;
                }
                key.push(self.intern(k));
                key.push((j - i) as u64);
                for &o in &order[i..j] {
                    key.push(self.intern(&s.labels[o].value));
                }
                i = j;
            }
            self.order_buf = order;
        }
        key.push(SECTION);
        if !s.num_labels.is_empty() {
            let mut order = std::mem::take(&mut self.order_buf);
            order.clear();
            order.extend(0..s.num_labels.len());
            order.sort_by(|&a, &b| s.num_labels[a].key.cmp(&s.num_labels[b].key));
            let mut i = 0;
            while i < order.len() {
                let k = &s.num_labels[order[i]].key;
                let mut j = i;
                while j < order.len() && s.num_labels[order[j]].key == *k {
                    j += 1;
                }
                key.push(self.intern(k));
                key.push((j - i) as u64);
                for &o in &order[i..j] {
                    key.push(s.num_labels[o].value.cast_unsigned());
                }
                let has_units = order[i..j].iter().any(|&o| s.num_labels[o].unit.is_some());
                if has_units {
                    key.push((j - i) as u64);
                    for &o in &order[i..j] {
                        let u = s.num_labels[o].unit.as_deref().unwrap_or("");
                        key.push(self.intern(u));
                    }
                } else {
                    key.push(0);
                }
                i = j;
            }
            self.order_buf = order;
        }
    }

    fn map_location(&mut self, src: &'a Profile, idx: usize) -> u32 {
        if let Some(l) = self.loc_memo[idx] {
            return l;
        }
        let sl = &src.locations[idx];
        let (mapping, offset) = match sl.mapping {
            Some(m) => {
                let (mi, off) = self.map_mapping(src, m as usize);
                (Some(mi), off)
            }
            None => (None, 0),
        };
        let lines: Vec<Line> = sl
            .lines
            .iter()
            .map(|ln| Line {
                function: ln.function.map(|f| self.map_function(src, f as usize)),
                line: ln.line,
                column: ln.column,
            })
            .collect();
        let address = sl
            .address
            .cast_signed()
            .wrapping_add(offset)
            .cast_unsigned();
        let key = self.location_key(address, mapping, sl.is_folded, &lines);
        if let Some(&l) = self.locations.get(&key) {
            self.loc_memo[idx] = Some(l);
            return l;
        }
        let new_idx = mem_index(self.out.locations.len());
        self.out.locations.push(Location {
            id: new_idx as u64 + 1,
            mapping,
            address,
            lines,
            is_folded: sl.is_folded,
        });
        self.locations.insert(key, new_idx);
        self.loc_memo[idx] = Some(new_idx);
        new_idx
    }

    /// pprof's `Location.key`. Its line encoding writes slot 2i, 2i+1 and
    /// 2i+2 for line i, so each line's column is overwritten by the next
    /// line's function id (or survives when that function is nil); the
    /// trailing slots stay empty. The same overlap is reproduced here.
    fn location_key(
        &self,
        address: u64,
        mapping: Option<u32>,
        is_folded: bool,
        lines: &[Line],
    ) -> LocKey {
        let mut key = LocKey {
            addr: address,
            mapping_id: 0,
            is_folded,
            slots: vec![None; lines.len() * 3],
        };
        if let Some(m) = mapping {
            let m = &self.out.mappings[m as usize];
            key.addr = key.addr.wrapping_sub(m.start);
            key.mapping_id = m.id;
        }
        for (i, ln) in lines.iter().enumerate() {
            if let Some(f) = ln.function {
                key.slots[i * 2] = Some(self.out.functions[f as usize].id as i128);
            }
            key.slots[i * 2 + 1] = Some(ln.line as i128);
            key.slots[i * 2 + 2] = Some(ln.column as i128);
        }
        key
    }

    fn map_mapping(&mut self, src: &'a Profile, idx: usize) -> (u32, i64) {
        if let Some(mi) = self.map_memo[idx] {
            return mi;
        }
        let sm = &src.mappings[idx];
        let key = mapping_key(sm);
        if let Some(&m) = self.mappings.get(&key) {
            let off = self.out.mappings[m as usize]
                .start
                .cast_signed()
                .wrapping_sub(sm.start.cast_signed());
            self.map_memo[idx] = Some((m, off));
            return (m, off);
        }
        let new_idx = mem_index(self.out.mappings.len());
        self.out.mappings.push(Mapping {
            id: new_idx as u64 + 1,
            ..sm.clone()
        });
        self.mappings.insert(key, new_idx);
        self.map_memo[idx] = Some((new_idx, 0));
        (new_idx, 0)
    }

    fn map_function(&mut self, src: &'a Profile, idx: usize) -> u32 {
        if let Some(f) = self.func_memo[idx] {
            return f;
        }
        let sf = &src.functions[idx];
        let key = (
            sf.start_line,
            sf.name.as_str(),
            sf.system_name.as_str(),
            sf.filename.as_str(),
        );
        if let Some(&f) = self.functions.get(&key) {
            self.func_memo[idx] = Some(f);
            return f;
        }
        let new_idx = mem_index(self.out.functions.len());
        self.out.functions.push(Function {
            id: new_idx as u64 + 1,
            ..sf.clone()
        });
        self.functions.insert(key, new_idx);
        self.func_memo[idx] = Some(new_idx);
        new_idx
    }
}

/// pprof's `Mapping.key`: the size rounded up to 4 KiB, the offset, and the
/// build id, else the file (fake mappings share the empty key).
fn mapping_key(m: &Mapping) -> MapKey<'_> {
    const ROUND: u64 = 0x1000;
    let mut size = m.limit.wrapping_sub(m.start);
    size = size.wrapping_add(ROUND - 1);
    size -= size % ROUND;
    let id = if !m.build_id.is_empty() {
        m.build_id.as_str()
    } else {
        m.file.as_str()
    };
    (size, m.offset, id)
}

/// pprof's `CompatibilizeSampleTypes`: keep the sample types common to all
/// profiles, in the first profile's order, reordering values in place.
pub fn compatibilize_sample_types(ps: &mut [Profile]) -> Result<(), MergeError> {
    let common = common_sample_types(ps);
    if common.is_empty() {
        return Err(MergeError::EmptyCommonSampleTypes);
    }
    for p in ps.iter_mut() {
        compatibilize_one(p, &common)?;
    }
    Ok(())
}

fn common_sample_types(ps: &[Profile]) -> Vec<String> {
    let Some(first) = ps.first() else {
        return Vec::new();
    };
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for p in ps {
        for st in &p.sample_types {
            *counts.entry(st.r#type.as_str()).or_default() += 1;
        }
    }
    first
        .sample_types
        .iter()
        .filter(|st| counts.get(st.r#type.as_str()) == Some(&ps.len()))
        .map(|st| st.r#type.clone())
        .collect()
}

fn compatibilize_one(p: &mut Profile, types: &[String]) -> Result<(), MergeError> {
    let mut default = types[0].clone();
    let mut remap = Vec::with_capacity(types.len());
    let mut modify = false;
    for (i, st) in types.iter().enumerate() {
        if *st == p.default_sample_type {
            default = p.default_sample_type.clone();
        }
        let Some(idx) = p.sample_types.iter().position(|v| v.r#type == *st) else {
            return Err(MergeError::SampleTypeNotFound(st.clone()));
        };
        remap.push(idx);
        if idx != i {
            modify = true;
        }
    }
    if !modify && types.len() == p.sample_types.len() {
        return Ok(());
    }
    p.default_sample_type = default;
    p.sample_types = remap.iter().map(|&i| p.sample_types[i].clone()).collect();
    let mut values = vec![0i64; remap.len()];
    for s in &mut p.samples {
        for (v, &idx) in values.iter_mut().zip(&remap) {
            *v = s.values.get(idx).copied().unwrap_or(0);
        }
        s.values.clear();
        s.values.extend_from_slice(&values);
    }
    Ok(())
}
