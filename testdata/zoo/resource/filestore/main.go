// Command filestore serves documents kept as files on disk, and tracks what
// it holds open with heapdriftprobe.Track: open document files and database
// connections, each counted by the line that acquired them, in custom
// profiles served at /debug/pprof/<name> like the runtime's own.
//
// The bug: a document whose checksum does not match returns early, and that
// path forgets to close its file (nor releases its tracked handle). Go's
// finalizer closes a forgotten *os.File at some later GC, so the process's
// descriptor count hides the bug for a while; the tracked count does not.
// With -fixed every path closes: the control.
//
// Beside it, two things that must not be called leaks: a connection pool
// that opens up to 8 connections on demand and keeps them (a plateau), and
// reads that hold their file while a slow client drains it (churn).
//
// Workload at -rate 1: 20 reads per second, 1 in 5 of a corrupt document
// (about 240 files left open per minute without -fixed).
//
// It lives below the zoo's top level, so the zoo's end-to-end run (which
// judges heap, goroutine and memory markers) leaves it to its own test
// (crates/heapdrift/tests/watch.rs); markers here name the expected
// resource findings.
package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"heapdrift.dev/heapdriftprobe"

	"zoo/internal/svc"
)

var (
	openFiles = heapdriftprobe.MustTrack("heapdrift.dev/zoo/filestore.files")
	dbConns   = heapdriftprobe.MustTrack("heapdrift.dev/zoo/filestore.conns")
)

// docs documents, the last `corrupt` of them damaged on disk after their
// checksums were recorded (bit rot).
const (
	docs    = 60
	corrupt = 10
)

var errCorrupt = errors.New("checksum mismatch")

type store struct {
	dir   string
	sums  [docs][32]byte
	fixed bool
}

// read returns document id, verifying its checksum.
func (s *store) read(id int) ([]byte, error) {
	f, err := os.Open(filepath.Join(s.dir, fmt.Sprintf("%d.doc", id)))
	if err != nil {
		return nil, err
	}
	h := openFiles.Acquire() // RESOURCE-LEAK: heapdrift.dev/zoo/filestore.files
	if s.fixed {
		defer h.Release()
		defer f.Close()
	}
	body, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(body) != s.sums[id] {
		return nil, errCorrupt // the file stays open, the handle held: the bug
	}
	if !s.fixed {
		f.Close()
		h.Release()
	}
	return body, nil
}

// stream holds its file while a slow client drains it, then closes it.
func (s *store) stream(id int, hold time.Duration) error {
	f, err := os.Open(filepath.Join(s.dir, fmt.Sprintf("%d.doc", id%docs)))
	if err != nil {
		return err
	}
	h := openFiles.Acquire() // RESOURCE-CHURN: released after the client drains it
	defer h.Release()
	defer f.Close()
	time.Sleep(hold)
	_, err = io.Copy(io.Discard, f)
	return err
}

// pool opens database connections on demand, up to its size, and keeps
// them.
type pool struct {
	mu    sync.Mutex
	idle  []heapdriftprobe.Handle
	open  int
	limit int
}

func (p *pool) get() (heapdriftprobe.Handle, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return c, true
	}
	if p.open == p.limit {
		return heapdriftprobe.Handle{}, false
	}
	p.open++
	return dbConns.Acquire(), true // RESOURCE-PLATEAU: the pool's connections, opened once
}

func (p *pool) put(c heapdriftprobe.Handle) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func main() {
	fixed := flag.Bool("fixed", false, "close the file on the error path too (the control)")
	cfg := svc.Setup("filestore")
	cfg.Probe = true
	dir, err := os.MkdirTemp("", "filestore-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s := &store{dir: dir, fixed: *fixed}
	for i := 0; i < docs; i++ {
		body := make([]byte, 4096)
		for j := range body {
			body[j] = byte(i * j)
		}
		s.sums[i] = sha256.Sum256(body)
		if i >= docs-corrupt {
			body[0]++
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.doc", i)), body, 0o600); err != nil {
			log.Fatal(err)
		}
	}
	db := &pool{limit: 8}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /doc/{id}", func(w http.ResponseWriter, r *http.Request) {
		var id int
		if _, err := fmt.Sscan(r.PathValue("id"), &id); err != nil || id < 0 || id >= docs {
			http.NotFound(w, r)
			return
		}
		c, ok := db.get()
		if !ok {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		defer db.put(c)
		body, err := s.read(id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(body[:64])
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	n := 0
	cfg.Every(time.Second/20, func() {
		n++
		id := rand.IntN(docs - corrupt)
		if n%5 == 0 {
			id = docs - corrupt + rand.IntN(corrupt)
		}
		go s.stream(n, time.Duration(rand.IntN(300))*time.Millisecond)
		go func() {
			resp, err := client.Get(fmt.Sprintf("%s/doc/%d", base, id))
			if err != nil {
				log.Print(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	})
}
