//! pprof's `dwarfSourceLine`, for addresses no Go function holds (C code
//! in cgo binaries): the compilation unit whose ranges hold the address,
//! the line row covering it, and the name of the first subprogram from
//! that unit on (Go's reader runs on into later units) whose ranges hold
//! it. Go's `debug/dwarf` file names: relative names joined to their
//! directory as `path.Join` would.

use gimli::{EndianSlice, LittleEndian};

use crate::SourceLine;
use crate::elf::Elf;

type Slice<'a> = EndianSlice<'a, LittleEndian>;

const SECTIONS: [&str; 10] = [
    ".debug_info",
    ".debug_abbrev",
    ".debug_line",
    ".debug_str",
    ".debug_line_str",
    ".debug_ranges",
    ".debug_rnglists",
    ".debug_addr",
    ".debug_str_offsets",
    ".debug_aranges",
];

/// The DWARF sections as stored (maybe compressed): inflating waits for
/// the first lookup that needs them.
#[derive(Default)]
pub(crate) struct Sections {
    raw: Vec<(&'static str, Vec<u8>, u64)>,
}

impl Sections {
    pub fn read(elf: &Elf<'_>) -> Self {
        let raw = SECTIONS
            .iter()
            .filter_map(|&name| {
                let section = elf.section(name)?;
                let bytes = elf.raw_section_data(section)?;
                Some((name, bytes.to_vec(), section.flags))
            })
            .collect();
        Sections { raw }
    }

    /// The inflated sections; `None` without .debug_info or when a section
    /// cannot be read (pprof then has no DWARF either).
    pub fn load(&self) -> Option<Lines> {
        let mut sections = Vec::with_capacity(self.raw.len());
        for (name, raw, flags) in &self.raw {
            let data = crate::elf::decode_section(raw, *flags).ok()?.into_owned();
            sections.push((*name, data));
        }
        sections
            .iter()
            .any(|(n, _)| *n == ".debug_info")
            .then_some(Lines { sections })
    }
}

pub(crate) struct Lines {
    sections: Vec<(&'static str, Vec<u8>)>,
}

impl Lines {
    fn dwarf(&self) -> gimli::Dwarf<Slice<'_>> {
        let section = |id: gimli::SectionId| -> Result<Slice<'_>, ()> {
            let data = self
                .sections
                .iter()
                .find(|(n, _)| *n == id.name())
                .map_or(&[][..], |(_, d)| d.as_slice());
            Ok(EndianSlice::new(data, LittleEndian))
        };
        // The closure cannot fail.
        gimli::Dwarf::load(section).unwrap_or_default()
    }

    pub fn source_line(&self, addr: u64) -> Option<SourceLine> {
        let dwarf = self.dwarf();
        let mut headers = dwarf.units();
        let mut units = Vec::new();
        let mut found = None;
        while let Ok(Some(header)) = headers.next() {
            let Ok(unit) = dwarf.unit(header) else {
                // Go's reader stops at a unit it cannot read.
                break;
            };
            if found.is_none() && unit_holds(&dwarf, &unit, addr) {
                found = Some(units.len());
            }
            units.push(unit);
            // Units before the one found are not needed.
            if found.is_none() {
                units.clear();
            }
        }
        let unit = units.first()?;
        let (file, line) = line_for(&dwarf, unit, addr)?;
        let func = subprogram_name(&dwarf, &units, addr)?;
        Some(SourceLine { func, file, line })
    }
}

fn unit_holds(dwarf: &gimli::Dwarf<Slice<'_>>, unit: &gimli::Unit<Slice<'_>>, addr: u64) -> bool {
    let Ok(mut ranges) = dwarf.unit_ranges(unit) else {
        return false;
    };
    while let Ok(Some(r)) = ranges.next() {
        if r.begin <= addr && addr < r.end {
            return true;
        }
    }
    false
}

/// The row covering `addr` in the unit's line program, as Go's
/// `LineReader.SeekPC`: file (Go's full name) and line.
fn line_for(
    dwarf: &gimli::Dwarf<Slice<'_>>,
    unit: &gimli::Unit<Slice<'_>>,
    addr: u64,
) -> Option<(String, i64)> {
    let program = unit.line_program.clone()?;
    let comp_dir = unit
        .comp_dir
        .map(|d| String::from_utf8_lossy(d.slice()).into_owned())
        .unwrap_or_default();
    let mut rows = program.rows();
    // Go's LineReader.SeekPC: one pass in table order, not per sequence:
    // the table must not start past `addr`, and the answer is the row
    // before the first row past `addr`, unless that row ends a sequence.
    let (_, first) = rows.next_row().ok()??;
    if first.address() > addr {
        return None;
    }
    let mut entry = (
        first.address(),
        first.file_index(),
        first.line().map_or(0, |l| l.get()),
        first.end_sequence(),
    );
    while let Some((header, row)) = rows.next_row().ok()? {
        if row.address() > addr {
            if entry.3 {
                return None;
            }
            let name = file_name(dwarf, unit, header, entry.1, &comp_dir)?;
            return Some((name, entry.2 as i64));
        }
        entry = (
            row.address(),
            row.file_index(),
            row.line().map_or(0, |l| l.get()),
            row.end_sequence(),
        );
    }
    None
}

fn attr_string(
    dwarf: &gimli::Dwarf<Slice<'_>>,
    unit: &gimli::Unit<Slice<'_>>,
    value: gimli::AttributeValue<Slice<'_>>,
) -> Option<String> {
    let s = dwarf.attr_string(unit, value).ok()?;
    Some(String::from_utf8_lossy(s.slice()).into_owned())
}

fn file_name(
    dwarf: &gimli::Dwarf<Slice<'_>>,
    unit: &gimli::Unit<Slice<'_>>,
    header: &gimli::LineProgramHeader<Slice<'_>>,
    index: u64,
    comp_dir: &str,
) -> Option<String> {
    let file = header.file(index)?;
    let name = attr_string(dwarf, unit, file.path_name())?;
    let dir_index = file.directory_index();
    let dir = match header.directory(dir_index) {
        Some(d) => attr_string(dwarf, unit, d)?,
        None => String::new(),
    };
    if header.version() >= 5 {
        // Go joins whatever both are, absolute names too.
        return Some(if !dir.is_empty() && !name.is_empty() {
            path_join(&dir, &name)
        } else {
            name
        });
    }
    if is_abs(&name) {
        return Some(name);
    }
    // Before DWARF 5, directory 0 is the compilation directory and the
    // others are relative to it.
    let dir = if dir_index == 0 {
        comp_dir.to_owned()
    } else if is_abs(&dir) {
        dir
    } else {
        path_join(comp_dir, &dir)
    };
    Some(path_join(&dir, &name))
}

/// The name of the first subprogram, from the start of `units[0]` on,
/// whose ranges hold `addr`: "" if none. `None` where Go gives up (a
/// subprogram whose ranges cannot be read).
fn subprogram_name(
    dwarf: &gimli::Dwarf<Slice<'_>>,
    units: &[gimli::Unit<Slice<'_>>],
    addr: u64,
) -> Option<String> {
    for unit in units {
        let mut entries = unit.entries();
        while let Ok(Some((_, entry))) = entries.next_dfs() {
            if entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let mut ranges = dwarf.die_ranges(unit, entry).ok()?;
            while let Some(r) = ranges.next().ok()? {
                if r.begin <= addr
                    && addr < r.end
                    && let Ok(Some(value)) = entry.attr_value(gimli::DW_AT_name)
                    && let Some(name) = attr_string(dwarf, unit, value)
                {
                    return Some(name);
                }
            }
        }
    }
    Some(String::new())
}

/// Go's `pathIsAbs` for Unix paths (and a leading backslash).
fn is_abs(path: &str) -> bool {
    path.starts_with('/') || path.starts_with('\\')
}

/// Go's `path.Join(dir, name)` (a lexically cleaned join); "" dir gives
/// name unchanged, as Go's `pathJoin`.
fn path_join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        return name.to_owned();
    }
    clean(&format!("{dir}/{name}"))
}

/// Go's `path.Clean`.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn cleans_as_go() {
        for (input, want) in [
            ("a/b/../c", "a/c"),
            ("/a//b/./c/", "/a/b/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/..", "."),
            ("/", "/"),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
    }
}
