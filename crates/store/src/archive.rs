use crate::layout;
use crate::recover::{self, RecoveryReport};
use crate::summary::{Summary, decode_sites, encode_sites};
use crate::{StoreError, io_err};
use drift::series::Frame;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use series::identity::Identity;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

pub const INDEX_FILE: &str = series::ARCHIVE_INDEX;
/// The `meta` key of the attribution rules' version that computed the
/// per-site values.
const ATTRIBUTION_KEY: &str = "attribution";
const LOCK_FILE: &str = "heapdrift.lock";
const SCHEMA_VERSION: i64 = 1;
/// How long `open` waits for another writer to let go.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS targets(
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS series(
    id INTEGER PRIMARY KEY,
    target INTEGER NOT NULL REFERENCES targets(id),
    started_at INTEGER NOT NULL,
    build_id TEXT,
    main_binary TEXT,
    identity TEXT NOT NULL,
    restart_reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS series_target ON series(target, started_at);
CREATE TABLE IF NOT EXISTS snapshots(
    id INTEGER PRIMARY KEY,
    series INTEGER NOT NULL REFERENCES series(id),
    kind TEXT NOT NULL,
    taken_at INTEGER NOT NULL,
    fetch_nanos INTEGER,
    bytes INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'ok',
    recovered INTEGER NOT NULL DEFAULT 0,
    profile_time INTEGER NOT NULL DEFAULT 0,
    inuse_space INTEGER,
    inuse_objects INTEGER,
    alloc_space INTEGER,
    alloc_objects INTEGER,
    goroutines INTEGER,
    memstats TEXT,
    metrics INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS snapshots_series ON snapshots(series, kind, taken_at);
CREATE TABLE IF NOT EXISTS sites(
    id INTEGER PRIMARY KEY,
    function TEXT NOT NULL,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    user INTEGER NOT NULL,
    stack TEXT NOT NULL,
    UNIQUE(function, file, line));
CREATE TABLE IF NOT EXISTS site_values(
    snapshot INTEGER PRIMARY KEY REFERENCES snapshots(id),
    data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS gaps(
    id INTEGER PRIMARY KEY,
    target INTEGER NOT NULL REFERENCES targets(id),
    kind TEXT,
    from_ns INTEGER NOT NULL,
    to_ns INTEGER NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS gaps_target ON gaps(target, from_ns);
";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotId(pub i64);

/// The directory name of a kind is [`Kind::as_str`].
pub use series::Kind;

/// File extension for a snapshot's bytes: stored verbatim, so the
/// extension follows the content (gzip or not) and the kind (proto or
/// text).
pub fn extension(kind: Kind, bytes: &[u8]) -> &'static str {
    let gz = bytes.starts_with(&[0x1f, 0x8b]);
    if kind == Kind::Probe && !gz {
        return "json";
    }
    match (kind.is_text(), gz) {
        (false, true) => "pb.gz",
        (false, false) => "pb",
        (true, true) => "txt.gz",
        (true, false) => "txt",
    }
}

fn parse_kind(s: &str) -> Result<Kind, StoreError> {
    Kind::parse(s).ok_or_else(|| StoreError::UnknownKind(s.to_string()))
}

/// Why a target gave no snapshot for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// Connection refused or reset: the target is down.
    Down,
    Timeout,
    /// HTTP 5xx.
    ServerError,
    /// An answer that is not a profile.
    Garbage,
}

impl GapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Down => "down",
            GapReason::Timeout => "timeout",
            GapReason::ServerError => "5xx",
            GapReason::Garbage => "garbage",
        }
    }

    /// What the reason means, for a report.
    pub fn describe(self) -> &'static str {
        match self {
            GapReason::Down => "target down",
            GapReason::Timeout => "timed out",
            GapReason::ServerError => "server error",
            GapReason::Garbage => "not a profile",
        }
    }

    pub fn parse(s: &str) -> Option<GapReason> {
        [
            GapReason::Down,
            GapReason::Timeout,
            GapReason::ServerError,
            GapReason::Garbage,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TargetInfo {
    pub id: TargetId,
    pub url: String,
    pub slug: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SeriesInfo {
    pub id: SeriesId,
    pub target: TargetId,
    pub started_at: i64,
    pub identity: Identity,
    /// "first" for a target's first series, else why the process is
    /// thought to have restarted.
    pub restart_reason: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotInfo {
    pub id: SnapshotId,
    pub series: SeriesId,
    pub kind: Kind,
    /// Unix nanoseconds when the fetch started.
    pub taken_at: i64,
    pub fetch_nanos: Option<i64>,
    pub bytes: i64,
    /// Relative to the archive directory, `/`-separated.
    pub path: String,
    /// "ok", "missing" (file vanished) or "unparsed" (re-indexed file that
    /// does not parse).
    pub status: String,
    /// Indexed by recovery rather than by `put`.
    pub recovered: bool,
    pub profile_time: i64,
    pub inuse_space: Option<i64>,
    pub inuse_objects: Option<i64>,
    pub alloc_space: Option<i64>,
    pub alloc_objects: Option<i64>,
    pub goroutines: Option<i64>,
    pub memstats: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gap {
    pub target: TargetId,
    pub kind: Option<Kind>,
    pub from_ns: i64,
    pub to_ns: i64,
    pub reason: GapReason,
    pub message: String,
}

impl Gap {
    /// The gap as JSON reports show it.
    pub fn to_json(&self) -> series::json::Gap {
        series::json::Gap {
            kind: self.kind.map(|k| k.as_str().to_string()),
            from_unix_nanos: self.from_ns,
            to_unix_nanos: self.to_ns,
            reason: self.reason.as_str().to_string(),
            message: self.message.clone(),
        }
    }
}

/// An interned allocation site.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteInfo {
    pub id: i64,
    pub function: String,
    pub file: String,
    pub line: i64,
    pub user: bool,
    pub stack: Vec<Frame>,
}

/// Per-site heap values of a run of snapshots, shaped like
/// `drift::series::HeapSeries`: `rows[snapshot][site]`, where a row is
/// shorter than `sites` when later sites were not yet seen (read as 0).
#[derive(Clone, Debug, Default)]
pub struct HeapMatrix {
    pub snapshots: Vec<SnapshotId>,
    pub taken_at: Vec<i64>,
    /// The profiles' own time stamps (0 for texts).
    pub profile_time: Vec<i64>,
    /// Indexes of snapshots that begin another series.
    pub breaks: Vec<usize>,
    /// Sites in order of first appearance.
    pub sites: Vec<SiteInfo>,
    pub has_metric: [bool; 4],
    pub rows: Vec<Vec<[i64; 4]>>,
}

impl HeapMatrix {
    /// metric: 0 inuse_space, 1 inuse_objects, 2 alloc_space, 3 alloc_objects.
    pub fn value(&self, metric: usize, site: usize, snapshot: usize) -> i64 {
        self.rows
            .get(snapshot)
            .and_then(|r| r.get(site))
            .and_then(|v| v.get(metric))
            .copied()
            .unwrap_or(0)
    }
}

type SiteKey = (String, String, i64);

/// An open archive. Writers hold an exclusive lock on `heapdrift.lock`;
/// any number of [`Archive::open_read_only`] readers may run beside one
/// writer.
pub struct Archive {
    dir: PathBuf,
    pub(crate) conn: Connection,
    read_only: bool,
    _lock: Option<File>,
    next_seq: u64,
    sites: Option<HashMap<SiteKey, i64>>,
    made_dirs: HashSet<PathBuf>,
    /// Series id -> directory relative to the archive.
    series_dirs: HashMap<i64, String>,
    recovery: RecoveryReport,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    // synchronous=NORMAL in WAL mode: a killed process loses nothing
    // committed; a power cut may lose the last commits, whose files the
    // next open re-indexes.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Archive {
    /// Opens the archive in `dir` for writing, creating it if absent, and
    /// repairs what a crash left behind (see [`Archive::recovery`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<Archive, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err("mkdir", &dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        // Wait a little: a child forked by any thread of a process that just
        // closed the archive holds the lock until it execs.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked(dir.display().to_string()));
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
            }
        }
        let conn = Connection::open(dir.join(INDEX_FILE))?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='schema'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match version.as_deref().map(str::parse::<i64>) {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )?;
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
                    params![
                        ATTRIBUTION_KEY,
                        drift::series::ATTRIBUTION_VERSION.to_string()
                    ],
                )?;
            }
            Some(Ok(SCHEMA_VERSION)) => {}
            Some(Ok(v)) => return Err(StoreError::Schema(v)),
            Some(Err(_)) => return Err(StoreError::Schema(-1)),
        }
        fsync_new_dir(&dir)?;
        let mut a = Archive {
            dir,
            conn,
            read_only: false,
            _lock: Some(lock),
            next_seq: 0,
            sites: None,
            made_dirs: HashSet::new(),
            series_dirs: HashMap::new(),
            recovery: RecoveryReport::default(),
        };
        a.recovery = recover::run(&mut a)?;
        if !a.attribution_current()? {
            a.recovery.reattributed = a.reattribute()?;
        }
        let max: Option<i64> = a
            .conn
            .query_row("SELECT max(id) FROM snapshots", [], |r| r.get(0))?;
        a.next_seq = max.unwrap_or(0) as u64 + 1;
        Ok(a)
    }

    /// Opens an existing archive for reading while a writer may be adding
    /// to it. Does no recovery: an unindexed file stays invisible until a
    /// writer opens the archive.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Archive, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        let index = dir.join(INDEX_FILE);
        if !index.is_file() {
            return Err(StoreError::NotAnArchive(dir.display().to_string()));
        }
        let conn = Connection::open_with_flags(
            dir.join(INDEX_FILE),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        Ok(Archive {
            dir,
            conn,
            read_only: true,
            _lock: None,
            next_seq: 0,
            sites: None,
            made_dirs: HashSet::new(),
            series_dirs: HashMap::new(),
            recovery: RecoveryReport::default(),
        })
    }

    /// Runs several reads against one state of the index: a writer's
    /// commits in the meantime are not seen (WAL snapshot isolation). Not
    /// reentrant.
    pub fn consistent<T>(
        &self,
        f: impl FnOnce(&Archive) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.execute_batch("BEGIN DEFERRED")?;
        let r = f(self);
        let end = self
            .conn
            .execute_batch(if r.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let t = r?;
        end?;
        Ok(t)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the last [`Archive::open`] repaired.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            Err(StoreError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// The id of the target with this URL, registered if new.
    pub fn target(&mut self, url: &str) -> Result<TargetId, StoreError> {
        if let Some(id) = self
            .conn
            .query_row("SELECT id FROM targets WHERE url=?1", [url], |r| r.get(0))
            .optional()?
        {
            return Ok(TargetId(id));
        }
        self.writable()?;
        let base = layout::slug(url);
        let mut slug = base.clone();
        let mut n = 2;
        while self
            .conn
            .query_row("SELECT 1 FROM targets WHERE slug=?1", [&slug], |_| Ok(()))
            .optional()?
            .is_some()
        {
            slug = format!("{base}-{n}");
            n += 1;
        }
        self.conn.execute(
            "INSERT INTO targets(url, slug) VALUES(?1, ?2)",
            params![url, slug],
        )?;
        Ok(TargetId(self.conn.last_insert_rowid()))
    }

    pub fn targets(&self) -> Result<Vec<TargetInfo>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT id, url, slug FROM targets ORDER BY id")?;
        let rows = st.query_map([], |r| {
            Ok(TargetInfo {
                id: TargetId(r.get(0)?),
                url: r.get(1)?,
                slug: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Starts a series: the snapshots of one process lifetime. `reason` is
    /// "first" or why the process is thought to have restarted (for example
    /// [`crate::Continuity::describe`]).
    pub fn begin_series(
        &mut self,
        target: TargetId,
        started_at: i64,
        identity: &Identity,
        reason: &str,
    ) -> Result<SeriesId, StoreError> {
        self.writable()?;
        let json = serde_json::to_string(identity).unwrap_or_else(|_| "{}".into());
        self.conn.execute(
            "INSERT INTO series(target, started_at, build_id, main_binary, identity, restart_reason)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            params![target.0, started_at, identity.build_id, identity.main_binary, json, reason],
        )?;
        Ok(SeriesId(self.conn.last_insert_rowid()))
    }

    /// Replaces a series' stored identity (the latest one is the best to
    /// compare the next snapshot with after a restart of `watch`).
    pub fn set_identity(
        &mut self,
        series: SeriesId,
        identity: &Identity,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let json = serde_json::to_string(identity).unwrap_or_else(|_| "{}".into());
        let n = self.conn.execute(
            "UPDATE series SET identity=?2 WHERE id=?1",
            params![series.0, json],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "series",
                id: series.0,
            });
        }
        Ok(())
    }

    /// A target's series, oldest first.
    pub fn series(&self, target: TargetId) -> Result<Vec<SeriesInfo>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, target, started_at, identity, restart_reason FROM series
             WHERE target=?1 ORDER BY started_at, id",
        )?;
        let rows = st.query_map([target.0], |r| {
            let json: String = r.get(3)?;
            Ok(SeriesInfo {
                id: SeriesId(r.get(0)?),
                target: TargetId(r.get(1)?),
                started_at: r.get(2)?,
                identity: serde_json::from_str(&json).unwrap_or_default(),
                restart_reason: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn series_dir(&mut self, series: SeriesId) -> Result<String, StoreError> {
        if let Some(d) = self.series_dirs.get(&series.0) {
            return Ok(d.clone());
        }
        let slug: String = self
            .conn
            .query_row(
                "SELECT t.slug FROM series s JOIN targets t ON t.id = s.target WHERE s.id=?1",
                [series.0],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "series",
                id: series.0,
            })?;
        let d = format!("{slug}/{}", series.0);
        self.series_dirs.insert(series.0, d.clone());
        Ok(d)
    }

    /// Makes `rel` (and its parents) exist durably: each new directory's
    /// entry is fsynced in its parent.
    fn ensure_dir(&mut self, rel: &str) -> Result<PathBuf, StoreError> {
        let full = self.dir.join(rel);
        if self.made_dirs.contains(&full) {
            return Ok(full);
        }
        let mut cur = self.dir.clone();
        for part in rel.split('/') {
            let next = cur.join(part);
            if !next.is_dir() {
                fs::create_dir(&next)
                    .or_else(|e| if next.is_dir() { Ok(()) } else { Err(e) })
                    .map_err(io_err("mkdir", &next))?;
                layout::fsync_dir(&cur).map_err(io_err("sync", &cur))?;
            }
            cur = next;
        }
        self.made_dirs.insert(full.clone());
        Ok(full)
    }

    /// Stores a snapshot: its bytes verbatim as a file (atomically), then
    /// its index row, summary and per-site values in one transaction.
    /// When this returns Ok the snapshot is durable. If the index
    /// transaction fails after the rename, the file stays: the next
    /// [`Archive::open`] indexes it, so nothing taken is lost.
    pub fn put(
        &mut self,
        series: SeriesId,
        kind: Kind,
        taken_at: i64,
        fetch_nanos: Option<i64>,
        bytes: &[u8],
        summary: &Summary,
    ) -> Result<SnapshotId, StoreError> {
        self.writable()?;
        let rel_dir = format!("{}/{}", self.series_dir(series)?, kind.as_str());
        let dir = self.ensure_dir(&rel_dir)?;
        let ext = extension(kind, bytes);
        let name = loop {
            let name = layout::file_name(taken_at, self.next_seq, ext);
            self.next_seq += 1;
            match layout::write_atomic(&dir, &name, bytes) {
                Ok(()) => break name,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err("write", &dir.join(&name))(e)),
            }
        };
        let rel = format!("{rel_dir}/{name}");
        self.index(
            series,
            kind,
            taken_at,
            fetch_nanos,
            bytes.len() as i64,
            &rel,
            summary,
            "ok",
            false,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn index(
        &mut self,
        series: SeriesId,
        kind: Kind,
        taken_at: i64,
        fetch_nanos: Option<i64>,
        len: i64,
        rel: &str,
        s: &Summary,
        status: &str,
        recovered: bool,
    ) -> Result<SnapshotId, StoreError> {
        if !s.sites.is_empty() && self.sites.is_none() {
            self.load_sites()?;
        }
        let metrics = s
            .has_metric
            .iter()
            .enumerate()
            .fold(0i64, |m, (i, &b)| m | (i64::from(b) << i));
        let memstats = s.memstats.as_ref().map(|v| v.to_string());
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO snapshots(series, kind, taken_at, fetch_nanos, bytes, path, status, recovered,
                profile_time, inuse_space, inuse_objects, alloc_space, alloc_objects, goroutines, memstats, metrics)
             VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
            params![
                series.0,
                kind.as_str(),
                taken_at,
                fetch_nanos,
                len,
                rel,
                status,
                recovered,
                s.profile_time_nanos,
                s.inuse_space,
                s.inuse_objects,
                s.alloc_space,
                s.alloc_objects,
                s.goroutines,
                memstats,
                metrics
            ],
        )?;
        let id = tx.last_insert_rowid();
        let fresh = if s.sites.is_empty() {
            Vec::new()
        } else {
            let cache = self.sites.get_or_insert_with(HashMap::new);
            write_site_values(&tx, cache, id, &s.sites)?
        };
        if let Err(e) = tx.commit() {
            // The rows of new sites were rolled back with the rest.
            if let Some(cache) = self.sites.as_mut() {
                for k in &fresh {
                    cache.remove(k);
                }
            }
            return Err(e.into());
        }
        Ok(SnapshotId(id))
    }

    /// Whether the index's per-site values were attributed by this
    /// heapdrift's rules (`drift::series::ATTRIBUTION_VERSION`). When not,
    /// readers take the heap series from the files; a writer's
    /// [`Archive::open`] recomputes them.
    pub fn attribution_current(&self) -> Result<bool, StoreError> {
        Ok(stored_attribution(&self.conn)? == drift::series::ATTRIBUTION_VERSION)
    }

    /// Recomputes the per-site values of every heap snapshot whose file is
    /// there with the current attribution rules, then records their
    /// version. Returns how many snapshots were recomputed.
    fn reattribute(&mut self) -> Result<usize, StoreError> {
        self.load_sites()?;
        let infos: Vec<SnapshotInfo> = {
            let mut st = self.conn.prepare(
                "SELECT id, series, kind, taken_at, fetch_nanos, bytes, path, status, recovered, profile_time,
                    inuse_space, inuse_objects, alloc_space, alloc_objects, goroutines, memstats
                 FROM snapshots WHERE kind IN ('heap', 'heap_debug1') AND status='ok' ORDER BY id",
            )?;
            let mut rows = st.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(snapshot_row(r)?);
            }
            out
        };
        let opts = drift::series::SeriesOptions::default();
        let tx = self.conn.transaction()?;
        let cache = self.sites.get_or_insert_with(HashMap::new);
        let mut done = 0;
        for info in &infos {
            let path = self.dir.join(&info.path);
            // A file that vanished or no longer parses keeps its values.
            let Ok(bytes) = fs::read(&path) else { continue };
            let Ok(parsed) = profile::parse(&bytes, &profile::ParseOptions::default()) else {
                continue;
            };
            let summary = Summary::from_parsed(&parsed, &opts);
            tx.execute("DELETE FROM site_values WHERE snapshot=?1", [info.id.0])?;
            if !summary.sites.is_empty() {
                write_site_values(&tx, cache, info.id.0, &summary.sites)?;
            }
            done += 1;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
            params![
                ATTRIBUTION_KEY,
                drift::series::ATTRIBUTION_VERSION.to_string()
            ],
        )?;
        tx.commit()?;
        Ok(done)
    }

    fn load_sites(&mut self) -> Result<(), StoreError> {
        let mut map = HashMap::new();
        let mut st = self
            .conn
            .prepare("SELECT id, function, file, line FROM sites")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            map.insert((r.get(1)?, r.get(2)?, r.get(3)?), r.get(0)?);
        }
        drop(rows);
        drop(st);
        self.sites = Some(map);
        Ok(())
    }

    /// Records that `target` gave nothing (for `kind`, or at all) from
    /// `from_ns` to `to_ns`.
    pub fn record_gap(
        &mut self,
        target: TargetId,
        kind: Option<Kind>,
        from_ns: i64,
        to_ns: i64,
        reason: GapReason,
        message: &str,
    ) -> Result<(), StoreError> {
        self.writable()?;
        self.conn.execute(
            "INSERT INTO gaps(target, kind, from_ns, to_ns, reason, message) VALUES(?1,?2,?3,?4,?5,?6)",
            params![target.0, kind.map(Kind::as_str), from_ns, to_ns, reason.as_str(), message],
        )?;
        Ok(())
    }

    pub fn gaps(&self, target: TargetId) -> Result<Vec<Gap>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT target, kind, from_ns, to_ns, reason, message FROM gaps WHERE target=?1 ORDER BY from_ns, id",
        )?;
        let mut rows = st.query([target.0])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let kind: Option<String> = r.get(1)?;
            let reason: String = r.get(4)?;
            out.push(Gap {
                target: TargetId(r.get(0)?),
                kind: kind.as_deref().map(parse_kind).transpose()?,
                from_ns: r.get(2)?,
                to_ns: r.get(3)?,
                reason: GapReason::parse(&reason).ok_or(StoreError::UnknownKind(reason))?,
                message: r.get(5)?,
            });
        }
        Ok(out)
    }

    /// A series' snapshots of `kind` (all kinds if None), oldest first.
    pub fn snapshots(
        &self,
        series: SeriesId,
        kind: Option<Kind>,
    ) -> Result<Vec<SnapshotInfo>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, series, kind, taken_at, fetch_nanos, bytes, path, status, recovered, profile_time,
                inuse_space, inuse_objects, alloc_space, alloc_objects, goroutines, memstats
             FROM snapshots WHERE series=?1 AND (?2 IS NULL OR kind=?2) ORDER BY taken_at, id",
        )?;
        let mut rows = st.query(params![series.0, kind.map(Kind::as_str)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(snapshot_row(r)?);
        }
        Ok(out)
    }

    pub fn snapshot(&self, id: SnapshotId) -> Result<SnapshotInfo, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, series, kind, taken_at, fetch_nanos, bytes, path, status, recovered, profile_time,
                inuse_space, inuse_objects, alloc_space, alloc_objects, goroutines, memstats
             FROM snapshots WHERE id=?1",
        )?;
        let mut rows = st.query([id.0])?;
        match rows.next()? {
            Some(r) => snapshot_row(r),
            None => Err(StoreError::NotFound {
                what: "snapshot",
                id: id.0,
            }),
        }
    }

    /// The file of a snapshot, as a path on this machine.
    pub fn path(&self, info: &SnapshotInfo) -> PathBuf {
        self.dir.join(&info.path)
    }

    /// A snapshot's bytes, as fetched.
    pub fn read(&self, id: SnapshotId) -> Result<Vec<u8>, StoreError> {
        let p = self.path(&self.snapshot(id)?);
        fs::read(&p).map_err(io_err("open", &p))
    }

    /// Per-site heap values of `kind` over the given series, in order (pass
    /// a target's series to follow it across restarts; each series after
    /// the first starts a break). Reads only the index.
    pub fn heap_matrix(&self, series: &[SeriesId], kind: Kind) -> Result<HeapMatrix, StoreError> {
        let mut m = HeapMatrix::default();
        let mut local: HashMap<i64, usize> = HashMap::new();
        let mut global: Vec<i64> = Vec::new();
        let mut st = self.conn.prepare(
            "SELECT s.id, s.taken_at, s.profile_time, s.metrics, v.data FROM snapshots s
             JOIN site_values v ON v.snapshot = s.id
             WHERE s.series=?1 AND s.kind=?2 ORDER BY s.taken_at, s.id",
        )?;
        for (n, sid) in series.iter().enumerate() {
            let mut rows = st.query(params![sid.0, kind.as_str()])?;
            let mut first = true;
            while let Some(r) = rows.next()? {
                if first && n > 0 && !m.snapshots.is_empty() {
                    m.breaks.push(m.snapshots.len());
                }
                first = false;
                m.snapshots.push(SnapshotId(r.get(0)?));
                m.taken_at.push(r.get(1)?);
                m.profile_time.push(r.get(2)?);
                let metrics: i64 = r.get(3)?;
                for (i, h) in m.has_metric.iter_mut().enumerate() {
                    *h |= metrics & (1 << i) != 0;
                }
                let data = r.get_ref(4)?.as_blob().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Blob,
                        Box::new(e),
                    )
                })?;
                let mut row: Vec<[i64; 4]> = Vec::with_capacity(global.len());
                let ok = decode_sites(data, |site, v| {
                    let idx = *local.entry(site).or_insert_with(|| {
                        global.push(site);
                        global.len() - 1
                    });
                    if row.len() <= idx {
                        row.resize(idx + 1, [0; 4]);
                    }
                    row[idx] = v;
                });
                if !ok {
                    return Err(rusqlite::Error::InvalidColumnType(
                        4,
                        "site_values.data".into(),
                        rusqlite::types::Type::Blob,
                    )
                    .into());
                }
                m.rows.push(row);
            }
        }
        m.sites = self.site_infos(&global)?;
        Ok(m)
    }

    /// Site records in the order of `ids`.
    pub fn site_infos(&self, ids: &[i64]) -> Result<Vec<SiteInfo>, StoreError> {
        if ids.len() > 512 {
            // One scan beats thousands of point queries.
            let want: HashMap<i64, usize> =
                ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
            let mut slots: Vec<Option<SiteInfo>> = vec![None; ids.len()];
            let mut st = self
                .conn
                .prepare("SELECT id, function, file, line, user, stack FROM sites")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                if let Some(&i) = want.get(&id) {
                    slots[i] = Some(site_row(r)?);
                }
            }
            return slots
                .into_iter()
                .zip(ids)
                .map(|(s, &id)| s.ok_or(StoreError::NotFound { what: "site", id }))
                .collect();
        }
        let mut st = self.conn.prepare_cached(
            "SELECT id, function, file, line, user, stack FROM sites WHERE id=?1",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let info = st
                .query_row([id], site_row)
                .optional()?
                .ok_or(StoreError::NotFound { what: "site", id })?;
            out.push(info);
        }
        Ok(out)
    }
}

fn site_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SiteInfo> {
    let stack: String = r.get(5)?;
    Ok(SiteInfo {
        id: r.get(0)?,
        function: r.get(1)?,
        file: r.get(2)?,
        line: r.get(3)?,
        user: r.get(4)?,
        stack: serde_json::from_str(&stack).unwrap_or_default(),
    })
}

fn snapshot_row(r: &rusqlite::Row<'_>) -> Result<SnapshotInfo, StoreError> {
    let kind: String = r.get(2)?;
    let memstats: Option<String> = r.get(15)?;
    Ok(SnapshotInfo {
        id: SnapshotId(r.get(0)?),
        series: SeriesId(r.get(1)?),
        kind: parse_kind(&kind)?,
        taken_at: r.get(3)?,
        fetch_nanos: r.get(4)?,
        bytes: r.get(5)?,
        path: r.get(6)?,
        status: r.get(7)?,
        recovered: r.get(8)?,
        profile_time: r.get(9)?,
        inuse_space: r.get(10)?,
        inuse_objects: r.get(11)?,
        alloc_space: r.get(12)?,
        alloc_objects: r.get(13)?,
        goroutines: r.get(14)?,
        memstats: memstats.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// Makes the archive directory's own entry durable (its parent may be
/// where it was just created).
fn fsync_new_dir(dir: &Path) -> Result<(), StoreError> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        layout::fsync_dir(parent).map_err(io_err("sync", parent))?;
    }
    Ok(())
}

/// The attribution version of the index's per-site values. Archives from
/// before it was recorded were computed with version 1's rules.
fn stored_attribution(conn: &Connection) -> Result<u32, StoreError> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key=?1",
            [ATTRIBUTION_KEY],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(1))
}

/// Inserts the per-site values of snapshot `id`, interning new sites
/// (`cache` maps (function, file, line) to site ids). Returns the keys of
/// the sites inserted, to be forgotten if the transaction rolls back.
fn write_site_values(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut HashMap<SiteKey, i64>,
    id: i64,
    sites: &[crate::SiteValues],
) -> Result<Vec<SiteKey>, StoreError> {
    let mut fresh = Vec::new();
    let mut entries = Vec::with_capacity(sites.len());
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO sites(function, file, line, user, stack) VALUES(?1,?2,?3,?4,?5)",
        )?;
        for site in sites {
            let key = (site.function.clone(), site.file.clone(), site.line);
            let sid = match cache.get(&key) {
                Some(&sid) => sid,
                None => {
                    let stack = serde_json::to_string(&site.stack).unwrap_or_else(|_| "[]".into());
                    ins.execute(params![
                        site.function,
                        site.file,
                        site.line,
                        site.user,
                        stack
                    ])?;
                    let sid = tx.last_insert_rowid();
                    cache.insert(key.clone(), sid);
                    fresh.push(key);
                    sid
                }
            };
            entries.push((sid, site.values));
        }
    }
    let blob = encode_sites(&mut entries);
    tx.execute(
        "INSERT INTO site_values(snapshot, data) VALUES(?1, ?2)",
        params![id, blob],
    )?;
    Ok(fresh)
}
