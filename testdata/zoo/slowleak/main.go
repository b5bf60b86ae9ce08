// Command slowleak is a node agent's volume manager, modelled on the
// kubelet's desired-state populator (kubernetes/kubernetes#116831): it
// keeps each running pod's volume state, and a processedPods record per
// pod. A pod's record is removed when the pod goes, but the pod worker
// reports "unmounted" asynchronously, and when that report arrives after the
// cleanup (a race, here 3 times in 10) it re-adds the record, which nothing
// removes again. The leak is slow: about half a percent of the heap per
// minute, under a working set that follows the node's pod count, which
// swings by ±10% over a minute.
//
// Workload (at -rate 1): 1000 ± 100 pods with 256 KiB of volume state each
// (256 ± 25 MiB), each living 30-60 s (~22 pod deletions per second); ~6.6
// records of 4 KiB leak per second (~1.6 MiB per minute); status reports
// allocate ~40 MiB/s of short-lived buffers, so the heap is collected every
// few seconds.
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

const (
	meanPods    = 1000
	volumeState = 256 << 10
	recordSize  = 4 << 10
)

type pod struct {
	uid     string
	volumes []byte
	expires time.Time
}

type record struct {
	uid    string
	mounts []byte // the mounted volumes' specs, as last processed
}

// Populator is the desired state of the node's volumes.
type Populator struct {
	mu        sync.Mutex
	pods      map[string]*pod
	processed map[string]*record
	leaked    int
}

func (p *Populator) add(uid string, lifetime time.Duration) {
	po := &pod{uid: uid, expires: time.Now().Add(lifetime)}
	po.volumes = make([]byte, volumeState) // the working set
	p.mu.Lock()
	p.pods[uid] = po
	p.mu.Unlock()
	p.markProcessed(uid)
}

func (p *Populator) markProcessed(uid string) {
	r := &record{uid: uid}
	r.mounts = make([]byte, recordSize) // LEAK-SLOW: slowleak
	p.mu.Lock()
	p.processed[uid] = r
	p.mu.Unlock()
}

// remove cleans up a deleted pod; the pod worker's late "unmounted" report
// may re-add its record afterwards (the bug).
func (p *Populator) remove(uid string) {
	p.mu.Lock()
	delete(p.pods, uid)
	delete(p.processed, uid)
	p.mu.Unlock()
	if rand.IntN(10) < 3 {
		p.markProcessed(uid)
		p.mu.Lock()
		p.leaked++
		p.mu.Unlock()
	}
}

func main() {
	cfg := svc.Setup("slowleak")
	p := &Populator{pods: map[string]*pod{}, processed: map[string]*record{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pods/{uid}/volumes", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		po, ok := p.pods[r.PathValue("uid")]
		p.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "%s: %d bytes of volume state\n", po.uid, len(po.volumes))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(w, "pods %d, records %d, leaked %d\n", len(p.pods), len(p.processed), p.leaked)
	})
	base := cfg.Serve(mux)

	// Status reports: short-lived buffers, the GC's pace.
	var sink []byte
	go cfg.Every(100*time.Millisecond, func() {
		report := make([]byte, 4<<20)
		report[len(report)-1] = byte(len(sink))
		sink = report[:16]
	})

	client := svc.Client()
	go cfg.Every(200*time.Millisecond, func() {
		resp, err := client.Get(fmt.Sprintf("%s/pods/pod-%d/volumes", base, rand.IntN(1<<20)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})

	// The node's pods: their number follows a one-minute cycle, and each
	// lives 30-60 s.
	start := time.Now()
	period := cfg.Interval(time.Minute)
	next := 0
	var order []*pod
	cfg.Every(50*time.Millisecond, func() {
		now := time.Now()
		phase := 2 * math.Pi * float64(now.Sub(start)) / float64(period)
		target := int(meanPods * (1 + 0.1*math.Sin(phase)))
		kept := order[:0]
		for _, po := range order {
			if now.After(po.expires) {
				p.remove(po.uid)
			} else {
				kept = append(kept, po)
			}
		}
		clear(order[len(kept):])
		order = kept
		for len(order) < target {
			next++
			uid := fmt.Sprintf("pod-%d", next)
			life := cfg.Interval(time.Duration(30+rand.IntN(31)) * time.Second)
			if next <= meanPods {
				// The node's first pods are already running, at random ages.
				life = cfg.Interval(time.Duration(rand.IntN(61)) * time.Second)
			}
			p.add(uid, life)
			p.mu.Lock()
			order = append(order, p.pods[uid])
			p.mu.Unlock()
		}
		for len(order) > target { // scale-down: the newest go first
			po := order[len(order)-1]
			order[len(order)-1] = nil
			order = order[:len(order)-1]
			p.remove(po.uid)
		}
	})
}
