//! `heapdrift flame` end to end: the SVG parses as XML, its numbers agree
//! with `heapdrift pprof -top` (itself byte-identical to go tool pprof),
//! names from the profile stay text, a diff colours growth red, folded
//! stacks add up, and bad input gives one line and exit status 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn profiles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/profiles")
}

fn fixture(name: &str) -> String {
    profiles().join(name).to_string_lossy().into_owned()
}

fn heapdrift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(args)
        .output()
        .expect("run heapdrift")
}

fn ok(args: &[&str]) -> String {
    let o = heapdrift(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

/// The total of `heapdrift pprof -top -unit=b` (`… of 1568848B total`).
fn top_total(args: &[&str]) -> i64 {
    top_total_in("b", args)
}

/// The total of `heapdrift pprof -top -unit=UNIT`, in that unit (`b` for
/// bytes and counts, `ns` for times).
fn top_total_in(unit: &str, args: &[&str]) -> i64 {
    let unit = format!("-unit={unit}");
    let mut all = vec!["pprof", "-top", &unit];
    all.extend_from_slice(args);
    let text = ok(&all);
    let line = text
        .lines()
        .find(|l| l.starts_with("Showing nodes accounting for"))
        .unwrap_or_else(|| panic!("no total in {text}"));
    let total = line
        .rsplit(" of ")
        .next()
        .unwrap()
        .trim_end_matches(" total")
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    total.parse().unwrap_or_else(|_| panic!("{line}"))
}

fn json(args: &[&str]) -> Value {
    let mut all = vec!["flame", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(&all)).expect("JSON")
}

/// Sums of the folded lines' trailing numbers, `cols` per line (names
/// may hold spaces: Go's generic shapes do).
fn folded_sums(text: &str, cols: usize) -> Vec<i64> {
    let mut sums = vec![0i64; cols];
    for l in text.lines() {
        let fields: Vec<&str> = l.rsplitn(cols + 1, ' ').collect();
        assert_eq!(fields.len(), cols + 1, "{l}");
        assert!(!fields[cols].is_empty(), "{l}");
        for (k, s) in sums.iter_mut().enumerate() {
            *s += fields[cols - 1 - k]
                .parse::<i64>()
                .unwrap_or_else(|_| panic!("{l}"));
        }
    }
    sums
}

/// Frames of an SVG: (tooltip, fill).
fn svg_frames(text: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(text).expect("well-formed SVG");
    let root = doc.root_element();
    assert!(root.has_tag_name(("http://www.w3.org/2000/svg", "svg")));
    let frames = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("frames"))
        .expect("frames group");
    frames
        .children()
        .filter(|n| n.is_element())
        .map(|g| {
            let title = g.children().find(|c| c.has_tag_name("title")).unwrap();
            let rect = g.children().find(|c| c.has_tag_name("rect")).unwrap();
            (
                title.text().unwrap_or("").to_string(),
                rect.attribute("fill").unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn svg_is_well_formed_and_totals_match_top() {
    for (name, unit) in [
        ("heap_1.pb.gz", "b"),
        ("allocs.pb.gz", "b"),
        ("goroutine.pb.gz", "b"),
        ("cpu.pb.gz", "ns"),
    ] {
        let f = fixture(name);
        let want = top_total_in(unit, &[&f]);
        let svg = ok(&["flame", &f]);
        let frames = svg_frames(&svg);
        assert!(frames.len() > 3, "{name}");
        assert!(frames[0].0.starts_with("root\n"), "{name}");
        // The SVG has one script (ours) and nothing external.
        assert_eq!(svg.matches("<script").count(), 1);
        assert!(!svg.contains("href"), "{name}: external reference");
        let g = json(&[&f]);
        assert_eq!(g["total"], want, "{name}");
        assert_eq!(g["nodes"]["value"][0], want, "{name}");
    }
}

#[test]
fn totals_match_on_other_sources_and_sample_indexes() {
    for (name, si) in [
        ("heap_1.pb.gz", "alloc_space"),
        ("heap_1.pb.gz", "0"),
        ("goroutine_dump.txt", ""),
        ("heap.txt", ""),
        ("block.pb.gz", "contentions"),
    ] {
        let f = fixture(name);
        let si_flag = format!("--sample_index={si}");
        let si_pprof = format!("-sample_index={si}");
        let (fl, pp): (Vec<&str>, Vec<&str>) = if si.is_empty() {
            (vec![&f], vec![&f])
        } else {
            (vec![&si_flag, &f], vec![&si_pprof, &f])
        };
        let want = top_total(&pp);
        let g = json(&fl);
        assert_eq!(g["nodes"]["value"][0], want, "{name} {si}");
        let mut args = vec!["flame", "--folded"];
        args.extend_from_slice(&fl);
        assert_eq!(folded_sums(&ok(&args), 1), [want], "{name} {si}");
    }
}

#[test]
fn focus_keeps_the_unfiltered_total_like_pprof() {
    let f = fixture("heap_1.pb.gz");
    let total = top_total(&[&f]);
    let focused = top_total(&["-focus=buildTree", &f]);
    let g = json(&["--focus=buildTree", &f]);
    // Percentages stay relative to the whole profile, as in -top.
    assert_eq!(g["total"], total);
    let root = g["nodes"]["value"][0].as_i64().unwrap();
    assert!(root > 0 && root < total);
    let folded = ok(&["flame", "--folded", "--focus=buildTree", &f]);
    assert_eq!(folded_sums(&folded, 1), [root]);
    assert!(
        folded.lines().all(|l| l.contains("main.buildTree")),
        "{folded}"
    );
    assert_eq!(focused, total);
}

#[test]
fn folded_sums_equal_the_profile_total() {
    let f = fixture("heap_3.pb.gz");
    let folded = ok(&["flame", "--folded", &f]);
    assert_eq!(folded_sums(&folded, 1), [top_total(&[&f])]);
    // Callers first: every stack starts at a root function.
    assert!(folded.lines().all(|l| !l.starts_with(';')));
    assert!(
        folded
            .lines()
            .any(|l| l.starts_with("runtime.main;main.main;main.run;"))
    );
}

#[test]
fn diff_of_two_heap_snapshots_colours_growth_red() {
    let (old, new) = (fixture("heap_1.pb.gz"), fixture("heap_3.pb.gz"));
    let svg = ok(&["flame", "--base", &old, &new]);
    let frames = svg_frames(&svg);
    // main.run → main.newPayload grew from 450kB to 1.79MB.
    let payload = frames
        .iter()
        .find(|(t, _)| t.starts_with("main.newPayload (inlined)\n") && t.contains("base 450kB"))
        .unwrap_or_else(|| panic!("no grown frame in {frames:?}"));
    let rgb: Vec<u32> = payload.1["rgb(".len()..payload.1.len() - 1]
        .split(',')
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(rgb[0], 255, "{payload:?}");
    assert!(rgb[1] < 150 && rgb[1] == rgb[2], "{payload:?}");
    assert!(payload.0.contains("→ 1.79MB"), "{payload:?}");
    // Folded: before and after columns add up to each profile's total.
    let folded = ok(&["flame", "--folded", "--base", &old, &new]);
    assert_eq!(
        folded_sums(&folded, 2),
        [top_total(&[&old]), top_total(&[&new])]
    );
    assert!(
        folded
            .lines()
            .any(|l| l == "runtime.main;main.main;main.run;main.newPayload 460800 1881600"),
        "{folded}"
    );
    // JSON: percentages of the base, as pprof's -diff_base.
    let g = json(&["--base", &old, &new]);
    assert_eq!(g["diff"], true);
    assert_eq!(g["total"], top_total(&[&old]));
    assert_eq!(g["nodes"]["base"][0], top_total(&[&old]));
}

/// A profile whose function and file names try to break out of XML and
/// JSON, written as a gzipped profile.proto.
fn evil_profile(dir: &Path) -> PathBuf {
    use profile::{Function, Line, Location, Profile, Sample, ValueType};
    let names = [
        "<script>alert(1)</script>",
        "\"quotes\"",
        "'apos'",
        "&amp;",
        "]]><x/>",
    ];
    let mut p = Profile {
        sample_types: vec![ValueType::new("inuse_space", "bytes")],
        ..Default::default()
    };
    p.functions.push(Function {
        id: 1,
        name: "main.main".into(),
        system_name: "main.main".into(),
        filename: "main.go".into(),
        start_line: 1,
    });
    p.locations.push(Location {
        id: 1,
        address: 0x1000,
        lines: vec![Line {
            function: Some(0),
            line: 3,
            column: 0,
        }],
        ..Default::default()
    });
    for (i, n) in names.iter().enumerate() {
        p.functions.push(Function {
            id: i as u64 + 2,
            name: n.to_string(),
            // A system name of its own: otherwise pprof's demangling
            // fallback (which heapdrift reproduces) would simplify names
            // with `<…>` or `(…)`, and `<script>alert(1)</script>` would
            // reach the graph as `alert`.
            system_name: format!("sys{i}"),
            filename: format!("{n}.go"),
            start_line: 7,
        });
        p.locations.push(Location {
            id: i as u64 + 2,
            address: 0x2000 + i as u64,
            lines: vec![Line {
                function: Some(i as u32 + 1),
                line: 9,
                column: 0,
            }],
            ..Default::default()
        });
        p.samples.push(Sample {
            locations: vec![i as u32 + 1, 0],
            values: vec![1000 * (i as i64 + 1)],
            ..Default::default()
        });
    }
    let path = dir.join("evil.pb.gz");
    std::fs::write(&path, profile::gz::compress(&profile::proto::encode(&p))).unwrap();
    path
}

#[test]
fn names_from_the_profile_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = evil_profile(dir.path());
    let path = path.to_str().unwrap();
    let names = [
        "<script>alert(1)</script>",
        "\"quotes\"",
        "'apos'",
        "&amp;",
        "]]><x/>",
    ];
    let svg = ok(&["flame", path]);
    let frames = svg_frames(&svg);
    for n in names {
        let f = frames
            .iter()
            .find(|(t, _)| t.lines().next() == Some(n))
            .unwrap_or_else(|| panic!("{n} not in {frames:?}"));
        assert!(f.0.contains(&format!("{n}.go:7")), "{f:?}");
    }
    assert_eq!(svg.matches("<script").count(), 1);
    assert!(!svg.contains("<x/>"));
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("x")).count(), 0);

    let out = ok(&["flame", "--json", path]);
    assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
    let g: Value = serde_json::from_str(&out).unwrap();
    let got: Vec<&str> = g["frames"]["name"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for n in names {
        assert!(got.contains(&n), "{n} not in {got:?}");
    }
}

#[test]
fn output_file_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.svg");
    let f = fixture("heap_1.pb.gz");
    let o = heapdrift(&["flame", &f, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written, ok(&["flame", &f]));
    svg_frames(&written);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pb.gz");
    std::fs::write(&garbage, b"\x1f\x8b\x08\x00garbage").unwrap();
    let garbage = garbage.to_str().unwrap();
    let heap = fixture("heap_1.pb.gz");
    let missing = dir.path().join("missing.pb.gz");
    let missing = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![garbage], garbage),
        (vec![missing], "no such file or directory"),
        (vec![&heap, "--base", missing], missing),
        (vec!["--focus=main.(", &heap], "parsing focus regexp"),
        (vec!["--sample_index=nope", &heap], "sample_index"),
        (vec!["--granularity=nope", &heap], "granularity"),
        (vec!["--bogus", &heap], "--bogus"),
        (vec![], "required"),
        (
            vec![&heap, "-o", "/nonexistent/dir/x.svg"],
            "/nonexistent/dir/x.svg",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["flame"];
        all.extend_from_slice(&args);
        let o = heapdrift(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(err.starts_with("heapdrift flame: "), "{err:?}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err:?}");
        assert!(o.stdout.is_empty());
    }
}

/// Chromium for the browser test: `HEAPDRIFT_CHROMIUM`, else `chromium` on
/// PATH (the test is ignored when neither is there: build/test-prereqs.rs).
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("HEAPDRIFT_CHROMIUM") {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chromium"))
                .find(|p| p.is_file())
        })
        .expect("chromium on PATH")
}

/// The SVG's script in a real browser: a click on a frame zooms to it (the
/// frame spans the chart, frames outside it hide), a click on the root
/// resets, search highlights and reports the matched share.
#[test]
#[cfg_attr(
    not(heapdrift_chromium),
    ignore = "needs chromium (HEAPDRIFT_CHROMIUM or on PATH): scripts/setup-browser.sh"
)]
fn svg_script_zooms_and_searches_in_chromium() {
    let chrome = chromium();
    let f = fixture("heap_1.pb.gz");
    let svg = ok(&["flame", &f]);
    let probe = r#"<script><![CDATA[
(function () {
  var gs = document.getElementById('frames').getElementsByTagName('g');
  function tip(g) { return g.getElementsByTagName('title')[0].textContent; }
  function hidden() {
    var n = 0;
    for (var i = 0; i < gs.length; i++) if (gs[i].classList.contains('hide')) n++;
    return n;
  }
  function click(g) { g.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
  var target = null;
  for (var i = 0; i < gs.length; i++) {
    if (tip(gs[i]).indexOf('main.buildTree\n') === 0) { target = gs[i]; break; }
  }
  var out = [];
  out.push('before=' + hidden());
  click(target);
  out.push('width=' + target.getElementsByTagName('rect')[0].getAttribute('width'));
  out.push('x=' + target.getElementsByTagName('rect')[0].getAttribute('x'));
  out.push('zoomed=' + hidden());
  out.push('unzoom=' + !document.getElementById('unzoom').classList.contains('hide'));
  click(gs[0]);
  out.push('reset=' + hidden());
  out.push('hits=' + window.flameSearch('^main\\.buildTree$'));
  out.push('matched=' + document.getElementById('matched').textContent);
  out.push('magenta=' + document.getElementsByClassName('match').length);
  document.getElementById('details').textContent = 'PROBE ' + out.join(' ') + ' END';
})();
]]></script></svg>"#;
    let svg = svg.replacen("</svg>", probe, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.svg");
    std::fs::write(&path, svg).unwrap();
    let o = Command::new("timeout")
        .arg("120")
        .arg(&chrome)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&o.stdout);
    let probe = dom
        .split("PROBE ")
        .nth(1)
        .and_then(|s| s.split(" END").next())
        .unwrap_or_else(|| panic!("no probe output: {}", String::from_utf8_lossy(&o.stderr)));
    let kv: std::collections::HashMap<&str, &str> =
        probe.split(' ').filter_map(|p| p.split_once('=')).collect();
    assert_eq!(kv["before"], "0", "{probe}");
    // Zoomed: the frame spans the chart (1200 px less 10 px margins).
    assert_eq!(kv["width"], "1180.00", "{probe}");
    assert_eq!(kv["x"], "10.00", "{probe}");
    assert!(kv["zoomed"].parse::<usize>().unwrap() > 10, "{probe}");
    assert_eq!(kv["unzoom"], "true", "{probe}");
    assert_eq!(kv["reset"], "0", "{probe}");
    // Four nested main.buildTree frames, counted once: 32.4% of the total.
    assert_eq!(kv["hits"], "4", "{probe}");
    assert_eq!(kv["magenta"], "4", "{probe}");
    assert_eq!(
        probe
            .split("matched=")
            .nth(1)
            .unwrap()
            .split(' ')
            .take(2)
            .collect::<Vec<_>>(),
        ["Matched:", "32.4%"],
        "{probe}"
    );
}
