package heapdriftprobe

import (
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"testing"
)

func newServer(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestSnapshotEndpoint(t *testing.T) {
	srv := newServer(t)
	old := debug.SetMemoryLimit(3 << 30)
	defer debug.SetMemoryLimit(old)

	resp, body := get(t, srv.URL+"/debug/heapdrift/snapshot")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Every documented key is present, null or not.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"version", "time_unix_nanos", "process", "rss", "smaps_rollup", "cgroup", "gomemlimit_bytes", "runtime", "build", "capture"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("key %q missing from %s", key, body)
		}
	}
	var s Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Version != SnapshotVersion || s.TimeUnixNanos == 0 || s.Capture != nil {
		t.Errorf("version %d, time %d, capture %+v", s.Version, s.TimeUnixNanos, s.Capture)
	}
	if s.GoMemLimitBytes == nil || *s.GoMemLimitBytes != 3<<30 {
		t.Errorf("gomemlimit_bytes = %v, want %d", s.GoMemLimitBytes, 3<<30)
	}
	m := s.Runtime
	for name, v := range map[string]*uint64{
		"heap_objects": m.HeapObjects, "heap_live_bytes": m.HeapLiveBytes, "heap_objects_bytes": m.HeapObjectsBytes,
		"heap_goal_bytes": m.HeapGoalBytes, "gc_cycles": m.GCCycles, "goroutines": m.Goroutines,
		"mapped_bytes": m.MappedBytes, "released_bytes": m.ReleasedBytes,
	} {
		if v == nil {
			t.Errorf("runtime.%s is null", name)
		}
	}
	if m.Goroutines != nil && *m.Goroutines < 2 {
		t.Errorf("goroutines = %d while the server runs", *m.Goroutines)
	}
	if m.GCPauses == nil || m.SchedLatencies == nil {
		t.Errorf("histograms missing: gc_pauses %v, sched_latencies %v", m.GCPauses, m.SchedLatencies)
	}
	if s.Build == nil || s.Build.GoVersion != runtime.Version() {
		t.Errorf("build = %+v, want go_version %s", s.Build, runtime.Version())
	}
	if runtime.GOOS == "linux" {
		if s.RSS == nil || s.RSS.VmRSSBytes == nil || *s.RSS.VmRSSBytes == 0 {
			t.Errorf("no RSS on Linux: %+v", s.RSS)
		}
		if s.SmapsRollup != nil {
			t.Errorf("smaps_rollup read without ?smaps_rollup=1: %+v", s.SmapsRollup)
		}
		if s.Process.StartTimeUnixNanos == nil || *s.Process.StartTimeUnixNanos > s.TimeUnixNanos {
			t.Errorf("start time %v after the snapshot %d", s.Process.StartTimeUnixNanos, s.TimeUnixNanos)
		}
	}
}

func TestSnapshotSmapsRollupOnRequest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux's /proc")
	}
	srv := newServer(t)
	_, body := get(t, srv.URL+"/debug/heapdrift/snapshot?smaps_rollup=1")
	var s Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.SmapsRollup == nil || s.SmapsRollup.PssBytes == nil || *s.SmapsRollup.PssBytes == 0 {
		t.Errorf("smaps_rollup = %+v", s.SmapsRollup)
	}
}

func TestSnapshotWithoutProcIsNullNotGuessed(t *testing.T) {
	s := newCollector(emptyFS{}).snapshot(SnapshotOptions{SmapsRollup: true})
	if s.RSS != nil || s.SmapsRollup != nil || s.Cgroup != nil || s.Process.StartTimeUnixNanos != nil {
		t.Errorf("values without their files: rss %v smaps %v cgroup %v start %v", s.RSS, s.SmapsRollup, s.Cgroup, s.Process.StartTimeUnixNanos)
	}
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"rss":null`) || !strings.Contains(string(body), `"cgroup":null`) {
		t.Errorf("absent sections are not null: %s", body)
	}
}

type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func TestSummarize(t *testing.T) {
	h := &metrics.Float64Histogram{
		Buckets: []float64{math.Inf(-1), 0, 1e-6, 1e-3, 1, math.Inf(1)},
		Counts:  []uint64{0, 90, 9, 0, 1},
	}
	s := summarize(h)
	if s.Count != 100 || s.P50Seconds != 1e-6 || s.P99Seconds != 1e-3 || s.MaxSeconds != 1 {
		t.Errorf("summarize = %+v; want count 100, p50 1e-6, p99 1e-3, max 1 (the open bucket's lower bound)", s)
	}
	if empty := summarize(&metrics.Float64Histogram{Buckets: []float64{0, 1}, Counts: []uint64{0}}); *empty != (HistogramSummary{}) {
		t.Errorf("empty histogram summarized as %+v", empty)
	}
}

func TestIndexAndErrors(t *testing.T) {
	srv := newServer(t)
	tr := MustTrack("heapdrift.dev/test.index")
	h := tr.Acquire()
	defer h.Release()

	resp, body := get(t, srv.URL+"/debug/heapdrift/")
	if resp.StatusCode != 200 {
		t.Fatalf("index: status %d: %s", resp.StatusCode, body)
	}
	var idx indexDoc
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, e := range idx.Endpoints {
		paths[e.Path] = e.Available
	}
	if !paths["/debug/heapdrift/snapshot"] {
		t.Errorf("index does not list the snapshot as available: %s", body)
	}
	if avail, ok := paths["/debug/heapdrift/goroutineleak"]; !ok || avail != hasGoroutineLeakProfile() {
		t.Errorf("index lists goroutineleak as %v (listed %v), runtime has it: %v", avail, ok, hasGoroutineLeakProfile())
	}
	found := false
	for _, p := range idx.Trackers {
		if p.Name == "heapdrift.dev/test.index" && p.Path == "/debug/pprof/heapdrift.dev/test.index" && p.Held == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("index does not list the tracker with 1 held: %+v", idx.Trackers)
	}

	if resp, body := get(t, srv.URL+"/debug/heapdrift/nothing"); resp.StatusCode != 404 || !strings.Contains(string(body), "/debug/heapdrift/ lists") {
		t.Errorf("unknown path: status %d: %s", resp.StatusCode, body)
	}
	post, err := http.Post(srv.URL+"/debug/heapdrift/snapshot", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed || post.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", post.StatusCode, post.Header.Get("Allow"))
	}
}

func TestGoroutineLeakEndpoint(t *testing.T) {
	srv := newServer(t)
	resp, body := get(t, srv.URL+"/debug/heapdrift/goroutineleak?debug=1")
	if pprof.Lookup("goroutineleak") == nil {
		if resp.StatusCode != 404 || !strings.Contains(string(body), "no goroutineleak profile") {
			t.Errorf("runtime %s without the profile: status %d: %s", runtime.Version(), resp.StatusCode, body)
		}
		return
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "goroutineleak profile: total ") {
		t.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	resp, body = get(t, srv.URL+"/debug/heapdrift/goroutineleak")
	// A gzipped profile.proto, as net/http/pprof serves it.
	if resp.StatusCode != 200 || len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Errorf("proto: status %d, %d bytes starting %x", resp.StatusCode, len(body), body[:min(len(body), 2)])
	}
	if resp, body := get(t, srv.URL+"/debug/heapdrift/goroutineleak?debug=x"); resp.StatusCode != 400 {
		t.Errorf("debug=x: status %d: %s", resp.StatusCode, body)
	}
}

// BenchmarkSnapshotHandler is the cost of one /debug/heapdrift/snapshot
// request to the program, without the network: what a scraper costs.
func BenchmarkSnapshotHandler(b *testing.B) {
	benchmarkHandler(b, "/debug/heapdrift/snapshot")
}

// BenchmarkSnapshotHandlerSmapsRollup adds smaps_rollup, whose cost grows
// with the process's RSS (the benchmark's is small).
func BenchmarkSnapshotHandlerSmapsRollup(b *testing.B) {
	benchmarkHandler(b, "/debug/heapdrift/snapshot?smaps_rollup=1")
}

func benchmarkHandler(b *testing.B, url string) {
	mux := http.NewServeMux()
	Register(mux)
	req := httptest.NewRequest("GET", url, nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
