// Command httpbody is a health-check aggregator. It polls the status endpoint
// of a backend (here: its own server, over loopback) and only looks at the
// status code; the response body is never read or closed. An unclosed body
// keeps its keep-alive connection busy forever, so every poll dials a new
// connection: the transport's readLoop/writeLoop goroutines, the server's
// per-connection goroutine, their bufio buffers and two file descriptors
// pile up per request.
//
// Workload: 1 poll per second (at -rate 1): 3 goroutines and 2 fds per second.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// Status is what the backend reports about itself.
type Status struct {
	Service  string            `json:"service"`
	Healthy  bool              `json:"healthy"`
	Uptime   string            `json:"uptime"`
	Checks   map[string]string `json:"checks"`
	Warnings []string          `json:"warnings,omitempty"`
}

var started = time.Now()

func handleStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{
		Service: "inventory",
		Healthy: true,
		Uptime:  time.Since(started).Round(time.Second).String(),
		Checks:  map[string]string{"db": "ok", "cache": "ok", "queue": "ok"},
		// Enough detail that the body is not trivially small.
		Warnings: []string{strings.Repeat("replica lag within bounds; ", 20)},
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

// Checker polls one backend and records whether it is up.
type Checker struct {
	client  *http.Client
	url     string
	up, bad atomic.Int64
}

func (c *Checker) Check() {
	resp, err := c.client.Get(c.url) // LEAK: httpbody
	if err != nil {
		c.bad.Add(1)
		log.Print(err)
		return
	}
	// Bug: only the status code matters here, so the body is neither read nor
	// closed. The connection can never return to the idle pool.
	if resp.StatusCode == http.StatusOK {
		c.up.Add(1)
	} else {
		c.bad.Add(1)
	}
}

func main() {
	cfg := svc.Setup("httpbody")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", handleStatus)
	base := cfg.Serve(mux)

	// A keep-alive transport and no client Timeout: a Timeout would cancel
	// the request (and close the connection) after it expires.
	c := &Checker{
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}},
		url:    base + "/status",
	}
	cfg.Every(time.Second, c.Check)
}
