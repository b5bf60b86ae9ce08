//! Saving fetched profiles the way pprof does: into $PPROF_TMPDIR (or
//! $HOME/pprof, or the temp dir) as `pprof.<exe>.<type>.<type>.NNN.pb.gz`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("failed to identify temp dir")]
    NoDir,
    #[error("could not create file of the form {0}")]
    Exhausted(String),
    #[error("open {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// A saved profile, plus the "Could not use temp dir" lines pprof prints for
/// directories it had to skip.
#[derive(Debug)]
pub struct Saved {
    pub path: PathBuf,
    pub warnings: Vec<String>,
}

/// Go's `filepath.Base` (Unix).
fn go_base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `pprof.` + the main binary's base name + `.` (when the first mapping has a
/// file) + each sample type + `.`.
pub fn saved_name_prefix(main_binary: &str, sample_types: &[&str]) -> String {
    let mut prefix = String::from("pprof.");
    if !main_binary.is_empty() {
        prefix.push_str(go_base(main_binary));
        prefix.push('.');
    }
    for t in sample_types {
        prefix.push_str(t);
        prefix.push('.');
    }
    prefix
}

/// The candidate directories, in pprof's order: $PPROF_TMPDIR, $HOME/pprof,
/// the system temp dir.
pub fn profile_dirs(env: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = env("PPROF_TMPDIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Some(h) = env("HOME").filter(|h| !h.is_empty()) {
        dirs.push(Path::new(&h).join("pprof"));
    }
    dirs.push(std::env::temp_dir());
    dirs
}

/// Saves `bytes` (an encoded profile) as pprof would after fetching:
/// `main_binary` is the first mapping's file ("" if none), `sample_types`
/// the profile's sample type names.
pub fn save_fetched(
    main_binary: &str,
    sample_types: &[&str],
    bytes: &[u8],
) -> Result<Saved, SaveError> {
    let dirs = profile_dirs(|k| std::env::var(k).ok());
    save_fetched_in(&dirs, &saved_name_prefix(main_binary, sample_types), bytes)
}

/// Like [`save_fetched`], with explicit directories and name prefix.
pub fn save_fetched_in(dirs: &[PathBuf], prefix: &str, bytes: &[u8]) -> Result<Saved, SaveError> {
    let mut warnings = Vec::new();
    let dir = dirs
        .iter()
        .find(|d| match std::fs::create_dir_all(d) {
            Ok(()) => true,
            Err(e) => {
                warnings.push(format!("Could not use temp dir {}: {e}", d.display()));
                false
            }
        })
        .ok_or(SaveError::NoDir)?;
    // pprof numbers from 001 and takes the first name not yet used.
    for index in 1..10000 {
        let path = dir.join(format!("{prefix}{index:03}.pb.gz"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(bytes).map_err(|source| SaveError::Write {
                    path: path.display().to_string(),
                    source,
                })?;
                return Ok(Saved { path, warnings });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(SaveError::Create {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
    Err(SaveError::Exhausted(format!("{prefix}001.pb.gz")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_like_pprof() {
        assert_eq!(
            saved_name_prefix("/usr/local/bin/server", &["alloc_objects", "alloc_space"]),
            "pprof.server.alloc_objects.alloc_space."
        );
        assert_eq!(
            saved_name_prefix("", &["samples", "cpu"]),
            "pprof.samples.cpu."
        );
        assert_eq!(saved_name_prefix("dir/", &[]), "pprof.dir.");
        assert_eq!(go_base("/"), "/");
    }

    #[test]
    fn numbers_files_and_skips_bad_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let good = tmp.path().join("pprof");
        let dirs = vec![file.clone(), good.clone()];
        let a = save_fetched_in(&dirs, "pprof.x.cpu.", b"one").unwrap();
        assert_eq!(a.path, good.join("pprof.x.cpu.001.pb.gz"));
        assert_eq!(a.warnings.len(), 1);
        assert!(a.warnings[0].starts_with(&format!("Could not use temp dir {}: ", file.display())));
        let b = save_fetched_in(&dirs, "pprof.x.cpu.", b"two").unwrap();
        assert_eq!(b.path, good.join("pprof.x.cpu.002.pb.gz"));
        std::fs::remove_file(&a.path).unwrap();
        // A freed number is reused, as pprof's O_EXCL loop does.
        let c = save_fetched_in(&dirs, "pprof.x.cpu.", b"three").unwrap();
        assert_eq!(c.path, a.path);
        assert_eq!(std::fs::read(&c.path).unwrap(), b"three");
    }

    #[test]
    fn dirs_in_pprof_order() {
        let dirs = profile_dirs(|k| match k {
            "PPROF_TMPDIR" => Some("/p".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        });
        assert_eq!(dirs[0], PathBuf::from("/p"));
        assert_eq!(dirs[1], PathBuf::from("/home/u/pprof"));
        assert_eq!(dirs.len(), 3);
    }
}
