// Command loadgen drives a steady, bounded load against one of the
// third-party services of heapdrift's end-to-end test
// (crates/heapdrift/tests/thirdparty.rs): a NATS broker (publish/subscribe
// and request/reply), etcd (put/get/delete over a bounded key space, through
// its JSON gateway) or an HTTP server (GETs over a fixed set of paths).
//
// Steady means the service's working set has a fixed size once warm: the key
// space, the subjects, the paths and the number of connections are bounded,
// and the rate is constant. Anything that still grows in the service is the
// service's own doing.
//
// It runs until -for elapses or SIGTERM/SIGINT, then prints one line,
// "loadgen KIND: N ops, M errors", and exits 1 if more than 1% of the
// operations failed.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

var (
	kind    = flag.String("kind", "", "nats, etcd or http")
	addr    = flag.String("addr", "", "nats: nats://host:port; etcd and http: http://host:port")
	rate    = flag.Int("rate", 200, "operations per second")
	workers = flag.Int("workers", 4, "concurrent clients")
	keys    = flag.Int("keys", 500, "etcd: size of the key space")
	dur     = flag.Duration("for", 10*time.Minute, "how long to run")
)

var ops, errs atomic.Int64

func main() {
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *dur)
	defer cancelT()

	var op func(w *rand.Rand) error
	switch *kind {
	case "nats":
		op = natsLoad(ctx)
	case "etcd":
		op = etcdOp
	case "http":
		op = httpOp
	default:
		fmt.Fprintln(os.Stderr, "loadgen: -kind must be nats, etcd or http")
		os.Exit(2)
	}
	fmt.Println("loadgen ready")

	// Each worker owns a share of the rate; a tick missed under load is
	// skipped, not made up in a burst.
	var wg sync.WaitGroup
	per := time.Duration(float64(time.Second) * float64(*workers) / float64(*rate))
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			t := time.NewTicker(per)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := op(r); err != nil && ctx.Err() == nil {
						if errs.Add(1) <= 5 {
							fmt.Fprintln(os.Stderr, "loadgen:", err)
						}
					}
					ops.Add(1)
				}
			}
		}(uint64(i))
	}
	wg.Wait()
	n, e := ops.Load(), errs.Load()
	fmt.Printf("loadgen %s: %d ops, %d errors\n", *kind, n, e)
	if e*100 > n {
		os.Exit(1)
	}
}

func payload(r *rand.Rand, min, max int) []byte {
	b := make([]byte, min+r.IntN(max-min))
	for i := range b {
		b[i] = 'a' + byte(r.IntN(26))
	}
	return b
}

// natsLoad connects a few subscribers (a queue group and plain ones over
// 16 subjects) and a responder, and returns an operation that publishes a
// message or makes a request.
func natsLoad(ctx context.Context) func(r *rand.Rand) error {
	connect := func(name string) *nats.Conn {
		nc, err := nats.Connect(*addr, nats.Name(name), nats.MaxReconnects(-1))
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: nats connect:", err)
			os.Exit(1)
		}
		go func() { <-ctx.Done(); nc.Close() }()
		return nc
	}
	sub := connect("loadgen-sub")
	var received atomic.Int64
	count := func(*nats.Msg) { received.Add(1) }
	if _, err := sub.Subscribe("orders.>", count); err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := sub.QueueSubscribe("orders.*", "workers", count); err != nil {
			panic(err)
		}
	}
	responder := connect("loadgen-responder")
	if _, err := responder.Subscribe("svc.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		panic(err)
	}
	if err := sub.Flush(); err != nil {
		panic(err)
	}
	if err := responder.Flush(); err != nil {
		panic(err)
	}
	pub := connect("loadgen-pub")
	return func(r *rand.Rand) error {
		if r.IntN(10) == 0 {
			_, err := pub.Request("svc.echo", payload(r, 16, 256), 2*time.Second)
			return err
		}
		return pub.Publish(fmt.Sprintf("orders.%d", r.IntN(16)), payload(r, 128, 2048))
	}
}

var client = &http.Client{Timeout: 5 * time.Second}

// post sends a JSON request to etcd's gRPC gateway.
func post(path string, body any) error {
	b, _ := json.Marshal(body)
	resp, err := client.Post(*addr+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return nil
}

// etcdOp: 50% put, 40% get, 10% delete, over a bounded key space.
func etcdOp(r *rand.Rand) error {
	key := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "/load/key-%05d", r.IntN(*keys)))
	switch n := r.IntN(10); {
	case n < 5:
		return post("/v3/kv/put", map[string]string{
			"key": key, "value": base64.StdEncoding.EncodeToString(payload(r, 64, 1024)),
		})
	case n < 9:
		return post("/v3/kv/range", map[string]string{"key": key})
	default:
		return post("/v3/kv/deleterange", map[string]string{"key": key})
	}
}

var paths = []string{"/", "/static/small.txt", "/static/large.txt", "/api/status", "/api/items/1", "/missing"}

// httpOp GETs one of a fixed set of paths (some compressed, one a 404).
func httpOp(r *rand.Rand) error {
	req, _ := http.NewRequest("GET", *addr+paths[r.IntN(len(paths))], nil)
	if r.IntN(2) == 0 {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%s: %s", req.URL.Path, resp.Status)
	}
	return nil
}
