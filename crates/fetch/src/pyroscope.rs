//! A client of Grafana Pyroscope's Connect API, spoken as plain HTTP/1.1
//! with binary protobuf bodies (docs/pyroscope-api.md records what a real
//! server answers): no gRPC stack. Only what heapdrift needs: pushing
//! profiles with labels, listing services and their stored profiles, and
//! reading one stored profile back.

use std::io::Read;
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
    /// How long to keep retrying a push the server could not take (down,
    /// restarting, 5xx, 429) before giving up (0: 60 s).
    pub retry_for: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PyroscopeError {
    #[error("{0}: not a Pyroscope URL (pyroscope://HOST:PORT, http:// or https://)")]
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

/// A stored profile of one profile type, as `SelectSeries` exemplars name
/// it: the profile's own time (ms, truncated), the server's id of it, and
/// its total.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredProfile {
    pub time_ms: i64,
    pub id: String,
    pub value: f64,
    /// The sampling period heapdrift pushed with it (label
    /// [`PERIOD_LABEL`]): the store keeps none of its own.
    pub period: Option<i64>,
}

/// The label heapdrift pushes a heap profile's sampling period under
/// (Go's MemProfileRate): the store files every `memory` profile with its
/// own guess, Go's default 512 KiB.
pub const PERIOD_LABEL: &str = "heapdrift_period";

/// The stored profiles of one value of the group-by label (an instance,
/// a pod), oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupProfiles {
    pub group: String,
    pub profiles: Vec<StoredProfile>,
    /// Seconds that held more than one profile of the group: only the
    /// largest of each was listed.
    pub shared_seconds: usize,
}

/// A Pyroscope server.
pub struct Server {
    base: String,
    /// Requests answered, and the bytes of their answers.
    requests: std::sync::atomic::AtomicU64,
    bytes_read: std::sync::atomic::AtomicU64,
    headers: Vec<(String, String)>,
    agent: ureq::Agent,
    timeout: Duration,
    retry_for: Duration,
}

/// The server's base URL (`http(s)://host:port[/path]`, no trailing slash)
/// and the basic-auth credentials in it, from `pyroscope://HOST:PORT`
/// (plain HTTP: what a server in a cluster speaks), `http://` or
/// `https://`.
pub fn parse_url(url: &str) -> Result<(String, Option<(String, String)>), PyroscopeError> {
    let bad = || PyroscopeError::BadUrl(url.to_string());
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("pyroscope://") {
        ("http", rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        ("http", rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        ("https", rest)
    } else {
        return Err(bad());
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    let auth = userinfo.map(|u| match u.split_once(':') {
        Some((user, pass)) => (user.to_string(), pass.to_string()),
        None => (u.to_string(), String::new()),
    });
    let path = path.trim_end_matches('/');
    Ok((format!("{scheme}://{host}{path}"), auth))
}

impl Server {
    pub fn new(url: &str, opts: &ServerOptions) -> Result<Server, PyroscopeError> {
        let (base, url_auth) = parse_url(url)?;
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
        if let Some((user, pass)) = opts.basic_auth.clone().or(url_auth) {
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
        Ok(Server {
            base,
            requests: Default::default(),
            bytes_read: Default::default(),
            headers,
            agent: ureq::Agent::new_with_config(config),
            timeout,
            retry_for,
        })
    }

    /// Requests answered so far, and the bytes of their answers.
    pub fn traffic(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.requests.load(Relaxed), self.bytes_read.load(Relaxed))
    }

    /// The base URL requests go to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Pushes one profile (pprof bytes, gzipped or not) as one series with
    /// `labels` (`__name__` and `service_name` among them): Pyroscope
    /// splits it by sample type and stores it at the profile's own
    /// `time_nanos`. One series per request: a request is stored series
    /// by series, so a 4xx for one would make a retry duplicate others.
    pub fn push(&self, labels: &[(&str, &str)], raw_profile: &[u8]) -> Result<(), PyroscopeError> {
        let body = push_request(labels, raw_profile);
        self.call("push.v1.PusherService/Push", &body).map(|_| ())
    }

    /// Every service that has profiles in `[start_ms, end_ms]`, with its
    /// profile type ids (`memory:inuse_space:bytes:space:bytes`, …),
    /// sorted. Served from the metastore's own labels, so it sees every
    /// push at once (other label queries miss data not yet compacted).
    pub fn services(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Vec<String>)>, PyroscopeError> {
        let method = "querier.v1.QuerierService/Series";
        let answer = self.call_json(
            method,
            &serde_json::json!({
                "label_names": ["__profile_type__", "service_name"],
                "start": start_ms,
                "end": end_ms,
            }),
        )?;
        let mut services: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let sets = answer
            .get("labelsSet")
            .and_then(|v| v.as_array())
            .map_or(&[][..], Vec::as_slice);
        for set in sets {
            let labels = labels_of(set.get("labels"));
            let find = |n: &str| labels.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            if let (Some(service), Some(ty)) = (find("service_name"), find("__profile_type__")) {
                services.entry(service).or_default().push(ty);
            }
        }
        Ok(services
            .into_iter()
            .map(|(s, mut types)| {
                types.sort();
                types.dedup();
                (s, types)
            })
            .collect())
    }

    /// Every stored profile of `profile_type` matching `selector` in
    /// `[start_ms, end_ms]`, grouped by the label `group_by`. Read from
    /// one `SelectSeries` at a one-second step with one exemplar per
    /// point: the server returns only steps that hold profiles, and a
    /// point names its largest profile (id and own time). One query over
    /// the whole window, never a window cut into narrower ones: the server
    /// finds back-filled profiles only for queries that end within about a
    /// day of the push (docs/pyroscope-api.md). A finer step costs the
    /// server time per step (a week at 1 ms took 15–30 s, at 1 s well
    /// under one): profiles of one group less than a second apart share a
    /// point, and only the largest is listed (counted in
    /// [`GroupProfiles::shared_seconds`]).
    pub fn list_profiles(
        &self,
        profile_type: &str,
        selector: &str,
        group_by: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<GroupProfiles>, PyroscopeError> {
        let method = "querier.v1.QuerierService/SelectSeries";
        let answer = self.call_json(
            method,
            &serde_json::json!({
                "profile_typeID": profile_type,
                "label_selector": selector,
                "start": start_ms,
                "end": end_ms,
                "step": 1.0,
                "group_by": [group_by],
                "exemplar_type": "EXEMPLAR_TYPE_INDIVIDUAL",
            }),
        )?;
        let bad = |message: String| PyroscopeError::BadAnswer {
            url: format!("{}/{method}", self.base),
            message,
        };
        let mut groups: std::collections::BTreeMap<String, (Vec<StoredProfile>, usize)> =
            Default::default();
        let series = answer
            .get("series")
            .and_then(|v| v.as_array())
            .map_or(&[][..], Vec::as_slice);
        for one in series {
            let labels = labels_of(one.get("labels"));
            let group = labels
                .iter()
                .find(|(k, _)| k == group_by)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let points = one
                .get("points")
                .and_then(|v| v.as_array())
                .map_or(&[][..], Vec::as_slice);
            let g = groups.entry(group).or_default();
            for point in points {
                let Some(ex) = point
                    .get("exemplars")
                    .and_then(|v| v.as_array())
                    .and_then(|v| v.first())
                else {
                    continue;
                };
                let value = ex
                    .get("value")
                    .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_f64()))
                    .unwrap_or(0.0);
                let (Some(time_ms), Some(id)) = (
                    int_of(ex.get("timestamp")),
                    ex.get("profileId").and_then(|v| v.as_str()),
                ) else {
                    return Err(bad(format!("an exemplar without a time or id: {ex}")));
                };
                let sum = point.get("value").and_then(|v| v.as_f64()).unwrap_or(value);
                if (sum - value).abs() > 0.5 {
                    g.1 += 1;
                }
                let period = labels_of(ex.get("labels"))
                    .into_iter()
                    .find(|(k, _)| k == PERIOD_LABEL)
                    .and_then(|(_, v)| v.parse().ok())
                    .filter(|&p: &i64| p > 0);
                g.0.push(StoredProfile {
                    time_ms,
                    id: id.to_string(),
                    value,
                    period,
                });
            }
        }
        Ok(groups
            .into_iter()
            .map(|(group, (mut profiles, shared_seconds))| {
                profiles.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then(a.id.cmp(&b.id)));
                profiles.dedup_by(|a, b| a.id == b.id);
                GroupProfiles {
                    group,
                    profiles,
                    shared_seconds,
                }
            })
            .collect())
    }

    /// One stored profile (or the sum of several) as pprof bytes:
    /// `SelectMergeProfile` narrowed to the profile ids of
    /// [`Server::list_profiles`]. The answer holds the one sample type of
    /// `profile_type`; its `time_nanos` is the query's end and its
    /// `period` the server's guess from the profile name, not the pushed
    /// ones.
    pub fn merge_profile(
        &self,
        profile_type: &str,
        selector: &str,
        start_ms: i64,
        end_ms: i64,
        ids: &[&str],
    ) -> Result<Vec<u8>, PyroscopeError> {
        let mut req = Vec::new();
        put_bytes(&mut req, 1, profile_type.as_bytes());
        put_bytes(&mut req, 2, selector.as_bytes());
        put_int(&mut req, 3, start_ms);
        put_int(&mut req, 4, end_ms);
        for id in ids {
            put_bytes(&mut req, 7, id.as_bytes());
        }
        self.call("querier.v1.QuerierService/SelectMergeProfile", &req)
    }

    /// A JSON Connect call (protojson in and out).
    fn call_json(
        &self,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, PyroscopeError> {
        let bytes = self.call_typed(method, JSON, body.to_string().as_bytes())?;
        serde_json::from_slice(&bytes).map_err(|e| PyroscopeError::BadAnswer {
            url: format!("{}/{method}", self.base),
            message: format!("not JSON: {e}"),
        })
    }

    /// POSTs a binary Connect request; retries while the server is down,
    /// restarting, overloaded or rate limiting, up to `retry_for`. Never
    /// after a timeout: the server may have stored what it did not
    /// acknowledge, and Pyroscope does not deduplicate.
    fn call(&self, method: &str, body: &[u8]) -> Result<Vec<u8>, PyroscopeError> {
        self.call_typed(method, PROTO, body)
    }

    fn call_typed(
        &self,
        method: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, PyroscopeError> {
        let url = format!("{}/{method}", self.base);
        let started = Instant::now();
        let mut pause = Duration::from_millis(250);
        loop {
            let retry = match self.call_once(&url, content_type, body) {
                Ok(answer) => return Ok(answer),
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Retry(e)) => e,
            };
            let waited = started.elapsed();
            if waited + pause > self.retry_for {
                return Err(match retry {
                    Retry::RateLimited(message) => PyroscopeError::RateLimited {
                        url,
                        waited,
                        message,
                    },
                    Retry::Unreachable(message) => PyroscopeError::Unreachable {
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

    fn call_once(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, Attempt> {
        let mut req = self.agent.post(url).header("Content-Type", content_type);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req.send(body).map_err(|e| match e {
            ureq::Error::Timeout(_) => Attempt::Final(PyroscopeError::Timeout {
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
            use std::sync::atomic::Ordering::Relaxed;
            self.requests.fetch_add(1, Relaxed);
            self.bytes_read.fetch_add(answer.len() as u64, Relaxed);
            return read
                .map(|_| answer)
                .map_err(|e| Attempt::Retry(Retry::Unreachable(e.to_string())));
        }
        let message = connect_message(&answer);
        let url = url.to_string();
        Err(match status {
            401 | 403 => Attempt::Final(PyroscopeError::Unauthorized {
                url,
                status,
                message,
            }),
            429 => Attempt::Retry(Retry::RateLimited(message)),
            500.. => Attempt::Retry(Retry::Unreachable(format!("{status}: {message}"))),
            _ => Attempt::Final(PyroscopeError::Rejected {
                url,
                status,
                message,
            }),
        })
    }
}

const JSON: &str = "application/json";
const PROTO: &str = "application/proto";

/// The largest answer read: a merged heap profile of a big service is tens
/// of MiB; more is cut (and then fails to decode, naming the call).
const MAX_ANSWER: u64 = 256 << 20;

/// `[{"name":…,"value":…}, …]` as pairs.
fn labels_of(v: Option<&serde_json::Value>) -> Vec<(String, String)> {
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
fn int_of(v: Option<&serde_json::Value>) -> Option<i64> {
    let v = v?;
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_i64())
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

enum Attempt {
    Final(PyroscopeError),
    Retry(Retry),
}

enum Retry {
    RateLimited(String),
    Unreachable(String),
}

/// The message of a Connect error body (`{"code":…,"message":…}`), or the
/// start of whatever the body is.
fn connect_message(body: &[u8]) -> String {
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
    let mut excerpt: String = text.chars().take(200).collect();
    if excerpt.is_empty() {
        excerpt = "(empty body)".to_string();
    }
    excerpt
}

/// `push.v1.PushRequest{series: [RawProfileSeries{labels, samples:
/// [RawSample{raw_profile}]}]}` in protobuf's wire format.
pub fn push_request(labels: &[(&str, &str)], raw_profile: &[u8]) -> Vec<u8> {
    let mut series = Vec::new();
    for (name, value) in labels {
        let mut pair = Vec::new();
        put_bytes(&mut pair, 1, name.as_bytes());
        put_bytes(&mut pair, 2, value.as_bytes());
        put_bytes(&mut series, 1, &pair);
    }
    let mut sample = Vec::with_capacity(raw_profile.len() + 8);
    put_bytes(&mut sample, 1, raw_profile);
    put_bytes(&mut series, 2, &sample);
    let mut req = Vec::with_capacity(series.len() + 8);
    put_bytes(&mut req, 1, &series);
    req
}

/// A length-delimited field.
fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, u64::from(field) << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A varint field of an int64 (two's complement, as protobuf does).
fn put_int(out: &mut Vec<u8>, field: u32, v: i64) {
    put_varint(out, u64::from(field) << 3);
    put_varint(out, v as u64);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Standard base64 with padding (for basic auth).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("pyroscope://127.0.0.1:4040").unwrap(),
            ("http://127.0.0.1:4040".to_string(), None)
        );
        assert_eq!(
            parse_url("https://u:p@prof.example.com/pyro/").unwrap(),
            (
                "https://prof.example.com/pyro".to_string(),
                Some(("u".to_string(), "p".to_string()))
            )
        );
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("pyroscope://").is_err());
    }

    #[test]
    fn base64_matches_rfc_4648() {
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
        }
    }

    #[test]
    fn push_request_wire_format() {
        let got = push_request(&[("__name__", "memory")], b"\x1f\x8b");
        // series(1) { labels(1) { name(1) value(2) } samples(2) { raw(1) } }
        let pair = [&[0x0a, 8][..], b"__name__", &[0x12, 6][..], b"memory"].concat();
        let sample = [&[0x0a, 2][..], b"\x1f\x8b"].concat();
        let series = [
            &[0x0a, pair.len() as u8][..],
            &pair,
            &[0x12, sample.len() as u8][..],
            &sample,
        ]
        .concat();
        let want = [&[0x0a, series.len() as u8][..], &series].concat();
        assert_eq!(got, want);
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
    fn connect_error_messages() {
        assert_eq!(
            connect_message(br#"{"code":"invalid_argument","message":"outside of \"window\""}"#),
            "outside of \"window\""
        );
        assert_eq!(connect_message(b""), "(empty body)");
        assert_eq!(connect_message(b"<html>nope</html>"), "<html>nope</html>");
    }
}
