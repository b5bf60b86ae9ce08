#![no_main]
//! Go's legacy `debug=1` texts, the gperftools formats and Java's (CPU,
//! heapz, contentionz): every format of pprof's `parseLegacy`.
use libfuzzer_sys::fuzz_target;
use profile::ParseOptions;

fuzz_target!(|data: &[u8]| {
    let opts = ParseOptions {
        max_decompressed: 1 << 20,
        ..ParseOptions::default()
    };
    let _ = profile::legacy::parse_legacy(data, &opts);
});
