// Command connpool is a control: a service in front of a database (a fake
// one on loopback, in the same process) whose connection pool grows with
// demand up to its cap. Demand rises by one concurrent caller every 3 s (at
// -rate 1) until 24, the pool's cap, after ~72 s; from then on the pool,
// its buffers and the database's per-connection goroutines stay constant.
// The growth in the first minute (heap and goroutines, one connection at a
// time) looks like a leak until the cap is reached; a pool of
// MaxOpenConns connections reported as a connection leak is a regular
// (go-sql-driver/mysql#1011, flatcar/nebraska#182).
// Expected verdict: not leak (a plateau).
//
// Workload: each caller runs a transaction every 500 ms, holding its
// connection for 400 ms; a connection holds a 32 KiB read buffer on each
// side.
package main

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

const maxConns = 24

// conn is one pooled client connection.
type conn struct {
	c  net.Conn
	rd *bufio.Reader
}

// Pool hands out connections, dialing new ones up to maxConns.
type Pool struct {
	addr string
	mu   sync.Mutex
	idle []*conn
	open int
	wait *sync.Cond
}

func (p *Pool) Get() (*conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) == 0 && p.open >= maxConns {
		p.wait.Wait()
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return c, nil
	}
	nc, err := net.Dial("tcp", p.addr)
	if err != nil {
		return nil, err
	}
	p.open++
	return &conn{c: nc, rd: bufio.NewReaderSize(nc, 32<<10)}, nil // CONTROL: connpool (grows to its cap, then stays)
}

func (p *Pool) Put(c *conn) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	p.wait.Signal()
}

// serveDB is the fake database: one goroutine and buffer per connection.
func serveDB(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			rd := bufio.NewReaderSize(c, 32<<10)
			for {
				q, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				fmt.Fprintf(c, "1 row for %s", q)
			}
		}()
	}
}

func main() {
	cfg := svc.Setup("connpool")
	db, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go serveDB(db)
	p := &Pool{addr: db.Addr().String()}
	p.wait = sync.NewCond(&p.mu)
	var queries atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(w, "open %d idle %d queries %d\n", p.open, len(p.idle), queries.Load())
	})
	cfg.Serve(mux)

	caller := func(id int) {
		cfg.Every(500*time.Millisecond, func() {
			c, err := p.Get()
			if err != nil {
				log.Print(err)
				return
			}
			fmt.Fprintf(c.c, "SELECT * FROM orders WHERE caller = %d\n", id)
			if _, err := c.rd.ReadString('\n'); err != nil {
				log.Print(err)
				return
			}
			queries.Add(1)
			// The transaction holds its connection while the caller works.
			time.Sleep(cfg.Interval(400 * time.Millisecond))
			p.Put(c)
		})
	}
	callers := 0
	cfg.Every(3*time.Second, func() {
		if callers < maxConns {
			callers++
			go caller(callers)
		}
	})
}
