package main

import (
	"context"
	"runtime/pprof"
	"sync"
	"time"
)

// parkWorkers starts labelled goroutines that block in different ways until
// release is closed; ready is done once each has (almost) reached its park.
func parkWorkers(release chan struct{}, mu *sync.Mutex, ready *sync.WaitGroup) {
	start := func(labels pprof.LabelSet, body func()) {
		ready.Add(1)
		go pprof.Do(context.Background(), labels, func(context.Context) {
			ready.Done()
			body()
		})
	}
	for i := 0; i < 4; i++ {
		start(pprof.Labels("worker", "reader", "shard", string(rune('a'+i))), func() { <-release })
	}
	for i := 0; i < 2; i++ {
		start(pprof.Labels("worker", "writer"), func() {
			mu.Lock()
			mu.Unlock()
		})
	}
	start(pprof.Labels("worker", "ticker"), func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		select {
		case <-t.C:
		case <-release:
		}
	})
	var inner sync.WaitGroup
	inner.Add(1)
	start(pprof.Labels("worker", "waiter"), func() { inner.Wait() })
	go func() { <-release; inner.Done() }()
}

// leakWorkers leaks goroutines blocked on channels nobody else can reach, so
// the goroutineleak profile's GC finds them.
func leakWorkers(n int) {
	for range n {
		pprof.Do(context.Background(), pprof.Labels("leak", "sender"), func(context.Context) {
			results := make(chan []byte)
			go func() { results <- make([]byte, 64) }()
		})
	}
	pprof.Do(context.Background(), pprof.Labels("leak", "receiver"), func(context.Context) {
		done := make(chan struct{})
		go func() { <-done }()
	})
}
