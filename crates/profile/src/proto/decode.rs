//! Decoding: pprof's `unmarshal` followed by its `postDecode`.
//!
//! Two passes. The first walks the top-level message once, keeping borrowed
//! slices of every sub-message: the string table usually comes after the
//! samples, and locations after samples too, so nothing can be resolved on
//! the fly. The second decodes the tables in dependency order (mappings,
//! functions, locations, then samples), resolving ids to indexes directly.
//!
//! Error precedence follows pprof: wire-level errors first, then string-table
//! index errors ("malformed profile format", all worded the same), then the
//! one `CheckValid` failure our model cannot represent (a sample pointing at
//! an unknown location), reported as `CheckValid` would report it.
use super::wire::{
    Reader, Val, count_varints, err, push_repeated, read_varint, read_varint_opt, type_mismatch,
};
use crate::error::ParseError;
use crate::model::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// Decodes an uncompressed profile.proto message.
pub fn decode(data: &[u8]) -> Result<Profile, ParseError> {
    decode_filtered(data, |_| None)
}

/// Decodes like [`decode`], but leaves out the samples whose values at the
/// indexes `select` returns are all zero. `select` sees the profile before
/// its samples are decoded (sample types, default sample type, tables);
/// `None` keeps every sample.
///
/// For reports that a zero-weight sample cannot change (a graph report of
/// one source with no base: pprof skips samples whose value and mean
/// divisor are both 0), this saves most of the time and memory on heap
/// profiles, where most samples are freed allocations. Errors are the same
/// as `decode`'s: a sample is only left out when it is valid (one value per
/// sample type, every location and label string resolved).
pub fn decode_filtered(
    data: &[u8],
    select: impl FnOnce(&Profile) -> Option<Vec<usize>>,
) -> Result<Profile, ParseError> {
    if data.is_empty() {
        return Err(ParseError::Empty);
    }
    let top = scan_top(data)?;
    Decoder::new(&top).run(top, select)
}

/// Sub-message slices and scalars of the top-level `Profile` message.
#[derive(Default)]
pub(super) struct Top<'a> {
    pub(super) sample_types: Vec<&'a [u8]>,
    /// The part of the message from the first sample to the last: samples
    /// are most of a profile, and a list of them would be megabytes.
    pub(super) sample_region: &'a [u8],
    pub(super) nsamples: usize,
    pub(super) mappings: Vec<&'a [u8]>,
    pub(super) locations: Vec<&'a [u8]>,
    pub(super) functions: Vec<&'a [u8]>,
    pub(super) strings: Vec<&'a [u8]>,
    pub(super) drop_frames: i64,
    pub(super) keep_frames: i64,
    pub(super) time_nanos: i64,
    pub(super) duration_nanos: i64,
    pub(super) period_type: Option<&'a [u8]>,
    pub(super) period: i64,
    pub(super) comments: Vec<i64>,
    pub(super) default_sample_type: i64,
    pub(super) doc_url: i64,
}

/// The sample messages of a region `scan_top` read, in order. The region
/// was scanned without error, so every field in it reads again, and every
/// field 2 is a message.
pub(super) fn samples_in(region: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = Reader::new(region);
    std::iter::from_fn(move || {
        loop {
            match r.next_field() {
                Ok(Some((2, Val::Bytes(b)))) => return Some(b),
                Ok(Some(_)) => {}
                _ => return None,
            }
        }
    })
}

/// Cuts the sample region in two at a field boundary near its middle, for
/// two decoding threads; the second part is empty when the region is too
/// small for a thread to pay off.
fn split_region(region: &[u8]) -> (&[u8], &[u8]) {
    const MIN_BYTES: usize = 4 << 20;
    if region.len() < MIN_BYTES {
        return (region, &[]);
    }
    let mut r = Reader::new(region);
    while region.len() - r.remaining() < region.len() / 2 {
        match r.next_field() {
            Ok(Some(_)) => {}
            _ => return (region, &[]),
        }
    }
    region.split_at(region.len() - r.remaining())
}

pub(super) fn scan_top(data: &[u8]) -> Result<Top<'_>, ParseError> {
    let mut t = Top::default();
    let mut r = Reader::new(data);
    let mut first_sample: Option<usize> = None;
    loop {
        let start = data.len() - r.remaining();
        let Some((field, v)) = r.next_field()? else {
            break;
        };
        match field {
            1 => t.sample_types.push(v.bytes()?),
            2 => {
                v.bytes()?;
                let first = *first_sample.get_or_insert(start);
                t.sample_region = &data[first..data.len() - r.remaining()];
                t.nsamples += 1;
            }
            3 => t.mappings.push(v.bytes()?),
            4 => t.locations.push(v.bytes()?),
            5 => t.functions.push(v.bytes()?),
            6 => {
                t.strings.push(v.bytes()?);
                if !t.strings[0].is_empty() {
                    return Err(err("string_table[0] must be ''"));
                }
            }
            7 => t.drop_frames = v.int64()?,
            8 => t.keep_frames = v.int64()?,
            9 => {
                // A second time_nanos means two profiles were concatenated
                // (`cat a.pb b.pb`), which pprof refuses rather than merging.
                if t.time_nanos != 0 {
                    return Err(err("concatenated profiles detected"));
                }
                t.time_nanos = v.int64()?;
            }
            10 => t.duration_nanos = v.int64()?,
            11 => t.period_type = Some(v.bytes()?),
            12 => t.period = v.int64()?,
            13 => push_repeated(&mut t.comments, v, u64::cast_signed)?,
            14 => t.default_sample_type = v.int64()?,
            15 => t.doc_url = v.int64()?,
            _ => {}
        }
    }
    Ok(t)
}

/// Proto id → table index. Like pprof's postDecode, ids in `0..=n` go to a
/// vector and the rest to a map, so dense `1..n` ids never hash. A later
/// entry with the same id wins, as in pprof (CheckValid rejects duplicates).
/// A `ValueType` message's (type, unit) string-table indexes.
pub(super) fn value_type_ids(b: &[u8]) -> Result<(i64, i64), ParseError> {
    let (mut ty, mut unit) = (0, 0);
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => ty = v.int64()?,
            2 => unit = v.int64()?,
            _ => {}
        }
    }
    Ok((ty, unit))
}

#[derive(Clone, Debug)]
pub(super) struct IdIndex {
    dense: Vec<u32>,
    sparse: HashMap<u64, u32>,
    /// `n` when exactly the ids `1..=n` are present (what Go writes), so
    /// that resolving an id is a range check.
    complete: Option<u64>,
}

impl IdIndex {
    const NONE: u32 = u32::MAX;

    pub(super) fn new(n: usize) -> Self {
        IdIndex {
            dense: vec![Self::NONE; n + 1],
            sparse: HashMap::new(),
            complete: None,
        }
    }

    /// Empties the index for a table of `n` entries, keeping its memory.
    pub(super) fn reset(&mut self, n: usize) {
        self.dense.clear();
        self.dense.resize(n + 1, Self::NONE);
        self.sparse.clear();
        self.complete = None;
    }

    /// Inserts like [`IdIndex::insert`]; `false` for id 0 or an id already
    /// present (pprof's CheckValid rejects both).
    pub(super) fn insert_unique(&mut self, id: u64, idx: u32) -> bool {
        if id == 0 {
            return false;
        }
        if let Some(slot) = usize::try_from(id).ok().and_then(|i| self.dense.get_mut(i)) {
            let fresh = *slot == Self::NONE;
            *slot = idx;
            fresh
        } else {
            self.sparse.insert(id, idx).is_none()
        }
    }

    /// Call once every id is inserted.
    pub(super) fn seal(&mut self) {
        let n = self.dense.len() - 1;
        self.complete = (self.sparse.is_empty()
            && self.dense[1..].iter().all(|&i| i != Self::NONE))
        .then_some(n as u64);
    }

    /// Whether every id of packed run `ids` resolves; `false` also for a
    /// malformed run.
    fn all_resolve(&self, mut ids: &[u8]) -> bool {
        match self.complete {
            Some(n) => {
                let mut bad = false;
                while !ids.is_empty() {
                    match read_varint_opt(&mut ids) {
                        Some(id) => bad |= id.wrapping_sub(1) >= n,
                        None => return false,
                    }
                }
                !bad
            }
            None => {
                while !ids.is_empty() {
                    match read_varint(&mut ids) {
                        Ok(id) if self.get(id).is_some() => {}
                        _ => return false,
                    }
                }
                true
            }
        }
    }

    fn insert(&mut self, id: u64, idx: u32) {
        if let Some(slot) = usize::try_from(id).ok().and_then(|i| self.dense.get_mut(i)) {
            *slot = idx;
        } else {
            self.sparse.insert(id, idx);
        }
    }

    #[inline]
    pub(super) fn get(&self, id: u64) -> Option<u32> {
        match usize::try_from(id).ok().and_then(|i| self.dense.get(i)) {
            Some(&i) => (i != Self::NONE).then_some(i),
            None => self.sparse.get(&id).copied(),
        }
    }
}

/// The samples one thread decodes: `skip[i]` leaves out the region's i-th
/// sample (no filter: none left out); `keep` counts the rest.
struct Plan {
    skip: Option<Vec<bool>>,
    keep: usize,
}

/// Reusable buffers of [`Decoder::skippable`].
struct Scratch<'a> {
    ix: Vec<usize>,
    nvalues: usize,
    locs: Vec<Val<'a>>,
    vals: Vec<i64>,
    labels: Vec<[i64; 4]>,
}

struct Decoder<'a> {
    strings: Vec<Cow<'a, str>>,
    /// One shared `Arc` per string-table entry used as a label key or value.
    arcs: Vec<Option<Arc<str>>>,
    /// pprof keeps decoding after a bad string index and reports it at the
    /// end, so wire errors found later take precedence.
    bad_string: bool,
}

impl<'a> Decoder<'a> {
    fn new(top: &Top<'a>) -> Self {
        Decoder {
            // Go strings are bytes; ours must be UTF-8. Replacing invalid
            // sequences keeps every profile Go accepts readable.
            strings: top
                .strings
                .iter()
                .map(|s| String::from_utf8_lossy(s))
                .collect(),
            arcs: vec![None; top.strings.len()],
            bad_string: false,
        }
    }

    fn str_idx(&mut self, i: i64) -> Option<usize> {
        match usize::try_from(i) {
            Ok(i) if i < self.strings.len() => Some(i),
            _ => {
                self.bad_string = true;
                None
            }
        }
    }

    fn string(&mut self, i: i64) -> String {
        match self.str_idx(i) {
            Some(i) => self.strings[i].to_string(),
            None => String::new(),
        }
    }

    fn arc(&mut self, i: i64) -> Arc<str> {
        let Some(i) = self.str_idx(i) else {
            return Arc::from("");
        };
        self.arcs[i]
            .get_or_insert_with(|| Arc::from(&*self.strings[i]))
            .clone()
    }

    fn run(
        mut self,
        top: Top<'a>,
        select: impl FnOnce(&Profile) -> Option<Vec<usize>>,
    ) -> Result<Profile, ParseError> {
        let mut p = Profile::default();

        p.mappings.reserve_exact(top.mappings.len());
        let mut map_ids = IdIndex::new(top.mappings.len());
        for (i, m) in top.mappings.iter().enumerate() {
            let m = self.mapping(m)?;
            map_ids.insert(m.id, table_index(i, "mappings")?);
            p.mappings.push(m);
        }

        p.functions.reserve_exact(top.functions.len());
        let mut func_ids = IdIndex::new(top.functions.len());
        for (i, f) in top.functions.iter().enumerate() {
            let f = self.function(f)?;
            func_ids.insert(f.id, table_index(i, "functions")?);
            p.functions.push(f);
        }

        p.locations.reserve_exact(top.locations.len());
        let mut loc_ids = IdIndex::new(top.locations.len());
        for (i, l) in top.locations.iter().enumerate() {
            let l = location(l, &map_ids, &func_ids)?;
            loc_ids.insert(l.id, table_index(i, "locations")?);
            p.locations.push(l);
        }
        loc_ids.seal();

        for st in &top.sample_types {
            let st = self.value_type(st)?;
            p.sample_types.push(st);
        }

        // A plain string lookup (no error can come from it), so taking it
        // before the samples changes no error precedence.
        p.default_sample_type = self.string(top.default_sample_type);
        let nvalues = p.sample_types.len();
        let filter = select(&p).filter(|ix| nvalues > 0 && ix.iter().all(|&i| i < nvalues));

        let (first, second) = split_region(top.sample_region);
        let filter = filter.as_deref();
        // A second thread, with its own label cache, for the second half
        // of a large region; its bad-string flag joins ours at the end.
        let mut other = (!second.is_empty()).then(|| Decoder {
            strings: self.strings.clone(),
            arcs: vec![None; self.arcs.len()],
            bad_string: false,
        });
        let (plan_a, plan_b) = match &mut other {
            None => (self.plan(first, &loc_ids, filter, nvalues), None),
            Some(o) => std::thread::scope(|s| {
                let b = s.spawn(|| o.plan(second, &loc_ids, filter, nvalues));
                let a = self.plan(first, &loc_ids, filter, nvalues);
                (a, Some(b.join().expect("sample decoder panicked")))
            }),
        };
        // Both halves decode straight into one exactly sized vector, so no
        // copy (and no second buffer) joins them while the input is alive.
        let total = plan_a.keep + plan_b.as_ref().map_or(0, |b| b.keep);
        let mut samples: Vec<Sample> = Vec::with_capacity(total);
        let (filled_a, result_a, filled_b, result_b) = {
            let (slots_a, slots_b) =
                samples.spare_capacity_mut()[..total].split_at_mut(plan_a.keep);
            let ((na, ra), b) = match (&mut other, &plan_b) {
                (Some(o), Some(plan_b)) => std::thread::scope(|s| {
                    let b = s.spawn(|| o.fill(second, &loc_ids, plan_b, slots_b));
                    let a = self.fill(first, &loc_ids, &plan_a, slots_a);
                    (a, Some(b.join().expect("sample decoder panicked")))
                }),
                _ => (self.fill(first, &loc_ids, &plan_a, slots_a), None),
            };
            let (nb, rb) = b.unwrap_or((0, Ok(None)));
            (na, ra, nb, rb)
        };
        if let Some(o) = &other {
            self.bad_string |= o.bad_string;
        }
        let keep_b = plan_b.as_ref().map_or(0, |b| b.keep);
        let nil_location = match (result_a, result_b) {
            // Checked, not assumed: a half that filled fewer slots than its
            // plan counted leaves some uninitialised.
            (Ok(a), Ok(b)) if filled_a == plan_a.keep && filled_b == keep_b => {
                // SAFETY: each half initialised every one of its slots (just
                // checked), and the halves are contiguous in the spare
                // capacity.
                unsafe { samples.set_len(total) };
                a.or(b.map(|i| i + plan_a.keep))
            }
            (a, b) => {
                let spare = samples.spare_capacity_mut();
                let (slots_a, slots_b) = spare[..total].split_at_mut(plan_a.keep);
                for slot in slots_a[..filled_a]
                    .iter_mut()
                    .chain(&mut slots_b[..filled_b])
                {
                    // SAFETY: the first `filled` slots of each half were
                    // written by `fill` and are dropped exactly once here.
                    unsafe { slot.assume_init_drop() };
                }
                // The first error in sample order wins, as in one pass.
                return Err(a.err().or(b.err()).unwrap_or_else(|| {
                    ParseError::Invalid(format!(
                        "decoded {} of the {total} samples counted",
                        filled_a + filled_b
                    ))
                }));
            }
        };
        p.samples = samples.into();

        p.drop_frames = self.string(top.drop_frames);
        p.keep_frames = self.string(top.keep_frames);
        // pprof always ends up with a period type, empty when absent.
        p.period_type = Some(match top.period_type {
            Some(b) => self.value_type(b)?,
            None => ValueType::default(),
        });
        p.comments = top.comments.iter().map(|&c| self.string(c)).collect();
        p.doc_url = self.string(top.doc_url);
        p.time_nanos = top.time_nanos;
        p.duration_nanos = top.duration_nanos;
        p.period = top.period;

        if self.bad_string {
            return Err(err("malformed profile format"));
        }
        if let Some(i) = nil_location {
            return Err(nil_location_error(&p, i));
        }
        Ok(p)
    }

    /// Which samples of `region` to decode: with `filter`, those
    /// [`Decoder::skippable`] does not allow to leave out; else all.
    fn plan(
        &mut self,
        region: &'a [u8],
        loc_ids: &IdIndex,
        filter: Option<&[usize]>,
        nvalues: usize,
    ) -> Plan {
        let Some(ix) = filter else {
            return Plan {
                skip: None,
                keep: samples_in(region).count(),
            };
        };
        let mut sc = Scratch {
            ix: ix.to_vec(),
            nvalues,
            locs: Vec::new(),
            vals: Vec::with_capacity(nvalues),
            labels: Vec::new(),
        };
        // `skippable` never fails, so errors still come from `sample`, in
        // order.
        let skip: Vec<bool> = samples_in(region)
            .map(|s| self.skippable(s, loc_ids, &mut sc))
            .collect();
        let keep = skip.iter().filter(|&&skipped| !skipped).count();
        Plan {
            skip: Some(skip),
            keep,
        }
    }

    /// Decodes the samples `plan` keeps into `out` (`plan.keep` slots).
    /// Returns how many slots it wrote, and the index of the first sample
    /// with an unresolved location or the first error.
    fn fill(
        &mut self,
        region: &'a [u8],
        loc_ids: &IdIndex,
        plan: &Plan,
        out: &mut [MaybeUninit<Sample>],
    ) -> (usize, Result<Option<usize>, ParseError>) {
        let mut raw_labels = Vec::new();
        let mut nil_location = None;
        let mut n = 0;
        let kept = samples_in(region)
            .enumerate()
            .filter(|(i, _)| plan.skip.as_ref().is_none_or(|skip| !skip[*i]));
        for (_, s) in kept {
            match self.sample(s, loc_ids, &mut raw_labels) {
                Ok((s, ok)) => {
                    if !ok && nil_location.is_none() {
                        nil_location = Some(n);
                    }
                    out[n].write(s);
                    n += 1;
                }
                Err(e) => return (n, Err(e)),
            }
        }
        (n, Ok(nil_location))
    }

    fn value_type(&mut self, b: &[u8]) -> Result<ValueType, ParseError> {
        let (ty, unit) = value_type_ids(b)?;
        Ok(ValueType {
            r#type: self.string(ty),
            unit: self.string(unit),
        })
    }

    fn mapping(&mut self, b: &[u8]) -> Result<Mapping, ParseError> {
        let mut m = Mapping::default();
        let (mut file, mut build_id) = (0, 0);
        let mut r = Reader::new(b);
        while let Some((field, v)) = r.next_field()? {
            match field {
                1 => m.id = v.varint()?,
                2 => m.start = v.varint()?,
                3 => m.limit = v.varint()?,
                4 => m.offset = v.varint()?,
                5 => file = v.int64()?,
                6 => build_id = v.int64()?,
                7 => m.has_functions = v.varint()? != 0,
                8 => m.has_filenames = v.varint()? != 0,
                9 => m.has_line_numbers = v.varint()? != 0,
                10 => m.has_inline_frames = v.varint()? != 0,
                _ => {}
            }
        }
        m.file = self.string(file);
        m.build_id = self.string(build_id);
        // Main Linux kernel mappings carry their relocation symbol as a
        // suffix ("[kernel.kallsyms]_text"); pprof splits it off here.
        if let Some(sym) = m.file.strip_prefix("[kernel.kallsyms]") {
            m.kernel_relocation_symbol = sym.to_string();
        }
        Ok(m)
    }

    fn function(&mut self, b: &[u8]) -> Result<Function, ParseError> {
        let mut f = Function::default();
        let (mut name, mut system_name, mut filename) = (0, 0, 0);
        let mut r = Reader::new(b);
        while let Some((field, v)) = r.next_field()? {
            match field {
                1 => f.id = v.varint()?,
                2 => name = v.int64()?,
                3 => system_name = v.int64()?,
                4 => filename = v.int64()?,
                5 => f.start_line = v.int64()?,
                _ => {}
            }
        }
        f.name = self.string(name);
        f.system_name = self.string(system_name);
        f.filename = self.string(filename);
        Ok(f)
    }

    /// Returns the sample and whether all its location ids resolved.
    fn sample(
        &mut self,
        b: &[u8],
        loc_ids: &IdIndex,
        raw_labels: &mut Vec<[i64; 4]>,
    ) -> Result<(Sample, bool), ParseError> {
        let mut s = Sample::default();
        let mut ok = true;
        raw_labels.clear();
        let mut r = Reader::new(b);
        while let Some((field, v)) = r.next_field()? {
            match field {
                1 => match v {
                    Val::Bytes(mut ids) => {
                        s.locations.reserve_exact(count_varints(ids));
                        while !ids.is_empty() {
                            match loc_ids.get(read_varint(&mut ids)?) {
                                Some(i) => s.locations.push(i),
                                None => ok = false,
                            }
                        }
                    }
                    Val::Varint(id) => match loc_ids.get(id) {
                        Some(i) => s.locations.push(i),
                        None => ok = false,
                    },
                    Val::Fixed => return Err(type_mismatch()),
                },
                2 => push_repeated(&mut s.values, v, u64::cast_signed)?,
                3 => raw_labels.push(label(v.bytes()?)?),
                _ => {}
            }
        }
        if !raw_labels.is_empty() {
            self.labels(&mut s, raw_labels);
        }
        Ok((s, ok))
    }

    /// Whether sample `b` can be left out: it is well-formed, its values at
    /// `ix` are all zero and it is valid, so that leaving it out changes
    /// neither the result nor the error. Reads the sample without
    /// allocating and without decoding its location ids unless it can be
    /// left out; any doubt (including a wire error) answers `false`, and
    /// `sample` then decodes it, reporting errors as usual.
    fn skippable(&mut self, b: &'a [u8], loc_ids: &IdIndex, sc: &mut Scratch<'a>) -> bool {
        sc.locs.clear();
        sc.vals.clear();
        sc.labels.clear();
        let mut r = Reader::new(b);
        loop {
            match r.next_field() {
                Ok(None) => break,
                Ok(Some((1, v))) => match v {
                    Val::Fixed => return false,
                    v => sc.locs.push(v),
                },
                Ok(Some((2, v))) => {
                    if push_repeated(&mut sc.vals, v, u64::cast_signed).is_err() {
                        return false;
                    }
                }
                Ok(Some((3, v))) => match v.bytes().and_then(label) {
                    Ok(l) => sc.labels.push(l),
                    Err(_) => return false,
                },
                Ok(Some(_)) => {}
                Err(_) => return false,
            }
        }
        if sc.vals.len() != sc.nvalues || sc.ix.iter().any(|&i| sc.vals[i] != 0) {
            return false;
        }
        for v in &sc.locs {
            let resolved = match *v {
                Val::Varint(id) => loc_ids.get(id).is_some(),
                Val::Bytes(ids) => loc_ids.all_resolve(ids),
                Val::Fixed => false,
            };
            if !resolved {
                return false;
            }
        }
        // The string indexes `labels` would resolve, checked the same way.
        for &[key, str, _, unit] in &sc.labels {
            self.str_idx(key);
            if str != 0 {
                self.str_idx(str);
            } else if unit != 0 {
                self.str_idx(unit);
            }
        }
        true
    }

    /// pprof's label rules: a non-zero `str` makes a string label; else a
    /// non-zero `num` or `unit` makes a numeric one; else the label is
    /// dropped (its key is still checked).
    fn labels(&mut self, s: &mut Sample, raw: &[[i64; 4]]) {
        let mut any_unit = false;
        for &[key, str, num, unit] in raw {
            let key = self.arc(key);
            if str != 0 {
                let value = self.arc(str);
                s.labels.push(Label { key, value });
            } else if num != 0 || unit != 0 {
                let unit = (unit != 0).then(|| self.arc(unit));
                any_unit |= unit.is_some();
                s.num_labels.push(NumLabel {
                    key,
                    value: num,
                    unit,
                });
            }
        }
        // pprof keeps units per key, padded with "" once any value of the
        // key has one; per-value options mirror that as Some("").
        if any_unit {
            let keyed: Vec<Arc<str>> = s
                .num_labels
                .iter()
                .filter(|l| l.unit.is_some())
                .map(|l| l.key.clone())
                .collect();
            let empty: Arc<str> = self.arc(0);
            for l in &mut s.num_labels {
                if l.unit.is_none() && keyed.contains(&l.key) {
                    l.unit = Some(empty.clone());
                }
            }
        }
    }
}

pub(super) fn label(b: &[u8]) -> Result<[i64; 4], ParseError> {
    let mut l = [0i64; 4];
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        if let Ok(f @ 1..=4) = usize::try_from(field) {
            l[f - 1] = v.int64()?;
        }
    }
    Ok(l)
}

fn location(b: &[u8], map_ids: &IdIndex, func_ids: &IdIndex) -> Result<Location, ParseError> {
    let mut l = Location::default();
    let mut mapping_id = 0;
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => l.id = v.varint()?,
            2 => mapping_id = v.varint()?,
            3 => l.address = v.varint()?,
            4 => l.lines.push(line(v.bytes()?, func_ids)?),
            5 => l.is_folded = v.varint()? != 0,
            _ => {}
        }
    }
    // An unknown mapping id (0 included, unless a mapping claims id 0)
    // silently leaves the location unmapped, as in pprof.
    l.mapping = map_ids.get(mapping_id);
    l.lines.shrink_to_fit();
    Ok(l)
}

fn line(b: &[u8], func_ids: &IdIndex) -> Result<Line, ParseError> {
    let mut ln = Line::default();
    let mut function_id = 0;
    let mut r = Reader::new(b);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => function_id = v.varint()?,
            2 => ln.line = v.int64()?,
            3 => ln.column = v.int64()?,
            _ => {}
        }
    }
    // Function id 0 means "none"; an unknown id also yields none, which
    // CheckValid then reports ("has a line with nil function").
    if function_id != 0 {
        ln.function = func_ids.get(function_id);
    }
    Ok(ln)
}

/// The error CheckValid gives for a profile whose sample `bad` lost a
/// location: its earlier checks come first.
fn nil_location_error(p: &Profile, bad: usize) -> ParseError {
    let n = p.sample_types.len();
    if n == 0 {
        return ParseError::Invalid("missing sample type information".into());
    }
    for s in &p.samples[..=bad] {
        if s.values.len() != n {
            return ParseError::Invalid(format!(
                "mismatch: sample has {} values vs. {} types",
                s.values.len(),
                n
            ));
        }
    }
    ParseError::Invalid("sample has nil location".into())
}
