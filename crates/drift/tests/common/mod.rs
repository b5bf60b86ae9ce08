//! Builds heap and goroutine profiles by hand.
#![allow(dead_code)]

use profile::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};
use std::collections::HashMap;
use std::sync::Arc;

/// A profile under construction: frames are (function, file, line); a
/// location per distinct frame, or per inlined group.
#[derive(Default)]
pub struct Builder {
    pub p: Profile,
    funcs: HashMap<(String, String), u32>,
    locs: HashMap<Vec<(String, String, i64)>, u32>,
}

impl Builder {
    pub fn heap() -> Builder {
        let mut b = Builder::default();
        b.p.sample_types = vec![
            ValueType::new("alloc_objects", "count"),
            ValueType::new("alloc_space", "bytes"),
            ValueType::new("inuse_objects", "count"),
            ValueType::new("inuse_space", "bytes"),
        ];
        b
    }

    /// Locations made from now on belong to one mapping with `build_id`.
    pub fn with_mapping(mut self, build_id: &str) -> Builder {
        self.p.mappings.push(Mapping {
            id: 1,
            start: 0x400000,
            limit: 0x800000,
            file: "/bin/svc".into(),
            build_id: build_id.into(),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..Mapping::default()
        });
        self
    }

    pub fn goroutine() -> Builder {
        let mut b = Builder::default();
        b.p.sample_types = vec![ValueType::new("goroutine", "count")];
        b
    }

    fn func(&mut self, name: &str, file: &str) -> u32 {
        let n = self.p.functions.len() as u32;
        *self
            .funcs
            .entry((name.to_string(), file.to_string()))
            .or_insert_with(|| {
                self.p.functions.push(Function {
                    id: n as u64 + 1,
                    name: name.into(),
                    system_name: name.into(),
                    filename: file.into(),
                    start_line: 0,
                });
                n
            })
    }

    /// A location holding `lines` (innermost first: inlined callees first).
    pub fn loc(&mut self, lines: &[(&str, &str, i64)]) -> u32 {
        let key: Vec<(String, String, i64)> = lines
            .iter()
            .map(|(f, fl, l)| (f.to_string(), fl.to_string(), *l))
            .collect();
        if let Some(&i) = self.locs.get(&key) {
            return i;
        }
        let lines: Vec<Line> = lines
            .iter()
            .map(|(f, fl, l)| Line {
                function: Some(self.func(f, fl)),
                line: *l,
                column: 0,
            })
            .collect();
        let i = self.p.locations.len() as u32;
        self.p.locations.push(Location {
            id: i as u64 + 1,
            mapping: if self.p.mappings.is_empty() {
                None
            } else {
                Some(0)
            },
            address: 0x1000 + i as u64,
            lines,
            is_folded: false,
        });
        self.locs.insert(key, i);
        i
    }

    /// A stack of one-line locations, leaf first.
    pub fn stack(&mut self, frames: &[(&str, &str, i64)]) -> Vec<u32> {
        frames.iter().map(|f| self.loc(&[*f])).collect()
    }

    /// Heap sample: values (alloc_objects, alloc_space, inuse_objects, inuse_space).
    pub fn heap_sample(&mut self, stack: Vec<u32>, v: [i64; 4]) -> usize {
        self.p.samples.push(Sample {
            locations: stack,
            values: v.to_vec(),
            labels: vec![],
            num_labels: vec![],
        });
        self.p.samples.len() - 1
    }

    pub fn goroutine_sample(&mut self, stack: Vec<u32>, n: i64, labels: &[(&str, &str)]) {
        self.p.samples.push(Sample {
            locations: stack,
            values: vec![n],
            labels: labels
                .iter()
                .map(|(k, v)| Label {
                    key: Arc::from(*k),
                    value: Arc::from(*v),
                })
                .collect(),
            num_labels: vec![],
        });
    }
}

/// Deterministic noise in −1..1 (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> f64 {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

pub mod gosim;
