//! Deterministic fuzz smoke run for CI: thousands of random and mutated
//! inputs through the decoder and the gzip layer. Nothing may panic, and
//! whatever decodes must keep every index in bounds and re-encode cleanly.
use profile::proto::{decode, encode};
use profile::*;
use std::sync::Arc;

/// xorshift64*: a seeded PRNG, enough for reproducible smoke inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seed_profile(rng: &mut Rng) -> Profile {
    let s = |x: &str| Arc::<str>::from(x);
    let nf = 1 + rng.below(4);
    let functions: Vec<Function> = (0..nf)
        .map(|i| Function {
            id: i as u64 + 1,
            name: format!("main.f{i}"),
            system_name: format!("main.f{i}"),
            filename: "main.go".into(),
            start_line: i as i64,
        })
        .collect();
    let nl = 1 + rng.below(6);
    let locations: Vec<Location> = (0..nl)
        .map(|i| Location {
            id: if i % 2 == 0 {
                i as u64 + 1
            } else {
                1000 + i as u64
            },
            mapping: Some(0),
            address: 0x1000 + i as u64,
            lines: vec![Line {
                function: Some(rng.below(nf) as u32),
                line: rng.below(100) as i64,
                column: 0,
            }],
            is_folded: false,
        })
        .collect();
    let samples = (0..1 + rng.below(5))
        .map(|_| Sample {
            locations: (0..rng.below(5)).map(|_| rng.below(nl) as u32).collect(),
            values: vec![rng.next() as i64 >> 40, rng.below(10) as i64],
            labels: vec![Label {
                key: s("k"),
                value: s("v"),
            }],
            num_labels: vec![NumLabel {
                key: s("bytes"),
                value: rng.below(4096) as i64,
                unit: Some(s("bytes")),
            }],
        })
        .collect();
    Profile {
        sample_types: vec![
            ValueType::new("alloc_space", "bytes"),
            ValueType::new("alloc_objects", "count"),
        ],
        samples,
        mappings: vec![Mapping {
            id: 1,
            file: "/bin/x".into(),
            ..Default::default()
        }],
        locations,
        functions,
        comments: vec!["c".into()],
        period_type: Some(ValueType::new("space", "bytes")),
        period: 512,
        time_nanos: 1,
        ..Default::default()
    }
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let n = data.len();
        match rng.below(6) {
            0 if n > 0 => data[rng.below(n)] = rng.next() as u8,
            1 if n > 0 => data[rng.below(n)] ^= 1 << rng.below(8),
            2 => data.insert(rng.below(n + 1), rng.next() as u8),
            3 if n > 0 => {
                data.remove(rng.below(n));
            }
            4 => data.truncate(rng.below(n + 1)),
            5 if n > 1 => {
                // Duplicate a chunk: repeats fields and nested messages.
                let a = rng.below(n);
                let b = (a + 1 + rng.below(16)).min(n);
                let chunk = data[a..b].to_vec();
                let at = rng.below(n + 1);
                data.splice(at..at, chunk);
            }
            _ => {}
        }
    }
}

fn check(p: &Profile) {
    for s in &p.samples {
        for &l in &s.locations {
            assert!((l as usize) < p.locations.len());
        }
    }
    for l in &p.locations {
        if let Some(m) = l.mapping {
            assert!((m as usize) < p.mappings.len());
        }
        for ln in &l.lines {
            if let Some(f) = ln.function {
                assert!((f as usize) < p.functions.len());
            }
        }
    }
    let again = decode(&encode(p));
    assert!(
        again.is_ok(),
        "re-encoded profile does not decode: {again:?}"
    );
}

#[test]
fn random_and_mutated_inputs_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut decoded = 0;
    for i in 0..4000 {
        let data = if i % 4 == 0 {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            let mut d = encode(&seed_profile(&mut rng));
            mutate(&mut rng, &mut d);
            d
        };
        if let Ok(p) = decode(&data) {
            decoded += 1;
            check(&p);
        }
        // And through the gzip layer, with a small cap.
        let mut z = gz::compress(&data);
        if i % 3 == 0 {
            mutate(&mut rng, &mut z);
        }
        if let Ok(raw) = gz::maybe_decompress(&z, 4096) {
            let _ = decode(&raw);
        }
    }
    // The mutations must leave some inputs valid, or this tests nothing but
    // the error paths.
    assert!(decoded > 100, "only {decoded} inputs decoded");
}
