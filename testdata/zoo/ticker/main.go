// Command ticker is a feed-subscription service. Each subscription starts a
// poller goroutine driven by a time.Ticker. Unsubscribing removes the
// subscription from the registry, but the poller has no way to be told to
// stop: the goroutine and its ticker live forever.
//
// Workload: 2 subscribe/unsubscribe cycles per second (at -rate 1), leaking
// 2 goroutines (and 2 running tickers) per second.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// Feed is an upstream source whose latest sequence number pollers watch.
type Feed struct {
	Name string
	seq  atomic.Int64
}

// Subscription tracks what one subscriber has seen of a feed.
type Subscription struct {
	ID       int64
	Feed     *Feed
	Interval time.Duration
	lastSeen atomic.Int64
}

func (s *Subscription) poll() {
	t := time.NewTicker(s.Interval) // never stopped
	for range t.C {                 // LEAK: ticker
		s.lastSeen.Store(s.Feed.seq.Load())
	}
}

type server struct {
	mu     sync.Mutex
	nextID int64
	subs   map[int64]*Subscription
	feeds  map[string]*Feed
}

func (s *server) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	feed, ok := s.feeds[r.PathValue("feed")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.nextID++
	sub := &Subscription{ID: s.nextID, Feed: feed, Interval: 2 * time.Second}
	s.subs[sub.ID] = sub
	s.mu.Unlock()
	go sub.poll()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": sub.ID, "feed": feed.Name})
}

func (s *server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	_, ok := s.subs[id]
	delete(s.subs, id) // the poller keeps running: nothing tells it to stop
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	cfg := svc.Setup("ticker")
	s := &server{subs: map[int64]*Subscription{}, feeds: map[string]*Feed{}}
	for _, name := range []string{"prices", "news", "weather"} {
		s.feeds[name] = &Feed{Name: name}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subscribe/{feed}", s.handleSubscribe)
	mux.HandleFunc("DELETE /subscribe/{id}", s.handleUnsubscribe)
	base := cfg.Serve(mux)

	// The feeds advance in the background.
	go cfg.Every(100*time.Millisecond, func() {
		for _, f := range s.feeds {
			f.seq.Add(1)
		}
	})

	client := svc.Client()
	names := []string{"prices", "news", "weather"}
	n := 0
	cfg.Every(500*time.Millisecond, func() {
		n++
		resp, err := client.Post(base+"/subscribe/"+names[n%len(names)], "application/json", nil)
		if err != nil {
			log.Print(err)
			return
		}
		var sub struct{ ID int64 }
		err = json.NewDecoder(resp.Body).Decode(&sub)
		resp.Body.Close()
		if err != nil {
			log.Print(err)
			return
		}
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/subscribe/%d", base, sub.ID), nil)
		resp, err = client.Do(req)
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
