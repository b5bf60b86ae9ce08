//! DWARF line lookup for C code (pprof's `dwarfSourceLine`).

use crate::SourceLine;

#[derive(Default)]
pub(crate) struct Sections {}

impl Sections {
    pub fn read(_elf: &crate::elf::Elf<'_>) -> Self {
        Sections {}
    }

    pub fn load(&self) -> Option<Lines> {
        None
    }
}

pub(crate) struct Lines {}

impl Lines {
    pub fn source_line(&self, _addr: u64) -> Option<SourceLine> {
        None
    }
}
