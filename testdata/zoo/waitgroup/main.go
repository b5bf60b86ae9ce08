// Command waitgroup is a search front end that fans each query out to a set
// of shards and merges their answers in a background goroutine. A shard that
// errors returns without calling wg.Done, so the merger waits in wg.Wait
// forever. The WaitGroup is reachable only from the leaked goroutine itself.
//
// Workload: 3 queries per second (at -rate 1); about half hit a failing shard,
// leaking ~1.5 goroutines per second.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"zoo/internal/svc"
)

// Hit is one search result.
type Hit struct {
	Doc   string  `json:"doc"`
	Score float64 `json:"score"`
}

type shard struct{ id int }

// Search queries one shard; roughly 1 in 6 calls fails.
func (s shard) Search(q string) ([]Hit, error) {
	time.Sleep(time.Duration(1+rand.IntN(5)) * time.Millisecond)
	if rand.IntN(6) == 0 {
		return nil, errors.New("shard unavailable")
	}
	return []Hit{{Doc: fmt.Sprintf("shard%d/%s-%d", s.id, q, rand.IntN(100)), Score: rand.Float64()}}, nil
}

type searcher struct {
	shards []shard
	mu     sync.Mutex
	recent [][]Hit // last merged results, for the /recent page
}

// search fans q out and merges the answers asynchronously (the caller gets
// an id to poll; here the handler just reports that the query was accepted).
func (s *searcher) search(q string) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		hits []Hit
	)
	wg.Add(len(s.shards))
	for _, sh := range s.shards {
		go func() {
			res, err := sh.Search(q)
			if err != nil {
				return // bug: no wg.Done on the error path
			}
			mu.Lock()
			hits = append(hits, res...)
			mu.Unlock()
			wg.Done()
		}()
	}
	go func() {
		wg.Wait() // LEAK: waitgroup
		sort.Slice(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
		s.mu.Lock()
		s.recent = append(s.recent[max(0, len(s.recent)-9):], hits)
		s.mu.Unlock()
	}()
}

func (s *searcher) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		http.Error(w, "empty query", http.StatusBadRequest)
		return
	}
	s.search(q)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"query": q, "status": "accepted"})
}

func main() {
	cfg := svc.Setup("waitgroup")
	s := &searcher{shards: []shard{{0}, {1}, {2}, {3}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /search", s.handleSearch)
	base := cfg.Serve(mux)

	client := svc.Client()
	words := []string{"gopher", "channel", "heap", "profile", "leak", "mutex"}
	cfg.Every(time.Second/3, func() {
		resp, err := client.Get(base + "/search?q=" + words[rand.IntN(len(words))])
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
