//! Local binaries for `heapdrift pprof`, as cmd/pprof's `objTool` opens
//! them (Go's own object file reader, not binutils): the file I/O around
//! the pure `objfile` crate, behind `report::obj::ObjTool`, and pprof's
//! search for a mapping's binary (`locateBinaries`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use objfile::ObjFile;
use profile::Profile;
use report::obj::{Frame, Inst, Sym};

/// Opens binaries from the file system; each file is read and parsed once
/// (symbolization, `-disasm` and the search all open the same few).
#[derive(Default)]
pub struct LocalBinaries {
    parsed: Mutex<HashMap<String, Arc<ObjFile>>>,
}

impl std::fmt::Debug for LocalBinaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBinaries")
            .field("parsed", &self.lock().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl LocalBinaries {
    /// `name` parsed, or the message of Go's `objfile.Open`.
    fn load(&self, name: &str) -> Result<Arc<ObjFile>, String> {
        if let Some(f) = self.lock().get(name) {
            return Ok(f.clone());
        }
        let unrecognized = || format!("open {name}: unrecognized object file");
        let data = match std::fs::read(name) {
            Ok(d) => d,
            // Go opens a directory, then recognizes no format in it.
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => return Err(unrecognized()),
            Err(e) => return Err(profile::PathError::new("open", name, e).to_string()),
        };
        let f = Arc::new(ObjFile::parse(&data).map_err(|_| unrecognized())?);
        self.lock().insert(name.to_string(), f.clone());
        Ok(f)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ObjFile>>> {
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `name` opens as a binary (pprof's test for a first argument).
    pub fn opens(&self, name: &str) -> bool {
        self.load(name).is_ok()
    }
}

/// The process's reader: the sources, symbolization and every report of a
/// run (or shell session) share what it has parsed.
pub fn shared() -> Arc<LocalBinaries> {
    static SHARED: std::sync::OnceLock<Arc<LocalBinaries>> = std::sync::OnceLock::new();
    SHARED.get_or_init(Arc::default).clone()
}

/// A binary opened for one mapping.
struct Opened {
    name: String,
    file: Arc<ObjFile>,
    /// Runtime address minus file address.
    offset: u64,
}

impl report::obj::ObjFile for Opened {
    fn build_id(&self) -> String {
        // Go's objTool never reads build IDs.
        String::new()
    }

    fn obj_addr(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.offset)
    }

    fn source_line(&self, addr: u64) -> Result<Vec<Frame>, String> {
        let addr = self.obj_addr(addr);
        match self.file.source_line(addr) {
            Ok(Some(l)) => Ok(vec![Frame {
                func: l.func,
                file: l.file,
                line: l.line,
            }]),
            Ok(None) => Err(format!("no line information for PC={addr:#x}")),
            Err(e) => Err(e.to_string()),
        }
    }

    fn symbols(&self, matches: &dyn Fn(&str) -> bool, addr: u64) -> Result<Vec<Sym>, String> {
        let syms = self
            .file
            .pprof_symbols(matches, addr)
            .map_err(|e| e.to_string())?;
        Ok(syms
            .into_iter()
            .map(|s| Sym {
                name: s.name,
                file: self.name.clone(),
                start: s.start,
                end: s.end,
            })
            .collect())
    }
}

impl report::obj::ObjTool for LocalBinaries {
    fn open(
        &self,
        name: &str,
        start: u64,
        _limit: u64,
        _offset: u64,
    ) -> Result<Box<dyn report::obj::ObjFile>, String> {
        let file = self.load(name)?;
        let offset = file.mapping_offset(start);
        Ok(Box::new(Opened {
            name: name.to_string(),
            file,
            offset,
        }))
    }

    fn disasm(&self, file: &str, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>, String> {
        if intel {
            return Err("printing assembly in Intel syntax is not supported".into());
        }
        let f = self.load(file)?;
        let insts = f.disasm(start, end).map_err(|e| e.to_string())?;
        Ok(insts
            .into_iter()
            .map(|i| Inst {
                addr: i.addr,
                file: i.file,
                line: i.line,
                text: i.text,
            })
            .collect())
    }
}

/// pprof's `locateBinaries` search: for each mapping, the first candidate
/// file under `PPROF_BINARY_PATH` (default `$HOME/pprof/binaries`) that
/// opens becomes its file, unless the mapping has a build ID the file does
/// not match (always, with Go's reader, which reads no build ID: pprof then
/// says it ignores the file). Messages go to `notes`.
pub fn search_mappings(
    p: &mut Profile,
    search_path: &str,
    tool: &LocalBinaries,
    notes: &mut Vec<String>,
) {
    'mapping: for m in &mut p.mappings {
        let (file, base, dir) = if m.file.is_empty() {
            (String::new(), String::new(), String::new())
        } else {
            (m.file.clone(), go_base(&m.file), go_dir(&m.file))
        };
        for path in search_path.split(':') {
            let mut names = Vec::new();
            if !m.build_id.is_empty() {
                let id = &m.build_id;
                names.push(go_join(&[path, id, &base]));
                names.extend(glob_dir(&go_join(&[path, id])));
                names.push(go_join(&[path, &file, id]));
                if id.len() >= 2 && id.is_char_boundary(2) {
                    names.push(go_join(&[path, &id[..2], &format!("{}.debug", &id[2..])]));
                }
            }
            if !m.file.is_empty() {
                names.push(go_join(&[path, &base]));
                names.push(go_join(&[path, &file]));
                names.push(go_join(&[path, &format!("{file}.debug")]));
                names.push(go_join(&[path, &dir, ".debug", &format!("{base}.debug")]));
                names.push(go_join(&[
                    path,
                    "usr",
                    "lib",
                    "debug",
                    &dir,
                    &format!("{base}.debug"),
                ]));
            }
            for name in names {
                if !tool.opens(&name) {
                    continue;
                }
                if !m.build_id.is_empty() {
                    notes.push(format!(
                        "Ignoring local file {name}: build-id mismatch ({} != )",
                        m.build_id
                    ));
                } else {
                    m.file = name;
                    continue 'mapping;
                }
            }
        }
    }
}

/// The search path pprof uses: `PPROF_BINARY_PATH`, else
/// `$HOME/pprof/binaries`.
pub fn search_path_from_env() -> String {
    match std::env::var("PPROF_BINARY_PATH") {
        Ok(p) if !p.is_empty() => p,
        _ => go_join(&[
            &std::env::var("HOME").unwrap_or_default(),
            "pprof",
            "binaries",
        ]),
    }
}

/// Go's `filepath.Glob(dir + "/*")`: the entries of `dir`, sorted, hidden
/// ones included.
fn glob_dir(dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(if dir.is_empty() { "." } else { dir }) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().map(|n| go_join(&[dir, &n])).collect()
}

/// Go's `filepath.Join`: the non-empty elements joined by `/`, cleaned.
fn go_join(parts: &[&str]) -> String {
    let joined: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    if joined.is_empty() {
        return String::new();
    }
    report::graph::go_clean(&joined.join("/"))
}

fn go_base(path: &str) -> String {
    report::graph::go_base(path)
}

/// Go's `filepath.Dir`.
fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => report::graph::go_clean(&path[..=i]),
        None => ".".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_go() {
        assert_eq!(go_join(&["/bin", "/tmp/x/prog"]), "/bin/tmp/x/prog");
        assert_eq!(go_join(&["", "a"]), "a");
        assert_eq!(go_join(&["d", "", "b"]), "d/b");
        assert_eq!(go_dir("/tmp/x/prog"), "/tmp/x");
        assert_eq!(go_dir("prog"), ".");
    }

    #[test]
    fn missing_and_unrecognized_files_read_like_go() {
        let t = LocalBinaries::default();
        assert_eq!(
            t.load("/nonexistent/prog").err().unwrap(),
            "open /nonexistent/prog: no such file or directory"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("text");
        std::fs::write(&f, b"not a binary").unwrap();
        let name = f.to_str().unwrap();
        assert_eq!(
            t.load(name).err().unwrap(),
            format!("open {name}: unrecognized object file")
        );
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            t.load(d).err().unwrap(),
            format!("open {d}: unrecognized object file")
        );
    }
}
