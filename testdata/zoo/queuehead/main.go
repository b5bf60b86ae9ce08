// Command queuehead is a control: a work queue that pops with
// `q = q[1:]` and does not clear the popped slot, the pattern reported as a
// leak in pion/webrtc#1857 (`o.ops = o.ops[1:]`) and
// kubernetes/kubernetes#116878 (client-go's workqueue: "the underlying array
// still exists and references this object"). Popped jobs stay reachable
// from the backing array, but only until an append outgrows the array's
// remaining capacity and moves the queue to a new one: the retained memory
// saws up and drops, bounded by the largest backlog, and never grows.
// Expected verdict: not leak.
//
// Workload: a burst of 200 jobs every 2 s (at -rate 1), drained by one
// worker at 200 jobs per second; a job carries 8 KiB.
package main

import (
	"fmt"
	"hash/crc32"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

type job struct {
	id      int
	payload []byte
}

// Queue is a FIFO on a slice.
type Queue struct {
	mu   sync.Mutex
	q    []*job
	done int
	sum  uint32
}

func (q *Queue) Push(j *job) {
	q.mu.Lock()
	q.q = append(q.q, j)
	q.mu.Unlock()
}

func (q *Queue) Pop() *job {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.q) == 0 {
		return nil
	}
	j := q.q[0]
	q.q = q.q[1:] // the popped slot still points at j
	return j
}

func main() {
	cfg := svc.Setup("queuehead")
	q := &Queue{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		q.mu.Lock()
		defer q.mu.Unlock()
		fmt.Fprintf(w, "backlog %d (cap %d), done %d\n", len(q.q), cap(q.q), q.done)
	})
	cfg.Serve(mux)

	go cfg.Every(5*time.Millisecond, func() {
		j := q.Pop()
		if j == nil {
			return
		}
		sum := crc32.ChecksumIEEE(j.payload[:256])
		q.mu.Lock()
		q.done++
		q.sum ^= sum
		q.mu.Unlock()
	})
	n := 0
	cfg.Every(2*time.Second, func() {
		for range 200 {
			n++
			j := &job{id: n}
			j.payload = make([]byte, 8<<10) // CONTROL: queuehead (popped jobs pinned by the backing array until it moves)
			j.payload[0] = byte(n)
			q.Push(j)
		}
	})
}
