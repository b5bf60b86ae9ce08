// binprog burns CPU in a few functions for about a second and writes a CPU
// profile to the file named by its argument: the binary and profile pair
// of heapdrift's tests/binaries.rs.
package main

import (
	"os"
	"runtime/pprof"
	"time"
)

var sink uint64

// mix is small enough to be inlined into its callers.
func mix(x uint64) uint64 {
	return x*0x9e3779b97f4a7c15 ^ x>>29
}

//go:noinline
func hashLoop(n int) uint64 {
	var h uint64
	for i := 0; i < n; i++ {
		h = mix(h + uint64(i))
	}
	return h
}

//go:noinline
func divLoop(n int) uint64 {
	var h uint64 = 1
	for i := 1; i < n; i++ {
		h += uint64(n) / uint64(i)
	}
	return h
}

//go:noinline
func work(deadline time.Time) {
	for time.Now().Before(deadline) {
		sink += hashLoop(200000)
		sink += divLoop(100000)
	}
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	work(time.Now().Add(time.Second))
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		panic(err)
	}
}
