#![no_main]
//! Go's legacy `debug=1` texts and the gperftools formats.
use libfuzzer_sys::fuzz_target;
use profile::ParseOptions;

fuzz_target!(|data: &[u8]| {
    let opts = ParseOptions {
        max_decompressed: 1 << 20,
        ..ParseOptions::default()
    };
    let _ = profile::legacy::parse_legacy(data, &opts);
});
