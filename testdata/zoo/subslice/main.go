// Command subslice is a blob-ingest service. Each upload is read into a fresh
// 64 KiB buffer; the service keeps the 16-byte object id from the start of
// the blob in a long-lived "recent uploads" index. The id is a subslice of
// the read buffer, so every index entry pins the whole 64 KiB backing array.
//
// Workload: 1 upload per second (at -rate 1): ~3.8 MiB per minute retained.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

const blobSize = 64 << 10

// Upload is what the index remembers about one blob.
type Upload struct {
	ID       []byte // first 16 bytes of the blob: aliases the read buffer
	Size     int
	Checksum [sha256.Size]byte
	At       time.Time
}

type store struct {
	mu     sync.Mutex
	recent []Upload // bounded "later": nothing trims it
	bytes  int64
}

func (s *store) handleUpload(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, blobSize) // LEAK: subslice
	n, err := io.ReadFull(r.Body, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n < 16 {
		http.Error(w, "blob too short", http.StatusBadRequest)
		return
	}
	up := Upload{ID: buf[:16], Size: n, Checksum: sha256.Sum256(buf[:n]), At: time.Now()}
	s.mu.Lock()
	s.recent = append(s.recent, up)
	s.bytes += int64(n)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": hex.EncodeToString(up.ID), "size": n, "sha256": hex.EncodeToString(up.Checksum[:])})
}

func (s *store) handleRecent(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ids := make([]string, 0, 10)
	for i := len(s.recent) - 1; i >= 0 && len(ids) < 10; i-- {
		ids = append(ids, hex.EncodeToString(s.recent[i].ID))
	}
	total := s.bytes
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"recent": ids, "bytes": total})
}

func main() {
	cfg := svc.Setup("subslice")
	s := &store{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", s.handleUpload)
	mux.HandleFunc("GET /recent", s.handleRecent)
	base := cfg.Serve(mux)

	client := svc.Client()
	blob := make([]byte, blobSize)
	n := 0
	cfg.Every(time.Second, func() {
		n++
		for i := range blob {
			blob[i] = byte(rand.Uint32())
		}
		resp, err := client.Post(base+"/upload", "application/octet-stream", bytes.NewReader(blob))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n%10 == 0 {
			if resp, err := client.Get(base + "/recent"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
}
