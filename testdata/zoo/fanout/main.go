// Command fanout is a search front end that queries 8 index shards in
// parallel and merges their hits until the request's context ends. Each
// shard goroutine sends its result on an unbuffered channel; when the client
// gives up first, the merger returns and the shards that answer later block
// on their send forever: the leak of weaviate/weaviate#12749 (a gRPC
// stream's receive goroutine stuck on an unbuffered send after the stream's
// context was cancelled), and of nci/gsky#227 (fanned-out gRPC calls
// stuck on their error channel after a timeout).
//
// Workload: 4 searches per second (at -rate 1) with an 80 ms client
// deadline; shard latency is long-tailed: ~2.5 goroutines leaked per second.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

const shards = 8

type shardResult struct {
	shard int
	hits  []string
}

// queryShard simulates one shard's search with a long-tailed latency.
func queryShard(shard int, q string) []string {
	d := time.Duration(5+rand.IntN(40)) * time.Millisecond
	if rand.IntN(12) == 0 {
		d = time.Duration(100+rand.IntN(200)) * time.Millisecond
	}
	time.Sleep(d)
	return []string{fmt.Sprintf("doc-%d-%s", shard, q)}
}

var partial atomic.Int64

func search(ctx context.Context, q string) []string {
	results := make(chan shardResult) // unbuffered: the bug
	for i := range shards {
		go func(shard int) {
			hits := queryShard(shard, q)
			results <- shardResult{shard, hits} // LEAK: fanout
		}(i)
	}
	var hits []string
	for range shards {
		select {
		case r := <-results:
			hits = append(hits, r.hits...)
		case <-ctx.Done():
			partial.Add(1)
			return hits // the remaining shards can never send
		}
	}
	return hits
}

func main() {
	cfg := svc.Setup("fanout")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		hits := search(r.Context(), r.URL.Query().Get("q"))
		json.NewEncoder(w).Encode(hits)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "partial results %d\n", partial.Load())
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	n := 0
	cfg.Every(250*time.Millisecond, func() {
		n++
		go func(n int) {
			ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/search?q=term%d", base, n%100), nil)
			resp, err := client.Do(req)
			if err != nil {
				return // deadline: the caller shows what it has
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}(n)
	})
}
