// Command workerpool is a control: a thumbnail-job queue served by a fixed
// pool of 32 workers that sit blocked on a channel receive nearly all the
// time, because work arrives rarely. The goroutine count is large but
// constant: it must not be reported as a goroutine leak.
// Expected verdict: stable (never leak).
//
// Workload: one batch of 4 jobs every 5 s (at -rate 1).
package main

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// Job asks for one object to be processed.
type Job struct {
	ID     int
	Object string
	Done   chan<- uint32
}

// Pool is a fixed set of workers consuming a shared queue.
type Pool struct {
	jobs      chan Job
	wg        sync.WaitGroup
	processed atomic.Int64
}

func NewPool(workers int) *Pool {
	p := &Pool{jobs: make(chan Job, 64)}
	for i := range workers {
		p.wg.Add(1)
		go p.worker(i)
	}
	return p
}

func (p *Pool) worker(id int) {
	defer p.wg.Done()
	for job := range p.jobs { // CONTROL: workerpool (fixed count, idle on receive)
		sum := crc32.ChecksumIEEE([]byte(strings.Repeat(job.Object, 64)))
		p.processed.Add(1)
		job.Done <- sum
	}
}

// Close stops the workers once the queue drains.
func (p *Pool) Close() {
	close(p.jobs)
	p.wg.Wait()
}

func main() {
	cfg := svc.Setup("workerpool")
	pool := NewPool(32)
	defer pool.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs/{object}", func(w http.ResponseWriter, r *http.Request) {
		done := make(chan uint32, 1)
		pool.jobs <- Job{Object: r.PathValue("object"), Done: done}
		select {
		case sum := <-done:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"object": r.PathValue("object"), "crc32": sum})
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "processed %d\n", pool.processed.Load())
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	n := 0
	cfg.Every(5*time.Second, func() {
		for range 4 {
			n++
			resp, err := client.Post(fmt.Sprintf("%s/jobs/object-%d", base, n), "text/plain", nil)
			if err != nil {
				log.Print(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
