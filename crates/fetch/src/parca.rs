//! A client of Parca's JSON API (the grpc-gateway under `/api`, plain
//! HTTP/1.1; testdata/parca/README.md records what a real v0.28.0
//! answers). Only what heapdrift needs: pushing profiles with labels
//! (`WriteRaw`), listing services (`ProfileTypes`, `Values`) and each
//! instance's profiles at their exact times (`QueryRange`), and reading
//! one profile back as pprof (`Query`, single mode).
//!
//! A stored profile's id is its own time in nanoseconds: Parca names a
//! single profile by selector and time, and every sample type of one
//! pushed profile is filed at that one time.

use std::collections::BTreeMap;

use crate::store::{
    Body, GroupProfiles, Http, ProfileStore, ServerOptions, StoreError, StoreKind, StoreUrl,
    StoredProfile, base64, base64_decode, int_of, labels_of, period_of,
};

/// The label that names a service in Parca: its scraper files every
/// profile of a scrape job under `job`, and its UI groups by it.
pub const SERVICE_LABEL: &str = "job";

/// A Parca server.
pub struct Server {
    http: Http,
}

impl Server {
    /// The server at `url` (`parca://HOST:PORT`, `parca+https://HOST`).
    pub fn new(url: &str, opts: &ServerOptions) -> Result<Server, StoreError> {
        Ok(Server {
            http: Http::for_kind(url, opts, StoreKind::Parca)?,
        })
    }

    pub(crate) fn from_url(url: StoreUrl, opts: &ServerOptions) -> Server {
        Server {
            http: Http::new(url, opts),
        }
    }

    /// Every profile type the server holds, as
    /// `name:sample_type:sample_unit:period_type:period_unit` (with
    /// `:delta` for delta profiles, as Parca's queries spell them).
    pub fn profile_types(&self) -> Result<Vec<String>, StoreError> {
        let path = "api/profiles/types";
        let answer = self.http.call_json(path, Body::Get)?;
        let types = answer
            .get("types")
            .and_then(|v| v.as_array())
            .map_or(&[][..], Vec::as_slice);
        let mut out = Vec::with_capacity(types.len());
        for t in types {
            let field = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            let name = field("name");
            if name.is_empty() {
                return Err(StoreError::BadAnswer {
                    url: self.http.url_of(path),
                    message: format!("a profile type without a name: {t}"),
                });
            }
            let mut id = [
                name,
                field("sampleType"),
                field("sampleUnit"),
                field("periodType"),
                field("periodUnit"),
            ]
            .join(":");
            if t.get("delta").and_then(|v| v.as_bool()) == Some(true) {
                id.push_str(":delta");
            }
            out.push(id);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The values of `label` among profiles of `profile_type` in
    /// `[start_ms, end_ms]`.
    pub fn label_values(
        &self,
        label: &str,
        profile_type: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let path = format!(
            "api/profiles/labels/{}/values?profile_type={}&start={}&end={}",
            query_escape(label),
            query_escape(profile_type),
            query_escape(&rfc3339(ms_to_ns(start_ms))),
            query_escape(&rfc3339(ms_to_ns(end_ms))),
        );
        let answer = self.http.call_json(&path, Body::Get)?;
        let mut out: Vec<String> = answer
            .get("labelValues")
            .and_then(|v| v.as_array())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// `QueryRange` without a step: per label set, every profile of
    /// `query` (`TYPE{matchers}`) in the window with its exact time (ns),
    /// its total, and how many profiles shared that time. For gauges
    /// (heap, goroutines) Parca reads every row of the window whatever the
    /// step and uses the step only to drop all but the first profile of
    /// each bucket: without one, nothing is dropped, at no extra cost.
    /// A window without data is an empty listing (Parca answers 404).
    pub fn query_range(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<RangeSeries>, StoreError> {
        let path = format!(
            "api/profiles/query_range?query={}&start={}&end={}",
            query_escape(query),
            query_escape(&rfc3339(ms_to_ns(start_ms))),
            query_escape(&rfc3339(ms_to_ns(end_ms))),
        );
        let answer = match self.http.call_json(&path, Body::Get) {
            Err(StoreError::Rejected {
                status: 404,
                message,
                ..
            }) if message.starts_with("No data found") => return Ok(Vec::new()),
            answer => answer?,
        };
        let bad = |message: String| StoreError::BadAnswer {
            url: self.http.url_of(&path),
            message,
        };
        let mut out = Vec::new();
        let series = answer
            .get("series")
            .and_then(|v| v.as_array())
            .map_or(&[][..], Vec::as_slice);
        for one in series {
            let labels = labels_of(one.get("labelset").and_then(|l| l.get("labels")));
            let mut points = Vec::new();
            for s in one
                .get("samples")
                .and_then(|v| v.as_array())
                .map_or(&[][..], Vec::as_slice)
            {
                let time_ns = s
                    .get("timestamp")
                    .and_then(|v| v.as_str())
                    .and_then(parse_rfc3339)
                    .ok_or_else(|| bad(format!("a sample without an RFC 3339 time: {s}")))?;
                points.push(RangePoint {
                    time_ns,
                    value: int_of(s.get("value")).unwrap_or(0) as f64,
                    count: int_of(s.get("count")).unwrap_or(1),
                });
            }
            out.push(RangeSeries { labels, points });
        }
        Ok(out)
    }

    /// The one profile of `query` (`TYPE{matchers}`) at `time_ns`, as
    /// pprof bytes (gzipped): `Query` in single mode. It holds the one
    /// sample type of the query's type and Parca's period, 0.
    pub fn query_single(&self, query: &str, time_ns: i64) -> Result<Vec<u8>, StoreError> {
        let path = format!(
            "api/profiles/query?mode=MODE_SINGLE_UNSPECIFIED&single.query={}&single.time={}&reportType=REPORT_TYPE_PPROF",
            query_escape(query),
            query_escape(&rfc3339(time_ns)),
        );
        let answer = self.http.call_json(&path, Body::Get)?;
        answer
            .get("pprof")
            .and_then(|v| v.as_str())
            .and_then(base64_decode)
            .ok_or_else(|| StoreError::BadAnswer {
                url: self.http.url_of(&path),
                message: "no base64 \"pprof\" in the answer".into(),
            })
    }
}

/// One label set's profiles, as [`Server::query_range`] lists them.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    pub labels: Vec<(String, String)>,
    pub points: Vec<RangePoint>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RangePoint {
    pub time_ns: i64,
    pub value: f64,
    /// Profiles in the point's second.
    pub count: i64,
}

/// `WriteRawRequest{series: [{labels: {labels}, samples: [{rawProfile}]}]}`
/// in protojson; labels sorted by name, as Parca keeps them.
pub fn writeraw_request(labels: &[(&str, &str)], raw_profile: &[u8]) -> serde_json::Value {
    let mut labels = labels.to_vec();
    labels.sort();
    let labels: Vec<serde_json::Value> = labels
        .iter()
        .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
        .collect();
    serde_json::json!({
        "series": [{
            "labels": {"labels": labels},
            "samples": [{"rawProfile": base64(raw_profile)}],
        }]
    })
}

impl ProfileStore for Server {
    fn kind(&self) -> StoreKind {
        StoreKind::Parca
    }

    fn base(&self) -> &str {
        self.http.base()
    }

    fn traffic(&self) -> (u64, u64) {
        self.http.traffic()
    }

    fn service_label(&self) -> &'static str {
        SERVICE_LABEL
    }

    /// Pushes one profile as one series with `labels` (`__name__` among
    /// them): `WriteRaw`, which files each sample type at the profile's
    /// own `time_nanos`. One series per request, as for Pyroscope: a
    /// retry then never duplicates other series.
    fn push(&self, labels: &[(&str, &str)], raw_profile: &[u8]) -> Result<(), StoreError> {
        let body = writeraw_request(labels, raw_profile).to_string();
        self.http
            .call(
                "api/profiles/writeraw",
                Body::Post {
                    content_type: "application/json",
                    bytes: body.as_bytes(),
                },
            )
            .map(|_| ())
    }

    /// One `ProfileTypes`, then one `Values` of `job` per type.
    fn services(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ty in self.profile_types()? {
            for service in self.label_values(SERVICE_LABEL, &ty, start_ms, end_ms)? {
                services.entry(service).or_default().push(ty.clone());
            }
        }
        Ok(services.into_iter().collect())
    }

    /// One `QueryRange`; label sets of one group (a restart's new
    /// `heapdrift_series`, another period) are joined.
    fn list_profiles(
        &self,
        profile_type: &str,
        selector: &str,
        group_by: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<GroupProfiles>, StoreError> {
        let query = format!("{profile_type}{}", braced(selector));
        let mut groups: BTreeMap<String, GroupProfiles> = BTreeMap::new();
        for series in self.query_range(&query, start_ms, end_ms)? {
            let group = series
                .labels
                .iter()
                .find(|(k, _)| k == group_by)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let period = period_of(&series.labels);
            let g = groups
                .entry(group.clone())
                .or_insert_with(|| GroupProfiles {
                    group,
                    profiles: Vec::new(),
                    shared_seconds: 0,
                });
            for p in series.points {
                if p.count > 1 {
                    g.shared_seconds += 1;
                }
                g.profiles.push(StoredProfile {
                    time_ms: p.time_ns.div_euclid(1_000_000),
                    id: p.time_ns.to_string(),
                    value: p.value,
                    period,
                });
            }
        }
        Ok(groups
            .into_values()
            .map(|mut g| {
                g.profiles
                    .sort_by_key(|p| p.id.parse::<i64>().unwrap_or_default());
                g.profiles.dedup_by(|a, b| a.id == b.id);
                g
            })
            .collect())
    }

    /// `id` is the profile's time in nanoseconds ([`list_profiles`]).
    ///
    /// [`list_profiles`]: ProfileStore::list_profiles
    fn read_profile(
        &self,
        profile_type: &str,
        selector: &str,
        _start_ms: i64,
        _end_ms: i64,
        id: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let time_ns: i64 = id.parse().map_err(|_| StoreError::BadAnswer {
            url: self.http.base().to_string(),
            message: format!("{id:?} is not a Parca profile id (its time in nanoseconds)"),
        })?;
        self.query_single(&format!("{profile_type}{}", braced(selector)), time_ns)
    }
}

/// A selector in braces (`{}` for none), as Parca's query language wants
/// after the profile type.
fn braced(selector: &str) -> String {
    let s = selector.trim();
    if s.is_empty() {
        "{}".into()
    } else if s.starts_with('{') {
        s.to_string()
    } else {
        format!("{{{s}}}")
    }
}

fn ms_to_ns(ms: i64) -> i64 {
    ms.saturating_mul(1_000_000)
}

/// Unix nanoseconds as RFC 3339 in UTC with all nine digits (Parca files
/// and finds a single profile by its exact time).
pub fn rfc3339(ns: i64) -> String {
    let (secs, nanos) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = profile::civil::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// RFC 3339 as protojson writes a Timestamp (`Z`, 0–9 fraction digits),
/// to Unix nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, mo, da): (i64, u32, u32) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let (h, mi, se): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let days = profile::civil::days_from_civil(y, mo, da);
    Some((days * 86400 + h * 3600 + mi * 60 + se) * 1_000_000_000 + nanos)
}

/// Percent-encoding of a query parameter (everything but RFC 3986's
/// unreserved characters).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_with_nanoseconds() {
        let ns = 1_764_176_849_592_185_217; // 2025-11-26T17:07:29.592185217Z
        assert_eq!(rfc3339(ns), "2025-11-26T17:07:29.592185217Z");
        assert_eq!(parse_rfc3339("2025-11-26T17:07:29.592185217Z"), Some(ns));
        assert_eq!(
            parse_rfc3339("2026-11-26T00:00:00Z"),
            Some(1_795_651_200_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-26T00:00:00.5Z"),
            Some(1_795_651_200_500_000_000)
        );
        assert_eq!(parse_rfc3339("2026-11-26T00:00:00+01:00"), None);
        assert_eq!(parse_rfc3339("2026-11-26T00:00:00.1234567890Z"), None);
    }

    #[test]
    fn queries_are_escaped_and_braced() {
        assert_eq!(
            query_escape(r#"memory:inuse_space{job="a b"}"#),
            "memory%3Ainuse_space%7Bjob%3D%22a%20b%22%7D"
        );
        assert_eq!(braced(""), "{}");
        assert_eq!(braced(r#"job="x""#), r#"{job="x"}"#);
        assert_eq!(braced(r#"{job="x"}"#), r#"{job="x"}"#);
    }

    #[test]
    fn writeraw_request_is_the_recorded_shape() {
        let got = writeraw_request(&[("job", "svc"), ("__name__", "memory")], b"\x1f\x8b");
        assert_eq!(
            got,
            serde_json::json!({"series": [{
                "labels": {"labels": [
                    {"name": "__name__", "value": "memory"},
                    {"name": "job", "value": "svc"},
                ]},
                "samples": [{"rawProfile": "H4s="}],
            }]})
        );
    }
}
