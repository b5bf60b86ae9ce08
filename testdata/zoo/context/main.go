// Command context is a job scheduler. Every job gets a context derived from
// the scheduler's long-lived root context, and a cleanup goroutine that waits
// for that context to end before releasing the job's scratch resources. The
// cancel func is stored on the job but only called when a job is aborted;
// jobs that complete normally never cancel, so their cleanup goroutines wait
// on ctx.Done() forever (and each cancelCtx stays in the root's children).
//
// Workload: 2 jobs per second (at -rate 1): 2 goroutines leaked per second.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"zoo/internal/svc"
)

// Job is one unit of work submitted to the scheduler.
type Job struct {
	ID      int
	Kind    string
	Input   string
	cancel  context.CancelFunc
	scratch []byte
	Result  string
}

// Scheduler runs jobs under its root context.
type Scheduler struct {
	root context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	nextID int
	done   int
}

func NewScheduler() *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{root: ctx, stop: cancel}
}

// Submit runs j synchronously and returns its result.
func (s *Scheduler) Submit(j *Job) string {
	ctx, cancel := context.WithCancel(s.root)
	j.cancel = cancel // only Abort calls it
	j.scratch = make([]byte, 256)
	go s.cleanupWhenDone(ctx, j)
	j.Result = strings.ToUpper(j.Input) // the "work"
	s.mu.Lock()
	s.done++
	s.mu.Unlock()
	return j.Result
}

// Abort cancels a job that is still running. (Completed jobs are never
// cancelled: that is the bug.)
func (s *Scheduler) Abort(j *Job) { j.cancel() }

func (s *Scheduler) cleanupWhenDone(ctx context.Context, j *Job) {
	<-ctx.Done() // LEAK: context
	j.scratch = nil
}

type submitRequest struct {
	Kind  string `json:"kind"`
	Input string `json:"input"`
}

func (s *Scheduler) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var req submitRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.nextID++
	j := &Job{ID: s.nextID, Kind: req.Kind, Input: req.Input}
	s.mu.Unlock()
	res := s.Submit(j)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": j.ID, "result": res})
}

func main() {
	cfg := svc.Setup("context")
	s := NewScheduler()
	defer s.stop()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", s.handleSubmit)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		fmt.Fprintf(w, "jobs done %d\n", s.done)
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	kinds := []string{"resize", "transcode", "index"}
	n := 0
	cfg.Every(500*time.Millisecond, func() {
		n++
		body := fmt.Sprintf(`{"kind":%q,"input":"object-%06d"}`, kinds[n%len(kinds)], n)
		resp, err := client.Post(base+"/jobs", "application/json", strings.NewReader(body))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
