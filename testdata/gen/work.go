package main

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"

	"fixturegen/internal/codec"
	"fixturegen/internal/store"
)

// Cache is the non-generic session cache; its Put shows up as
// main.(*Cache).Put in profiles.
type Cache struct {
	sessions map[string]*Session
	log      [][]byte
}

// Session is a retained object graph.
type Session struct {
	User    string
	History []string
	Payload []byte
	Kids    *node
}

type node struct {
	left, right *node
	data        []byte
}

func NewCache() *Cache { return &Cache{sessions: make(map[string]*Session)} }

// Put retains a session and an audit line forever (the "leak").
func (c *Cache) Put(key string, s *Session) {
	c.sessions[key] = s
	c.log = append(c.log, []byte(fmt.Sprintf("put %s %d", key, len(s.Payload))))
}

func newPayload(n int) []byte { return make([]byte, n) } // inlined

// buildTree recurses to give stacks some depth.
func buildTree(depth, size int) *node {
	if depth == 0 {
		return &node{data: newPayload(size)}
	}
	return &node{left: buildTree(depth-1, size), right: buildTree(depth-1, size/2+1)}
}

// Map is generic; instantiations appear as main.Map[...].
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// Filter is another generic helper.
func Filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// run performs one phase of the workload; its closures are main.run.func1...
func run(phase int, c *Cache, recs *store.Cache[int, []byte], n int) int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = phase*100000 + i
	}
	records := Map(ids, func(id int) *codec.Record {
		return &codec.Record{
			ID:   id,
			Name: fmt.Sprintf("user-%d", id),
			Tags: strings.Fields("alpha beta gamma"),
			Blob: newPayload(64 + id%7*32),
		}
	})
	encoded := Map(records, codec.Encode)
	big := Filter(encoded, func(b []byte) bool { return len(b) > 128 })
	for i, b := range big {
		recs.Put(ids[i], b)
	}
	total := 0
	for i, r := range records {
		if i%4 == 0 {
			c.Put(r.Name, &Session{
				User:    r.Name,
				History: Map(r.Tags, strings.ToUpper),
				Payload: newPayload(1024 + phase*512),
				Kids:    buildTree(3, 256),
			})
		}
		total += len(encoded[i])
	}
	return total
}

// crunch is CPU-bound work for the CPU profile.
func crunch(rounds int) [32]byte {
	var sum [32]byte
	words := make([]string, 0, 512)
	for i := 0; i < rounds; i++ {
		words = words[:0]
		for j := 0; j < 512; j++ {
			words = append(words, fmt.Sprintf("w%05d", (i*7919+j*104729)%99991))
		}
		sort.Strings(words)
		sum = sha256.Sum256([]byte(strings.Join(words, "")))
	}
	return sum
}

// hashLoop is a second CPU consumer with a different stack.
func hashLoop(n int) byte {
	b := make([]byte, 4096)
	var acc byte
	for i := 0; i < n; i++ {
		s := sha256.Sum256(b)
		b[i%len(b)] = s[0]
		acc ^= s[1]
	}
	return acc
}
