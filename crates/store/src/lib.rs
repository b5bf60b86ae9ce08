//! The snapshot archive of `heapdrift watch`, read by `heapdrift hunt`.
//!
//! Files that `go tool pprof` opens, under `DIR/<target>/<series>/<kind>/`,
//! plus a SQLite index (`DIR/heapdrift.sqlite`, WAL mode) of targets,
//! series (one per process lifetime), snapshots with summary columns,
//! per-site heap values, and gaps. See docs/archive.md.
//!
//! [`read`] reads one series of the archive into the series layer's one
//! builder (`series::SeriesBuilder`): the heap series from the index's
//! per-site values, the other kinds from their files.
//!
//! Crash safety: a snapshot file is written to a temp file, fsynced and
//! renamed before its index row is committed, so a crash leaves at worst a
//! complete file without a row (re-indexed by [`Archive::open`]) or a temp
//! file (deleted by it). SQLite's WAL keeps the index itself consistent.

mod archive;
pub mod layout;
pub mod read;
mod recover;
pub mod summary;

pub use archive::*;
pub use recover::RecoveryReport;
pub use series::identity::{Continuity, Identity, RestartReason, detect_restart};
pub use summary::{SiteValues, Summary};

/// Errors of the archive.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] profile::PathError),
    #[error("{0}: not a heapdrift archive (no index)")]
    NotAnArchive(String),
    #[error("archive index: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("archive {0} is open for writing by another process")]
    Locked(String),
    #[error("archive is open read-only")]
    ReadOnly,
    #[error("no such {what} {id}")]
    NotFound { what: &'static str, id: i64 },
    #[error("archive index has schema version {0}, this heapdrift knows 1")]
    Schema(i64),
    #[error("unknown snapshot kind {0:?}")]
    UnknownKind(String),
    /// What `read::select_series` found nothing for (lists what there is).
    #[error("{0}")]
    Select(String),
    #[error(transparent)]
    Series(#[from] series::SeriesError),
}

/// For `map_err`: an I/O failure of `op` on `path`, in Go's words.
pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |error| profile::PathError::new(op, path, error).into()
}
