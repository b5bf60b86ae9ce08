//! HTTP side of `heapdrift watch`: where a target serves `/debug/pprof/`,
//! which profiles it has, and fetches whose failures are classified for
//! the archive's gap reasons (down, timeout, 5xx, garbage).
//!
//! Unlike [`crate::fetch`] (one request, pprof's wording), a [`Client`] keeps
//! one agent per target so polling reuses its keep-alive connection, and
//! bounds the whole request (connect, headers and body) by one timeout: a
//! server that trickles its body must not stall a round.

use std::io::{ErrorKind, Read};
use std::time::Duration;

/// The profiles `watch` knows how to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `heap` (proto).
    Heap,
    /// `heap?debug=1`: the legacy text, whose footer is `runtime.MemStats`.
    HeapDebug1,
    Allocs,
    /// `goroutine` (proto).
    Goroutine,
    /// `goroutine?debug=2`: the full dump.
    GoroutineDump,
    /// `goroutineleak` (proto); Go 1.26+. Each request runs a GC cycle.
    GoroutineLeak,
}

impl Endpoint {
    /// The profile's name in the index and in the URL path.
    pub fn profile_name(self) -> &'static str {
        match self {
            Endpoint::Heap | Endpoint::HeapDebug1 => "heap",
            Endpoint::Allocs => "allocs",
            Endpoint::Goroutine | Endpoint::GoroutineDump => "goroutine",
            Endpoint::GoroutineLeak => "goroutineleak",
        }
    }

    /// The path and query under `/debug/pprof/`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Heap => "heap",
            Endpoint::HeapDebug1 => "heap?debug=1",
            Endpoint::Allocs => "allocs",
            Endpoint::Goroutine => "goroutine",
            Endpoint::GoroutineDump => "goroutine?debug=2",
            Endpoint::GoroutineLeak => "goroutineleak",
        }
    }
}

/// A target as the user named it and where its profiles are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The base URL, normalised (scheme added, no trailing slash, no
    /// `/debug/pprof` suffix): the archive's target key.
    pub url: String,
    /// `…/debug/pprof/`, with a trailing slash.
    pub pprof_base: String,
}

impl Target {
    /// Accepts `http://host:port`, `host:port`, and URLs that already end in
    /// (or contain) `/debug/pprof`; a path prefix before it is kept (a
    /// service that mounts pprof under `/admin/debug/pprof/`).
    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty target".into());
        }
        let with_scheme = if s.contains("://") {
            s.to_string()
        } else {
            format!("http://{s}")
        };
        let (scheme, rest) = with_scheme.split_once("://").unwrap_or(("http", ""));
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{s}: only http and https targets are supported"));
        }
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if host.is_empty() {
            return Err(format!("{s}: no host"));
        }
        let prefix = match path.find("/debug/pprof") {
            Some(i) => &path[..i],
            None => path,
        }
        .trim_end_matches('/');
        let url = format!("{scheme}://{host}{prefix}");
        Ok(Target {
            pprof_base: format!("{url}/debug/pprof/"),
            url,
        })
    }

    pub fn endpoint_url(&self, e: Endpoint) -> String {
        format!("{}{}", self.pprof_base, e.path())
    }

    /// The URL of a profile the index lists, by its name there (as the
    /// index's link has it: already escaped for a URL).
    pub fn profile_url(&self, name: &str) -> String {
        format!("{}{name}", self.pprof_base)
    }
}

/// What the `/debug/pprof/` index page lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Index {
    /// (profile name, count) in page order; the count of `goroutine` is the
    /// number of live goroutines.
    pub profiles: Vec<(String, i64)>,
}

impl Index {
    /// Parses the HTML of Go's `net/http/pprof.Index`: rows
    /// `<tr><td>COUNT</td><td><a href='NAME?debug=1'>NAME</a></td></tr>`.
    /// `None` when the page lists no profile (not Go's index).
    pub fn parse(html: &str) -> Option<Index> {
        let mut profiles = Vec::new();
        for row in html.split("<tr>").skip(1) {
            let Some(count) = row
                .strip_prefix("<td>")
                .and_then(|r| r.split_once("</td>"))
                .and_then(|(c, _)| c.trim().parse::<i64>().ok())
            else {
                continue;
            };
            let Some(href) = row
                .split_once("href='")
                .or_else(|| row.split_once("href=\""))
                .map(|(_, r)| r)
            else {
                continue;
            };
            let name: String = href
                .chars()
                .take_while(|c| !matches!(c, '?' | '\'' | '"'))
                .collect();
            if !name.is_empty() {
                profiles.push((name, count));
            }
        }
        (!profiles.is_empty()).then_some(Index { profiles })
    }

    /// The profiles listed that are not the runtime's own: custom
    /// profiles made with `pprof.NewProfile` (heapdriftprobe's `Track`
    /// makes them), which count resources held by acquiring stack.
    pub fn custom_profiles(&self) -> impl Iterator<Item = &str> {
        // Go's own profiles, and the index's other rows (net/http/pprof
        // lists cmdline, profile, symbol and trace too).
        const RUNTIME: [&str; 11] = [
            "allocs",
            "block",
            "cmdline",
            "goroutine",
            "goroutineleak",
            "heap",
            "mutex",
            "profile",
            "symbol",
            "threadcreate",
            "trace",
        ];
        self.profiles
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !RUNTIME.contains(n))
    }

    pub fn has(&self, name: &str) -> bool {
        self.profiles.iter().any(|(n, _)| n == name)
    }

    pub fn count(&self, name: &str) -> Option<i64> {
        self.profiles
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, c)| c)
    }
}

/// Why a fetch gave no usable bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// The host name does not resolve (DNS).
    NoSuchHost,
    /// Connection refused: nothing listens on the port (the service is
    /// down or restarting).
    Refused,
    /// No route to the host or its network.
    Unreachable,
    /// The connection was reset, or closed before a complete answer.
    Reset,
    /// No complete answer within the timeout.
    Timeout,
    /// An HTTP status other than 200.
    Status(u16),
    /// The body passed the size bound.
    TooLarge,
    /// Anything else the transport reported (an answer that is not HTTP,
    /// a TLS failure): the target answers garbage.
    Protocol,
}

impl FailureClass {
    /// The target could not be talked to at all (the archive's `down`).
    pub fn is_down(&self) -> bool {
        matches!(
            self,
            FailureClass::NoSuchHost
                | FailureClass::Refused
                | FailureClass::Unreachable
                | FailureClass::Reset
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {message}")]
pub struct Failure {
    pub class: FailureClass,
    pub url: String,
    /// What went wrong, in words that name the cause ("no such host …",
    /// "connection refused …", "404 Not Found: is net/http/pprof
    /// imported?"), never a page of the server's HTML.
    pub message: String,
    /// For a 404: the body says `Unknown profile` (Go's pprof handler for a
    /// profile this Go version does not have).
    pub unknown_profile: bool,
}

/// One target's HTTP client: keep-alive connections, a whole-request
/// timeout.
pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(9)
            .max_idle_connections_per_host(2)
            .user_agent(concat!("heapdrift/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            timeout,
        }
    }

    /// GETs `url`, at most `max_bytes` of body. A connection reset or
    /// closed early is tried once more on a fresh connection: servers close
    /// idle keep-alive connections (Go's `IdleTimeout`), and reusing one
    /// that was closed between two rounds is not an outage.
    pub fn get(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, Failure> {
        match self.get_once(url, max_bytes) {
            Err(f) if f.class == FailureClass::Reset => self.get_once(url, max_bytes),
            r => r,
        }
    }

    fn get_once(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, Failure> {
        let fail = |class, message: String| Failure {
            class,
            url: url.to_string(),
            message,
            unknown_profile: false,
        };
        let mut resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| classify(e, url, self.timeout, &fail))?;
        let status = resp.status();
        if status.as_u16() != 200 {
            // The start of the body is enough to tell Go's `Unknown profile`
            // from another page; the rest is not read.
            let mut body = Vec::new();
            let _ = resp
                .body_mut()
                .as_reader()
                .take(4096)
                .read_to_end(&mut body);
            let text = String::from_utf8_lossy(&body);
            let code = status.as_u16();
            let unknown_profile = code == 404 && text.contains("Unknown profile");
            let status_line = format!("{code} {}", status.canonical_reason().unwrap_or(""));
            let message = if unknown_profile {
                format!("{} {}", status_line.trim_end(), text.trim())
            } else if code == 404 && url.contains("/debug/pprof/") {
                // Go's default mux answers "404 page not found" for a path
                // nobody registered: the service has no pprof handlers.
                format!(
                    "{} (no pprof handler here: is net/http/pprof imported?)",
                    status_line.trim_end()
                )
            } else {
                with_excerpt(status_line.trim_end(), &text)
            };
            let mut f = fail(FailureClass::Status(code), message);
            f.unknown_profile = unknown_profile;
            return Err(f);
        }
        resp.body_mut()
            .with_config()
            .limit(max_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(limit) => fail(
                    FailureClass::TooLarge,
                    format!("response body exceeds {limit} bytes"),
                ),
                e => classify(e, url, self.timeout, &fail),
            })
    }

    /// Reads the index page. `Ok(None)`: the target answers but has no Go
    /// index there (a custom mux, or an index that fails): its endpoints
    /// are then tried directly, and they tell what is wrong.
    pub fn probe(&self, target: &Target) -> Result<Option<Index>, Failure> {
        match self.get(&target.pprof_base, 4 << 20) {
            Ok(body) => Ok(Index::parse(&String::from_utf8_lossy(&body))),
            Err(f) if matches!(f.class, FailureClass::Status(_)) => Ok(None),
            Err(f) => Err(f),
        }
    }
}

/// A status line and the first line of what the server said, cut short: a
/// proxy's HTML error page must not flood a log line.
fn with_excerpt(status_line: &str, body: &str) -> String {
    let first = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.is_empty() {
        return status_line.to_string();
    }
    let cut: String = first.chars().take(80).collect();
    let more = if cut.len() < first.len() { "…" } else { "" };
    format!("{status_line}: {cut}{more}")
}

/// `host:port` of a URL, for messages.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// The host of a URL, without port or IPv6 brackets.
fn host(url: &str) -> &str {
    let a = authority(url);
    let a = a.rsplit_once('@').map_or(a, |(_, h)| h);
    if let Some(v6) = a.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    a.rsplit_once(':').map_or(a, |(h, _)| h)
}

/// std's wording for a `getaddrinfo` failure, which it reports with no
/// `ErrorKind` of its own.
const LOOKUP_FAILED: &str = "failed to lookup address information";

/// `10s`, `500ms`.
fn short(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn classify(
    e: ureq::Error,
    url: &str,
    timeout: Duration,
    fail: &dyn Fn(FailureClass, String) -> Failure,
) -> Failure {
    let at = authority(url);
    let no_such_host = |detail: &str| {
        fail(
            FailureClass::NoSuchHost,
            format!("no such host {:?} ({detail})", host(url)),
        )
    };
    match e {
        ureq::Error::Timeout(_) => fail(
            FailureClass::Timeout,
            format!("no complete answer within {} from {at}", short(timeout)),
        ),
        ureq::Error::HostNotFound => no_such_host("DNS: no address"),
        ureq::Error::ConnectionFailed => {
            fail(FailureClass::Unreachable, format!("cannot connect to {at}"))
        }
        ureq::Error::Io(io) => {
            let text = io.to_string();
            if let Some(detail) = text.strip_prefix(LOOKUP_FAILED) {
                return no_such_host(&format!("DNS: {}", detail.trim_start_matches([':', ' '])));
            }
            let (class, message) = match io.kind() {
                ErrorKind::TimedOut | ErrorKind::WouldBlock => (
                    FailureClass::Timeout,
                    format!("no complete answer within {} from {at}", short(timeout)),
                ),
                ErrorKind::ConnectionRefused => (
                    FailureClass::Refused,
                    format!("connection refused: nothing listens on {at}"),
                ),
                ErrorKind::HostUnreachable => (
                    FailureClass::Unreachable,
                    format!("host unreachable: {at} ({text})"),
                ),
                ErrorKind::NetworkUnreachable => (
                    FailureClass::Unreachable,
                    format!("network unreachable: {at} ({text})"),
                ),
                ErrorKind::AddrNotAvailable => (
                    FailureClass::Unreachable,
                    format!("cannot connect to {at} ({text})"),
                ),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                    (FailureClass::Reset, format!("connection reset by {at}"))
                }
                ErrorKind::NotConnected | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => (
                    FailureClass::Reset,
                    format!("connection closed by {at} before a complete answer"),
                ),
                _ => (FailureClass::Protocol, text),
            };
            fail(class, message)
        }
        e => fail(FailureClass::Protocol, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_forms() {
        let t = Target::parse("127.0.0.1:6060").unwrap();
        assert_eq!(t.url, "http://127.0.0.1:6060");
        assert_eq!(t.pprof_base, "http://127.0.0.1:6060/debug/pprof/");
        for s in [
            "http://127.0.0.1:6060/",
            "http://127.0.0.1:6060/debug/pprof",
            "http://127.0.0.1:6060/debug/pprof/heap?debug=1",
        ] {
            assert_eq!(
                Target::parse(s).unwrap().url,
                "http://127.0.0.1:6060",
                "{s}"
            );
        }
        let p = Target::parse("https://svc:8443/admin/debug/pprof/").unwrap();
        assert_eq!(p.pprof_base, "https://svc:8443/admin/debug/pprof/");
        assert_eq!(
            p.endpoint_url(Endpoint::GoroutineDump),
            "https://svc:8443/admin/debug/pprof/goroutine?debug=2"
        );
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("http:///x").is_err());
    }

    #[test]
    fn go_index_page() {
        // As Go 1.27's net/http/pprof.Index writes it.
        let html = "<html>\n<table>\n<thead><td>Count</td><td>Profile</td></thead>\n\
            <tr><td>0</td><td><a href='allocs?debug=1'>allocs</a></td></tr>\n\
            <tr><td>13</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n\
            <tr><td>0</td><td><a href='goroutineleak?debug=1'>goroutineleak</a></td></tr>\n\
            <tr><td>7</td><td><a href='heap?debug=1'>heap</a></td></tr>\n\
            <tr><td>0</td><td><a href='profile?debug=1'>profile</a></td></tr>\n\
            <tr><td>3</td><td><a href='example.com/shop/db.conns?debug=1'>example.com/shop/db.conns</a></td></tr>\n\
            </table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>";
        let ix = Index::parse(html).unwrap();
        assert!(ix.has("heap") && ix.has("goroutineleak") && !ix.has("mutex"));
        assert_eq!(ix.count("goroutine"), Some(13));
        assert_eq!(ix.profiles.len(), 6);
        assert_eq!(
            ix.custom_profiles().collect::<Vec<_>>(),
            ["example.com/shop/db.conns"]
        );
        assert_eq!(
            Target::parse("h:1")
                .unwrap()
                .profile_url("example.com/shop/db.conns"),
            "http://h:1/debug/pprof/example.com/shop/db.conns"
        );
        assert_eq!(Index::parse("<html>hello</html>"), None);
    }

    /// A server that answers keep-alive but closes each connection after
    /// one response, without saying so (as an idle timeout does). ureq
    /// itself notices most such closed pooled connections; the retry in
    /// `get` covers a close that races with the request.
    #[test]
    fn a_reused_connection_closed_by_the_server_is_not_an_outage() {
        use std::io::{BufRead, BufReader, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (n, conn) in l.incoming().take(3).enumerate() {
                let mut conn = conn.unwrap();
                let mut r = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let body = format!("answer {n}");
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.flush();
                // Dropped: closed right after the response.
            }
        });
        let c = Client::new(Duration::from_secs(2));
        let url = format!("http://127.0.0.1:{port}/debug/pprof/heap");
        assert_eq!(c.get(&url, 1 << 20).unwrap(), b"answer 0");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(c.get(&url, 1 << 20).unwrap(), b"answer 1");
        std::thread::sleep(Duration::from_millis(50));
        assert!(c.get(&url, 1 << 20).is_ok());
    }

    /// A server that reads each request head, then calls `answer` (twice at
    /// most: a reset is retried once).
    fn serve_twice(answer: impl Fn(std::net::TcpStream) + Send + 'static) -> u16 {
        use std::io::{BufRead, BufReader};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in l.incoming().take(2) {
                let Ok(conn) = conn else { return };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                answer(conn);
            }
        });
        port
    }

    fn get_from(port: u16) -> Failure {
        Client::new(Duration::from_secs(2))
            .get(
                &format!("http://127.0.0.1:{port}/debug/pprof/heap"),
                1 << 20,
            )
            .unwrap_err()
    }

    #[test]
    fn refused_connection_is_named() {
        // A port that was just free: nobody listens.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = get_from(port);
        assert_eq!(e.class, FailureClass::Refused, "{e}");
        assert!(e.class.is_down());
        assert_eq!(
            e.to_string(),
            format!(
                "http://127.0.0.1:{port}/debug/pprof/heap: connection refused: nothing listens on 127.0.0.1:{port}"
            )
        );
    }

    #[test]
    fn an_unresolvable_host_is_named_with_the_host() {
        // glibc refuses this name (a `!` is no host name character) before
        // asking any DNS server, so the test sends nothing off the machine;
        // getaddrinfo fails as it does for an unknown name (EAI_NONAME).
        let e = Client::new(Duration::from_secs(2))
            .get("http://no-such!host.invalid:6060/debug/pprof/", 1 << 20)
            .unwrap_err();
        assert_eq!(e.class, FailureClass::NoSuchHost, "{e}");
        assert!(e.class.is_down());
        assert!(
            e.message
                .starts_with("no such host \"no-such!host.invalid\" (DNS: "),
            "{e}"
        );
    }

    #[test]
    fn a_reset_and_an_early_close_are_named() {
        let port = serve_twice(|conn| {
            // SO_LINGER 0: close() sends RST instead of FIN.
            socket_linger_zero(&conn);
            drop(conn);
        });
        let e = get_from(port);
        assert_eq!(e.class, FailureClass::Reset, "{e}");
        assert!(e.message.contains(&format!("by 127.0.0.1:{port}")), "{e}");
        let port = serve_twice(drop);
        let e = get_from(port);
        assert_eq!(e.class, FailureClass::Reset, "{e}");
        assert!(e.class.is_down());
    }

    fn socket_linger_zero(conn: &std::net::TcpStream) {
        use std::os::fd::AsRawFd;
        #[repr(C)]
        struct Linger {
            onoff: i32,
            linger: i32,
        }
        unsafe extern "C" {
            fn setsockopt(fd: i32, level: i32, name: i32, val: *const Linger, len: u32) -> i32;
        }
        let l = Linger {
            onoff: 1,
            linger: 0,
        };
        // SOL_SOCKET = 1, SO_LINGER = 13 on Linux.
        // SAFETY: a valid socket and a correctly sized linger struct.
        let r = unsafe { setsockopt(conn.as_raw_fd(), 1, 13, &l, 8) };
        assert_eq!(r, 0);
    }

    #[test]
    fn a_404_without_pprof_asks_for_net_http_pprof() {
        let port = serve_twice(|mut conn| {
            use std::io::Write;
            let body = "404 page not found\n";
            let _ = write!(
                conn,
                "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        });
        let e = get_from(port);
        assert_eq!(e.class, FailureClass::Status(404));
        assert!(!e.unknown_profile);
        assert_eq!(
            e.to_string(),
            format!(
                "http://127.0.0.1:{port}/debug/pprof/heap: 404 Not Found (no pprof handler here: is net/http/pprof imported?)"
            )
        );
    }

    #[test]
    fn an_error_page_is_cut_to_its_first_line() {
        let port = serve_twice(|mut conn| {
            use std::io::Write;
            let body = format!(
                "<html><head><title>502 Bad Gateway</title></head>\n<body>{}</body></html>",
                "x".repeat(5000)
            );
            let _ = write!(
                conn,
                "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        });
        let e = get_from(port);
        assert_eq!(e.class, FailureClass::Status(502));
        assert_eq!(
            e.message,
            "502 Bad Gateway: <html><head><title>502 Bad Gateway</title></head>"
        );
    }

    #[test]
    fn unreachable_networks_are_down() {
        let fail = |class, message| Failure {
            class,
            url: "http://10.9.9.9:6060/debug/pprof/heap".into(),
            message,
            unknown_profile: false,
        };
        for kind in [ErrorKind::HostUnreachable, ErrorKind::NetworkUnreachable] {
            let f = classify(
                ureq::Error::Io(std::io::Error::from(kind)),
                "http://10.9.9.9:6060/debug/pprof/heap",
                Duration::from_secs(1),
                &fail,
            );
            assert_eq!(f.class, FailureClass::Unreachable);
            assert!(f.message.contains("unreachable: 10.9.9.9:6060"), "{f}");
        }
        let f = classify(
            ureq::Error::HostNotFound,
            "http://[::1]:6060/x",
            Duration::from_secs(1),
            &fail,
        );
        assert_eq!(f.message, "no such host \"::1\" (DNS: no address)");
    }
}
