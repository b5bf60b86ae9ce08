//! Archive behaviour: layout, round trips, recovery, concurrent readers,
//! gaps, series, and `go tool pprof` on stored files.

mod common;

use common::*;
use std::fs;
use store::{
    Archive, Continuity, GapReason, Identity, Kind, StoreError, Summary, detect_restart, layout,
};

const T0: i64 = 1_764_175_756_000_000_000;

#[test]
fn put_read_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(dir.path()).unwrap();
    let t = a.target("http://127.0.0.1:6060").unwrap();
    assert_eq!(a.target("http://127.0.0.1:6060").unwrap(), t);
    let s = a
        .begin_series(t, T0, &Identity::default(), "first")
        .unwrap();
    let mut ids = Vec::new();
    for (i, (kind, bytes)) in real_snapshots().into_iter().enumerate() {
        let at = T0 + i as i64 * 1_000_000_000;
        let id = a
            .put(s, kind, at, Some(12_345), &bytes, &summarize(&bytes))
            .unwrap();
        assert_eq!(a.read(id).unwrap(), bytes);
        let info = a.snapshot(id).unwrap();
        let ext = if kind.is_text() { "txt" } else { "pb.gz" };
        let name = layout::file_name(
            at,
            info.path
                .rsplit('-')
                .next()
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .parse()
                .unwrap(),
            ext,
        );
        assert_eq!(
            info.path,
            format!("127.0.0.1-6060/{}/{}/{name}", s.0, kind.as_str())
        );
        assert_eq!(
            (info.kind, info.taken_at, info.fetch_nanos, info.bytes),
            (kind, at, Some(12_345), bytes.len() as i64)
        );
        assert_eq!(info.status, "ok");
        assert!(!info.recovered);
        ids.push((id, kind));
    }
    let heaps = a.snapshots(s, Some(Kind::Heap)).unwrap();
    assert_eq!(heaps.len(), 3);
    assert!(heaps.iter().all(|h| h.inuse_space.unwrap() > 0));
    assert_eq!(a.snapshots(s, None).unwrap().len(), ids.len());
    let txt = &a.snapshots(s, Some(Kind::HeapDebug1)).unwrap()[0];
    assert!(
        txt.memstats.as_ref().unwrap()["HeapInuse"]
            .as_u64()
            .unwrap()
            > 0
    );
    let dump = &a.snapshots(s, Some(Kind::GoroutineDump)).unwrap()[0];
    assert!(dump.goroutines.unwrap() > 0);

    // The matrix read from the index equals the summaries put in.
    let m = a.heap_matrix(&[s], Kind::Heap).unwrap();
    assert_eq!(m.snapshots, heaps.iter().map(|h| h.id).collect::<Vec<_>>());
    for (j, name) in ["heap_1.pb.gz", "heap_2.pb.gz", "heap_3.pb.gz"]
        .iter()
        .enumerate()
    {
        let sum = summarize(&testdata(name));
        for sv in &sum.sites {
            let idx = m
                .sites
                .iter()
                .position(|x| {
                    (x.function.as_str(), x.file.as_str(), x.line)
                        == (sv.function.as_str(), sv.file.as_str(), sv.line)
                })
                .unwrap();
            for metric in 0..4 {
                assert_eq!(m.value(metric, idx, j), sv.values[metric]);
            }
            assert_eq!(m.sites[idx].user, sv.user);
            assert!(!m.sites[idx].stack.is_empty());
        }
        let total: i64 = (0..m.sites.len()).map(|i| m.value(0, i, j)).sum();
        assert_eq!(Some(total), heaps[j].inuse_space);
    }
    assert_eq!(m.has_metric, [true; 4]);
    drop(a);

    // Reopening keeps everything and repairs nothing.
    let a = Archive::open(dir.path()).unwrap();
    assert_eq!(a.recovery(), &store::RecoveryReport::default());
    assert_eq!(a.snapshots(s, None).unwrap().len(), ids.len());
}

#[test]
fn second_writer_is_refused_readers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(dir.path()).unwrap();
    a.target("http://x").unwrap();
    assert!(matches!(
        Archive::open(dir.path()),
        Err(StoreError::Locked(_))
    ));
    assert!(matches!(
        Archive::open_read_only(dir.path().join("nope")),
        Err(StoreError::NotAnArchive(_))
    ));
    let mut r = Archive::open_read_only(dir.path()).unwrap();
    assert_eq!(r.targets().unwrap().len(), 1);
    assert!(matches!(r.target("http://y"), Err(StoreError::ReadOnly)));
    drop(a);
    Archive::open(dir.path()).unwrap();
}

#[test]
fn recovery_repairs_what_a_crash_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(dir.path()).unwrap();
    let t = a.target("http://svc:6060").unwrap();
    let s = a
        .begin_series(t, T0, &Identity::default(), "first")
        .unwrap();
    let heap = testdata("heap_2.pb.gz");
    let kept = a
        .put(s, Kind::Heap, T0, None, &heap, &summarize(&heap))
        .unwrap();
    let gone = a
        .put(s, Kind::Heap, T0 + 1, None, &heap, &summarize(&heap))
        .unwrap();
    let gone_path = a.path(&a.snapshot(gone).unwrap());
    let kdir = gone_path.parent().unwrap().to_path_buf();
    drop(a);

    // A crash after rename but before the index row; one mid-write; and a
    // file deleted by hand; plus an unrelated file.
    let orphan = layout::file_name(T0 + 5_000_000_000, 99, "pb.gz");
    fs::write(kdir.join(&orphan), &heap).unwrap();
    let dump = testdata("goroutine_dump.txt");
    let ddir = kdir.parent().unwrap().join("goroutine_dump");
    fs::create_dir(&ddir).unwrap();
    fs::write(ddir.join(layout::file_name(T0 + 7, 100, "txt")), &dump).unwrap();
    fs::write(
        kdir.join(format!(".tmp-{}", layout::file_name(T0 + 9, 101, "pb.gz"))),
        &heap[..100],
    )
    .unwrap();
    fs::remove_file(&gone_path).unwrap();
    fs::write(kdir.join("notes.md"), "hello").unwrap();

    let a = Archive::open(dir.path()).unwrap();
    let rep = a.recovery().clone();
    assert_eq!(
        (rep.temp_removed, rep.reindexed, rep.missing, rep.unparsed),
        (1, 2, 1, 0),
        "{rep:?}"
    );
    assert_eq!(rep.foreign, vec![format!("svc-6060/{}/heap/notes.md", s.0)]);
    assert!(!fs::read_dir(&kdir).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp-")
    }));
    let heaps = a.snapshots(s, Some(Kind::Heap)).unwrap();
    assert_eq!(heaps.len(), 3);
    assert_eq!(heaps[0].id, kept);
    assert_eq!((heaps[1].id, heaps[1].status.as_str()), (gone, "missing"));
    let re = &heaps[2];
    assert!(re.recovered && re.status == "ok");
    assert_eq!(re.taken_at, T0 + 5_000_000_000);
    assert_eq!(re.inuse_space, summarize(&heap).inuse_space);
    assert_eq!(a.read(re.id).unwrap(), heap);
    // The index keeps the values of a snapshot whose file is gone.
    assert_eq!(a.heap_matrix(&[s], Kind::Heap).unwrap().rows.len(), 3);
    let d = a.snapshots(s, Some(Kind::GoroutineDump)).unwrap();
    assert_eq!(d[0].goroutines, summarize(&dump).goroutines);
    drop(a);

    // The file comes back: the row is "ok" again.
    fs::write(&gone_path, &heap).unwrap();
    let a = Archive::open(dir.path()).unwrap();
    assert_eq!(a.snapshot(gone).unwrap().status, "ok");
    assert_eq!(a.recovery().reindexed, 0);
}

#[test]
fn gaps_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(dir.path()).unwrap();
    let t = a.target("http://svc:6060").unwrap();
    let u = a.target("http://other:6060").unwrap();
    a.record_gap(
        t,
        None,
        T0 + 10,
        T0 + 20,
        GapReason::Down,
        "connection refused",
    )
    .unwrap();
    a.record_gap(
        t,
        Some(Kind::Heap),
        T0,
        T0 + 5,
        GapReason::ServerError,
        "HTTP 500",
    )
    .unwrap();
    a.record_gap(
        u,
        Some(Kind::Goroutine),
        T0,
        T0 + 5,
        GapReason::Timeout,
        "after 10s",
    )
    .unwrap();
    drop(a);
    let r = Archive::open_read_only(dir.path()).unwrap();
    let g = r.gaps(t).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(
        (g[0].kind, g[0].reason, g[0].message.as_str()),
        (Some(Kind::Heap), GapReason::ServerError, "HTTP 500")
    );
    assert_eq!(
        (g[1].kind, g[1].from_ns, g[1].to_ns, g[1].reason),
        (None, T0 + 10, T0 + 20, GapReason::Down)
    );
    assert_eq!(r.gaps(u).unwrap()[0].reason, GapReason::Timeout);
}

#[test]
fn restart_begins_a_new_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(dir.path()).unwrap();
    let t = a.target("http://svc:6060").unwrap();
    // Feed heap profiles of the same process, then one of a "restarted"
    // process (counters back to a fraction), as watch will.
    let p = |b: &[u8]| profile::parse(b, &Default::default()).unwrap();
    let big = testdata("heap_3.pb.gz");
    let parsed = p(&big);
    let mut small = parsed.clone();
    for s in &mut small.profile.samples {
        for v in &mut s.values {
            *v /= 4;
        }
    }
    let seq = [parsed.clone(), parsed, small];
    let mut series = None;
    let mut last: Option<Identity> = None;
    for (i, snap) in seq.iter().enumerate() {
        let id = Identity::from_parsed(snap);
        let reason = match &last {
            None => Some("first".to_string()),
            Some(prev) => match detect_restart(prev, &id) {
                Continuity::SameProcess => None,
                c => Some(c.describe()),
            },
        };
        if let Some(r) = reason {
            series = Some(a.begin_series(t, T0 + i as i64, &id, &r).unwrap());
        }
        a.put(
            series.unwrap(),
            Kind::Heap,
            T0 + i as i64,
            None,
            &big,
            &Summary::from_parsed(snap, &Default::default()),
        )
        .unwrap();
        a.set_identity(series.unwrap(), &id).unwrap();
        last = Some(id);
    }
    let all = a.series(t).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].restart_reason, "first");
    assert!(
        all[1].restart_reason.contains("alloc_space went down"),
        "{}",
        all[1].restart_reason
    );
    assert_eq!(a.snapshots(all[0].id, None).unwrap().len(), 2);
    assert_eq!(a.snapshots(all[1].id, None).unwrap().len(), 1);
    let m = a.heap_matrix(&[all[0].id, all[1].id], Kind::Heap).unwrap();
    assert_eq!((m.rows.len(), m.breaks.clone()), (3, vec![2]));
    assert_eq!(all[1].identity.alloc_space, last.unwrap().alloc_space);
}

#[test]
fn reader_sees_consistent_state_while_writer_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut a = Archive::open(&path).unwrap();
    let t = a.target("http://svc:6060").unwrap();
    let s = a
        .begin_series(t, T0, &Identity::default(), "first")
        .unwrap();
    let snaps: Vec<_> = real_snapshots()
        .into_iter()
        .map(|(k, b)| {
            let s = summarize(&b);
            (k, b, s)
        })
        .collect();
    const N: usize = 120;
    let writer = std::thread::spawn(move || {
        for i in 0..N {
            let (k, b, sum) = &snaps[i % snaps.len()];
            a.put(s, *k, T0 + i as i64 * 1000, None, b, sum).unwrap();
        }
    });
    let r = Archive::open_read_only(&path).unwrap();
    let mut last = 0;
    let mut checks = 0;
    loop {
        let done = writer.is_finished();
        let (all, m) = r
            .consistent(|r| Ok((r.snapshots(s, None)?, r.heap_matrix(&[s], Kind::Heap)?)))
            .unwrap();
        // One read state: the matrix matches the listing exactly.
        assert_eq!(
            m.rows.len(),
            all.iter().filter(|i| i.kind == Kind::Heap).count()
        );
        assert_eq!(
            m.snapshots,
            all.iter()
                .filter(|i| i.kind == Kind::Heap)
                .map(|i| i.id)
                .collect::<Vec<_>>()
        );
        assert!(all.len() >= last, "index went backwards");
        last = all.len();
        // Every indexed snapshot's file is complete and parses.
        for info in all.iter().rev().take(3) {
            let bytes = r.read(info.id).unwrap();
            assert_eq!(bytes.len() as i64, info.bytes);
            profile::parse(&bytes, &Default::default()).unwrap();
        }
        // Separate reads may see more snapshots, never fewer.
        let m = r.heap_matrix(&[s], Kind::Heap).unwrap();
        assert!(m.rows.len() >= all.iter().filter(|i| i.kind == Kind::Heap).count());
        checks += 1;
        if done {
            break;
        }
    }
    writer.join().unwrap();
    assert_eq!(last, N);
    assert!(checks > 1);
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn go_tool_pprof_opens_stored_files() {
    let go = std::env::var("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(dir.path()).unwrap();
    let t = a.target("http://127.0.0.1:6060").unwrap();
    let s = a
        .begin_series(t, T0, &Identity::default(), "first")
        .unwrap();
    for (kind, bytes) in real_snapshots() {
        let id = a
            .put(s, kind, T0, None, &bytes, &summarize(&bytes))
            .unwrap();
        if kind == Kind::GoroutineDump {
            continue; // debug=2 dumps are heapdrift's extension; pprof cannot read them
        }
        let path = a.path(&a.snapshot(id).unwrap());
        let out = std::process::Command::new(&go)
            .args(["tool", "pprof", "-raw"])
            .arg(&path)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{kind:?} {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Samples:"),
            "{kind:?}"
        );
    }
}
