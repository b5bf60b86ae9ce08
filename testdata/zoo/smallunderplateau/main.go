// Command smallunderplateau is a thumbnail server with a 50 MiB LRU cache
// that fills during the first ~20 s and then plateaus. Hidden under it is a
// small steady leak: a latency-histogram snapshot (16 KiB) taken every 2 s
// is appended to a history that is never trimmed (~480 KiB per minute).
//
// At Go's default MemProfileRate (512 KiB) the leak yields about one heap
// sample per minute; run with -memprofilerate 4096 to see it within 90 s.
package main

import (
	"container/list"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

const (
	thumbSize  = 64 << 10
	cacheBytes = 50 << 20
	buckets    = 2048 // histogram buckets: 16 KiB of float64
)

type entry struct {
	key  string
	data []byte
}

// LRU is a byte-bounded least-recently-used cache.
type LRU struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // front = most recent
	items map[string]*list.Element
}

func NewLRU(max int) *LRU {
	return &LRU{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *LRU) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*entry).data, true
	}
	return nil, false
}

func (c *LRU) Add(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items[key] = c.order.PushFront(&entry{key, data})
	c.size += len(data)
	for c.size > c.max {
		old := c.order.Remove(c.order.Back()).(*entry)
		delete(c.items, old.key)
		c.size -= len(old.data)
	}
}

// render produces a (fake) thumbnail for key.
func render(key string) []byte {
	data := make([]byte, thumbSize) // PLATEAU: cache (warms up in ~20 s, then stays at 50 MiB)
	seed := uint32(len(key))
	for i := 0; i < len(data); i += 64 {
		seed = seed*1664525 + 1013904223
		data[i] = byte(seed >> 24)
	}
	return data
}

type server struct {
	cache *LRU
	mu    sync.Mutex
	lat   []float64   // current latency histogram
	hist  [][]float64 // every snapshot ever taken: the leak
	hits  int
	miss  int
}

func (s *server) handleThumb(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	key := r.PathValue("id")
	data, ok := s.cache.Get(key)
	if !ok {
		data = render(key)
		s.cache.Add(key, data)
	}
	s.mu.Lock()
	if ok {
		s.hits++
	} else {
		s.miss++
	}
	b := int(time.Since(start).Microseconds())
	s.lat[min(b, buckets-1)]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "image/x-fake")
	w.Write(data[:1024])
}

// snapshot copies the latency histogram for the history endpoint.
func (s *server) snapshot() {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := make([]float64, buckets) // LEAK: smallunderplateau
	copy(snap, s.lat)
	s.hist = append(s.hist, snap)
}

func (s *server) handleStats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"hits": s.hits, "misses": s.miss, "snapshots": len(s.hist)})
}

func main() {
	cfg := svc.Setup("smallunderplateau")
	s := &server{cache: NewLRU(cacheBytes), lat: make([]float64, buckets)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /thumb/{id}", s.handleThumb)
	mux.HandleFunc("GET /stats", s.handleStats)
	base := cfg.Serve(mux)

	go cfg.Every(2*time.Second, s.snapshot)

	client := svc.Client()
	fetch := func(id int) {
		resp, err := client.Get(fmt.Sprintf("%s/thumb/%d", base, id))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Warm-up: fill the cache (800 entries) in about 20 s.
	const capacity = cacheBytes / thumbSize
	warm := 0
	cfg.Every(25*time.Millisecond, func() {
		if warm < capacity {
			fetch(warm)
			warm++
			return
		}
		// Steady state (1 in 10 ticks = 4 req/s): mostly hits, with a key
		// space slightly larger than the cache so a few misses evict.
		if rand.IntN(10) == 0 {
			fetch(rand.IntN(capacity + capacity/20))
		}
	})
}

// Recording mode B (Go's default MemProfileRate) runs the service ten times
// faster: at rate 1 the leak is one heap sample a minute, and with its 50
// MiB live heap the service collects only every ~10 s, so a few minutes
// hold a few samples. At -rate 10 three minutes hold half an hour of
// service: ~9 samples a minute, a collection every few seconds.
// zoo:flags B: -rate 10
