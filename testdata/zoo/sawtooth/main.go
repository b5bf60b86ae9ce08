// Command sawtooth is a log ingester: every batch is decoded into a 512 KiB
// buffer that lives for the 100-300 ms the batch takes, so the heap saws up
// and down between collections. For one batch in 300 the stream keeps its
// last line as a subslice of that buffer, which pins the whole buffer: the
// floor of the sawtooth rises slowly. It is the shape of the Go team's
// heapbench in golang/go#58106 (a base heap, a garbage rate and a slow leak
// rate), with the leak and the garbage at one allocation site, so the site's
// in-use bytes at each collection are the pinned buffers plus whichever
// batches happened to be in flight.
//
// Workload (at -rate 1): 20 batches per second (10 MiB/s of garbage) over a
// 24 MiB base heap; ~2 MiB per minute pinned.
package main

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

const batchSize = 512 << 10

// Ingester decodes batches and tracks each stream's last line.
type Ingester struct {
	mu       sync.Mutex
	lastLine map[int][]byte
	batches  int
	symbols  [][]byte // the base heap: a symbol table loaded at start
}

func (in *Ingester) ingest(stream int, pin bool) {
	buf := make([]byte, batchSize) // LEAK: sawtooth
	for i := 0; i < len(buf); i += 512 {
		buf[i] = byte(stream + i)
	}
	// Parsing takes a while, holding the buffer.
	time.Sleep(time.Duration(100+rand.IntN(200)) * time.Millisecond)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.batches++
	if pin {
		// Keep the last line for the stream's tail view: a subslice,
		// which keeps the whole batch buffer alive (the bug).
		in.lastLine[stream] = buf[batchSize-120:]
	}
}

func main() {
	cfg := svc.Setup("sawtooth")
	in := &Ingester{lastLine: map[int][]byte{}}
	for range 24 {
		in.symbols = append(in.symbols, make([]byte, 1<<20))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /streams/{n}/tail", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		in.mu.Lock()
		line := in.lastLine[n]
		in.mu.Unlock()
		fmt.Fprintf(w, "%q\n", line)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		defer in.mu.Unlock()
		fmt.Fprintf(w, "batches %d, streams with a tail %d\n", in.batches, len(in.lastLine))
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	go cfg.Every(time.Second, func() {
		resp, err := client.Get(fmt.Sprintf("%s/streams/%d/tail", base, rand.IntN(100)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
	n := 0
	cfg.Every(50*time.Millisecond, func() {
		n++
		// Every batch is a new stream (short-lived shipping agents); one
		// in 300 ends its stream and leaves a tail.
		go in.ingest(n, n%300 == 0)
	})
}
