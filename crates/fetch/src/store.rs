//! What heapdrift's two profile-store clients share: the URL forms, the
//! options (auth, headers, timeouts), the HTTP plumbing with its retries
//! and one-line errors, and [`ProfileStore`], the few calls the fleet path
//! makes, so that `series::fleet` reads Grafana Pyroscope
//! ([`crate::pyroscope`]) and Parca ([`crate::parca`]) alike.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// How to reach a server beyond its URL.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// `X-Scope-OrgID`, for servers with multitenancy on.
    pub tenant: Option<String>,
    /// Extra request headers, as given.
    pub headers: Vec<(String, String)>,
    /// HTTP basic auth (also taken from `user:password@` in the URL).
    pub basic_auth: Option<(String, String)>,
    pub bearer_token: Option<String>,
    /// One request's timeout (0: 30 s).
    pub timeout: Duration,
    /// How long to keep retrying a request the server could not take
    /// (down, restarting, 5xx, 429) before giving up (0: 60 s).
    pub retry_for: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{0}: not a profile store URL (pyroscope://HOST:PORT, pyroscope+https://, http:// or https:// for Grafana Pyroscope; parca://HOST:PORT or parca+https:// for Parca)"
    )]
    BadUrl(String),
    #[error("{url}: {status}: the server refused the credentials ({message})")]
    Unauthorized {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: 429 Too Many Requests for {waited:.0?}: the server's rate limit ({message})")]
    RateLimited {
        url: String,
        waited: Duration,
        message: String,
    },
    #[error("{url}: {status}: {message}")]
    Rejected {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: {message} (gave up after {waited:.0?})")]
    Unreachable {
        url: String,
        waited: Duration,
        message: String,
    },
    #[error(
        "{url}: no answer within {timeout:?}; the push may have been stored, so it is not retried"
    )]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: the answer is not what the API documents: {message}")]
    BadAnswer { url: String, message: String },
}

/// The label heapdrift pushes a heap profile's sampling period under
/// (Go's MemProfileRate): neither store keeps the pprof's own. Pyroscope
/// answers every `memory` profile with Go's default 512 KiB, Parca with 0.
pub const PERIOD_LABEL: &str = "heapdrift_period";

/// Go's default MemProfileRate: the period assumed for a heap profile
/// pushed without [`PERIOD_LABEL`].
pub const GO_DEFAULT_HEAP_PERIOD: i64 = 512 * 1024;

/// A stored profile of one profile type: its own time (ms, truncated),
/// the id it is read back by ([`ProfileStore::read_profile`]), and its
/// total.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredProfile {
    pub time_ms: i64,
    pub id: String,
    pub value: f64,
    /// The sampling period heapdrift pushed with it (label
    /// [`PERIOD_LABEL`]): the store keeps none of its own.
    pub period: Option<i64>,
}

/// The stored profiles of one value of the group-by label (an instance,
/// a pod), oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupProfiles {
    pub group: String,
    pub profiles: Vec<StoredProfile>,
    /// Times that held more than one profile of the group (Pyroscope
    /// lists by the second, Parca by the nanosecond): only one of each was
    /// listed.
    pub shared_seconds: usize,
}

/// Which store a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Pyroscope,
    Parca,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreKind::Pyroscope => "Pyroscope",
            StoreKind::Parca => "Parca",
        })
    }
}

/// A parsed store URL.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreUrl {
    pub kind: StoreKind,
    /// `http(s)://host:port[/path]`, no trailing slash.
    pub base: String,
    /// Basic-auth credentials given as `user:password@` in the URL.
    pub basic_auth: Option<(String, String)>,
}

/// A store URL: `pyroscope://HOST:PORT` and `parca://HOST:PORT` speak
/// plain HTTP (what a server in a cluster speaks), `pyroscope+https://` and
/// `parca+https://` TLS; `http://` and `https://` name Pyroscope, as they
/// did before Parca was a source.
pub fn parse_url(url: &str) -> Result<StoreUrl, StoreError> {
    let bad = || StoreError::BadUrl(url.to_string());
    let forms = [
        ("pyroscope://", StoreKind::Pyroscope, "http"),
        ("pyroscope+http://", StoreKind::Pyroscope, "http"),
        ("pyroscope+https://", StoreKind::Pyroscope, "https"),
        ("http://", StoreKind::Pyroscope, "http"),
        ("https://", StoreKind::Pyroscope, "https"),
        ("parca://", StoreKind::Parca, "http"),
        ("parca+http://", StoreKind::Parca, "http"),
        ("parca+https://", StoreKind::Parca, "https"),
    ];
    let (kind, scheme, rest) = forms
        .iter()
        .find_map(|(prefix, kind, scheme)| Some((*kind, *scheme, url.strip_prefix(prefix)?)))
        .ok_or_else(bad)?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    let basic_auth = userinfo.map(|u| match u.split_once(':') {
        Some((user, pass)) => (user.to_string(), pass.to_string()),
        None => (u.to_string(), String::new()),
    });
    let path = path.trim_end_matches('/');
    Ok(StoreUrl {
        kind,
        base: format!("{scheme}://{host}{path}"),
        basic_auth,
    })
}

/// The calls the fleet path makes of a profile store. Profile types are
/// named as both stores name them: `memory:inuse_space:bytes:space:bytes`.
pub trait ProfileStore: Send + Sync {
    fn kind(&self) -> StoreKind;
    /// The base URL requests go to.
    fn base(&self) -> &str;
    /// Requests answered so far, and the bytes of their answers.
    fn traffic(&self) -> (u64, u64);
    /// The label that names a profile's service: `service_name` in
    /// Pyroscope, `job` in Parca (what its own scraper sets).
    fn service_label(&self) -> &'static str;
    /// Pushes one profile (pprof bytes, gzipped or not) as one series with
    /// `labels` (`__name__` and the service label among them), filed at the
    /// profile's own `time_nanos`.
    fn push(&self, labels: &[(&str, &str)], raw_profile: &[u8]) -> Result<(), StoreError>;
    /// Every service with profiles in `[start_ms, end_ms]`, with its
    /// profile type ids, sorted.
    fn services(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError>;
    /// Every stored profile of `profile_type` matching `selector` in
    /// `[start_ms, end_ms]`, grouped by the label `group_by`, oldest first.
    fn list_profiles(
        &self,
        profile_type: &str,
        selector: &str,
        group_by: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<GroupProfiles>, StoreError>;
    /// One profile [`ProfileStore::list_profiles`] listed (`id`, in the
    /// window it was listed in), as pprof bytes of the one sample type of
    /// `profile_type`.
    fn read_profile(
        &self,
        profile_type: &str,
        selector: &str,
        start_ms: i64,
        end_ms: i64,
        id: &str,
    ) -> Result<Vec<u8>, StoreError>;
}

/// The client of the store `url` names.
pub fn open(url: &str, opts: &ServerOptions) -> Result<Box<dyn ProfileStore>, StoreError> {
    let parsed = parse_url(url)?;
    Ok(match parsed.kind {
        StoreKind::Pyroscope => Box::new(crate::pyroscope::Server::from_url(parsed, opts)),
        StoreKind::Parca => Box::new(crate::parca::Server::from_url(parsed, opts)),
    })
}

/// `selector` with one more exact matcher `name="value"`.
pub fn with_matcher(selector: &str, name: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    let inner = selector
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim();
    if inner.is_empty() {
        format!("{{{name}=\"{escaped}\"}}")
    } else {
        format!("{{{inner}, {name}=\"{escaped}\"}}")
    }
}

/// The HTTP side of a store client: base URL, headers, retries, traffic.
pub(crate) struct Http {
    base: String,
    requests: AtomicU64,
    bytes_read: AtomicU64,
    headers: Vec<(String, String)>,
    agent: ureq::Agent,
    timeout: Duration,
    retry_for: Duration,
}

/// A request's method and body.
pub(crate) enum Body<'a> {
    Get,
    Post {
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

impl Http {
    /// For a client of `kind`: `url` must name such a store.
    pub(crate) fn for_kind(
        url: &str,
        opts: &ServerOptions,
        kind: StoreKind,
    ) -> Result<Http, StoreError> {
        let parsed = parse_url(url)?;
        if parsed.kind != kind {
            return Err(StoreError::BadUrl(url.to_string()));
        }
        Ok(Http::new(parsed, opts))
    }

    pub(crate) fn new(url: StoreUrl, opts: &ServerOptions) -> Http {
        let timeout = if opts.timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            opts.timeout
        };
        let retry_for = if opts.retry_for.is_zero() {
            Duration::from_secs(60)
        } else {
            opts.retry_for
        };
        let mut headers = Vec::new();
        if let Some(t) = &opts.tenant {
            headers.push(("X-Scope-OrgID".to_string(), t.clone()));
        }
        if let Some((user, pass)) = opts.basic_auth.clone().or(url.basic_auth) {
            let token = base64(format!("{user}:{pass}").as_bytes());
            headers.push(("Authorization".to_string(), format!("Basic {token}")));
        }
        if let Some(t) = &opts.bearer_token {
            headers.push(("Authorization".to_string(), format!("Bearer {t}")));
        }
        headers.extend(opts.headers.iter().cloned());
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("heapdrift/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            base: url.base,
            requests: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            headers,
            agent: ureq::Agent::new_with_config(config),
            timeout,
            retry_for,
        }
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn traffic(&self) -> (u64, u64) {
        (self.requests.load(Relaxed), self.bytes_read.load(Relaxed))
    }

    /// `base/path`; retries while the server is down, restarting,
    /// overloaded or rate limiting, up to `retry_for`. Never after a
    /// timeout: the server may have stored what it did not acknowledge,
    /// and neither store deduplicates.
    pub(crate) fn call(&self, path: &str, body: Body<'_>) -> Result<Vec<u8>, StoreError> {
        let url = format!("{}/{path}", self.base);
        let started = Instant::now();
        let mut pause = Duration::from_millis(250);
        loop {
            let retry = match self.call_once(&url, &body) {
                Ok(answer) => return Ok(answer),
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Retry(e)) => e,
            };
            let waited = started.elapsed();
            if waited + pause > self.retry_for {
                return Err(match retry {
                    Retry::RateLimited(message) => StoreError::RateLimited {
                        url,
                        waited,
                        message,
                    },
                    Retry::Unreachable(message) => StoreError::Unreachable {
                        url,
                        waited,
                        message,
                    },
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(4));
        }
    }

    /// [`Http::call`] whose answer is JSON.
    pub(crate) fn call_json(
        &self,
        path: &str,
        body: Body<'_>,
    ) -> Result<serde_json::Value, StoreError> {
        let bytes = self.call(path, body)?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::BadAnswer {
            url: self.url_of(path),
            message: format!("not JSON: {e}"),
        })
    }

    /// The URL of `path` without its query, for error messages.
    pub(crate) fn url_of(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.split('?').next().unwrap_or(path))
    }

    fn call_once(&self, url: &str, body: &Body<'_>) -> Result<Vec<u8>, Attempt> {
        let sent = match body {
            Body::Get => {
                let mut req = self.agent.get(url);
                for (k, v) in &self.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.call()
            }
            Body::Post {
                content_type,
                bytes,
            } => {
                let mut req = self.agent.post(url).header("Content-Type", *content_type);
                for (k, v) in &self.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.send(*bytes)
            }
        };
        let mut resp = sent.map_err(|e| match e {
            ureq::Error::Timeout(_) => Attempt::Final(StoreError::Timeout {
                url: url.to_string(),
                timeout: self.timeout,
            }),
            e => Attempt::Retry(Retry::Unreachable(e.to_string())),
        })?;
        let status = resp.status().as_u16();
        let mut answer = Vec::new();
        let read = resp
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER)
            .read_to_end(&mut answer);
        if status == 200 {
            self.requests.fetch_add(1, Relaxed);
            self.bytes_read.fetch_add(answer.len() as u64, Relaxed);
            return read
                .map(|_| answer)
                .map_err(|e| Attempt::Retry(Retry::Unreachable(e.to_string())));
        }
        let message = error_message(&answer);
        // Query strings can be long selectors: the path names the call.
        let url = url.split('?').next().unwrap_or(url).to_string();
        Err(match status {
            401 | 403 => Attempt::Final(StoreError::Unauthorized {
                url,
                status,
                message,
            }),
            429 => Attempt::Retry(Retry::RateLimited(message)),
            500.. => Attempt::Retry(Retry::Unreachable(format!("{status}: {message}"))),
            _ => Attempt::Final(StoreError::Rejected {
                url,
                status,
                message,
            }),
        })
    }
}

/// The largest answer read: a merged heap profile of a big service is tens
/// of MiB; more is cut (and then fails to decode, naming the call).
const MAX_ANSWER: u64 = 256 << 20;

enum Attempt {
    Final(StoreError),
    Retry(Retry),
}

enum Retry {
    RateLimited(String),
    Unreachable(String),
}

/// The message of an error body as Connect and grpc-gateway write it
/// (`{"code":…,"message":…}`), or the start of whatever the body is.
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if let Some(start) = text.find("\"message\":\"") {
        let rest = &text[start + 11..];
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return out,
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
    }
    // One line, whatever a proxy answered (an HTML page, say).
    let mut excerpt: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    if excerpt.is_empty() {
        excerpt = "(empty body)".to_string();
    }
    excerpt
}

/// `[{"name":…,"value":…}, …]` as pairs.
pub(crate) fn labels_of(v: Option<&serde_json::Value>) -> Vec<(String, String)> {
    v.and_then(|v| v.as_array())
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|l| {
            Some((
                l.get("name")?.as_str()?.to_string(),
                l.get("value")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// An int64 as protojson writes it (a string), or a number.
pub(crate) fn int_of(v: Option<&serde_json::Value>) -> Option<i64> {
    let v = v?;
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_i64())
}

/// The period in a label set's [`PERIOD_LABEL`], if any and positive.
pub(crate) fn period_of(labels: &[(String, String)]) -> Option<i64> {
    labels
        .iter()
        .find(|(k, _)| k == PERIOD_LABEL)
        .and_then(|(_, v)| v.parse().ok())
        .filter(|&p: &i64| p > 0)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (basic auth, Parca's JSON bytes).
pub(crate) fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional, as protojson writes bytes), or
/// `None` if `text` is not base64.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            // protojson may also write the URL-safe alphabet.
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A lone sixth-bit character cannot end valid base64.
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let p = parse_url("pyroscope://127.0.0.1:4040").unwrap();
        assert_eq!(
            (p.kind, p.base.as_str(), p.basic_auth),
            (StoreKind::Pyroscope, "http://127.0.0.1:4040", None)
        );
        let p = parse_url("https://u:p@prof.example.com/pyro/").unwrap();
        assert_eq!(
            (p.kind, p.base.as_str(), p.basic_auth),
            (
                StoreKind::Pyroscope,
                "https://prof.example.com/pyro",
                Some(("u".to_string(), "p".to_string()))
            )
        );
        let p = parse_url("parca://127.0.0.1:7070").unwrap();
        assert_eq!(
            (p.kind, p.base.as_str()),
            (StoreKind::Parca, "http://127.0.0.1:7070")
        );
        let p = parse_url("parca+https://parca.example.com/p").unwrap();
        assert_eq!(
            (p.kind, p.base.as_str()),
            (StoreKind::Parca, "https://parca.example.com/p")
        );
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("pyroscope://").is_err());
        assert!(parse_url("parca://").is_err());
    }

    #[test]
    fn base64_matches_rfc_4648_both_ways() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64(&all)), Some(all));
        assert_eq!(base64_decode("Zm9v!"), None);
        assert_eq!(base64_decode("Z"), None);
    }

    #[test]
    fn selectors_get_one_more_matcher() {
        assert_eq!(with_matcher("", "instance", "a"), r#"{instance="a"}"#);
        assert_eq!(
            with_matcher(r#"{service_name="s"}"#, "pod", r#"p"q\"#),
            r#"{service_name="s", pod="p\"q\\"}"#
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(br#"{"code":"invalid_argument","message":"outside of \"window\""}"#),
            "outside of \"window\""
        );
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(
            error_message(b"<html>\n  nope\n</html>"),
            "<html> nope </html>"
        );
    }
}
