// A small service-like program with known leaks, for drift's tests: it
// writes a heap profile (proto) and a goroutine dump (debug=2) per
// snapshot, and a goroutineleak profile at the end when the runtime has one.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

var registry = map[int][]byte{} // never evicted: the heap leak
var cache = map[int][]byte{}    // bounded: a warm-up plateau
var sink []byte

// A global keeps the idle pool's channel reachable: the runtime's leak
// detector would otherwise (rightly) report the workers as leaked.
var jobs = make(chan int)

func leak(i int) {
	registry[i] = make([]byte, 64<<10) // LEAK_LINE
}

func warm(i int) {
	if len(cache) < 60 {
		cache[i] = make([]byte, 64<<10) // WARM_LINE
	}
}

func churn() {
	var b bytes.Buffer
	for j := 0; j < 2000; j++ {
		b.WriteString("churn churn churn churn churn churn ")
	}
	sink = b.Bytes()
}

// The receiver gives up immediately: each call leaks one goroutine.
func blockedSender() {
	ch := make(chan int)
	go func() {
		ch <- 1 // SEND_LINE
	}()
}

func worker(jobs chan int) {
	for range jobs { // WORKER_LINE
	}
}

func write(dir, name string, f func(*os.File) error) {
	tmp := filepath.Join(dir, name+".tmp")
	out, err := os.Create(tmp)
	if err != nil {
		panic(err)
	}
	if err := f(out); err != nil {
		panic(err)
	}
	out.Close()
	os.Rename(tmp, filepath.Join(dir, name))
}

func main() {
	runtime.MemProfileRate = 4096
	dir := os.Args[1]
	for i := 0; i < 8; i++ {
		go worker(jobs)
	}
	for snap := 0; snap < 12; snap++ {
		for k := 0; k < 20; k++ {
			i := snap*20 + k
			leak(i)
			warm(i)
			churn()
		}
		for k := 0; k < 5; k++ {
			blockedSender()
		}
		time.Sleep(5 * time.Millisecond)
		runtime.GC()
		write(dir, fmt.Sprintf("heap-%02d.pb.gz", snap), func(f *os.File) error {
			return pprof.Lookup("heap").WriteTo(f, 0)
		})
		write(dir, fmt.Sprintf("goroutine-%02d.txt", snap), func(f *os.File) error {
			return pprof.Lookup("goroutine").WriteTo(f, 2)
		})
		// 12 snapshots over more than a second: drift states no rate over
		// less (docs/drift-model.md, "no rate over no time").
		time.Sleep(150 * time.Millisecond)
	}
	if p := pprof.Lookup("goroutineleak"); p != nil {
		write(dir, "goroutineleak.pb.gz", func(f *os.File) error { return p.WriteTo(f, 0) })
	}
}
