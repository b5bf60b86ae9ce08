// Command timeafter is a control: an event loop that selects on its input
// and on time.After(time.Minute), 500 times a second. Before Go 1.23 each
// iteration left a timer (and its channel) alive for a minute, a classic
// leak (etcd-io/etcd#17109, googleapis/google-api-go-client#1761): here
// ~6 MiB per minute until the first minute was up. Since Go 1.23 an
// unreferenced timer is collected at once whether or not it fired (the
// zoo is built with go 1.27), so nothing accumulates. The timers that still
// hold memory are pending time.AfterFunc callbacks (see afterfunc).
// Expected verdict: stable.
//
// Workload: 500 events per second (at -rate 1).
package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

func main() {
	cfg := svc.Setup("timeafter")
	var handled, idle atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "events %d, idle timeouts %d\n", handled.Load(), idle.Load())
	})
	cfg.Serve(mux)

	events := make(chan int)
	go func() {
		for {
			select {
			case <-events:
				handled.Add(1)
			case <-time.After(time.Minute): // CONTROL: timeafter (one timer per iteration, collected since Go 1.23)
				idle.Add(1)
			}
		}
	}()
	n := 0
	cfg.Every(20*time.Millisecond, func() {
		for range 10 {
			n++
			events <- n
		}
	})
}
