//! The parts of an ELF64 little-endian file that Go's `cmd/internal/objfile`
//! reads (its `elfFile`): sections by name and type, the symbol table with
//! nm codes, program headers for the load address.

use std::borrow::Cow;
use std::io::Read;

use object::LittleEndian as LE;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};

use crate::{ObjError, Sym};

/// The most a compressed section may inflate to: DWARF of the largest Go
/// binaries is far below it, a zlib bomb stops there.
const MAX_INFLATED_SECTION: u64 = 1 << 30;

pub(crate) struct Section<'data> {
    pub name: &'data [u8],
    pub kind: u32,
    pub flags: u64,
    pub addr: u64,
    pub link: u32,
    header: &'data elf::SectionHeader64<LE>,
}

pub(crate) struct Segment {
    pub kind: u32,
    pub flags: u32,
    pub vaddr: u64,
    pub align: u64,
    pub offset: u64,
    pub filesz: u64,
}

pub(crate) struct Elf<'data> {
    data: &'data [u8],
    pub machine: u16,
    pub sections: Vec<Section<'data>>,
    pub segments: Vec<Segment>,
}

impl<'data> Elf<'data> {
    pub fn parse(data: &'data [u8]) -> Result<Self, ObjError> {
        let header = elf::FileHeader64::<LE>::parse(data).map_err(malformed)?;
        if !header.is_little_endian() {
            return Err(ObjError::Unsupported(
                "big-endian ELF is not supported".into(),
            ));
        }
        let endian = LE;
        let table = header.sections(endian, data).map_err(malformed)?;
        let mut sections = Vec::with_capacity(table.len());
        for section_header in table.iter() {
            let name = table
                .section_name(endian, section_header)
                .map_err(malformed)?;
            sections.push(Section {
                name,
                kind: section_header.sh_type(endian),
                flags: section_header.sh_flags(endian),
                addr: section_header.sh_addr(endian),
                link: section_header.sh_link(endian),
                header: section_header,
            });
        }
        let segments = header
            .program_headers(endian, data)
            .map_err(malformed)?
            .iter()
            .map(|p| Segment {
                kind: p.p_type(endian),
                flags: p.p_flags(endian),
                vaddr: p.p_vaddr(endian),
                align: p.p_align(endian),
                offset: p.p_offset(endian),
                filesz: p.p_filesz(endian),
            })
            .collect();
        Ok(Elf {
            data,
            machine: header.e_machine(endian),
            sections,
            segments,
        })
    }

    pub fn section(&self, name: &str) -> Option<&Section<'data>> {
        self.sections.iter().find(|s| s.name == name.as_bytes())
    }

    /// A section's contents, inflated if compressed (as Go's
    /// `Section.Data`). SHT_NOBITS reads as empty: nothing here needs its
    /// zeros.
    pub fn section_data(&self, section: &Section<'data>) -> Result<Cow<'data, [u8]>, ObjError> {
        let raw = section
            .header
            .data(LE, self.data)
            .map_err(|e| ObjError::Malformed(format!("section data: {e}")))?;
        decode_section(raw, section.flags)
    }

    /// A section's bytes as stored, compressed or not.
    pub fn raw_section_data(&self, section: &Section<'data>) -> Option<&'data [u8]> {
        section.header.data(LE, self.data).ok()
    }

    /// Go's `elfFile.symbols`: every entry of the first SHT_SYMTAB but the
    /// null one, unsorted, with nm's code from the section's flags
    /// (lower case for local symbols, so `?` becomes `_`, as in Go).
    pub fn symbols(&self) -> Result<Vec<Sym>, ObjError> {
        let Some(symtab) = self.sections.iter().find(|s| s.kind == elf::SHT_SYMTAB) else {
            return Err(ObjError::NoSymbols);
        };
        let data = self.section_data(symtab)?;
        if data.is_empty() {
            return Err(ObjError::NoSymbols);
        }
        const SYM_SIZE: usize = 24;
        if data.len() % SYM_SIZE != 0 {
            return Err(ObjError::Malformed(
                "length of symbol section is not a multiple of Sym64Size".into(),
            ));
        }
        let strings = match self.sections.get(symtab.link as usize) {
            Some(s) if s.kind == elf::SHT_STRTAB => self.section_data(s)?,
            _ => {
                return Err(ObjError::Malformed(
                    "cannot load string table section".into(),
                ));
            }
        };
        let mut syms = Vec::with_capacity(data.len() / SYM_SIZE - 1);
        for entry in data.chunks_exact(SYM_SIZE).skip(1) {
            let word = |at: usize| {
                u32::from_le_bytes([entry[at], entry[at + 1], entry[at + 2], entry[at + 3]])
            };
            let quad = |at: usize| u64::from(word(at)) | u64::from(word(at + 4)) << 32;
            let name_offset = word(0) as usize;
            let info = entry[4];
            let shndx = u16::from_le_bytes([entry[6], entry[7]]);
            let name = c_string(&strings, name_offset);
            let mut code = match shndx {
                elf::SHN_UNDEF => 'U',
                elf::SHN_COMMON => 'B',
                index => match self.sections.get(usize::from(index)) {
                    None => '?',
                    Some(sect) => {
                        let write = u64::from(elf::SHF_WRITE);
                        let alloc = u64::from(elf::SHF_ALLOC);
                        let exec = u64::from(elf::SHF_EXECINSTR);
                        match sect.flags & (write | alloc | exec) {
                            f if f == alloc | exec => 'T',
                            f if f == alloc => 'R',
                            f if f == alloc | write => {
                                if sect.kind == elf::SHT_NOBITS {
                                    'B'
                                } else {
                                    'D'
                                }
                            }
                            _ => '?',
                        }
                    }
                },
            };
            if info >> 4 == elf::STB_LOCAL {
                code = char::from(code as u8 + (b'a' - b'A'));
            }
            syms.push(Sym {
                name,
                addr: quad(8),
                size: quad(16) as i64,
                code,
            });
        }
        Ok(syms)
    }

    /// Go's `elfFile.loadAddress`: the first executable PT_LOAD, rounded
    /// down to its alignment.
    pub fn load_address(&self) -> Option<u64> {
        self.segments
            .iter()
            .find(|p| p.kind == elf::PT_LOAD && p.flags & elf::PF_X != 0)
            .map(|p| p.vaddr - p.vaddr.checked_rem(p.align).unwrap_or(p.vaddr))
    }

    /// Go's `elfFile.symbolData`: the bytes between two symbols' addresses,
    /// from the segment holding them.
    pub fn symbol_data(&self, syms: &[Sym], start: &str, end: &str) -> Option<Vec<u8>> {
        let (mut addr, mut eaddr) = (0, 0);
        for s in syms {
            if s.name == start {
                addr = s.addr;
            } else if s.name == end {
                eaddr = s.addr;
            }
            if addr != 0 && eaddr != 0 {
                break;
            }
        }
        if addr == 0 || eaddr < addr {
            return None;
        }
        let size = eaddr - addr;
        let last = addr.checked_add(size)?.checked_sub(1)?;
        for prog in &self.segments {
            let prog_last = prog.vaddr.wrapping_add(prog.filesz).wrapping_sub(1);
            if prog.vaddr <= addr && last <= prog_last {
                let start = prog.offset.checked_add(addr - prog.vaddr)?;
                let end = start.checked_add(size)?;
                return self
                    .data
                    .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
                    .map(<[u8]>::to_vec);
            }
        }
        None
    }
}

/// A section's stored bytes as its contents: inflated when its flags say
/// SHF_COMPRESSED (zlib only; Go's linker writes no other).
pub(crate) fn decode_section(raw: &[u8], flags: u64) -> Result<Cow<'_, [u8]>, ObjError> {
    if flags & u64::from(elf::SHF_COMPRESSED) == 0 {
        return Ok(Cow::Borrowed(raw));
    }
    let (chdr, body) = object::pod::from_bytes::<elf::CompressionHeader64<LE>>(raw)
        .map_err(|()| ObjError::Malformed("short compression header".into()))?;
    if chdr.ch_type.get(LE) != elf::ELFCOMPRESS_ZLIB {
        return Err(ObjError::Unsupported(format!(
            "section compression type {}",
            chdr.ch_type.get(LE)
        )));
    }
    let size = chdr.ch_size.get(LE);
    if size > MAX_INFLATED_SECTION {
        return Err(ObjError::Malformed(format!(
            "compressed section claims {size} bytes"
        )));
    }
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(size)
        .read_to_end(&mut out)
        .map_err(|e| ObjError::Malformed(format!("inflating section: {e}")))?;
    Ok(Cow::Owned(out))
}

/// The NUL-terminated string at `offset`, or "" as Go's `getString` gives
/// when the offset is out of range or no NUL follows.
fn c_string(table: &[u8], offset: usize) -> String {
    let Some(rest) = table.get(offset..) else {
        return String::new();
    };
    match rest.iter().position(|&b| b == 0) {
        Some(end) => String::from_utf8_lossy(&rest[..end]).into_owned(),
        None => String::new(),
    }
}

fn malformed(e: object::read::Error) -> ObjError {
    ObjError::Malformed(e.to_string())
}
