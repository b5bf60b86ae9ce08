//! profile.proto: a hand-written zero-copy decoder and an encoder.
use crate::error::ParseError;
use crate::model::Profile;

/// Decodes an uncompressed profile.proto message.
pub fn decode(data: &[u8]) -> Result<Profile, ParseError> {
    todo!("H1: {}", data.len())
}

/// Encodes like pprof's `Profile.Write` minus the gzip step.
pub fn encode(p: &Profile) -> Vec<u8> {
    todo!("H1: {}", p.samples.len())
}
