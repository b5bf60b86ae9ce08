// Command fixturegen writes the real Go profiles heapdrift's tests use:
// heap snapshots, allocs, CPU, goroutine, goroutineleak, block, mutex and
// threadcreate, as profile.proto and as the runtime's debug=1/2 texts.
//
// Usage: fixturegen -out DIR
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"fixturegen/internal/store"
)

// MemProfileRate is set during package initialisation, before main runs, so
// that every allocation is sampled: exact, nearly reproducible heap profiles.
// FIXTUREGEN_SAMPLED=1 keeps Go's default rate (512 KiB) instead, for the
// heap_sampled fixtures whose values pprof must unsample.
var _ = func() int {
	if os.Getenv("FIXTUREGEN_SAMPLED") == "" {
		runtime.MemProfileRate = 1
	}
	return 0
}()

var outDir = flag.String("out", ".", "directory for the profiles")

func main() {
	flag.Parse()
	if os.Getenv("FIXTUREGEN_SAMPLED") != "" {
		sampled()
		return
	}
	runtime.SetBlockProfileRate(1)
	runtime.SetMutexProfileFraction(1)

	c := NewCache()
	recs := store.New[int, []byte](3000)
	for phase := 1; phase <= 3; phase++ {
		run(phase, c, recs, 1200)
		runtime.GC()
		if phase == 1 {
			// First, so that the allocations of writing profiles do not
			// bloat it.
			write("heap.txt", "heap", 1)
		}
		write("heap_"+itoa(phase)+".pb.gz", "heap", 0)
	}
	write("allocs.pb.gz", "allocs", 0)

	profileCPU(filepath.Join(*outDir, "cpu.pb.gz"), 1500*time.Millisecond)

	contend(recs, 8, 150)

	var mu sync.Mutex
	mu.Lock()
	release := make(chan struct{})
	var ready sync.WaitGroup
	parkWorkers(release, &mu, &ready)
	leakWorkers(3)
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // let every worker park
	write("goroutine.pb.gz", "goroutine", 0)
	write("goroutine.txt", "goroutine", 1)
	write("goroutine_dump.txt", "goroutine", 2)
	write("goroutineleak.pb.gz", "goroutineleak", 0)
	write("goroutineleak.txt", "goroutineleak", 1)
	write("threadcreate.pb.gz", "threadcreate", 0)
	write("threadcreate.txt", "threadcreate", 1)
	close(release)
	mu.Unlock()

	write("block.pb.gz", "block", 0)
	write("block.txt", "block", 1)
	write("mutex.pb.gz", "mutex", 0)
	write("mutex.txt", "mutex", 1)
	runtime.KeepAlive(c)
}

// profileCPU profiles two labelled CPU-bound phases for about d.
func profileCPU(path string, d time.Duration) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	wg.Add(2)
	go pprof.Do(context.Background(), pprof.Labels("phase", "crunch"), func(context.Context) {
		defer wg.Done()
		for time.Now().Before(deadline) {
			crunch(4)
		}
	})
	go pprof.Do(context.Background(), pprof.Labels("phase", "hash", "shard", "7"), func(context.Context) {
		defer wg.Done()
		for time.Now().Before(deadline) {
			hashLoop(2000)
		}
	})
	wg.Wait()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// write saves profile name with the given debug level. Proto output is
// already gzipped by the runtime; texts are written as is.
func write(file, name string, debug int) {
	f, err := os.Create(filepath.Join(*outDir, file))
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// sampled writes heap profiles at the default MemProfileRate, with a larger
// workload so that a few dozen allocations are sampled.
func sampled() {
	c := NewCache()
	recs := store.New[int, []byte](30000)
	for phase := 1; phase <= 3; phase++ {
		run(phase, c, recs, 8000)
	}
	runtime.GC()
	write("heap_sampled.txt", "heap", 1)
	write("heap_sampled.pb.gz", "heap", 0)
	runtime.KeepAlive(c)
}
