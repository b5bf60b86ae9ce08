package heapdriftprobe

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
)

// GuardOptions configure Guard. Only Dir is required.
type GuardOptions struct {
	// Dir receives the captures; it is created if missing. Guard deletes
	// only files it names itself (see docs/probe.md), so Dir may be shared.
	Dir string
	// Fraction of the effective limit at which to capture; default 0.9.
	Fraction float64
	// LimitBytes is a fixed limit, for a process whose real limit is not
	// visible to it; 0 for none. The effective limit is the smallest of
	// this, the cgroup's memory limit and GOMEMLIMIT, among those set; all
	// three are read again at every poll, since each can change.
	LimitBytes uint64
	// PollInterval is how often RSS and Go's memory are read; default 1s.
	PollInterval time.Duration
	// MinInterval is the least time between two captures; default 1m.
	MinInterval time.Duration
	// MaxDirBytes caps the size of the captures in Dir: after each capture
	// the oldest captures are deleted until the rest fit, though the newest
	// is always kept. Default 256 MiB.
	MaxDirBytes int64
	// MaxGoroutineDump is the number of goroutines up to which the
	// goroutine dump is the full text (debug=2, one stack per goroutine,
	// with wait times); above it the dump is the proto goroutine profile
	// (stacks counted), whose size grows with distinct stacks rather than
	// goroutines. Default 5000.
	MaxGoroutineDump int
	// OnCapture, if set, is called on the guard's goroutine after each
	// capture.
	OnCapture func(Capture)
	// OnError, if set, receives errors writing captures; by default they go
	// to the standard logger. Guard keeps running after one.
	OnError func(error)
}

// Defaults of GuardOptions.
const (
	DefaultGuardFraction         = 0.9
	DefaultGuardPollInterval     = time.Second
	DefaultGuardMinInterval      = time.Minute
	DefaultGuardMaxDirBytes      = 256 << 20
	DefaultGuardMaxGoroutineDump = 5000
)

// Guard starts watching the process's memory on a goroutine of its own and,
// when RSS or Go's memory (mapped minus released, what GOMEMLIMIT bounds)
// reaches Fraction of the effective limit, writes into Dir a heap profile, a
// goroutine dump and a Snapshot whose capture field says why. A poll reads
// runtime/metrics and a few small kernel files, kept open and read with
// pread, allocating about 100 bytes. A capture stops the world once,
// briefly, for the goroutine dump, which is one reason captures are
// rate-limited. Without any limit set, Guard polls and waits for one (a
// later debug.SetMemoryLimit).
//
// stop ends the watch and waits for a capture in progress to finish; it may
// be called more than once.
func Guard(opts GuardOptions) (stop func(), err error) {
	g, err := newGuard(opts, defaultCollector)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(g.opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("heapdriftprobe: Guard: %w", err)
	}
	g.removeTempFiles()
	stopCh, done := make(chan struct{}), make(chan struct{})
	go g.run(stopCh, done)
	var once sync.Once
	return func() {
		once.Do(func() { close(stopCh) })
		<-done
	}, nil
}

type guard struct {
	opts      GuardOptions
	collector *collector
	samples   []metrics.Sample
	statusBuf []byte
	// status and cgroupLimits are kept open between polls.
	status       keptFile
	cgroupLimits map[string]*keptFile
	last         time.Time // of the last capture
}

func newGuard(opts GuardOptions, c *collector) (*guard, error) {
	if opts.Dir == "" {
		return nil, errors.New("heapdriftprobe: Guard: GuardOptions.Dir is empty")
	}
	if opts.Fraction == 0 {
		opts.Fraction = DefaultGuardFraction
	}
	if !(opts.Fraction > 0 && opts.Fraction <= 1) {
		return nil, fmt.Errorf("heapdriftprobe: Guard: Fraction %v is not in (0, 1]", opts.Fraction)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultGuardPollInterval
	}
	if opts.MinInterval == 0 {
		opts.MinInterval = DefaultGuardMinInterval
	}
	if opts.MaxDirBytes == 0 {
		opts.MaxDirBytes = DefaultGuardMaxDirBytes
	}
	if opts.MaxGoroutineDump == 0 {
		opts.MaxGoroutineDump = DefaultGuardMaxGoroutineDump
	}
	if opts.PollInterval < 0 || opts.MinInterval < 0 || opts.MaxDirBytes < 0 || opts.MaxGoroutineDump < 0 {
		return nil, errors.New("heapdriftprobe: Guard: negative PollInterval, MinInterval, MaxDirBytes or MaxGoroutineDump")
	}
	if opts.OnError == nil {
		opts.OnError = func(err error) { log.Print(err) }
	}
	return &guard{
		opts:      opts,
		collector: c,
		samples:   newMetricSamples(),
		// /proc/self/status is about 1.5 KiB; VmRSS is in its first half.
		statusBuf: make([]byte, 8<<10),
		status:    keptFile{name: "proc/self/status"},
	}, nil
}

func (g *guard) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	defer g.closeFiles()
	ticker := time.NewTicker(g.opts.PollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-ticker.C:
			g.poll(now)
		}
	}
}

// reading is one poll's measurements against the effective limit.
type reading struct {
	limit       uint64
	limitSource string
	threshold   uint64
	measure     string // what crossed the threshold; "" if nothing did
	measured    uint64
}

func (g *guard) poll(now time.Time) {
	r := g.read()
	if r.measure == "" {
		return
	}
	if !g.last.IsZero() && now.Sub(g.last) < g.opts.MinInterval {
		return
	}
	g.last = now
	c, err := g.capture(now, r)
	if err != nil {
		g.opts.OnError(err)
		return
	}
	if err := g.trimDir(); err != nil {
		g.opts.OnError(err)
	}
	if g.opts.OnCapture != nil {
		g.opts.OnCapture(c)
	}
}

func (g *guard) read() reading {
	var r reading
	setLimit := func(limit uint64, source string) {
		if limit > 0 && (r.limit == 0 || limit < r.limit) {
			r.limit, r.limitSource = limit, source
		}
	}
	setLimit(g.opts.LimitBytes, "fixed")
	if limit := debug.SetMemoryLimit(-1); limit > 0 && limit != math.MaxInt64 {
		setLimit(uint64(limit), "gomemlimit")
	}
	if cg := g.collector.cgroup(); cg != nil {
		if limit, _, ok := cg.limit(g.readCgroupLimit); ok {
			setLimit(limit, "cgroup")
		}
	}
	if r.limit == 0 {
		return r
	}
	r.threshold = uint64(float64(r.limit) * g.opts.Fraction)
	if rss, ok := g.readRSS(); ok && rss >= r.threshold {
		r.measure, r.measured = "rss", rss
		return r
	}
	metrics.Read(g.samples)
	mapped, released := g.samples[mMapped].Value, g.samples[mReleased].Value
	if mapped.Kind() == metrics.KindUint64 && released.Kind() == metrics.KindUint64 {
		if goMemory := mapped.Uint64() - released.Uint64(); goMemory >= r.threshold {
			r.measure, r.measured = "go_memory", goMemory
		}
	}
	return r
}

// readRSS reads VmRSS into a buffer kept across polls.
func (g *guard) readRSS() (uint64, bool) {
	// A leading newline lets vmRSSBytes match a first line too.
	g.statusBuf[0] = '\n'
	n, err := g.status.readAt0(g.collector.fsys, g.statusBuf[1:])
	if err != nil {
		return 0, false
	}
	return vmRSSBytes(g.statusBuf[:1+n])
}

func (g *guard) readCgroupLimit(name string) (uint64, error) {
	if g.cgroupLimits == nil {
		g.cgroupLimits = map[string]*keptFile{}
	}
	k := g.cgroupLimits[name]
	if k == nil {
		k = &keptFile{name: name}
		g.cgroupLimits[name] = k
	}
	var buf [32]byte
	n, err := k.readAt0(g.collector.fsys, buf[:])
	if err != nil {
		return 0, err
	}
	return parseCgroupNumber(buf[:n])
}

func (g *guard) closeFiles() {
	g.status.close()
	for _, k := range g.cgroupLimits {
		k.close()
	}
}

// Capture file names: a kind, a UTC time stamp heapdrift reads as the
// snapshot's time (fixed width, so names sort by time), an extension.
const captureStampLayout = "20060102T150405.000000000Z"

var captureName = regexp.MustCompile(`^(heap|goroutine|heapdrift)-(\d{8}T\d{6}\.\d{9}Z)\.(pb\.gz|txt|json)$`)

// tempPrefix marks files being written; a capture appears in Dir only by
// renames, so a reader never sees half a file.
const tempPrefix = ".heapdrift-tmp-"

func (g *guard) capture(now time.Time, r reading) (Capture, error) {
	stamp := now.UTC().Format(captureStampLayout)
	c := Capture{
		Reason:         "near_limit",
		LimitBytes:     r.limit,
		LimitSource:    r.limitSource,
		Fraction:       g.opts.Fraction,
		ThresholdBytes: r.threshold,
		Measure:        r.measure,
		MeasuredBytes:  r.measured,
		HeapProfile:    "heap-" + stamp + ".pb.gz",
		Snapshot:       "heapdrift-" + stamp + ".json",
	}
	if err := g.writeFile(c.HeapProfile, func(w io.Writer) error {
		return pprof.Lookup("heap").WriteTo(w, 0)
	}); err != nil {
		return c, err
	}
	goroutines := pprof.Lookup("goroutine")
	if goroutines.Count() <= g.opts.MaxGoroutineDump {
		c.GoroutineDump = "goroutine-" + stamp + ".txt"
		err := g.writeFile(c.GoroutineDump, func(w io.Writer) error { return goroutines.WriteTo(w, 2) })
		if err != nil {
			return c, err
		}
	} else {
		c.GoroutineDump = "goroutine-" + stamp + ".pb.gz"
		err := g.writeFile(c.GoroutineDump, func(w io.Writer) error { return goroutines.WriteTo(w, 0) })
		if err != nil {
			return c, err
		}
	}
	// The snapshot goes last: its presence says the capture is complete.
	// Near the limit the breakdown of RSS is worth smaps_rollup's cost.
	s := g.collector.snapshot(SnapshotOptions{SmapsRollup: true})
	s.Capture = &c
	return c, g.writeFile(c.Snapshot, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	})
}

// writeFile writes name in Dir through a temporary file and a rename.
func (g *guard) writeFile(name string, write func(io.Writer) error) (err error) {
	tmp := filepath.Join(g.opts.Dir, tempPrefix+name)
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("heapdriftprobe: Guard: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("heapdriftprobe: Guard: writing %s: %w", filepath.Join(g.opts.Dir, name), err)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(g.opts.Dir, name))
}

// removeTempFiles deletes what a process killed during a capture left.
func (g *guard) removeTempFiles() {
	entries, err := os.ReadDir(g.opts.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			os.Remove(filepath.Join(g.opts.Dir, e.Name()))
		}
	}
}

// trimDir deletes the oldest captures, all files of a time stamp together,
// until the captures in Dir fit MaxDirBytes; the newest stays regardless.
func (g *guard) trimDir() error {
	entries, err := os.ReadDir(g.opts.Dir)
	if err != nil {
		return fmt.Errorf("heapdriftprobe: Guard: %w", err)
	}
	type capture struct {
		stamp string
		files []string
		bytes int64
	}
	byStamp := map[string]*capture{}
	var total int64
	for _, e := range entries {
		m := captureName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		c := byStamp[m[2]]
		if c == nil {
			c = &capture{stamp: m[2]}
			byStamp[m[2]] = c
		}
		c.files = append(c.files, e.Name())
		c.bytes += info.Size()
		total += info.Size()
	}
	captures := make([]*capture, 0, len(byStamp))
	for _, c := range byStamp {
		captures = append(captures, c)
	}
	sort.Slice(captures, func(i, j int) bool { return captures[i].stamp < captures[j].stamp })
	var errs []error
	for i := 0; total > g.opts.MaxDirBytes && i < len(captures)-1; i++ {
		for _, name := range captures[i].files {
			if err := os.Remove(filepath.Join(g.opts.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		total -= captures[i].bytes
	}
	if len(errs) > 0 {
		return fmt.Errorf("heapdriftprobe: Guard: trimming %s: %w", g.opts.Dir, errors.Join(errs...))
	}
	return nil
}
