//! Running a router on a local address until Ctrl-C.

use std::io;
use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

/// pprof's `-http` address: `[host]:[port]`. An empty host is 127.0.0.1
/// (pprof says localhost; heapdrift never listens on more than loopback
/// unless told), an empty port 0 (any free port). `[::1]:80` style IPv6
/// hosts are accepted.
pub fn parse_http_addr(addr: &str) -> io::Result<(String, u16)> {
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("could not split http address {addr:?}: {why}"),
        )
    };
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(bad("missing port in address"));
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.contains(':') && !addr.starts_with('[') {
        return Err(bad("too many colons in address"));
    }
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let port = if port.is_empty() {
        0
    } else {
        port.parse::<u16>()
            .map_err(|_| bad(&format!("invalid port number {port:?}")))?
    };
    Ok((host.to_string(), port))
}

/// Binds `addr` (`[host]:[port]`, see [`parse_http_addr`]), prints
/// `Serving web UI on http://ADDR` to stderr with the real port, opens a
/// browser (quietly, never failing) when asked, and serves `router` until
/// Ctrl-C.
///
/// When bound to loopback, requests whose `Host` header names another host
/// are refused (DNS rebinding would otherwise let a web page read local
/// profiles and source files through this server).
pub fn serve(router: Router, addr: &str, open_browser: bool) -> io::Result<()> {
    let (host, port) = parse_http_addr(addr)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Reports of big profiles take a copy of the profile each: a burst
        // of requests must not run dozens at once.
        .max_blocking_threads(4)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
        let local = listener.local_addr()?;
        let url = format!("http://{local}");
        eprintln!("Serving web UI on {url}");
        if open_browser {
            launch_browser(&url);
        }
        let router = if local.ip().is_loopback() {
            let bound = local;
            router.layer(middleware::from_fn(move |req: Request, next: Next| {
                check_host(bound, req, next)
            }))
        } else {
            router
        };
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })
}

async fn check_host(bound: SocketAddr, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if host_is_local(host, bound) {
        next.run(req).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "permission denied: not a local host\n",
        )
            .into_response()
    }
}

fn host_is_local(host: &str, bound: SocketAddr) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip == bound.ip())
}

/// Tries xdg-open (then a few common browsers) without waiting and
/// without letting their chatter reach the terminal.
fn launch_browser(url: &str) {
    use std::process::{Command, Stdio};
    for prog in ["xdg-open", "sensible-browser", "x-www-browser"] {
        let started = Command::new(prog)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = started {
            // Reap it in the background so no zombie is left.
            std::thread::spawn(move || child.wait());
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_like_pprof() {
        assert_eq!(parse_http_addr(":0").unwrap(), ("127.0.0.1".into(), 0));
        assert_eq!(parse_http_addr(":").unwrap(), ("127.0.0.1".into(), 0));
        assert_eq!(
            parse_http_addr("localhost:8080").unwrap(),
            ("localhost".into(), 8080)
        );
        assert_eq!(parse_http_addr("[::1]:9").unwrap(), ("::1".into(), 9));
        assert!(parse_http_addr("8080").is_err());
        assert!(parse_http_addr(":x").is_err());
        assert!(parse_http_addr("::1:9").is_err());
    }

    #[test]
    fn only_local_host_headers() {
        let b: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(host_is_local("127.0.0.1:8080", b));
        assert!(host_is_local("localhost:8080", b));
        assert!(host_is_local("[::1]:8080", b));
        assert!(host_is_local("localhost", b));
        assert!(!host_is_local("evil.example:8080", b));
        assert!(!host_is_local("", b));
    }
}
