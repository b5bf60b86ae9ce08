// Command errgroup is a search indexer whose reindex job streams documents
// from a producer goroutine, started on an errgroup, to the job's own loop.
// When a document fails validation the job returns its error at once, and
// the group's Wait is never reached: the group's context is cancelled only
// by Wait or by a failing member, so the producer waits in its select (send
// the next document, or stop when the context is done) forever. This is the
// early return of dgraph-io/dgraph#3074 ("multiple goroutines are executed
// and returned early in case of error ... we don't wait for other goroutines
// to terminate while blocked on sending to the channel"), with an errgroup;
// the group here is a minimal copy of golang.org/x/sync/errgroup.
//
// Workload: 5 reindex jobs per second (at -rate 1), 40% of them hit a bad
// document: ~2 goroutines leaked per second. The group's context is a child
// of the indexer's long-lived root, so it stays reachable and the runtime's
// goroutineleak profile cannot report these goroutines.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

// Group is golang.org/x/sync/errgroup.Group, reduced to what the job uses.
type Group struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errOnce sync.Once
	err     error
}

func WithContext(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &Group{cancel: cancel}, ctx
}

func (g *Group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.errOnce.Do(func() {
				g.err = err
				if g.cancel != nil {
					g.cancel()
				}
			})
		}
	}()
}

func (g *Group) Wait() error {
	g.wg.Wait()
	if g.cancel != nil {
		g.cancel()
	}
	return g.err
}

// Doc is one document to index.
type Doc struct {
	ID   int
	Body string
}

var errInvalid = errors.New("invalid document")

// Indexer rebuilds shards of the search index.
type Indexer struct {
	root           context.Context
	jobs, failed   atomic.Int64
	indexed        atomic.Int64
	docsPerReshard int
}

func (ix *Indexer) load(shard, i int) Doc {
	body := fmt.Sprintf("shard %d document %d", shard, i)
	if i == 7 && shard%5 < 2 { // a corrupt document in 2 shards out of 5
		body = ""
	}
	return Doc{ID: shard*1000 + i, Body: body}
}

func (ix *Indexer) reindex(shard int) error {
	g, ctx := WithContext(ix.root)
	docs := make(chan Doc)
	g.Go(func() error {
		defer close(docs)
		for i := range ix.docsPerReshard {
			select { // LEAK: errgroup
			case docs <- ix.load(shard, i):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for d := range docs {
		if strings.TrimSpace(d.Body) == "" {
			ix.failed.Add(1)
			return fmt.Errorf("doc %d: %w", d.ID, errInvalid) // Wait is never reached: the bug
		}
		ix.indexed.Add(1)
	}
	return g.Wait()
}

func main() {
	cfg := svc.Setup("errgroup")
	root, stop := context.WithCancel(context.Background())
	defer stop()
	ix := &Indexer{root: root, docsPerReshard: 20}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /shards/{n}/reindex", func(w http.ResponseWriter, r *http.Request) {
		var shard int
		fmt.Sscan(r.PathValue("n"), &shard)
		ix.jobs.Add(1)
		if err := ix.reindex(shard); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "jobs %d failed %d indexed %d\n", ix.jobs.Load(), ix.failed.Load(), ix.indexed.Load())
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	n := 0
	cfg.Every(200*time.Millisecond, func() {
		n++
		resp, err := client.Post(fmt.Sprintf("%s/shards/%d/reindex", base, n), "text/plain", nil)
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
