//! pprof's `SampleIndexByName` (index.go).
use crate::model::Profile;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SampleIndexError {
    /// pprof's driver checks this before asking for an index.
    #[error("profile has no samples")]
    NoSampleTypes,
    #[error("sample_index {index} is outside the range [0..{max}]")]
    OutOfRange { index: String, max: i64 },
    #[error("sample_index {} must be one of: [{}]", go_quote(.index), .types.join(" "))]
    Unknown { index: String, types: Vec<String> },
}

/// pprof's `SampleIndexByName`: "" picks the default sample type, else the
/// last; a decimal number is an index; otherwise a type name, where an
/// `inuse_` prefix may be left off the profile's type (`inuse_space`
/// finds `space`).
pub fn sample_index_by_name(p: &Profile, index: &str) -> Result<usize, SampleIndexError> {
    if p.sample_types.is_empty() {
        return Err(SampleIndexError::NoSampleTypes);
    }
    if index.is_empty() {
        if !p.default_sample_type.is_empty()
            && let Some(i) = p
                .sample_types
                .iter()
                .position(|t| t.r#type == p.default_sample_type)
        {
            return Ok(i);
        }
        return Ok(p.sample_types.len() - 1);
    }
    if let Some(i) = go_atoi(index) {
        let n = p.sample_types.len();
        return match usize::try_from(i) {
            Ok(i) if i < n => Ok(i),
            _ => Err(SampleIndexError::OutOfRange {
                index: index.to_string(),
                // n >= 1 (checked above) and a Vec's length fits in i64.
                max: i64::try_from(n - 1).unwrap_or(i64::MAX),
            }),
        };
    }
    let no_inuse = index.strip_prefix("inuse_").unwrap_or(index);
    if let Some(i) = p
        .sample_types
        .iter()
        .position(|t| t.r#type == index || t.r#type == no_inuse)
    {
        return Ok(i);
    }
    Err(SampleIndexError::Unknown {
        index: index.to_string(),
        types: p.sample_types.iter().map(|t| t.r#type.clone()).collect(),
    })
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, no overflow.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `%q` for the strings that reach it here (printable text is kept,
/// quotes, backslashes and control characters are escaped).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
