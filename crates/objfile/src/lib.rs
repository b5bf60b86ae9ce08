//! Go binaries as `go tool pprof` reads them (its `objTool`, over Go's
//! `cmd/internal/objfile`, `cmd/internal/disasm`, `debug/gosym` and
//! `debug/dwarf`), not as GNU binutils would: symbols with nm codes, the
//! load address, source lines from the pclntab with a DWARF fallback for C
//! code, and x86-64 disassembly in Go's assembler syntax.
//!
//! Pure: bytes in, values out. ELF64 little-endian only; disassembly only
//! for x86-64.

mod dwarf;
mod elf;
mod gosort;
mod pclntab;
mod x86;

use std::sync::OnceLock;

use pclntab::LineTable;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjError {
    #[error("malformed object file: {0}")]
    Malformed(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("no symbol section")]
    NoSymbols,
    #[error("text section not found")]
    NoText,
    #[error("unknown load address")]
    UnknownLoadAddress,
}

/// A symbol as Go's objfile lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    pub name: String,
    /// Virtual address.
    pub addr: u64,
    pub size: i64,
    /// nm's code: `T` text, `D` data, `B` bss, `R` read-only, `U`
    /// undefined, lower case when local, `?` (`_` when local) otherwise.
    pub code: char,
}

/// A symbol as pprof's `file.Symbols` reports it: an inclusive range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymRange {
    pub name: String,
    pub start: u64,
    pub end: u64,
}

/// One decoded instruction, as pprof's `objTool.Disasm` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inst {
    pub addr: u64,
    pub size: u64,
    /// From the pclntab; "" and 0 outside Go functions.
    pub file: String,
    pub line: i64,
    /// Go assembler syntax, as `go tool objdump` prints it.
    pub text: String,
}

/// A source position: function, file, line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub func: String,
    pub file: String,
    pub line: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
    /// Another ELF machine number.
    Other(u16),
}

pub struct ObjFile {
    arch: Arch,
    load_address: Option<u64>,
    /// Sorted by address; Go's `Entry.Symbols`.
    symbols: Result<Vec<Sym>, ObjError>,
    /// Go's `Entry.PCLineTable`: an error when the table cannot be read,
    /// `None` when it is no Go 1.2+ table (gosym then knows no function).
    line_table: Result<Option<LineTable>, ObjError>,
    text: Result<(u64, Vec<u8>), ObjError>,
    dwarf_sections: dwarf::Sections,
    dwarf: OnceLock<Option<dwarf::Lines>>,
}

impl ObjFile {
    /// Reads an ELF64 little-endian file. Parts that cannot be read
    /// (symbols, line table, text) fail the calls that need them, as in Go.
    pub fn parse(data: &[u8]) -> Result<ObjFile, ObjError> {
        let elf = elf::Elf::parse(data)?;
        let arch = match elf.machine {
            object::elf::EM_X86_64 => Arch::X86_64,
            object::elf::EM_AARCH64 => Arch::Arm64,
            other => Arch::Other(other),
        };
        let raw_symbols = elf.symbols();
        let line_table = read_line_table(&elf, raw_symbols.as_ref().ok());
        let text = match elf.section(".text") {
            None => Err(ObjError::NoText),
            Some(s) => elf.section_data(s).map(|d| (s.addr, d.into_owned())),
        };
        let symbols = raw_symbols.map(|mut syms| {
            gosort::sort_by(&mut syms, |a, b| a.addr < b.addr);
            syms
        });
        Ok(ObjFile {
            arch,
            load_address: elf.load_address(),
            symbols,
            line_table,
            text,
            dwarf_sections: dwarf::Sections::read(&elf),
            dwarf: OnceLock::new(),
        })
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The address the file expects to be loaded at: the first executable
    /// segment's, aligned down (differs from the real one for PIE).
    pub fn load_address(&self) -> Result<u64, ObjError> {
        self.load_address.ok_or(ObjError::UnknownLoadAddress)
    }

    /// pprof's offset for a mapping starting at `start`: what to subtract
    /// from a runtime address to get the file's (0 when `start` is 0 or the
    /// load address unknown).
    pub fn mapping_offset(&self, start: u64) -> u64 {
        match (start, self.load_address) {
            (0, _) | (_, None) => 0,
            (start, Some(load)) => start.wrapping_sub(load),
        }
    }

    /// All symbols, sorted by address.
    pub fn symbols(&self) -> Result<&[Sym], ObjError> {
        self.symbols.as_deref().map_err(Clone::clone)
    }

    /// pprof's `file.Symbols`: symbols whose name `matches` and, unless
    /// `addr` is 0, that hold `addr`; zero-address, zero-size ones (ELF
    /// STT_FILE) skipped.
    pub fn pprof_symbols(
        &self,
        matches: impl Fn(&str) -> bool,
        addr: u64,
    ) -> Result<Vec<SymRange>, ObjError> {
        Ok(self
            .symbols()?
            .iter()
            .filter(|s| !(s.addr == 0 && s.size == 0))
            .filter(|s| {
                matches(&s.name)
                    && (addr == 0 || s.addr <= addr && addr < s.addr.wrapping_add(s.size as u64))
            })
            .map(|s| SymRange {
                name: s.name.clone(),
                start: s.addr,
                end: s.addr.wrapping_add(s.size as u64).wrapping_sub(1),
            })
            .collect())
    }

    /// gosym's `Table.PCToLine`, as `go tool addr2line` prints it: `None`
    /// when no Go function holds `pc`; file "" and line -1 when the
    /// function's tables do not say.
    pub fn go_line(&self, pc: u64) -> Result<Option<SourceLine>, ObjError> {
        let table = self.line_table.as_ref().map_err(Clone::clone)?;
        Ok(table.as_ref().and_then(|t| {
            t.pc_to_line(pc).map(|(func, file, line)| SourceLine {
                func: t.func_name(func),
                file,
                line,
            })
        }))
    }

    /// pprof's `file.SourceLine` for an address in the file (a runtime
    /// address less `mapping_offset`): the Go pclntab first, then DWARF
    /// for C code. `None` where pprof reports no line information.
    pub fn source_line(&self, addr: u64) -> Result<Option<SourceLine>, ObjError> {
        if let Some(line) = self.go_line(addr)? {
            return Ok(Some(line));
        }
        let lines = self.dwarf.get_or_init(|| self.dwarf_sections.load());
        Ok(lines.as_ref().and_then(|d| d.source_line(addr)))
    }

    /// Go's `Disasm.Decode` over `[start, end)` (clamped to .text), as
    /// pprof's `objTool.Disasm` calls it.
    pub fn disasm(&self, start: u64, end: u64) -> Result<Vec<Inst>, ObjError> {
        let symbols = self.symbols()?;
        let table = self.line_table.as_ref().map_err(Clone::clone)?;
        let (text_start, text) = self.text.as_ref().map_err(Clone::clone)?;
        if self.arch != Arch::X86_64 {
            return Err(ObjError::Unsupported(format!(
                "disassembly for {:?}",
                self.arch
            )));
        }
        let text_start = *text_start;
        let text_end = text_start + text.len() as u64;
        let start = start.max(text_start);
        let end = end.min(text_end);
        if end <= start {
            return Ok(Vec::new());
        }
        // Go's lookup ignores the section-boundary symbols.
        let lookup_syms: Vec<&Sym> = symbols
            .iter()
            .filter(|s| {
                !matches!(
                    s.name.as_str(),
                    "runtime.text" | "text" | "_text" | "runtime.etext" | "etext" | "_etext"
                )
            })
            .collect();
        let lookup = |addr: u64| -> Option<(&str, u64)> {
            let i = lookup_syms.partition_point(|s| s.addr <= addr);
            let s = lookup_syms.get(i.checked_sub(1)?)?;
            (s.addr != 0 && s.addr <= addr && addr < s.addr.wrapping_add(s.size as u64))
                .then_some((s.name.as_str(), s.addr))
        };
        // Decoding sees no byte at or past `end`, as in Go.
        let code = &text[..(end - text_start) as usize];
        let mut insts = Vec::new();
        let mut pc = start;
        while pc < end {
            let at = (pc - text_start) as usize;
            let (text, size) = x86::go_syntax(&code[at..], pc, &lookup);
            let (file, line) = match table.as_ref().and_then(|t| t.pc_to_line(pc)) {
                Some((_, file, line)) => (file, line),
                None => (String::new(), 0),
            };
            insts.push(Inst {
                addr: pc,
                size: size as u64,
                file,
                line,
                text,
            });
            pc += size as u64;
        }
        Ok(insts)
    }
}

/// Sorts as Go's `slices.SortFunc` and `sort.Slice` do, equal elements
/// included: for reproducing orders of Go tools that sort unstably.
pub fn go_sort_by<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    gosort::sort_by(data, less);
}

/// Go's `Entry.PCLineTable` for ELF: .gopclntab (or the PIE name, or the
/// bytes between runtime.pclntab and runtime.epclntab), with text starting
/// at runtime.text if there is such a symbol.
fn read_line_table(
    elf: &elf::Elf<'_>,
    symbols: Option<&Vec<Sym>>,
) -> Result<Option<LineTable>, ObjError> {
    let mut text_start = elf.section(".text").map_or(0, |s| s.addr);
    let section = elf
        .section(".gopclntab")
        .or_else(|| elf.section(".data.rel.ro.gopclntab"));
    let data = match section {
        Some(s) => elf.section_data(s)?.into_owned(),
        None => symbols
            .and_then(|syms| elf.symbol_data(syms, "runtime.pclntab", "runtime.epclntab"))
            .unwrap_or_default(),
    };
    if let Some(s) = symbols.and_then(|syms| syms.iter().find(|s| s.name == "runtime.text")) {
        text_start = s.addr;
    }
    Ok(LineTable::new(data, text_start))
}
