//! Encoding: pprof's `preEncode` + `encode`, byte for byte.
//!
//! The string table is built in preEncode's order and labels are written in
//! its order (string labels by sorted key, then numeric labels by sorted
//! key), so `go tool pprof -proto` output and ours agree.
use super::wire::{
    put_bool_opt, put_bytes, put_i64_opt, put_message, put_repeated, put_u64, put_u64_opt,
};
use crate::model::*;
use std::collections::HashMap;

/// Encodes like pprof's `Profile.Write` minus the gzip step.
pub fn encode(p: &Profile) -> Vec<u8> {
    let mut st = Strings::default();
    st.add("");
    let sample_types: Vec<(i64, i64)> = p
        .sample_types
        .iter()
        .map(|v| (st.add(&v.r#type), st.add(&v.unit)))
        .collect();
    // All samples' labels in one flat vector (one allocation, not one per
    // sample); `label_ends[i]` closes sample i's run.
    let mut labels: Vec<[i64; 4]> = Vec::new();
    let mut label_ends: Vec<usize> = Vec::with_capacity(p.samples.len());
    for s in &p.samples {
        sample_labels(s, &mut st, &mut labels);
        label_ends.push(labels.len());
    }
    let mappings: Vec<(i64, i64)> = p
        .mappings
        .iter()
        .map(|m| (st.add(&m.file), st.add(&m.build_id)))
        .collect();
    let functions: Vec<[i64; 3]> = p
        .functions
        .iter()
        .map(|f| [st.add(&f.name), st.add(&f.system_name), st.add(&f.filename)])
        .collect();
    let drop_frames = st.add(&p.drop_frames);
    let keep_frames = st.add(&p.keep_frames);
    let period_type = p
        .period_type
        .as_ref()
        .map(|pt| (st.add(&pt.r#type), st.add(&pt.unit)));
    let comments: Vec<u64> = p
        .comments
        .iter()
        .map(|c| st.add(c).cast_unsigned())
        .collect();
    let default_sample_type = st.add(&p.default_sample_type);
    let doc_url = st.add(&p.doc_url);

    let mut buf = Vec::with_capacity(estimate(p, &st));
    for &(t, u) in &sample_types {
        put_value_type(&mut buf, 1, t, u);
    }
    let mut scratch: Vec<u64> = Vec::new();
    let mut label_start = 0;
    for (s, &label_end) in p.samples.iter().zip(&label_ends) {
        let labels = &labels[label_start..label_end];
        label_start = label_end;
        put_message(&mut buf, 2, |b| {
            scratch.clear();
            scratch.extend(s.locations.iter().map(|&l| p.location(l).id));
            put_repeated(b, 1, &scratch);
            scratch.clear();
            scratch.extend(s.values.iter().map(|&v| v.cast_unsigned()));
            put_repeated(b, 2, &scratch);
            for l in labels {
                put_message(b, 3, |b| {
                    for (f, &x) in (1..).zip(l) {
                        put_i64_opt(b, f, x);
                    }
                });
            }
        });
    }
    for (m, &(file, build_id)) in p.mappings.iter().zip(&mappings) {
        put_message(&mut buf, 3, |b| {
            put_u64_opt(b, 1, m.id);
            put_u64_opt(b, 2, m.start);
            put_u64_opt(b, 3, m.limit);
            put_u64_opt(b, 4, m.offset);
            put_i64_opt(b, 5, file);
            put_i64_opt(b, 6, build_id);
            put_bool_opt(b, 7, m.has_functions);
            put_bool_opt(b, 8, m.has_filenames);
            put_bool_opt(b, 9, m.has_line_numbers);
            put_bool_opt(b, 10, m.has_inline_frames);
        });
    }
    for l in &p.locations {
        put_message(&mut buf, 4, |b| {
            put_u64_opt(b, 1, l.id);
            put_u64_opt(b, 2, l.mapping.map_or(0, |m| p.mapping(m).id));
            put_u64_opt(b, 3, l.address);
            for ln in &l.lines {
                put_message(b, 4, |b| {
                    put_u64_opt(b, 1, ln.function.map_or(0, |f| p.function(f).id));
                    put_i64_opt(b, 2, ln.line);
                    put_i64_opt(b, 3, ln.column);
                });
            }
            put_bool_opt(b, 5, l.is_folded);
        });
    }
    for (f, x) in p.functions.iter().zip(&functions) {
        put_message(&mut buf, 5, |b| {
            put_u64_opt(b, 1, f.id);
            put_i64_opt(b, 2, x[0]);
            put_i64_opt(b, 3, x[1]);
            put_i64_opt(b, 4, x[2]);
            put_i64_opt(b, 5, f.start_line);
        });
    }
    for s in &st.table {
        put_bytes(&mut buf, 6, s.as_bytes());
    }
    put_i64_opt(&mut buf, 7, drop_frames);
    put_i64_opt(&mut buf, 8, keep_frames);
    put_i64_opt(&mut buf, 9, p.time_nanos);
    put_i64_opt(&mut buf, 10, p.duration_nanos);
    if let Some((t, u)) = period_type
        && (t != 0 || u != 0)
    {
        put_value_type(&mut buf, 11, t, u);
    }
    put_i64_opt(&mut buf, 12, p.period);
    put_repeated(&mut buf, 13, &comments);
    // pprof writes default_sample_type even when it is 0.
    put_u64(&mut buf, 14, default_sample_type.cast_unsigned());
    put_i64_opt(&mut buf, 15, doc_url);
    buf
}

fn put_value_type(buf: &mut Vec<u8>, field: u32, t: i64, u: i64) {
    put_message(buf, field, |b| {
        put_i64_opt(b, 1, t);
        put_i64_opt(b, 2, u);
    });
}

/// A sample's labels as `[key, str, num, unit]` string indexes, in
/// preEncode's order: pprof holds them in maps and writes keys sorted.
fn sample_labels<'p>(s: &'p Sample, st: &mut Strings<'p>, out: &mut Vec<[i64; 4]>) {
    if s.labels.is_empty() && s.num_labels.is_empty() {
        return;
    }
    let mut order: Vec<&Label> = s.labels.iter().collect();
    order.sort_by(|a, b| a.key.cmp(&b.key));
    for l in order {
        out.push([st.add(&l.key), st.add(&l.value), 0, 0]);
    }
    let mut order: Vec<&NumLabel> = s.num_labels.iter().collect();
    order.sort_by(|a, b| a.key.cmp(&b.key));
    let mut i = 0;
    while i < order.len() {
        let key = &order[i].key;
        let end = i + order[i..].iter().take_while(|l| l.key == *key).count();
        let key_x = st.add(key);
        // pprof has a unit list for a key only if some value has a unit;
        // then every value gets one, "" standing for none.
        let has_units = order[i..end].iter().any(|l| l.unit.is_some());
        for l in &order[i..end] {
            let unit_x = if has_units {
                st.add(l.unit.as_deref().unwrap_or(""))
            } else {
                0
            };
            out.push([key_x, 0, l.value, unit_x]);
        }
        i = end;
    }
}

#[derive(Default)]
struct Strings<'p> {
    index: HashMap<&'p str, i64>,
    table: Vec<&'p str>,
}

impl<'p> Strings<'p> {
    #[expect(
        clippy::cast_possible_wrap,
        reason = "a Vec's length is at most isize::MAX, which fits in i64"
    )]
    fn add(&mut self, s: &'p str) -> i64 {
        let n = self.table.len() as i64;
        *self.index.entry(s).or_insert_with(|| {
            self.table.push(s);
            n
        })
    }
}

/// A rough output size, to avoid regrowing a buffer of tens of megabytes.
fn estimate(p: &Profile, st: &Strings<'_>) -> usize {
    let strings: usize = st.table.iter().map(|s| s.len() + 2).sum();
    let samples: usize = p
        .samples
        .iter()
        .map(|s| {
            6 + 3 * s.locations.len()
                + 5 * s.values.len()
                + 8 * (s.labels.len() + s.num_labels.len())
        })
        .sum();
    strings + samples + 24 * p.locations.len() + 16 * p.functions.len() + 64
}
