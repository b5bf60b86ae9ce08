use super::*;
use profile::{Function, Label, Location, Sample, ValueType};

/// The flame graph's report, as every view makes it.
fn flame_report(p: Profile) -> Report {
    let mut stderr = io::sink();
    let mut env = crate::driver::Env::without_sources(&mut stderr);
    crate::driver::make_report(
        p,
        command(),
        None,
        &Config::default(),
        &edit_config,
        &mut env,
    )
    .unwrap()
}

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
    let rpt = flame_report(p);
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
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn live_pprof_roots() {
    let go = std::env::var_os("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
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
        let rpt = flame_report(fixture(name));
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

fn folded(g: &FlameGraph) -> String {
    let mut out = Vec::new();
    write_folded(g, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn folded_stacks_one_line_per_stack() {
    let p = prof(&[
        (&[&["b"], &["a"], &["main"]], 10, false),
        (&[&["a"], &["main"]], 1, false),
        (&[&["c"], &["a;x\ny"], &["main"]], 5, false),
        (&[&["b"], &["a"], &["main"]], 2, false),
        (&[], 4, false),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    assert_eq!(
        folded(&g),
        "root 4\nmain;a 1\nmain;a;b 12\nmain;a:x y;c 5\n"
    );
    // A pruned graph folds what was pruned into the parent's line.
    assert_eq!(
        folded(&g.prune(0.25)),
        "root 4\nmain 5\nmain;a 1\nmain;a;b 12\n"
    );
}

#[test]
fn folded_diff_has_before_and_after() {
    let p = prof(&[
        (&[&["grow"], &["main"]], 100, false),
        (&[&["grow"], &["main"]], 40, true),
        (&[&["gone"], &["main"]], 5, true),
        (&[&["new"], &["main"]], 7, false),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    assert_eq!(
        folded(&g),
        "main;grow 40 100\nmain;new 0 7\nmain;gone 5 0\n"
    );
}

fn svg(g: &FlameGraph) -> String {
    let mut out = Vec::new();
    write_svg(g, &SvgOptions::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Frames of a parsed SVG: (tooltip, fill, label).
fn svg_frames(doc: &roxmltree::Document) -> Vec<(String, String, String)> {
    let frames = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("frames"))
        .unwrap();
    frames
        .children()
        .filter(|n| n.has_tag_name("g"))
        .map(|g| {
            let child = |tag: &str| g.children().find(|c| c.has_tag_name(tag)).unwrap();
            (
                child("title").text().unwrap_or("").to_string(),
                child("rect").attribute("fill").unwrap().to_string(),
                child("text").text().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn svg_names_stay_text() {
    let names = [
        "<script>alert(1)</script>",
        "\"quotes\"",
        "'apos'",
        "&amp;",
        "ctl\u{1}\u{7}x]]>",
    ];
    let p = prof(&[
        (&[&[names[0]], &["main"]], 500, false),
        (&[&[names[1]], &["main"]], 400, false),
        (&[&[names[2]], &["main"]], 300, false),
        (&[&[names[3]], &["main"]], 200, false),
        (&[&[names[4]], &["main"]], 100, false),
    ]);
    let mut g = FlameGraph::from_profile(&p, 0);
    g.title = "</title><script>alert(2)</script>".into();
    let text = svg(&g);
    let doc = roxmltree::Document::parse(&text).unwrap();
    // One script, ours.
    let scripts: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("script"))
        .collect();
    assert_eq!(scripts.len(), 1);
    assert!(!scripts[0].text().unwrap().contains("alert"));
    let frames = svg_frames(&doc);
    assert_eq!(frames.len(), 7);
    for (k, name) in names.iter().enumerate() {
        let (tip, _, label) = &frames[2 + k];
        let want = name.replace(['\u{1}', '\u{7}'], "\u{FFFD}");
        assert_eq!(tip.lines().next().unwrap(), want);
        assert!(tip.contains(&format!("/src/{want}.go:10")), "{tip}");
        // Wide enough to show the whole name (pprof's shortening keeps
        // these as they are).
        assert!(want.starts_with(label.trim_end_matches("..")), "{label:?}");
    }
    let title = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("title"))
        .unwrap();
    assert_eq!(
        title.text().unwrap(),
        "</title><script>alert(2)</script>: inuse_space flame graph"
    );
    // Tooltips: value in the unit and percentage.
    assert!(frames[2].0.contains("500B (33.33%)"), "{}", frames[2].0);
}

#[test]
fn svg_diff_colours_growth_red_and_shrink_blue() {
    let p = prof(&[
        (&[&["grow"], &["main"]], 100, false),
        (&[&["grow"], &["main"]], 40, true),
        (&[&["shrink"], &["main"]], 10, false),
        (&[&["shrink"], &["main"]], 50, true),
        (&[&["same"], &["main"]], 30, false),
        (&[&["same"], &["main"]], 30, true),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    let text = svg(&g);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let frames = svg_frames(&doc);
    let fill = |name: &str| {
        let f = frames
            .iter()
            .find(|f| f.0.lines().next() == Some(name))
            .unwrap();
        let rgb: Vec<u32> = f.1[4..f.1.len() - 1]
            .split(',')
            .map(|c| c.parse().unwrap())
            .collect();
        (rgb[0], rgb[1], rgb[2], f.0.clone())
    };
    let (r, gr, b, tip) = fill("grow");
    assert!(r == 255 && gr < 200 && gr == b, "{r} {gr} {b}");
    assert!(
        tip.contains("base 40B") && tip.contains("100B") && tip.contains("+60B, +150.0%"),
        "{tip}"
    );
    let (r, gr, b, _) = fill("shrink");
    assert!(b == 255 && r < 200 && r == gr);
    let (r, gr, b, _) = fill("same");
    assert_eq!((r, gr, b), (220, 220, 220));
    // Stronger change, stronger colour: shrink (-80%) deeper than grow (+60%
    // of the new value).
    assert!(fill("shrink").0 < fill("grow").1);
}

#[test]
fn svg_leaves_out_frames_narrower_than_a_tenth_of_a_pixel() {
    let p = prof(&[
        (&[&["big"], &["main"]], 1_000_000, false),
        (&[&["tiny"], &["main"]], 1, false),
    ]);
    let g = FlameGraph::from_profile(&p, 0);
    let text = svg(&g);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let names: Vec<String> = svg_frames(&doc)
        .into_iter()
        .map(|f| f.0.lines().next().unwrap().to_string())
        .collect();
    assert_eq!(names, ["root", "main", "big"]);
}
