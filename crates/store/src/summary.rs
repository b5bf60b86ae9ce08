//! Per-snapshot summary kept in the index, and the compact encoding of
//! per-site heap values.

use drift::series::{Frame, HeapSeriesBuilder, Metric, SeriesOptions};
use profile::Parsed;

/// One allocation site's values in one heap snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteValues {
    pub function: String,
    pub file: String,
    pub line: i64,
    /// Whether the site is the user's own code (see `drift::frames`).
    pub user: bool,
    /// Evidence stack; stored once per site, the first time it is seen.
    pub stack: Vec<Frame>,
    /// inuse_space, inuse_objects, alloc_space, alloc_objects.
    pub values: [i64; 4],
}

/// What the index keeps of a snapshot beside its file.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub inuse_space: Option<i64>,
    pub inuse_objects: Option<i64>,
    pub alloc_space: Option<i64>,
    pub alloc_objects: Option<i64>,
    /// Goroutine profiles and dumps: the number of goroutines.
    pub goroutines: Option<i64>,
    /// Heap debug=1 texts: the MemStats footer, as JSON (see
    /// [`memstats_json`]).
    pub memstats: Option<serde_json::Value>,
    /// The profile's own time stamp, 0 if it has none.
    pub profile_time_nanos: i64,
    /// Heap profiles (proto or text): per-site values, as `drift::series`
    /// attributes them with the given options. Empty for other kinds.
    pub sites: Vec<SiteValues>,
    /// Which of the four heap metrics the profile carried.
    pub has_metric: [bool; 4],
}

impl Summary {
    /// Summarises a parsed snapshot. Heap-shaped profiles (with an
    /// inuse_space column) get per-site values; goroutine profiles and
    /// dumps get a count.
    pub fn from_parsed(p: &Parsed, opts: &SeriesOptions) -> Summary {
        let prof = &p.profile;
        let mut s = Summary {
            profile_time_nanos: prof.time_nanos,
            ..Default::default()
        };
        let col = |name: &str| prof.sample_types.iter().position(|t| t.r#type == name);
        let sum = |i: usize| {
            prof.samples
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .fold(0i64, i64::saturating_add)
        };
        s.inuse_space = col("inuse_space").map(sum);
        s.inuse_objects = col("inuse_objects").map(sum);
        s.alloc_space = col("alloc_space").map(sum);
        s.alloc_objects = col("alloc_objects").map(sum);
        if let Some(gs) = &p.goroutines {
            s.goroutines = Some(gs.len() as i64);
        } else if prof.sample_types.len() == 1 && prof.sample_types[0].r#type == "goroutine" {
            s.goroutines = Some(sum(0));
        }
        if let Some(ms) = &p.memstats {
            s.memstats = Some(memstats_json(ms));
        }
        if s.inuse_space.is_some() {
            let mut b = HeapSeriesBuilder::new(opts.clone());
            if b.push_at(prof, 0).is_ok() {
                let hs = b.finish();
                s.has_metric = hs.has_metric;
                const M: [Metric; 4] = [
                    Metric::InuseSpace,
                    Metric::InuseObjects,
                    Metric::AllocSpace,
                    Metric::AllocObjects,
                ];
                s.sites = hs
                    .sites
                    .iter()
                    .enumerate()
                    .map(|(i, site)| SiteValues {
                        function: site.function.clone(),
                        file: site.file.clone(),
                        line: site.line,
                        user: site.user,
                        stack: site.stack.clone(),
                        values: M.map(|m| hs.value(m, i, 0)),
                    })
                    .collect();
            }
        }
        s
    }
}

/// The MemStats footer as a JSON object with Go's field names (the pause
/// rings left out: they are in the file).
pub fn memstats_json(m: &profile::legacy::MemStats) -> serde_json::Value {
    serde_json::json!({
        "Alloc": m.alloc, "TotalAlloc": m.total_alloc, "Sys": m.sys,
        "Lookups": m.lookups, "Mallocs": m.mallocs, "Frees": m.frees,
        "HeapAlloc": m.heap_alloc, "HeapSys": m.heap_sys, "HeapIdle": m.heap_idle,
        "HeapInuse": m.heap_inuse, "HeapReleased": m.heap_released, "HeapObjects": m.heap_objects,
        "StackInuse": m.stack_inuse, "StackSys": m.stack_sys,
        "MSpanInuse": m.mspan_inuse, "MSpanSys": m.mspan_sys,
        "MCacheInuse": m.mcache_inuse, "MCacheSys": m.mcache_sys,
        "BuckHashSys": m.buck_hash_sys, "GCSys": m.gc_sys, "OtherSys": m.other_sys,
        "NextGC": m.next_gc, "LastGC": m.last_gc, "NumGC": m.num_gc,
        "NumForcedGC": m.num_forced_gc, "GCCPUFraction": m.gc_cpu_fraction,
        "DebugGC": m.debug_gc, "MaxRSS": m.max_rss,
    })
}

/// Version byte of the site-values blob.
pub(crate) const BLOB_V1: u8 = 1;

/// Encodes (site id, values) pairs sorted by site id: a version byte, then
/// per site the varint gap to the previous id and four zigzag varints.
/// About 10 bytes per site for typical heaps; decoding 5M entries takes tens
/// of milliseconds, far less than reading as many SQLite rows.
pub(crate) fn encode_sites(entries: &mut [(i64, [i64; 4])]) -> Vec<u8> {
    entries.sort_unstable_by_key(|e| e.0);
    let mut out = Vec::with_capacity(1 + entries.len() * 12);
    out.push(BLOB_V1);
    let mut prev = 0i64;
    for (id, v) in entries.iter() {
        put_uvarint(&mut out, (*id - prev) as u64);
        prev = *id;
        for x in v {
            put_uvarint(&mut out, ((x << 1) ^ (x >> 63)) as u64);
        }
    }
    out
}

/// Calls `f(site id, values)` for each entry of a blob; false if the blob
/// is malformed (entries before the fault were delivered).
pub(crate) fn decode_sites(blob: &[u8], mut f: impl FnMut(i64, [i64; 4])) -> bool {
    let Some((&BLOB_V1, mut rest)) = blob.split_first() else {
        return false;
    };
    let mut id = 0i64;
    while !rest.is_empty() {
        let Some(gap) = get_uvarint(&mut rest) else {
            return false;
        };
        id = id.wrapping_add(gap as i64);
        let mut v = [0i64; 4];
        for x in &mut v {
            let Some(z) = get_uvarint(&mut rest) else {
                return false;
            };
            *x = ((z >> 1) as i64) ^ -((z & 1) as i64);
        }
        f(id, v);
    }
    true
}

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn get_uvarint(buf: &mut &[u8]) -> Option<u64> {
    let mut x = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        x |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *buf = &buf[i + 1..];
            return Some(x);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trip() {
        let mut e = vec![
            (7, [1, -1, i64::MAX, i64::MIN]),
            (3, [0, 0, 0, 0]),
            (1_000_000, [5, 6, 7, 8]),
        ];
        let blob = encode_sites(&mut e);
        let mut got = Vec::new();
        assert!(decode_sites(&blob, |id, v| got.push((id, v))));
        assert_eq!(got, e);
        assert!(!decode_sites(&blob[..blob.len() - 1], |_, _| {}));
        assert!(!decode_sites(&[9, 1], |_, _| {}));
        assert!(decode_sites(&[BLOB_V1], |_, _| panic!()));
    }

    #[test]
    fn summary_of_real_profiles() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/profiles/");
        let parse = |n: &str| {
            let b = std::fs::read(format!("{dir}{n}")).unwrap();
            profile::parse(&b, &profile::ParseOptions::default()).unwrap()
        };
        let h = Summary::from_parsed(&parse("heap_1.pb.gz"), &SeriesOptions::default());
        assert!(!h.sites.is_empty());
        let total: i64 = h.sites.iter().map(|s| s.values[0]).sum();
        assert_eq!(Some(total), h.inuse_space);
        assert!(h.has_metric.iter().all(|&b| b));
        let t = Summary::from_parsed(&parse("heap.txt"), &SeriesOptions::default());
        assert!(t.memstats.as_ref().unwrap()["NumGC"].is_u64());
        let g = Summary::from_parsed(&parse("goroutine.pb.gz"), &SeriesOptions::default());
        assert!(g.goroutines.unwrap() > 0 && g.sites.is_empty());
        let d = Summary::from_parsed(&parse("goroutine_dump.txt"), &SeriesOptions::default());
        assert!(d.goroutines.unwrap() > 0);
    }
}
