// Command drivergen writes the small real Go profiles that heapdrift's
// end-to-end tests compare against go tool pprof. Run by ../gen.sh.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var keep [][]byte
var sink int

type cache struct{ entries map[int][]byte }

//go:noinline
func (c *cache) put(k, n int) { c.entries[k] = make([]byte, n) }

func leakyCache(c *cache, n int) {
	for i := 0; i < n; i++ {
		c.put(i, 1024+i%7*512)
	}
}

// small is inlined into its callers.
func small(n int) []byte { return make([]byte, n) }

//go:noinline
func buildBuffers(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, small(4096))
	}
}

//go:noinline
func transient(n int) {
	for i := 0; i < n; i++ {
		b := make([]byte, 64<<10)
		sink += len(b)
	}
}

//go:noinline
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x += i * i
		}
	}
	sink += x
}

//go:noinline
func hash(d time.Duration) { spin(d) }

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
	runtime.MemProfileRate = 4096
	c := &cache{entries: map[int][]byte{}}
	leakyCache(c, 200)
	buildBuffers(100)
	transient(50)
	runtime.GC()
	write(dir, "heap_1.pb.gz", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
	for i := 200; i < 600; i++ {
		c.put(i, 2048)
	}
	buildBuffers(150)
	keep = keep[50:]
	runtime.GC()
	write(dir, "heap_2.pb.gz", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
	write(dir, "heap_2.txt", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 1) })

	// CPU with labels.
	write(dir, "cpu.pb.gz", func(f *os.File) error {
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for _, w := range []string{"a", "b"} {
			wg.Add(1)
			go pprof.Do(context.Background(), pprof.Labels("worker", w), func(context.Context) {
				defer wg.Done()
				if w == "a" {
					spin(900 * time.Millisecond)
				} else {
					hash(600 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		pprof.StopCPUProfile()
		return nil
	})

	// Goroutines with labels, parked on channels.
	block := make(chan struct{})
	for i := 0; i < 5; i++ {
		go pprof.Do(context.Background(), pprof.Labels("job", fmt.Sprint("j", i%2)), func(context.Context) { <-block })
	}
	time.Sleep(50 * time.Millisecond)
	write(dir, "goroutine.pb.gz", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 0) })
	close(block)
	fmt.Fprintln(os.Stderr, "wrote profiles to", dir, len(keep), len(c.entries))
}
