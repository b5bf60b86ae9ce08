//! Go's `debug/gosym` for the Go 1.2+ pclntab (1.2, 1.16, 1.18, 1.20
//! layouts): the function table and the pc-to-file and pc-to-line tables.
//!
//! gosym reads with unchecked slicing and recovers from the panics, each
//! recovery giving a fixed answer ("" file, line -1, no functions at all).
//! Here every read is checked and `None` stands for that panic, so corrupt
//! tables give gosym's answers without panicking.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Version {
    Go12,
    Go116,
    Go118,
    Go120,
}

/// A function from the table: its pc range and where its name is.
#[derive(Clone, Debug)]
pub(crate) struct Func {
    pub entry: u64,
    pub end: u64,
    name_at: usize,
    name_len: usize,
}

pub(crate) struct LineTable {
    data: Vec<u8>,
    version: Version,
    quantum: u32,
    ptr_size: u32,
    text_start: u64,
    // Offsets into `data` where gosym's sub-slices start; each runs to the
    // end of `data` except `functab` (and `filetab` for 1.2).
    funcnametab: usize,
    cutab: usize,
    filetab: usize,
    filetab_end: usize,
    pctab: usize,
    funcdata: usize,
    functab: usize,
    functab_len: usize,
    nfunctab: u32,
    funcs: Vec<Func>,
}

/// Magic numbers of the pclntab header (internal/abi), little-endian only.
const GO12_MAGIC: u32 = 0xfffffffb;
const GO116_MAGIC: u32 = 0xfffffffa;
const GO118_MAGIC: u32 = 0xfffffff0;
const GO120_MAGIC: u32 = 0xfffffff1;

impl LineTable {
    /// gosym's `NewTable(nil, NewLineTable(data, text_start))`; `None` when
    /// the data is no Go 1.2+ table (gosym then knows no function at all).
    pub fn new(data: Vec<u8>, text_start: u64) -> Option<Self> {
        let mut table = Self::parse_header(data, text_start)?;
        // go12Funcs: one bad entry and gosym has no functions.
        table.funcs = table.go12_funcs().unwrap_or_default();
        Some(table)
    }

    fn parse_header(data: Vec<u8>, text_start: u64) -> Option<Self> {
        if data.len() < 16
            || data[4] != 0
            || data[5] != 0
            || !matches!(data[6], 1 | 2 | 4)
            || !matches!(data[7], 4 | 8)
        {
            return None;
        }
        // Big-endian tables belong to big-endian binaries, which ELF
        // parsing already refused.
        let version = match u32::from_le_bytes([data[0], data[1], data[2], data[3]]) {
            GO12_MAGIC => Version::Go12,
            GO116_MAGIC => Version::Go116,
            GO118_MAGIC => Version::Go118,
            GO120_MAGIC => Version::Go120,
            _ => return None,
        };
        let mut t = LineTable {
            data,
            version,
            quantum: 0,
            ptr_size: 0,
            text_start: 0,
            funcnametab: 0,
            cutab: 0,
            filetab: 0,
            filetab_end: 0,
            pctab: 0,
            funcdata: 0,
            functab: 0,
            functab_len: 0,
            nfunctab: 0,
            funcs: Vec::new(),
        };
        t.quantum = u32::from(t.data[6]);
        t.ptr_size = u32::from(t.data[7]);
        let len = t.data.len();
        let header_word = |t: &LineTable, word: u64| -> Option<u64> {
            t.uintptr(usize::try_from(8 + word * u64::from(t.ptr_size)).ok()?)
        };
        // gosym's data(word): the table from the offset in header word `word`.
        let section = |t: &LineTable, word: u64| -> Option<usize> {
            let offset = usize::try_from(header_word(t, word)?).ok()?;
            (offset <= len).then_some(offset)
        };
        let first_table_word = match version {
            Version::Go118 | Version::Go120 => {
                t.text_start = text_start;
                3
            }
            Version::Go116 => 2,
            Version::Go12 => 0,
        };
        if version == Version::Go12 {
            t.nfunctab = header_word(&t, 0)? as u32;
            t.funcdata = 0;
            t.funcnametab = 0;
            t.functab = 8 + t.ptr_size as usize;
            t.pctab = 0;
            let functab_size = t.functab_size();
            let fileoff_at = t.functab.checked_add(functab_size)?;
            let fileoff = t.u32_at(fileoff_at)? as usize;
            if t.functab > len || fileoff_at > len || fileoff > len {
                return None;
            }
            t.functab_len = functab_size;
            t.filetab = fileoff;
            let nfiletab = t.u32_at(fileoff)?;
            let filetab_len = usize::try_from(u64::from(nfiletab) * 4).ok()?;
            t.filetab_end = t.filetab.checked_add(filetab_len).filter(|&e| e <= len)?;
        } else {
            t.nfunctab = header_word(&t, 0)? as u32;
            t.funcnametab = section(&t, first_table_word)?;
            t.cutab = section(&t, first_table_word + 1)?;
            t.filetab = section(&t, first_table_word + 2)?;
            t.filetab_end = len;
            t.pctab = section(&t, first_table_word + 3)?;
            t.funcdata = section(&t, first_table_word + 4)?;
            t.functab = t.funcdata;
            let functab_size = t.functab_size();
            if t.functab.checked_add(functab_size)? > len {
                return None;
            }
            t.functab_len = functab_size;
        }
        Some(t)
    }

    fn field_size(&self) -> usize {
        if self.version >= Version::Go118 {
            4
        } else {
            self.ptr_size as usize
        }
    }

    fn functab_size(&self) -> usize {
        (self.nfunctab as usize * 2 + 1) * self.field_size()
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64_at(&self, at: usize) -> Option<u64> {
        let b = self.data.get(at..at.checked_add(8)?)?;
        Some(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    fn uintptr(&self, at: usize) -> Option<u64> {
        if self.ptr_size == 4 {
            self.u32_at(at).map(u64::from)
        } else {
            self.u64_at(at)
        }
    }

    /// A functab word, read within the functab slice only.
    fn functab_word(&self, index: usize) -> Option<u64> {
        let size = self.field_size();
        let at = index.checked_mul(size)?;
        if at.checked_add(size)? > self.functab_len {
            return None;
        }
        let at = self.functab + at;
        if size == 4 {
            self.u32_at(at).map(u64::from)
        } else {
            self.u64_at(at)
        }
    }

    fn functab_pc(&self, i: usize) -> Option<u64> {
        let u = self.functab_word(2 * i)?;
        Some(if self.version >= Version::Go118 {
            u.wrapping_add(self.text_start)
        } else {
            u
        })
    }

    /// Where the i'th `_func` starts in `data`.
    fn func_data(&self, i: usize) -> Option<usize> {
        let off = usize::try_from(self.functab_word(2 * i + 1)?).ok()?;
        let at = self.funcdata.checked_add(off)?;
        (at <= self.data.len()).then_some(at)
    }

    fn func_entry(&self, func: usize) -> Option<u64> {
        if self.version >= Version::Go118 {
            Some(u64::from(self.u32_at(func)?).wrapping_add(self.text_start))
        } else {
            self.uintptr(func)
        }
    }

    /// Field `n` (1..=9) of the `_func` at `func`: all 4 bytes after the
    /// entry, which is 4 bytes from 1.18 on and a pointer before.
    fn func_field(&self, func: usize, n: usize) -> Option<u32> {
        let entry_size = if self.version >= Version::Go118 {
            4
        } else {
            self.ptr_size as usize
        };
        self.u32_at(func.checked_add(entry_size + (n - 1) * 4)?)
    }

    fn go12_funcs(&self) -> Option<Vec<Func>> {
        let count = self.nfunctab as usize;
        let mut funcs = Vec::with_capacity(count.min(self.functab_len));
        for i in 0..count {
            let entry = self.functab_pc(i)?;
            let end = self.functab_pc(i + 1)?;
            let info = self.func_data(i)?;
            let name_off = self.func_field(info, 1)? as usize;
            // deferreturn, read by gosym for FrameSize: it must be there.
            self.func_field(info, 3)?;
            let name_at = self.funcnametab.checked_add(name_off)?;
            let name_len = self.data.get(name_at..)?.iter().position(|&b| b == 0)?;
            funcs.push(Func {
                entry,
                end,
                name_at,
                name_len,
            });
        }
        Some(funcs)
    }

    pub fn func_name(&self, func: &Func) -> String {
        String::from_utf8_lossy(&self.data[func.name_at..func.name_at + func.name_len]).into_owned()
    }

    /// gosym's `Table.PCToFunc`: a binary search of the function list.
    pub fn pc_to_func(&self, pc: u64) -> Option<&Func> {
        let mut funcs = &self.funcs[..];
        while !funcs.is_empty() {
            let m = funcs.len() / 2;
            let f = &funcs[m];
            if pc < f.entry {
                funcs = &funcs[..m];
            } else if f.entry <= pc && pc < f.end {
                return Some(f);
            } else {
                funcs = &funcs[m + 1..];
            }
        }
        None
    }

    /// gosym's `Table.PCToLine`: the function holding `pc` and, as gosym
    /// gives them, its file ("" when unknown) and line (-1 when unknown).
    pub fn pc_to_line(&self, pc: u64) -> Option<(&Func, String, i64)> {
        let func = self.pc_to_func(pc)?;
        let file = self.pc_to_file(pc).unwrap_or_default();
        let line = self.pc_to_line_number(pc).map_or(-1, i64::from);
        Some((func, file, line))
    }

    /// gosym's `findFunc`: the `_func` whose functab entry covers `pc`.
    fn find_func(&self, pc: u64) -> Option<Option<usize>> {
        let count = self.nfunctab as usize;
        if pc < self.functab_pc(0)? || pc >= self.functab_pc(count)? {
            return Some(None);
        }
        // sort.Search for the first entry past pc.
        let (mut lo, mut hi) = (0usize, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.functab_pc(mid)? <= pc {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // lo == 0 would have gosym read entry -1: a panic.
        let idx = lo.checked_sub(1)?;
        Some(Some(self.func_data(idx)?))
    }

    fn pc_to_line_number(&self, pc: u64) -> Option<i32> {
        let Some(func) = self.find_func(pc)? else {
            return Some(-1);
        };
        let entry = self.func_entry(func)?;
        let linetab = self.func_field(func, 6)?;
        self.pc_value(linetab, entry, pc)
    }

    fn pc_to_file(&self, pc: u64) -> Option<String> {
        let func = self.find_func(pc)??;
        let entry = self.func_entry(func)?;
        let filetab = self.func_field(func, 5)?;
        let fno = self.pc_value(filetab, entry, pc)?;
        if self.version == Version::Go12 {
            if fno <= 0 {
                return None;
            }
            let at = self.filetab.checked_add(4 * fno as usize)?;
            if at.checked_add(4)? > self.filetab_end {
                return None;
            }
            let off = self.u32_at(at)? as usize;
            return self.c_string(self.funcdata, off);
        }
        if fno < 0 {
            return None;
        }
        let cu_offset = self.func_field(func, 8)?;
        // uint32 arithmetic, wrapping as in gosym.
        let index = cu_offset.wrapping_add(fno as u32).wrapping_mul(4) as usize;
        let fnoff = self.u32_at(self.cutab.checked_add(index)?)?;
        if fnoff == u32::MAX {
            return None;
        }
        self.c_string(self.filetab, fnoff as usize)
    }

    fn c_string(&self, base: usize, off: usize) -> Option<String> {
        let start = base.checked_add(off)?;
        let rest = self.data.get(start..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..len]).into_owned())
    }

    /// gosym's `pcvalue`: the value of the pc-value table at `off` in
    /// effect at `target`, -1 past its end.
    fn pc_value(&self, off: u32, entry: u64, target: u64) -> Option<i32> {
        let mut p = self.data.get(self.pctab.checked_add(off as usize)?..)?;
        let mut val: i32 = -1;
        let mut pc = entry;
        loop {
            let first = pc == entry;
            let uvdelta = read_varint(&mut p)?;
            if uvdelta == 0 && !first {
                return Some(-1);
            }
            let vdelta = if uvdelta & 1 != 0 {
                !(uvdelta >> 1)
            } else {
                uvdelta >> 1
            } as i32;
            let pcdelta = read_varint(&mut p)?.wrapping_mul(self.quantum);
            pc = pc.wrapping_add(u64::from(pcdelta));
            val = val.wrapping_add(vdelta);
            if target < pc {
                return Some(val);
            }
        }
    }
}

/// gosym's `readvarint`: shifts past 31 drop bits, as Go's do.
fn read_varint(p: &mut &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    let mut shift: u32 = 0;
    loop {
        let (&b, rest) = p.split_first()?;
        *p = rest;
        v |= (u32::from(b) & 0x7f).checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift = shift.wrapping_add(7);
    }
}
