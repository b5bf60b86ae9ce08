// Command connstate is a chat gateway that keeps per-connection state in a
// sync.Map, filled by the http.Server's ConnState hook on StateNew and
// emptied on StateClosed: the shape of miekg/dns#807 (CoreDNS), where every
// TCP connection's entry stayed in the server's conns map because the
// delete could never match it. Here the miss is the one getlantern's proxy
// hit (getlantern/http-proxy-archived#52): a hijacked connection (a
// WebSocket upgrade) never reaches StateClosed, so its state (a 16 KiB
// rate-limiter and read buffer) is never deleted.
//
// Workload: 4 upgrades per second (at -rate 1), each a new connection that
// is hijacked, used and closed: ~3.75 MiB per minute retained; 10 plain
// keep-alive requests per second alongside, whose state is removed.
package main

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// connInfo is what the gateway tracks per client connection.
type connInfo struct {
	remote  string
	opened  time.Time
	limiter []byte // token-bucket history and a read buffer
	msgs    atomic.Int64
}

// tracker holds the state of every open connection.
type tracker struct {
	conns sync.Map // net.Conn -> *connInfo
	open  atomic.Int64
}

func (t *tracker) hook(c net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		info := &connInfo{remote: c.RemoteAddr().String(), opened: time.Now()}
		info.limiter = make([]byte, 16<<10) // LEAK: connstate
		t.conns.Store(c, info)
		t.open.Add(1)
	case http.StateClosed:
		// Hijacked connections never get here (the bug): StateHijacked is
		// their last state.
		if _, ok := t.conns.LoadAndDelete(c); ok {
			t.open.Add(-1)
		}
	}
}

func main() {
	cfg := svc.Setup("connstate")
	t := &tracker{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "room %s: 3 members\n", r.PathValue("room"))
	})
	mux.HandleFunc("GET /ws/{room}", func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		// One message in, one out, then the client leaves.
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		rw.WriteString("echo " + line)
		rw.Flush()
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tracked connections %d\n", t.open.Load())
	})

	ln := cfg.Listen()
	addr := ln.Addr().String()
	// The pprof endpoints run on the same server, whose ConnState hook is
	// the tracker.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnState: t.hook}
	base := cfg.ServeServer(ln, srv)

	client := svc.Client()
	go cfg.Every(100*time.Millisecond, func() {
		resp, err := client.Get(base + "/rooms/lobby")
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
	n := 0
	cfg.Every(250*time.Millisecond, func() {
		n++
		c, err := net.Dial("tcp", addr)
		if err != nil {
			log.Print(err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /ws/room-%d HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", n%50, addr)
		br := bufio.NewReader(c)
		status, err := br.ReadString('\n')
		if err != nil || !strings.Contains(status, "101") {
			log.Printf("upgrade: %q %v", status, err)
			return
		}
		for { // the rest of the 101 response's header
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		fmt.Fprintf(c, "hello %d\n", n)
		br.ReadString('\n')
	})
}
