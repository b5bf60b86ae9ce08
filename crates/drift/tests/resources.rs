//! Tracked resources: a custom profile (`pprof.NewProfile`, as
//! heapdriftprobe's `Track` makes it) counts what is held by acquiring
//! stack, and `hunt` judges each site's count as it judges goroutine
//! groups.

mod common;

use common::{Builder, Rng};
use drift::goroutine::{GoroutineSeriesBuilder, GroupOptions};
use drift::resource::ResourceSeries;
use drift::{HuntOptions, Inputs, Kind, Unit, Verdict};
use profile::ValueType;

const NAME: &str = "example.com/shop/db.conns";
const SEC: i64 = 1_000_000_000;

/// A custom profile of `NAME` at second `t` of a service whose error path
/// forgets to release (2 per minute), beside a pool of 8 opened at start,
/// a cache of connections that fills to 16 over its first 3 minutes, and
/// connections held per request (0 to 6 at any moment).
fn snapshot(t: i64, rng: &mut Rng) -> profile::Profile {
    let mut b = Builder::goroutine();
    b.p.sample_types = vec![ValueType::new(NAME, "count")];
    b.p.period_type = Some(ValueType::new(NAME, "count"));
    b.p.time_nanos = t * SEC;
    let minutes = t as f64 / 60.0;
    let sites: [(&str, i64, i64); 4] = [
        ("main.(*store).get", 41, (2.0 * minutes) as i64),
        ("main.newPool", 17, 8),
        (
            "main.(*cache).conn",
            63,
            (16.0 * (1.0 - (-minutes).exp())).round() as i64,
        ),
        ("main.handle", 90, (3.0 + 3.0 * rng.next()).round() as i64),
    ];
    for (function, line, held) in sites {
        if held <= 0 {
            continue;
        }
        let stack = b.stack(&[
            (function, "/src/shop/store.go", line),
            ("main.main", "/src/shop/main.go", 12),
        ]);
        b.goroutine_sample(stack, held, &[]);
    }
    b.p
}

fn series(points: i64, every_secs: i64) -> ResourceSeries {
    let mut rng = Rng(7);
    let mut gb = GoroutineSeriesBuilder::new(GroupOptions::default());
    for i in 0..points {
        gb.push(&snapshot(i * every_secs, &mut rng)).unwrap();
    }
    ResourceSeries {
        name: NAME.into(),
        series: gb.finish(),
    }
}

/// One acquiring site of `NAME` holding `counts`, a snapshot every
/// `every_secs`.
fn one_site(function: &str, line: i64, counts: &[i64], every_secs: i64) -> ResourceSeries {
    let mut gb = GoroutineSeriesBuilder::new(GroupOptions::default());
    for (i, &n) in counts.iter().enumerate() {
        let mut b = Builder::goroutine();
        b.p.sample_types = vec![ValueType::new(NAME, "count")];
        b.p.time_nanos = i as i64 * every_secs * SEC;
        let s = b.stack(&[(function, "/src/store.go", line)]);
        b.goroutine_sample(s, n, &[]);
        gb.push(&b.p).unwrap();
    }
    ResourceSeries {
        name: NAME.into(),
        series: gb.finish(),
    }
}

fn hunt(r: &ResourceSeries) -> drift::Report {
    drift::hunt(
        &Inputs {
            resources: std::slice::from_ref(r),
            ..Default::default()
        },
        &HuntOptions::default(),
    )
}

#[test]
fn the_site_that_never_releases_is_the_leak_and_pools_are_not() {
    let r = series(20, 30);
    let report = hunt(&r);
    let growing: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.verdict >= Verdict::Suspect)
        .collect();
    assert_eq!(growing.len(), 1, "{:#?}", report.findings);
    let f = growing[0];
    assert_eq!(f.verdict, Verdict::Leak);
    assert_eq!(f.kind, Kind::Resource);
    assert_eq!(f.resource.as_deref(), Some(NAME));
    assert_eq!(
        (f.function.as_str(), f.file.as_str(), f.line),
        ("main.(*store).get", "/src/shop/store.go", 41)
    );
    assert_eq!(f.unit, Unit::Held);
    assert!(
        (f.growth_per_min - 2.0).abs() < 0.3,
        "{} held/min",
        f.growth_per_min
    );
    assert!(f.root_cause.contains(NAME), "{}", f.root_cause);
    // The cache that filled once is at most a plateau; the pool and the
    // per-request connections are not reported.
    for f in &report.findings {
        if f.function != "main.(*store).get" {
            assert!(f.verdict <= Verdict::Plateau, "{f:#?}");
            assert_ne!(f.function, "main.newPool");
            assert_ne!(f.function, "main.handle");
        }
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["findings"][0]["kind"], "resource");
    assert_eq!(json["findings"][0]["resource"], NAME);
    assert_eq!(json["findings"][0]["unit"], "held");
}

#[test]
fn a_resource_finding_renders_with_its_profile_name() {
    let r = series(20, 30);
    let report = hunt(&r);
    let header = drift::render::Header {
        process: "shop".into(),
        resource_sites: r.series.groups.len(),
        snapshots: vec![(format!("{NAME} (resource)"), r.series.len())],
        ..Default::default()
    };
    let mut out = Vec::new();
    drift::render::render_text(
        &mut out,
        &header,
        &report.findings,
        &drift::render::RenderOptions::default(),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("#1 LEAK resource"), "{text}");
    assert!(
        text.contains("site       main.(*store).get /src/shop/store.go:41"),
        "{text}"
    );
    assert!(text.contains(&format!("resource   {NAME}")), "{text}");
    assert!(text.contains("held/min"), "{text}");
    assert!(
        text.contains("examined: 4 acquiring sites of tracked resources"),
        "{text}"
    );
}

/// Six snapshots of a steady leak are enough for a verdict; a short
/// series of a constant count never is one.
#[test]
fn few_snapshots_of_a_constant_count_say_nothing() {
    let r = one_site("main.open", 5, &[40; 6], 10);
    let found = drift::resource::analyze_resources(&r, &Default::default());
    assert!(found.is_empty(), "{found:#?}");
}

/// Files held while a slow client drains them (the zoo's filestore, 20
/// reads a second held 0-300 ms) counted once a second under a busy
/// machine: 1, 2, 4, 3, 4, 4, 3, 5. The trend test alone calls that
/// `suspect` (p 0.03, a rise of 3.5); but a count held in flight is
/// Poisson around its level (±2 at 4), so the rise is the load's noise.
/// A leak of the same size per snapshot on top of a larger level is still
/// one.
#[test]
fn a_count_held_in_flight_is_not_a_leak_for_rising_within_its_noise() {
    let series = |counts: &[i64]| one_site("main.(*store).stream", 95, counts, 1);
    let opts = Default::default();
    let churn = drift::resource::analyze_resources(&series(&[1, 2, 4, 3, 4, 4, 3, 5]), &opts);
    assert!(churn.is_empty(), "{churn:#?}");
    let leak = drift::resource::analyze_resources(&series(&[4, 9, 14, 18, 23, 28, 33, 37]), &opts);
    assert_eq!(leak.len(), 1);
    assert_eq!(leak[0].verdict, Verdict::Leak, "{leak:#?}");
}
