//! decode(encode(p)) == normalize(p) for generated valid profiles.
//!
//! `normalize` applies exactly what pprof's encode + postDecode do to a
//! profile, and nothing else:
//! - a missing period type becomes an empty one (postDecode always sets it);
//! - labels are grouped by key in sorted key order, string labels before
//!   numeric ones (pprof keeps them in maps and writes keys sorted), order
//!   within a key preserved;
//! - a string label with value "" is written as str=0 and dropped on read;
//! - a numeric label's unit is written only if some value of the same key
//!   has a unit; a unit of "" reads back as none; a label whose value is 0
//!   and whose written unit is 0 is dropped; once a key has a unit, pprof
//!   pads the others with "" (`Some("")` here);
//! - `kernel_relocation_symbol` is derived from a `[kernel.kallsyms]` file.
use profile::proto::{decode, encode};
use profile::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::sync::Arc;

fn arb_str() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-c]{0,3}",
        1 => "[α-γ😀]{1,2}",
        1 => Just("[kernel.kallsyms]_text".to_string()),
    ]
}

fn arb_i64() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), -3i64..3, any::<i64>()]
}

/// Unique non-zero ids in one of several layouts: dense 1..n in order,
/// a dense permutation, partly beyond n (vector + map), or sparse 64-bit.
fn ids(n: usize, mode: u8, base: u64) -> Vec<u64> {
    (0..n as u64)
        .map(|i| match mode {
            0 => i + 1,
            1 => n as u64 - i,
            2 => 2 * i + 1,
            _ => match base ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15) {
                0 => u64::MAX,
                x => x,
            },
        })
        .collect()
}

type RawLine = (Option<u32>, i64, i64);
type RawLoc = (Option<u32>, u64, Vec<RawLine>, bool);
type RawSample = (
    Vec<u32>,
    Vec<i64>,
    Vec<(u8, String)>,
    Vec<(u8, i64, Option<String>)>,
);

fn arb_mapping() -> impl Strategy<Value = Mapping> {
    (
        (any::<u64>(), any::<u64>(), any::<u64>()),
        (arb_str(), arb_str()),
        any::<[bool; 4]>(),
    )
        .prop_map(|((start, limit, offset), (file, build_id), h)| Mapping {
            start,
            limit,
            offset,
            file,
            build_id,
            has_functions: h[0],
            has_filenames: h[1],
            has_line_numbers: h[2],
            has_inline_frames: h[3],
            ..Default::default()
        })
}

fn arb_function() -> impl Strategy<Value = Function> {
    (arb_str(), arb_str(), arb_str(), arb_i64()).prop_map(|(name, system_name, filename, sl)| {
        Function {
            id: 0,
            name,
            system_name,
            filename,
            start_line: sl,
        }
    })
}

fn arb_location() -> impl Strategy<Value = RawLoc> {
    (
        option::of(any::<u32>()),
        any::<u64>(),
        vec((option::of(any::<u32>()), arb_i64(), arb_i64()), 0..4),
        any::<bool>(),
    )
}

fn arb_sample() -> impl Strategy<Value = RawSample> {
    (
        vec(any::<u32>(), 0..6),
        vec(arb_i64(), 3),
        vec((0u8..3, arb_str()), 0..4),
        vec((0u8..3, arb_i64(), option::of(arb_str())), 0..5),
    )
}

const KEYS: [&str; 3] = ["bytes", "a", "zz"];

fn arb_profile() -> impl Strategy<Value = Profile> {
    (
        (0usize..4, vec((arb_str(), arb_str()), 3)),
        (
            vec(arb_mapping(), 0..4),
            vec(arb_function(), 0..6),
            vec(arb_location(), 0..8),
            vec(arb_sample(), 0..8),
        ),
        (0u8..4, any::<u64>()),
        (
            (arb_str(), arb_str(), arb_str(), arb_str()),
            (arb_i64(), arb_i64(), arb_i64()),
            option::of((arb_str(), arb_str())),
            vec(arb_str(), 0..4),
        ),
    )
        .prop_map(
            |(
                (n_types, types),
                (mut mappings, mut functions, raw_locs, raw_samples),
                (id_mode, id_base),
                (
                    (default_sample_type, doc_url, drop_frames, keep_frames),
                    (t, d, per),
                    pt,
                    comments,
                ),
            )| {
                let mids = ids(mappings.len(), id_mode, id_base);
                for (m, id) in mappings.iter_mut().zip(mids) {
                    m.id = id;
                }
                let fids = ids(functions.len(), (id_mode + 1) % 4, id_base.rotate_left(7));
                for (f, id) in functions.iter_mut().zip(fids) {
                    f.id = id;
                }
                let nm = mappings.len() as u32;
                let nf = functions.len() as u32;
                let lids = ids(raw_locs.len(), (id_mode + 2) % 4, id_base.rotate_left(13));
                let locations: Vec<Location> = raw_locs
                    .into_iter()
                    .zip(lids)
                    .map(|((m, address, lines, is_folded), id)| Location {
                        id,
                        mapping: m.filter(|_| nm > 0).map(|m| m % nm),
                        address,
                        lines: lines
                            .into_iter()
                            .map(|(f, line, column)| Line {
                                function: f.filter(|_| nf > 0).map(|f| f % nf),
                                line,
                                column,
                            })
                            .collect(),
                        is_folded,
                    })
                    .collect();
                let nl = locations.len() as u32;
                let samples = raw_samples
                    .into_iter()
                    .map(|(locs, mut values, labels, num_labels)| {
                        values.truncate(n_types);
                        Sample {
                            locations: if nl == 0 {
                                vec![]
                            } else {
                                locs.into_iter().map(|l| l % nl).collect()
                            },
                            values,
                            labels: labels
                                .into_iter()
                                .map(|(k, v)| Label {
                                    key: Arc::from(KEYS[k as usize]),
                                    value: Arc::from(v),
                                })
                                .collect(),
                            num_labels: num_labels
                                .into_iter()
                                .map(|(k, value, unit)| NumLabel {
                                    key: Arc::from(KEYS[k as usize]),
                                    value,
                                    unit: unit.map(Arc::from),
                                })
                                .collect(),
                        }
                    })
                    .collect();
                Profile {
                    sample_types: types[..n_types]
                        .iter()
                        .map(|(t, u)| ValueType::new(t, u))
                        .collect(),
                    default_sample_type,
                    samples,
                    mappings,
                    locations,
                    functions,
                    comments,
                    doc_url,
                    drop_frames,
                    keep_frames,
                    time_nanos: t,
                    duration_nanos: d,
                    period_type: pt.map(|(t, u)| ValueType::new(&t, &u)),
                    period: per,
                }
            },
        )
}

fn normalize(mut p: Profile) -> Profile {
    p.period_type.get_or_insert_with(ValueType::default);
    for m in &mut p.mappings {
        m.kernel_relocation_symbol = m
            .file
            .strip_prefix("[kernel.kallsyms]")
            .unwrap_or("")
            .to_string();
    }
    for s in &mut p.samples {
        s.labels.sort_by(|a, b| a.key.cmp(&b.key));
        s.labels.retain(|l| !l.value.is_empty());
        s.num_labels.sort_by(|a, b| a.key.cmp(&b.key));
        let keyed: Vec<Arc<str>> = s
            .num_labels
            .iter()
            .filter(|l| l.unit.is_some())
            .map(|l| l.key.clone())
            .collect();
        for l in &mut s.num_labels {
            let written = keyed.contains(&l.key);
            l.unit = l.unit.take().filter(|u| written && !u.is_empty());
        }
        s.num_labels.retain(|l| l.value != 0 || l.unit.is_some());
        let keyed: Vec<Arc<str>> = s
            .num_labels
            .iter()
            .filter(|l| l.unit.is_some())
            .map(|l| l.key.clone())
            .collect();
        for l in &mut s.num_labels {
            if l.unit.is_none() && keyed.contains(&l.key) {
                l.unit = Some(Arc::from(""));
            }
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_encode_roundtrip(p in arb_profile()) {
        let bytes = encode(&p);
        let got = decode(&bytes);
        prop_assert!(got.is_ok(), "{:?}", got.err());
        let got = got.unwrap();
        prop_assert_eq!(&got, &normalize(p));
        // Once normalized, encoding is a fixed point: reading our bytes and
        // writing them back gives the same bytes, as with pprof.
        let again = encode(&got);
        let got2 = decode(&again).unwrap();
        prop_assert_eq!(&got2, &got);
        prop_assert_eq!(encode(&got2), again);
    }
}
