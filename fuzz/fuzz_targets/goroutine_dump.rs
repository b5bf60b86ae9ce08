#![no_main]
//! `goroutine?debug=2` dumps; the parser takes text, so only UTF-8 inputs.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(gs) = profile::goroutine_dump::parse_dump(text)
    {
        let _ = profile::goroutine_dump::to_profile(&gs);
    }
});
