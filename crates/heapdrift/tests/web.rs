//! `heapdrift pprof -http`: each view over HTTP (status, headers), the top
//! view's numbers against `heapdrift pprof -top`, escaping of hostile
//! names in every view, and the errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_heapdrift"));
    c.current_dir(root()).env("TZ", "UTC");
    c
}

/// A running `heapdrift pprof -http=127.0.0.1:0`, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    start_with(bin(), args)
}

fn start_with(mut cmd: Command, args: &[&str]) -> Server {
    let child = cmd
        .args(["pprof", "-http=127.0.0.1:0", "-no_browser"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start heapdrift");
    // Owned by the guard at once, so a failed start still reaps it.
    let mut server = Server {
        child,
        addr: String::new(),
    };
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("heapdrift exited without serving");
        }
        if let Some(url) = line.trim().strip_prefix("Serving web UI on http://") {
            server.addr = url.to_string();
            // Keep draining stderr so the server never blocks on it.
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return server;
        }
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn get_with_host(s: &Server, path: &str, host: &str) -> Resp {
    let mut c = TcpStream::connect(&s.addr).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

fn get(s: &Server, path: &str) -> Resp {
    let host = s.addr.clone();
    get_with_host(s, path, &host)
}

/// The text of the `<td>`s of each row of the top table, HTML entities
/// decoded.
fn top_rows(html: &str) -> Vec<Vec<String>> {
    let body = html
        .split_once("<tbody>")
        .and_then(|(_, b)| b.split_once("</tbody>"))
        .map(|(b, _)| b)
        .expect("a top table");
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = &cell[cell.find('>').unwrap() + 1..];
                    let inner = inner.split("</td>").next().unwrap();
                    unescape(&strip_tags(inner))
                })
                .collect()
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rows of `heapdrift pprof -top ARGS`, whitespace squashed.
fn cli_top(args: &[&str]) -> Vec<String> {
    let out = bin().arg("pprof").arg("-top").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat  flat%"));
    lines.next();
    lines.map(squash).collect()
}

fn web_top(s: &Server, query: &str) -> Vec<String> {
    let r = get(s, &format!("/ui/top{query}"));
    assert_eq!(r.status, 200, "{}", r.body);
    top_rows(&r.body)
        .iter()
        .map(|cells| squash(&cells[..6].join(" ")))
        .collect()
}

const HEAP: &str = "testdata/profiles/allocs.pb.gz";
const XSS: &str = "testdata/xss/xss-heap.pb.gz";
const XSS_BASE: &str = "testdata/xss/xss-heap-base.pb.gz";

#[test]
fn every_view_answers_with_the_security_headers() {
    let s = start(&[HEAP]);
    let r = get(&s, "/?si=alloc_space&f=main");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some("/ui/flamegraph?si=alloc_space&f=main")
    );
    for path in [
        "/ui/flamegraph",
        "/ui/top",
        "/ui/graph",
        "/ui/peek?f=main%5C.buildTree",
        "/ui/source?f=main%5C.buildTree",
        "/ui/peek",
    ] {
        let r = get(&s, path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(r.body.contains("<main id=\"content\""), "{path}");
    }
    let r = get(&s, "/ui/peek?f=main%5C.buildTree");
    assert!(r.body.contains("main.buildTree"));
    for asset in ["ui.js", "ui.css", "flame.js"] {
        let r = get(&s, &format!("/ui/assets/{asset}"));
        assert_eq!(r.status, 200, "{asset}");
        assert!(r.body.len() > 500);
    }
    assert_eq!(get(&s, "/ui/assets/nope.js").status, 404);
    // pprof's /download: the profile itself, decodable.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    write!(
        c,
        "GET /ui/download HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr
    )
    .unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase();
    assert!(head.contains("content-type: application/vnd.google.protobuf+gzip"));
    assert!(!head.contains("transfer-encoding: chunked"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("downloaded.pb.gz");
    std::fs::write(&file, &raw[at + 4..]).unwrap();
    assert_eq!(cli_top(&[file.to_str().unwrap()]), cli_top(&[HEAP]));
}

#[test]
fn top_numbers_are_the_clis() {
    let s = start(&[HEAP]);
    let cli = cli_top(&[HEAP]);
    let web = web_top(&s, "");
    assert!(cli.len() > 10, "{cli:?}");
    assert_eq!(web, cli);
    // URL parameters are pprof's: si, f, i, sort.
    let cli = cli_top(&[
        "-sample_index=alloc_objects",
        "-focus=codec|flate",
        "-ignore=header",
        "-cum",
        HEAP,
    ]);
    let web = web_top(&s, "?si=alloc_objects&f=codec%7Cflate&i=header&sort=cum");
    assert!(cli.len() > 3, "{cli:?}");
    assert_eq!(web, cli);
}

#[test]
fn top_numbers_of_a_diff_are_the_clis() {
    let s = start(&["-diff_base", XSS_BASE, XSS]);
    assert_eq!(web_top(&s, ""), cli_top(&["-diff_base", XSS_BASE, XSS]));
}

#[test]
fn hostile_names_are_escaped_everywhere() {
    let s = start(&[XSS]);
    let raw = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(2)>",
        "<i>k</i>",
    ];
    for path in [
        "/ui/flamegraph",
        "/ui/top",
        "/ui/graph",
        "/ui/peek?f=main",
        "/ui/source?f=main",
        "/ui/top?f=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/ui/top?si=%3Cscript%3E",
    ] {
        let r = get(&s, path);
        for bad in raw {
            assert!(!r.body.contains(bad), "{path}: raw {bad}");
        }
        // Only our own script elements.
        let scripts = r.body.matches("<script").count();
        let ours = r.body.matches("<script src=\"/ui/assets/").count()
            + r.body.matches("<script type=\"application/json\"").count();
        assert_eq!(scripts, ours, "{path}");
    }
    let top = get(&s, "/ui/top").body;
    for n in [
        "main.&lt;script&gt;alert(1)&lt;/script&gt;",
        "main.&quot;quote&quot;",
        "main.&#39;apos&#39;",
        "main.&amp;amp;",
        "File: &lt;img src=x onerror=alert(2)&gt;",
    ] {
        assert!(top.contains(n), "top: {n}");
    }
    // The focus links quote the name as a regexp, then escape it for HTML.
    assert!(top.contains("f=%5Emain%5C.%3Cscript%3Ealert%5C%281%5C%29%3C%2Fscript%3E%24"));
    let rows = top_rows(&top);
    let names: Vec<&str> = rows.iter().map(|r| r[5].as_str()).collect();
    for n in [
        "main.<script>alert(1)</script>",
        "main.\"quote\"",
        "main.'apos'",
        "main.&amp;",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let graph = get(&s, "/ui/graph").body;
    if graph.contains("<svg") {
        // Graphviz keeps `&amp;` as an entity: the web graph must send it
        // as `&amp;amp;` for the name to read `&amp;`.
        assert!(graph.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(graph.contains(">&amp;amp;</text>"), "graph: &amp; literal");
        assert!(graph.contains("&quot;quote&quot;"));
    } else {
        assert!(graph.contains("id=\"no-graphviz\""));
    }
    let flame = get(&s, "/ui/flamegraph").body;
    assert!(flame.contains("main.\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    assert!(flame.contains("main.\\u0026amp;"));
    assert!(flame.contains("main.\\\"quote\\\""));
    let peek = get(&s, "/ui/peek?f=main").body;
    assert!(peek.contains("main.&lt;script&gt;alert(1)&lt;/script&gt;"));
    let src = get(&s, "/ui/source?f=main").body;
    assert!(src.contains("ROUTINE ======================== main.&lt;script&gt;"));
}

#[test]
fn bad_parameters_are_400_with_pprofs_message() {
    let s = start(&[HEAP]);
    let r = get(&s, "/ui/top?si=bogus");
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains(
            "sample_index &quot;bogus&quot; must be one of: [alloc_objects alloc_space inuse_objects inuse_space]"
        ),
        "{}",
        r.body
    );
    let r = get(&s, "/ui/top?f=main.(");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("parsing focus regexp"), "{}", r.body);
    let r = get(&s, "/ui/top?n=many");
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("error setting config field nodecount"),
        "{}",
        r.body
    );
    // A focus that matches nothing is a warning shown on the page.
    let r = get(&s, "/ui/top?f=nosuchfunction");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Focus expression matched no samples"));
}

#[test]
fn the_graph_says_when_graphviz_is_missing() {
    let mut cmd = bin();
    cmd.env("PATH", "/nonexistent");
    let s = start_with(cmd, &[HEAP]);
    let r = get(&s, "/ui/graph");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"no-graphviz\""), "{}", r.body);
    assert!(r.body.contains("needs Graphviz"));
}

#[test]
fn other_hosts_are_refused() {
    // DNS rebinding: a page of another site must not read the profile.
    let s = start(&[HEAP]);
    assert_eq!(get_with_host(&s, "/ui/top", "evil.example:80").status, 403);
    let port = s.addr.rsplit_once(':').unwrap().1;
    assert_eq!(
        get_with_host(&s, "/ui/top", &format!("localhost:{port}")).status,
        200
    );
}

/// A bad address is one line; a source that cannot be read is named on a
/// line of its own, then pprof's "failed to fetch any source profiles".
#[test]
fn bad_addresses_and_sources_fail_as_pprof_says() {
    for (args, want, lines) in [
        (
            vec!["pprof", "-http=8080", "-no_browser", HEAP],
            "could not split http address",
            1,
        ),
        (
            vec!["pprof", "-http=:nope", "-no_browser", HEAP],
            "invalid port number",
            1,
        ),
        (
            vec![
                "pprof",
                "-http=:0",
                "-no_browser",
                "testdata/nonexistent.pb.gz",
            ],
            "nonexistent.pb.gz: stat",
            2,
        ),
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), lines, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        if lines == 2 {
            assert!(
                err.ends_with("failed to fetch any source profiles\n"),
                "{args:?}: {err}"
            );
        }
    }
}
