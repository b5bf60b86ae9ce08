//! Large sample regions are decoded by two threads; the result, and which
//! error wins, must be what one pass gives.
use profile::proto::{decode, decode_filtered, encode};
use profile::*;

const SAMPLES: usize = 330_000;

fn big() -> Profile {
    let mut p = Profile {
        sample_types: vec![
            ValueType::new("count", "n"),
            ValueType::new("space", "bytes"),
        ],
        period_type: Some(ValueType::new("space", "bytes")),
        ..Default::default()
    };
    for i in 0..50u32 {
        p.functions.push(Function {
            id: u64::from(i) + 1,
            name: format!("pkg.f{i}"),
            filename: "pkg/f.go".into(),
            ..Default::default()
        });
        p.locations.push(Location {
            id: u64::from(i) + 1,
            lines: vec![Line {
                function: Some(i),
                line: i64::from(i) + 10,
                column: 0,
            }],
            ..Default::default()
        });
    }
    for i in 0..SAMPLES {
        let mut s = Sample {
            locations: (0..6).map(|d| ((i * 7 + d * 3) % 50) as u32).collect(),
            // Every third sample is zero at index 1, for the filtered decode.
            values: vec![i as i64 % 5 + 1, if i % 3 == 0 { 0 } else { i as i64 }],
            ..Default::default()
        };
        if i % 4 == 0 {
            s.labels.push(Label {
                key: "worker".into(),
                value: format!("w{}", i % 9).into(),
            });
        }
        if i % 5 == 0 {
            s.num_labels.push(NumLabel {
                key: "bytes".into(),
                value: i as i64 + 1,
                unit: None,
            });
        }
        p.samples.push(s);
    }
    p
}

fn varint(b: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        b.push(x as u8 | 0x80);
        x >>= 7;
    }
    b.push(x as u8);
}

/// A top-level sample field (2) holding `body`.
fn sample_field(body: &[u8]) -> Vec<u8> {
    let mut b = vec![2 << 3 | 2];
    varint(&mut b, body.len() as u64);
    b.extend_from_slice(body);
    b
}

#[test]
fn round_trip_through_two_threads() {
    let p = big();
    let bytes = encode(&p);
    assert!(
        bytes.len() > 5 << 20,
        "region too small to split: {}",
        bytes.len()
    );
    let got = decode(&bytes).unwrap();
    assert_eq!(got.samples.len(), SAMPLES);
    assert!(
        got.samples == p.samples,
        "samples differ after the round trip"
    );
    assert_eq!(got.locations, p.locations);
}

#[test]
fn filtered_decode_through_two_threads() {
    let p = big();
    let bytes = encode(&p);
    let got = decode_filtered(&bytes, |_| Some(vec![1])).unwrap();
    let want: Vec<&Sample> = p.samples.iter().filter(|s| s.values[1] != 0).collect();
    assert_eq!(got.samples.len(), want.len());
    assert!(got.samples.iter().zip(want).all(|(a, b)| a == b));
}

#[test]
fn first_error_in_sample_order_wins() {
    let bytes = encode(&big());
    // A label key past the string table in the first half: pprof reports
    // it only after everything else decoded.
    let bad_string = sample_field(&[0x1a, 0x02, 0x08, 0x7f]);
    // An unresolved location id in the second half.
    let nil_location = sample_field(&[0x0a, 0x03, 0xff, 0xff, 0x3f, 0x12, 0x02, 0x01, 0x01]);
    // A location id sent as fixed64: a wire error, which wins at once.
    let wire_error = sample_field(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x02, 0x01, 0x01]);

    let nil_only = [bytes.as_slice(), &nil_location].concat();
    let err = decode(&nil_only).unwrap_err().to_string();
    assert!(err.contains("nil location"), "{err}");

    let both = [bad_string.as_slice(), &bytes, &nil_location].concat();
    let err = decode(&both).unwrap_err().to_string();
    assert!(err.contains("malformed profile format"), "{err}");

    let wire = [bad_string.as_slice(), &bytes, &wire_error].concat();
    let err = decode(&wire).unwrap_err().to_string();
    assert!(
        !err.contains("malformed profile format") && !err.is_empty(),
        "{err}"
    );
    let err_filtered = decode_filtered(&wire, |_| Some(vec![1]))
        .unwrap_err()
        .to_string();
    assert_eq!(err, err_filtered);
}
