//! goroutine debug=2 dumps: parsing real Go 1.27 dumps and hand-edited
//! variants, and the count profile built from them.

use profile::ParseOptions;
use profile::goroutine_dump::{Goroutine, looks_like_dump, parse_dump, to_profile};
use profile::legacy::parse_legacy;
use std::collections::HashMap;
use std::path::PathBuf;

fn read(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/legacy")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

fn by_id(gs: &[Goroutine], id: u64) -> &Goroutine {
    gs.iter().find(|g| g.id == id).unwrap()
}

fn funcs(g: &Goroutine) -> Vec<&str> {
    g.frames.iter().map(|f| f.function.as_str()).collect()
}

#[test]
fn real_dump() {
    let text = read("goroutine_debug2.txt");
    assert!(looks_like_dump(text.as_bytes()));
    let gs = parse_dump(&text).unwrap();
    assert_eq!(gs.len(), 13);
    let g1 = &gs[0];
    assert_eq!((g1.id, g1.state.as_str()), (1, "running"));
    assert_eq!(g1.frames[0].function, "runtime/pprof.writeGoroutineStacks");
    assert_eq!(g1.frames.last().unwrap().function, "main.main");
    assert!(g1.created_by.is_none());

    let states: Vec<&str> = gs.iter().map(|g| g.state.as_str()).collect();
    for s in [
        "chan receive",
        "chan send",
        "select",
        "sync.Mutex.Lock",
        "sleep",
    ] {
        assert!(states.contains(&s), "{s} in {states:?}");
    }
    let mutex = gs.iter().find(|g| g.state == "sync.Mutex.Lock").unwrap();
    assert_eq!(
        funcs(mutex),
        [
            "internal/sync.runtime_SemacquireMutex",
            "internal/sync.(*Mutex).lockSlow",
            "internal/sync.(*Mutex).Lock",
            "sync.(*Mutex).Lock",
            "main.lockWait"
        ]
    );
    // Inlined frames print no offset.
    assert_eq!(mutex.frames[2].pc_offset, None);
    assert!(mutex.frames[1].pc_offset.is_some());
    let c = mutex.created_by.as_ref().unwrap();
    assert_eq!((c.function.as_str(), c.goroutine), ("main.main", Some(1)));
    assert!(c.file.ends_with("gen/main.go") && c.line > 0);

    let labelled: Vec<&Goroutine> = gs.iter().filter(|g| !g.labels.is_empty()).collect();
    assert_eq!(labelled.len(), 2);
    assert_eq!(
        labelled[0].labels,
        [
            ("phase".to_string(), "drain \"x\"".to_string()),
            ("worker".to_string(), "w1".to_string())
        ]
    );
    assert_eq!(gs.iter().filter(|g| g.locked_to_thread).count(), 1);
    // A goroutine created by a goroutine other than main.
    assert!(gs.iter().any(|g| {
        g.created_by
            .as_ref()
            .is_some_and(|c| c.goroutine != Some(1) && c.function.starts_with("main.main.func"))
    }));
    assert!(
        gs.iter()
            .all(|g| g.wait_minutes.is_none() && !g.leaked && !g.elided)
    );
}

#[test]
fn leak_dump_marks_leaked() {
    let gs = parse_dump(&read("goroutineleak_debug2.txt")).unwrap();
    let leaked: Vec<&Goroutine> = gs.iter().filter(|g| g.leaked).collect();
    assert!(!leaked.is_empty());
    assert!(leaked.iter().all(|g| !g.state.contains("leaked")));
    assert!(gs.iter().any(|g| g.leaked && g.locked_to_thread));
}

#[test]
fn edited_dump_variants() {
    let gs = parse_dump(&read("goroutine_debug2_edited.txt")).unwrap();
    assert_eq!(gs.len(), 16);
    assert_eq!(by_id(&gs, 6).wait_minutes, Some(12));
    let g7 = by_id(&gs, 7);
    assert!(g7.leaked);
    assert_eq!(
        (g7.state.as_str(), g7.wait_minutes),
        ("chan receive", Some(1440))
    );
    let g8 = by_id(&gs, 8);
    assert_eq!(
        (g8.m, g8.wait_minutes, g8.state.as_str()),
        (None, Some(3), "chan send")
    );
    let g40 = by_id(&gs, 40);
    assert!(g40.stack_unavailable && g40.frames.is_empty());
    assert_eq!(g40.m, Some(4));
    let g41 = by_id(&gs, 41);
    assert_eq!(g41.state, "select (no cases)");
    assert_eq!(
        g41.labels,
        [
            ("k".to_string(), String::new()),
            ("a b".to_string(), "c\td".to_string())
        ]
    );
    assert!(g41.elided);
    assert_eq!(funcs(g41), ["main.deep", "main.deep"]);
    assert_eq!(g41.frames[1].pc_offset, Some(0x2a));
    assert_eq!(g41.ancestors.len(), 1);
    let a = &g41.ancestors[0];
    assert_eq!(a.goroutine, 3);
    assert_eq!(a.frames[0].function, "main.parent");
    assert_eq!(a.created_by.as_ref().unwrap().goroutine, None);
    assert!(g41.created_by.is_none());
    assert_eq!(by_id(&gs, 42).frames[0].function, "runtime.gopanic");
}

#[test]
fn malformed_dumps_name_the_line() {
    for (text, line) in [
        ("goroutine 1 [running]:\nmain.main()\n", 2),
        ("goroutine 1 [running]:\nmain.main()\n\t/x.go:zz +0x1\n", 3),
        ("goroutine 1 [running]:\nmain.main\n\t/x.go:1 +0x1\n", 2),
        ("goroutine 1 [running]:\n\t/x.go:1\n", 2),
        ("goroutine 1 [running]:\n\ngarbage\n", 3),
        ("goroutine 1 [running:\n", 1),
        (
            "goroutine 1 [running]:\n[originating from goroutine x]:\n",
            2,
        ),
    ] {
        let e = parse_dump(text).unwrap_err().to_string();
        assert!(e.contains(&format!("line {line}:")), "{text:?}: {e}");
    }
    assert!(!looks_like_dump(b"heap profile: 1: 2 [3: 4] @ heap/8\n"));
    assert!(!looks_like_dump(b""));
    assert!(looks_like_dump(b"\n\ngoroutine 7 [select]:\n"));
    assert!(parse_dump("").unwrap().is_empty());
}

#[test]
fn dumps_are_not_legacy_profiles() {
    // parse.rs tries the legacy parsers first: a dump must fall through.
    let text = read("goroutine_debug2.txt");
    assert!(
        parse_legacy(text.as_bytes(), &ParseOptions::default())
            .unwrap()
            .is_none()
    );
}

#[test]
fn profile_merges_identical_goroutines() {
    let gs = parse_dump(&read("goroutine_debug2_edited.txt")).unwrap();
    let p = to_profile(&gs);
    assert_eq!(p.sample_types[0].r#type, "goroutine");
    assert_eq!(p.sample_types[0].unit, "count");
    assert_eq!(p.period, 1);
    let total: i64 = p.samples.iter().map(|s| s.values[0]).sum();
    assert_eq!(total, gs.len() as i64);
    // Goroutines 5 and 6 share stack, creator, state and wait: one sample.
    let two = p
        .samples
        .iter()
        .find(|s| s.num_label_values("wait_minutes").next() == Some(12))
        .unwrap();
    assert_eq!(two.values[0], 2);
    assert_eq!(
        two.label_values("state").collect::<Vec<_>>(),
        ["chan receive"]
    );
    assert_eq!(two.num_labels[0].unit.as_deref(), Some("minutes"));
    assert_eq!(
        two.label_values("created_by").collect::<Vec<_>>(),
        ["main.main"]
    );
    let leaked = p
        .samples
        .iter()
        .find(|s| s.label_values("leaked").next() == Some("true"))
        .unwrap();
    assert_eq!(leaked.values[0], 1);
    let labelled = p
        .samples
        .iter()
        .find(|s| s.label_values("worker").next() == Some("w1"))
        .unwrap();
    assert_eq!(labelled.values[0], 2);
    // Stacks are leaf first and resolve to names; no creator frame.
    let names: Vec<&str> = labelled
        .locations
        .iter()
        .map(|&l| {
            let f = p.location(l).lines[0].function.unwrap();
            p.function(f).name.as_str()
        })
        .collect();
    assert_eq!(
        names,
        ["main.blockOnChan", "main.main.func2", "runtime/pprof.Do"]
    );
    // One location per distinct (function, file, line); unique addresses.
    let mut seen = HashMap::new();
    for l in &p.locations {
        let ln = &l.lines[0];
        let f = p.function(ln.function.unwrap());
        assert!(
            seen.insert((f.name.clone(), f.filename.clone(), ln.line), l.address)
                .is_none()
        );
        assert_eq!(l.mapping, Some(0));
    }
    let mut addrs: Vec<u64> = p.locations.iter().map(|l| l.address).collect();
    addrs.dedup();
    assert_eq!(addrs.len(), p.locations.len());
    assert!(p.mappings[0].has_functions);
    // Ids are 1-based positions.
    for (i, f) in p.functions.iter().enumerate() {
        assert_eq!(f.id, i as u64 + 1);
    }
}

/// The dump and the debug=1 goroutine profile were written by the same
/// process at the same moment: the stacks must agree.
#[test]
fn dump_agrees_with_debug1_profile() {
    let gs = parse_dump(&read("goroutine_debug2.txt")).unwrap();
    let text = read("goroutine.txt");
    let parsed = parse_legacy(text.as_bytes(), &ParseOptions::default())
        .unwrap()
        .unwrap();
    let p = &parsed.profile;
    let mut want: HashMap<Vec<String>, i64> = HashMap::new();
    for s in &p.samples {
        let mut names = Vec::new();
        for &l in &s.locations {
            for ln in &p.location(l).lines {
                names.push(p.function(ln.function.unwrap()).name.clone());
            }
        }
        if names.iter().any(|n| n.starts_with("runtime/pprof.write")) {
            continue; // the writer itself: different entry points
        }
        *want.entry(names).or_default() += s.values[0];
    }
    let mut got: HashMap<Vec<String>, i64> = HashMap::new();
    for g in gs.iter().filter(|g| g.id != 1) {
        let names: Vec<String> = g.frames.iter().map(|f| f.function.clone()).collect();
        *got.entry(names).or_default() += 1;
    }
    assert_eq!(got, want);
}
