// Command slowcycle is a control: a chat service whose open sessions follow
// the day, compressed to an 80-second cycle (at -rate 1): 600 sessions
// ±40%, starting at the trough, so a 3-minute window sees the load rise
// and fall twice and ends on a third rise. The working set follows the
// load and is bounded by it; a leak detector that fits a line to the last
// rise (or a dashboard over the last hour of a morning) sees growth.
// Expected verdict: not leak.
//
// Workload: sessions of 16 KiB (9.4 ± 3.75 MiB), each new session lasting
// 10-20 s; the number opened tracks the cycle.
package main

import (
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

type session struct {
	id      int
	history []byte
	ends    time.Time
}

func main() {
	cfg := svc.Setup("slowcycle")
	var mu sync.Mutex
	sessions := map[int]*session{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		var id int
		fmt.Sscan(r.PathValue("id"), &id)
		mu.Lock()
		s, ok := sessions[id]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "session %d: %d bytes of history\n", s.id, len(s.history))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "sessions %d\n", len(sessions))
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	go cfg.Every(200*time.Millisecond, func() {
		resp, err := client.Get(fmt.Sprintf("%s/sessions/%d", base, rand.IntN(1000)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})

	start := time.Now()
	period := cfg.Interval(80 * time.Second)
	next := 0
	cfg.Every(50*time.Millisecond, func() {
		now := time.Now()
		phase := 2 * math.Pi * float64(now.Sub(start)) / float64(period)
		target := int(600 * (1 - 0.4*math.Cos(phase)))
		mu.Lock()
		defer mu.Unlock()
		for id, s := range sessions {
			if now.After(s.ends) {
				delete(sessions, id)
			}
		}
		for len(sessions) < target {
			next++
			s := &session{id: next, ends: now.Add(cfg.Interval(time.Duration(10+rand.IntN(11)) * time.Second))}
			s.history = make([]byte, 16<<10) // CONTROL: slowcycle (the working set follows a slow load cycle)
			sessions[next] = s
		}
	})
}
