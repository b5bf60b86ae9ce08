//! Go's legacy text profiles (`?debug=1`) and gperftools formats.
use crate::error::ParseError;
use crate::parse::{ParseOptions, Parsed};

/// The `# runtime.MemStats` footer of a heap `debug=1` text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemStats {}

/// Tries the legacy parsers in pprof's order. `Ok(None)`: no legacy format
/// recognized.
pub fn parse_legacy(data: &[u8], opts: &ParseOptions) -> Result<Option<Parsed>, ParseError> {
    let _ = opts;
    todo!("H2: {}", data.len())
}
