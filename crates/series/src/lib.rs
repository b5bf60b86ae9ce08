//! The series layer between `drift` and the sources of snapshots: what a
//! snapshot is ([`Kind`]), when it was taken ([`time`]), which process it
//! comes from ([`identity`]), and the one builder of the series
//! `drift::hunt` reads ([`SeriesBuilder`]).
//!
//! Every source pushes into that builder: plain files and directories
//! ([`files`], read on several threads), an archive made by `watch` (in
//! the `store` crate: its index's per-site heap values and its files), and
//! `watch`'s live view. The format choice, the order rules and the input
//! notes live here once, so the sources cannot disagree.

pub mod builder;
pub mod files;
pub mod fleet;
pub mod identity;
pub mod json;
pub mod kind;
pub mod notes;
pub mod push;
pub mod time;

pub use builder::{BuildOptions, Built, Current, Data, Entry, Points, SeriesBuilder, SnapshotRef};
pub use files::{FileOptions, Files, Listed, ProcessSeries, build_files, is_archive};
pub use identity::{Continuity, Identity, RestartReason, detect_restart};
pub use kind::{Family, Kind, Unread, classify};
pub use notes::{Note, SkipReason};
pub use time::{TimeSource, time_from_name};

/// The file that makes a directory an archive of `heapdrift watch`: its
/// SQLite index. Such a directory is read through the index, never walked
/// as plain files.
pub const ARCHIVE_INDEX: &str = "heapdrift.sqlite";

/// Errors of the series layer. Each names the file (or archive) it is
/// about in its message, which is meant to be shown as one line.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error(transparent)]
    Io(#[from] profile::PathError),
    #[error("{path}: {error}")]
    Parse {
        path: String,
        error: profile::ParseError,
    },
    #[error("{path}: {error}")]
    Series {
        path: String,
        error: drift::DriftError,
    },
    #[error("no snapshots hunt reads: {0}")]
    NoSnapshots(String),
    /// A URL given where files are read: callers point to `watch`.
    #[error(
        "{0}: hunt reads files and archives; to fetch from a running service, use `heapdrift watch {0}` and hunt its archive"
    )]
    Url(String),
    /// An archive's root among plain files: its files are several targets'
    /// and processes' series, which only its index tells apart.
    #[error(
        "{0}: an archive made by heapdrift watch; read it on its own (hunt ARCHIVE), not among plain files"
    )]
    ArchiveAmongFiles(String),
    /// A snapshot the builder deferred could not be read again.
    #[error("{what}: {why}")]
    Reread { what: String, why: String },
    #[error("a parsing thread panicked")]
    ThreadPanicked,
}
