// Command guardleak leaks into a global map until its memory nears a small
// fixed limit, with heapdriftprobe.Guard capturing on the way: the captures
// directory it leaves is a series that `heapdrift hunt` reads like any
// other (scripts/gen-probe-fixtures.sh writes testdata/probe/guard-captures).
//
// Every allocation is sampled (MemProfileRate 1) so that the committed
// heap profiles are the same from run to run up to the leak's size.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"heapdrift.dev/heapdriftprobe"
)

var sessions = map[int][]byte{}

// remember keeps every session's token: nothing ever deletes them.
func remember(id int) {
	sessions[id] = make([]byte, 64<<10) // LEAK: sessions are never deleted
}

// scratch is the bounded control: a buffer reused for every request.
var scratch = make([]byte, 1<<20)

func serve(id int) {
	for i := range scratch {
		scratch[i] = byte(id)
	}
	remember(id)
}

func main() {
	runtime.MemProfileRate = 1
	// A heap profile changes only when a GC cycle ends: with collections
	// every 10% of growth, each capture holds a newer heap than the last.
	debug.SetGCPercent(10)
	dir := flag.String("dir", "", "where Guard writes its captures")
	captures := flag.Int("captures", 10, "stop after this many captures")
	flag.Parse()
	if *dir == "" {
		log.Fatal("guardleak: -dir is required")
	}
	done := make(chan struct{}, 64)
	stop, err := heapdriftprobe.Guard(heapdriftprobe.GuardOptions{
		Dir: *dir,
		// A fixed limit: the test machine's cgroup limit is unknown.
		LimitBytes:   256 << 20,
		Fraction:     0.1,
		PollInterval: 20 * time.Millisecond,
		MinInterval:  400 * time.Millisecond,
		OnCapture:    func(heapdriftprobe.Capture) { done <- struct{}{} },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	n := 0
	for id := 0; n < *captures; id++ {
		serve(id)
		select {
		case <-done:
			n++
		default:
		}
		// 64 KiB per 2 ms: 32 MiB/s, a capture per ~13 MiB.
		time.Sleep(2 * time.Millisecond)
		if id > 100_000 {
			fmt.Fprintln(os.Stderr, "guardleak: no capture came")
			os.Exit(1)
		}
	}
}
