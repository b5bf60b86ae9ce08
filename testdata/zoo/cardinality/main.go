// Command cardinality is an order API whose metrics middleware records every
// request's latency in a histogram keyed by (method, path, status), with the
// raw path as a label value: each order id makes a new series, and a metrics
// registry never forgets a series. This is the report of
// cadence-workflow/cadence#5398 (task-list names with UUIDs in a tag kept
// every series in the Prometheus client's memory until a restart); here the
// registry is a minimal stand-in for client_golang's HistogramVec.
//
// Workload: 20 requests per second (at -rate 1), nearly all for a new order
// id; each series holds a 320-bucket histogram (2.5 KiB): ~3 MiB per minute.
package main

import (
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"zoo/internal/svc"
)

const buckets = 320 // exponential buckets from 10 µs, factor 1.05

// series is one label set's histogram.
type series struct {
	labels string
	counts []uint64
	sum    float64
}

// HistogramVec keeps a histogram per label set, forever.
type HistogramVec struct {
	mu     sync.Mutex
	name   string
	series map[string]*series
}

func (h *HistogramVec) Observe(seconds float64, labels ...string) {
	key := strings.Join(labels, "\xff")
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.series[key]
	if !ok {
		s = &series{labels: key}
		s.counts = make([]uint64, buckets) // LEAK: cardinality
		h.series[key] = s
	}
	b := 0
	if seconds > 1e-5 {
		b = min(buckets-1, int(math.Log(seconds/1e-5)/math.Log(1.05)))
	}
	s.counts[b]++
	s.sum += seconds
}

// WriteTo renders the exposition format, as a scrape would.
func (h *HistogramVec) Expose(w io.Writer) {
	h.mu.Lock()
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	h.mu.Unlock()
	sort.Strings(keys)
	fmt.Fprintf(w, "# %d series\n", len(keys))
	for _, k := range keys[:min(len(keys), 20)] {
		l := strings.Split(k, "\xff")
		fmt.Fprintf(w, "%s_count{method=%q,path=%q,code=%q}\n", h.name, l[0], l[1], l[2])
	}
}

// statusRecorder remembers the status code for the middleware.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func instrument(h *HistogramVec, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		next.ServeHTTP(rec, r)
		// The raw path as a label value: the bug.
		h.Observe(time.Since(start).Seconds(), r.Method, r.URL.Path, strconv.Itoa(rec.code))
	})
}

func main() {
	cfg := svc.Setup("cardinality")
	h := &HistogramVec{name: "http_request_duration_seconds", series: map[string]*series{}}
	api := http.NewServeMux()
	api.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if strings.HasPrefix(id, "0") {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"id":%q,"state":"shipped"}`, id)
	})
	mux := http.NewServeMux()
	mux.Handle("/orders/", instrument(h, api))
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { h.Expose(w) })
	base := cfg.Serve(mux)

	client := svc.Client()
	cfg.Every(50*time.Millisecond, func() {
		id := fmt.Sprintf("%08x-%04x", rand.Uint32(), rand.IntN(1<<16))
		resp, err := client.Get(base + "/orders/" + id)
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
