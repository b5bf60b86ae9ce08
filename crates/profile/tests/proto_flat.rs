//! The lean decoder (`FlatProfile`) must accept exactly what the full
//! decoder plus `check_valid` accept, and read the same values.
use std::path::Path;

use profile::passes::validate::check_valid;
use profile::proto::{FlatProfile, NO_INDEX, decode, encode};
use profile::*;
use proptest::prelude::*;

fn full(data: &[u8]) -> Result<Profile, ParseError> {
    let p = decode(data)?;
    check_valid(&p)?;
    Ok(p)
}

/// Every value the flat profile exposes equals the full decode's.
fn assert_same(flat: &FlatProfile, p: &Profile) {
    let types: Vec<(String, String)> = flat
        .sample_types
        .iter()
        .map(|t| (flat.string(t.r#type).into(), flat.string(t.unit).into()))
        .collect();
    let want: Vec<(String, String)> = p
        .sample_types
        .iter()
        .map(|t| (t.r#type.clone(), t.unit.clone()))
        .collect();
    assert_eq!(types, want);
    assert_eq!(flat.string(flat.default_sample_type), p.default_sample_type);
    assert_eq!(flat.time_nanos, p.time_nanos);
    assert_eq!(flat.duration_nanos, p.duration_nanos);
    assert_eq!(flat.period, p.period);

    assert_eq!(flat.mappings.len(), p.mappings.len());
    for (f, m) in flat.mappings.iter().zip(&p.mappings) {
        assert_eq!(
            (f.id, f.start, f.limit, f.offset),
            (m.id, m.start, m.limit, m.offset)
        );
        assert_eq!(flat.string(f.file), m.file);
        assert_eq!(flat.string(f.build_id), m.build_id);
    }
    assert_eq!(flat.functions.len(), p.functions.len());
    for (f, g) in flat.functions.iter().zip(&p.functions) {
        assert_eq!(f.id, g.id);
        assert_eq!(flat.string(f.name), g.name);
        assert_eq!(flat.string(f.filename), g.filename);
    }
    assert_eq!(flat.locations.len(), p.locations.len());
    for (i, (f, l)) in flat.locations.iter().zip(&p.locations).enumerate() {
        assert_eq!((f.id, f.address), (l.id, l.address));
        assert_eq!(f.mapping, l.mapping.unwrap_or(NO_INDEX));
        let lines: Vec<(Option<u32>, i64)> = flat
            .location_lines(i)
            .iter()
            .map(|ln| (Some(ln.function), ln.line))
            .collect();
        let want: Vec<(Option<u32>, i64)> =
            l.lines.iter().map(|ln| (ln.function, ln.line)).collect();
        assert_eq!(lines, want);
    }
    assert_eq!(flat.sample_count(), p.samples.len());
    for (i, s) in p.samples.iter().enumerate() {
        assert_eq!(flat.sample_stack(i), s.locations.as_slice(), "sample {i}");
        assert_eq!(flat.sample_values(i), s.values.as_slice(), "sample {i}");
    }
}

fn fixtures() -> &'static [(String, Vec<u8>)] {
    static ALL: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    ALL.get_or_init(read_fixtures)
}

fn read_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/profiles");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "gz") {
            let gz = std::fs::read(&path).unwrap();
            let bytes = gz::maybe_decompress(&gz, 1 << 30).unwrap().into_owned();
            out.push((path.display().to_string(), bytes));
        }
    }
    out.sort();
    assert!(out.len() >= 8, "fixtures missing in {}", dir.display());
    out
}

#[test]
fn go_profiles_read_the_same() {
    // One FlatProfile for all: reuse must leave nothing of the previous
    // profile behind.
    let mut flat = FlatProfile::default();
    for (name, bytes) in fixtures() {
        let p = full(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        flat.decode_into(bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same(&flat, &p);
    }
}

#[test]
fn invalid_profiles_are_refused_like_check_valid_refuses_them() {
    let base = || {
        let mut p = Profile {
            sample_types: vec![ValueType::new("inuse_space", "bytes")],
            ..Default::default()
        };
        p.mappings.push(Mapping {
            id: 1,
            build_id: "b".into(),
            ..Default::default()
        });
        p.functions.push(Function {
            id: 1,
            name: "main.f".into(),
            ..Default::default()
        });
        p.locations.push(Location {
            id: 1,
            mapping: Some(0),
            lines: vec![Line {
                function: Some(0),
                line: 3,
                column: 0,
            }],
            ..Default::default()
        });
        p.samples.push(Sample {
            locations: vec![0],
            values: vec![7],
            ..Default::default()
        });
        p
    };
    let ok = encode(&base());
    assert!(full(&ok).is_ok());
    assert_same(&FlatProfile::decode(&ok).unwrap(), &full(&ok).unwrap());

    let mut cases: Vec<(&str, Profile)> = Vec::new();
    let mut p = base();
    p.samples[0].values.push(1);
    cases.push(("two values for one type", p));
    let mut p = base();
    p.mappings.push(p.mappings[0].clone());
    cases.push(("repeated mapping id", p));
    let mut p = base();
    p.functions[0].id = 0;
    p.locations[0].lines.clear();
    cases.push(("function id 0", p));
    let mut p = base();
    p.locations.push(p.locations[0].clone());
    cases.push(("repeated location id", p));
    let mut p = base();
    p.locations[0].lines[0].function = None;
    cases.push(("line without a function", p));
    let mut p = base();
    p.sample_types.clear();
    cases.push(("samples without types", p));
    for (what, p) in cases {
        let bytes = encode(&p);
        assert!(full(&bytes).is_err(), "{what}: the full decoder accepts it");
        assert!(FlatProfile::decode(&bytes).is_err(), "{what}: accepted");
    }
    // A sample pointing at a location that does not exist.
    let mut bad = ok.clone();
    bad.extend_from_slice(&[0x12, 0x04, 0x0a, 0x01, 0x09, 0x10]);
    assert!(full(&bad).is_err());
    assert!(FlatProfile::decode(&bad).is_err());
    // A label key past the string table.
    let mut bad = ok.clone();
    bad.extend_from_slice(&[
        0x12, 0x08, 0x0a, 0x01, 0x01, 0x10, 0x01, 0x1a, 0x02, 0x08, 0x7f,
    ]);
    assert!(full(&bad).is_err());
    assert!(FlatProfile::decode(&bad).is_err());
}

/// A mutated copy of a Go profile: bytes overwritten, inserted, removed, or
/// the message cut short.
fn mutate(bytes: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for &(kind, at, byte) in edits {
        if b.is_empty() {
            break;
        }
        let at = at % b.len();
        match kind % 4 {
            0 => b[at] = byte,
            1 => b.insert(at, byte),
            2 => {
                b.remove(at);
            }
            _ => b[at] ^= 1 << (byte % 8),
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_go_profiles_are_judged_alike(
        which in 0usize..64,
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
        cut in prop::option::of(any::<usize>()),
    ) {
        let all = fixtures();
        let (name, bytes) = &all[which % all.len()];
        let mut b = mutate(bytes, &edits);
        if let Some(c) = cut {
            b.truncate(c % (b.len() + 1));
        }
        let want = full(&b);
        let got = FlatProfile::decode(&b);
        prop_assert_eq!(want.is_ok(), got.is_ok(), "{}: full {:?} flat {:?}", name, want.as_ref().err(), got.as_ref().err());
        if let (Ok(p), Ok(f)) = (want, got) {
            assert_same(&f, &p);
        }
    }
}
