package main

import (
	"sync"
	"time"

	"fixturegen/internal/store"
)

// contend makes goroutines fight over the cache's mutex and over channels,
// feeding the block and mutex profiles.
func contend(recs *store.Cache[int, []byte], workers, iters int) {
	var wg sync.WaitGroup
	results := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < iters; i++ {
				recs.Put(w*1000+i, make([]byte, 16))
				if _, ok := recs.Get(w*1000 + i/2); ok {
					holdLock(recs, time.Microsecond*50)
				}
			}
			results <- w
		}(w)
	}
	go func() { wg.Wait(); close(results) }()
	for range results {
		time.Sleep(time.Millisecond)
	}
}

var slowMu sync.Mutex

func holdLock(recs *store.Cache[int, []byte], d time.Duration) {
	slowMu.Lock()
	time.Sleep(d)
	_ = recs.Len()
	slowMu.Unlock()
}
