//! The `ProfileSource` contract: the views hand `src`/`base` to the source
//! untouched and carry them through every link and form. And the flame
//! graph page's pruning of sub-pixel frames.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use profile::Profile;
use report::driver::{CombineOptions, combine_sources};
use web::ProfileSource;

fn fixture(name: &str) -> Profile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/xss")
        .join(name);
    let data = std::fs::read(&path).unwrap();
    profile::parse::parse(&data, &Default::default())
        .unwrap()
        .profile
}

/// Two named snapshots; `base` is pprof's -diff_base.
struct Snapshots {
    calls: Mutex<Vec<(Option<String>, Option<String>)>>,
}

impl ProfileSource for Snapshots {
    fn load(&self, src: Option<&str>, base: Option<&str>) -> Result<Arc<Profile>, String> {
        self.calls
            .lock()
            .unwrap()
            .push((src.map(String::from), base.map(String::from)));
        let pick = |s: &str| match s {
            "new" => Ok(fixture("xss-heap.pb.gz")),
            "old" => Ok(fixture("xss-heap-base.pb.gz")),
            other => Err(format!("no snapshot {other:?}")),
        };
        let p = pick(src.unwrap_or("new"))?;
        let bases = match base {
            Some(b) => vec![pick(b)?],
            None => vec![],
        };
        let o = CombineOptions {
            diff_base: true,
            ..Default::default()
        };
        combine_sources(vec![p], bases, &o, &mut std::io::sink())
            .map(Arc::new)
            .map_err(|e| e.message())
    }

    fn title(&self, src: Option<&str>) -> String {
        format!("snapshot {}", src.unwrap_or("latest"))
    }
}

fn start(source: Arc<dyn ProfileSource>) -> String {
    let router = web::pprof_ui_router(source, Default::default());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap().to_string()).unwrap();
            axum::serve(l, router).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[test]
fn src_and_base_reach_the_source_and_stay_in_every_link() {
    let source = Arc::new(Snapshots {
        calls: Mutex::new(Vec::new()),
    });
    let addr = start(source.clone());

    let (status, body) = get(&addr, "/ui/top?src=new&base=old&f=main");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        source.calls.lock().unwrap().last().unwrap(),
        &(Some("new".to_string()), Some("old".to_string()))
    );
    assert!(body.contains("<title>snapshot new Top inuse_space"));
    // View switcher, sample picker, sort and focus links.
    for href in [
        "href=\"flamegraph?src=new&amp;base=old&amp;f=main\"",
        "href=\"graph?src=new&amp;base=old&amp;f=main\"",
        "href=\"top?src=new&amp;base=old&amp;f=main&amp;si=inuse_objects\"",
        "href=\"top?src=new&amp;base=old&amp;f=main&amp;sort=cum\"",
        "href=\"top?src=new&amp;base=old&amp;f=%5Emain%5C.grow%24\"",
        "href=\"peek?src=new&amp;base=old&amp;f=%5Emain%5C.grow%24\"",
        "id=\"download\" class=\"download\" title=\"The profile as profile.proto\" href=\"download?src=new&amp;base=old\"",
        // Reset keeps the snapshot.
        "id=\"refine-reset\" title=\"Show the entire profile\" href=\"top?src=new&amp;base=old\"",
    ] {
        assert!(body.contains(href), "missing {href}");
    }
    // The refine form carries them as hidden fields.
    assert!(body.contains("<input type=\"hidden\" name=\"src\" value=\"new\">"));
    assert!(body.contains("<input type=\"hidden\" name=\"base\" value=\"old\">"));
    assert!(!body.contains("<input type=\"hidden\" name=\"f\""));

    // The diff reaches the flame graph.
    let (status, body) = get(&addr, "/ui/flamegraph?src=new&base=old");
    assert_eq!(status, 200);
    assert!(body.contains("\"diff\":true"));
    let (_, body) = get(&addr, "/ui/flamegraph?src=new");
    assert!(body.contains("\"diff\":false"));

    // A source error is the page's error, escaped.
    let (status, body) = get(&addr, "/ui/top?src=%3Cb%3E");
    assert_eq!(status, 404);
    assert!(body.contains("no snapshot &quot;&lt;b&gt;&quot;"), "{body}");

    // /ui redirects to the flame graph keeping the query.
    let mut c = TcpStream::connect(&addr).unwrap();
    write!(
        c,
        "GET /ui/?src=new HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 301"));
    assert!(
        raw.to_ascii_lowercase()
            .contains("location: /ui/flamegraph?src=new\r\n")
    );
}

/// One wide stack and 300 tiny ones: the page leaves the tiny frames out
/// (and says so, with a link to all of them); `flame_all=1` shows them.
#[test]
fn flame_page_leaves_out_tiny_frames_unless_asked() {
    use profile::{Function, Line, Location, Sample, ValueType};
    let mut p = Profile {
        sample_types: vec![ValueType::new("inuse_space", "bytes")],
        ..Default::default()
    };
    for i in 0..301u32 {
        p.functions.push(Function {
            id: u64::from(i) + 1,
            name: format!("main.f{i}"),
            ..Default::default()
        });
        p.locations.push(Location {
            id: u64::from(i) + 1,
            lines: vec![Line {
                function: Some(i),
                line: 1,
                column: 0,
            }],
            ..Default::default()
        });
        p.samples.push(Sample {
            locations: vec![i],
            values: vec![if i == 0 { 1 << 30 } else { 1 }],
            ..Default::default()
        });
    }
    let addr = start(Arc::new(web::pprof_ui::FixedSource {
        profile: Arc::new(p),
        title: "tiny".into(),
    }));
    let (status, body) = get(&addr, "/ui/flamegraph?si=inuse_space");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<span id=\"flame-pruned\" class=\"status\">2 of 302 frames"),
        "{body}"
    );
    assert!(body.contains("href=\"flamegraph?si=inuse_space&amp;flame_all=1\">Show all</a>"));
    assert!(!body.contains("main.f7"));
    let (status, body) = get(&addr, "/ui/flamegraph?si=inuse_space&flame_all=1");
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("flame-pruned"));
    assert!(body.contains("main.f7"));
}

/// An unchanging source's pages are kept: the same view and query again
/// does not load (nor build) anything; another query does. A source that
/// may change is asked every time.
#[test]
fn pages_of_an_unchanging_source_are_kept() {
    struct Counted(Mutex<usize>, bool);
    impl ProfileSource for Counted {
        fn load(&self, _: Option<&str>, _: Option<&str>) -> Result<Arc<Profile>, String> {
            *self.0.lock().unwrap() += 1;
            Ok(Arc::new(fixture("xss-heap.pb.gz")))
        }
        fn title(&self, _: Option<&str>) -> String {
            "counted".into()
        }
        fn unchanging(&self) -> bool {
            self.1
        }
    }
    for unchanging in [true, false] {
        let source = Arc::new(Counted(Mutex::new(0), unchanging));
        let addr = start(source.clone());
        let (_, first) = get(&addr, "/ui/top?si=inuse_space");
        let (_, again) = get(&addr, "/ui/top?si=inuse_space");
        assert_eq!(first, again);
        let loads = *source.0.lock().unwrap();
        assert_eq!(loads, if unchanging { 1 } else { 2 });
        get(&addr, "/ui/top?si=alloc_space");
        get(&addr, "/ui/flamegraph?si=inuse_space");
        assert_eq!(*source.0.lock().unwrap(), loads + 2);
    }
}
