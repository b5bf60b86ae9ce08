// Command syncpool is a control: a log-compaction service that handles
// bursts of requests using scratch buffers from a sync.Pool. In-use heap
// jumps during each burst and falls back afterwards (the pool is emptied over
// two GCs); nothing accumulates. Expected verdict: stable (never leak).
//
// Workload: a burst of 64 concurrent requests every 5 s (at -rate 1).
package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"

	"zoo/internal/svc"
)

var bufPool = sync.Pool{
	New: func() any {
		b := make([]byte, 0, 128<<10) // CONTROL: syncpool (pooled scratch buffers)
		return &b
	},
}

// compact collapses runs of identical lines, like `uniq -c`.
func compact(dst, src []byte) []byte {
	var prev []byte
	count := 0
	flush := func() {
		if count > 0 {
			dst = strconv.AppendInt(dst, int64(count), 10)
			dst = append(dst, ' ')
			dst = append(dst, prev...)
			dst = append(dst, '\n')
		}
	}
	for line := range bytes.Lines(src) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		if count > 0 && bytes.Equal(line, prev) {
			count++
			continue
		}
		flush()
		prev, count = line, 1
	}
	flush()
	return dst
}

func handleCompact(w http.ResponseWriter, r *http.Request) {
	in := bufPool.Get().(*[]byte)
	out := bufPool.Get().(*[]byte)
	defer func() {
		*in, *out = (*in)[:0], (*out)[:0]
		bufPool.Put(in)
		bufPool.Put(out)
	}()
	var err error
	buf := bytes.NewBuffer(*in)
	_, err = buf.ReadFrom(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	*in = buf.Bytes()
	*out = compact(*out, *in)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"in": len(*in), "out": len(*out)})
}

func makeLog(seed int) []byte {
	var b bytes.Buffer
	msgs := []string{"GET /healthz 200", "GET /api/items 200", "POST /api/items 201", "GET /api/items 500"}
	for i := range 3000 {
		b.WriteString(msgs[(i/7+seed)%len(msgs)])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func main() {
	cfg := svc.Setup("syncpool")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /compact", handleCompact)
	base := cfg.Serve(mux)

	client := svc.Client()
	logs := [][]byte{makeLog(0), makeLog(1), makeLog(2)}
	burst := func() {
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				resp, err := client.Post(base+"/compact", "text/plain", bytes.NewReader(logs[i%len(logs)]))
				if err != nil {
					log.Print(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	burst() // the first burst right away: connection pools settle at once
	cfg.Every(5*time.Second, burst)
}
