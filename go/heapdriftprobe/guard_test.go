package heapdriftprobe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"
)

// captureFiles lists Dir's capture files by time stamp.
func captureFiles(t testing.TB, dir string) map[string][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	byStamp := map[string][]string{}
	for _, e := range entries {
		if m := captureName.FindStringSubmatch(e.Name()); m != nil {
			byStamp[m[2]] = append(byStamp[m[2]], e.Name())
		} else {
			t.Errorf("unexpected file in the capture directory: %s", e.Name())
		}
	}
	return byStamp
}

func readCaptureSnapshot(t testing.TB, path string) Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

func TestGuardCaptureFiles(t *testing.T) {
	dir := t.TempDir()
	// A fixed limit of 1 byte: every poll is past the threshold.
	g, err := newGuard(GuardOptions{Dir: dir, LimitBytes: 1, MinInterval: time.Hour}, defaultCollector)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.closeFiles)
	now := time.Date(2026, 12, 4, 11, 20, 4, 123456789, time.UTC)
	g.poll(now)
	g.poll(now.Add(time.Minute)) // within MinInterval: no capture

	captures := captureFiles(t, dir)
	files := captures["20261204T112004.123456789Z"]
	sort.Strings(files)
	want := []string{"goroutine-20261204T112004.123456789Z.txt", "heap-20261204T112004.123456789Z.pb.gz", "heapdrift-20261204T112004.123456789Z.json"}
	if len(captures) != 1 || strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("captures %v, want one of %v", captures, want)
	}
	heap, err := os.ReadFile(filepath.Join(dir, want[1]))
	if err != nil || len(heap) < 2 || heap[0] != 0x1f || heap[1] != 0x8b {
		t.Errorf("heap profile is not gzipped: %v, % x", err, heap[:min(len(heap), 2)])
	}
	dump, err := os.ReadFile(filepath.Join(dir, want[0]))
	if err != nil || !bytes.Contains(dump, []byte("goroutine ")) || !bytes.Contains(dump, []byte("TestGuardCaptureFiles")) {
		t.Errorf("goroutine dump is not a debug=2 dump of this process: %v, %.200s", err, dump)
	}
	s := readCaptureSnapshot(t, filepath.Join(dir, want[2]))
	c := s.Capture
	if c == nil {
		t.Fatal("the snapshot has no capture")
	}
	if c.Reason != "near_limit" || c.LimitBytes != 1 || c.LimitSource != "fixed" || c.Fraction != 0.9 ||
		c.Measure != "rss" || c.MeasuredBytes == 0 || c.HeapProfile != want[1] || c.GoroutineDump != want[0] || c.Snapshot != want[2] {
		t.Errorf("capture = %+v", c)
	}
	if runtime.GOOS == "linux" && s.SmapsRollup == nil {
		t.Error("a capture's snapshot lacks smaps_rollup")
	}
}

func TestGuardLargeGoroutineCountWritesProto(t *testing.T) {
	dir := t.TempDir()
	g, err := newGuard(GuardOptions{Dir: dir, LimitBytes: 1, MaxGoroutineDump: 1}, defaultCollector)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.closeFiles)
	var c Capture
	g.opts.OnCapture = func(got Capture) { c = got }
	g.poll(time.Now())
	if !strings.HasSuffix(c.GoroutineDump, ".pb.gz") {
		t.Fatalf("goroutine dump %q with more goroutines than MaxGoroutineDump", c.GoroutineDump)
	}
	if _, err := os.Stat(filepath.Join(dir, c.GoroutineDump)); err != nil {
		t.Error(err)
	}
}

func TestGuardTrimsOldestCaptures(t *testing.T) {
	dir := t.TempDir()
	// Files that are not captures are never deleted.
	for _, name := range []string{"notes.txt", "heap-1.pb.gz"} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A leftover of a process killed while writing is removed at start.
	if err := os.WriteFile(filepath.Join(dir, tempPrefix+"heap-x.pb.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var captured []Capture
	third := make(chan struct{})
	stop, err := Guard(GuardOptions{
		Dir: dir, LimitBytes: 1, PollInterval: time.Millisecond, MinInterval: time.Millisecond,
		MaxDirBytes: 1, // any capture is too big: only the newest stays
		OnCapture: func(c Capture) {
			if captured = append(captured, c); len(captured) == 3 {
				close(third)
			}
		},
		OnError: func(err error) { t.Error(err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-third:
	case <-time.After(20 * time.Second):
		t.Error("fewer than 3 captures in 20 s, polling every millisecond with MinInterval 1ms")
	}
	stop()
	stop() // a second stop is harmless
	if len(captured) < 2 {
		t.Fatalf("%d captures in a guard polling every millisecond with MinInterval 1ms", len(captured))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	last := captured[len(captured)-1]
	want := []string{last.GoroutineDump, "heap-1.pb.gz", last.HeapProfile, last.Snapshot, "notes.txt"}
	sort.Strings(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("after trimming: %v, want %v", names, want)
	}
	// Stopped: no capture after stop returns.
	n := len(captured)
	time.Sleep(20 * time.Millisecond)
	if len(captured) != n {
		t.Error("a capture after stop returned")
	}
}

func TestGuardOptionErrors(t *testing.T) {
	for _, tt := range []struct {
		opts GuardOptions
		want string
	}{
		{GuardOptions{}, "Dir is empty"},
		{GuardOptions{Dir: "x", Fraction: 1.5}, "not in (0, 1]"},
		{GuardOptions{Dir: "x", PollInterval: -time.Second}, "negative"},
	} {
		if _, err := Guard(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Guard(%+v) = %v, want an error with %q", tt.opts, err, tt.want)
		}
	}
}

func TestGuardWithoutLimitWaits(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	if old != 1<<63-1 {
		t.Skipf("GOMEMLIMIT is set (%d) in this test process", old)
	}
	g, err := newGuard(GuardOptions{Dir: t.TempDir()}, newCollector(emptyFS{}))
	if err != nil {
		t.Fatal(err)
	}
	if r := g.read(); r.limit != 0 || r.measure != "" {
		t.Errorf("a reading without any limit: %+v", r)
	}
	debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(old)
	if r := g.read(); r.limit != 1<<40 || r.limitSource != "gomemlimit" || r.measure != "" {
		t.Errorf("a reading under a 1 TiB GOMEMLIMIT: %+v", r)
	}
}

// The child of TestGuardCapturesBeforeGOMEMLIMIT: it retains memory in 1 MiB
// steps towards its GOMEMLIMIT and exits as soon as the capture is on disk,
// reporting how much it retained then.
const guardChildEnv = "HEAPDRIFTPROBE_GUARD_CHILD_DIR"

const childLimit = 64 << 20

func init() {
	dir := os.Getenv(guardChildEnv)
	if dir == "" {
		return
	}
	stop, err := Guard(GuardOptions{Dir: dir, PollInterval: 5 * time.Millisecond})
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(3)
	}
	var retained [][]byte
	for len(retained) < 2*childLimit>>20 {
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		retained = append(retained, chunk)
		// Two polls a step, and a capture (tens of milliseconds on a
		// loaded machine) takes a few steps: the test is of the guard's
		// timing, not of a race with the allocator.
		time.Sleep(10 * time.Millisecond)
		entries, _ := filepath.Glob(filepath.Join(dir, "heapdrift-*.json"))
		if len(entries) > 0 {
			stop()
			fmt.Printf("child: captured with %d MiB retained\n", len(retained))
			if len(retained)<<20 >= childLimit {
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	fmt.Printf("child: no capture with %d MiB retained\n", len(retained))
	os.Exit(2)
}

func TestGuardCapturesBeforeGOMEMLIMIT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), guardChildEnv+"="+dir, fmt.Sprintf("GOMEMLIMIT=%d", childLimit), "GOGC=100")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("child: %v (exit 1: the capture came at the limit; 2: never)", err)
	}
	captures := captureFiles(t, dir)
	if len(captures) != 1 {
		t.Fatalf("captures: %v", captures)
	}
	for stamp, files := range captures {
		if len(files) != 3 {
			t.Errorf("capture %s has files %v", stamp, files)
		}
		s := readCaptureSnapshot(t, filepath.Join(dir, "heapdrift-"+stamp+".json"))
		c := s.Capture
		t.Logf("capture: %+v", c)
		if c == nil || c.LimitBytes > childLimit || c.MeasuredBytes < c.ThresholdBytes || c.MeasuredBytes >= c.LimitBytes ||
			(c.Measure != "rss" && c.Measure != "go_memory") {
			t.Errorf("capture = %+v", c)
		}
		if s.GoMemLimitBytes == nil || *s.GoMemLimitBytes != childLimit {
			t.Errorf("gomemlimit_bytes = %v, want %d", s.GoMemLimitBytes, childLimit)
		}
	}
}

// BenchmarkGuardPoll is one poll: the limits, RSS and runtime/metrics read,
// nothing crossed.
func BenchmarkGuardPoll(b *testing.B) {
	g, err := newGuard(GuardOptions{Dir: b.TempDir(), LimitBytes: 1 << 50}, defaultCollector)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.closeFiles)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		g.poll(time.Now())
	}
}
