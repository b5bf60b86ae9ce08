//go:build linux

package heapdriftprobe

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGuardCPUPerMinute runs a real Guard for a while (15 s, or
// HEAPDRIFT_GUARD_BENCH_SECONDS) and reports the process's CPU time per
// minute (getrusage: user+sys) with the guard running, and for as long
// before it with the process idle, so that the guard's share is the
// difference. Run it with -benchtime 1x.
func BenchmarkGuardCPUPerMinute(b *testing.B) {
	seconds := 15
	if s := os.Getenv("HEAPDRIFT_GUARD_BENCH_SECONDS"); s != "" {
		var err error
		if seconds, err = strconv.Atoi(s); err != nil || seconds <= 0 {
			b.Fatalf("HEAPDRIFT_GUARD_BENCH_SECONDS=%q is not a positive number of seconds", s)
		}
	}
	period := time.Duration(seconds) * time.Second
	for _, poll := range []time.Duration{time.Second, 100 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				idle := cpuDuring(b, period, func() {})
				guarded := cpuDuring(b, period, func() {
					stop, err := Guard(GuardOptions{Dir: b.TempDir(), LimitBytes: 1 << 50, PollInterval: poll})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(stop)
				})
				perMinute := func(d time.Duration) float64 { return d.Seconds() * 1e3 * float64(time.Minute) / float64(period) }
				b.ReportMetric(perMinute(guarded), "cpu-ms/min")
				b.ReportMetric(perMinute(idle), "idle-cpu-ms/min")
				b.ReportMetric(perMinute(guarded-idle), "guard-cpu-ms/min")
			}
		})
	}
}

// cpuDuring is the process's user+sys time over period, after start.
func cpuDuring(b *testing.B, period time.Duration, start func()) time.Duration {
	before := processCPU(b)
	start()
	time.Sleep(period)
	return processCPU(b) - before
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
