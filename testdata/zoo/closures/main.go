// Command closures is a dashboard service with an in-process event bus. Each
// dashboard view subscribes a render callback to the bus; the callback
// captures the view's 32 KiB render state. Views are "closed" by the client,
// but nothing unsubscribes the callback, so the bus's registry keeps every
// closure - and the state it captured - alive forever.
//
// Workload: 2 dashboard views per second (at -rate 1): ~3.8 MiB per minute.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

// Event is published on the bus when a metric changes.
type Event struct {
	Metric string
	Value  float64
	At     time.Time
}

// Bus fans events out to subscribed callbacks.
type Bus struct {
	mu       sync.RWMutex
	nextID   int
	handlers map[int]func(Event)
}

// Subscribe registers fn and returns the id needed to unsubscribe it.
func (b *Bus) Subscribe(fn func(Event)) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	b.handlers[b.nextID] = fn
	return b.nextID
}

// Unsubscribe removes a callback. (The dashboard never calls it.)
func (b *Bus) Unsubscribe(id int) {
	b.mu.Lock()
	delete(b.handlers, id)
	b.mu.Unlock()
}

// Publish delivers e to every subscriber.
func (b *Bus) Publish(e Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.handlers {
		fn(e)
	}
}

var bus = &Bus{handlers: map[int]func(Event){}}

// renderState is a view's scratch area: the last rendered frame plus stats.
type renderState struct {
	Dashboard string
	frame     []byte
	updates   int
	last      Event
}

func (st *renderState) apply(e Event) {
	st.updates++
	st.last = e
	n := copy(st.frame, e.Metric)
	st.frame[n] = byte(int(e.Value) % 256)
}

func handleView(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("dashboard")
	st := &renderState{Dashboard: name, frame: make([]byte, 32<<10)} // LEAK: closures
	id := bus.Subscribe(func(e Event) { st.apply(e) })
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"dashboard": name, "subscription": id})
}

func main() {
	cfg := svc.Setup("closures")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dashboards/{dashboard}", handleView)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		bus.mu.RLock()
		defer bus.mu.RUnlock()
		fmt.Fprintf(w, "subscribers %d\n", len(bus.handlers))
	})
	base := cfg.Serve(mux)

	// Metrics change in the background; every live view re-renders.
	go cfg.Every(5*time.Second, func() {
		bus.Publish(Event{Metric: "requests_per_second", Value: float64(time.Now().Unix() % 1000), At: time.Now()})
	})

	client := svc.Client()
	boards := []string{"overview", "latency", "errors", "capacity"}
	n := 0
	cfg.Every(500*time.Millisecond, func() {
		n++
		resp, err := client.Get(base + "/dashboards/" + boards[n%len(boards)])
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
