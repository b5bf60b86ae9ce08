//! Writes the hostile profiles of the web UI's escaping tests:
//! `xss-heap.pb.gz` and its diff base `xss-heap-base.pb.gz`, whose function,
//! file, mapping and label names carry markup, quotes and entities.
//!
//! `cargo run -p heapdrift-web --example make_xss_profile -- testdata/xss`

use profile::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};

/// The names every view must show as literal text.
const HOSTILE: &[&str] = &[
    "main.<script>alert(1)</script>",
    "main.\"quote\"",
    "main.'apos'",
    "main.&amp;",
];

fn profile(values: &[(usize, i64)]) -> Profile {
    let mut names = vec!["main.main", "main.grow"];
    names.extend_from_slice(HOSTILE);
    let functions: Vec<Function> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Function {
            id: i as u64 + 1,
            name: n.to_string(),
            system_name: n.to_string(),
            filename: format!("/src/<b>x</b>&amp;/\"f{i}\".go"),
            start_line: 10 * (i as i64 + 1),
        })
        .collect();
    let locations: Vec<Location> = (0..names.len())
        .map(|i| Location {
            id: i as u64 + 1,
            mapping: Some(0),
            address: 0x1000 + 0x10 * i as u64,
            lines: vec![Line {
                function: Some(i as u32),
                line: 10 * (i as i64 + 1) + 2,
                column: 0,
            }],
            is_folded: false,
        })
        .collect();
    // Each hostile leaf (index >= 1) is called from main.main (0); its
    // second value is the in-use bytes.
    let samples = values
        .iter()
        .map(|&(leaf, v)| Sample {
            locations: vec![leaf as u32, 0],
            values: vec![v / 64, v],
            labels: vec![Label {
                key: "<i>k</i>".into(),
                value: "<img src=x onerror=alert(3)>".into(),
            }],
            num_labels: vec![],
        })
        .collect();
    Profile {
        sample_types: vec![
            ValueType::new("inuse_objects", "count"),
            ValueType::new("inuse_space", "bytes"),
        ],
        default_sample_type: String::new(),
        samples,
        mappings: vec![Mapping {
            id: 1,
            start: 0x1000,
            limit: 0x2000,
            file: "/bin/<img src=x onerror=alert(2)>".into(),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..Default::default()
        }],
        locations,
        functions,
        comments: vec!["<script>alert(4)</script>".into()],
        period_type: Some(ValueType::new("space", "bytes")),
        period: 524288,
        time_nanos: 1_700_000_000_000_000_000,
        ..Default::default()
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testdata/xss".into());
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create output directory");
    // main.grow grows 8x from base to new; the hostile frames stay or shrink.
    let new = profile(&[
        (1, 8 << 20),
        (2, 1 << 20),
        (3, 512 << 10),
        (4, 256 << 10),
        (5, 128 << 10),
    ]);
    let base = profile(&[
        (1, 1 << 20),
        (2, 1 << 20),
        (3, 1 << 20),
        (4, 256 << 10),
        (5, 128 << 10),
    ]);
    for (name, p) in [("xss-heap.pb.gz", &new), ("xss-heap-base.pb.gz", &base)] {
        let bytes = profile::gz::compress(&profile::proto::encode(p));
        std::fs::write(dir.join(name), bytes).expect("write profile");
    }
}
