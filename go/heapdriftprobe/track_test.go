package heapdriftprobe

import (
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"strings"
	"testing"
)

// openConn stands for code that acquires a resource; its name must appear in
// the tracker's profile.
func openConn(t *Tracker) Handle { return t.Acquire() }

func TestTrackServedByNetHTTPPprof(t *testing.T) {
	const name = "example.com/shop/db.conns"
	tr, err := Track(name)
	if err != nil {
		t.Fatal(err)
	}
	held := []Handle{openConn(tr), openConn(tr), openConn(tr)}
	held[0].Release()
	held[0].Release() // twice: no effect
	Handle{}.Release()
	if tr.Count() != 2 {
		t.Fatalf("Count = %d after 3 acquires and 1 release, want 2", tr.Count())
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, body := get(t, srv.URL+"/debug/pprof/"+name+"?debug=1")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	text := string(body)
	if !strings.HasPrefix(text, name+" profile: total 2\n") {
		t.Errorf("profile header: %.80q", text)
	}
	// Acquire's frame is skipped: the stack begins at its caller.
	if !strings.Contains(text, "heapdriftprobe.openConn+") || strings.Contains(text, "(*Tracker).Acquire") {
		t.Errorf("stack does not begin at the caller of Acquire:\n%s", text)
	}
	if resp, _ := get(t, srv.URL+"/debug/pprof/"+name); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("proto: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// net/http/pprof's index links the profile by its name, relative to
	// /debug/pprof/, which the link above followed.
	_, index := get(t, srv.URL+"/debug/pprof/")
	if !strings.Contains(string(index), "href='"+name+"?debug=1'") {
		t.Errorf("index does not link %s:\n%s", name, index)
	}
	for _, h := range held[1:] {
		h.Release()
	}
	if tr.Count() != 0 {
		t.Errorf("Count = %d after releasing all", tr.Count())
	}
}

func TestTrackSameNameReturnsSameTracker(t *testing.T) {
	a, err := Track("example.com/shop/files")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Track("example.com/shop/files")
	if err != nil || a != b {
		t.Errorf("second Track = %p, %v; want the first tracker %p", b, err, a)
	}
	if MustTrack("example.com/shop/files") != a {
		t.Error("MustTrack returned another tracker")
	}
}

func TestTrackRefusesTakenAndBadNames(t *testing.T) {
	for _, name := range []string{"heap", "goroutine"} {
		if _, err := Track(name); err == nil || !strings.Contains(err.Error(), "not made by Track") {
			t.Errorf("Track(%q) = %v, want a name-clash error", name, err)
		}
	}
	for name, why := range map[string]string{
		"":                 "empty name",
		"db conns":         "character ' '",
		"db?conns":         "character '?'",
		"db%20conns":       "character '%'",
		"/db.conns":        "path segment",
		"example.com//x":   "path segment",
		"example.com/../x": "path segment",
		"x/":               "path segment",
	} {
		_, err := Track(name)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("Track(%q) = %v, want an error naming %s", name, err, why)
		}
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustTrack(\"heap\") did not panic")
		}
	}()
	MustTrack("heap")
}

func BenchmarkTrackAcquireRelease(b *testing.B) {
	tr := MustTrack("heapdrift.dev/bench.acquire")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Acquire().Release()
	}
}
