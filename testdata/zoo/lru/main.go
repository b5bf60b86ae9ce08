// Command lru is a control: a user-profile service with a size-bounded LRU
// cache in front of a slow "database". The cache fills during warm-up
// (~15 s) and then stays at its bound while misses evict old entries.
// Expected verdict: plateau (never leak).
//
// Workload: 20 lookups per second (at -rate 1) over 3000 user ids; the cache
// holds 1500 profiles of ~8 KiB (~12 MiB).
package main

import (
	"container/list"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"zoo/internal/svc"
)

// Profile is a user record as the database returns it.
type Profile struct {
	ID       int       `json:"id"`
	Name     string    `json:"name"`
	Bio      string    `json:"bio"`
	Avatar   []byte    `json:"-"`
	LoadedAt time.Time `json:"loaded_at"`
}

type cacheEntry struct {
	id int
	p  *Profile
}

// Cache is an LRU bounded by entry count.
type Cache struct {
	mu    sync.Mutex
	cap   int
	ll    *list.List
	index map[int]*list.Element
	hits  int
	miss  int
}

func NewCache(capacity int) *Cache {
	return &Cache{cap: capacity, ll: list.New(), index: make(map[int]*list.Element, capacity)}
}

func (c *Cache) Get(id int, load func(int) *Profile) *Profile {
	c.mu.Lock()
	if el, ok := c.index[id]; ok {
		c.ll.MoveToFront(el)
		c.hits++
		c.mu.Unlock()
		return el.Value.(*cacheEntry).p
	}
	c.miss++
	c.mu.Unlock()
	p := load(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[id]; ok { // loaded concurrently
		return el.Value.(*cacheEntry).p
	}
	c.index[id] = c.ll.PushFront(&cacheEntry{id, p})
	if c.ll.Len() > c.cap { // the bound: evict the least recently used
		old := c.ll.Remove(c.ll.Back()).(*cacheEntry)
		delete(c.index, old.id)
	}
	return p
}

// loadProfile simulates a database read.
func loadProfile(id int) *Profile {
	time.Sleep(2 * time.Millisecond)
	return &Profile{ID: id, Name: "user" + strconv.Itoa(id), Bio: fmt.Sprintf("member #%d", id), Avatar: make([]byte, 8<<10), LoadedAt: time.Now()} // CONTROL: lru (cached; plateaus at the cache bound)
}

func main() {
	cfg := svc.Setup("lru")
	cache := NewCache(1500)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		p := cache.Get(id, loadProfile)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		cache.mu.Lock()
		defer cache.mu.Unlock()
		fmt.Fprintf(w, "entries %d hits %d misses %d\n", cache.ll.Len(), cache.hits, cache.miss)
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	n := 0
	cfg.Every(50*time.Millisecond, func() {
		n++
		// Warm-up: the first 300 ticks (15 s) walk ids 0..1499 in order, 5
		// per tick, filling the cache; afterwards one id per tick, 80% from
		// a hot set of 1200 users, 20% from all 3000 (~90% hit rate, every
		// miss evicts).
		batch := 1
		if n <= 300 {
			batch = 5
		}
		for i := range batch {
			id := rand.IntN(3000)
			if rand.IntN(10) < 8 {
				id = rand.IntN(1200)
			}
			if n <= 300 {
				id = (n-1)*5 + i
			}
			resp, err := client.Get(base + "/users/" + strconv.Itoa(id))
			if err != nil {
				log.Print(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
