package heapdriftprobe

import (
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// SnapshotVersion is the version of the Snapshot JSON schema. It changes
// only when a field changes meaning or is removed; new fields keep it.
const SnapshotVersion = 1

// Snapshot is the JSON document served at /debug/heapdrift/snapshot and
// written by Guard. Every field is always present; what the process cannot
// know (no /proc, no cgroup, an older runtime) is null, never a guess.
type Snapshot struct {
	Version       int   `json:"version"`
	TimeUnixNanos int64 `json:"time_unix_nanos"`
	Process       struct {
		PID                int    `json:"pid"`
		StartTimeUnixNanos *int64 `json:"start_time_unix_nanos"`
	} `json:"process"`
	RSS *RSS `json:"rss"`
	// SmapsRollup is read only when asked for (SnapshotOptions); null
	// when not asked for or not available.
	SmapsRollup *SmapsRollup `json:"smaps_rollup"`
	Cgroup      *Cgroup      `json:"cgroup"`
	// GoMemLimitBytes is the runtime's soft memory limit (GOMEMLIMIT or
	// debug.SetMemoryLimit); nil when unset.
	GoMemLimitBytes *int64         `json:"gomemlimit_bytes"`
	Runtime         RuntimeMetrics `json:"runtime"`
	Build           *Build         `json:"build"`
	// Capture is set only in the snapshots Guard writes.
	Capture *Capture `json:"capture"`
}

// RuntimeMetrics are runtime/metrics values; a metric this runtime does not
// have is nil.
type RuntimeMetrics struct {
	// HeapObjects is /gc/heap/objects:objects, live and unswept objects.
	HeapObjects *uint64 `json:"heap_objects"`
	// HeapLiveBytes is /gc/heap/live:bytes, the heap the last GC marked.
	HeapLiveBytes *uint64 `json:"heap_live_bytes"`
	// HeapObjectsBytes is /memory/classes/heap/objects:bytes.
	HeapObjectsBytes *uint64 `json:"heap_objects_bytes"`
	// HeapGoalBytes is /gc/heap/goal:bytes.
	HeapGoalBytes *uint64 `json:"heap_goal_bytes"`
	// GCCycles is /gc/cycles/total:gc-cycles.
	GCCycles *uint64 `json:"gc_cycles"`
	// Goroutines is /sched/goroutines:goroutines.
	Goroutines *uint64 `json:"goroutines"`
	// MappedBytes is /memory/classes/total:bytes, all memory the runtime
	// has mapped from the OS.
	MappedBytes *uint64 `json:"mapped_bytes"`
	// ReleasedBytes is /memory/classes/heap/released:bytes, mapped memory
	// returned to the OS. MappedBytes minus ReleasedBytes is Go's share of
	// RSS and what GOMEMLIMIT limits.
	ReleasedBytes *uint64 `json:"released_bytes"`
	// GCPauses is /sched/pauses/total/gc:seconds (Go 1.22+; earlier
	// /gc/pauses:seconds), since the process started.
	GCPauses *HistogramSummary `json:"gc_pauses"`
	// SchedLatencies is /sched/latencies:seconds, the time goroutines
	// waited runnable before running, since the process started.
	SchedLatencies *HistogramSummary `json:"sched_latencies"`
}

// HistogramSummary condenses a runtime/metrics histogram of seconds. The
// runtime keeps buckets, not samples, so each quantile is the upper bound of
// the bucket holding it (the lower bound for the open last bucket).
type HistogramSummary struct {
	Count      uint64  `json:"count"`
	P50Seconds float64 `json:"p50_seconds"`
	P99Seconds float64 `json:"p99_seconds"`
	MaxSeconds float64 `json:"max_seconds"`
}

// Build is the binary's build information (debug.ReadBuildInfo); fields the
// build did not record are empty strings or nil.
type Build struct {
	GoVersion   string `json:"go_version"`
	Path        string `json:"path"`
	MainModule  string `json:"main_module"`
	MainVersion string `json:"main_version"`
	VCSRevision string `json:"vcs_revision"`
	VCSTime     string `json:"vcs_time"`
	VCSModified *bool  `json:"vcs_modified"`
}

// Capture says why Guard wrote a snapshot, and which files belong to it.
type Capture struct {
	// Reason is "near_limit".
	Reason string `json:"reason"`
	// LimitBytes is the effective limit; LimitSource where it came from:
	// "cgroup", "gomemlimit" or "fixed".
	LimitBytes  uint64  `json:"limit_bytes"`
	LimitSource string  `json:"limit_source"`
	Fraction    float64 `json:"fraction"`
	// ThresholdBytes is Fraction times LimitBytes.
	ThresholdBytes uint64 `json:"threshold_bytes"`
	// Measure is what crossed the threshold: "rss" (VmRSS) or
	// "go_memory" (mapped minus released); MeasuredBytes its value.
	Measure       string `json:"measure"`
	MeasuredBytes uint64 `json:"measured_bytes"`
	// The capture's files, in one directory: a heap profile
	// (heap-STAMP.pb.gz), a goroutine dump (goroutine-STAMP.txt, debug=2,
	// or goroutine-STAMP.pb.gz beyond MaxGoroutineDump goroutines) and
	// this snapshot (heapdrift-STAMP.json).
	HeapProfile   string `json:"heap_profile"`
	GoroutineDump string `json:"goroutine_dump"`
	Snapshot      string `json:"snapshot"`
}

// Indexes of the runtime/metrics this package reads.
const (
	mHeapObjects = iota
	mHeapLive
	mHeapObjectsBytes
	mHeapGoal
	mGCCycles
	mGoroutines
	mMapped
	mReleased
	mGCPauses
	mSchedLatencies
	metricCount
)

var runtimeMetricNames = [metricCount]string{
	mHeapObjects:      "/gc/heap/objects:objects",
	mHeapLive:         "/gc/heap/live:bytes",
	mHeapObjectsBytes: "/memory/classes/heap/objects:bytes",
	mHeapGoal:         "/gc/heap/goal:bytes",
	mGCCycles:         "/gc/cycles/total:gc-cycles",
	mGoroutines:       "/sched/goroutines:goroutines",
	mMapped:           "/memory/classes/total:bytes",
	mReleased:         "/memory/classes/heap/released:bytes",
	mGCPauses:         "/sched/pauses/total/gc:seconds",
	mSchedLatencies:   "/sched/latencies:seconds",
}

// The name /sched/pauses/total/gc:seconds had before Go 1.22.
const legacyGCPauses = "/gc/pauses:seconds"

var supportedMetrics = sync.OnceValue(func() map[string]bool {
	supported := map[string]bool{}
	for _, d := range metrics.All() {
		supported[d.Name] = true
	}
	return supported
})

// metricNames is runtimeMetricNames with the names this runtime lacks
// replaced by older ones where they exist.
var metricNames = sync.OnceValue(func() [metricCount]string {
	names := runtimeMetricNames
	if !supportedMetrics()[names[mGCPauses]] {
		names[mGCPauses] = legacyGCPauses
	}
	return names
})

// newMetricSamples returns the samples to pass to metrics.Read. metrics.Read
// marks a name the runtime does not know as KindBad, so a runtime without a
// metric reads as nil, not as an error.
func newMetricSamples() []metrics.Sample {
	names := metricNames()
	samples := make([]metrics.Sample, metricCount)
	for i := range samples {
		samples[i].Name = names[i]
	}
	return samples
}

func readRuntimeMetrics(samples []metrics.Sample) RuntimeMetrics {
	metrics.Read(samples)
	u := func(i int) *uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return nil
		}
		v := samples[i].Value.Uint64()
		return &v
	}
	h := func(i int) *HistogramSummary {
		if samples[i].Value.Kind() != metrics.KindFloat64Histogram {
			return nil
		}
		return summarize(samples[i].Value.Float64Histogram())
	}
	return RuntimeMetrics{
		HeapObjects:      u(mHeapObjects),
		HeapLiveBytes:    u(mHeapLive),
		HeapObjectsBytes: u(mHeapObjectsBytes),
		HeapGoalBytes:    u(mHeapGoal),
		GCCycles:         u(mGCCycles),
		Goroutines:       u(mGoroutines),
		MappedBytes:      u(mMapped),
		ReleasedBytes:    u(mReleased),
		GCPauses:         h(mGCPauses),
		SchedLatencies:   h(mSchedLatencies),
	}
}

func summarize(h *metrics.Float64Histogram) *HistogramSummary {
	s := &HistogramSummary{}
	for _, c := range h.Counts {
		s.Count += c
	}
	if s.Count == 0 {
		return s
	}
	// Bucket i holds [Buckets[i], Buckets[i+1]); the ends may be ±Inf,
	// which JSON cannot carry.
	bound := func(i int) float64 {
		if hi := h.Buckets[i+1]; !math.IsInf(hi, 0) {
			return hi
		}
		if lo := h.Buckets[i]; !math.IsInf(lo, 0) {
			return lo
		}
		return 0
	}
	p50, p99 := (s.Count+1)/2, s.Count-s.Count/100
	var seen uint64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		if seen < p50 && seen+c >= p50 {
			s.P50Seconds = bound(i)
		}
		if seen < p99 && seen+c >= p99 {
			s.P99Seconds = bound(i)
		}
		seen += c
		s.MaxSeconds = bound(i)
	}
	return s
}

func readBuild() *Build {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	b := &Build{
		GoVersion:   info.GoVersion,
		Path:        info.Path,
		MainModule:  info.Main.Path,
		MainVersion: info.Main.Version,
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.VCSRevision = s.Value
		case "vcs.time":
			b.VCSTime = s.Value
		case "vcs.modified":
			modified := s.Value == "true"
			b.VCSModified = &modified
		}
	}
	return b
}

// gomemlimit is the runtime's memory limit, nil when unset (math.MaxInt64).
func gomemlimit() *int64 {
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		return nil
	}
	return &limit
}

// collector takes snapshots from a file system (the real one, or a test's);
// what does not change in a process is read once.
type collector struct {
	fsys       fs.FS
	start      func() (int64, bool)
	build      func() *Build
	cgroup     func() *cgroupFiles
	samplePool sync.Pool
}

func newCollector(fsys fs.FS) *collector {
	c := &collector{fsys: fsys}
	c.start = sync.OnceValues(func() (int64, bool) { return processStartUnixNanos(fsys) })
	c.build = sync.OnceValue(readBuild)
	c.cgroup = sync.OnceValue(func() *cgroupFiles { return findCgroup(fsys) })
	c.samplePool.New = func() any {
		samples := newMetricSamples()
		return &samples
	}
	return c
}

var defaultCollector = newCollector(os.DirFS("/"))

// SnapshotOptions choose the parts of a Snapshot that cost more.
type SnapshotOptions struct {
	// SmapsRollup reads /proc/self/smaps_rollup. The kernel walks the
	// page tables of the whole process for it, under the lock that page
	// faults and mmap also take: about 20 µs per MiB of RSS (20 ms at
	// 1 GiB), against tens of microseconds for the rest of the snapshot.
	SmapsRollup bool
}

// TakeSnapshot reads the process's memory now. Without SmapsRollup it costs
// tens of microseconds (a few small /proc and cgroup files and
// runtime/metrics; no GC, no stop-the-world), so it may be called often;
// docs/probe.md has measurements.
func TakeSnapshot(opts SnapshotOptions) *Snapshot {
	return defaultCollector.snapshot(opts)
}

func (c *collector) snapshot(opts SnapshotOptions) *Snapshot {
	s := &Snapshot{Version: SnapshotVersion, TimeUnixNanos: time.Now().UnixNano()}
	s.Process.PID = os.Getpid()
	if start, ok := c.start(); ok {
		s.Process.StartTimeUnixNanos = &start
	}
	if data, err := readSmallFile(c.fsys, "proc/self/status"); err == nil {
		s.RSS = parseStatus(data)
	}
	if opts.SmapsRollup {
		if data, err := readSmallFile(c.fsys, "proc/self/smaps_rollup"); err == nil {
			s.SmapsRollup = parseSmapsRollup(data)
		}
	}
	if cg := c.cgroup(); cg != nil {
		s.Cgroup = cg.read(c.fsys)
	}
	s.GoMemLimitBytes = gomemlimit()
	samples := c.samplePool.Get().(*[]metrics.Sample)
	s.Runtime = readRuntimeMetrics(*samples)
	c.samplePool.Put(samples)
	s.Build = c.build()
	return s
}
