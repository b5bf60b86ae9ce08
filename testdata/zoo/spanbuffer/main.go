// Command spanbuffer is a service instrumented with a tracing SDK whose
// batch span processor exports to a collector that is down. A failed batch
// is put back in front of the queue to be retried, and nothing ever drops
// spans, so every finished span stays in memory: the growth reported in
// open-telemetry/opentelemetry-collector#802 (spans buffered while the
// exporters failed) and open-telemetry/opentelemetry-go#1904
// (BatchSpanProcessor memory growth). The SDK here is a minimal stand-in.
//
// Workload: 10 requests per second (at -rate 1), 3 spans each with a 2 KiB
// event log: ~3.6 MiB per minute retained.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

// Span is one finished operation.
type Span struct {
	TraceID, SpanID, Parent uint64
	Name                    string
	Start, End              time.Time
	Attrs                   map[string]string
	Events                  []byte // timestamped log lines
}

// Tracer creates spans and hands finished ones to the processor.
type Tracer struct{ p *BatchProcessor }

func (t *Tracer) Start(name string, trace, parent uint64) *Span {
	s := &Span{TraceID: trace, SpanID: rand.Uint64(), Parent: parent, Name: name, Start: time.Now()}
	s.Events = make([]byte, 0, 2048) // LEAK: spanbuffer
	return s
}

func (s *Span) Log(msg string) {
	s.Events = fmt.Appendf(s.Events, "%s %s\n", time.Now().Format(time.RFC3339Nano), msg)
}

func (t *Tracer) End(s *Span) {
	s.End = time.Now()
	t.p.OnEnd(s)
}

// BatchProcessor queues finished spans and exports them in batches.
type BatchProcessor struct {
	mu       sync.Mutex
	queue    []*Span
	endpoint string
	client   *http.Client
	failed   int
}

func (p *BatchProcessor) OnEnd(s *Span) {
	p.mu.Lock()
	p.queue = append(p.queue, s)
	p.mu.Unlock()
}

// export sends up to 512 queued spans; on failure they go back in front of
// the queue, to be retried with the next batch (and nothing is dropped: the
// bug).
func (p *BatchProcessor) export() {
	p.mu.Lock()
	n := min(len(p.queue), 512)
	batch := append([]*Span(nil), p.queue[:n]...)
	p.queue = p.queue[n:]
	p.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	body, _ := json.Marshal(batch[:min(len(batch), 8)])
	resp, err := p.client.Post(p.endpoint, "application/json", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return
		}
	}
	p.mu.Lock()
	p.queue = append(batch, p.queue...)
	p.failed++
	p.mu.Unlock()
}

func main() {
	cfg := svc.Setup("spanbuffer")
	p := &BatchProcessor{
		// The collector's port: nothing listens there.
		endpoint: "http://127.0.0.1:1/v1/traces",
		client:   &http.Client{Timeout: time.Second},
	}
	t := &Tracer{p: p}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cart/{user}", func(w http.ResponseWriter, r *http.Request) {
		trace := rand.Uint64()
		root := t.Start("GET /cart", trace, 0)
		root.Log("user " + r.PathValue("user"))
		for _, q := range []string{"SELECT cart", "SELECT prices"} {
			s := t.Start(q, trace, root.SpanID)
			s.Log(q + " WHERE user = $1")
			t.End(s)
		}
		fmt.Fprintf(w, `{"user":%q,"items":3}`, r.PathValue("user"))
		t.End(root)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(w, "queued spans %d, failed exports %d\n", len(p.queue), p.failed)
	})
	base := cfg.Serve(mux)

	go cfg.Every(500*time.Millisecond, p.export)

	client := svc.Client()
	n := 0
	cfg.Every(100*time.Millisecond, func() {
		n++
		resp, err := client.Get(fmt.Sprintf("%s/cart/%d", base, n%500))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
