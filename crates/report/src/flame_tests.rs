use super::*;
use profile::{Function, Label, Location, Sample, ValueType};

/// A profile from stacks. Each stack is leaf first (as in profile.proto);
/// each location is a list of function names, innermost (inlined) first.
/// A name `-` stands for a line without a function.
fn prof(stacks: &[(&[&[&str]], i64, bool)]) -> Profile {
    let mut p = Profile {
        sample_types: vec![ValueType::new("inuse_space", "bytes")],
        ..Default::default()
    };
    let mut funcs: HashMap<String, u32> = HashMap::new();
    let mut locs: HashMap<Vec<String>, u32> = HashMap::new();
    for &(stack, v, base) in stacks {
        let mut loc_ids = Vec::new();
        for lines in stack {
            let key: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let id = if let Some(&id) = locs.get(&key) {
                id
            } else {
                let mut ls = Vec::new();
                for &name in *lines {
                    let function = (name != "-").then(|| {
                        *funcs.entry(name.to_string()).or_insert_with(|| {
                            p.functions.push(Function {
                                id: p.functions.len() as u64 + 1,
                                name: name.into(),
                                system_name: name.into(),
                                filename: format!("/src/{name}.go"),
                                start_line: 10,
                            });
                            p.functions.len() as u32 - 1
                        })
                    });
                    ls.push(Line {
                        function,
                        line: 0,
                        column: 0,
                    });
                }
                p.locations.push(Location {
                    id: p.locations.len() as u64 + 1,
                    lines: ls,
                    ..Default::default()
                });
                let id = p.locations.len() as u32 - 1;
                locs.insert(key, id);
                id
            };
            loc_ids.push(id);
        }
        p.samples.push(Sample {
            locations: loc_ids,
            values: vec![if base { -v } else { v }],
            labels: if base {
                vec![Label {
                    key: "pprof::base".into(),
                    value: "true".into(),
                }]
            } else {
                vec![]
            },
            ..Default::default()
        });
    }
    p
}

/// Nodes as `(indent-by-depth name, value, self, base)` lines.
fn dump(g: &FlameGraph) -> Vec<String> {
    g.nodes
        .iter()
        .map(|n| {
            format!(
                "{}{}{} {} {} {}",
                "  ".repeat(n.depth as usize),
                g.frame(n).name,
                if g.frame(n).inlined { "(i)" } else { "" },
                n.value,
                n.self_value,
                n.base
            )
        })
        .collect()
}

fn check_invariants(g: &FlameGraph) {
    assert_eq!(g.nodes[0].parent, NO_PARENT);
    assert_eq!(g.frame(&g.nodes[0]).name, "root");
    for (i, n) in g.nodes.iter().enumerate().skip(1) {
        assert!((n.parent as usize) < i);
        assert_eq!(n.depth, g.nodes[n.parent as usize].depth + 1);
        assert!((n.frame as usize) < g.frames.len());
    }
    for i in 0..g.nodes.len() {
        let kids: Vec<usize> = g.children(i).collect();
        let v: i64 = kids.iter().map(|&k| g.nodes[k].value).sum();
        let b: i64 = kids.iter().map(|&k| g.nodes[k].base).sum();
        assert_eq!(g.nodes[i].value, v + g.nodes[i].self_value, "node {i}");
        assert!(g.nodes[i].base >= b);
        // Siblings by decreasing width.
        for w in kids.windows(2) {
            assert!(g.nodes[w[0]].width() >= g.nodes[w[1]].width());
        }
    }
}

#[test]
fn siblings_merge_and_sort_by_width() {
    let p = prof(&[
        (&[&["c"], &["a"], &["main"]], 5, false),
        (&[&["b"], &["a"], &["main"]], 10, false),
        (&[&["d"], &["main"]], 3, false),
        (&[&["b"], &["a"], &["main"]], 2, false),
        (&[&["a"], &["main"]], 1, false),
        (&[&["e"], &["main"]], 3, false),
        (&[&["zero"], &["main"]], 0, false),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    check_invariants(&g);
    assert_eq!(
        dump(&g),
        [
            "root 24 0 0",
            "  main 24 0 0",
            "    a 18 1 0",
            "      b 12 12 0",
            "      c 5 5 0",
            // d and e tie: first seen first.
            "    d 3 3 0",
            "    e 3 3 0",
        ]
    );
    assert!(!g.diff);
    assert_eq!(g.total, 24);
    assert_eq!(g.path(3), ["main", "a", "b"]);
    let main = g.frame(&g.nodes[1]);
    assert_eq!((main.file.as_str(), main.line), ("/src/main.go", 10));
    assert_eq!(main.display, ["main"]);
}

#[test]
fn inlined_frames_expand_outermost_first() {
    // Location [inl, outer]: `inl` inlined into `outer`. `inl` also called
    // out of line from `outer` elsewhere: a different frame, so a sibling.
    let p = prof(&[
        (&[&["leaf"], &["inl", "outer"], &["main"]], 7, false),
        (&[&["inl"], &["outer"], &["main"]], 2, false),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    check_invariants(&g);
    assert_eq!(
        dump(&g),
        [
            "root 9 0 0",
            "  main 9 0 0",
            "    outer 9 0 0",
            "      inl(i) 7 0 0",
            "        leaf 7 7 0",
            "      inl 2 2 0",
        ]
    );
}

#[test]
fn unknown_functions_get_their_own_frames() {
    let p = prof(&[
        (&[&["-"], &["main"]], 1, false),
        (&[&["-"], &["main"]], 2, false),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    assert_eq!(
        dump(&g),
        [
            "root 3 0 0",
            "  main 3 0 0",
            "    ?2? 2 2 0",
            "    ?1? 1 1 0"
        ]
    );
}

#[test]
fn diff_values_split_new_and_base() {
    let p = prof(&[
        (&[&["grow"], &["main"]], 100, false),
        (&[&["grow"], &["main"]], 40, true),
        (&[&["shrink"], &["main"]], 10, false),
        (&[&["shrink"], &["main"]], 50, true),
        (&[&["gone"], &["main"]], 5, true),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    check_invariants(&g);
    assert!(g.diff);
    // pprof: percentages of a -diff_base profile are of the base's total.
    assert_eq!(g.total, 95);
    assert_eq!(
        dump(&g),
        [
            "root 110 0 95",
            "  main 110 0 95",
            "    grow 100 100 40",
            "    shrink 10 10 50",
            "    gone 0 0 5",
        ]
    );
    assert_eq!(g.nodes[2].width(), 140);
}

#[test]
fn prune_drops_narrow_subtrees_and_unused_frames() {
    let p = prof(&[
        (&[&["big"], &["main"]], 900, false),
        (&[&["x"], &["small"], &["main"]], 60, false),
        (&[&["y"], &["small"], &["main"]], 40, false),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    let q = g.prune(0.05);
    check_pruned(&q);
    assert_eq!(
        dump(&q),
        [
            "root 1000 0 0",
            "  main 1000 0 0",
            "    big 900 900 0",
            "    small 100 0 0",
            "      x 60 60 0",
        ]
    );
    // "y" no longer used by any node.
    assert!(q.frames.iter().all(|f| f.name != "y"));
    assert_eq!(q.frames.len(), 5);
    // Fraction 0 keeps everything; a huge one keeps the root alone.
    assert_eq!(g.prune(0.0), g);
    assert_eq!(dump(&g.prune(2.0)), ["root 1000 0 0"]);
}

fn check_pruned(g: &FlameGraph) {
    for (i, n) in g.nodes.iter().enumerate().skip(1) {
        assert!((n.parent as usize) < i);
        assert_eq!(n.depth, g.nodes[n.parent as usize].depth + 1);
        assert!((n.frame as usize) < g.frames.len());
    }
}

#[test]
fn json_escapes_every_name() {
    let evil = "<script>alert(1)</script> \"quotes\" 'apos' &amp; \u{1} \\ \u{2028} é";
    let p = prof(&[(&[&[evil], &["main"]], 3, false)]);
    let g = FlameGraph::from_profile(&p, 0);
    let mut out = Vec::new();
    write_json(&g, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
    assert!(!text.contains('\u{2028}'));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["frames"]["name"][2], evil);
    assert_eq!(v["nodes"]["parent"][0], -1);
    assert_eq!(v["nodes"]["value"][0], 3);
    assert_eq!(v["nodes"]["frame"].as_array().unwrap().len(), 3);
    assert_eq!(v["frames"]["file"][2], format!("/src/{evil}.go"));
    assert_eq!(v["unit"], "bytes");
    assert_eq!(v["diff"], false);
}

#[test]
fn package_names_like_pprof() {
    assert_eq!(package_name("main.main"), "main");
    assert_eq!(package_name("runtime.(*mheap).alloc"), "runtime");
    assert_eq!(package_name("github.com/a/b.(*T).M"), "github.com/a/b");
    assert_eq!(package_name("std::vector<int>::push"), "std");
    assert_eq!(package_name("nodot"), "");
}

fn fixture(name: &str) -> Profile {
    let path = format!(
        "{}/../../testdata/profiles/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    profile::parse(&bytes, &profile::ParseOptions::default())
        .unwrap()
        .profile
}

/// heap_1.pb.gz (made by testdata/gen): `go tool pprof -top -unit=b`
/// reports `1568848B total`; summing `-traces -unit=b` by outermost
/// frame gives runtime.main 1566384, runtime.systemstack 1440 and
/// runtime.gcBgMarkWorker 1024 (also the cum of those roots in `-tree`).
#[test]
fn real_heap_profile_matches_pprof() {
    let p = fixture("heap_1.pb.gz");
    let rpt = flame_report(p, &Config::default(), &mut io::sink()).unwrap();
    let g = FlameGraph::from_report(&rpt);
    check_invariants(&g);
    assert_eq!(g.sample_type, "inuse_space");
    assert_eq!(g.total, 1568848);
    assert_eq!(g.root().value, 1568848);
    let top: Vec<(&str, i64)> = g
        .children(0)
        .map(|k| (g.frame(&g.nodes[k]).name.as_str(), g.nodes[k].value))
        .collect();
    assert_eq!(
        top,
        [
            ("runtime.main", 1566384),
            ("runtime.systemstack", 1440),
            ("runtime.gcBgMarkWorker", 1024)
        ]
    );
    // filefunctions granularity: function frames carry their file.
    let main = g.frame(&g.nodes[g.children(0).next().unwrap()]);
    assert!(main.file.ends_with("runtime/proc.go"), "{}", main.file);
    assert!(main.line > 0);
}

/// The same against a live `go tool pprof` on every fixture profile and
/// its default sample index: the root equals `-top`'s total and each
/// first-level child equals the `-traces` sum of samples whose outermost
/// frame is that function.
#[test]
fn live_pprof_roots() {
    let Some(go) = std::env::var_os("HEAPDRIFT_GO") else {
        println!("HEAPDRIFT_GO is not set: skipping");
        return;
    };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/profiles");
    for name in [
        "heap_1.pb.gz",
        "heap_3.pb.gz",
        "allocs.pb.gz",
        "goroutine.pb.gz",
    ] {
        let path = format!("{dir}/{name}");
        let traces = std::process::Command::new(&go)
            .args(["tool", "pprof", "-traces", "-unit=b", &path])
            .env("TZ", "UTC")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&traces.stdout);
        let mut want: HashMap<String, i64> = HashMap::new();
        let mut want_total = 0i64;
        for block in text
            .split("-----------+-------------------------------------------------------")
            .skip(1)
        {
            let mut value = None;
            let mut last = String::new();
            for l in block.lines().filter(|l| !l.trim().is_empty()) {
                let is_label = value.is_none()
                    && l.split_whitespace()
                        .next()
                        .is_some_and(|w| w.ends_with(':'));
                if is_label {
                    continue;
                }
                let t = l.trim();
                if value.is_none() {
                    let (v, f) = t.split_once(char::is_whitespace).unwrap();
                    value = Some(parse_scaled(v));
                    last = f.trim().to_string();
                } else {
                    last = t.to_string();
                }
            }
            let Some(v) = value else { continue };
            let last = last.trim_end_matches(" (inline)").to_string();
            want_total += v;
            *want.entry(last).or_default() += v;
        }
        want.retain(|_, v| *v != 0);
        assert!(!want.is_empty(), "{name}: no traces parsed");
        let rpt = flame_report(fixture(name), &Config::default(), &mut io::sink()).unwrap();
        let g = FlameGraph::from_report(&rpt);
        check_invariants(&g);
        assert_eq!(g.root().value, want_total, "{name}");
        let got: HashMap<String, i64> = g
            .children(0)
            .map(|k| (g.frame(&g.nodes[k]).name.clone(), g.nodes[k].value))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

/// `-traces` values with `-unit=b`: `123B` for bytes, `3b` for counts.
fn parse_scaled(v: &str) -> i64 {
    let digits = v.trim_end_matches(['B', 'b']);
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not a whole number: {v}"))
}
