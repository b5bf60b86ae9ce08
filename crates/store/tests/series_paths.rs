//! Property: every input path gives the same series. One process's
//! snapshots (heap protos with random values, goroutine profiles with
//! random counts) read as plain files (in time order, and under names in
//! reverse order, which makes the builder rebuild), from an archive (the
//! heap series from the index, and from the files), and pushed as
//! `watch`'s live view pushes them: the heap series, the goroutine series,
//! the snapshot counts and the findings are identical.

mod common;

use std::io::Write;

use common::*;
use drift::series::{HeapSeries, Metric};
use proptest::prelude::*;
use series::builder::{BuildOptions, Built, Entry, SeriesBuilder, SnapshotRef};
use series::{FileOptions, Files, Kind};
use store::read::{ArchiveOptions, SeriesPick, build_series, select_series};
use store::{Archive, Identity};

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const T0: i64 = 1_795_000_000_000_000_000;

/// One snapshot: kind, time, bytes (gzipped proto).
type Snap = (Kind, i64, Vec<u8>);

/// `n` heap snapshots `step_secs` apart with per-site values scaled by
/// `scale`, each followed 1 ms later by a goroutine profile whose counts
/// are `counts`.
fn snapshots(n: usize, sites: usize, step_secs: i64, scale: &[i64], counts: &[i64]) -> Vec<Snap> {
    let goroutine = profile::parse(&testdata("goroutine.pb.gz"), &Default::default())
        .unwrap()
        .profile;
    let mut out = Vec::new();
    for i in 0..n {
        let at = T0 + i as i64 * step_secs * 1_000_000_000;
        let mut h = synth_heap(sites, i as i64, at);
        for (j, s) in h.samples.iter_mut().enumerate() {
            let k = scale[(i * 7 + j) % scale.len()];
            // inuse values move freely; alloc values stay cumulative.
            s.values[2] = s.values[2] * k / 4;
            s.values[3] = s.values[3] * k / 4;
        }
        out.push((Kind::Heap, at, gz(&profile::proto::encode(&h))));
        // The same process: the heap's main mapping.
        let mut g = goroutine.clone();
        g.mappings = h.mappings.clone();
        for l in &mut g.locations {
            l.mapping = Some(0);
        }
        g.time_nanos = at + 1_000_000;
        for (j, s) in g.samples.iter_mut().enumerate() {
            s.values[0] = 1 + counts[(i + j) % counts.len()];
        }
        out.push((
            Kind::Goroutine,
            at + 1_000_000,
            gz(&profile::proto::encode(&g)),
        ));
    }
    out
}

fn by_files(snaps: &[Snap], reversed: bool) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let n = snaps.len();
    for (i, (kind, at, bytes)) in snaps.iter().enumerate() {
        let rank = if reversed { n - i } else { i };
        let name = format!("{rank:04}-{}-{at}.pb.gz", kind.as_str());
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let mut procs = series::build_files(
        &Files(vec![dir.path().to_path_buf()]),
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(procs.len(), 1, "one process");
    procs.remove(0).built
}

fn by_archive(snaps: &[Snap], from_files: bool) -> Built {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut a = Archive::open(dir.path()).unwrap();
        let t = a.target("http://svc:6060").unwrap();
        let s = a
            .begin_series(t, T0, &Identity::default(), "first")
            .unwrap();
        for (kind, at, bytes) in snaps {
            a.put(s, *kind, *at, None, bytes, &summarize(bytes))
                .unwrap();
        }
    }
    let a = Archive::open_read_only(dir.path()).unwrap();
    let sel = select_series(&a, None, SeriesPick::Latest).unwrap();
    build_series(
        &a,
        &sel[0],
        &ArchiveOptions {
            from_files,
            ..Default::default()
        },
    )
    .unwrap()
}

/// As `watch` feeds its live view: each snapshot parsed and pushed as it
/// is stored.
fn live(snaps: &[Snap]) -> Built {
    let mut b = SeriesBuilder::new(BuildOptions::default());
    for (i, (kind, at, bytes)) in snaps.iter().enumerate() {
        let parsed = profile::parse(bytes, &Default::default()).unwrap();
        let source = SnapshotRef::Id(i as i64);
        b.push(Entry::parsed(*kind, *at, &parsed, &source)).unwrap();
    }
    b.finish(&mut |_| panic!("a live series never goes out of order"))
        .unwrap()
}

fn assert_same_heap(a: &HeapSeries, b: &HeapSeries, what: &str) {
    assert_eq!(a.time_nanos, b.time_nanos, "{what}: times");
    assert_eq!(a.breaks, b.breaks, "{what}: breaks");
    assert_eq!(a.has_metric, b.has_metric, "{what}: metrics");
    assert_eq!(a.sites, b.sites, "{what}: sites");
    for m in [
        Metric::InuseSpace,
        Metric::InuseObjects,
        Metric::AllocSpace,
        Metric::AllocObjects,
    ] {
        for site in 0..a.sites.len() {
            assert_eq!(
                a.column(m, site),
                b.column(m, site),
                "{what}: {m:?} site {site}"
            );
        }
    }
}

fn assert_same(a: &Built, b: &Built, what: &str) {
    assert_same_heap(a.heap.as_ref().unwrap(), b.heap.as_ref().unwrap(), what);
    let (ga, gb) = (
        a.goroutines.as_ref().unwrap(),
        b.goroutines.as_ref().unwrap(),
    );
    assert_eq!(ga.time_nanos, gb.time_nanos, "{what}: goroutine times");
    assert_eq!(ga.groups, gb.groups, "{what}: goroutine groups");
    for g in 0..ga.groups.len() {
        for s in 0..ga.len() {
            assert_eq!(ga.count(g, s), gb.count(g, s), "{what}: group {g} at {s}");
        }
    }
    assert_eq!(a.header.snapshots, b.header.snapshots, "{what}: counts");
    assert_eq!(
        (a.header.start_unix_nanos, a.header.end_unix_nanos),
        (b.header.start_unix_nanos, b.header.end_unix_nanos),
        "{what}: span"
    );
    let findings = |x: &Built| serde_json::to_value(x.hunt(&Default::default()).findings).unwrap();
    assert_eq!(findings(a), findings(b), "{what}: findings");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_input_path_gives_the_same_series(
        n in 3usize..10,
        sites in 1usize..40,
        step in 1i64..60,
        scale in proptest::collection::vec(1i64..9, 1..12),
        counts in proptest::collection::vec(0i64..50, 1..12),
    ) {
        let snaps = snapshots(n, sites, step, &scale, &counts);
        let reference = live(&snaps);
        assert_eq!(reference.heap.as_ref().unwrap().len(), n);
        assert_same(&by_files(&snaps, false), &reference, "files");
        assert_same(&by_files(&snaps, true), &reference, "files named in reverse");
        assert_same(&by_archive(&snaps, false), &reference, "archive index");
        assert_same(&by_archive(&snaps, true), &reference, "archive files");
    }
}

#[test]
fn a_stale_index_is_read_from_the_files_then_recomputed_by_a_writer() {
    let snaps = snapshots(6, 20, 15, &[4, 5, 6], &[3, 9]);
    let dir = tempfile::tempdir().unwrap();
    {
        let mut a = Archive::open(dir.path()).unwrap();
        let t = a.target("http://svc:6060").unwrap();
        let s = a
            .begin_series(t, T0, &Identity::default(), "first")
            .unwrap();
        for (kind, at, bytes) in &snaps {
            // Per-site values as older rules might have had them: none.
            let mut summary = summarize(bytes);
            summary.sites.clear();
            a.put(s, *kind, *at, None, bytes, &summary).unwrap();
        }
    }
    // Mark the index as computed by older rules.
    {
        let db = rusqlite::Connection::open(dir.path().join(store::INDEX_FILE)).unwrap();
        db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES('attribution', '0')",
            [],
        )
        .unwrap();
    }
    let read = |dir: &std::path::Path| {
        let a = Archive::open_read_only(dir).unwrap();
        let sel = select_series(&a, None, SeriesPick::Latest).unwrap();
        (
            a.attribution_current().unwrap(),
            build_series(&a, &sel[0], &ArchiveOptions::default()).unwrap(),
        )
    };
    let (current, stale) = read(dir.path());
    assert!(!current);
    assert!(
        stale.header.notes[0].contains("attributed by older rules"),
        "{:?}",
        stale.header.notes
    );
    let reference = live(&snaps);
    assert_same(&stale, &reference, "stale index, read from the files");
    // A writer recomputes the values and records the version.
    let recomputed = Archive::open(dir.path()).unwrap().recovery().reattributed;
    assert_eq!(recomputed, 6);
    let (current, fresh) = read(dir.path());
    assert!(current);
    assert!(fresh.header.notes[0].ends_with("from the archive's index"));
    assert_same(&fresh, &reference, "recomputed index");
}
