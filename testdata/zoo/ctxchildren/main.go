// Command ctxchildren is a message consumer. Each message gets a cancellable
// context derived from the consumer's long-lived root context, for its
// downstream calls; the cancel func is kept on the message for an abort path
// that normal processing never takes. A child that is never cancelled stays
// in its parent's children map for as long as the parent lives, so every
// message leaks its context (a heap leak with no goroutine).
//
// Workload: 800 messages per second (at -rate 1), no HTTP on the hot path;
// ~5 MiB per minute.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// Message is one unit read from the (simulated) queue.
type Message struct {
	Offset int64
	Key    string
	Value  []byte
	ctx    context.Context
	cancel context.CancelFunc // called only on abort
}

type traceKey struct{}

// Consumer processes messages under its root context.
type Consumer struct {
	root      context.Context
	processed atomic.Int64
	digest    atomic.Uint64
}

func (c *Consumer) begin(m *Message) {
	m.ctx, m.cancel = context.WithCancel(c.root) // LEAK: ctxchildren
}

func (c *Consumer) process(m *Message) {
	c.begin(m)
	if m.ctx.Err() != nil {
		m.cancel() // abort path
		return
	}
	h := fnv.New64a()
	h.Write([]byte(m.Key))
	h.Write(m.Value)
	c.digest.Store(c.digest.Load() ^ h.Sum64())
	c.processed.Add(1)
}

func main() {
	cfg := svc.Setup("ctxchildren")
	root, stop := context.WithCancel(context.WithValue(context.Background(), traceKey{}, "consumer-1"))
	defer stop()
	c := &Consumer{root: root}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"processed": c.processed.Load(), "digest": fmt.Sprintf("%016x", c.digest.Load())})
	})
	cfg.Serve(mux)

	// The queue delivers batches of 80 messages every 100 ms.
	var offset int64
	value := []byte(`{"event":"page_view","path":"/checkout"}`)
	cfg.Every(100*time.Millisecond, func() {
		for range 80 {
			offset++
			c.process(&Message{Offset: offset, Key: fmt.Sprintf("user-%d", offset%977), Value: value})
		}
	})
}
