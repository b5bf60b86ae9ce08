//! The `# runtime.MemStats` footer Go writes after a heap `debug=1` text
//! (`writeHeapInternal` in runtime/pprof). pprof ignores it.

/// The footer's values, named after `runtime.MemStats`. Fields Go did not
/// print keep their default; unknown lines are ignored, so footers of
/// older and newer Go versions parse too.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemStats {
    pub alloc: u64,
    pub total_alloc: u64,
    pub sys: u64,
    pub lookups: u64,
    pub mallocs: u64,
    pub frees: u64,
    pub heap_alloc: u64,
    pub heap_sys: u64,
    pub heap_idle: u64,
    pub heap_inuse: u64,
    pub heap_released: u64,
    pub heap_objects: u64,
    /// `# Stack = inuse / sys`.
    pub stack_inuse: u64,
    pub stack_sys: u64,
    /// `# MSpan = inuse / sys`.
    pub mspan_inuse: u64,
    pub mspan_sys: u64,
    /// `# MCache = inuse / sys`.
    pub mcache_inuse: u64,
    pub mcache_sys: u64,
    pub buck_hash_sys: u64,
    pub gc_sys: u64,
    pub other_sys: u64,
    pub next_gc: u64,
    /// Unix nanoseconds of the last GC's end.
    pub last_gc: u64,
    /// The circular buffer of recent pause durations (256 entries in Go),
    /// as printed.
    pub pause_ns: Vec<u64>,
    pub pause_end: Vec<u64>,
    pub num_gc: u64,
    pub num_forced_gc: u64,
    pub gc_cpu_fraction: f64,
    pub debug_gc: bool,
    /// Peak resident set size in bytes; printed on Unix and Windows only.
    pub max_rss: Option<u64>,
}

impl MemStats {
    /// Reads the footer from a heap text; `None` when there is no
    /// `# runtime.MemStats` line.
    pub fn parse(text: &str) -> Option<MemStats> {
        let start = text.find("# runtime.MemStats")?;
        let mut m = MemStats::default();
        for line in text[start..].lines().skip(1) {
            let Some(body) = line.trim().strip_prefix('#') else {
                continue;
            };
            let Some((key, val)) = body.split_once('=') else {
                continue;
            };
            m.set(key.trim(), val.trim());
        }
        Some(m)
    }

    fn set(&mut self, key: &str, val: &str) {
        let int = |v: &str| v.parse::<u64>().ok();
        let pair = |v: &str| {
            let (a, b) = v.split_once('/')?;
            Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
        };
        let list = |v: &str| -> Option<Vec<u64>> {
            let inner = v.strip_prefix('[')?.strip_suffix(']')?;
            inner.split_whitespace().map(|x| x.parse().ok()).collect()
        };
        let slot = match key {
            "Alloc" => &mut self.alloc,
            "TotalAlloc" => &mut self.total_alloc,
            "Sys" => &mut self.sys,
            "Lookups" => &mut self.lookups,
            "Mallocs" => &mut self.mallocs,
            "Frees" => &mut self.frees,
            "HeapAlloc" => &mut self.heap_alloc,
            "HeapSys" => &mut self.heap_sys,
            "HeapIdle" => &mut self.heap_idle,
            "HeapInuse" => &mut self.heap_inuse,
            "HeapReleased" => &mut self.heap_released,
            "HeapObjects" => &mut self.heap_objects,
            "BuckHashSys" => &mut self.buck_hash_sys,
            "GCSys" => &mut self.gc_sys,
            "OtherSys" => &mut self.other_sys,
            "NextGC" => &mut self.next_gc,
            "LastGC" => &mut self.last_gc,
            "NumGC" => &mut self.num_gc,
            "NumForcedGC" => &mut self.num_forced_gc,
            "Stack" | "MSpan" | "MCache" => {
                if let Some((a, b)) = pair(val) {
                    let (x, y) = match key {
                        "Stack" => (&mut self.stack_inuse, &mut self.stack_sys),
                        "MSpan" => (&mut self.mspan_inuse, &mut self.mspan_sys),
                        _ => (&mut self.mcache_inuse, &mut self.mcache_sys),
                    };
                    (*x, *y) = (a, b);
                }
                return;
            }
            "PauseNs" | "PauseEnd" => {
                if let Some(v) = list(val) {
                    if key == "PauseNs" {
                        self.pause_ns = v;
                    } else {
                        self.pause_end = v;
                    }
                }
                return;
            }
            "GCCPUFraction" => {
                if let Ok(f) = val.parse::<f64>() {
                    self.gc_cpu_fraction = f;
                }
                return;
            }
            "DebugGC" => {
                if let Ok(b) = val.parse::<bool>() {
                    self.debug_gc = b;
                }
                return;
            }
            "MaxRSS" => {
                self.max_rss = int(val).or(self.max_rss);
                return;
            }
            _ => return,
        };
        if let Some(v) = int(val) {
            *slot = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer() {
        let t = "heap profile: 0: 0 [0: 0] @ heap/1\n\n# runtime.MemStats\n# Alloc = 10\n\
                 # Stack = 1 / 2\n# PauseNs = [3 4 0]\n# GCCPUFraction = 1.5e-05\n\
                 # DebugGC = false\n# Bogus line\n# NewField = 7\n# MaxRSS = 99\n";
        let m = MemStats::parse(t).unwrap();
        assert_eq!(m.alloc, 10);
        assert_eq!((m.stack_inuse, m.stack_sys), (1, 2));
        assert_eq!(m.pause_ns, vec![3, 4, 0]);
        assert_eq!(m.gc_cpu_fraction, 1.5e-05);
        assert_eq!(m.max_rss, Some(99));
        assert!(MemStats::parse("heap profile: 1: 1 [1: 1] @ heap/2\n").is_none());
    }
}
