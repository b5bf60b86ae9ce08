// Package leaktest checks in a test that an operation retains nothing per
// call: no heap memory that grows with the number of calls, and no goroutine
// that outlives them.
//
// It lives apart from heapdriftprobe so that services importing the probe
// do not link the testing package.
package leaktest

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options tune CheckNoGrowth; the zero value is the defaults.
type Options struct {
	// WarmupRounds are run first and not measured, so that caches, pools,
	// lazily built tables and singleton goroutines reach their steady
	// size. Default 3.
	WarmupRounds int
	// Rounds are measured after the warm-up; at least 6. Default 10.
	Rounds int
	// CallsPerRound is how many times op runs in a round. Default 100.
	CallsPerRound int
	// MinGrowthPerRound is the least growth in bytes per round of one
	// allocation site's in-use memory for it to count as a leak. Default
	// 1024 (10 bytes a call at 100 calls a round).
	MinGrowthPerRound int64
	// MinTrend is the least Kendall tau of a site's in-use bytes against
	// the round number: the share of pairs of rounds in which the later
	// round holds more, minus the share in which it holds less. 1 is
	// growth in every round, 0 no trend. Default 0.5.
	MinTrend float64
	// GoroutineGrace is how long goroutines started in the measured rounds
	// may take to end after them. Default 2s.
	GoroutineGrace time.Duration
	// IgnoreGoroutines are function names (as in a stack trace, such as
	// "example.com/pkg.(*Pool).worker"): a goroutine with one of them in
	// its stack is not reported.
	IgnoreGoroutines []string
}

func (o Options) withDefaults() (Options, error) {
	if o.WarmupRounds == 0 {
		o.WarmupRounds = 3
	}
	if o.Rounds == 0 {
		o.Rounds = 10
	}
	if o.CallsPerRound == 0 {
		o.CallsPerRound = 100
	}
	if o.MinGrowthPerRound == 0 {
		o.MinGrowthPerRound = 1024
	}
	if o.MinTrend == 0 {
		o.MinTrend = 0.5
	}
	if o.GoroutineGrace == 0 {
		o.GoroutineGrace = 2 * time.Second
	}
	switch {
	case o.WarmupRounds < 0 || o.CallsPerRound < 0 || o.MinGrowthPerRound < 0 || o.GoroutineGrace < 0:
		return o, fmt.Errorf("negative option in %+v", o)
	case o.Rounds < 6:
		return o, fmt.Errorf("Rounds %d: a trend needs at least 6 measured rounds", o.Rounds)
	case o.MinTrend < 0 || o.MinTrend > 1:
		return o, fmt.Errorf("MinTrend %v is not in [0, 1]", o.MinTrend)
	}
	return o, nil
}

// gcsPerRound: the heap profile is published at the end of a GC's sweep and
// shows the allocations and frees up to the previous cycle, and sync.Pool
// drops its objects only at the second GC (primary, then victim cache);
// three GCs leave neither in the reading.
const gcsPerRound = 3

// Only one check at a time: the memory profile rate is process-wide.
var checking sync.Mutex

// CheckNoGrowth runs op in rounds (Options) with runtime.GC between them and
// every allocation profiled (runtime.MemProfileRate 1, restored after), and
// fails t for:
//
//   - each allocation stack whose in-use bytes grow with the round number
//     over the measured rounds: a least-squares slope of at least
//     MinGrowthPerRound, a Kendall tau of at least MinTrend, and a last
//     round above every round of the first half by at least
//     MinGrowthPerRound per round since; a cache that fills in the first
//     rounds and then stays fails the last rule, a sync.Pool (drained by
//     GC) and temporary allocations hold nothing at round ends;
//   - goroutines started during the measured rounds that are still there
//     GoroutineGrace after them (goroutines of the warm-up, such as a
//     lazily started singleton, are not counted).
//
// A failure names the allocation site (function, file:line), its growth per
// round and per call, and the stack. Do not call it from parallel tests:
// other tests' allocations would be measured too.
func CheckNoGrowth(t testing.TB, op func(), opts Options) {
	t.Helper()
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatalf("leaktest: %v", err)
		return
	}
	if op == nil {
		t.Fatalf("leaktest: op is nil")
		return
	}
	checking.Lock()
	defer checking.Unlock()

	oldRate := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = oldRate }()

	round := func() {
		for i := 0; i < opts.CallsPerRound; i++ {
			op()
		}
		for i := 0; i < gcsPerRound; i++ {
			runtime.GC()
		}
	}
	for i := 0; i < opts.WarmupRounds; i++ {
		round()
	}
	before := goroutineIDs()
	sites, series := newSites(), newSiteSeries(opts.Rounds)
	for r := 0; r < opts.Rounds; r++ {
		round()
		series.record(r, sites.readMemProfile())
	}
	for _, g := range series.growing(opts, sites) {
		t.Errorf("%s", g.describe(opts))
	}
	if leaked := waitForGoroutines(before, opts); len(leaked) > 0 {
		t.Errorf("%s", describeGoroutines(leaked, opts))
	}
}

// sites groups allocation stacks by where the program asked for memory:
// the frames from the first one outside the runtime outward. One line can
// reach malloc by several runtime paths (small and large objects, a map's
// growth and its split), which are one site to the reader.
type sites struct {
	ofStack map[stackKey]string // memo: stack → site key ("" for this package's own)
	frames  map[string][]runtime.Frame
}

type stackKey = [32]uintptr

func newSites() *sites {
	return &sites{ofStack: map[stackKey]string{}, frames: map[string][]runtime.Frame{}}
}

func (s *sites) key(stack stackKey) string {
	if key, ok := s.ofStack[stack]; ok {
		return key
	}
	frames := userFrames(stack)
	var key string
	if len(frames) > 0 && !strings.HasPrefix(frames[0].Function, ownPrefix) {
		var b strings.Builder
		for _, f := range frames {
			fmt.Fprintf(&b, "%s %s:%d\n", f.Function, f.File, f.Line)
		}
		key = b.String()
		s.frames[key] = frames
	}
	s.ofStack[stack] = key
	return key
}

// userFrames are the frames of stack from the first one outside the runtime
// (the allocation site) outward, without runtime.goexit.
func userFrames(stack stackKey) []runtime.Frame {
	n := 0
	for n < len(stack) && stack[n] != 0 {
		n++
	}
	var frames []runtime.Frame
	it := runtime.CallersFrames(stack[:n])
	for {
		f, more := it.Next()
		inRuntime := strings.HasPrefix(f.Function, "runtime.") || strings.HasPrefix(f.Function, "internal/")
		if (len(frames) > 0 || !inRuntime) && f.Function != "runtime.goexit" {
			frames = append(frames, f)
		}
		if !more {
			return frames
		}
	}
}

// readMemProfile returns the in-use bytes of each allocation site.
func (s *sites) readMemProfile() map[string]int64 {
	var records []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		records = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(records, false); ok {
			records = records[:n]
			break
		}
	}
	inUse := map[string]int64{}
	for i := range records {
		r := &records[i]
		if bytes := r.InUseBytes(); bytes > 0 {
			if key := s.key(r.Stack0); key != "" {
				inUse[key] += bytes
			}
		}
	}
	return inUse
}

// siteSeries is the in-use bytes of each allocation site at each measured
// round; a site absent from a round held nothing then.
type siteSeries struct {
	rounds int
	bytes  map[string][]int64
}

func newSiteSeries(rounds int) *siteSeries {
	return &siteSeries{rounds: rounds, bytes: map[string][]int64{}}
}

func (s *siteSeries) record(round int, inUse map[string]int64) {
	for site, b := range inUse {
		v := s.bytes[site]
		if v == nil {
			v = make([]int64, s.rounds)
			s.bytes[site] = v
		}
		v[round] = b
	}
}

// growth is one allocation site found growing.
type growth struct {
	stack  []runtime.Frame // stack[0] is the site
	values []int64
	slope  float64 // bytes per round
	tau    float64
}

func (s *siteSeries) growing(opts Options, sites *sites) []growth {
	var found []growth
	for site, values := range s.bytes {
		slope := leastSquaresSlope(values)
		if slope < float64(opts.MinGrowthPerRound) {
			continue
		}
		tau := kendallTau(values)
		if tau < opts.MinTrend {
			continue
		}
		// Growth must go on in the second half: the last round above
		// every round of the first, by MinGrowthPerRound a round.
		half := len(values) / 2
		earlyMax := slices.Max(values[:half])
		if values[len(values)-1]-earlyMax < opts.MinGrowthPerRound*int64(len(values)-half) {
			continue
		}
		found = append(found, growth{stack: sites.frames[site], values: values, slope: slope, tau: tau})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].slope > found[j].slope })
	return found
}

// leastSquaresSlope is the slope of the least-squares line through
// (round, bytes).
func leastSquaresSlope(values []int64) float64 {
	n := float64(len(values))
	var sumX, sumY, sumXY, sumXX float64
	for i, v := range values {
		x, y := float64(i), float64(v)
		sumX += x
		sumY += y
		sumXY += x * y
		sumXX += x * x
	}
	return (n*sumXY - sumX*sumY) / (n*sumXX - sumX*sumX)
}

// kendallTau is Kendall's tau-a of values against their index: concordant
// minus discordant pairs, over all pairs. Steps count (a slice grown by
// append reallocates only now and then), ties count for neither.
func kendallTau(values []int64) float64 {
	var s int
	for i := range values {
		for j := i + 1; j < len(values); j++ {
			switch {
			case values[j] > values[i]:
				s++
			case values[j] < values[i]:
				s--
			}
		}
	}
	n := len(values)
	return float64(s) / float64(n*(n-1)/2)
}

// ownPrefix is this package's prefix in function names.
var ownPrefix = strings.TrimSuffix(runtime.FuncForPC(reflect.ValueOf(packageMarker).Pointer()).Name(), "packageMarker")

func packageMarker() {}

func (g growth) describe(opts Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "leaktest: in-use memory allocated at %s (%s:%d) grows by %s per round (%s per call) over %d rounds after %d warm-up, %d calls each: %s → %s, later than earlier in %.0f%% more round pairs than not (Kendall tau %.2f)\n",
		g.stack[0].Function, g.stack[0].File, g.stack[0].Line,
		formatBytes(g.slope), formatBytes(g.slope/float64(opts.CallsPerRound)),
		opts.Rounds, opts.WarmupRounds, opts.CallsPerRound,
		formatBytes(float64(g.values[0])), formatBytes(float64(g.values[len(g.values)-1])),
		g.tau*100, g.tau)
	b.WriteString("allocation stack:\n")
	for _, f := range g.stack {
		fmt.Fprintf(&b, "\t%s\n\t\t%s:%d\n", f.Function, f.File, f.Line)
	}
	return b.String()
}

func formatBytes(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1<<30:
		return fmt.Sprintf("%.1f GiB", v/(1<<30))
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}
