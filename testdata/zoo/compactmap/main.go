// Command compactmap is a control: an in-memory index that deletes softly
// (a tombstone flag) and compacts every 30 s, copying the live entries into
// a fresh map, the usual answer to Go maps that never shrink
// (golang/go#20135; open-telemetry/opentelemetry-collector-contrib#47337
// saw a processor's map grow under churn). Between compactions tombstoned
// entries pile up, so the index's memory climbs steadily for 30 s and then
// drops back: a sawtooth that is bounded, not a leak.
// Expected verdict: not leak.
//
// Workload: 25 entries of 8 KiB per second (at -rate 1), each deleted ~5 s
// later: ~1 MiB live, ~6 MiB just before a compaction.
package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

type entry struct {
	key     int
	doc     []byte
	deleted bool
	expires time.Time
}

// Index maps keys to documents; Delete only marks them.
type Index struct {
	mu         sync.Mutex
	m          map[int]*entry
	compacted  int
	tombstones int
}

func (ix *Index) Put(key int, ttl time.Duration) {
	e := &entry{key: key, expires: time.Now().Add(ttl)}
	e.doc = make([]byte, 8<<10) // CONTROL: compactmap (tombstones pile up between compactions)
	ix.mu.Lock()
	ix.m[key] = e
	ix.mu.Unlock()
}

// expire tombstones the entries whose time is up.
func (ix *Index) expire() {
	now := time.Now()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, e := range ix.m {
		if !e.deleted && now.After(e.expires) {
			e.deleted = true
			ix.tombstones++
		}
	}
}

// compact keeps only the live entries, in a new map.
func (ix *Index) compact() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	live := make(map[int]*entry, len(ix.m)-ix.tombstones)
	for k, e := range ix.m {
		if !e.deleted {
			live[k] = e
		}
	}
	ix.m = live
	ix.tombstones = 0
	ix.compacted++
}

func main() {
	cfg := svc.Setup("compactmap")
	ix := &Index{m: map[int]*entry{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		ix.mu.Lock()
		defer ix.mu.Unlock()
		fmt.Fprintf(w, "entries %d, tombstones %d, compactions %d\n", len(ix.m), ix.tombstones, ix.compacted)
	})
	cfg.Serve(mux)
	go cfg.Every(time.Second, ix.expire)
	go cfg.Every(30*time.Second, ix.compact)
	n := 0
	cfg.Every(40*time.Millisecond, func() {
		n++
		ix.Put(n, cfg.Interval(5*time.Second))
	})
}
