// Package heapdriftprobe is heapdrift's companion inside a Go service: what
// a pprof endpoint cannot tell a leak hunter from the outside.
//
//   - [Register] serves /debug/heapdrift/: a JSON [Snapshot] of the process's
//     memory as the kernel, its cgroup and the Go runtime each count it, and
//     a pass-through of the runtime's goroutineleak profile.
//   - [Guard] watches RSS and Go's memory against the effective limit and,
//     before the process is killed or thrashes in GC, writes a heap profile,
//     a goroutine dump and a snapshot into a directory heapdrift reads as a
//     series.
//   - [Track] records who holds a resource (a connection, a file, a lease)
//     in a custom pprof profile served by net/http/pprof.
//
// The package [heapdrift.dev/heapdriftprobe/leaktest] checks in tests that an
// operation retains nothing per call. The package uses only the standard
// library, and imports neither net/http/pprof (whose init registers handlers
// on http.DefaultServeMux) nor testing. The file formats and JSON fields are
// documented in the heapdrift repository's docs/probe.md.
package heapdriftprobe
