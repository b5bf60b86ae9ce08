//! Compares the reports with `go tool pprof`'s output on hand-built
//! profiles. The goldens come from `data/gen.sh` (specs in `data/spec`,
//! flags in `data/cases.txt`).

use std::collections::HashMap;

use profile::{Function, Label, Line, Location, Mapping, NumLabel, Profile, Sample, ValueType};
use report::{Options, OutputFormat, Report};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// Builds the profile the way `data/gen/main.go` does.
fn parse_spec(text: &str) -> Profile {
    let mut p = Profile::default();
    let mut funcs: HashMap<String, u32> = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() || f[0].starts_with("//") {
            continue;
        }
        match f[0] {
            "st" => p.sample_types.push(ValueType::new(f[1], f[2])),
            "period" => {
                p.period_type = Some(ValueType::new(f[1], f[2]));
                p.period = f[3].parse().unwrap();
            }
            "time" => p.time_nanos = f[1].parse().unwrap(),
            "duration" => p.duration_nanos = f[1].parse().unwrap(),
            "comment" => p.comments.push(f[1..].join(" ")),
            "mapping" => p.mappings.push(Mapping {
                id: p.mappings.len() as u64 + 1,
                start: 0x1000,
                limit: 0xffffff,
                file: f[1].to_string(),
                build_id: f.get(2).unwrap_or(&"").to_string(),
                has_functions: true,
                has_filenames: true,
                has_line_numbers: true,
                has_inline_frames: true,
                ..Default::default()
            }),
            "loc" => {
                let addr = u64::from_str_radix(f[1].trim_start_matches("0x"), 16).unwrap();
                let mut loc = Location {
                    id: p.locations.len() as u64 + 1,
                    address: addr,
                    mapping: (!p.mappings.is_empty()).then_some(0),
                    ..Default::default()
                };
                for fr in &f[2..] {
                    let (name, rest) = fr.split_once('@').unwrap();
                    let (file, ln) = rest.split_once(':').unwrap();
                    let key = format!("{name}@{file}");
                    let idx = *funcs.entry(key).or_insert_with(|| {
                        p.functions.push(Function {
                            id: p.functions.len() as u64 + 1,
                            name: name.to_string(),
                            system_name: name.to_string(),
                            filename: file.to_string(),
                            start_line: 0,
                        });
                        p.functions.len() as u32 - 1
                    });
                    loc.lines.push(Line {
                        function: Some(idx),
                        line: ln.parse().unwrap(),
                        column: 0,
                    });
                }
                p.locations.push(loc);
            }
            "sample" => {
                let mut s = Sample {
                    values: f[1].split(',').map(|v| v.parse().unwrap()).collect(),
                    ..Default::default()
                };
                for x in &f[2..] {
                    if let Some(nl) = x.strip_prefix('#') {
                        let (k, v) = nl.split_once('=').unwrap();
                        s.num_labels.push(NumLabel {
                            key: k.into(),
                            value: v.parse().unwrap(),
                            unit: None,
                        });
                    } else if let Some((k, v)) = x.split_once('=') {
                        s.labels.push(Label {
                            key: k.into(),
                            value: v.into(),
                        });
                    } else {
                        s.locations.push(x.parse::<u32>().unwrap() - 1);
                    }
                }
                p.samples.push(s);
            }
            other => panic!("bad spec line {other}"),
        }
    }
    p
}

/// pprof's `Profile.Aggregate` (in place, as the driver's `aggregate`).
fn aggregate(p: &mut Profile, function: bool, filename: bool, linenumber: bool, address: bool) {
    for f in &mut p.functions {
        if !function {
            f.name.clear();
            f.system_name.clear();
        }
        if !filename {
            f.filename.clear();
        }
    }
    for l in &mut p.locations {
        for line in &mut l.lines {
            if !linenumber {
                line.line = 0;
            }
            line.column = 0;
        }
        if !address {
            l.address = 0;
        }
    }
}

fn run_case(spec: &str, flags: &str) -> String {
    let mut prof = parse_spec(spec);
    let mut format = OutputFormat::Text;
    let mut sample_index = prof.sample_types.len() - 1;
    let mut cum = false;
    let mut filters: Vec<String> = Vec::new();
    let mut mean = false;
    let mut divide_by = 1.0f64;
    let mut call_tree = false;
    let mut source_path = String::new();
    let mut drop_negative = false;
    let mut node_count: Option<i64> = None;
    let mut node_fraction = 0.005;
    let mut lines = false;
    let mut unit = "minimum".to_string();
    let mut symbol = None;
    let mut compact = false;
    let mut trim = true;
    let mut default_count = 80;
    let mut addresses = false;
    for flag in flags.split_whitespace() {
        let (name, value) = flag
            .trim_start_matches('-')
            .split_once('=')
            .unwrap_or((flag.trim_start_matches('-'), ""));
        match name {
            "text" | "top" => {
                format = OutputFormat::Text;
                default_count = 0;
            }
            "tree" => format = OutputFormat::Tree,
            "dot" => format = OutputFormat::Dot,
            "traces" => format = OutputFormat::Traces,
            "tags" => format = OutputFormat::Tags,
            "comments" => format = OutputFormat::Comments,
            "callgrind" => {
                format = OutputFormat::Callgrind;
                trim = false;
                addresses = true;
            }
            "peek" => {
                format = OutputFormat::Tree;
                symbol = Some(regex::Regex::new(value).unwrap());
                trim = false;
            }
            "list" => {
                format = OutputFormat::List;
                symbol = Some(regex::Regex::new(value).unwrap());
                lines = true;
                trim = false;
            }
            "source_path" => source_path = value.replace("@DATA@", DATA),
            "cum" => cum = true,
            // These filters keep every sample of the specs, so only the
            // "Active filters" header is exercised.
            "focus" | "show" => filters.push(format!("{name}={value}")),
            "mean" => mean = true,
            "divide_by" => divide_by = value.parse().unwrap(),
            "call_tree" => call_tree = true,
            "drop_negative" => drop_negative = true,
            "lines" => lines = true,
            "compact_labels" => compact = true,
            "nodecount" => node_count = Some(value.parse().unwrap()),
            "nodefraction" => node_fraction = value.parse().unwrap(),
            "unit" => unit = value.to_string(),
            "sample_index" => {
                sample_index = prof
                    .sample_types
                    .iter()
                    .position(|st| st.r#type == value)
                    .unwrap()
            }
            other => panic!("unknown flag {other}"),
        }
    }
    // Callgrind uses address granularity, a no-op when inlines are kept.
    if !addresses {
        aggregate(&mut prof, true, lines, lines, false);
    }
    // The driver titles reports with the main binary's name.
    let prof_title = prof
        .mappings
        .first()
        .filter(|m| !m.file.is_empty())
        .map(|m| m.file.rsplit('/').next().unwrap_or("").to_string());
    let mut o = Options::for_sample_index(&prof, sample_index, format);
    o.cum_sort = cum;
    o.active_filters = filters;
    o.ratio = 1.0 / divide_by;
    if mean {
        Report::set_mean(&mut o);
    }
    o.call_tree = call_tree;
    o.source_path = source_path;
    assert_eq!(o.title, prof_title.unwrap_or_default());
    o.drop_negative = drop_negative;
    o.node_count = node_count.unwrap_or(default_count);
    o.node_fraction = node_fraction;
    o.output_unit = unit;
    o.symbol = symbol;
    o.compact_labels = compact;
    o.num_label_units.insert("bytes".into(), "bytes".into());
    if !trim {
        o.node_count = 0;
        o.node_fraction = 0.0;
        o.edge_fraction = 0.0;
    }
    let mut rpt = Report::new(prof, o);
    let mut out = Vec::new();
    let res = if format == OutputFormat::List {
        rpt.print_source(&mut out, &|p: &str| std::fs::read(p))
    } else {
        rpt.generate(&mut out)
    };
    if let Err(e) = res {
        out = format!("{e}\n").into_bytes();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn goldens_match_go_tool_pprof() {
    let cases = std::fs::read_to_string(format!("{DATA}/cases.txt")).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for line in cases.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, '|').collect();
        // Flags may contain '|' (regex alternation); only the first two split.
        let (name, spec, flags) = (parts[0], parts[1], parts[2]);
        let spec_text = std::fs::read_to_string(format!("{DATA}/spec/{spec}.prof")).unwrap();
        let want = std::fs::read_to_string(format!("{DATA}/golden/{name}.txt")).unwrap();
        let got = run_case(&spec_text, flags);
        n += 1;
        if got != want {
            failures.push(format!("--- {name} ({flags})\nwant:\n{want}\ngot:\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
