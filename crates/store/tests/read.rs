//! `store::read` over an archive: the heap series from the index equals the
//! one decoded from the files, through the corners (a snapshot without
//! samples, a fall of the cumulative counters, a file gone missing).

mod common;

use common::*;
use drift::series::{HeapSeries, Metric};
use std::io::Write;
use store::read::{ArchiveOptions, SeriesPick, build_series, select_series};
use store::{Archive, Identity, Kind, Summary};

fn gz(p: &profile::Profile) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&profile::proto::encode(p)).unwrap();
    e.finish().unwrap()
}

const T0: i64 = 1_795_000_000_000_000_000;
const STEP: i64 = 15_000_000_000;

/// Heap snapshots with steps 0..6, one without samples, then 2, 3 (the
/// cumulative alloc_space falls: a restart the builder detects); a debug=1
/// text for MemStats; a goroutine profile.
fn archive(dir: &std::path::Path) -> Vec<String> {
    let mut a = Archive::open(dir).unwrap();
    let t = a.target("http://svc:6060").unwrap();
    let s = a
        .begin_series(t, T0, &Identity::default(), "first")
        .unwrap();
    let steps: [Option<i64>; 10] = [
        Some(0),
        Some(1),
        Some(2),
        Some(3),
        None,
        Some(4),
        Some(5),
        Some(6),
        Some(2),
        Some(3),
    ];
    let mut paths = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let at = T0 + i as i64 * STEP;
        let mut p = synth_heap(40, step.unwrap_or(0), at);
        if step.is_none() {
            p.samples.clear();
        }
        let bytes = gz(&p);
        let parsed = profile::parse(&bytes, &Default::default()).unwrap();
        let id = a
            .put(
                s,
                Kind::Heap,
                at,
                None,
                &bytes,
                &Summary::from_parsed(&parsed, &Default::default()),
            )
            .unwrap();
        paths.push(a.snapshot(id).unwrap().path);
    }
    let text = testdata("heap.txt");
    a.put(s, Kind::HeapDebug1, T0 + 1, None, &text, &summarize(&text))
        .unwrap();
    let g = testdata("goroutine.pb.gz");
    a.put(s, Kind::Goroutine, T0 + 2, None, &g, &summarize(&g))
        .unwrap();
    paths
}

fn assert_same(a: &HeapSeries, b: &HeapSeries) {
    assert_eq!(a.time_nanos, b.time_nanos);
    assert_eq!(a.breaks, b.breaks);
    assert_eq!(a.has_metric, b.has_metric);
    assert_eq!(a.sites, b.sites);
    for m in [
        Metric::InuseSpace,
        Metric::InuseObjects,
        Metric::AllocSpace,
        Metric::AllocObjects,
    ] {
        for site in 0..a.sites.len() {
            assert_eq!(a.column(m, site), b.column(m, site), "{m:?} site {site}");
        }
    }
}

#[test]
fn index_heap_series_equals_the_decoded_files() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let a = Archive::open_read_only(dir.path()).unwrap();
    let sel = select_series(&a, None, SeriesPick::Latest).unwrap();
    assert_eq!(sel.len(), 1);
    let fast = build_series(&a, &sel[0], &ArchiveOptions::default()).unwrap();
    let slow = build_series(
        &a,
        &sel[0],
        &ArchiveOptions {
            from_files: true,
            ..Default::default()
        },
    )
    .unwrap();
    let (fh, sh) = (fast.heap.as_ref().unwrap(), slow.heap.as_ref().unwrap());
    assert_eq!(fh.len(), 10);
    // A fall of alloc_space starts a segment: at the restart (8), and, as
    // HeapSeriesBuilder has it, at the empty snapshot (a total of 0).
    assert_eq!(fh.breaks, [4, 8]);
    // The snapshot without samples is a row of zeros.
    assert_eq!(fh.totals(Metric::InuseSpace)[4], 0.0);
    assert_same(fh, sh);
    assert_eq!(fast.memory.len(), 1);
    assert_eq!(fast.header.snapshots, slow.header.snapshots);
    assert_eq!(
        fast.hunt(&Default::default()).findings,
        slow.hunt(&Default::default()).findings
    );
}

#[test]
fn a_missing_file_keeps_its_index_values() {
    let dir = tempfile::tempdir().unwrap();
    let paths = archive(dir.path());
    std::fs::remove_file(dir.path().join(&paths[1])).unwrap();
    drop(Archive::open(dir.path()).unwrap()); // marks it missing
    let a = Archive::open_read_only(dir.path()).unwrap();
    let sel = select_series(&a, Some("svc"), SeriesPick::All).unwrap();
    let fast = build_series(&a, &sel[0], &ArchiveOptions::default()).unwrap();
    assert_eq!(fast.heap.as_ref().unwrap().len(), 10);
    let slow = build_series(
        &a,
        &sel[0],
        &ArchiveOptions {
            from_files: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(slow.heap.as_ref().unwrap().len(), 9);
    for b in [&fast, &slow] {
        assert!(
            b.header
                .notes
                .iter()
                .any(|n| n.starts_with("1 snapshot file is missing")),
            "{:?}",
            b.header.notes
        );
    }
}

#[test]
fn selection_errors_name_what_there_is() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let a = Archive::open_read_only(dir.path()).unwrap();
    let e = select_series(&a, Some("other"), SeriesPick::Latest).unwrap_err();
    assert!(e.to_string().contains("(targets: http://svc:6060)"), "{e}");
    let e = select_series(&a, None, SeriesPick::Id(7)).unwrap_err();
    assert!(
        e.to_string().contains("no series 7") && e.to_string().contains("(series: 1)"),
        "{e}"
    );
}
