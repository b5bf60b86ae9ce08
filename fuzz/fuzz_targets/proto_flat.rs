#![no_main]
//! The lean decoder accepts exactly what decode + CheckValid accept.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let full = profile::proto::decode(data)
        .and_then(|p| profile::passes::validate::check_valid(&p).map(|()| p));
    let flat = profile::proto::FlatProfile::decode(data);
    assert_eq!(full.is_ok(), flat.is_ok(), "full {:?} flat {:?}", full.err(), flat.err());
    if let (Ok(p), Ok(f)) = (full, flat) {
        assert_eq!(p.samples.len(), f.sample_count());
        for (i, s) in p.samples.iter().enumerate() {
            assert_eq!(s.locations.as_slice(), f.sample_stack(i));
            assert_eq!(s.values.as_slice(), f.sample_values(i));
        }
    }
});
