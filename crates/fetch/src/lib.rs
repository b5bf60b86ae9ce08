//! Profile sources over HTTP, as `go tool pprof` fetches them.
//!
//! The rules are those of Go's cmd/pprof fetcher (which Go's pprof tries
//! before the upstream pprof one, so it decides every URL source): an existing
//! path is always a file; otherwise `adjustURL` decides whether the string is
//! a URL and what exactly to fetch; the response-header timeout is the
//! profile timeout plus five seconds; a non-200 status is an error worded
//! `server response: 404 Not Found`.

mod gourl;
pub mod parca;
pub mod pyroscope;
mod save;
pub mod store;
pub mod watch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use gourl::GoUrl;
pub use save::{SaveError, Saved, profile_dirs, save_fetched, save_fetched_in, saved_name_prefix};

/// Go's cmd/pprof substitutes this path for an empty one.
pub const CPU_PROFILE_HANDLER: &str = "/debug/pprof/profile";

/// Largest response body heapdrift accepts (Go has no limit; a cap keeps a
/// misbehaving server from exhausting memory).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Where a profile source comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A local path (whether or not it exists: pprof then reports the
    /// stat error).
    File(String),
    Url(FetchPlan),
}

/// What to fetch and how long to wait, as `adjustURL` computes them.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchPlan {
    /// The URL pprof reports and fetches (an `https+insecure` scheme kept).
    pub url: String,
    /// The profile timeout; the response headers may take 5s longer.
    pub timeout: Duration,
    /// `-seconds`, for the "Please wait" line.
    pub flag_seconds: Option<u64>,
}

/// pprof's `-seconds` and `-timeout` flags, in whole seconds. pprof takes
/// any integer and ignores values ≤ 0; those are `None` here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub seconds: Option<u64>,
    pub timeout: Option<u64>,
}

impl Window {
    /// From the flags' integer values as pprof reads them (≤ 0: unset).
    pub fn from_flags(seconds: i64, timeout: i64) -> Window {
        let positive = |v: i64| u64::try_from(v).ok().filter(|&v| v > 0);
        Window {
            seconds: positive(seconds),
            timeout: positive(timeout),
        }
    }
}

impl FetchPlan {
    /// The lines Go's pprof prints to stderr before fetching.
    pub fn announce(&self) -> Vec<String> {
        let mut v = vec![format!("Fetching profile over HTTP from {}", self.url)];
        if let Some(secs) = self.flag_seconds {
            v.push(format!("Please wait... ({})", go_duration_secs(secs)));
        }
        v
    }
}

/// Go's cmd/pprof `adjustURL`: `None` when `source` is not a URL.
pub fn adjust_url(source: &str, window: Window) -> Option<(String, Duration)> {
    let mut u = match GoUrl::parse(source) {
        Ok(u) if !(u.host.is_empty() && !u.scheme.is_empty() && u.scheme != "file") => u,
        // "host:port/path" parses as scheme "host"; retry as http.
        _ => GoUrl::parse(&format!("http://{source}")).ok()?,
    };
    if u.host.is_empty() {
        return None;
    }
    if u.path.is_empty() || u.path == "/" {
        u.set_path(CPU_PROFILE_HANDLER).ok()?;
    }
    let mut values = u.query();
    let mut duration = Duration::ZERO;
    if let Some(seconds) = window.seconds {
        duration = Duration::from_secs(seconds);
        let v = vec![seconds.to_string()];
        match values.iter_mut().find(|(k, _)| k == "seconds") {
            Some((_, vs)) => *vs = v,
            None => values.push(("seconds".into(), v)),
        }
    } else if let Some((_, vs)) = values.iter().find(|(k, _)| k == "seconds") {
        // Go parses the first value as a 32-bit decimal (sign allowed) and
        // ignores it when malformed or out of range; so does i32's FromStr.
        if let Ok(s) = vs[0].parse::<i32>()
            && s > 0
        {
            duration = Duration::from_secs(s as u64);
        }
    }
    let timeout = if let Some(timeout) = window.timeout {
        Duration::from_secs(timeout)
    } else if duration > Duration::ZERO {
        duration + duration / 2
    } else {
        Duration::from_secs(60)
    };
    u.raw_query = GoUrl::encode_query(&values);
    Some((u.to_go_string(), timeout))
}

/// Decides, as pprof does, whether `source` is a file or a URL: a path that
/// exists is a file; otherwise `adjust_url` decides.
pub fn classify(source: &str, window: Window) -> Source {
    if Path::new(source).exists() || std::fs::symlink_metadata(source).is_ok() {
        return Source::File(source.to_string());
    }
    match adjust_url(source, window) {
        Some((url, timeout)) => Source::Url(FetchPlan {
            url,
            timeout,
            flag_seconds: window.seconds,
        }),
        None => Source::File(source.to_string()),
    }
}

/// TLS material and limits for fetching.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// `-tls_cert`, `-tls_key`: a client certificate chain and its key (PEM).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `-tls_ca`: PEM roots that replace the default ones.
    pub tls_ca: Option<PathBuf>,
    pub max_bytes: u64,
    /// Added to the plan's timeout to bound the wait for response headers;
    /// Go's cmd/pprof uses 5s.
    pub header_grace: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            max_bytes: DEFAULT_MAX_BYTES,
            header_grace: Duration::from_secs(5),
        }
    }
}

/// A failed fetch; `Display` follows Go's wording.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// `server response: 404 Not Found[ - <pprof's error text>]`
    #[error("server response: {status}{}", detail.as_ref().map(|d| format!(" - {d}")).unwrap_or_default())]
    Status {
        code: u16,
        /// `404 Not Found`, as Go's `Response.Status`.
        status: String,
        /// The body, when the server is a Go pprof handler explaining itself.
        detail: Option<String>,
    },
    /// A transport failure: `Get "URL": <reason>`.
    #[error("Get \"{url}\": {reason}")]
    Transport { url: String, reason: String },
    #[error("Get \"{url}\": response body exceeds {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// Bad `-tls_*` flags or files; pprof's wording.
    #[error("{0}")]
    Tls(String),
    #[error("parse {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
}

/// Fetches the bytes of a profile (still gzipped, as served).
pub fn fetch(plan: &FetchPlan, opts: &FetchOptions) -> Result<Vec<u8>, FetchError> {
    let mut url = GoUrl::parse(&plan.url).map_err(|reason| FetchError::BadUrl {
        url: plan.url.clone(),
        reason,
    })?;
    let insecure = url.scheme == "https+insecure";
    if insecure {
        url.scheme = "https".into();
    }
    let url = url.to_go_string();

    let tls = tls_config(opts, insecure)?;
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // Go's cmd/pprof bounds only the wait for response headers, which
        // a CPU profile handler sends after `seconds`.
        .timeout_recv_response(Some(plan.timeout + opts.header_grace))
        // Go's client gives up at the 10th redirect.
        .max_redirects(9)
        .tls_config(tls)
        .user_agent(concat!("heapdrift/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut resp = agent
        .get(&url)
        .call()
        .map_err(|e| transport_error(&url, e))?;

    let status = resp.status();
    if status != ureq::http::StatusCode::OK {
        // ureq drops the server's reason phrase; Go prints it. Go servers
        // (the ones serving pprof) send Go's StatusText, so use that.
        let status_text = match go_status_text(status.as_u16()) {
            Some(r) => format!("{} {r}", status.as_u16()),
            None => format!("{} status code {}", status.as_u16(), status.as_u16()),
        };
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let mut detail = None;
        if !header("X-Go-Pprof").is_empty() && header("Content-Type").contains("text/plain") {
            detail = resp
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned());
        }
        return Err(FetchError::Status {
            code: status.as_u16(),
            status: status_text,
            detail,
        });
    }
    resp.body_mut()
        .with_config()
        .limit(opts.max_bytes)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(limit) => FetchError::TooLarge {
                url: url.clone(),
                limit,
            },
            e => transport_error(&url, e),
        })
}

fn tls_config(opts: &FetchOptions, insecure: bool) -> Result<ureq::tls::TlsConfig, FetchError> {
    use ureq::tls::{Certificate, ClientCert, PemItem, RootCerts, TlsConfig, parse_pem};
    let mut b = TlsConfig::builder().disable_verification(insecure);
    match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => {
            let load = || -> Result<ClientCert, String> {
                let certs: Vec<Certificate<'static>> = parse_pem(&read(cert)?)
                    .filter_map(|i| match i {
                        Ok(PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e.to_string())),
                    })
                    .collect::<Result<_, _>>()?;
                if certs.is_empty() {
                    return Err("tls: failed to find any PEM data in certificate input".into());
                }
                let key = ureq::tls::PrivateKey::from_pem(&read(key)?)
                    .map_err(|_| "tls: failed to find any PEM data in key input".to_string())?;
                Ok(ClientCert::new_with_certs(&certs, key))
            };
            let cc = load().map_err(|e| {
                FetchError::Tls(format!(
                    "could not load certificate/key pair specified by -tls_cert and -tls_key: {e}"
                ))
            })?;
            b = b.client_cert(Some(cc));
        }
        (None, Some(_)) => {
            return Err(FetchError::Tls(
                "-tls_key is specified, so -tls_cert must also be specified".into(),
            ));
        }
        (Some(_), None) => {
            return Err(FetchError::Tls(
                "-tls_cert is specified, so -tls_key must also be specified".into(),
            ));
        }
        (None, None) => {}
    }
    if let Some(ca) = &opts.tls_ca {
        let pem = read(ca)
            .map_err(|e| FetchError::Tls(format!("could not load CA specified by -tls_ca: {e}")))?;
        // Like Go's AppendCertsFromPEM, unparsable blocks are skipped.
        let roots: Vec<Certificate<'static>> = parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        b = b.root_certs(RootCerts::new_with_certs(&roots));
    }
    Ok(b.build())
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| profile::PathError::new("open", p, e).to_string())
}

fn transport_error(url: &str, e: ureq::Error) -> FetchError {
    let host_port = || {
        GoUrl::parse(url)
            .map(|u| {
                if u.host.contains(':') && !u.host.ends_with(']') {
                    u.host
                } else {
                    let port = if u.scheme == "https" { 443 } else { 80 };
                    format!("{}:{port}", u.host)
                }
            })
            .unwrap_or_default()
    };
    let reason = match e {
        ureq::Error::Timeout(_) => "net/http: timeout awaiting response headers".to_string(),
        ureq::Error::HostNotFound => {
            let host = host_port();
            let name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
            format!("dial tcp: lookup {name}: no such host")
        }
        ureq::Error::TooManyRedirects => "stopped after 10 redirects".to_string(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp {}: connect: connection refused", host_port())
        }
        ureq::Error::Io(io) => profile::go_io_error(&io),
        e => e.to_string(),
    };
    FetchError::Transport {
        url: url.to_string(),
        reason,
    }
}

/// Go's `time.Duration.String` for whole seconds (`30s`, `1m30s`, `1h0m0s`).
pub fn go_duration_secs(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests;
/// Go's `http.StatusText`: Go servers send exactly these reason phrases.
fn go_status_text(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => return None,
    })
}
