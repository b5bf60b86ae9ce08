// Command ttlcache is a control: a DNS resolver's answer cache with a
// 5-minute TTL, looked up for names drawn evenly from 3000 hosts. Entries
// live a full TTL, so the cache fills for minutes: the number of distinct
// names looked up so far approaches 3000 as 1 - exp(-t/120 s), and after a
// TTL expired entries are replaced by fresh ones. Reports of this shape,
// memory rising for a whole TTL under steady traffic, read as leaks (for
// instance redpanda-data/connect#2404: a dedupe cache with an 800 s TTL).
// Expected verdict: not leak; at the end of a 3-minute window the cache is
// still filling, at about a fifth of its initial rate.
//
// Workload: 25 lookups per second (at -rate 1); each answer is ~3 KiB.
package main

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

const hosts = 3000

type entry struct {
	answer  []byte
	expires time.Time
}

// Cache is a TTL cache with a periodic sweep.
type Cache struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]*entry
	hits    int
	misses  int
}

// resolve simulates an upstream query.
func resolve(name string) []byte {
	answer := make([]byte, 3<<10) // CONTROL: ttlcache (a TTL cache still filling at the end of the window)
	copy(answer, name)
	return answer
}

func (c *Cache) Lookup(name string) []byte {
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.entries[name]; ok && now.Before(e.expires) {
		c.hits++
		c.mu.Unlock()
		return e.answer
	}
	c.misses++
	c.mu.Unlock()
	a := resolve(name)
	c.mu.Lock()
	c.entries[name] = &entry{answer: a, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return a
}

func (c *Cache) sweep() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if now.After(e.expires) {
			delete(c.entries, k)
		}
	}
}

func main() {
	cfg := svc.Setup("ttlcache")
	c := &Cache{ttl: cfg.Interval(5 * time.Minute), entries: map[string]*entry{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /resolve/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Write(c.Lookup(r.PathValue("name"))[:64])
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		fmt.Fprintf(w, "entries %d hits %d misses %d\n", len(c.entries), c.hits, c.misses)
	})
	base := cfg.Serve(mux)
	go cfg.Every(10*time.Second, c.sweep)

	client := svc.Client()
	cfg.Every(40*time.Millisecond, func() {
		resp, err := client.Get(fmt.Sprintf("%s/resolve/host-%04d.example.com", base, rand.IntN(hosts)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
