// Command informer is a pod-metadata cache fed by a watch stream, modelled on
// the k8sattributes processor of the OpenTelemetry Collector
// (open-telemetry/opentelemetry-collector-contrib#48987). Every pod is
// indexed by its UID and by its IP, so spans can be enriched by either. A
// delete event carries the pod's final state, and a pod that has already
// been torn down has no IP in it any more: the UID entry is removed, the IP
// entry is not. Pod IPs are never reused here (as in a big cluster's pod
// CIDR), so the key set only grows and every deleted pod stays decoded in
// the IP index.
//
// Workload: 10 pods per second (at -rate 1) are created and deleted ~15 s
// later; each decoded pod holds ~6 KiB of labels and annotations: ~3.5 MiB
// per minute retained.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"zoo/internal/svc"
)

// Pod is the part of a pod object the processor keeps.
type Pod struct {
	UID         string            `json:"uid"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	IP          string            `json:"ip,omitempty"`
	Node        string            `json:"node"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// Event is one watch event as it arrives on the wire.
type Event struct {
	Type   string          `json:"type"` // ADDED, DELETED
	Object json.RawMessage `json:"object"`
}

// Cache indexes pods by UID and by IP.
type Cache struct {
	mu    sync.RWMutex
	byUID map[string]*Pod
	byIP  map[string]*Pod
}

func (c *Cache) handle(ev Event) error {
	var p Pod
	if err := json.Unmarshal(ev.Object, &p); err != nil { // LEAK: informer
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Type {
	case "ADDED":
		c.byUID[p.UID] = &p
		if p.IP != "" {
			c.byIP[p.IP] = &p
		}
	case "DELETED":
		// The identifiers come from the delete event's object: its IP is
		// already gone, so the IP entry stays (the bug).
		delete(c.byUID, p.UID)
		if p.IP != "" {
			delete(c.byIP, p.IP)
		}
	}
	return nil
}

// apiServer fakes the cluster: it creates pods and deletes them later,
// sending each change as a watch event.
type apiServer struct {
	events chan []byte
	next   int
}

func (a *apiServer) podJSON(i int, withIP bool) []byte {
	p := Pod{
		UID:         fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i, i%65536, i%4096, (i*7)%4096, i*2654435761),
		Name:        fmt.Sprintf("checkout-7d9f8c-%05d", i),
		Namespace:   "shop",
		Node:        fmt.Sprintf("node-%02d", i%40),
		Labels:      map[string]string{},
		Annotations: map[string]string{},
	}
	if withIP {
		p.IP = fmt.Sprintf("10.%d.%d.%d", 64+i/65536%64, i/256%256, i%256)
	}
	for k := range 24 {
		p.Labels[fmt.Sprintf("team.example.com/label-%02d", k)] = fmt.Sprintf("value-%d-%d", i, k)
	}
	for k := range 12 {
		p.Annotations[fmt.Sprintf("checksum/config-%02d", k)] = strings.Repeat(fmt.Sprintf("%08x", uint32(i*31+k)), 32)
	}
	b, _ := json.Marshal(p)
	return b
}

func (a *apiServer) create() int {
	a.next++
	ev, _ := json.Marshal(Event{Type: "ADDED", Object: a.podJSON(a.next, true)})
	a.events <- ev
	return a.next
}

func (a *apiServer) delete(i int) {
	ev, _ := json.Marshal(Event{Type: "DELETED", Object: a.podJSON(i, false)})
	a.events <- ev
}

func main() {
	cfg := svc.Setup("informer")
	c := &Cache{byUID: map[string]*Pod{}, byIP: map[string]*Pod{}}
	api := &apiServer{events: make(chan []byte, 64)}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /pods/by-ip/{ip}", func(w http.ResponseWriter, r *http.Request) {
		c.mu.RLock()
		p, ok := c.byIP[r.PathValue("ip")]
		c.mu.RUnlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		c.mu.RLock()
		defer c.mu.RUnlock()
		fmt.Fprintf(w, "pods by uid %d, by ip %d\n", len(c.byUID), len(c.byIP))
	})
	base := cfg.Serve(mux)

	// The informer: decode and apply watch events as they arrive.
	go func() {
		for raw := range api.events {
			var ev Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				log.Print(err)
				continue
			}
			if err := c.handle(ev); err != nil {
				log.Print(err)
			}
		}
	}()

	// Span enrichment looks pods up by IP now and then.
	client := svc.Client()
	go cfg.Every(time.Second, func() {
		resp, err := client.Get(fmt.Sprintf("%s/pods/by-ip/10.64.0.%d", base, rand.IntN(200)))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})

	// The cluster: 10 pods a second, each deleted ~15 s after it started.
	type pending struct {
		id  int
		due time.Time
	}
	var live []pending
	cfg.Every(100*time.Millisecond, func() {
		now := time.Now()
		live = append(live, pending{api.create(), now.Add(cfg.Interval(15 * time.Second))})
		for len(live) > 0 && now.After(live[0].due) {
			api.delete(live[0].id)
			live[0] = pending{}
			live = live[1:]
		}
	})
}
