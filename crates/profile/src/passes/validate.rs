use crate::error::ParseError;
use crate::model::Profile;

/// pprof's `CheckValid`.
pub fn check_valid(p: &Profile) -> Result<(), ParseError> {
    todo!("H3: {}", p.samples.len())
}
