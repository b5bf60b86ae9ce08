//! The JSON snapshot of heapdrift's Go companion (`go/heapdriftprobe`,
//! docs/probe.md): served at `/debug/heapdrift/snapshot`, and written by
//! its `Guard` beside a heap profile when memory nears the limit. It holds
//! what a scrape of `/debug/pprof` cannot: the current RSS (Go serves only
//! the peak), the cgroup's limit and `GOMEMLIMIT`.
//!
//! Only what heapdrift reads is decoded; unknown fields are ignored, so
//! newer probes stay readable (the schema adds fields without changing its
//! version).

use serde::Deserialize;

use crate::metrics::Resident;

/// The newest snapshot schema this reader knows.
pub const SCHEMA_VERSION: i64 = 1;

/// What heapdrift reads of a probe snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// When the probe took it (Unix nanoseconds).
    pub time_nanos: i64,
    /// When the process started (Unix nanoseconds): a new value is a new
    /// process.
    pub process_start_nanos: Option<i64>,
    /// The resident set at that moment, if `/proc` was readable.
    pub rss: Option<Resident>,
    /// The cgroup's memory limit, if one is set.
    pub cgroup_limit_bytes: Option<u64>,
    /// The runtime's soft memory limit, if one is set.
    pub gomemlimit_bytes: Option<i64>,
    /// Set when `Guard` wrote it: why, and against which limit.
    pub capture: Option<Capture>,
}

/// Why `Guard` captured: memory crossed a fraction of the effective limit.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Capture {
    /// `near_limit`.
    pub reason: String,
    pub limit_bytes: u64,
    /// `cgroup`, `gomemlimit` or `fixed`.
    pub limit_source: String,
    pub fraction: f64,
    pub threshold_bytes: u64,
    /// What crossed it: `rss` or `go_memory` (mapped minus released).
    pub measure: String,
    pub measured_bytes: u64,
}

/// Why bytes are not a probe snapshot.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProbeError {
    #[error("not a heapdrift probe snapshot: {0}")]
    Json(String),
    #[error(
        "heapdrift probe snapshot version {0} is newer than this heapdrift reads ({SCHEMA_VERSION})"
    )]
    Version(i64),
}

#[derive(Deserialize)]
struct Raw {
    version: i64,
    time_unix_nanos: i64,
    process: RawProcess,
    rss: Option<RawRss>,
    cgroup: Option<RawCgroup>,
    gomemlimit_bytes: Option<i64>,
    // Not read, but required: with `process`, what tells a probe snapshot
    // from any other JSON object with a version and a time.
    #[allow(dead_code)]
    runtime: serde_json::Value,
    capture: Option<Capture>,
}

#[derive(Deserialize)]
struct RawProcess {
    start_time_unix_nanos: Option<i64>,
}

#[derive(Deserialize)]
struct RawRss {
    vm_rss_bytes: Option<u64>,
    rss_anon_bytes: Option<u64>,
    rss_shmem_bytes: Option<u64>,
}

#[derive(Deserialize)]
struct RawCgroup {
    limit_bytes: Option<u64>,
}

/// Whether `bytes` may be a probe snapshot (a JSON object), before paying
/// for a parse: profiles and texts never start with `{`.
pub fn looks_like_snapshot(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().first() == Some(&b'{')
}

/// Reads a probe snapshot.
pub fn parse_snapshot(bytes: &[u8]) -> Result<Snapshot, ProbeError> {
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| ProbeError::Json(e.to_string()))?;
    if raw.version > SCHEMA_VERSION || raw.version < 1 {
        return Err(ProbeError::Version(raw.version));
    }
    let rss = raw.rss.and_then(|r| {
        let total = r.vm_rss_bytes?;
        Some(Resident {
            total,
            // Shared memory is anonymous too (see metrics::resident_memory).
            anonymous: r
                .rss_anon_bytes
                .map(|a| a.saturating_add(r.rss_shmem_bytes.unwrap_or(0))),
        })
    });
    Ok(Snapshot {
        time_nanos: raw.time_unix_nanos,
        process_start_nanos: raw.process.start_time_unix_nanos,
        rss,
        cgroup_limit_bytes: raw.cgroup.and_then(|c| c.limit_bytes),
        gomemlimit_bytes: raw.gomemlimit_bytes,
        capture: raw.capture,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot as the probe serves it (shape from go/heapdriftprobe's
    /// own tests; the near-limit one from `Guard`).
    const SERVED: &str = r#"{"version":1,"time_unix_nanos":1764849600123456789,
      "process":{"pid":4242,"start_time_unix_nanos":1764849000000000000},
      "rss":{"vm_rss_bytes":104857600,"rss_anon_bytes":83886080,"rss_file_bytes":20971520,
             "rss_shmem_bytes":1048576,"vm_hwm_bytes":115343360},
      "smaps_rollup":null,
      "cgroup":{"version":2,"dir":"/sys/fs/cgroup","limit_bytes":536870912,"limit_dir":"/sys/fs/cgroup",
                "usage_bytes":123456789},
      "gomemlimit_bytes":null,
      "runtime":{"heap_objects":1000,"heap_live_bytes":4000000,"goroutines":12},
      "build":{"go_version":"go1.27.3","path":"example.com/svc","main_module":"example.com/svc",
               "main_version":"(devel)","vcs_revision":"","vcs_time":"","vcs_modified":null},
      "capture":null,
      "a_field_from_a_newer_probe":[1,2,3]}"#;

    #[test]
    fn a_served_snapshot_gives_the_current_rss_and_limits() {
        let s = parse_snapshot(SERVED.as_bytes()).unwrap();
        assert_eq!(s.time_nanos, 1_764_849_600_123_456_789);
        assert_eq!(s.process_start_nanos, Some(1_764_849_000_000_000_000));
        assert_eq!(
            s.rss,
            Some(Resident {
                total: 104_857_600,
                anonymous: Some(83_886_080 + 1_048_576)
            })
        );
        assert_eq!(s.cgroup_limit_bytes, Some(536_870_912));
        assert_eq!(s.gomemlimit_bytes, None);
        assert_eq!(s.capture, None);
        assert!(looks_like_snapshot(SERVED.as_bytes()));
    }

    #[test]
    fn a_guard_capture_says_against_which_limit() {
        let text = SERVED.replace(
            r#""capture":null"#,
            r#""capture":{"reason":"near_limit","limit_bytes":536870912,"limit_source":"cgroup",
               "fraction":0.9,"threshold_bytes":483183820,"measure":"rss","measured_bytes":490000000,
               "heap_profile":"heap-20261204T120000.000000001Z.pb.gz",
               "goroutine_dump":"goroutine-20261204T120000.000000001Z.txt",
               "snapshot":"heapdrift-20261204T120000.000000001Z.json"}"#,
        );
        let c = parse_snapshot(text.as_bytes()).unwrap().capture.unwrap();
        assert_eq!(c.reason, "near_limit");
        assert_eq!(c.limit_source, "cgroup");
        assert_eq!(c.measured_bytes, 490_000_000);
        assert_eq!(c.fraction, 0.9);
    }

    #[test]
    fn no_proc_means_no_rss_not_a_guess() {
        let text = SERVED.replace(
            r#""rss":{"vm_rss_bytes":104857600,"rss_anon_bytes":83886080,"rss_file_bytes":20971520,
             "rss_shmem_bytes":1048576,"vm_hwm_bytes":115343360}"#,
            r#""rss":null"#,
        );
        assert_eq!(parse_snapshot(text.as_bytes()).unwrap().rss, None);
    }

    #[test]
    fn other_json_and_newer_versions_are_refused_with_a_reason() {
        let other = parse_snapshot(br#"{"version":1,"time_unix_nanos":5}"#).unwrap_err();
        assert!(other.to_string().contains("missing field"), "{other}");
        let newer = SERVED.replacen(r#""version":1"#, r#""version":2"#, 1);
        assert_eq!(
            parse_snapshot(newer.as_bytes()).unwrap_err(),
            ProbeError::Version(2)
        );
        assert!(parse_snapshot(b"not json").is_err());
        assert!(!looks_like_snapshot(
            b"heap profile: 1: 2 [3: 4] @ heap/1048576"
        ));
    }
}
