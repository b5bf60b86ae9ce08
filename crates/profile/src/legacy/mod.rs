//! Go's legacy text profiles (`?debug=1`), gperftools formats and Java's
//! CPU, heapz and contentionz profiles, parsed as pprof's `parseLegacy`
//! does, plus what pprof throws away: the `#` symbol lines, `# labels:`
//! lines and the `# runtime.MemStats` footer.
//!
//! With `ParseOptions::symbolize_text == false` the resulting `Profile` is
//! exactly what pprof builds (same sample types, values, location and
//! mapping tables, drop/keep frames). With `symbolize_text == true` the
//! same profile additionally carries Functions and Lines taken from the
//! `#\t0xPC\tfunc+0xoff\tfile:line` lines, and count profiles carry their
//! `# labels:` as string labels. Locations without `#` lines (Go omits
//! leading runtime frames and `runtime.goexit`) stay bare addresses, and
//! mapping flags (`has_functions`, ...) stay false as in pprof.

mod contention;
mod count;
mod cpu;
pub(crate) mod gostr;
mod heap;
mod java;
mod maps;
mod memstats;
pub(crate) mod scan;
mod thread;

pub use memstats::MemStats;

use crate::error::ParseError;
use crate::model::{
    Function, Label, LocIdx, Location, Mapping, Profile, Sample, ValueType, table_index,
};
use crate::parse::{ParseOptions, Parsed, SourceFormat};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

/// What one legacy parser concluded: pprof's `errUnrecognized` is
/// `Unrecognized` (the next parser is tried); any other error stops.
pub(crate) enum Outcome {
    Parsed(Box<Parsed>),
    Unrecognized,
}

type TextParser = fn(&str, &ParseOptions) -> Result<Outcome, ParseError>;

/// Tries the legacy parsers in pprof's order (CPU, C++ or Java, then heap,
/// Go count, thread, contention, Java heapz/contentionz). `Ok(None)`: no
/// legacy format recognized.
pub fn parse_legacy(data: &[u8], opts: &ParseOptions) -> Result<Option<Parsed>, ParseError> {
    if let Outcome::Parsed(p) = cpu::parse(data, opts)? {
        return Ok(Some(finish(*p)));
    }
    let text = String::from_utf8_lossy(data);
    let parsers: [TextParser; 5] = [
        heap::parse,
        count::parse,
        thread::parse,
        contention::parse,
        java::parse,
    ];
    for parser in parsers {
        if let Outcome::Parsed(p) = parser(&text, opts)? {
            return Ok(Some(finish(*p)));
        }
    }
    Ok(None)
}

/// pprof's `addLegacyFrameInfo`.
fn finish(mut parsed: Parsed) -> Parsed {
    let p = &mut parsed.profile;
    let types: Vec<&str> = p.sample_types.iter().map(|t| t.r#type.as_str()).collect();
    let heapz: [&[&str]; 5] = [
        &["allocations", "size"],
        &["objects", "space"],
        &["inuse_objects", "inuse_space"],
        &["alloc_objects", "alloc_space"],
        &[
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space",
        ],
    ];
    let (drop, keep) = if heapz.contains(&types.as_slice()) {
        (ALLOC_RX, ALLOC_SKIP_RX)
    } else if types == ["contentions", "delay"] {
        (LOCK_RX, "")
    } else {
        (CPU_PROFILER_RX, "")
    };
    p.drop_frames = drop.to_string();
    p.keep_frames = keep.to_string();
    parsed
}

const ALLOC_RX: &str = concat!(
    r"calloc|cfree|malloc|free|memalign|do_memalign|(__)?posix_memalign|pvalloc|valloc|realloc|",
    r"tcmalloc::.*|tc_calloc|tc_cfree|tc_malloc|tc_free|tc_memalign|tc_posix_memalign|tc_pvalloc|",
    r"tc_valloc|tc_realloc|tc_new|tc_delete|tc_newarray|tc_deletearray|tc_new_nothrow|",
    r"tc_newarray_nothrow|malloc_zone_malloc|malloc_zone_calloc|malloc_zone_valloc|",
    r"malloc_zone_realloc|malloc_zone_memalign|malloc_zone_free|runtime\..*|BaseArena::.*|",
    r"(::)?do_malloc_no_errno|(::)?do_malloc_pages|(::)?do_malloc|DoSampledAllocation|",
    r"MallocedMemBlock::MallocedMemBlock|_M_allocate|__builtin_(vec_)?delete|",
    r"__builtin_(vec_)?new|__gnu_cxx::new_allocator::allocate|__libc_malloc|",
    r"__malloc_alloc_template::allocate|allocate|cpp_alloc|operator new(\[\])?|",
    r"simple_alloc::allocate"
);
const ALLOC_SKIP_RX: &str = r"runtime\.panic|runtime\.reflectcall|runtime\.call[0-9]*";
const CPU_PROFILER_RX: &str = "ProfileData::Add|ProfileData::prof_handler|CpuProfiler::prof_handler|__pthread_sighandler|__restore";
const LOCK_RX: &str = concat!(
    r"RecordLockProfileData|(base::)?RecordLockProfileData.*|(base::)?SubmitMutexProfileData.*|",
    r"(base::)?SubmitSpinLockProfileData.*|(base::Mutex::)?AwaitCommon.*|(base::Mutex::)?Unlock.*|",
    r"(base::Mutex::)?UnlockSlow.*|(base::Mutex::)?ReaderUnlock.*|(base::MutexLock::)?~MutexLock.*|",
    r"(Mutex::)?AwaitCommon.*|(Mutex::)?Unlock.*|(Mutex::)?UnlockSlow.*|(Mutex::)?ReaderUnlock.*|",
    r"(MutexLock::)?~MutexLock.*|(SpinLock::)?Unlock.*|(SpinLock::)?SlowUnlock.*|",
    r"(SpinLockHolder::)?~SpinLockHolder.*"
);

/// One `#\t0xPC\tfunc+0xoff\tfile:line` line.
#[derive(Clone, Debug)]
struct SymLine {
    name: String,
    file: String,
    line: i64,
}

/// Parses a `#` symbol line; `None` for lines that carry no function (Go
/// prints `#\t0xPC` alone for PCs it cannot symbolize) or are not symbol
/// lines at all.
fn parse_sym_line(line: &str) -> Option<(u64, SymLine)> {
    let body = scan::trim_space(line).strip_prefix('#')?;
    let mut fields = body.split('\t').filter(|f| !f.is_empty());
    let pc = scan::parse_uint(fields.next()?.strip_prefix("0x")?, 16)?;
    let func = fields.next()?;
    let file_line = fields.next()?;
    let name = match func.rsplit_once("+0x") {
        Some((n, off)) if off.bytes().all(|b| b.is_ascii_hexdigit()) => n,
        _ => func,
    };
    let (file, line) = file_line.rsplit_once(':')?;
    let line = line.trim_end().parse::<i64>().ok()?;
    Some((
        pc,
        SymLine {
            name: name.to_string(),
            file: file.to_string(),
            line,
        },
    ))
}

/// Accumulates a legacy profile the way pprof's parsers do: one Location
/// per distinct (adjusted) address, in order of first use.
pub(crate) struct Builder {
    pub(crate) profile: Profile,
    by_addr: HashMap<u64, LocIdx>,
    symbolize: bool,
    /// Symbol lines per address, from the first sample that had them.
    syms: HashMap<u64, Vec<SymLine>>,
    /// Symbol lines of the sample being read.
    cur_syms: HashMap<u64, Vec<SymLine>>,
}

impl Builder {
    pub(crate) fn new(opts: &ParseOptions) -> Self {
        Builder {
            profile: Profile::default(),
            by_addr: HashMap::new(),
            symbolize: opts.symbolize_text,
            syms: HashMap::new(),
            cur_syms: HashMap::new(),
        }
    }

    pub(crate) fn set_types(&mut self, sample: &[(&str, &str)], period: (&str, &str), n: i64) {
        self.profile.sample_types = sample.iter().map(|(t, u)| ValueType::new(t, u)).collect();
        self.profile.period_type = Some(ValueType::new(period.0, period.1));
        self.profile.period = n;
    }

    pub(crate) fn loc(&mut self, addr: u64) -> Result<LocIdx, ParseError> {
        match self.by_addr.entry(addr) {
            Entry::Occupied(e) => Ok(*e.get()),
            Entry::Vacant(e) => {
                let locs = &mut self.profile.locations;
                let idx = table_index(locs.len(), "locations")?;
                locs.push(Location {
                    address: addr,
                    ..Location::default()
                });
                Ok(*e.insert(idx))
            }
        }
    }

    /// The location made for `addr`, if any sample used it.
    pub(crate) fn location_at(&self, addr: u64) -> Option<LocIdx> {
        self.by_addr.get(&addr).copied()
    }

    pub(crate) fn push_sample(&mut self, sample: Sample) {
        self.commit_syms();
        self.profile.samples.push(sample);
    }

    fn commit_syms(&mut self) {
        for (addr, lines) in self.cur_syms.drain() {
            self.syms.entry(addr).or_insert(lines);
        }
    }

    /// Feeds a comment line that follows the last sample: a symbol line
    /// or a `# labels:` line. Ignored unless symbolizing.
    pub(crate) fn comment(&mut self, line: &str) {
        if !self.symbolize {
            return;
        }
        let Some(last) = self.profile.samples.last_mut() else {
            return;
        };
        let t = scan::trim_space(line);
        if let Some(lbls) = t.strip_prefix("# labels: ") {
            last.labels.extend(parse_label_map(lbls));
            return;
        }
        let Some((pc, sym)) = parse_sym_line(t) else {
            return;
        };
        let locs = &self.profile.locations;
        if last
            .locations
            .iter()
            .any(|&l| locs[l as usize].address == pc)
        {
            self.cur_syms.entry(pc).or_default().push(sym);
        }
    }

    /// pprof's `ParseMemoryMapFromScanner` tail: mappings, location and
    /// function renumbering, then the symbols from `#` lines.
    pub(crate) fn finish(mut self, mut mappings: Vec<Mapping>) -> Result<Profile, ParseError> {
        self.commit_syms();
        maps::massage_mappings(&mut mappings);
        let mut p = self.profile;

        // remapLocationIDs: keep referenced locations in first-use order.
        let mut new_idx: Vec<u32> = vec![u32::MAX; p.locations.len()];
        let mut order: Vec<u32> = Vec::with_capacity(p.locations.len());
        for s in &mut p.samples {
            for l in &mut s.locations {
                let old = *l;
                let slot = &mut new_idx[old as usize];
                if *slot == u32::MAX {
                    *slot = table_index(order.len(), "locations")?;
                    order.push(old);
                }
                *l = *slot;
            }
        }
        let mut old_locs: Vec<Option<Location>> = p.locations.into_iter().map(Some).collect();
        p.locations = order
            .iter()
            .enumerate()
            .map(|(i, &o)| {
                let mut l = old_locs[o as usize].take().unwrap_or_default();
                l.id = i as u64 + 1;
                l
            })
            .collect();

        // Functions from `#` lines, numbered in location order as
        // remapFunctionIDs would.
        let mut fn_idx: HashMap<(String, String), u32> = HashMap::new();
        for l in &mut p.locations {
            let Some(lines) = self.syms.get(&l.address) else {
                continue;
            };
            for sl in lines {
                let functions = &mut p.functions;
                let fi = match fn_idx.entry((sl.name.clone(), sl.file.clone())) {
                    Entry::Occupied(e) => *e.get(),
                    Entry::Vacant(e) => {
                        let fi = table_index(functions.len(), "functions")?;
                        functions.push(Function {
                            id: functions.len() as u64 + 1,
                            name: sl.name.clone(),
                            system_name: sl.name.clone(),
                            filename: sl.file.clone(),
                            start_line: 0,
                        });
                        *e.insert(fi)
                    }
                };
                l.lines.push(crate::model::Line {
                    function: Some(fi),
                    line: sl.line,
                    column: 0,
                });
            }
        }

        // The mapping flags stay as pprof sets them (all false): Go hides
        // leading runtime frames from the `#` lines, so some locations stay
        // bare addresses, and a symbolizer run later (local binary or
        // symbolz) must not skip this mapping as "already symbolized".
        maps::remap_mappings(&mut mappings, &mut p.locations)?;
        p.mappings = mappings;
        Ok(p)
    }
}

/// Parses the `{"k":"v", "k2":"v2"}` of a `# labels:` line (Go's `%q`).
/// Malformed input yields the pairs read so far.
fn parse_label_map(s: &str) -> Vec<Label> {
    let mut out = Vec::new();
    let Some(mut rest) = scan::trim_space(s).strip_prefix('{') else {
        return out;
    };
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some((k, r)) = gostr::unquote_prefix(rest) else {
            break;
        };
        let Some(r) = r.strip_prefix(':') else { break };
        let Some((v, r)) = gostr::unquote_prefix(r) else {
            break;
        };
        out.push(Label {
            key: Arc::from(k),
            value: Arc::from(v),
        });
        rest = r;
    }
    out
}

pub(crate) fn malformed(msg: impl Into<String>) -> ParseError {
    ParseError::Legacy(msg.into())
}

/// Builds the `Parsed` for a legacy format.
pub(crate) fn parsed(
    profile: Profile,
    format: SourceFormat,
    memstats: Option<MemStats>,
) -> Outcome {
    Outcome::Parsed(Box::new(Parsed {
        profile,
        format,
        memstats,
        goroutines: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sym_lines() {
        let (pc, s) = parse_sym_line("#\t0x4e4552\tmain.main+0x72\t\t/x/main.go:96").unwrap();
        assert_eq!(pc, 0x4e4552);
        assert_eq!(
            (s.name.as_str(), s.file.as_str(), s.line),
            ("main.main", "/x/main.go", 96)
        );
        assert!(parse_sym_line("#\t0x0").is_none());
        let (_, s) =
            parse_sym_line("#\t0x1\truntime/pprof.(*Profile).WriteTo+0x148\tC:/a b/p.go:405")
                .unwrap();
        assert_eq!(s.name, "runtime/pprof.(*Profile).WriteTo");
        assert_eq!(s.file, "C:/a b/p.go");
    }

    #[test]
    fn label_maps() {
        let l = parse_label_map(r#"{"phase":"drain \"x\"", "worker":"w1"}"#);
        assert_eq!(l.len(), 2);
        assert_eq!((&*l[0].key, &*l[0].value), ("phase", "drain \"x\""));
        assert_eq!((&*l[1].key, &*l[1].value), ("worker", "w1"));
    }
}
