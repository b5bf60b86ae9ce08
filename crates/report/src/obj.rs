//! The binaries behind a profile, as pprof's `plugin.ObjTool` and
//! `plugin.ObjFile` see them: symbolization, `-disasm` and `weblist` ask
//! them for source lines, symbols and instructions. This crate does no I/O,
//! so the caller provides the tool (heapdrift opens files through its
//! `objfile` crate); [`NoBinaries`] stands in where no binary is read.

/// One source position of an address (pprof's `plugin.Frame`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub func: String,
    pub file: String,
    pub line: i64,
}

/// A symbol of a binary: an inclusive address range (pprof's `plugin.Sym`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    pub name: String,
    /// The binary it came from, for [`ObjTool::disasm`].
    pub file: String,
    pub start: u64,
    pub end: u64,
}

/// One disassembled instruction (pprof's `plugin.Inst`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inst {
    pub addr: u64,
    pub file: String,
    pub line: i64,
    pub text: String,
}

/// An opened binary, mapped at some runtime address.
pub trait ObjFile {
    /// The build ID the file carries ("" when the tool cannot tell, as
    /// Go's own tool never can).
    fn build_id(&self) -> String;
    /// The file's address for a runtime address.
    fn obj_addr(&self, addr: u64) -> u64;
    /// The source lines of a runtime address, innermost first.
    fn source_line(&self, addr: u64) -> Result<Vec<Frame>, String>;
    /// The symbols whose name `matches` and, unless `addr` is 0, that hold
    /// file address `addr`.
    fn symbols(&self, matches: &dyn Fn(&str) -> bool, addr: u64) -> Result<Vec<Sym>, String>;
}

/// Opens binaries and disassembles them.
pub trait ObjTool: Sync {
    /// Opens `name` for a mapping of `[start, limit)` at file `offset`.
    /// The error is the message pprof prints (`open X: ...`).
    fn open(
        &self,
        name: &str,
        start: u64,
        limit: u64,
        offset: u64,
    ) -> Result<Box<dyn ObjFile>, String>;
    /// The instructions of `file` in `[start, end)` (file addresses).
    fn disasm(&self, file: &str, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>, String>;
}

/// For views that read no binary: opening one fails.
pub struct NoBinaries;

impl ObjTool for NoBinaries {
    fn open(&self, name: &str, _: u64, _: u64, _: u64) -> Result<Box<dyn ObjFile>, String> {
        Err(format!("open {name}: binaries are not read here"))
    }

    fn disasm(&self, file: &str, _: u64, _: u64, _: bool) -> Result<Vec<Inst>, String> {
        Err(format!("open {file}: binaries are not read here"))
    }
}
