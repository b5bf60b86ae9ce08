// Command slowclient is an upload API served by an http.Server without
// timeouts. Clients on bad networks send their headers and the start of the
// body, then stall, and the server waits for the rest forever: each stalled
// upload holds a goroutine blocked in the handler's read, its connection's
// buffers and a file descriptor. prometheus/prometheus#2238 is this leak
// (Grafana 4.0.0's connections piled up until Prometheus ran out of file
// descriptors; the fix, prometheus/prometheus#2240, set a read timeout);
// weaveworks/scope#1916 is another.
//
// Workload: 4 good uploads per second and 1.5 stalled ones (at -rate 1):
// ~90 goroutines leaked per minute.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

var stored atomic.Int64

func handleUpload(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body) // LEAK: slowclient
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	stored.Add(int64(len(body)))
	fmt.Fprintf(w, "stored %d bytes\n", len(body))
}

func main() {
	cfg := svc.Setup("slowclient")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", handleUpload)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "stored %d bytes\n", stored.Load())
	})
	ln := cfg.Listen()
	addr := ln.Addr().String()
	srv := &http.Server{Handler: mux} // no ReadTimeout, no ReadHeaderTimeout: the bug
	base := cfg.ServeServer(ln, srv)

	client := svc.Client()
	go cfg.Every(250*time.Millisecond, func() {
		resp, err := client.Post(base+"/upload", "application/octet-stream", strings.NewReader(strings.Repeat("x", 8<<10)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
	// The stalled clients: 2 KiB of a 64 KiB upload, then nothing. Their
	// connections stay open (the phones are still on the network).
	var stalled []net.Conn
	cfg.Every(time.Second/3*2, func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			log.Print(err)
			return
		}
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: %s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s", addr, 64<<10, strings.Repeat("\xff", 2<<10))
		stalled = append(stalled, c)
	})
}
