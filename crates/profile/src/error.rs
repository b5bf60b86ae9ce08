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

/// An OS error in Go's words ("no such file or directory", "permission
/// denied"): Go programs and go tool pprof print them so, and heapdrift's
/// messages must read the same to people and scripts that know those.
/// Every crate words I/O errors through this one function.
pub fn go_io_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof && e.raw_os_error().is_none() {
        return "unexpected EOF".into();
    }
    let text = e.to_string();
    if e.raw_os_error().is_none() {
        return text;
    }
    // Go's errno strings are the C library's, all lower case and without
    // Rust's " (os error N)" suffix.
    let text = text
        .find(" (os error")
        .map_or(text.as_str(), |i| &text[..i]);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An I/O failure on a named file, shaped as Go's `*os.PathError`: `open
/// x.pb.gz: no such file or directory`. The one shape of file errors in the
/// workspace.
#[derive(Debug, Error)]
#[error("{op} {path}: {}", go_io_error(.error))]
pub struct PathError {
    /// What was being done: `open`, `stat`, `read`, `readdir`, `mkdir`…
    pub op: &'static str,
    pub path: String,
    /// Not a `source`: its text is already in the message, and a chain
    /// printer (`{:#}`) would print it twice.
    pub error: std::io::Error,
}

impl PathError {
    pub fn new(op: &'static str, path: impl AsRef<std::path::Path>, error: std::io::Error) -> Self {
        PathError {
            op,
            path: path.as_ref().display().to_string(),
            error,
        }
    }

    /// For `map_err`: `fs::read(p).map_err(PathError::on("open", p))`.
    pub fn on(
        op: &'static str,
        path: impl AsRef<std::path::Path>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        move |error| PathError::new(op, path, error)
    }

    pub fn kind(&self) -> std::io::ErrorKind {
        self.error.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn os_errors_read_as_go_prints_them() {
        // ENOENT is 2 on every system heapdrift builds for.
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(go_io_error(&e), "no such file or directory");
        let p = PathError::new("open", "/x/y.pb.gz", e);
        assert_eq!(p.to_string(), "open /x/y.pb.gz: no such file or directory");
        assert_eq!(p.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            go_io_error(&io::Error::from(io::ErrorKind::UnexpectedEof)),
            "unexpected EOF"
        );
        // Errors made by programs keep their own words.
        assert_eq!(go_io_error(&io::Error::other("odd thing")), "odd thing");
    }
}
