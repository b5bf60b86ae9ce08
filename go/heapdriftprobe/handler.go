package heapdriftprobe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/pprof"
	"strconv"
)

// Prefix is where Register serves.
const Prefix = "/debug/heapdrift/"

// Register serves heapdrift's endpoints on mux under /debug/heapdrift/:
//
//	/debug/heapdrift/               the index: what is served (JSON)
//	/debug/heapdrift/snapshot       a Snapshot (JSON); ?smaps_rollup=1 adds
//	                                /proc/self/smaps_rollup (see SnapshotOptions)
//	/debug/heapdrift/goroutineleak  the runtime's goroutineleak profile
//
// It registers one pattern without a method, so that it works under both
// ServeMux syntaxes (GODEBUG=httpmuxgo121), and answers methods other than
// GET and HEAD with 405. It does not register net/http/pprof, whose
// /debug/pprof/ serves the trackers of Track.
func Register(mux *http.ServeMux) {
	mux.Handle(Prefix, http.HandlerFunc(serve))
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "heapdrift: only GET and HEAD are served", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case Prefix:
		writeJSON(w, index())
	case Prefix + "snapshot":
		writeJSON(w, TakeSnapshot(SnapshotOptions{SmapsRollup: r.FormValue("smaps_rollup") == "1"}))
	case Prefix + "goroutineleak":
		serveGoroutineLeak(w, r)
	default:
		http.Error(w, fmt.Sprintf("heapdrift: %s is not served; %s lists what is", r.URL.Path, Prefix), http.StatusNotFound)
	}
}

// IndexVersion is the version of the index JSON schema.
const IndexVersion = 1

type indexDoc struct {
	Version   int              `json:"version"`
	Endpoints []endpoint       `json:"endpoints"`
	Trackers  []trackedProfile `json:"trackers"`
}

type endpoint struct {
	Path        string `json:"path"`
	Available   bool   `json:"available"`
	Description string `json:"description"`
}

type trackedProfile struct {
	Name string `json:"name"`
	// Path is served by net/http/pprof, when the program registers it.
	Path string `json:"path"`
	Held int    `json:"held"`
}

func index() indexDoc {
	return indexDoc{
		Version: IndexVersion,
		Endpoints: []endpoint{
			{Prefix + "snapshot", true, fmt.Sprintf("memory snapshot: RSS, cgroup, GOMEMLIMIT, runtime/metrics, build (JSON, version %d); ?smaps_rollup=1 adds PSS (costs ~20 us per MiB of RSS)", SnapshotVersion)},
			{Prefix + "goroutineleak", hasGoroutineLeakProfile(), "the runtime's goroutineleak profile (Go 1.27+, or 1.26 with GOEXPERIMENT=goroutineleakprofile); ?debug=1 or 2 for text; runs a leak-detecting GC"},
		},
		Trackers: trackerCounts(),
	}
}

func hasGoroutineLeakProfile() bool { return pprof.Lookup("goroutineleak") != nil }

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "heapdrift: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(append(body, '\n'))
}

// serveGoroutineLeak answers as net/http/pprof answers for its profiles, so
// that heapdrift and go tool pprof read both alike.
func serveGoroutineLeak(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		http.Error(w, "heapdrift: this runtime has no goroutineleak profile (it needs Go 1.27+, or Go 1.26 built with GOEXPERIMENT=goroutineleakprofile)", http.StatusNotFound)
		return
	}
	debug := 0
	if s := r.FormValue("debug"); s != "" {
		var err error
		if debug, err = strconv.Atoi(s); err != nil || debug < 0 {
			http.Error(w, fmt.Sprintf("heapdrift: debug=%q is not a number 0, 1 or 2", s), http.StatusBadRequest)
			return
		}
	}
	if debug != 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="goroutineleak"`)
	}
	// An error here is a failed write to the client, after the headers
	// went out: nothing is left to tell it.
	_ = p.WriteTo(w, debug)
}
