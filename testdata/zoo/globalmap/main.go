// Command globalmap is a login service whose session cache is a package-level
// map that nothing ever evicts: every login adds a ~6 KiB session for good.
//
// Workload: 10 logins per second (at -rate 1), each followed by a profile
// read, from the service's own loopback client.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"time"

	"zoo/internal/svc"
)

// Event is one entry of a session's activity history.
type Event struct {
	At     time.Time
	Kind   string
	Path   string
	Detail [48]byte
}

// Session is what a login creates. History is preallocated so that appends
// during the session do not reallocate.
type Session struct {
	ID      string
	User    string
	Created time.Time
	History []Event
}

var (
	mu sync.RWMutex
	// sessions is keyed by session id. Sessions are supposed to expire after
	// 30 minutes of inactivity, but the sweeper was never written.
	sessions = map[string]*Session{}
)

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type loginResponse struct {
	Session string `json:"session"`
	Expires string `json:"expires"`
}

func newSessionID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.User == "" {
		http.Error(w, "bad login", http.StatusBadRequest)
		return
	}
	id := newSessionID()
	now := time.Now()
	mu.Lock()
	sessions[id] = &Session{ID: id, User: req.User, Created: now, History: make([]Event, 0, 64)} // LEAK: globalmap
	mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(loginResponse{Session: id, Expires: now.Add(30 * time.Minute).Format(time.RFC3339)})
}

func handleMe(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("session")
	mu.Lock()
	s, ok := sessions[id]
	if ok {
		s.History = append(s.History, Event{At: time.Now(), Kind: "view", Path: r.URL.Path})
	}
	mu.Unlock()
	if !ok {
		http.Error(w, "no such session", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"user": s.User, "since": s.Created.Format(time.RFC3339), "events": len(s.History)})
}

func handleStats(w http.ResponseWriter, r *http.Request) {
	mu.RLock()
	n := len(sessions)
	mu.RUnlock()
	fmt.Fprintf(w, "sessions %d\n", n)
}

func main() {
	cfg := svc.Setup("globalmap")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", handleLogin)
	mux.HandleFunc("GET /me", handleMe)
	mux.HandleFunc("GET /stats", handleStats)
	base := cfg.Serve(mux)

	client := svc.Client()
	users := []string{"ada", "grace", "linus", "ken", "barbara", "edsger"}
	n := 0
	cfg.Every(100*time.Millisecond, func() {
		n++
		body, _ := json.Marshal(loginRequest{User: users[n%len(users)], Password: "hunter2"})
		resp, err := client.Post(base+"/login", "application/json", bytes.NewReader(body))
		if err != nil {
			log.Print(err)
			return
		}
		var lr loginResponse
		err = json.NewDecoder(resp.Body).Decode(&lr)
		resp.Body.Close()
		if err != nil {
			log.Print(err)
			return
		}
		resp, err = client.Get(base + "/me?session=" + lr.Session)
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
