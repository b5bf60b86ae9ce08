#![no_main]
//! profile.proto decoding; whatever decodes must also re-encode and decode.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = profile::proto::decode(data) {
        let bytes = profile::proto::encode(&p);
        assert!(profile::proto::decode(&bytes).is_ok());
    }
});
