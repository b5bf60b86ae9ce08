//! Recovery on open: what a crash can leave behind, repaired.
//!
//! `put` writes temp file -> fsync -> rename -> fsync dir -> index row, so a
//! crash leaves (a) a temp file, deleted here; (b) a complete file without a
//! row, re-indexed here from its path and contents. Rows whose file is gone
//! (deleted by hand) are marked "missing", and back to "ok" if it returns.

use crate::archive::{Archive, Kind, SeriesId};
use crate::layout::{self, TMP_PREFIX};
use crate::summary::Summary;
use crate::{StoreError, io_err};
use drift::series::SeriesOptions;
use std::collections::{HashMap, HashSet};
use std::fs;

/// What [`Archive::open`] repaired.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveryReport {
    /// Temp files of interrupted writes, deleted.
    pub temp_removed: usize,
    /// Complete files that had no index row, indexed now.
    pub reindexed: usize,
    /// Of those, files that do not parse (indexed with status "unparsed").
    pub unparsed: usize,
    /// Rows whose file is gone, marked "missing".
    pub missing: usize,
    /// Files under the archive that match no series or kind, left alone.
    pub foreign: Vec<String>,
    /// Heap snapshots whose per-site values were recomputed because the
    /// attribution rules changed since they were written.
    pub reattributed: usize,
}

pub(crate) fn run(a: &mut Archive) -> Result<RecoveryReport, StoreError> {
    let mut rep = RecoveryReport::default();
    let mut indexed: HashMap<String, (i64, String)> = HashMap::new();
    {
        let mut st = a.conn.prepare("SELECT id, path, status FROM snapshots")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            indexed.insert(r.get(1)?, (r.get(0)?, r.get(2)?));
        }
    }
    let mut series_of_dir: HashMap<String, i64> = HashMap::new();
    {
        let mut st = a
            .conn
            .prepare("SELECT s.id, t.slug FROM series s JOIN targets t ON t.id = s.target")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let slug: String = r.get(1)?;
            series_of_dir.insert(format!("{slug}/{id}"), id);
        }
    }
    let mut present: HashSet<String> = HashSet::new();
    let mut todo: Vec<(SeriesId, Kind, i64, String)> = Vec::new();
    let root = a.dir().to_path_buf();
    // Layout is fixed-depth: <slug>/<series>/<kind>/<file>.
    for slug in read_dirs(&root)? {
        for series in read_dirs(&root.join(&slug))? {
            let sdir = format!("{slug}/{series}");
            for kind in read_dirs(&root.join(&sdir))? {
                let kdir = root.join(&sdir).join(&kind);
                for entry in fs::read_dir(&kdir).map_err(io_err("readdir", &kdir))? {
                    let entry = entry.map_err(io_err("readdir", &kdir))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let rel = format!("{sdir}/{kind}/{name}");
                    if name.starts_with(TMP_PREFIX) {
                        let p = entry.path();
                        fs::remove_file(&p).map_err(io_err("remove", &p))?;
                        rep.temp_removed += 1;
                        continue;
                    }
                    present.insert(rel.clone());
                    if indexed.contains_key(&rel) {
                        continue;
                    }
                    let parsed = (
                        series_of_dir.get(&sdir),
                        Kind::parse(&kind),
                        layout::parse_file_name(&name),
                    );
                    match parsed {
                        (Some(&sid), Some(k), Some((t, _, _))) => {
                            todo.push((SeriesId(sid), k, t, rel))
                        }
                        _ => rep.foreign.push(rel),
                    }
                }
            }
        }
    }
    todo.sort_by_key(|t| t.2);
    let opts = SeriesOptions::default();
    for (series, kind, taken_at, rel) in todo {
        let path = root.join(&rel);
        let bytes = fs::read(&path).map_err(io_err("open", &path))?;
        let (summary, status) = if kind.family() == Some(series::Family::Rss) {
            // No profile: its reading is what makes it usable.
            match kind.rss_reading(&bytes) {
                Some(_) => (Summary::default(), "ok"),
                _ => {
                    rep.unparsed += 1;
                    (Summary::default(), "unparsed")
                }
            }
        } else {
            match profile::parse(&bytes, &profile::ParseOptions::default()) {
                Ok(p) => (Summary::from_parsed(&p, &opts), "ok"),
                Err(_) => {
                    rep.unparsed += 1;
                    (Summary::default(), "unparsed")
                }
            }
        };
        a.index(
            series,
            kind,
            taken_at,
            None,
            bytes.len() as i64,
            &rel,
            &summary,
            status,
            true,
        )?;
        rep.reindexed += 1;
    }
    for (rel, (id, status)) in &indexed {
        let here = present.contains(rel);
        let new = match (status.as_str(), here) {
            ("missing", true) => Some("ok"),
            ("missing", false) | (_, true) => None,
            (_, false) => Some("missing"),
        };
        if let Some(new) = new {
            if new == "missing" {
                rep.missing += 1;
            }
            a.conn.execute(
                "UPDATE snapshots SET status=?2 WHERE id=?1",
                rusqlite::params![id, new],
            )?;
        }
    }
    Ok(rep)
}

/// Names of the subdirectories of `dir` (none if it does not exist).
fn read_dirs(dir: &std::path::Path) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let it = match fs::read_dir(dir) {
        Ok(it) => it,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err("readdir", dir)(e)),
    };
    for e in it {
        let e = e.map_err(io_err("readdir", dir))?;
        if e.file_type().map_err(io_err("stat", dir))?.is_dir() {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}
