//! `parse`: pprof's `ParseData` plus heapdrift's extensions (symbols from `#`
//! lines, MemStats footers, goroutine debug=2 dumps).

use crate::error::ParseError;
use crate::goroutine_dump::Goroutine;
use crate::legacy::MemStats;
use crate::model::Profile;

/// Default cap on decompressed size: 8x the largest real profile we know
/// (the Go compiler's heap profile at memprofilerate=1 compiling its ssa
/// package inflates to 65 MB), and low enough that a gzip bomb cannot hurt
/// the machine. `HEAPDRIFT_MAX_DECOMPRESSED` raises it.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 512 << 20;

#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// Upper bound on the inflated size of a gzip input.
    pub max_decompressed: u64,
    /// Use the function and file:line names in the `#` lines of Go's
    /// `debug=1` texts. pprof ignores them; `-symbolize=none` turns this off
    /// to reproduce pprof exactly.
    pub symbolize_text: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            symbolize_text: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    Proto,
    LegacyHeap,
    LegacyCount,
    LegacyContention,
    LegacyCpu,
    LegacyThread,
    /// Java's CPU, heapz and contentionz profiles.
    LegacyJava,
    GoroutineDump,
}

#[derive(Clone, Debug)]
pub struct Parsed {
    pub profile: Profile,
    pub format: SourceFormat,
    /// The `# runtime.MemStats` footer of a Go heap `debug=1` text.
    pub memstats: Option<MemStats>,
    /// The goroutines of a `goroutine?debug=2` dump, as parsed.
    pub goroutines: Option<Vec<Goroutine>>,
}

impl Parsed {
    pub fn proto(profile: Profile) -> Self {
        Parsed {
            profile,
            format: SourceFormat::Proto,
            memstats: None,
            goroutines: None,
        }
    }
}

/// Parses any profile bytes Go serves: gzip or raw profile.proto, the legacy
/// texts, and goroutine dumps. Mirrors pprof's order: protobuf first, then
/// the legacy parsers.
pub fn parse(data: &[u8], opts: &ParseOptions) -> Result<Parsed, ParseError> {
    parse_filtered(data, opts, |_| None)
}

/// Like [`parse`], but a profile.proto input is decoded with
/// [`crate::proto::decode_filtered`]: samples whose values at the indexes
/// `select` returns are all zero are left out. Legacy texts and goroutine
/// dumps are parsed as by `parse`, every sample kept.
pub fn parse_filtered(
    data: &[u8],
    opts: &ParseOptions,
    select: impl FnOnce(&Profile) -> Option<Vec<usize>>,
) -> Result<Parsed, ParseError> {
    if data.is_empty() {
        return Err(ParseError::Empty);
    }
    let data = crate::gz::maybe_decompress(data, opts.max_decompressed)?;
    parse_inflated(&data, opts, select)
}

/// [`parse_filtered`] taking the bytes by value, so that gzip input is
/// freed as soon as it is inflated: on a large profile that is megabytes
/// less at the peak, which comes while decoding.
pub fn parse_filtered_owned(
    data: Vec<u8>,
    opts: &ParseOptions,
    select: impl FnOnce(&Profile) -> Option<Vec<usize>>,
) -> Result<Parsed, ParseError> {
    if data.is_empty() {
        return Err(ParseError::Empty);
    }
    let inflated = match crate::gz::maybe_decompress(&data, opts.max_decompressed)? {
        std::borrow::Cow::Owned(v) => Some(v),
        std::borrow::Cow::Borrowed(_) => None,
    };
    let data = match inflated {
        Some(v) => {
            drop(data);
            v
        }
        None => data,
    };
    parse_inflated(&data, opts, select)
}

fn parse_inflated(
    data: &[u8],
    opts: &ParseOptions,
    select: impl FnOnce(&Profile) -> Option<Vec<usize>>,
) -> Result<Parsed, ParseError> {
    if data.is_empty() {
        return Err(ParseError::Empty);
    }
    let proto_err = match crate::proto::decode_filtered(data, select) {
        Ok(profile) => {
            crate::passes::validate::check_valid(&profile)?;
            return Ok(Parsed::proto(profile));
        }
        // pprof tries no legacy parser after these two: they are final.
        Err(e @ ParseError::Empty) => return Err(e),
        Err(ParseError::Proto(msg)) if msg == "concatenated profiles detected" => {
            return Err(ParseError::Proto(msg));
        }
        Err(e) => e,
    };
    if let Some(parsed) = crate::legacy::parse_legacy(data, opts)? {
        crate::passes::validate::check_valid(&parsed.profile)?;
        return Ok(parsed);
    }
    if crate::goroutine_dump::looks_like_dump(data) {
        let text = std::str::from_utf8(data)
            .map_err(|_| ParseError::Legacy("goroutine dump is not UTF-8".into()))?;
        let goroutines = crate::goroutine_dump::parse_dump(text)?;
        let profile = crate::goroutine_dump::to_profile(&goroutines);
        return Ok(Parsed {
            profile,
            format: SourceFormat::GoroutineDump,
            memstats: None,
            goroutines: Some(goroutines),
        });
    }
    // Bytes that start like a proto message but failed deep inside are more
    // usefully reported with the decoder's error than as "unrecognized".
    match proto_err {
        ParseError::Proto(_) | ParseError::Invalid(_) if looks_like_proto(data) => Err(proto_err),
        _ => Err(ParseError::Unrecognized),
    }
}

/// First byte is a plausible profile.proto field key (fields 1..=14, wire
/// types 0 or 2).
fn looks_like_proto(data: &[u8]) -> bool {
    let key = data[0];
    let field = key >> 3;
    let wire = key & 7;
    (1..=14).contains(&field) && (wire == 0 || wire == 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Sample, ValueType};

    fn two_type_profile() -> Profile {
        let sample = |a: i64, b: i64| Sample {
            values: vec![a, b],
            ..Default::default()
        };
        Profile {
            sample_types: vec![
                ValueType::new("count", ""),
                ValueType::new("space", "bytes"),
            ],
            samples: vec![sample(1, 0), sample(0, 5), sample(2, 7), sample(0, 0)].into(),
            ..Default::default()
        }
    }

    #[test]
    fn filtered_parse_drops_zero_samples_of_protos_only() {
        let bytes = crate::gz::compress(&crate::proto::encode(&two_type_profile()));
        let opts = ParseOptions::default();
        let all = parse(&bytes, &opts).unwrap().profile;
        assert_eq!(all.samples.len(), 4);
        let by_space = parse_filtered(&bytes, &opts, |h| {
            assert_eq!(h.sample_types.len(), 2);
            Some(vec![1])
        })
        .unwrap()
        .profile;
        let values: Vec<_> = by_space.samples.iter().map(|s| s.values.clone()).collect();
        assert_eq!(values, vec![vec![0, 5], vec![2, 7]]);
        let by_both = parse_filtered(&bytes, &opts, |_| Some(vec![1, 0]))
            .unwrap()
            .profile;
        assert_eq!(by_both.samples.len(), 3);
        // A legacy text is parsed whole.
        let text = b"heap profile: 1: 0 [2: 64] @ heap/1048576\n1: 0 [2: 64] @ 0x1\n";
        let legacy = parse_filtered(text, &opts, |_| Some(vec![1])).unwrap();
        assert_ne!(legacy.format, SourceFormat::Proto);
        assert_eq!(
            legacy.profile.samples.len(),
            parse(text, &opts).unwrap().profile.samples.len()
        );
    }
}
