//! What heapdrift keeps beyond pprof: `#` symbol lines, `# labels:` and the
//! MemStats footer. With `symbolize_text` the profile must stay pprof's
//! profile plus symbols.

use profile::legacy::{MemStats, parse_legacy};
use profile::{ParseOptions, Parsed, Profile, SourceFormat};
use std::path::PathBuf;

fn read(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/legacy")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

fn parse(text: &str, symbolize: bool) -> Parsed {
    let opts = ParseOptions {
        symbolize_text: symbolize,
        ..ParseOptions::default()
    };
    parse_legacy(text.as_bytes(), &opts).unwrap().unwrap()
}

/// The `#` lines of `text`, as (pc, function, file, line).
fn sym_lines(text: &str) -> Vec<(u64, String, String, i64)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l
                .strip_prefix("#\t")?
                .split('\t')
                .filter(|f| !f.is_empty())
                .collect();
            if f.len() != 3 {
                return None;
            }
            let pc = u64::from_str_radix(f[0].strip_prefix("0x")?, 16).ok()?;
            let name = f[1].rsplit_once("+0x")?.0.to_string();
            let (file, line) = f[2].rsplit_once(':')?;
            Some((pc, name, file.to_string(), line.parse().ok()?))
        })
        .collect()
}

fn names(p: &Profile, loc: u32) -> Vec<(String, i64)> {
    p.location(loc)
        .lines
        .iter()
        .map(|l| (p.function(l.function.unwrap()).name.clone(), l.line))
        .collect()
}

/// Symbolized = pprof's profile + lines/functions.
fn assert_same_shape(plain: &Profile, sym: &Profile) {
    assert_eq!(plain.samples.len(), sym.samples.len());
    for (a, b) in plain.samples.iter().zip(&sym.samples) {
        assert_eq!(a.locations, b.locations);
        assert_eq!(a.values, b.values);
        assert_eq!(a.num_labels, b.num_labels);
    }
    assert_eq!(plain.locations.len(), sym.locations.len());
    for (a, b) in plain.locations.iter().zip(&sym.locations) {
        assert_eq!((a.id, a.address, a.mapping), (b.id, b.address, b.mapping));
    }
    assert!(plain.functions.is_empty());
    assert!(plain.locations.iter().all(|l| l.lines.is_empty()));
    assert_eq!(plain.sample_types, sym.sample_types);
    assert_eq!(
        (plain.period, &plain.period_type),
        (sym.period, &sym.period_type)
    );
    assert_eq!(plain.drop_frames, sym.drop_frames);
    assert_eq!(plain.mappings, sym.mappings);
}

/// Every location whose address has `#` lines carries exactly those
/// lines, in order.
fn assert_lines_match(text: &str, p: &Profile) {
    let syms = sym_lines(text);
    let mut checked = 0;
    for (i, l) in p.locations.iter().enumerate() {
        let want: Vec<(String, i64)> = {
            // The first sample's block wins; all blocks agree for one PC.
            let mut v: Vec<(String, i64)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (pc, n, f, ln) in &syms {
                if *pc == l.address && seen.insert((n.clone(), f.clone(), *ln)) {
                    v.push((n.clone(), *ln));
                }
            }
            v
        };
        assert_eq!(names(p, i as u32), want, "location {:#x}", l.address);
        checked += usize::from(!want.is_empty());
    }
    assert!(checked > 0);
    for f in &p.functions {
        assert!(!f.filename.is_empty());
        assert_eq!(f.name, f.system_name);
    }
}

#[test]
fn heap_symbols_and_memstats() {
    let text = read("heap.txt");
    let plain = parse(&text, false);
    let sym = parse(&text, true);
    assert_eq!(sym.format, SourceFormat::LegacyHeap);
    assert_same_shape(&plain.profile, &sym.profile);
    assert_lines_match(&text, &sym.profile);
    let p = &sym.profile;
    // Inlined allocSmall via inlinedHelper: Go expands inlined frames into
    // separate PCs, so each location has one line.
    let helper = p
        .locations
        .iter()
        .position(|l| {
            l.lines
                .iter()
                .any(|ln| p.function(ln.function.unwrap()).name == "main.inlinedHelper")
        })
        .unwrap();
    assert_eq!(names(p, helper as u32)[0].0, "main.inlinedHelper");
    assert_eq!(p.mappings, plain.profile.mappings);
    assert_eq!(p.drop_frames.split('|').count(), 49);
    assert_eq!(
        p.keep_frames,
        r"runtime\.panic|runtime\.reflectcall|runtime\.call[0-9]*"
    );

    let m = sym.memstats.as_ref().unwrap();
    assert_eq!(plain.memstats, sym.memstats);
    let field = |k: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("# {k} = ")))
            .unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(m.alloc, field("Alloc"));
    assert_eq!(m.heap_objects, field("HeapObjects"));
    assert_eq!(m.num_gc, field("NumGC"));
    assert_eq!(m.last_gc, field("LastGC"));
    assert_eq!(m.max_rss, Some(field("MaxRSS")));
    assert_eq!(m.pause_ns.len(), 256);
    assert_eq!(m.pause_end.len(), 256);
    assert!(m.stack_inuse > 0 && m.stack_sys >= m.stack_inuse);
    assert!(m.mspan_sys > 0 && m.mcache_sys > 0);
    assert!(m.gc_cpu_fraction > 0.0);
    assert!(!m.debug_gc);
    assert_ne!(*m, MemStats::default());
}

#[test]
fn goroutine_symbols_and_labels() {
    for name in ["goroutine.txt", "goroutineleak.txt"] {
        let text = read(name);
        let plain = parse(&text, false);
        let sym = parse(&text, true);
        assert_eq!(sym.format, SourceFormat::LegacyCount);
        assert_same_shape(&plain.profile, &sym.profile);
        assert_lines_match(&text, &sym.profile);
        assert!(plain.profile.samples.iter().all(|s| s.labels.is_empty()));
        let p = &sym.profile;
        let labelled: Vec<_> = p.samples.iter().filter(|s| !s.labels.is_empty()).collect();
        assert_eq!(labelled.len(), 1, "{name}");
        assert_eq!(labelled[0].values, [2]);
        assert_eq!(
            labelled[0].label_values("phase").collect::<Vec<_>>(),
            ["drain \"x\""]
        );
        assert_eq!(
            labelled[0].label_values("worker").collect::<Vec<_>>(),
            ["w1"]
        );
        assert!(sym.memstats.is_none());
    }
}

#[test]
fn contention_symbols() {
    for name in ["block.txt", "mutex.txt"] {
        let text = read(name);
        let plain = parse(&text, false);
        let sym = parse(&text, true);
        assert_eq!(sym.format, SourceFormat::LegacyContention);
        assert_same_shape(&plain.profile, &sym.profile);
        assert_lines_match(&text, &sym.profile);
        let p = &sym.profile;
        assert_eq!(p.sample_types[1].r#type, "delay");
        let leaf = names(p, p.samples[0].locations[0]);
        assert!(leaf[0].0.starts_with("sync.(*Mutex)."), "{leaf:?}");
    }
}

#[test]
fn threadcreate_unsymbolized_pcs() {
    let text = read("threadcreate.txt");
    let p = parse(&text, true).profile;
    // `0x0` stack entries become address 0xffff_ffff_ffff_ffff (pprof
    // subtracts one without checking) and `#\t0x0` lines carry no symbol.
    assert!(
        p.locations
            .iter()
            .any(|l| l.address == u64::MAX && l.lines.is_empty())
    );
}

#[test]
fn unrecognized_and_errors() {
    let opts = ParseOptions::default();
    assert!(parse_legacy(b"hello world\n", &opts).unwrap().is_none());
    assert!(parse_legacy(b"", &opts).unwrap().is_none());
    // Recognized header, bad sample: pprof's errors.
    let e = parse_legacy(b"heap profile: 1: 2 [3: 4] @ heap/8\nbogus\n", &opts).unwrap_err();
    assert!(
        e.to_string().contains("unexpected number of sample values"),
        "{e}"
    );
    let e = parse_legacy(
        b"heap profile: 1: 2 [3: 4] @ heap/8\n0: 5 [0: 0] @ 0x1\n",
        &opts,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("inuse count was 0 but inuse bytes was 5"),
        "{e}"
    );
    let e = parse_legacy(b"goroutine profile: total 1\n1 @ 0xZZ\n", &opts).unwrap_err();
    assert!(e.to_string().contains("malformed profile format"), "{e}");
    // Contention with an unknown attribute: unrecognized, as in pprof.
    assert!(
        parse_legacy(b"--- mutex:\nfoo=1\n", &opts)
            .unwrap()
            .is_none()
    );
    // Octal count, as strconv.ParseInt(s, 0, 64) reads it.
    let p = parse_legacy(b"x profile: total 8\n010 @ 0x10\n", &opts)
        .unwrap()
        .unwrap();
    assert_eq!(p.profile.samples[0].values, [8]);
    assert_eq!(p.profile.sample_types[0].r#type, "x");
}

#[test]
fn heap_v1_rates_and_sampling() {
    let opts = ParseOptions::default();
    // `@ heap/R` means rate R/2; heap_v2/R means R; heapprofile: no scaling.
    let a = parse_legacy(
        b"heap profile: 1: 8192 [1: 8192] @ heap/8192\n1: 8192 [1: 8192] @ 0x10\n",
        &opts,
    )
    .unwrap()
    .unwrap()
    .profile;
    let b = parse_legacy(
        b"heap profile: 1: 8192 [1: 8192] @ heap_v2/4096\n1: 8192 [1: 8192] @ 0x10\n",
        &opts,
    )
    .unwrap()
    .unwrap()
    .profile;
    assert_eq!(a.period, 4096);
    assert_eq!(a.samples[0].values, b.samples[0].values);
    let scale = 1.0 / (1.0 - (-2.0f64).exp());
    assert_eq!(a.samples[0].values, [scale as i64, (8192.0 * scale) as i64]);
    assert_eq!(a.sample_types.len(), 2);
    assert_eq!(
        a.samples[0].num_label_values("bytes").collect::<Vec<_>>(),
        [8192]
    );
    let c = parse_legacy(
        b"heap profile: 1: 8192 [2: 9000] @ heapprofile\n1: 8192 [2: 9000] @ 0x10\n",
        &opts,
    )
    .unwrap()
    .unwrap()
    .profile;
    assert_eq!(c.period, 1);
    assert_eq!(c.samples[0].values, [2, 9000, 1, 8192]);
}

#[test]
fn inlined_symbol_lines_share_a_location() {
    let text = "goroutine profile: total 3\n\
                2 @ 0x11 0x21\n\
                #\t0x10\tmain.inner+0x1\t/a.go:3\n\
                #\t0x10\tmain.outer+0x5\t/a.go:9\n\
                #\t0x20\tmain.main+0x1\t/a.go:20\n\
                \n\
                1 @ 0x11 0x31\n\
                #\t0x10\tmain.inner+0x1\t/a.go:3\n\
                #\t0x10\tmain.outer+0x5\t/a.go:9\n\
                #\t0x30\tmain.other+0x1\t/b.go:7\n";
    let p = parse(text, true).profile;
    assert_eq!(
        names(&p, 0),
        [("main.inner".to_string(), 3), ("main.outer".to_string(), 9)]
    );
    assert_eq!(names(&p, 1), [("main.main".to_string(), 20)]);
    assert_eq!(names(&p, 2), [("main.other".to_string(), 7)]);
    assert_eq!(p.functions.len(), 4);
    assert!(!p.mappings[0].has_inline_frames);
}
