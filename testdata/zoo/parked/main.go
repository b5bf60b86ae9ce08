// Command parked is a control: a replicated store whose 16 shards each run a
// replication loop, which on a follower parks forever in `select {}` (it
// would be restarted on a leadership change, which never comes in this
// single node). Parking a goroutine on purpose is common (`select {}` at the
// end of main, a disabled plugin's Serve), and Go's goroutineleak profile
// reports every such goroutine as leaked: golang/go#78922 proposed to stop
// reporting the main goroutine parked in `select {}`, after feedback on
// golang/go#74609. Their number is constant.
// Expected verdict: not a growing leak.
//
// Workload: 10 reads per second (at -rate 1) on the shards' data.
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

type shard struct {
	id     int
	leader bool
	mu     sync.Mutex
	data   map[string]string
}

// replicate streams the shard's log to its followers; only the leader has
// any.
func (s *shard) replicate() {
	if !s.leader {
		select {} // CONTROL: parked (16 goroutines parked on purpose, listed by goroutineleak)
	}
}

func main() {
	cfg := svc.Setup("parked")
	var shards []*shard
	for i := range 16 {
		s := &shard{id: i, data: map[string]string{}}
		for k := range 100 {
			s.data[fmt.Sprintf("key-%d", k)] = fmt.Sprintf("value-%d-%d", i, k)
		}
		shards = append(shards, s)
		go s.replicate()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /shards/{n}/{key}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		s := shards[n%len(shards)]
		s.mu.Lock()
		v, ok := s.data[r.PathValue("key")]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, v)
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	cfg.Every(100*time.Millisecond, func() {
		resp, err := client.Get(fmt.Sprintf("%s/shards/%d/key-%d", base, rand.IntN(16), rand.IntN(100)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
