//! Goroutine groups from debug=2 dumps (through heapdrift's own parser and
//! `to_profile`) and from proto-shaped profiles with runtime frames.

mod common;

use common::Builder;
use drift::goroutine::{
    GoroutineOptions, GoroutineSeriesBuilder, GroupOptions, Rule, analyze_goroutines,
};
use drift::{Report, Verdict};
use profile::goroutine_dump::{parse_dump, to_profile};

const MIN: i64 = 60_000_000_000;

/// One goroutine block of a debug=2 dump.
fn g(out: &mut String, id: &mut u64, state: &str, frames: &[(&str, &str)], created: (&str, &str)) {
    *id += 1;
    out.push_str(&format!("goroutine {id} [{state}]:\n"));
    for (f, at) in frames {
        out.push_str(&format!("{f}(...)\n\t{at} +0x1\n"));
    }
    out.push_str(&format!(
        "created by {} in goroutine 1\n\t{} +0x2\n\n",
        created.0, created.1
    ));
}

/// A service at minute `m`: a send leak (+5/min), a constant idle pool, a
/// pool that warms up, unclosed HTTP bodies (+2 connections/min), one
/// `select {}` forever, and goroutines the runtime marked leaked.
fn dump(m: u64) -> String {
    let mut s = String::new();
    let mut id = 0;
    for _ in 0..5 * m + 1 {
        g(
            &mut s,
            &mut id,
            &format!("chan send, {m} minutes"),
            &[
                ("main.fetchAll.func1", "/src/leak.go:44"),
                ("main.fetchAll.gowrap1", "/src/leak.go:46"),
            ],
            ("main.fetchAll", "/src/leak.go:40"),
        );
    }
    for _ in 0..8 {
        g(
            &mut s,
            &mut id,
            &format!("chan receive, {} minutes", m + 3),
            &[("main.worker", "/src/pool.go:20")],
            ("main.startPool", "/src/pool.go:12"),
        );
    }
    for _ in 0..(4 * m).min(16) {
        g(
            &mut s,
            &mut id,
            "select",
            &[("main.(*srv).loop", "/src/srv.go:77")],
            ("main.(*srv).start", "/src/srv.go:70"),
        );
    }
    for _ in 0..2 * m {
        g(
            &mut s,
            &mut id,
            "IO wait",
            &[
                (
                    "internal/poll.runtime_pollWait",
                    "/go/src/runtime/netpoll.go:351",
                ),
                (
                    "net/http.(*persistConn).readLoop",
                    "/go/src/net/http/transport.go:2395",
                ),
            ],
            (
                "net/http.(*Transport).dialConn",
                "/go/src/net/http/transport.go:1944",
            ),
        );
        g(
            &mut s,
            &mut id,
            "select",
            &[(
                "net/http.(*persistConn).writeLoop",
                "/go/src/net/http/transport.go:2597",
            )],
            (
                "net/http.(*Transport).dialConn",
                "/go/src/net/http/transport.go:1945",
            ),
        );
    }
    g(
        &mut s,
        &mut id,
        "select (no cases)",
        &[("main.forever", "/src/main.go:9")],
        ("main.main", "/src/main.go:5"),
    );
    g(
        &mut s,
        &mut id,
        "sync.WaitGroup.Wait (leaked)",
        &[
            (
                "sync.runtime_SemacquireWaitGroup",
                "/go/src/runtime/sema.go:114",
            ),
            ("sync.(*WaitGroup).Wait", "/go/src/sync/waitgroup.go:118"),
            ("main.gather", "/src/wg.go:30"),
        ],
        ("main.main", "/src/main.go:6"),
    );
    s
}

fn series(minutes: u64) -> drift::goroutine::GoroutineSeries {
    let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..minutes {
        let gs = parse_dump(&dump(m)).unwrap();
        let mut p = to_profile(&gs);
        p.time_nanos = 1_700_000_000_000_000_000 + m as i64 * MIN;
        b.push(&p).unwrap();
    }
    b.finish()
}

#[test]
fn groups_and_verdicts_from_dumps() {
    let gs = series(12);
    let opts = GoroutineOptions {
        include_stable: true,
        ..Default::default()
    };
    let report = Report::new(analyze_goroutines(&gs, &opts));
    let row = |f: &drift::Finding| {
        (
            f.function.clone(),
            f.line,
            f.verdict,
            f.rule.unwrap(),
            f.signature,
        )
    };
    let rows: Vec<_> = report.findings.iter().map(row).collect();
    let find = |name: &str| {
        rows.iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("{name} missing from {rows:#?}"))
            .clone()
    };
    // The goroutine the runtime marked leaked never grows in number: it
    // is stuck, not a growing leak (it was a leak before issue 9's
    // "select {} ranked first"). The send leak is a leak.
    assert_eq!(find("main.gather").2, Verdict::Stuck);
    let send = find("main.fetchAll.func1");
    assert_eq!(
        (send.1, send.2, send.3),
        (44, Verdict::Leak, Rule::ChanSend)
    );
    let top = report
        .findings
        .iter()
        .find(|f| f.function == "main.fetchAll.func1")
        .unwrap();
    assert!((top.growth_per_min - 5.0).abs() < 0.01);
    assert_eq!(top.unit, drift::Unit::Goroutines);
    assert_eq!(top.created_by.as_deref(), Some("main.fetchAll"));
    assert!(top.notes.iter().any(|n| n.contains("waited 11 minutes")));
    let waits: Vec<Option<u64>> = (0..12).map(Some).collect();
    assert_eq!(top.evidence.wait_minutes, waits);
    // The idle pool is stable, the warm-up pool a plateau.
    assert_eq!(find("main.worker").2, Verdict::Stable);
    assert_eq!(find("main.worker").3, Rule::ChanReceive);
    assert_eq!(find("main.(*srv).loop").2, Verdict::Plateau);
    // HTTP bodies: both loops, named.
    let read = find("net/http.(*persistConn).readLoop");
    assert_eq!(read.2, Verdict::Leak);
    assert_eq!(read.3, Rule::Io);
    assert_eq!(read.4, Some(drift::Signature::HttpBodiesNeverClosed));
    let write = find("net/http.(*persistConn).writeLoop");
    assert_eq!(
        (write.2, write.4),
        (Verdict::Leak, Some(drift::Signature::HttpBodiesNeverClosed))
    );
    // select {} that does not grow is stable, but named.
    let forever = find("main.forever");
    assert_eq!(forever.2, Verdict::Stable);
    assert_eq!(forever.4, Some(drift::Signature::SelectWithNoWayOut));
    // Ranked: leaks first, the fastest-growing leak first among them; the
    // stuck goroutine after everything that grows.
    assert_eq!(report.findings[0].verdict, Verdict::Leak);
    assert!(
        report
            .findings
            .iter()
            .take_while(|f| f.verdict == Verdict::Leak)
            .count()
            == 3
    );
    let stuck = report
        .findings
        .iter()
        .position(|f| f.verdict == Verdict::Stuck)
        .unwrap();
    assert!(
        report.findings[..stuck]
            .iter()
            .all(|f| f.verdict >= Verdict::Suspect)
    );
}

#[test]
fn goroutine_json_fields() {
    let gs = series(8);
    let report = Report::new(analyze_goroutines(&gs, &GoroutineOptions::default()));
    let v = serde_json::to_value(&report).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "goroutine");
    assert_eq!(f["unit"], "goroutines");
    assert!(f["blocking_frame"]["function"].is_string());
}

#[test]
fn two_dumps_are_suspect() {
    let gs = series(2);
    let report = Report::new(analyze_goroutines(&gs, &GoroutineOptions::default()));
    let send = report
        .findings
        .iter()
        .find(|f| f.function == "main.fetchAll.func1")
        .unwrap();
    assert_eq!(send.verdict, Verdict::Suspect);
    assert!(send.notes.iter().any(|n| n.contains("more are needed")));
}

/// Proto-shaped profiles: runtime frames present, no state labels.
#[test]
fn proto_profiles_and_leak_profile() {
    let frames_send = [
        ("runtime.gopark", "proc.go", 460),
        ("runtime.chansend", "chan.go", 283),
        ("runtime.chansend1", "chan.go", 161),
        ("main.produce", "/src/p.go", 21),
        ("runtime.goexit", "asm.s", 1700),
    ];
    let frames_sel = [
        ("runtime.gopark", "proc.go", 460),
        ("runtime.selectgo", "select.go", 351),
        ("main.loop", "/src/l.go", 8),
    ];
    let frames_lock = [
        ("runtime.gopark", "proc.go", 460),
        ("runtime.semacquire1", "sema.go", 160),
        ("internal/sync.runtime_SemacquireMutex", "sema.go", 95),
        ("internal/sync.(*Mutex).lockSlow", "mutex.go", 149),
        ("sync.(*Mutex).Lock", "mutex.go", 46),
        ("main.(*db).get", "/src/db.go", 33),
    ];
    let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..10i64 {
        let mut p = Builder::goroutine();
        let s = p.stack(&frames_send);
        p.goroutine_sample(s, 10 + 3 * m, &[]);
        let s = p.stack(&frames_sel);
        p.goroutine_sample(s, 4, &[]);
        let s = p.stack(&frames_lock);
        p.goroutine_sample(s, 2, &[]);
        p.p.time_nanos = m * MIN;
        b.push(&p.p).unwrap();
    }
    // The runtime's leak detector reports the mutex waiters.
    let mut leak = Builder::goroutine();
    let s = leak.stack(&frames_lock);
    leak.goroutine_sample(s, 2, &[]);
    b.push_leak_profile(&leak.p);
    let gs = b.finish();
    assert_eq!(gs.groups.len(), 3);
    let g0 = &gs.groups[0];
    assert_eq!(g0.rule, Rule::ChanSend);
    assert_eq!(g0.state.as_deref(), Some("chan send"));
    assert_eq!(
        (g0.blocking.function.as_str(), g0.blocking.line),
        ("main.produce", 21)
    );
    assert_eq!(gs.groups[1].rule, Rule::Select);
    assert_eq!(gs.groups[2].rule, Rule::Sync);
    assert_eq!(gs.groups[2].blocking.function, "main.(*db).get");
    assert!(gs.groups[2].confirmed_leak && !gs.groups[0].confirmed_leak);

    let report = Report::new(analyze_goroutines(&gs, &GoroutineOptions::default()));
    let v: Vec<(&str, Verdict)> = report
        .findings
        .iter()
        .map(|f| (f.function.as_str(), f.verdict))
        .collect();
    // The worker loop (constant 4) is not reported. The confirmed but
    // constant group is stuck (a leak before issue 9), after the growing
    // leak, and certain.
    assert_eq!(
        v,
        vec![
            ("main.produce", Verdict::Leak),
            ("main.(*db).get", Verdict::Stuck)
        ]
    );
    assert_eq!(report.findings[1].confidence, 1.0);
}

#[test]
fn leakprof_pileup_rule() {
    let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..6i64 {
        let mut p = Builder::goroutine();
        let s = p.stack(&[
            ("runtime.gopark", "p.go", 1),
            ("runtime.chanrecv1", "c.go", 2),
            ("main.wait", "/w.go", 3),
        ]);
        p.goroutine_sample(s, 20_000, &[]);
        p.p.time_nanos = m * MIN;
        b.push(&p.p).unwrap();
    }
    let report = Report::new(analyze_goroutines(
        &b.finish(),
        &GoroutineOptions::default(),
    ));
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].verdict, Verdict::Suspect);
    assert!(
        report.findings[0]
            .notes
            .iter()
            .any(|n| n.contains("pile-up"))
    );
}

proptest::proptest! {
    /// An idle pool of any size, sampled any number of times, is stable.
    #[test]
    fn constant_pool_is_stable(size in 1i64..5000, snaps in 2usize..40, gap in 1i64..600) {
        let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
        for m in 0..snaps as i64 {
            let mut p = Builder::goroutine();
            let s = p.stack(&[("runtime.gopark", "p.go", 1), ("runtime.selectgo", "s.go", 2), ("main.worker", "/w.go", 3)]);
            p.goroutine_sample(s, size, &[("state", "select")]);
            p.p.time_nanos = m * gap * 1_000_000_000;
            b.push(&p.p).unwrap();
        }
        let f = analyze_goroutines(&b.finish(), &GoroutineOptions::default());
        proptest::prop_assert!(f.is_empty());
    }
}

#[test]
fn state_rules() {
    for (s, r) in [
        ("chan send", Rule::ChanSend),
        ("chan send (nil chan)", Rule::ChanSend),
        ("chan receive", Rule::ChanReceive),
        ("select", Rule::Select),
        ("select (no cases)", Rule::Select),
        ("sync.Mutex.Lock", Rule::Sync),
        ("sync.RWMutex.RLock", Rule::Sync),
        ("sync.WaitGroup.Wait", Rule::Sync),
        ("sync.Cond.Wait", Rule::Sync),
        ("semacquire", Rule::Sync),
        ("IO wait", Rule::Io),
        ("sleep", Rule::Sleep),
        ("running", Rule::Running),
        ("GC worker (idle)", Rule::Other),
    ] {
        assert_eq!(Rule::from_state(s), r, "{s}");
    }
}

/// A ticker loop per poller: the heap grows at time.NewTicker in
/// main.startPoller, and the loop goroutines (main.startPoller.func1) grow.
#[test]
fn ticker_loops_are_linked_to_their_ticker() {
    use drift::series::{HeapSeriesBuilder, SeriesOptions};
    let mut hb = HeapSeriesBuilder::new(SeriesOptions::default());
    let mut gb = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..10i64 {
        let mut h = Builder::heap();
        let s = h.stack(&[
            ("runtime.mallocgc", "malloc.go", 1),
            ("time.NewTicker", "tick.go", 40),
            ("main.startPoller", "/src/poll.go", 12),
        ]);
        let v = (1 + m) << 20;
        h.heap_sample(s, [m, v, m, v]);
        h.p.time_nanos = m * MIN;
        hb.push(&h.p).unwrap();
        let mut g = Builder::goroutine();
        let s = g.stack(&[("main.startPoller.func1", "/src/poll.go", 15)]);
        g.goroutine_sample(
            s,
            1 + 10 * m,
            &[("state", "select"), ("created_by", "main.startPoller")],
        );
        g.p.time_nanos = m * MIN;
        gb.push(&g.p).unwrap();
    }
    let (hs, gs) = (hb.finish(), gb.finish());
    let report = drift::hunt(
        &drift::Inputs {
            heap: Some(&hs),
            goroutines: Some(&gs),
            ..Default::default()
        },
        &drift::HuntOptions::default(),
    );
    let g = report
        .findings
        .iter()
        .find(|f| f.kind == drift::Kind::Goroutine)
        .unwrap();
    assert_eq!(g.verdict, Verdict::Leak);
    assert_eq!(g.signature, Some(drift::Signature::TickerLoopNeverStopped));
    let h = report
        .findings
        .iter()
        .find(|f| f.kind == drift::Kind::Heap)
        .unwrap();
    assert_eq!(h.signature, Some(drift::Signature::TickerNeverStopped));
}

/// Dumps pushed directly group exactly as through `to_profile`, and also
/// carry the `created by` call site.
#[test]
fn dumps_pushed_directly_match_profiles() {
    let via_profile = series(6);
    let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..6u64 {
        let gs = parse_dump(&dump(m)).unwrap();
        b.push_dump(&gs, m as i64 * MIN).unwrap();
    }
    let direct = b.finish();
    assert_eq!(direct.groups.len(), via_profile.groups.len());
    for (i, (a, d)) in via_profile.groups.iter().zip(&direct.groups).enumerate() {
        assert_eq!(
            (&a.state, &a.blocking, &a.user, &a.created_by, a.rule),
            (&d.state, &d.blocking, &d.user, &d.created_by, d.rule)
        );
        assert_eq!(a.confirmed_leak, d.confirmed_leak);
        assert!(a.created_at.is_none());
        for s in 0..6 {
            assert_eq!(via_profile.count(i, s), direct.count(i, s));
            assert_eq!(
                via_profile.max_wait_minutes(i, s),
                direct.max_wait_minutes(i, s)
            );
        }
    }
    let report = Report::new(analyze_goroutines(&direct, &GoroutineOptions::default()));
    let send = report
        .findings
        .iter()
        .find(|f| f.function == "main.fetchAll.func1")
        .unwrap();
    let at = send.created_at.as_ref().unwrap();
    assert_eq!(
        (at.function.as_str(), at.file.as_str(), at.line),
        ("main.fetchAll", "/src/leak.go", 40)
    );
}

/// A dump is grouped through its distinct goroutines: repeating every
/// goroutine (other ids, other creating goroutines, longer waits) doubles
/// every count, keeps the groups and their order, and the longest wait wins.
#[test]
fn repeated_goroutines_in_a_dump_only_add_to_counts() {
    let gs = parse_dump(&dump(3)).unwrap();
    let mut twice = gs.clone();
    for g in &gs {
        let mut copy = g.clone();
        copy.id += 1_000_000;
        if let Some(c) = &mut copy.created_by {
            c.goroutine = c.goroutine.map(|n| n + 7);
        }
        copy.wait_minutes = Some(g.wait_minutes.unwrap_or(0) + 5);
        twice.push(copy);
    }
    let push = |gs: &[profile::goroutine_dump::Goroutine]| {
        let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
        b.push_dump(gs, 0).unwrap();
        b.finish()
    };
    let (once, twice) = (push(&gs), push(&twice));
    assert_eq!(once.groups, twice.groups);
    for i in 0..once.groups.len() {
        assert_eq!(2 * once.count(i, 0), twice.count(i, 0));
        assert_eq!(
            twice.max_wait_minutes(i, 0),
            Some(once.max_wait_minutes(i, 0).unwrap_or(0) + 5)
        );
    }
}

/// Issue 9, false alarm 5: on a real third-party service the rank-1
/// finding was a LEAK of one goroutine at 0 goroutines/min, a deliberate
/// `select {}` park that the runtime's leak detector (rightly) reports.
/// It is "stuck": listed, never above growth. A confirmed group that does
/// grow is a leak, with confidence 1.
#[test]
fn a_confirmed_goroutine_that_does_not_grow_is_stuck() {
    let park = [
        ("runtime.gopark", "proc.go", 460),
        ("runtime.block", "select.go", 104),
        (
            "github.com/vendor/agent.(*Agent).Run",
            "/mod/agent/agent.go",
            88,
        ),
    ];
    let send = [
        ("runtime.gopark", "proc.go", 460),
        ("runtime.chansend1", "chan.go", 161),
        ("main.notify.func1", "/src/n.go", 14),
    ];
    let poll = [
        ("runtime.gopark", "proc.go", 460),
        ("runtime.selectgo", "select.go", 351),
        ("main.(*watcher).poll", "/src/w.go", 51),
    ];
    let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..12i64 {
        let mut p = Builder::goroutine();
        let s = p.stack(&park);
        p.goroutine_sample(s, 1, &[]);
        let s = p.stack(&send);
        p.goroutine_sample(s, 3 + 2 * m, &[]);
        // A pool that warms up: a plateau.
        let s = p.stack(&poll);
        p.goroutine_sample(s, (4 * m).min(16), &[]);
        p.p.time_nanos = m * MIN;
        b.push(&p.p).unwrap();
    }
    let mut leak = Builder::goroutine();
    for frames in [&park[..], &send[..]] {
        let s = leak.stack(frames);
        leak.goroutine_sample(s, 1, &[]);
    }
    b.push_leak_profile(&leak.p);
    let report = Report::new(analyze_goroutines(
        &b.finish(),
        &GoroutineOptions::default(),
    ));
    let v: Vec<(&str, Verdict)> = report
        .findings
        .iter()
        .map(|f| (f.function.as_str(), f.verdict))
        .collect();
    assert_eq!(
        v,
        vec![
            ("main.notify.func1", Verdict::Leak),
            ("github.com/vendor/agent.(*Agent).Run", Verdict::Stuck),
            ("main.(*watcher).poll", Verdict::Plateau),
        ]
    );
    assert_eq!(report.findings[0].confidence, 1.0);
    let stuck = &report.findings[1];
    assert_eq!(stuck.growth_per_min, 0.0);
    assert!(stuck.notes.iter().any(|n| n.contains("does not grow")));
    assert_eq!(stuck.signature, Some(drift::Signature::SelectWithNoWayOut));
    let json = serde_json::to_value(stuck).unwrap();
    assert_eq!(json["verdict"], "stuck");
    let mut text = Vec::new();
    drift::render::render_text(
        &mut text,
        &drift::render::Header::default(),
        &report.findings,
        &Default::default(),
    )
    .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("#2 STUCK goroutines"), "{text}");
    assert!(
        text.contains("summary: 1 leak, 1 stuck, 1 plateau"),
        "{text}"
    );
}

#[test]
fn a_frameless_leak_entry_confirms_nothing() {
    // Go lists a main goroutine parked in `select {}` as a goroutineleak
    // sample without frames (caddy); goroutine profiles catch a few
    // goroutines without frames too, in varying numbers.
    let mut b = GoroutineSeriesBuilder::new(GroupOptions::default());
    for m in 0..12i64 {
        let mut p = Builder::goroutine();
        p.goroutine_sample(Vec::new(), [2, 0, 1, 1, 3][m as usize % 5], &[]);
        p.p.time_nanos = m * MIN;
        b.push(&p.p).unwrap();
    }
    let mut leak = Builder::goroutine();
    leak.goroutine_sample(Vec::new(), 1, &[]);
    b.push_leak_profile(&leak.p);
    let series = b.finish();
    assert!(series.groups.iter().all(|g| !g.confirmed_leak));
    let report = Report::new(analyze_goroutines(&series, &GoroutineOptions::default()));
    assert!(
        report.findings.iter().all(|f| f.verdict < Verdict::Stuck),
        "{:#?}",
        report.findings
    );
}
