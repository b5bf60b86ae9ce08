// Command gen writes Go 1.27's legacy text profiles (debug=1) and a
// goroutine debug=2 dump into the directory given as its only argument.
// Standard library only; run by ../gen.sh.
package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var sink [][]byte

//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 64))
	}
}

//go:noinline
func allocBig(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 64<<10))
	}
}

//go:noinline
func allocTemp(n int) int {
	t := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 4096)
		t += len(b)
	}
	return t
}

func inlinedHelper(n int) { allocSmall(n) }

var mu sync.Mutex

func contend() {
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				mu.Lock()
				time.Sleep(10 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

//go:noinline
func blockOnChan(ch chan int) { <-ch }

//go:noinline
func sendOnChan(ch chan int) { ch <- 1 }

//go:noinline
func selectWait(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
}

//go:noinline
func lockWait(m *sync.Mutex) { m.Lock() }

func write(dir, name string, f func(*os.File) error) {
	out, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		panic(err)
	}
	if err := f(out); err != nil {
		panic(err)
	}
	out.Close()
}

func main() {
	dir := os.Args[1]
	runtime.MemProfileRate = 8192
	runtime.SetBlockProfileRate(1)
	runtime.SetMutexProfileFraction(1)

	allocSmall(2000)
	allocBig(20)
	inlinedHelper(500)
	_ = allocTemp(3000)
	contend()

	// Goroutines parked in various states, some with labels.
	never := make(chan int)
	full := make(chan int)
	var held sync.Mutex
	held.Lock()
	for i := 0; i < 3; i++ {
		go blockOnChan(never)
	}
	go sendOnChan(full)
	go selectWait(never, never)
	go lockWait(&held)
	go func() { time.Sleep(time.Hour) }()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		go pprof.Do(ctx, pprof.Labels("worker", "w1", "phase", "drain \"x\""), func(context.Context) {
			blockOnChan(never)
		})
	}
	go func() {
		runtime.LockOSThread()
		blockOnChan(never)
	}()
	// Nested creation so that "created by ... in goroutine N" names a
	// goroutine other than 1.
	go func() {
		go blockOnChan(never)
		blockOnChan(never)
	}()
	time.Sleep(200 * time.Millisecond)
	runtime.GC()

	write(dir, "heap.txt", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 1) })
	write(dir, "goroutine.txt", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 1) })
	write(dir, "threadcreate.txt", func(f *os.File) error { return pprof.Lookup("threadcreate").WriteTo(f, 1) })
	write(dir, "block.txt", func(f *os.File) error { return pprof.Lookup("block").WriteTo(f, 1) })
	write(dir, "mutex.txt", func(f *os.File) error { return pprof.Lookup("mutex").WriteTo(f, 1) })
	write(dir, "goroutine_debug2.txt", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 2) })
	if p := pprof.Lookup("goroutineleak"); p != nil {
		write(dir, "goroutineleak.txt", func(f *os.File) error { return p.WriteTo(f, 1) })
		write(dir, "goroutineleak_debug2.txt", func(f *os.File) error { return p.WriteTo(f, 2) })
	}
}
