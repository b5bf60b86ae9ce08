//! A lean decode of profile.proto for readers that attribute samples to
//! frames and sum their values, such as `hunt` over hundreds of heap
//! profiles: no `String` per name, no `Vec` per sample or location, labels
//! checked but not kept. Everything lives in a few flat arrays that a
//! [`FlatProfile`] reuses from one profile to the next, so a long series of
//! profiles decodes without touching the allocator.
//!
//! It accepts exactly what [`super::decode`] followed by pprof's
//! `CheckValid` ([`crate::passes::validate::check_valid`]) accepts: the same
//! wire-level checks on every field the full decoder reads, string indexes in
//! range, every sample location resolved, one value per sample type, ids
//! non-zero and unique, every line with a function. Its error messages are
//! not pprof's, nor in pprof's order: a caller that shows the error parses
//! the bytes again with [`crate::parse`] (also the way to read the legacy
//! texts, which this decoder does not).
use super::decode::{IdIndex, label, samples_in, scan_top, value_type_ids};
use super::wire::{Reader, Val, err, read_varint, type_mismatch};
use crate::error::ParseError;
use crate::model::table_index;
use std::borrow::Cow;

/// Marks an absent index (no mapping, no function).
pub const NO_INDEX: u32 = u32::MAX;

/// A sample type or period type: string-table indexes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlatValueType {
    pub r#type: u32,
    pub unit: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlatMapping {
    pub id: u64,
    pub start: u64,
    pub limit: u64,
    pub offset: u64,
    /// String-table indexes.
    pub file: u32,
    pub build_id: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlatFunction {
    pub id: u64,
    /// String-table indexes.
    pub name: u32,
    pub filename: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlatLocation {
    pub id: u64,
    /// Index into `mappings`, or [`NO_INDEX`].
    pub mapping: u32,
    pub address: u64,
    /// Its lines are `lines[lines_start..lines_end]`.
    lines_start: u32,
    lines_end: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlatLine {
    /// Index into `functions` (always resolved in a decoded profile).
    pub function: u32,
    pub line: i64,
}

/// A decoded profile in flat arrays; see the module doc.
#[derive(Clone, Debug, Default)]
pub struct FlatProfile {
    /// The string table, concatenated: entry i is
    /// `text[string_ends[i-1]..string_ends[i]]`.
    text: Vec<u8>,
    string_ends: Vec<usize>,
    pub sample_types: Vec<FlatValueType>,
    pub mappings: Vec<FlatMapping>,
    pub functions: Vec<FlatFunction>,
    pub locations: Vec<FlatLocation>,
    lines: Vec<FlatLine>,
    /// Sample i's stack (location indexes, leaf first) is
    /// `stacks[stack_ends[i-1]..stack_ends[i]]`.
    stacks: Vec<u32>,
    stack_ends: Vec<usize>,
    /// Sample i's values are `values[i*n..(i+1)*n]`, n = sample types.
    values: Vec<i64>,
    pub time_nanos: i64,
    pub duration_nanos: i64,
    pub period: i64,
    pub default_sample_type: u32,
    // Reused index tables.
    map_ids: Option<IdIndex>,
    func_ids: Option<IdIndex>,
    loc_ids: Option<IdIndex>,
}

impl FlatProfile {
    /// Decodes an uncompressed profile.proto message.
    pub fn decode(data: &[u8]) -> Result<FlatProfile, ParseError> {
        let mut p = FlatProfile::default();
        p.decode_into(data)?;
        Ok(p)
    }

    /// Decodes `data` into `self`, reusing its buffers. On error `self`
    /// holds no usable profile.
    pub fn decode_into(&mut self, data: &[u8]) -> Result<(), ParseError> {
        self.clear();
        if data.is_empty() {
            return Err(ParseError::Empty);
        }
        let top = scan_top(data)?;

        self.text.reserve(top.strings.iter().map(|s| s.len()).sum());
        for s in &top.strings {
            self.text.extend_from_slice(s);
            self.string_ends.push(self.text.len());
        }
        let nstrings = self.string_ends.len() as u64;
        let str_idx = |i: i64| -> Result<u32, ParseError> {
            match u32::try_from(i) {
                Ok(x) if u64::from(x) < nstrings => Ok(x),
                _ => Err(malformed()),
            }
        };

        let mut map_ids = take_index(&mut self.map_ids, top.mappings.len());
        for (i, m) in top.mappings.iter().enumerate() {
            let (mut id, mut start, mut limit, mut offset, mut file, mut build_id) =
                (0, 0, 0, 0, 0, 0);
            let mut r = Reader::new(m);
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => id = v.varint()?,
                    2 => start = v.varint()?,
                    3 => limit = v.varint()?,
                    4 => offset = v.varint()?,
                    5 => file = v.int64()?,
                    6 => build_id = v.int64()?,
                    7..=10 => {
                        v.varint()?;
                    }
                    _ => {}
                }
            }
            if !map_ids.insert_unique(id, table_index(i, "mappings")?) {
                return Err(invalid("mapping id 0 or repeated"));
            }
            self.mappings.push(FlatMapping {
                id,
                start,
                limit,
                offset,
                file: str_idx(file)?,
                build_id: str_idx(build_id)?,
            });
        }

        let mut func_ids = take_index(&mut self.func_ids, top.functions.len());
        for (i, f) in top.functions.iter().enumerate() {
            let (mut id, mut name, mut system_name, mut filename) = (0, 0, 0, 0);
            let mut r = Reader::new(f);
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => id = v.varint()?,
                    2 => name = v.int64()?,
                    3 => system_name = v.int64()?,
                    4 => filename = v.int64()?,
                    5 => {
                        v.varint()?;
                    }
                    _ => {}
                }
            }
            str_idx(system_name)?;
            if !func_ids.insert_unique(id, table_index(i, "functions")?) {
                return Err(invalid("function id 0 or repeated"));
            }
            self.functions.push(FlatFunction {
                id,
                name: str_idx(name)?,
                filename: str_idx(filename)?,
            });
        }

        let mut loc_ids = take_index(&mut self.loc_ids, top.locations.len());
        for (i, l) in top.locations.iter().enumerate() {
            let (mut id, mut mapping_id, mut address) = (0, 0, 0);
            let lines_start = table_index(self.lines.len(), "lines")?;
            let mut r = Reader::new(l);
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => id = v.varint()?,
                    2 => mapping_id = v.varint()?,
                    3 => address = v.varint()?,
                    4 => {
                        let line = self.line(v.bytes()?, &func_ids)?;
                        self.lines.push(line);
                    }
                    5 => {
                        v.varint()?;
                    }
                    _ => {}
                }
            }
            if !loc_ids.insert_unique(id, table_index(i, "locations")?) {
                return Err(invalid("location id 0 or repeated"));
            }
            self.locations.push(FlatLocation {
                id,
                mapping: map_ids.get(mapping_id).unwrap_or(NO_INDEX),
                address,
                lines_start,
                lines_end: table_index(self.lines.len(), "lines")?,
            });
        }
        loc_ids.seal();

        for st in &top.sample_types {
            let vt = value_type_ids(st)?;
            self.sample_types.push(FlatValueType {
                r#type: str_idx(vt.0)?,
                unit: str_idx(vt.1)?,
            });
        }
        self.default_sample_type = str_idx(top.default_sample_type)?;
        for s in [top.drop_frames, top.keep_frames, top.doc_url] {
            str_idx(s)?;
        }
        for &c in &top.comments {
            str_idx(c)?;
        }
        if let Some(pt) = top.period_type {
            let (t, u) = value_type_ids(pt)?;
            str_idx(t)?;
            str_idx(u)?;
        }
        self.time_nanos = top.time_nanos;
        self.duration_nanos = top.duration_nanos;
        self.period = top.period;

        let nvalues = self.sample_types.len();
        if nvalues == 0 && top.nsamples > 0 {
            return Err(invalid("missing sample type information"));
        }
        self.stack_ends.reserve(top.nsamples);
        self.values.reserve(top.nsamples * nvalues);
        for s in samples_in(top.sample_region) {
            let values_before = self.values.len();
            let mut r = Reader::new(s);
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => match v {
                        Val::Bytes(mut ids) => {
                            while !ids.is_empty() {
                                let id = read_varint(&mut ids)?;
                                self.stacks.push(resolve(&loc_ids, id)?);
                            }
                        }
                        Val::Varint(id) => self.stacks.push(resolve(&loc_ids, id)?),
                        Val::Fixed => return Err(type_mismatch()),
                    },
                    2 => match v {
                        Val::Bytes(mut b) => {
                            while !b.is_empty() {
                                self.values.push(read_varint(&mut b)?.cast_signed());
                            }
                        }
                        Val::Varint(x) => self.values.push(x.cast_signed()),
                        Val::Fixed => return Err(type_mismatch()),
                    },
                    3 => {
                        // The full decoder's label rules, for their string
                        // checks: a key always; then the string value, or
                        // else a unit when there is one.
                        let [key, str, _num, unit] = label(v.bytes()?)?;
                        str_idx(key)?;
                        if str != 0 {
                            str_idx(str)?;
                        } else if unit != 0 {
                            str_idx(unit)?;
                        }
                    }
                    _ => {}
                }
            }
            if self.values.len() - values_before != nvalues {
                return Err(invalid("sample values do not match the sample types"));
            }
            self.stack_ends.push(self.stacks.len());
        }

        self.map_ids = Some(map_ids);
        self.func_ids = Some(func_ids);
        self.loc_ids = Some(loc_ids);
        Ok(())
    }

    fn clear(&mut self) {
        self.text.clear();
        self.string_ends.clear();
        self.sample_types.clear();
        self.mappings.clear();
        self.functions.clear();
        self.locations.clear();
        self.lines.clear();
        self.stacks.clear();
        self.stack_ends.clear();
        self.values.clear();
        self.time_nanos = 0;
        self.duration_nanos = 0;
        self.period = 0;
        self.default_sample_type = 0;
    }

    fn line(&self, b: &[u8], func_ids: &IdIndex) -> Result<FlatLine, ParseError> {
        let (mut function_id, mut line) = (0, 0);
        let mut r = Reader::new(b);
        while let Some((field, v)) = r.next_field()? {
            match field {
                1 => function_id = v.varint()?,
                2 => line = v.int64()?,
                3 => {
                    v.varint()?;
                }
                _ => {}
            }
        }
        // pprof's CheckValid: "has a line with nil function".
        let function = match function_id {
            0 => None,
            id => func_ids.get(id),
        }
        .ok_or_else(|| invalid("a location has a line with nil function"))?;
        Ok(FlatLine { function, line })
    }

    /// String-table entry `i` (Go strings are bytes: invalid UTF-8 is
    /// replaced, as the full decoder does). Out of range: "".
    pub fn string(&self, i: u32) -> Cow<'_, str> {
        let i = i as usize;
        let Some(&end) = self.string_ends.get(i) else {
            return Cow::Borrowed("");
        };
        let start = if i == 0 { 0 } else { self.string_ends[i - 1] };
        String::from_utf8_lossy(&self.text[start..end])
    }

    pub fn sample_count(&self) -> usize {
        self.stack_ends.len()
    }

    /// Sample `i`'s locations (indexes into `locations`), leaf first.
    pub fn sample_stack(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.stack_ends[i - 1] };
        &self.stacks[start..self.stack_ends[i]]
    }

    /// Sample `i`'s values, one per sample type.
    pub fn sample_values(&self, i: usize) -> &[i64] {
        let n = self.sample_types.len();
        &self.values[i * n..(i + 1) * n]
    }

    /// Location `li`'s lines, callee (inlined) first.
    pub fn location_lines(&self, li: usize) -> &[FlatLine] {
        let l = &self.locations[li];
        &self.lines[l.lines_start as usize..l.lines_end as usize]
    }
}

fn take_index(slot: &mut Option<IdIndex>, n: usize) -> IdIndex {
    match slot.take() {
        Some(mut ix) => {
            ix.reset(n);
            ix
        }
        None => IdIndex::new(n),
    }
}

#[inline]
fn resolve(loc_ids: &IdIndex, id: u64) -> Result<u32, ParseError> {
    loc_ids
        .get(id)
        .ok_or_else(|| invalid("sample has nil location"))
}

#[cold]
fn malformed() -> ParseError {
    err("malformed profile format")
}

#[cold]
fn invalid(msg: &str) -> ParseError {
    ParseError::Invalid(msg.into())
}
