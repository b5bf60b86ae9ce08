//! What a snapshot is: the endpoint that served it and its format
//! ([`Kind`]), the series it feeds ([`Family`]), and how a parsed profile
//! is told apart ([`classify`]).

use profile::{Parsed, SourceFormat};

/// What an endpoint of `/debug/pprof/` served, format included. The
/// archive's directory and kind names are [`Kind::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `/debug/pprof/heap` (proto).
    Heap,
    /// `/debug/pprof/heap?debug=1` (text with the MemStats footer).
    HeapDebug1,
    /// `/debug/pprof/allocs`: the heap profile viewed by allocations.
    Allocs,
    /// `/debug/pprof/goroutine` (proto).
    Goroutine,
    /// `/debug/pprof/goroutine?debug=1` (text).
    GoroutineDebug1,
    /// `/debug/pprof/goroutine?debug=2`: the full dump.
    GoroutineDump,
    /// `/debug/pprof/goroutineleak` (Go 1.26+), proto or text.
    GoroutineLeak,
    /// CPU profile.
    Profile,
    Block,
    Mutex,
    Threadcreate,
    /// A Prometheus text exposition with the process's current RSS
    /// (`process_resident_memory_bytes`): the target's `/metrics`, or one
    /// `watch` wrote from `/proc/PID/status` (docs/archive.md).
    Metrics,
    /// The JSON snapshot of heapdrift's Go companion
    /// (`/debug/heapdrift/snapshot`, or written by its `Guard` near the
    /// memory limit): the current RSS and the limits (docs/probe.md).
    Probe,
    /// A custom profile (`pprof.NewProfile`, heapdriftprobe's `Track`):
    /// resources held, counted by acquiring stack, served at
    /// `/debug/pprof/<name>`. Its name is its sample type.
    Resource,
}

/// The series a kind feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Heap,
    Goroutine,
    GoroutineLeak,
    /// The current RSS, beside the MemStats of the memory series.
    Rss,
    /// Tracked resources: one series per custom profile name.
    Resource,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Heap => "heap",
            Family::Goroutine => "goroutine",
            Family::GoroutineLeak => "goroutineleak",
            Family::Rss => "rss",
            Family::Resource => "resource",
        }
    }
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Heap,
        Kind::HeapDebug1,
        Kind::Allocs,
        Kind::Goroutine,
        Kind::GoroutineDebug1,
        Kind::GoroutineDump,
        Kind::GoroutineLeak,
        Kind::Profile,
        Kind::Block,
        Kind::Mutex,
        Kind::Threadcreate,
        Kind::Metrics,
        Kind::Probe,
        Kind::Resource,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Heap => "heap",
            Kind::HeapDebug1 => "heap_debug1",
            Kind::Allocs => "allocs",
            Kind::Goroutine => "goroutine",
            Kind::GoroutineDebug1 => "goroutine_debug1",
            Kind::GoroutineDump => "goroutine_dump",
            Kind::GoroutineLeak => "goroutineleak",
            Kind::Profile => "profile",
            Kind::Block => "block",
            Kind::Mutex => "mutex",
            Kind::Threadcreate => "threadcreate",
            Kind::Metrics => "metrics",
            Kind::Probe => "probe",
            Kind::Resource => "resource",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the endpoint serves text (debug=1/2, metrics) rather than
    /// proto.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Kind::HeapDebug1
                | Kind::GoroutineDebug1
                | Kind::GoroutineDump
                | Kind::Metrics
                | Kind::Probe
        )
    }

    /// The series this kind feeds; `None` for kinds `hunt` does not read.
    /// Allocs profiles repeat the heap's samples (the same profile with
    /// another default type) and would count the heap twice; CPU, block,
    /// mutex and threadcreate profiles say nothing about retained memory.
    pub fn family(self) -> Option<Family> {
        match self {
            Kind::Heap | Kind::HeapDebug1 => Some(Family::Heap),
            Kind::Goroutine | Kind::GoroutineDebug1 | Kind::GoroutineDump => {
                Some(Family::Goroutine)
            }
            Kind::GoroutineLeak => Some(Family::GoroutineLeak),
            Kind::Metrics | Kind::Probe => Some(Family::Rss),
            Kind::Resource => Some(Family::Resource),
            Kind::Allocs | Kind::Profile | Kind::Block | Kind::Mutex | Kind::Threadcreate => None,
        }
    }

    /// How the user would call it in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Heap => "heap profile",
            Kind::HeapDebug1 => "heap debug=1 text",
            Kind::Allocs => "allocs profile",
            Kind::Goroutine => "goroutine profile",
            Kind::GoroutineDebug1 => "goroutine debug=1 text",
            Kind::GoroutineDump => "goroutine debug=2 dump",
            Kind::GoroutineLeak => "goroutineleak profile",
            Kind::Profile => "CPU profile",
            Kind::Block => "block profile",
            Kind::Mutex => "mutex profile",
            Kind::Threadcreate => "threadcreate profile",
            Kind::Metrics => "metrics text (RSS)",
            Kind::Probe => "heapdriftprobe snapshot (current RSS)",
            Kind::Resource => "custom profile (tracked resources)",
        }
    }

    /// The current RSS that a snapshot of this kind holds (`None` for
    /// kinds without one, and for bytes that do not say it).
    pub fn rss_reading(self, bytes: &[u8]) -> Option<profile::metrics::Resident> {
        match self {
            Kind::Metrics => profile::metrics::resident_memory(bytes).ok().flatten(),
            Kind::Probe => profile::probe::parse_snapshot(bytes).ok()?.rss,
            _ => None,
        }
    }
}

/// Why a parsed profile is no snapshot `hunt` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unread {
    /// A profile of a kind `hunt` does not read.
    Kind(Kind),
    /// Sample types of no Go profile kind.
    Types(String),
    /// A Java profile (heapz, contentionz or CPU), which pprof reads too.
    Java,
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::Kind(Kind::Allocs) => f.write_str(
                "an allocs profile (the heap profile viewed by allocations; hunt reads /debug/pprof/heap)",
            ),
            Unread::Kind(k) => write!(
                f,
                "a {} (hunt reads heap, goroutine, goroutineleak and custom resource profiles)",
                k.describe()
            ),
            Unread::Java => f.write_str(
                "a Java profile (heapz, contentionz or CPU; hunt reads Go's heap, goroutine and goroutineleak profiles)",
            ),
            Unread::Types(t) => write!(
                f,
                "not a Go heap, goroutine, goroutineleak or custom resource profile (sample types {t})"
            ),
        }
    }
}

/// The kind of a parsed profile. `name` is the file name, the only hint
/// for a debug=1 text of `/debug/pprof/allocs`, which Go writes exactly as
/// the heap's.
pub fn classify(parsed: &Parsed, name: &str) -> Result<Kind, Unread> {
    let p = &parsed.profile;
    let text = parsed.format != SourceFormat::Proto;
    let has = |t: &str| p.sample_types.iter().any(|v| v.r#type == t);
    let only = |t: &str| p.sample_types.len() == 1 && has(t);
    if parsed.format == SourceFormat::GoroutineDump {
        return Ok(Kind::GoroutineDump);
    }
    // A Java heapz has inuse_space too: it is no Go heap.
    if parsed.format == SourceFormat::LegacyJava {
        return Err(Unread::Java);
    }
    if only("goroutineleak") {
        return Ok(Kind::GoroutineLeak);
    }
    if only("goroutine") {
        return Ok(if text {
            Kind::GoroutineDebug1
        } else {
            Kind::Goroutine
        });
    }
    if has("inuse_space") {
        // Go's /allocs handler writes the heap profile with alloc_space as
        // its default type; its debug=1 text is the heap's, byte for byte.
        let allocs = if text {
            name.to_ascii_lowercase().contains("alloc")
        } else {
            p.default_sample_type == "alloc_space"
        };
        return Ok(if allocs {
            Kind::Allocs
        } else if text {
            Kind::HeapDebug1
        } else {
            Kind::Heap
        });
    }
    let kind = if has("alloc_space") {
        Some(Kind::Allocs)
    } else if has("cpu") || has("samples") && parsed.format == SourceFormat::LegacyCpu {
        Some(Kind::Profile)
    } else if has("contentions") || has("delay") {
        // Go's block and mutex profiles share their sample and period
        // types: only the name tells them apart, and hunt reads neither.
        Some(if name.to_ascii_lowercase().contains("mutex") {
            Kind::Mutex
        } else {
            Kind::Block
        })
    } else if only("threadcreate") {
        Some(Kind::Threadcreate)
    } else if let [t] = p.sample_types.as_slice()
        && t.unit == "count"
        && t.r#type != "samples"
        && !text
    {
        // What runtime/pprof writes for a `pprof.NewProfile`: one count
        // named after the profile. Go's own count profiles are all matched
        // above by name.
        return Ok(Kind::Resource);
    } else {
        None
    };
    Err(match kind {
        Some(k) => Unread::Kind(k),
        None => Unread::Types(
            p.sample_types
                .iter()
                .map(|v| format!("{}/{}", v.r#type, v.unit))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Java heapz holds inuse_space and inuse_objects as a Go heap does;
    /// it is named Java, not read as a Go heap text.
    #[test]
    fn a_java_heapz_is_no_go_heap() {
        let text = "--- heapz 1 ---\nformat = java\nresolution = bytes\n          7048     1 @ 0x00000003\n";
        let parsed = profile::parse(text.as_bytes(), &profile::ParseOptions::default())
            .expect("pprof reads Java heapz");
        assert_eq!(parsed.format, SourceFormat::LegacyJava);
        assert!(
            parsed
                .profile
                .sample_types
                .iter()
                .any(|t| t.r#type == "inuse_space")
        );
        let unread = classify(&parsed, "java.heap").unwrap_err();
        assert_eq!(unread, Unread::Java);
        assert!(unread.to_string().starts_with("a Java profile"), "{unread}");
    }
}
