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
use store::{Archive, Identity, Summary};

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const T0: i64 = 1_795_000_000_000_000_000;

/// One snapshot: kind, time, bytes (gzipped proto).
type Snap = (Kind, i64, Vec<u8>);

/// What a generated series holds.
#[derive(Clone, Debug)]
struct Shape {
    /// Rounds, `step_secs` apart.
    n: usize,
    sites: usize,
    step_secs: i64,
    /// Per-site in-use values are scaled by these, round-robin.
    scale: Vec<i64>,
    /// Goroutine counts, round-robin.
    counts: Vec<i64>,
    /// Rounds with a heap proto (the first ones) and with a heap debug=1
    /// text: when texts are more, they make the heap series.
    protos: usize,
    texts: usize,
}

/// Per round: a heap proto (per-site values scaled by `scale`), 1 ms later
/// a goroutine profile (counts from `counts`), 2 ms later a heap debug=1
/// text (MemStats counters growing).
fn snapshots(shape: &Shape) -> Vec<Snap> {
    let Shape {
        n,
        sites,
        step_secs,
        ref scale,
        ref counts,
        protos,
        texts,
    } = *shape;
    let goroutine = profile::parse(&testdata("goroutine.pb.gz"), &Default::default())
        .unwrap()
        .profile;
    let text = String::from_utf8(testdata("heap.txt")).unwrap();
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
        if i < protos {
            out.push((Kind::Heap, at, gz(&profile::proto::encode(&h))));
        }
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
        if i < texts {
            let t = text.replace(
                "# TotalAlloc = 2490792",
                &format!("# TotalAlloc = {}", 2490792 + i * 4096),
            );
            out.push((Kind::HeapDebug1, at + 2_000_000, t.into_bytes()));
        }
    }
    out
}

fn by_files(snaps: &[Snap], reversed: bool) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let n = snaps.len();
    for (i, (kind, at, bytes)) in snaps.iter().enumerate() {
        let rank = if reversed { n - i } else { i };
        // Texts carry no time: the name does (milliseconds).
        let ext = if *kind == Kind::HeapDebug1 {
            "txt"
        } else {
            "pb.gz"
        };
        let name = format!("{rank:04}-{}-{}.{ext}", kind.as_str(), at / 1_000_000);
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

/// An archive of one series holding `snaps`, each indexed with the
/// summary `summary` gives it.
fn write_archive(dir: &std::path::Path, snaps: &[Snap], summary: impl Fn(&Snap) -> Summary) {
    let mut a = Archive::open(dir).unwrap();
    let t = a.target("http://svc:6060").unwrap();
    let s = a
        .begin_series(t, T0, &Identity::default(), "first")
        .unwrap();
    for snap in snaps {
        let (kind, at, bytes) = snap;
        a.put(s, *kind, *at, None, bytes, &summary(snap)).unwrap();
    }
}

/// The latest series of the archive in `dir`, built.
fn read_latest(dir: &std::path::Path, opts: &ArchiveOptions) -> Built {
    let a = Archive::open_read_only(dir).unwrap();
    let sel = select_series(&a, None, SeriesPick::Latest).unwrap();
    build_series(&a, &sel[0], opts).unwrap()
}

fn by_archive(snaps: &[Snap], from_files: bool) -> Built {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), snaps, |(_, _, bytes)| summarize(bytes));
    read_latest(
        dir.path(),
        &ArchiveOptions {
            from_files,
            ..Default::default()
        },
    )
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
    let memory = |x: &Built| -> Vec<(i64, u64)> {
        x.memory
            .iter()
            .map(|m| (m.time_nanos, m.stats.total_alloc))
            .collect()
    };
    assert_eq!(memory(a), memory(b), "{what}: MemStats");
    assert_eq!(a.memory_breaks, b.memory_breaks, "{what}: MemStats breaks");
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
        step_secs in 1i64..60,
        scale in proptest::collection::vec(1i64..9, 1..12),
        counts in proptest::collection::vec(0i64..50, 1..12),
        protos_cut in 0usize..3,
        texts in 0usize..10,
    ) {
        let shape = Shape {
            n,
            sites,
            step_secs,
            scale,
            counts,
            protos: n - protos_cut,
            texts: texts.min(n),
        };
        let snaps = snapshots(&shape);
        let reference = live(&snaps);
        let heap_len = shape.protos.max(shape.texts);
        assert_eq!(reference.heap.as_ref().unwrap().len(), heap_len);
        assert_same(&by_files(&snaps, false), &reference, "files");
        assert_same(&by_files(&snaps, true), &reference, "files named in reverse");
        assert_same(&by_archive(&snaps, false), &reference, "archive index");
        assert_same(&by_archive(&snaps, true), &reference, "archive files");
    }
}

#[test]
fn a_stale_index_is_read_from_the_files_then_recomputed_by_a_writer() {
    let snaps = snapshots(&Shape {
        n: 6,
        sites: 20,
        step_secs: 15,
        scale: vec![4, 5, 6],
        counts: vec![3, 9],
        protos: 6,
        texts: 0,
    });
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), &snaps, |(_, _, bytes)| {
        // Per-site values as older rules might have had them: none.
        let mut summary = summarize(bytes);
        summary.sites.clear();
        summary
    });
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
        (
            Archive::open_read_only(dir)
                .unwrap()
                .attribution_current()
                .unwrap(),
            read_latest(dir, &ArchiveOptions::default()),
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

#[test]
fn the_current_rss_goes_beside_the_memstats_read_with_it() {
    // Two heap debug=1 texts a minute apart; an RSS reading half a second
    // after the first, none near the second.
    let text = testdata("heap.txt");
    let metrics = |rss: u64| {
        format!("# heapdrift: from /proc/1/status\nprocess_resident_memory_bytes {rss}\n")
            .into_bytes()
    };
    let t = |secs: i64| T0 + secs * 1_000_000_000;
    let snaps: Vec<(Kind, i64, Vec<u8>)> = vec![
        (Kind::HeapDebug1, t(0), text.clone()),
        (Kind::Metrics, t(0) + 500_000_000, metrics(123 << 20)),
        // Not byte-identical (files would be read once).
        (Kind::HeapDebug1, t(60), [text.as_slice(), b"\n"].concat()),
        (Kind::Metrics, t(100), metrics(456 << 20)),
    ];
    let check = |b: &Built, what: &str| {
        let rss: Vec<Option<u64>> = b.memory.iter().map(|m| m.rss).collect();
        assert_eq!(rss, [Some(123 << 20), None], "{what}");
        assert!(
            b.header
                .notes
                .iter()
                .any(|n| n.starts_with("current RSS read beside 1 of 2 MemStats points")),
            "{what}: {:?}",
            b.header.notes
        );
    };
    // Plain files, named with their times.
    let dir = tempfile::tempdir().unwrap();
    for (kind, at, bytes) in &snaps {
        let stamp = at / 1_000_000;
        let name = match kind {
            Kind::Metrics => format!("metrics-{stamp}.txt"),
            _ => format!("heap-{stamp}.debug1.txt"),
        };
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let files = series::build_files(
        &Files(vec![dir.path().to_path_buf()]),
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(files.len(), 1);
    check(&files[0].built, "files");
    // An archive.
    let adir = tempfile::tempdir().unwrap();
    write_archive(adir.path(), &snaps, |(kind, _, bytes)| {
        if *kind == Kind::Metrics {
            Default::default()
        } else {
            summarize(bytes)
        }
    });
    check(
        &read_latest(adir.path(), &ArchiveOptions::default()),
        "archive",
    );
}
