//! The input layer of `hunt`, as a library: snapshot sources, classification
//! by kind, time stamps, de-duplication and ordering ([`load`]), and the
//! series `drift::hunt` reads, built from the loaded snapshots ([`build`]).
//!
//! A [`SnapshotSource`] yields raw snapshots (bytes plus what the source
//! already knows: kind and time for an archive's index, nothing for a plain
//! file). [`load`] parses each one, classifies it by its sample types and
//! format, fixes its time stamp and returns them time-ordered.
//!
//! Time stamp rule, first that applies:
//! 1. the time the source recorded (an archive index);
//! 2. the profile's own `time_nanos` (profile.proto; Go always sets it);
//! 3. a UTC date-time in the file name: `YYYYMMDDTHHMMSS[.fff]Z` or
//!    `YYYY-MM-DDTHH:MM:SS[.fff]Z` (also with `_` or `-` for `T`, `-`/`.`
//!    between time fields), or else a Unix time of 10 digits (seconds) or
//!    13 digits (milliseconds) standing alone between non-digits;
//! 4. the file's modification time.

mod archive;
mod build;
mod load;
mod stream;

pub use archive::{
    ArchiveOptions, ArchiveSeries, ArchiveSource, SeriesPick, build_series, heap_from_index,
    hunted_kind, is_archive, select_series,
};

pub use build::{Built, PrebuiltGoroutines, PrebuiltHeap, build, build_with};
pub use load::{
    Files, Loaded, RawSnapshot, Snapshot, SnapshotKind, SnapshotSource, TimeSource, load,
    time_from_name,
};
pub use stream::{build_files, build_files_listed};

/// Errors of the input layer. Each names the file (or archive) it is about
/// in its message, which is meant to be shown as one line.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {error}")]
    Parse {
        path: String,
        error: profile::ParseError,
    },
    #[error(
        "{path}: not a heap, goroutine or goroutineleak profile (sample types {types}); hunt reads only those"
    )]
    NotHunted { path: String, types: String },
    #[error("{path}: no time stamp (not in the profile, the file name or the file's metadata)")]
    NoTime { path: String },
    #[error("{path}: {error}")]
    Series {
        path: String,
        error: drift::DriftError,
    },
    #[error("{0}")]
    Store(#[from] crate::StoreError),
    #[error("{0}")]
    Other(String),
}
