//! Bad input is an error value, never a panic.

use profile::ParseOptions;
use profile::goroutine_dump::{parse_dump, to_profile};
use profile::legacy::parse_legacy;
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    "heap profile: 1: 2 [3: 4] @ heap/8\n",
    "goroutine profile: total 3\n",
    "--- mutex:\ncycles/second=100\nsampling period=1\n",
    "--- contentionz 1 ---\n",
    "--- threadz 1 ---\n--- Thread 1 (name: a/1) stack: ---\n",
    "goroutine 1 [running]:\n",
    "MAPPED_LIBRARIES:\n",
    "--- heapz 1 ---\nformat = java\nresolution = bytes\n",
    "--- contentionz 1 ---\nformat = java\nresolution = microseconds\nsampling period = 100\nms since reset = 5\n",
    "--- heapz 1 ---\n",
];

fn mutate() -> impl Strategy<Value = String> {
    (
        0..SEEDS.len(),
        proptest::collection::vec(
            prop_oneof![
                Just("1 @ 0x10 0x20\n".to_string()),
                Just("1: 2 [3: 4] @ 0x1\n".to_string()),
                Just("#\t0x0f\tmain.f+0x1\t/a.go:1\n".to_string()),
                Just("# labels: {\"a\":\"b\"}\n".to_string()),
                Just("main.f(0x1)\n\t/a.go:3 +0x1\n".to_string()),
                Just("created by main.g in goroutine 1\n".to_string()),
                Just("0x1000-0x2000 r-xp 0 00:00 0 /bin/x\n".to_string()),
                Just("  7048     1 @ 0x00000003 0x00000004\n".to_string()),
                Just(" 0x00000003 com.example.f (F.java:3)\n".to_string()),
                Just(" 0x4 lib (/usr/lib/libjvm.so)\n".to_string()),
                Just("0x10 f (:x)\n".to_string()),
                Just("resolution = bytes\n".to_string()),
                Just("\n".to_string()),
                "[ -~\t]{0,40}\n",
                any::<String>(),
            ],
            0..12,
        ),
    )
        .prop_map(|(seed, parts)| format!("{}{}", SEEDS[seed], parts.concat()))
}

proptest! {
    #[test]
    fn never_panics(text in mutate()) {
        for symbolize_text in [false, true] {
            let opts = ParseOptions { symbolize_text, ..ParseOptions::default() };
            if let Ok(Some(p)) = parse_legacy(text.as_bytes(), &opts) {
                let p = &p.profile;
                for s in &p.samples {
                    for &l in &s.locations {
                        prop_assert!((l as usize) < p.locations.len());
                    }
                }
                for l in &p.locations {
                    prop_assert!(l.mapping.is_none_or(|m| (m as usize) < p.mappings.len()));
                    for ln in &l.lines {
                        prop_assert!(ln.function.is_some_and(|f| (f as usize) < p.functions.len()));
                    }
                }
            }
        }
        if let Ok(gs) = parse_dump(&text) {
            let _ = to_profile(&gs);
        }
    }

    /// gperftools CPU headers (third word 0: C++, 1: Java), in the four
    /// word layouts pprof tries, then random records and text.
    #[test]
    fn binary_never_panics(
        java in any::<bool>(),
        layout in 0..4usize,
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        symbols in "([ -~\t]{0,30}\n){0,4}",
    ) {
        let header = [0u64, 3, u64::from(java), 100, 0];
        let mut data: Vec<u8> = header
            .iter()
            .flat_map(|&w| match layout {
                0 => (w as u32).to_le_bytes().to_vec(),
                1 => (w as u32).to_be_bytes().to_vec(),
                2 => w.to_le_bytes().to_vec(),
                _ => w.to_be_bytes().to_vec(),
            })
            .collect();
        data.extend(bytes);
        data.extend(symbols.as_bytes());
        let _ = parse_legacy(&data, &ParseOptions::default());
    }
}
