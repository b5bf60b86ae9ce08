// Command mmapleak is a thumbnail service whose decoder works in an off-heap
// scratch arena, the way a C image library or an mmap-based allocator does:
// each job maps 2 MiB of anonymous memory and unmaps it when done, except
// on the error path (a corrupt image), which returns early. The leaked
// mappings are invisible to Go's heap profile and MemStats; only the
// process's RSS shows them. golang/go#11035 is such a report ("it is not
// the Go heap ... are you sure you are unmapping everything you mmap?").
// Meanwhile the Go heap is still warming up: a thumbnail cache fills over
// the first minutes.
//
// Workload: 3 jobs per second (at -rate 1), 1 in 5 corrupt: ~72 MiB of
// RSS per minute outside the Go heap; the cache holds up to 200 thumbnails
// of 160 KiB (32 MiB), filling with a time constant of ~70 s.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"zoo/internal/svc"
)

const (
	arenaSize = 2 << 20
	thumbSize = 160 << 10
	images    = 200
)

var (
	errCorrupt = errors.New("corrupt image")
	leaked     atomic.Int64
)

// decode renders image id in an off-heap arena.
func decode(id int, corrupt bool) ([]byte, error) {
	arena, err := syscall.Mmap(-1, 0, arenaSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE) // LEAK-MEMORY: non-Go memory
	if err != nil {
		return nil, err
	}
	// The decoder touches its whole arena (row buffers, DCT blocks).
	for i := 0; i < len(arena); i += 4096 {
		arena[i] = byte(id + i)
	}
	if corrupt {
		leaked.Add(arenaSize)
		return nil, errCorrupt // the arena is never unmapped: the bug
	}
	thumb := make([]byte, thumbSize) // PLATEAU: cache (200 thumbnails, still filling at the end of a 3-minute window)
	copy(thumb, arena[:thumbSize])
	if err := syscall.Munmap(arena); err != nil {
		return nil, err
	}
	return thumb, nil
}

func main() {
	cfg := svc.Setup("mmapleak")
	var mu sync.Mutex
	cache := map[int][]byte{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /thumb/{id}", func(w http.ResponseWriter, r *http.Request) {
		var id int
		fmt.Sscan(r.PathValue("id"), &id)
		mu.Lock()
		t, ok := cache[id]
		mu.Unlock()
		if !ok {
			var err error
			t, err = decode(id, r.URL.Query().Has("corrupt"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnprocessableEntity)
				return
			}
			mu.Lock()
			cache[id] = t
			mu.Unlock()
		}
		w.Write(t[:1024])
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "cached %d, leaked arenas %d MiB\n", len(cache), leaked.Load()>>20)
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	n := 0
	cfg.Every(time.Second/3, func() {
		n++
		url := fmt.Sprintf("%s/thumb/%d", base, rand.IntN(images))
		if n%5 == 0 {
			// An upload that fails to decode: never cached, always decoded.
			url = fmt.Sprintf("%s/thumb/%d?corrupt=1", base, images+n)
		}
		resp, err := client.Get(url)
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
