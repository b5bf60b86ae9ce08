//! A client of Grafana Pyroscope's Connect API, spoken as plain HTTP/1.1
//! with binary protobuf bodies (docs/pyroscope-api.md records what a real
//! server answers): no gRPC stack. Only what heapdrift needs: pushing
//! profiles with labels, listing services and their stored profiles, and
//! reading one stored profile back.

use crate::store::{
    Body, GroupProfiles, Http, ProfileStore, ServerOptions, StoreError, StoreKind, StoreUrl,
    StoredProfile, int_of, labels_of, period_of,
};

/// A Pyroscope server.
pub struct Server {
    http: Http,
}

impl Server {
    /// The server at `url` (`pyroscope://HOST:PORT`, `http://`, `https://`).
    pub fn new(url: &str, opts: &ServerOptions) -> Result<Server, StoreError> {
        Ok(Server {
            http: Http::for_kind(url, opts, StoreKind::Pyroscope)?,
        })
    }

    pub(crate) fn from_url(url: StoreUrl, opts: &ServerOptions) -> Server {
        Server {
            http: Http::new(url, opts),
        }
    }

    /// One stored profile (or the sum of several) as pprof bytes:
    /// `SelectMergeProfile` narrowed to the profile ids of
    /// [`ProfileStore::list_profiles`]. The answer holds the one sample type of
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
    ) -> Result<Vec<u8>, StoreError> {
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
    ) -> Result<serde_json::Value, StoreError> {
        let bytes = body.to_string();
        self.http.call_json(
            method,
            Body::Post {
                content_type: "application/json",
                bytes: bytes.as_bytes(),
            },
        )
    }

    /// A binary Connect call.
    fn call(&self, method: &str, body: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.http.call(
            method,
            Body::Post {
                content_type: "application/proto",
                bytes: body,
            },
        )
    }
}

impl ProfileStore for Server {
    fn kind(&self) -> StoreKind {
        StoreKind::Pyroscope
    }

    fn base(&self) -> &str {
        self.http.base()
    }

    fn traffic(&self) -> (u64, u64) {
        self.http.traffic()
    }

    fn service_label(&self) -> &'static str {
        "service_name"
    }

    /// Pushes one profile (pprof bytes, gzipped or not) as one series with
    /// `labels` (`__name__` and `service_name` among them): Pyroscope
    /// splits it by sample type and stores it at the profile's own
    /// `time_nanos`. One series per request: a request is stored series
    /// by series, so a 4xx for one would make a retry duplicate others.
    fn push(&self, labels: &[(&str, &str)], raw_profile: &[u8]) -> Result<(), StoreError> {
        let body = push_request(labels, raw_profile);
        self.call("push.v1.PusherService/Push", &body).map(|_| ())
    }

    /// Every service that has profiles in `[start_ms, end_ms]`, with its
    /// profile type ids (`memory:inuse_space:bytes:space:bytes`, …),
    /// sorted. Served from the metastore's own labels, so it sees every
    /// push at once (other label queries miss data not yet compacted).
    fn services(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
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
    fn list_profiles(
        &self,
        profile_type: &str,
        selector: &str,
        group_by: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<GroupProfiles>, StoreError> {
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
        let bad = |message: String| StoreError::BadAnswer {
            url: self.http.url_of(method),
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
                let period = period_of(&labels_of(ex.get("labels")));
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

    fn read_profile(
        &self,
        profile_type: &str,
        selector: &str,
        start_ms: i64,
        end_ms: i64,
        id: &str,
    ) -> Result<Vec<u8>, StoreError> {
        self.merge_profile(profile_type, selector, start_ms, end_ms, &[id])
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
