//! pprof's `list` report (`printSource` in `internal/report/source.go`).
//! Source files come through a caller-supplied reader, so the crate does no
//! I/O; the search-path and trim-path logic is pure path computation.

use std::collections::HashMap;
use std::io::Write;

use crate::graph::{Graph, NodeIdx, NodeOrder, go_clean};
use crate::measurement::percentage;
use crate::report::{Report, ReportError, trim_path};

/// Reads a whole file by path. `Err` carries the I/O error, whose kind
/// decides the message pprof would print.
pub type SourceReadFn<'a> = &'a dyn Fn(&str) -> std::io::Result<Vec<u8>>;

/// Go's `filepath.Join` for two elements.
fn go_join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        return go_clean(path);
    }
    if path.is_empty() {
        return go_clean(dir);
    }
    go_clean(&format!("{dir}/{path}"))
}

/// Go's `filepath.Dir`.
fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => go_clean(&path[..=i]),
        None => ".".to_string(),
    }
}

/// Go's `*PathError` text for a failed open.
fn open_error(path: &str, e: &std::io::Error) -> String {
    let msg = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => e.to_string(),
    };
    format!("open {path}: {msg}")
}

/// pprof's `openSourceFile`: the file's contents or pprof's error text.
pub fn open_source_file(
    read: SourceReadFn,
    path: &str,
    search_path: &str,
    trim: &str,
) -> Result<Vec<u8>, String> {
    let path = trim_path(path, trim, search_path);
    if path.starts_with('/') {
        return read(&path).map_err(|e| open_error(&path, &e));
    }
    let dirs: Vec<&str> = if search_path.is_empty() {
        Vec::new()
    } else {
        search_path.split(':').collect()
    };
    for dir in dirs {
        let mut dir = dir.to_string();
        loop {
            if let Ok(data) = read(&go_join(&dir, &path)) {
                return Ok(data);
            }
            let parent = go_dir(&dir);
            if parent == dir {
                break;
            }
            dir = parent;
        }
    }
    Err(format!("could not find file {path} on path {search_path}"))
}

/// pprof's `sourceReader`: caches files split into lines (1-based).
pub struct SourceReader<'a> {
    read: SourceReadFn<'a>,
    search_path: String,
    trim_path: String,
    files: HashMap<String, Vec<String>>,
    errors: HashMap<String, String>,
}

impl<'a> SourceReader<'a> {
    pub fn new(read: SourceReadFn<'a>, search_path: &str, trim_path: &str) -> Self {
        SourceReader {
            read,
            search_path: search_path.to_string(),
            trim_path: trim_path.to_string(),
            files: HashMap::new(),
            errors: HashMap::new(),
        }
    }

    pub fn file_error(&self, path: &str) -> Option<&str> {
        self.errors.get(path).map(String::as_str)
    }

    /// Line `lineno` of `path`, as `bufio.Scanner` splits lines.
    pub fn line(&mut self, path: &str, lineno: i64) -> Option<String> {
        if !self.files.contains_key(path) {
            let mut lines = vec![String::new()];
            match open_source_file(self.read, path, &self.search_path, &self.trim_path) {
                Err(e) => {
                    self.errors.insert(path.to_string(), e);
                }
                Ok(data) => {
                    let text = String::from_utf8_lossy(&data);
                    let mut parts: Vec<&str> = text.split('\n').collect();
                    if parts.last() == Some(&"") {
                        parts.pop();
                    }
                    lines.extend(
                        parts
                            .into_iter()
                            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string()),
                    );
                }
            }
            self.files.insert(path.to_string(), lines);
        }
        let lines = &self.files[path];
        if lineno <= 0 || lineno as usize >= lines.len() {
            return None;
        }
        Some(lines[lineno as usize].clone())
    }
}

struct SrcLine {
    text: String,
    lineno: i64,
    flat: i64,
    cum: i64,
}

/// pprof's `getSourceFromFile`: the lines around the nodes' lines.
fn source_from_file(
    g: &Graph,
    file: &str,
    reader: &mut SourceReader,
    fns: &[NodeIdx],
) -> Result<Vec<SrcLine>, String> {
    const MARGIN: i64 = 5;
    let first = &g.node(fns[0]).info;
    let mut start = if first.start_line != 0 {
        first.start_line
    } else {
        first.lineno - MARGIN
    };
    let mut end = first.lineno + MARGIN;
    let mut line_nodes: HashMap<i64, Vec<NodeIdx>> = HashMap::new();
    for &n in fns {
        let info = &g.node(n).info;
        let node_start = if info.start_line == 0 {
            info.lineno - MARGIN
        } else {
            info.start_line
        };
        let node_end = info.lineno + MARGIN;
        if node_start < start {
            start = node_start;
        } else if node_end > end {
            end = node_end;
        }
        line_nodes.entry(info.lineno).or_default().push(n);
    }
    start = start.max(1);
    let mut src = Vec::new();
    for lineno in start..=end {
        let Some(text) = reader.line(file, lineno) else {
            break;
        };
        let (mut flat, mut cum) = (0i64, 0i64);
        for &n in line_nodes.get(&lineno).map(Vec::as_slice).unwrap_or(&[]) {
            flat = flat.wrapping_add(g.node(n).flat);
            cum = cum.wrapping_add(g.node(n).cum);
        }
        src.push(SrcLine {
            text: text.trim_end_matches('\n').to_string(),
            lineno,
            flat,
            cum,
        });
    }
    if let Some(e) = reader.file_error(file) {
        return Err(e.to_string());
    }
    Ok(src)
}

impl Report {
    /// Where `list` and `weblist` read sources: `-source_path`, else the
    /// working directory (pprof's `newSourceReader`).
    pub(crate) fn source_reader<'a>(
        &self,
        read: SourceReadFn<'a>,
    ) -> Result<SourceReader<'a>, ReportError> {
        let o = &self.options;
        let search_path = if o.source_path.is_empty() {
            if o.working_dir.is_empty() {
                return Err(ReportError::NoWorkingDir);
            }
            &o.working_dir
        } else {
            &o.source_path
        };
        Ok(SourceReader::new(read, search_path, &o.trim_path))
    }

    pub(crate) fn value_or_dot(&self, v: i64) -> String {
        if v == 0 {
            ".".to_string()
        } else {
            self.format_value(v)
        }
    }

    /// The `list` report: annotated source of the functions matching
    /// `options.symbol`, reading files through `read`.
    pub fn print_source(
        &mut self,
        w: &mut dyn Write,
        read: SourceReadFn,
    ) -> Result<(), ReportError> {
        let g = self.graph_for_list();
        let sym = self.options.symbol.clone();
        let mut functions: Vec<NodeIdx> = Vec::new();
        let mut function_nodes: HashMap<&str, Vec<NodeIdx>> = HashMap::new();
        for &n in &g.nodes {
            let name = g.node(n).info.name.as_str();
            if !sym.as_ref().is_some_and(|rx| rx.is_match(name)) {
                continue;
            }
            let entry = function_nodes.entry(name).or_default();
            if entry.is_empty() {
                functions.push(n);
            }
            entry.push(n);
        }
        g.sort(&mut functions, NodeOrder::Name);
        if function_nodes.is_empty() {
            return Err(ReportError::NoMatches(
                sym.map(|r| r.as_str().to_string()).unwrap_or_default(),
            ));
        }
        let mut reader = self.source_reader(read)?;
        let mut out = String::new();
        out.push_str(&format!("Total: {}\n", self.format_value(self.total())));
        for &f in &functions {
            let name = g.node(f).info.name.as_str();
            let mut source_files: Vec<NodeIdx> = Vec::new();
            let mut file_nodes: HashMap<&str, Vec<NodeIdx>> = HashMap::new();
            for &n in &function_nodes[name] {
                let file = g.node(n).info.file.as_str();
                if file.is_empty() {
                    continue;
                }
                let entry = file_nodes.entry(file).or_default();
                if entry.is_empty() {
                    source_files.push(n);
                }
                entry.push(n);
            }
            if source_files.is_empty() {
                out.push_str(&format!("No source information for {name}\n"));
                continue;
            }
            g.sort(&mut source_files, NodeOrder::File);
            for &fl in &source_files {
                let filename = g.node(fl).info.file.as_str();
                let fns = &file_nodes[filename];
                let (mut flat_sum, mut cum_sum) = (0i64, 0i64);
                for &n in fns {
                    flat_sum = flat_sum.wrapping_add(g.node(n).flat);
                    cum_sum = cum_sum.wrapping_add(g.node(n).cum);
                }
                let src = source_from_file(&g, filename, &mut reader, fns);
                out.push_str(&format!(
                    "ROUTINE ======================== {name} in {filename}\n"
                ));
                out.push_str(&format!(
                    "{:>10} {:>10} (flat, cum) {} of Total\n",
                    self.format_value(flat_sum),
                    self.format_value(cum_sum),
                    percentage(cum_sum, self.total())
                ));
                match src {
                    Err(e) => out.push_str(&format!(" Error: {e}\n")),
                    Ok(lines) => {
                        for l in lines {
                            out.push_str(&format!(
                                "{:>10} {:>10} {:>6}:{}\n",
                                self.value_or_dot(l.flat),
                                self.value_or_dot(l.cum),
                                l.lineno,
                                l.text
                            ));
                        }
                    }
                }
            }
        }
        w.write_all(out.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(path: &str) -> std::io::Result<Vec<u8>> {
        match path {
            "/home/u/proj/pkg/a.go" => Ok(b"l1\r\nl2\nl3".to_vec()),
            "/abs/b.go" => Ok(b"x\n".to_vec()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        }
    }

    #[test]
    fn trim_paths() {
        let cases = [
            ("/some/path", "", "/some/path/a.go", "a.go"),
            ("/some/path", "", "/some/path/foo/a.go", "foo/a.go"),
            (
                "/some/path",
                "",
                "/some/other/path/a.go",
                "/some/other/path/a.go",
            ),
            // The search dir's base name ("path") is found in the file path.
            (
                "",
                "/my/project/path",
                "/some/path/project/a.go",
                "project/a.go",
            ),
            (
                "",
                "/my/project/path:/not/found",
                "/some/path/project/a.go",
                "project/a.go",
            ),
            ("/some/path", "/my/project/path", "/some/path/a.go", "a.go"),
            ("", "", "/proc/self/cwd/./a.go", "a.go"),
            ("", "", "/proc/self/cwd/a.go", "a.go"),
        ];
        for (trim, search, input, want) in cases {
            assert_eq!(trim_path(input, trim, search), want, "{input}");
        }
    }

    #[test]
    fn open_source_file_pprof_cases() {
        // pprof's TestOpenSourceFile, over an in-memory file system at /d.
        type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a str, Option<&'a str>);
        let cases: [Case; 7] = [
            (
                "",
                "",
                &["foo/bar.cc"],
                "/d/foo/bar.cc",
                Some("/d/foo/bar.cc"),
            ),
            (
                "/d",
                "",
                &["foo/bar.cc"],
                "foo/bar.cc",
                Some("/d/foo/bar.cc"),
            ),
            (
                "some/path:/d",
                "",
                &["foo/bar.cc"],
                "foo/bar.cc",
                Some("/d/foo/bar.cc"),
            ),
            (
                "/d/foo/bar",
                "",
                &["bar.cc", "foo/bar/baz.cc"],
                "bar.cc",
                Some("/d/bar.cc"),
            ),
            (
                "/d",
                "some-path:/some/remote/path",
                &["my-project/foo/bar.cc"],
                "/some/remote/path/my-project/foo/bar.cc",
                Some("/d/my-project/foo/bar.cc"),
            ),
            (
                "/d/my-project",
                "",
                &["my-project/foo/bar.cc"],
                "/some/remote/path/my-project/foo/bar.cc",
                Some("/d/my-project/foo/bar.cc"),
            ),
            ("", "", &[], "foo.cc", None),
        ];
        for (search, trim, files, path, want) in cases {
            let files: Vec<String> = files.iter().map(|f| format!("/d/{f}")).collect();
            let read = |p: &str| -> std::io::Result<Vec<u8>> {
                if files.iter().any(|f| f == p) {
                    Ok(p.as_bytes().to_vec())
                } else {
                    Err(std::io::ErrorKind::NotFound.into())
                }
            };
            let got = open_source_file(&read, path, search, trim).ok();
            assert_eq!(
                got.as_deref(),
                want.map(str::as_bytes),
                "{path} in {search}"
            );
        }
    }

    #[test]
    fn open_via_search_path() {
        // Relative paths are tried under each search dir and its parents.
        assert_eq!(
            open_source_file(&fs, "pkg/a.go", "/home/u/proj/sub/dir", "").unwrap(),
            b"l1\r\nl2\nl3"
        );
        assert_eq!(
            open_source_file(&fs, "/abs/b.go", "/x", "").unwrap(),
            b"x\n"
        );
        assert_eq!(
            open_source_file(&fs, "/abs/c.go", "/x", "").unwrap_err(),
            "open /abs/c.go: no such file or directory"
        );
        assert_eq!(
            open_source_file(&fs, "q.go", "/x:/y", "").unwrap_err(),
            "could not find file q.go on path /x:/y"
        );
        let mut r = SourceReader::new(&fs, "/home/u/proj", "");
        assert_eq!(r.line("pkg/a.go", 1).as_deref(), Some("l1"));
        assert_eq!(r.line("pkg/a.go", 3).as_deref(), Some("l3"));
        assert_eq!(r.line("pkg/a.go", 4), None);
        assert_eq!(r.line("pkg/a.go", 0), None);
        assert!(r.file_error("pkg/a.go").is_none());
    }
}
