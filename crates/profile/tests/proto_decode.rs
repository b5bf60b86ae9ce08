//! Hand-built profile.proto messages: pprof's decoding rules one by one.
//! The bytes are written by a tiny independent encoder below, not by
//! `proto::encode`, so both sides are checked against the wire format.
use profile::proto::{decode, encode};
use profile::*;

/// A protobuf message under construction.
#[derive(Clone, Default)]
struct Msg(Vec<u8>);

fn varint(b: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        b.push(x as u8 | 0x80);
        x >>= 7;
    }
    b.push(x as u8);
}

impl Msg {
    fn new() -> Self {
        Msg::default()
    }
    fn key(mut self, field: u64, wire: u64) -> Self {
        varint(&mut self.0, field << 3 | wire);
        self
    }
    fn int(self, field: u64, x: i64) -> Self {
        let mut m = self.key(field, 0);
        varint(&mut m.0, x as u64);
        m
    }
    fn bytes(self, field: u64, b: &[u8]) -> Self {
        let mut m = self.key(field, 2);
        varint(&mut m.0, b.len() as u64);
        m.0.extend_from_slice(b);
        m
    }
    fn msg(self, field: u64, m: Msg) -> Self {
        self.bytes(field, &m.0)
    }
    fn packed(self, field: u64, xs: &[i64]) -> Self {
        let mut b = Vec::new();
        for &x in xs {
            varint(&mut b, x as u64);
        }
        self.bytes(field, &b)
    }
    fn unpacked(mut self, field: u64, xs: &[i64]) -> Self {
        for &x in xs {
            self = self.int(field, x);
        }
        self
    }
    fn fixed64(mut self, field: u64, x: u64) -> Self {
        self = self.key(field, 1);
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    fn fixed32(mut self, field: u64, x: u32) -> Self {
        self = self.key(field, 5);
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    fn strings(mut self, ss: &[&str]) -> Self {
        for s in ss {
            self = self.bytes(6, s.as_bytes());
        }
        self
    }
}

const STRINGS: &[&str] = &[
    "",
    "alloc_space",
    "bytes",
    "main.f",
    "main.go",
    "/bin/x",
    "key",
    "val",
    "space",
    "request",
];

fn value_type(t: i64, u: i64) -> Msg {
    Msg::new().int(1, t).int(2, u)
}
fn mapping(id: i64) -> Msg {
    Msg::new()
        .int(1, id)
        .int(2, 0x1000)
        .int(3, 0x2000)
        .int(5, 5)
        .int(7, 1)
}
fn function(id: i64) -> Msg {
    Msg::new()
        .int(1, id)
        .int(2, 3)
        .int(3, 3)
        .int(4, 4)
        .int(5, 7)
}
fn location(id: i64, mapping: i64, function: i64) -> Msg {
    Msg::new()
        .int(1, id)
        .int(2, mapping)
        .int(3, 0x1234)
        .msg(4, Msg::new().int(1, function).int(2, 42))
}

/// A small valid profile: one mapping, function, two locations, samples.
fn base(samples: &[Msg]) -> Msg {
    let mut m = Msg::new().msg(1, value_type(1, 2));
    for s in samples {
        m = m.msg(2, s.clone());
    }
    m.msg(3, mapping(1))
        .msg(4, location(1, 1, 1))
        .msg(4, location(2, 1, 1))
        .msg(5, function(1))
        .strings(STRINGS)
        .int(9, 123)
        .msg(11, value_type(8, 2))
        .int(12, 512)
}

fn sample(locs: &[i64], v: i64) -> Msg {
    Msg::new().packed(1, locs).packed(2, &[v])
}

fn err_string(data: &[u8]) -> String {
    decode(data).unwrap_err().to_string()
}

#[test]
fn decodes_a_small_profile() {
    let p = decode(&base(&[sample(&[1, 2], 10)]).0).unwrap();
    assert_eq!(p.sample_types, vec![ValueType::new("alloc_space", "bytes")]);
    assert_eq!(p.period_type, Some(ValueType::new("space", "bytes")));
    assert_eq!(p.period, 512);
    assert_eq!(p.time_nanos, 123);
    assert_eq!(p.samples.len(), 1);
    assert_eq!(p.samples[0].locations, vec![0, 1]);
    assert_eq!(p.samples[0].values, vec![10]);
    let m = &p.mappings[0];
    assert_eq!(
        (m.id, m.start, m.limit, m.file.as_str()),
        (1, 0x1000, 0x2000, "/bin/x")
    );
    assert!(m.has_functions && !m.has_filenames);
    let l = &p.locations[1];
    assert_eq!((l.id, l.mapping, l.address), (2, Some(0), 0x1234));
    assert_eq!(
        l.lines,
        vec![Line {
            function: Some(0),
            line: 42,
            column: 0
        }]
    );
    let f = &p.functions[0];
    assert_eq!(
        (f.name.as_str(), f.filename.as_str(), f.start_line),
        ("main.f", "main.go", 7)
    );
}

#[test]
fn packed_and_unpacked_repeated_fields_are_equivalent() {
    let packed = base(&[Msg::new().packed(1, &[1, 2, 1]).packed(2, &[5])]).packed(13, &[1, 2, 3]);
    let unpacked =
        base(&[Msg::new().unpacked(1, &[1, 2, 1]).unpacked(2, &[5])]).unpacked(13, &[1, 2, 3]);
    // Mixed: some packed runs and some single values for the same field.
    let mixed = base(&[Msg::new().int(1, 1).packed(1, &[2, 1]).unpacked(2, &[5])])
        .int(13, 1)
        .packed(13, &[2, 3]);
    let a = decode(&packed.0).unwrap();
    assert_eq!(a.samples[0].locations, vec![0, 1, 0]);
    assert_eq!(a.comments, vec!["alloc_space", "bytes", "main.f"]);
    assert_eq!(decode(&unpacked.0).unwrap(), a);
    assert_eq!(decode(&mixed.0).unwrap(), a);
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let junk = |m: Msg| {
        m.int(99, 7)
            .fixed64(100, 1)
            .bytes(101, b"whatever")
            .fixed32(102, 3)
            .int(0, 1)
            .int(1 << 40, 5)
    };
    let plain = base(&[sample(&[1, 2], 10)]);
    let noisy = junk(
        Msg::new()
            .msg(1, junk(value_type(1, 2)))
            .msg(2, junk(sample(&[1, 2], 10)))
            .msg(3, junk(mapping(1)))
            .msg(
                4,
                junk(location(1, 1, 1)).msg(4, junk(Msg::new().int(1, 1)).int(2, 42)),
            ),
    )
    .msg(4, location(2, 1, 1))
    .msg(5, junk(function(1)))
    .strings(STRINGS)
    .int(9, 123)
    .msg(11, value_type(8, 2))
    .int(12, 512);
    let mut want = decode(&plain.0).unwrap();
    want.locations[0].lines.push(Line {
        function: Some(0),
        line: 42,
        column: 0,
    });
    assert_eq!(decode(&noisy.0).unwrap(), want);
}

#[test]
fn groups_and_undefined_wire_types_are_rejected() {
    for wire in [3, 4, 6, 7] {
        let m = base(&[]).key(50, wire);
        assert_eq!(
            err_string(&m.0),
            format!("parsing profile: unknown wire type: {wire}")
        );
    }
}

#[test]
fn wrong_wire_type_for_a_known_field_is_a_type_mismatch() {
    let cases = [
        base(&[]).int(1, 5),                          // sample_type as varint
        base(&[]).bytes(10, b"x"),                    // duration_nanos as bytes
        base(&[]).fixed64(12, 1),                     // period as fixed64
        base(&[Msg::new().fixed32(1, 1)]),            // location id as fixed32
        base(&[]).int(6, 0),                          // string as varint
        base(&[]).msg(3, Msg::new().bytes(1, b"id")), // mapping id as bytes
    ];
    for m in cases {
        assert_eq!(err_string(&m.0), "parsing profile: type mismatch");
    }
}

#[test]
fn truncation_and_bad_lengths() {
    let good = base(&[sample(&[1, 2], 10)]).0;
    for n in 1..good.len() {
        // Every proper prefix either fails or (when cut at a field boundary)
        // decodes; never panics.
        let _ = decode(&good[..n]);
    }
    // Length prefix past the end.
    let mut m = Msg::new().key(2, 2);
    varint(&mut m.0, 100);
    m.0.extend_from_slice(b"short");
    assert_eq!(err_string(&m.0), "parsing profile: too much data");
    // Cut inside a varint.
    assert_eq!(err_string(&[0x08, 0x80]), "parsing profile: bad varint");
    // Eleven-byte varint.
    let mut m = vec![0x08];
    m.extend([0xff; 10]);
    m.push(0x01);
    assert_eq!(err_string(&m), "parsing profile: bad varint");
    // Fixed-width fields cut short.
    assert_eq!(
        err_string(&[0x09, 1, 2, 3]),
        "parsing profile: not enough data"
    );
    assert_eq!(
        err_string(&[0x0d, 1, 2]),
        "parsing profile: not enough data"
    );
    // Bad varint inside a packed run.
    let m = base(&[Msg::new().bytes(2, &[0x80])]);
    assert_eq!(err_string(&m.0), "parsing profile: bad varint");
}

#[test]
fn empty_input() {
    assert!(matches!(decode(&[]), Err(ParseError::Empty)));
}

#[test]
fn string_indexes_are_validated_like_pprof() {
    let malformed = "parsing profile: malformed profile format";
    // Out of range and negative indexes, in several places.
    let cases = [
        base(&[]).int(7, STRINGS.len() as i64),
        base(&[]).int(14, -1),
        base(&[]).msg(1, value_type(1, 99)),
        base(&[]).msg(5, Msg::new().int(1, 2).int(4, 1000)),
        base(&[Msg::new()
            .packed(1, &[1])
            .packed(2, &[1])
            .msg(3, Msg::new().int(1, 6).int(2, 50))]),
        base(&[Msg::new()
            .packed(1, &[1])
            .packed(2, &[1])
            .msg(3, Msg::new().int(1, 6).int(3, 1).int(4, 50))]),
        // The key is checked even for a label pprof then drops.
        base(&[Msg::new()
            .packed(1, &[1])
            .packed(2, &[1])
            .msg(3, Msg::new().int(1, 50))]),
    ];
    for m in cases {
        assert_eq!(err_string(&m.0), malformed);
    }
    // No string table at all: even index 0 is out of range.
    assert_eq!(err_string(&Msg::new().int(12, 1).0), malformed);
    // string_table[0] must be empty.
    let m = Msg::new().strings(&["x", ""]);
    assert_eq!(
        err_string(&m.0),
        "parsing profile: string_table[0] must be ''"
    );
}

#[test]
fn wire_errors_take_precedence_over_string_errors() {
    // pprof reports string indexes after unmarshalling everything.
    let m = base(&[]).int(7, 1000).bytes(10, b"x");
    assert_eq!(err_string(&m.0), "parsing profile: type mismatch");
}

#[test]
fn concatenated_profiles_are_refused() {
    let mut data = base(&[]).0;
    data.extend(base(&[]).0);
    assert_eq!(
        err_string(&data),
        "parsing profile: concatenated profiles detected"
    );
}

#[test]
fn unknown_ids() {
    // A sample pointing at an unknown location: CheckValid's message.
    let m = base(&[sample(&[1, 7], 1)]);
    assert_eq!(
        err_string(&m.0),
        "parsing profile: malformed profile: sample has nil location"
    );
    // ... unless an earlier CheckValid rule fails first.
    let m = base(&[Msg::new().packed(2, &[1, 2]), sample(&[7], 1)]);
    assert_eq!(
        err_string(&m.0),
        "parsing profile: malformed profile: mismatch: sample has 2 values vs. 1 types"
    );
    // Unknown mapping id: silently unmapped, as in pprof.
    let m = base(&[]).msg(4, location(3, 9, 1));
    let p = decode(&m.0).unwrap();
    assert_eq!(p.locations[2].mapping, None);
    // Mapping id 0 is "none"...
    let m = base(&[]).msg(4, location(3, 0, 1));
    assert_eq!(decode(&m.0).unwrap().locations[2].mapping, None);
    // ... unless a mapping claims id 0 (CheckValid rejects that later).
    let m = base(&[]).msg(3, mapping(0)).msg(4, location(3, 0, 1));
    assert_eq!(decode(&m.0).unwrap().locations[2].mapping, Some(1));
    // Unknown function id and id 0: a line without a function.
    let m = base(&[])
        .msg(4, location(3, 1, 5))
        .msg(4, location(4, 1, 0));
    let p = decode(&m.0).unwrap();
    assert_eq!(p.locations[2].lines[0].function, None);
    assert_eq!(p.locations[3].lines[0].function, None);
}

#[test]
fn sparse_and_duplicate_ids() {
    let big = 1i64 << 60;
    let m = Msg::new()
        .msg(1, value_type(1, 2))
        .msg(2, sample(&[big, 3, big], 1))
        .msg(3, mapping(big))
        .msg(4, location(big, big, big))
        .msg(4, location(3, big, big))
        .msg(5, function(big))
        .strings(STRINGS);
    let p = decode(&m.0).unwrap();
    assert_eq!(p.samples[0].locations, vec![0, 1, 0]);
    assert_eq!(p.locations[1].mapping, Some(0));
    assert_eq!(p.locations[1].lines[0].function, Some(0));
    // With duplicated ids the later entry wins, as in pprof's lookup tables.
    let m = base(&[sample(&[1], 1)]).msg(4, location(1, 1, 1));
    assert_eq!(decode(&m.0).unwrap().samples[0].locations, vec![2]);
}

#[test]
fn labels_follow_pprofs_rules() {
    // key=6 "key", str=7 "val", unit 2 "bytes", key 9 "request".
    let s = Msg::new()
        .packed(1, &[1])
        .packed(2, &[1])
        .msg(3, Msg::new().int(1, 6).int(2, 7)) // string label
        .msg(3, Msg::new().int(1, 2).int(3, 100)) // numeric, no unit
        .msg(3, Msg::new().int(1, 9).int(3, 5).int(4, 2)) // numeric with unit
        .msg(3, Msg::new().int(1, 9).int(3, 6)) // same key, no unit: padded ""
        .msg(3, Msg::new().int(1, 9).int(4, 2)) // value 0 with unit: kept
        .msg(3, Msg::new().int(1, 6)) // nothing set: dropped
        .msg(3, Msg::new().int(1, 6).int(2, 7).int(3, 9)); // str wins over num
    let p = decode(&base(&[s]).0).unwrap();
    let s = &p.samples[0];
    let labels: Vec<(&str, &str)> = s.labels.iter().map(|l| (&*l.key, &*l.value)).collect();
    assert_eq!(labels, vec![("key", "val"), ("key", "val")]);
    let nums: Vec<(&str, i64, Option<&str>)> = s
        .num_labels
        .iter()
        .map(|l| (&*l.key, l.value, l.unit.as_deref()))
        .collect();
    assert_eq!(
        nums,
        vec![
            ("bytes", 100, None),
            ("request", 5, Some("bytes")),
            ("request", 6, Some("")),
            ("request", 0, Some("bytes")),
        ]
    );
    // One Arc per string-table entry.
    assert!(std::sync::Arc::ptr_eq(&s.labels[0].key, &s.labels[1].key));
    assert!(std::sync::Arc::ptr_eq(
        &s.labels[0].value,
        &s.labels[1].value
    ));
}

#[test]
fn derived_fields() {
    let m = Msg::new()
        .msg(3, Msg::new().int(1, 1).int(5, 1))
        .strings(&["", "[kernel.kallsyms]_stext"]);
    let p = decode(&m.0).unwrap();
    assert_eq!(p.mappings[0].kernel_relocation_symbol, "_stext");
    // No period_type message: pprof still has an empty one.
    assert_eq!(p.period_type, Some(ValueType::default()));
}

#[test]
fn invalid_utf8_is_replaced_not_rejected() {
    let m = Msg::new()
        .msg(5, Msg::new().int(1, 1).int(2, 1))
        .bytes(6, b"")
        .bytes(6, b"f\xffo");
    let p = decode(&m.0).unwrap();
    assert_eq!(p.functions[0].name, "f\u{fffd}o");
}

/// The exact bytes pprof's encoder writes for a small profile, derived by
/// hand from encode.go: field order, string-table order (preEncode), packing
/// only for more than two elements, default_sample_type always present.
#[test]
fn encode_matches_pprof_layout() {
    let p = decode(&base(&[sample(&[1, 2, 1], 10)]).0).unwrap();
    let want = Msg::new()
        .msg(1, value_type(1, 2))
        .msg(2, Msg::new().packed(1, &[1, 2, 1]).int(2, 10))
        .msg(
            3,
            Msg::new()
                .int(1, 1)
                .int(2, 0x1000)
                .int(3, 0x2000)
                .int(5, 3)
                .int(7, 1),
        )
        .msg(4, location(1, 1, 1))
        .msg(4, location(2, 1, 1))
        .msg(
            5,
            Msg::new().int(1, 1).int(2, 4).int(3, 4).int(4, 5).int(5, 7),
        )
        .strings(&[
            "",
            "alloc_space",
            "bytes",
            "/bin/x",
            "main.f",
            "main.go",
            "space",
        ])
        .int(9, 123)
        .msg(11, value_type(6, 2))
        .int(12, 512)
        .int(14, 0);
    assert_eq!(encode(&p), want.0);
}

// ---- decode_filtered ----

fn filtered(data: &[u8]) -> Result<Profile, ParseError> {
    profile::proto::decode_filtered(data, |h| {
        assert_eq!(h.sample_types.len(), 1, "select sees the sample types");
        assert!(
            h.samples.is_empty(),
            "select runs before samples are decoded"
        );
        Some(vec![0])
    })
}

#[test]
fn filtered_decode_leaves_out_exactly_the_zero_samples() {
    let data = base(&[
        sample(&[1, 2], 10),
        sample(&[1], 0),
        sample(&[2, 1], 5),
        sample(&[2], 0).msg(3, Msg::new().int(1, 6).int(2, 7)),
    ])
    .0;
    let mut want = decode(&data).unwrap();
    want.samples.retain(|s| s.values[0] != 0);
    assert_eq!(want.samples.len(), 2);
    assert_eq!(filtered(&data).unwrap(), want);
    // No selection: the same as decode.
    let all = profile::proto::decode_filtered(&data, |_| None).unwrap();
    assert_eq!(all, decode(&data).unwrap());
    // An index out of range selects nothing to leave out.
    let all = profile::proto::decode_filtered(&data, |_| Some(vec![3])).unwrap();
    assert_eq!(all, decode(&data).unwrap());
}

#[test]
fn filtered_decode_fails_as_decode_does() {
    let bad_varint = Msg::new().bytes(1, &[0x01, 0x80]).packed(2, &[0]);
    let cases: Vec<(&str, Msg)> = vec![
        (
            "unknown location",
            base(&[sample(&[1], 3), sample(&[9], 0)]),
        ),
        (
            "two values for one type",
            base(&[
                sample(&[1], 0),
                Msg::new().packed(1, &[1]).packed(2, &[0, 0]),
            ]),
        ),
        (
            "label key out of range",
            base(&[sample(&[1], 0).msg(3, Msg::new().int(1, 99).int(2, 7))]),
        ),
        (
            "label value out of range",
            base(&[sample(&[1], 0).msg(3, Msg::new().int(1, 6).int(2, 99))]),
        ),
        (
            "unit out of range",
            base(&[sample(&[1], 0).msg(3, Msg::new().int(1, 6).int(3, 1).int(4, 99))]),
        ),
        (
            "bad varint in locations",
            base(std::slice::from_ref(&bad_varint)),
        ),
        (
            "bad varint, then a wire error",
            base(&[bad_varint.clone().fixed32(2, 1), sample(&[1], 1)]),
        ),
        (
            "fixed-width location",
            base(&[Msg::new().fixed64(1, 1).packed(2, &[0])]),
        ),
        (
            "nil location after a bad arity",
            base(&[
                sample(&[1], 0),
                Msg::new().packed(1, &[1]).packed(2, &[1, 2]),
                sample(&[7], 0),
            ]),
        ),
    ];
    // As the parser uses them: decode, then CheckValid.
    let checked = |p: Result<Profile, ParseError>| {
        p.and_then(|p| profile::passes::check_valid(&p).map(|_| p))
    };
    for (what, m) in cases {
        let want = checked(decode(&m.0)).expect_err(what).to_string();
        let got = checked(filtered(&m.0)).expect_err(what).to_string();
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn filtered_decode_of_real_profiles() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/profiles");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if !path.to_string_lossy().ends_with(".pb.gz") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let raw = profile::gz::maybe_decompress(&raw, 1 << 30).unwrap();
        let full = decode(&raw).unwrap();
        for i in 0..full.sample_types.len() {
            let mut want = full.clone();
            want.samples.retain(|s| s.values[i] != 0);
            let got = profile::proto::decode_filtered(&raw, |_| Some(vec![i])).unwrap();
            assert_eq!(got, want, "{} index {i}", path.display());
        }
        n += 1;
    }
    assert!(n >= 5, "found only {n} profiles");
}
