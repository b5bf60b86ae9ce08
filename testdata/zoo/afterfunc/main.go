// Command afterfunc is a node-IPAM controller that retries failed updates
// with time.AfterFunc, as Kubernetes' cloud CIDR allocator does
// (kubernetes/kubernetes#109098 tried to Stop those timers to "avoid memory
// leaks" and was rightly refused: the retry must fire). The retry is
// unbounded here: an update for a node that was deleted in the meantime
// fails forever, and each retry re-arms a timer whose closure holds the
// work item. Since Go 1.23 an unreferenced, unstopped time.After or
// time.NewTimer is collected (see the timeafter control); a pending
// AfterFunc is not, because its function must still run.
//
// Workload: 10 node updates per second (at -rate 1), 4 of them for nodes
// already deleted; each work item carries a 16 KiB allocation snapshot:
// ~3.75 MiB per minute retained, plus one live timer per stuck item.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// workItem is one pending CIDR update.
type workItem struct {
	node     string
	cidr     string
	attempt  int
	snapshot []byte // the allocator's view when the update was queued
}

var errNotFound = errors.New("node not found")

// Allocator assigns pod CIDRs to nodes.
type Allocator struct {
	mu      sync.Mutex
	nodes   map[string]bool
	updates chan *workItem
	retries atomic.Int64
	stuck   atomic.Int64
	backoff time.Duration
}

func (a *Allocator) queue(node, cidr string) {
	it := &workItem{node: node, cidr: cidr}
	it.snapshot = make([]byte, 16<<10) // LEAK: afterfunc
	a.updates <- it
}

func (a *Allocator) update(it *workItem) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.nodes[it.node] {
		return errNotFound
	}
	return nil
}

func (a *Allocator) worker() {
	for it := range a.updates {
		if err := a.update(it); err != nil {
			it.attempt++
			if it.attempt == 1 {
				a.stuck.Add(1)
			}
			a.retries.Add(1)
			// Retry later, forever: no limit, no check that the node
			// still exists.
			time.AfterFunc(a.backoff, func() { a.updates <- it })
		}
	}
}

func main() {
	cfg := svc.Setup("afterfunc")
	a := &Allocator{nodes: map[string]bool{}, updates: make(chan *workItem, 4096), backoff: 2 * time.Second}
	for range 4 {
		go a.worker()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /nodes/{name}/cidr", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.queue(r.PathValue("name"), strings.TrimSpace(string(body)))
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "stuck items %d, retries %d\n", a.stuck.Load(), a.retries.Load())
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	n := 0
	cfg.Every(100*time.Millisecond, func() {
		n++
		name := fmt.Sprintf("node-%06d", n)
		// Scale-down removes 4 in 10 new nodes before their CIDR lands.
		a.mu.Lock()
		a.nodes[name] = rand.IntN(10) >= 4
		a.mu.Unlock()
		resp, err := client.Post(base+"/nodes/"+name+"/cidr", "text/plain", strings.NewReader(fmt.Sprintf("10.%d.%d.0/24", n/256%256, n%256)))
		if err != nil {
			log.Print(err)
			return
		}
		resp.Body.Close()
	})
}
