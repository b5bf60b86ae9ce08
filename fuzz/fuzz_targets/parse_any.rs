#![no_main]
//! The whole `parse` entry point (gzip, proto, legacy texts, dumps), with a
//! small decompression cap so gzip bombs are cheap to hit.
use libfuzzer_sys::fuzz_target;
use profile::ParseOptions;

fuzz_target!(|data: &[u8]| {
    let opts = ParseOptions {
        max_decompressed: 1 << 20,
        ..ParseOptions::default()
    };
    let _ = profile::parse(data, &opts);
});
