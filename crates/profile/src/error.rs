use thiserror::Error;

/// Everything that can be wrong with profile bytes. Messages follow pprof's
/// wording where pprof has one, so that scripts matching on them keep working.
#[derive(Debug, Error)]
pub enum ParseError {
    #[error("empty input file")]
    Empty,
    #[error("decompressing profile: {0}")]
    Decompress(String),
    #[error(
        "decompressing profile: decompressed size exceeds the limit of {limit} bytes (raise it with HEAPDRIFT_MAX_DECOMPRESSED)"
    )]
    TooLarge { limit: u64 },
    #[error("parsing profile: {0}")]
    Proto(String),
    #[error("parsing profile: {0}")]
    Legacy(String),
    #[error("parsing profile: unrecognized profile format")]
    Unrecognized,
    #[error("parsing profile: malformed profile: {0}")]
    Invalid(String),
}
