// Command chansend is a quote API that asks a slow pricing backend for each
// request and gives up after a deadline. The backend call runs in a goroutine
// that reports back on an unbuffered channel; when the handler has already
// timed out nobody receives, and the goroutine blocks on its send forever
// (the classic "timeout leak").
//
// Workload: 6 quote requests per second (at -rate 1); about 40% of them time
// out, leaking ~2.4 goroutines per second.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"time"

	"zoo/internal/svc"
)

// Quote is the pricing backend's answer.
type Quote struct {
	Symbol string    `json:"symbol"`
	Bid    float64   `json:"bid"`
	Ask    float64   `json:"ask"`
	At     time.Time `json:"at"`
}

// pricer simulates a remote pricing backend with a long-tailed latency.
type pricer struct{}

func (pricer) Fetch(symbol string) (Quote, error) {
	// 60% answer within 40 ms, the rest take 80-300 ms.
	d := time.Duration(5+rand.IntN(35)) * time.Millisecond
	if rand.IntN(10) >= 6 {
		d = time.Duration(80+rand.IntN(220)) * time.Millisecond
	}
	time.Sleep(d)
	mid := 100 + rand.Float64()*10
	return Quote{Symbol: symbol, Bid: mid - 0.01, Ask: mid + 0.01, At: time.Now()}, nil
}

type result struct {
	q   Quote
	err error
}

type server struct {
	backend pricer
	timeout time.Duration
}

func (s *server) handleQuote(w http.ResponseWriter, r *http.Request) {
	symbol := r.PathValue("symbol")
	ch := make(chan result) // unbuffered: the bug
	go func() {
		q, err := s.backend.Fetch(symbol)
		ch <- result{q, err} // LEAK: chansend
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			http.Error(w, res.err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res.q)
	case <-time.After(s.timeout):
		http.Error(w, fmt.Sprintf("pricing backend timed out after %v", s.timeout), http.StatusGatewayTimeout)
	}
}

func main() {
	cfg := svc.Setup("chansend")
	s := &server{timeout: 60 * time.Millisecond}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /quote/{symbol}", s.handleQuote)
	base := cfg.Serve(mux)

	client := svc.Client()
	symbols := []string{"ACME", "GLOBEX", "INITECH", "UMBRELLA", "HOOLI"}
	n := 0
	cfg.Every(time.Second/6, func() {
		n++
		// Requests run concurrently, like independent callers would.
		go func(sym string) {
			resp, err := client.Get(base + "/quote/" + sym)
			if err != nil {
				log.Print(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}(symbols[n%len(symbols)])
	})
}
