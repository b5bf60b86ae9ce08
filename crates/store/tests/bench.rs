//! Insert and read costs at the scale of the issue: 500 heap snapshots of
//! 10k allocation sites. Run with
//! `cargo test --release -p heapdrift-store --test bench -- --ignored --nocapture`.

mod common;

use common::*;
use std::io::Write;
use std::time::{Duration, Instant};
use store::{Archive, Identity, Kind, Summary};

#[test]
#[ignore = "a benchmark: cargo test --release -p heapdrift-store --test bench -- --ignored --nocapture"]
fn insert_and_read_500_by_10k() {
    const SNAPS: usize = 500;
    const SITES: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(dir.path()).unwrap();
    let t = a.target("http://bench:6060").unwrap();
    let s = a.begin_series(t, 0, &Identity::default(), "first").unwrap();
    let (mut gen_t, mut sum_t, mut put_t, mut worst_put) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let mut file_bytes = 0;
    for i in 0..SNAPS {
        let at = 1_764_000_000_000_000_000 + i as i64 * 5_000_000_000;
        let t0 = Instant::now();
        let raw = profile::proto::encode(&synth_heap(SITES, i as i64, at));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        let bytes = gz.finish().unwrap();
        file_bytes += bytes.len();
        let t1 = Instant::now();
        let parsed = profile::parse(&bytes, &Default::default()).unwrap();
        let summary = Summary::from_parsed(&parsed, &Default::default());
        assert_eq!(summary.sites.len(), SITES);
        let t2 = Instant::now();
        a.put(s, Kind::Heap, at, None, &bytes, &summary).unwrap();
        let t3 = Instant::now();
        gen_t += t1 - t0;
        sum_t += t2 - t1;
        put_t += t3 - t2;
        worst_put = worst_put.max(t3 - t2);
    }
    drop(a);
    let db = std::fs::metadata(dir.path().join(store::INDEX_FILE))
        .unwrap()
        .len()
        + std::fs::metadata(dir.path().join("heapdrift.sqlite-wal")).map_or(0, |m| m.len());
    println!(
        "{SNAPS} snapshots x {SITES} sites; files {:.1} MB, index {:.1} MB",
        file_bytes as f64 / 1e6,
        db as f64 / 1e6
    );
    println!(
        "  generate (not store cost): {:?}/snapshot",
        gen_t / SNAPS as u32
    );
    println!(
        "  parse + Summary::from_parsed: {:?}/snapshot",
        sum_t / SNAPS as u32
    );
    println!(
        "  Archive::put (file fsync+rename, index txn): {:?}/snapshot, worst {worst_put:?}",
        put_t / SNAPS as u32
    );
    let per = (sum_t + put_t) / SNAPS as u32;
    println!(
        "  => 20 targets every 5 s = 4 heap snapshots/s: {:.0}% of the time of one serial writer",
        per.as_secs_f64() * 4.0 * 100.0
    );

    let t0 = Instant::now();
    let r = Archive::open_read_only(dir.path()).unwrap();
    let series: Vec<_> = r.series(t).unwrap().iter().map(|s| s.id).collect();
    let m = r.heap_matrix(&series, Kind::Heap).unwrap();
    let read = t0.elapsed();
    assert_eq!((m.rows.len(), m.sites.len()), (SNAPS, SITES));
    println!("  heap_matrix of {SNAPS} x {SITES} from the index: {read:?}");
    let t0 = Instant::now();
    let snaps = r.snapshots(series[0], Some(Kind::Heap)).unwrap();
    let mut n = 0;
    for info in &snaps {
        let p = profile::parse(&r.read(info.id).unwrap(), &Default::default()).unwrap();
        n += p.profile.samples.len();
    }
    println!(
        "  for comparison, reading+parsing the {} files: {:?} ({n} samples)",
        snaps.len(),
        t0.elapsed()
    );
    assert!(read < Duration::from_secs(2), "index read took {read:?}");
}
