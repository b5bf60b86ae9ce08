// Command watchhub is a key-value store with long-poll watches, modelled on
// etcd's v2 watcher hub (etcd-io/etcd#328): a watch registers a watcher on
// its key and waits for the next change; the watcher is removed when an
// event is delivered to it, but not when the HTTP client disconnects first.
// Clients that time out leave their watchers (each with its buffered event
// channel) in the hub for good, and as jobs come and go the hub's key set
// grows too.
//
// Workload: 10 watches per second (at -rate 1) on the status keys of
// short-lived jobs, with a 300 ms client timeout; few keys change in that
// time. Each abandoned watcher holds a 64-event channel (~5 KiB): ~3 MiB per
// minute retained.
package main

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// Event is a change to a key.
type Event struct {
	Action   string    `json:"action"`
	Key      string    `json:"key"`
	Value    string    `json:"value"`
	Index    uint64    `json:"index"`
	Modified time.Time `json:"modified"`
}

type watcher struct {
	events chan Event
	since  uint64
}

// Hub holds the watchers by key.
type Hub struct {
	mu       sync.Mutex
	index    uint64
	watchers map[string]*list.List
}

func (h *Hub) watch(key string) *watcher {
	w := &watcher{}
	w.events = make(chan Event, 64) // LEAK: watchhub
	h.mu.Lock()
	defer h.mu.Unlock()
	w.since = h.index
	l, ok := h.watchers[key]
	if !ok {
		l = list.New()
		h.watchers[key] = l
	}
	l.PushBack(w)
	return w
}

// notify delivers an event to the key's watchers and removes them: the only
// place a watcher leaves the hub.
func (h *Hub) notify(key, value string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.index++
	ev := Event{Action: "set", Key: key, Value: value, Index: h.index, Modified: time.Now()}
	l, ok := h.watchers[key]
	if !ok {
		return
	}
	for e := l.Front(); e != nil; e = e.Next() {
		e.Value.(*watcher).events <- ev
	}
	delete(h.watchers, key)
}

func (h *Hub) handleWatch(w http.ResponseWriter, r *http.Request) {
	wt := h.watch(r.PathValue("key"))
	select {
	case ev := <-wt.events:
		json.NewEncoder(w).Encode(ev)
	case <-r.Context().Done():
		// The client went away: the watcher stays registered (the bug).
	}
}

func (h *Hub) handleSet(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.notify(r.PathValue("key"), string(b))
}

func main() {
	cfg := svc.Setup("watchhub")
	h := &Hub{watchers: map[string]*list.List{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/watch/{key...}", h.handleWatch)
	mux.HandleFunc("PUT /v2/keys/{key...}", h.handleSet)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, l := range h.watchers {
			n += l.Len()
		}
		fmt.Fprintf(w, "keys %d watchers %d\n", len(h.watchers), n)
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	// Job workers report status now and then: a few watches are answered.
	var job atomic.Int64
	go cfg.Every(500*time.Millisecond, func() {
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v2/keys/jobs/%d/status", base, job.Load()-int64(rand.IntN(3))), nil)
		resp, err := client.Do(req)
		if err != nil {
			log.Print(err)
			return
		}
		resp.Body.Close()
	})
	cfg.Every(100*time.Millisecond, func() {
		j := job.Add(1)
		// Dashboards watch concurrently, each giving up after 300 ms.
		go func(job int64) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v2/watch/jobs/%d/status", base, job), nil)
			resp, err := client.Do(req)
			if err != nil {
				return // timed out: the dashboard moves on
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}(j)
	})
}
