//! Behaviour that the Go oracle cannot exercise: heapdrift-only error
//! paths, index-model checks and pprof's name simplification.
use profile::passes::{self, MergeError};
use profile::{Function, Line, Location, Profile, Sample, ValueType};

fn small() -> Profile {
    Profile {
        sample_types: vec![ValueType::new("samples", "count")],
        period_type: Some(ValueType::new("cpu", "nanoseconds")),
        functions: vec![Function {
            id: 1,
            name: "f".into(),
            system_name: "f".into(),
            ..Default::default()
        }],
        locations: vec![
            Location {
                id: 7,
                lines: vec![Line {
                    function: Some(0),
                    line: 3,
                    column: 0,
                }],
                ..Default::default()
            },
            Location {
                id: 9,
                ..Default::default()
            },
        ],
        samples: vec![
            Sample {
                locations: vec![0],
                values: vec![2],
                ..Default::default()
            },
            Sample {
                locations: vec![0],
                values: vec![-2],
                ..Default::default()
            },
        ]
        .into(),
        ..Default::default()
    }
}

#[test]
fn simplify_func_follows_pprof() {
    let cases = [
        ("main", "main"),
        (".main", "main"),
        ("unsimplified_fun(int)", "unsimplified_fun"),
        (
            "Foo::(anonymous namespace)::Test::Bar",
            "Foo::(anonymous namespace)::Test::Bar",
        ),
        (
            "Hello::(anonymous namespace)::World(const Foo::(anonymous namespace)::Test::Bar)",
            "Hello::(anonymous namespace)::World",
        ),
        ("Foo::operator()(::Bar)", "Foo::operator()"),
        ("ünïcode(x)", "ünïcode"),
        ("(", ""),
    ];
    for (input, want) in cases {
        assert_eq!(passes::simplify_func(input), want, "{input}");
    }
}

#[test]
fn merge_of_nothing_is_an_error() {
    assert_eq!(
        passes::merge(&[]).unwrap_err().to_string(),
        "no profiles to merge"
    );
}

#[test]
fn merge_drops_cancelled_samples_and_unreferenced_entities() {
    let p = passes::compact(&small());
    assert!(p.samples.is_empty());
    assert!(p.locations.is_empty());
    assert!(p.functions.is_empty());
}

#[test]
fn compact_is_idempotent_and_renumbers() {
    let mut p = small();
    p.samples[1].values[0] = 5;
    let c = passes::compact(&p);
    assert_eq!(c.samples.len(), 1);
    assert_eq!(c.samples[0].values, vec![7]);
    assert_eq!(c.locations.len(), 1);
    assert_eq!(c.locations[0].id, 1);
    assert_eq!(passes::compact(&c), c);
}

#[test]
fn incompatible_profiles_do_not_merge() {
    let a = small();
    let mut b = small();
    b.sample_types[0].unit = "ms".into();
    assert!(matches!(
        passes::merge(&[a.clone(), b]),
        Err(MergeError::SampleTypes(..))
    ));
    let mut c = small();
    c.period_type = None;
    assert_eq!(
        passes::merge(&[a, c]).unwrap_err().to_string(),
        "incompatible period types &{cpu nanoseconds} and &{ }"
    );
}

#[test]
fn check_valid_rejects_dangling_indexes() {
    let mut p = small();
    p.samples[0].locations.push(5);
    assert_eq!(
        passes::check_valid(&p).unwrap_err().to_string(),
        "parsing profile: malformed profile: sample has nil location"
    );
    let mut p = small();
    p.locations[0].lines[0].function = Some(3);
    assert!(passes::check_valid(&p).is_err());
    let mut p = small();
    p.locations[0].mapping = Some(0);
    assert!(passes::check_valid(&p).is_err());
    assert!(passes::check_valid(&small()).is_ok());
}

#[test]
fn scale_n_checks_arity() {
    let mut p = small();
    assert_eq!(
        passes::scale_n(&mut p, &[1.0, 2.0])
            .unwrap_err()
            .to_string(),
        "mismatched scale ratios, got 2, want 1"
    );
}

#[test]
fn remove_uninteresting_reports_bad_regex() {
    let mut p = small();
    p.drop_frames = "(".into();
    let e = passes::remove_uninteresting(&mut p).unwrap_err();
    assert!(e.to_string().starts_with("failed to compile regexp (: "));
}

#[test]
fn diff_base_label_round_trip() {
    let mut p = small();
    passes::set_label(&mut p, passes::DIFF_BASE_LABEL, &["true"]);
    assert!(p.samples.iter().all(passes::is_diff_base_sample));
    passes::remove_label(&mut p, passes::DIFF_BASE_LABEL);
    assert!(!p.samples.iter().any(passes::is_diff_base_sample));
}

#[test]
fn sample_index_by_name_follows_pprof() {
    let mut p = small();
    p.sample_types = vec![
        ValueType::new("alloc_objects", "count"),
        ValueType::new("alloc_space", "bytes"),
        ValueType::new("space", "bytes"),
        ValueType::new("objects", "count"),
    ];
    assert_eq!(passes::sample_index_by_name(&p, ""), Ok(3));
    p.default_sample_type = "space".into();
    assert_eq!(passes::sample_index_by_name(&p, ""), Ok(2));
    assert_eq!(passes::sample_index_by_name(&p, "1"), Ok(1));
    assert_eq!(passes::sample_index_by_name(&p, "+1"), Ok(1));
    assert_eq!(passes::sample_index_by_name(&p, "inuse_objects"), Ok(3));
    assert_eq!(passes::sample_index_by_name(&p, "alloc_space"), Ok(1));
    assert_eq!(
        passes::sample_index_by_name(&p, "9")
            .unwrap_err()
            .to_string(),
        "sample_index 9 is outside the range [0..3]"
    );
    assert_eq!(
        passes::sample_index_by_name(&p, "-1")
            .unwrap_err()
            .to_string(),
        "sample_index -1 is outside the range [0..3]"
    );
    assert_eq!(
        passes::sample_index_by_name(&p, "bogus")
            .unwrap_err()
            .to_string(),
        "sample_index \"bogus\" must be one of: [alloc_objects alloc_space space objects]"
    );
}

#[test]
fn unsymbolizable_mappings() {
    let m = |f: &str| profile::Mapping {
        file: f.into(),
        ..Default::default()
    };
    for f in [
        "[vdso]",
        "/x/[heap]",
        "linux-vdso.so.1",
        "/dev/dri/card0",
        "//anon",
        "",
        "/memfd:x",
    ] {
        assert!(passes::mapping_unsymbolizable(&m(f)), "{f}");
    }
    for f in ["/bin/app", "/lib/libc.so.6", "dev/dri/x"] {
        assert!(!passes::mapping_unsymbolizable(&m(f)), "{f}");
    }
}

/// A copy of a profile shares its samples until either changes them, and
/// pprof's round-trip changes leave shared samples shared when there is
/// nothing to change: a session copies a 700k-sample profile without
/// copying its samples.
#[test]
fn copies_share_samples_until_one_changes_them() {
    let p = small();
    let mut copy = p.clone();
    assert!(copy.samples.shares(&p.samples));
    passes::roundtrip_normalize(&mut copy);
    assert!(
        copy.samples.shares(&p.samples),
        "nothing to change, nothing copied"
    );
    assert_eq!(copy.period_type, p.period_type);

    // A numeric label of value 0 without a unit is what the encoding drops.
    let mut labelled = p.clone();
    labelled.samples[0].num_labels.push(profile::NumLabel {
        key: "bytes".into(),
        value: 0,
        unit: None,
    });
    assert!(!labelled.samples.shares(&p.samples), "a change copies");
    assert!(
        p.samples[0].num_labels.is_empty(),
        "the original is untouched"
    );
    let mut normalized = labelled.clone();
    passes::roundtrip_normalize(&mut normalized);
    assert!(!normalized.samples.shares(&labelled.samples));
    assert!(normalized.samples[0].num_labels.is_empty());
    assert_eq!(labelled.samples[0].num_labels.len(), 1);

    let kept = p.clone_keeping_samples(&[false, true]);
    assert_eq!(kept.samples.len(), 1);
    assert_eq!(kept.samples[0].values, vec![-2]);
}

/// A copy that keeps some samples clones them when first read: before,
/// it counts them; after, it reads as an eager copy would, and writing to
/// it (or to a copy of it) leaves the samples it came from as they were.
#[test]
fn kept_samples_are_cloned_when_first_read() {
    let p = small();
    let kept = p.clone_keeping_samples(&[false, true]);
    assert_eq!(kept.samples.count(), 1, "counted before they are made");
    let second = kept.clone();
    assert!(second.samples.shares(&kept.samples));
    assert_eq!(kept.samples.len(), 1);
    assert_eq!(kept.samples[0], p.samples[1]);
    assert_eq!(second.samples, kept.samples, "copies read the same samples");

    let mut changed = second.clone();
    changed.samples[0].values[0] = 7;
    assert_eq!(changed.samples[0].values, vec![7]);
    assert_eq!(
        kept.samples[0].values,
        vec![-2],
        "the copy it came from is untouched"
    );
    assert_eq!(p.samples[1].values, vec![-2], "the source is untouched");

    // Written to before ever being read: made first, then changed.
    let mut fresh = p.clone_keeping_samples(&[true, false]);
    fresh.samples.retain(|_| false);
    assert_eq!((fresh.samples.count(), p.samples.len()), (0, 2));
    // Keeping every sample shares them.
    assert!(
        p.clone_keeping_samples(&[true, true])
            .samples
            .shares(&p.samples)
    );
}

/// Large profiles clone their kept samples on two threads: in order.
#[test]
fn keeping_samples_of_a_large_profile_keeps_their_order() {
    let mut p = small();
    p.samples = (0..250_000)
        .map(|i| Sample {
            locations: vec![0],
            values: vec![i],
            ..Default::default()
        })
        .collect();
    let keep: Vec<bool> = (0..250_000).map(|i| i % 3 == 1).collect();
    let kept = p.clone_keeping_samples(&keep);
    let values: Vec<i64> = kept.samples.iter().map(|s| s.values[0]).collect();
    let want: Vec<i64> = (0..250_000).filter(|i| i % 3 == 1).collect();
    assert_eq!(values, want);
}
