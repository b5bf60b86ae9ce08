// Command lrufill is a control: a session store behind an LRU bounded at
// 2800 sessions, with 3000 users who come back at random. It starts empty,
// so it fills as the distinct users seen so far, 3000 (1 - exp(-t/100 s)),
// and would reach its bound after ~4.5 minutes; in a 3-minute window it is
// still filling at the end, at under a fifth of its initial rate. A cache
// warming up at a window's end is the classic false alarm of leak
// detectors (a plateau only shows once it is reached).
// Expected verdict: not leak.
//
// Workload: 30 requests per second (at -rate 1); a session is ~4 KiB.
package main

import (
	"container/list"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"zoo/internal/svc"
)

const (
	capacity = 2800
	users    = 3000
)

type session struct {
	user  int
	state []byte
}

// LRU is bounded by entry count.
type LRU struct {
	mu    sync.Mutex
	ll    *list.List
	index map[int]*list.Element
}

func (c *LRU) Get(user int) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[user]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*session)
	}
	s := &session{user: user}
	s.state = make([]byte, 4<<10) // CONTROL: lrufill (an LRU still filling at the end of the window)
	c.index[user] = c.ll.PushFront(s)
	if c.ll.Len() > capacity {
		old := c.ll.Remove(c.ll.Back()).(*session)
		delete(c.index, old.user)
	}
	return s
}

func main() {
	cfg := svc.Setup("lrufill")
	c := &LRU{ll: list.New(), index: map[int]*list.Element{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /session/{user}", func(w http.ResponseWriter, r *http.Request) {
		u, err := strconv.Atoi(r.PathValue("user"))
		if err != nil {
			http.Error(w, "bad user", http.StatusBadRequest)
			return
		}
		s := c.Get(u)
		fmt.Fprintf(w, "user %d: %d bytes of state\n", s.user, len(s.state))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		fmt.Fprintf(w, "sessions %d\n", c.ll.Len())
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	cfg.Every(time.Second/30, func() {
		resp, err := client.Get(fmt.Sprintf("%s/session/%d", base, rand.IntN(users)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
