package leaktest_test

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"heapdrift.dev/heapdriftprobe/leaktest"
)

// fakeTB records what CheckNoGrowth reports. Its embedded TB is nil, so a
// call to any other method panics: CheckNoGrowth must need no more.
type fakeTB struct {
	testing.TB
	errors []string
	fatal  string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
}

func check(t *testing.T, op func(), opts leaktest.Options) *fakeTB {
	t.Helper()
	fake := &fakeTB{}
	leaktest.CheckNoGrowth(fake, op, opts)
	if fake.fatal != "" {
		t.Fatalf("Fatalf: %s", fake.fatal)
	}
	return fake
}

// lineOf is the file:line of this file's only line holding code, to
// compare with a report.
func lineOf(t *testing.T, code string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	source, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var found []int
	for i, line := range strings.Split(string(source), "\n") {
		if strings.Contains(line, code) && !strings.Contains(line, "lineOf(") {
			found = append(found, i+1)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%q is on lines %v of %s, want one", code, found, file)
	}
	return fmt.Sprintf("%s:%d", file, found[0])
}

// --- Leaking operations ---

type session struct {
	id      int
	payload []byte
}

var (
	sessions    = map[int]*session{}
	lastSession int
)

// openSession registers a session in a global map and never removes it.
func openSession() {
	lastSession++
	s := &session{id: lastSession, payload: make([]byte, 64)}
	sessions[s.id] = s
}

func TestCatchesGlobalMapAppend(t *testing.T) {
	t.Cleanup(func() { sessions = map[int]*session{} })
	fake := check(t, openSession, leaktest.Options{})
	if len(fake.errors) == 0 {
		t.Fatal("no failure for a map that keeps every session")
	}
	report := strings.Join(fake.errors, "\n")
	sessionAlloc := lineOf(t, "s := &session{")
	for _, want := range []string{"leaktest_test.openSession (" + sessionAlloc + ")", "per round", "per call", "allocation stack:\n"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// A 32-byte session (its size class) and 64 bytes of payload a call,
	// on one line.
	if !strings.Contains(report, "grows by 9.4 KiB per round (96 B per call)") {
		t.Errorf("growth is not 96 bytes a call:\n%s", report)
	}
	if strings.Contains(report, "goroutines started") {
		t.Errorf("a goroutine leak reported for a map:\n%s", report)
	}
}

// releaseWaiters is made anew by each run of the test.
var releaseWaiters chan struct{}

// startWaiter starts a goroutine that waits for a reply nobody sends.
func startWaiter() {
	reply := make(chan int)
	go func() {
		select {
		case <-reply:
		case <-releaseWaiters: // only so that the test can end them
		}
	}()
}

func TestCatchesGoroutineBlockedPerCall(t *testing.T) {
	releaseWaiters = make(chan struct{})
	t.Cleanup(func() { close(releaseWaiters) })
	fake := check(t, startWaiter, leaktest.Options{GoroutineGrace: 100e6})
	var report string
	for _, e := range fake.errors {
		if strings.Contains(e, "goroutines started") {
			report = e
		}
	}
	if report == "" {
		t.Fatalf("no goroutine failure; errors: %q", fake.errors)
	}
	// 10 measured rounds of 100 calls: 1000 goroutines, in one group.
	for _, want := range []string{"leaktest: 1000 goroutines started", "(1.0 per call)", "1000 goroutines [select]:", "leaktest_test.startWaiter.func1(...)", "created by heapdrift.dev/heapdriftprobe/leaktest_test.startWaiter\n"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%.2000s", want, report)
		}
	}
}

type record struct {
	at, size, flags, owner int64
}

var history []record

// logRequest appends to a global slice that nothing truncates. The slice
// grows in steps, when append reallocates it.
func logRequest() {
	history = append(history, record{at: int64(len(history)), size: 42})
}

func TestCatchesSliceGrowingBehindGlobal(t *testing.T) {
	t.Cleanup(func() { history = nil })
	fake := check(t, logRequest, leaktest.Options{})
	report := strings.Join(fake.errors, "\n")
	historyAppend := lineOf(t, "history = append(history")
	if len(fake.errors) != 1 || !strings.Contains(report, "leaktest_test.logRequest ("+historyAppend+")") {
		t.Errorf("want one failure at %s, got:\n%s", historyAppend, report)
	}
}

// --- Bounded operations ---

var (
	cache     = map[int][]byte{}
	cacheNext int
)

// lookup fills a cache of 200 entries, then only reads it: full within
// the warm-up rounds.
func lookup() {
	cacheNext++
	key := cacheNext % 200
	if _, ok := cache[key]; !ok {
		cache[key] = make([]byte, 128)
	}
}

func TestPassesCacheThatFillsOnce(t *testing.T) {
	t.Cleanup(func() { cache = map[int][]byte{} })
	if fake := check(t, lookup, leaktest.Options{}); len(fake.errors) > 0 {
		t.Errorf("a bounded cache failed:\n%s", strings.Join(fake.errors, "\n"))
	}
	if len(cache) != 200 {
		t.Errorf("the cache holds %d entries, want 200: the operation did not run as meant", len(cache))
	}
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

var encodedBytes int

// encode uses a pooled buffer; GC empties the pool between rounds.
func encode() {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	fmt.Fprintf(buf, "%0512d", 7)
	encodedBytes += buf.Len()
	buffers.Put(buf)
}

func TestPassesSyncPool(t *testing.T) {
	if fake := check(t, encode, leaktest.Options{}); len(fake.errors) > 0 {
		t.Errorf("sync.Pool use failed:\n%s", strings.Join(fake.errors, "\n"))
	}
	if encodedBytes == 0 {
		t.Error("the operation did not run")
	}
}

var checksum int

// summarize allocates only temporaries.
func summarize() {
	parts := make([]string, 0, 16)
	for i := 0; i < 16; i++ {
		parts = append(parts, fmt.Sprintf("part-%d", i))
	}
	checksum += len(strings.Join(parts, ","))
}

func TestPassesTemporaryAllocation(t *testing.T) {
	if fake := check(t, summarize, leaktest.Options{}); len(fake.errors) > 0 {
		t.Errorf("temporary allocations failed:\n%s", strings.Join(fake.errors, "\n"))
	}
	if checksum == 0 {
		t.Error("the operation did not run")
	}
}

// A goroutine started once, in the warm-up (a lazily started janitor), is
// not a leak per call.
var (
	janitorOnce sync.Once
	stopJanitor chan struct{}
)

func useJanitoredCache() {
	janitorOnce.Do(func() { go func() { <-stopJanitor }() })
}

func TestPassesSingletonGoroutineStartedInWarmup(t *testing.T) {
	janitorOnce, stopJanitor = sync.Once{}, make(chan struct{})
	t.Cleanup(func() { close(stopJanitor) })
	if fake := check(t, useJanitoredCache, leaktest.Options{}); len(fake.errors) > 0 {
		t.Errorf("a singleton goroutine failed:\n%s", strings.Join(fake.errors, "\n"))
	}
}

func TestRestoresMemProfileRate(t *testing.T) {
	before := runtime.MemProfileRate
	check(t, summarize, leaktest.Options{})
	if runtime.MemProfileRate != before {
		t.Errorf("MemProfileRate = %d after the check, was %d", runtime.MemProfileRate, before)
	}
}

func TestBadOptionsAreFatal(t *testing.T) {
	for _, tt := range []struct {
		op   func()
		opts leaktest.Options
		want string
	}{
		{summarize, leaktest.Options{Rounds: 3}, "at least 6 measured rounds"},
		{summarize, leaktest.Options{MinTrend: 2}, "MinTrend 2 is not in [0, 1]"},
		{nil, leaktest.Options{}, "op is nil"},
	} {
		fake := &fakeTB{}
		leaktest.CheckNoGrowth(fake, tt.op, tt.opts)
		if !strings.Contains(fake.fatal, tt.want) {
			t.Errorf("Fatalf(%q), want %q", fake.fatal, tt.want)
		}
	}
}
