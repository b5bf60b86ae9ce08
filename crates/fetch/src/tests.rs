use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use super::*;

/// `adjustURL` results computed by Go 1.27 (cmd/pprof's function run on
/// these inputs): (source, -seconds, -timeout, URL, timeout in ms).
const GO_ADJUST_URL: &[(&str, i64, i64, &str, u64)] = &[
    (
        "localhost:6060",
        -1,
        -1,
        "http://localhost:6060/debug/pprof/profile",
        60000,
    ),
    (
        "localhost:6060/debug/pprof/heap",
        -1,
        -1,
        "http://localhost:6060/debug/pprof/heap",
        60000,
    ),
    (
        "127.0.0.1:6060",
        -1,
        -1,
        "http://127.0.0.1:6060/debug/pprof/profile",
        60000,
    ),
    (
        "127.0.0.1:6060/debug/pprof/heap",
        30,
        -1,
        "http://127.0.0.1:6060/debug/pprof/heap?seconds=30",
        45000,
    ),
    (
        "http://localhost/",
        -1,
        -1,
        "http://localhost/debug/pprof/profile",
        60000,
    ),
    (
        "http://localhost",
        5,
        3,
        "http://localhost/debug/pprof/profile?seconds=5",
        3000,
    ),
    (
        "https://h:1/p?b=2&a=1&seconds=7",
        -1,
        -1,
        "https://h:1/p?a=1&b=2&seconds=7",
        10500,
    ),
    (
        "https+insecure://h/p?seconds=x",
        -1,
        -1,
        "https+insecure://h/p?seconds=x",
        60000,
    ),
    ("http://h/p?seconds=10", 3, -1, "http://h/p?seconds=3", 4500),
    (
        "http://h/p?seconds=10",
        -1,
        4,
        "http://h/p?seconds=10",
        4000,
    ),
    (
        "http://h/p?x=a+b&y=%2F&z",
        -1,
        -1,
        "http://h/p?x=a+b&y=%2F&z=",
        60000,
    ),
    ("http://h/a b", -1, -1, "http://h/a%20b", 60000),
    ("http://h/a%2Fb", -1, -1, "http://h/a%2Fb", 60000),
    (
        "http://u:p@h:80/x#frag",
        -1,
        -1,
        "http://u:p@h:80/x#frag",
        60000,
    ),
    ("mem_2023-11-02_03:55:24", -1, -1, "", 0),
    (
        "abc:123/mem_2023-11-02_03:55:24",
        -1,
        -1,
        "http://abc:123/mem_2023-11-02_03:55:24",
        60000,
    ),
    ("profile.pb.gz", -1, -1, "", 0),
    ("/tmp/nonexistent", -1, -1, "", 0),
    ("file:///tmp/x", -1, -1, "", 0),
    ("file:x", -1, -1, "", 0),
    ("http:///x", -1, -1, "http://http:///x", 60000),
    ("host:port", -1, -1, "", 0),
    (":6060", -1, -1, "http://:6060/debug/pprof/profile", 60000),
    (
        "[::1]:6060",
        -1,
        -1,
        "http://[::1]:6060/debug/pprof/profile",
        60000,
    ),
    ("http://[::1]:6060/x", -1, -1, "http://[::1]:6060/x", 60000),
    (
        "h:6060/p?seconds=99999999999",
        -1,
        -1,
        "http://h:6060/p?seconds=99999999999",
        60000,
    ),
    ("h:6060/p?a=1;b=2", -1, -1, "http://h:6060/p", 60000),
    (
        "h:6060/p?seconds=5&seconds=6",
        -1,
        -1,
        "http://h:6060/p?seconds=5&seconds=6",
        7500,
    ),
    ("a b:80", -1, -1, "", 0),
    ("h:80/%zz", -1, -1, "", 0),
    ("HTTP://H/P", -1, -1, "http://H/P", 60000),
    (
        "h:80?q=1",
        -1,
        -1,
        "http://h:80/debug/pprof/profile?q=1",
        60000,
    ),
    ("h:80/é", -1, -1, "http://h:80/%C3%A9", 60000),
    (
        "h:80/p?k=é&k2=a/b",
        -1,
        -1,
        "http://h:80/p?k=%C3%A9&k2=a%2Fb",
        60000,
    ),
    ("1.2.3.4", -1, -1, "", 0),
    ("example.com", -1, -1, "", 0),
];

#[test]
fn adjust_url_matches_go() {
    for &(src, secs, timeout, want_url, want_ms) in GO_ADJUST_URL {
        // The table is Go's: flag values as pprof reads them.
        let got = adjust_url(src, Window::from_flags(secs, timeout));
        if want_url.is_empty() {
            assert_eq!(got, None, "{src}");
        } else {
            let (url, t) = got.unwrap_or_else(|| panic!("{src}: not a URL"));
            assert_eq!(url, want_url, "{src}");
            assert_eq!(t.as_millis() as u64, want_ms, "{src}");
        }
    }
}

#[test]
fn existing_path_is_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    // A file whose name would otherwise be a URL.
    let name = tmp.path().join("localhost:6060");
    std::fs::write(&name, b"").unwrap();
    let s = name.to_str().unwrap();
    assert_eq!(classify(s, Window::default()), Source::File(s.to_string()));
    assert_eq!(
        classify("profile.pb.gz.missing", Window::default()),
        Source::File("profile.pb.gz.missing".into())
    );
    match classify("localhost:6060", Window::from_flags(30, -1)) {
        Source::Url(p) => {
            assert_eq!(
                p.url,
                "http://localhost:6060/debug/pprof/profile?seconds=30"
            );
            assert_eq!(p.timeout, Duration::from_secs(45));
            assert_eq!(
                p.announce(),
                [
                    "Fetching profile over HTTP from http://localhost:6060/debug/pprof/profile?seconds=30",
                    "Please wait... (30s)"
                ]
            );
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn durations_like_go() {
    for (s, want) in [
        (0, "0s"),
        (1, "1s"),
        (30, "30s"),
        (90, "1m30s"),
        (3600, "1h0m0s"),
        (3661, "1h1m1s"),
    ] {
        assert_eq!(go_duration_secs(s), want);
    }
}

/// A canned HTTP/1.1 server: each connection gets `respond(request_line)`;
/// request lines are sent back over the channel.
fn serve(
    conns: usize,
    respond: impl Fn(&str) -> (Vec<u8>, Duration) + Send + 'static,
) -> (String, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for _ in 0..conns {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let line = line.trim_end().to_string();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let (resp, delay) = respond(&line);
            let _ = tx.send(line);
            thread::sleep(delay);
            let _ = s.write_all(&resp);
            let _ = s.flush();
        }
    });
    (addr, rx)
}

fn response(status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

fn plan(url: &str, secs: i64, timeout: i64) -> FetchPlan {
    match classify(url, Window::from_flags(secs, timeout)) {
        Source::Url(p) => p,
        s => panic!("{s:?}"),
    }
}

#[test]
fn fetches_body_with_seconds_param() {
    let (addr, rx) = serve(1, |_| {
        (response("200 OK", &[], b"\x1f\x8bprofile"), Duration::ZERO)
    });
    let p = plan(&addr, 2, -1);
    assert_eq!(p.timeout, Duration::from_secs(3));
    let body = fetch(&p, &FetchOptions::default()).unwrap();
    assert_eq!(body, b"\x1f\x8bprofile");
    assert_eq!(
        rx.recv().unwrap(),
        "GET /debug/pprof/profile?seconds=2 HTTP/1.1"
    );
}

#[test]
fn status_errors_worded_like_pprof() {
    let (addr, _rx) = serve(2, |line| {
        if line.contains("/debug/pprof/heap") {
            (
                response(
                    "404 Not Found",
                    &["Content-Type: text/plain"],
                    b"404 page not found\n",
                ),
                Duration::ZERO,
            )
        } else {
            (
                response(
                    "400 Bad Request",
                    &["X-Go-Pprof: 1", "Content-Type: text/plain; charset=utf-8"],
                    b"profile duration exceeds server's WriteTimeout\n",
                ),
                Duration::ZERO,
            )
        }
    });
    let e = fetch(
        &plan(&format!("{addr}/debug/pprof/heap"), -1, -1),
        &FetchOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "server response: 404 Not Found");
    let e = fetch(&plan(&addr, 60, -1), &FetchOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "server response: 400 Bad Request - profile duration exceeds server's WriteTimeout\n"
    );
}

#[test]
fn follows_redirects() {
    let (addr, rx) = serve(2, |line| {
        if line.starts_with("GET /debug/pprof/heap ") {
            (
                response("302 Found", &["Location: /real?x=1"], b""),
                Duration::ZERO,
            )
        } else {
            (response("200 OK", &[], b"real"), Duration::ZERO)
        }
    });
    let body = fetch(
        &plan(&format!("http://{addr}/debug/pprof/heap"), -1, -1),
        &FetchOptions::default(),
    )
    .unwrap();
    assert_eq!(body, b"real");
    assert_eq!(rx.recv().unwrap(), "GET /debug/pprof/heap HTTP/1.1");
    assert_eq!(rx.recv().unwrap(), "GET /real?x=1 HTTP/1.1");
}

#[test]
fn times_out_awaiting_headers() {
    let (addr, _rx) = serve(1, |_| {
        (response("200 OK", &[], b"late"), Duration::from_secs(3))
    });
    let mut p = plan(&addr, -1, 1);
    p.timeout = Duration::from_millis(300);
    let opts = FetchOptions {
        header_grace: Duration::ZERO,
        ..FetchOptions::default()
    };
    let start = std::time::Instant::now();
    let e = fetch(&p, &opts).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        e.to_string(),
        format!(
            "Get \"http://{addr}/debug/pprof/profile\": net/http: timeout awaiting response headers"
        )
    );
}

#[test]
fn caps_the_body() {
    let (addr, _rx) = serve(1, |_| {
        (response("200 OK", &[], &[7u8; 100]), Duration::ZERO)
    });
    let opts = FetchOptions {
        max_bytes: 10,
        ..FetchOptions::default()
    };
    let e = fetch(&plan(&addr, -1, -1), &opts).unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { limit: 10, .. }), "{e}");
}

#[test]
fn connection_refused() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let e = fetch(&plan(&addr, -1, -1), &FetchOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Get \"http://{addr}/debug/pprof/profile\": dial tcp {addr}: connect: connection refused"
        )
    );
}

#[test]
fn tls_flag_errors_worded_like_pprof() {
    let p = plan("https://127.0.0.1:1/x", -1, -1);
    let only_key = FetchOptions {
        tls_key: Some("k.pem".into()),
        ..FetchOptions::default()
    };
    assert_eq!(
        fetch(&p, &only_key).unwrap_err().to_string(),
        "-tls_key is specified, so -tls_cert must also be specified"
    );
    let only_cert = FetchOptions {
        tls_cert: Some("c.pem".into()),
        ..FetchOptions::default()
    };
    assert_eq!(
        fetch(&p, &only_cert).unwrap_err().to_string(),
        "-tls_cert is specified, so -tls_key must also be specified"
    );
    let missing_ca = FetchOptions {
        tls_ca: Some("/nonexistent/ca.pem".into()),
        ..FetchOptions::default()
    };
    assert_eq!(
        fetch(&p, &missing_ca).unwrap_err().to_string(),
        "could not load CA specified by -tls_ca: open /nonexistent/ca.pem: no such file or directory"
    );
}

#[test]
fn status_text_is_gos() {
    // Checked with go tool pprof against a Go server: Go's wording, not the
    // RFC's newer names.
    assert_eq!(go_status_text(413), Some("Request Entity Too Large"));
    assert_eq!(go_status_text(416), Some("Requested Range Not Satisfiable"));
    assert_eq!(go_status_text(404), Some("Not Found"));
    assert_eq!(go_status_text(599), None);
}
