package heapdriftprobe

import (
	"fmt"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
)

// Tracker records who holds a resource: each Acquire adds the caller's stack
// to a custom pprof profile and Release removes it, so the profile, served by
// net/http/pprof at /debug/pprof/<name> like the runtime's own, shows the
// stacks that acquired what is still held. heapdrift reads a series of them
// as it reads goroutine profiles: a stack whose count only grows is a leak.
type Tracker struct {
	name    string
	profile *pprof.Profile
}

// Handle is one acquisition. Release it exactly when the resource is
// released; releasing twice, or the zero Handle, does nothing.
type Handle struct {
	h *handle
}

// handle is the key of one acquisition in the profile; it has a field so
// that every allocation is distinct (zero-size allocations may share an
// address).
type handle struct {
	tracker *Tracker
}

var trackers = struct {
	sync.Mutex
	byName map[string]*Tracker
}{byName: map[string]*Tracker{}}

// Track returns the tracker of the profile name, creating it the first time:
// tracking the same resource from several places shares one profile.
//
// The name must be usable in a URL path under /debug/pprof/ as it is:
// letters, digits and "._~+-", with "/" between non-empty segments other
// than "." and "..". pprof's convention is a package-qualified name, such as
// "example.com/shop/db.conns", which net/http/pprof serves at
// /debug/pprof/example.com/shop/db.conns and lists in its index. Track fails
// on another name, and on a name taken by a profile it did not create (the
// runtime's "heap", or another package's pprof.NewProfile), since pprof
// panics on a duplicate.
func Track(name string) (*Tracker, error) {
	if err := checkProfileName(name); err != nil {
		return nil, err
	}
	trackers.Lock()
	defer trackers.Unlock()
	if t, ok := trackers.byName[name]; ok {
		return t, nil
	}
	if pprof.Lookup(name) != nil {
		return nil, fmt.Errorf("heapdriftprobe: Track(%q): a pprof profile of that name exists and was not made by Track", name)
	}
	profile, err := newProfile(name)
	if err != nil {
		return nil, err
	}
	t := &Tracker{name: name, profile: profile}
	trackers.byName[name] = t
	return t, nil
}

// MustTrack is Track for package-level variables; it panics where Track
// returns an error, which only a wrong name or a name clash can cause.
func MustTrack(name string) *Tracker {
	t, err := Track(name)
	if err != nil {
		panic(err)
	}
	return t
}

// newProfile turns pprof's panic on a name registered between Lookup and
// NewProfile (by a package other than this one) into an error.
func newProfile(name string) (p *pprof.Profile, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("heapdriftprobe: Track(%q): %v", name, r)
		}
	}()
	return pprof.NewProfile(name), nil
}

func checkProfileName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("heapdriftprobe: Track(%q): %s; use letters, digits and \"._~+-\", with \"/\" between segments, e.g. \"example.com/shop/db.conns\"", name, why)
	}
	if name == "" {
		return bad("empty name")
	}
	for _, segment := range strings.Split(name, "/") {
		if segment == "" || segment == "." || segment == ".." {
			return bad(`empty, "." or ".." path segment`)
		}
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("._~+-/", r):
		default:
			return bad(fmt.Sprintf("character %q needs escaping in a URL", r))
		}
	}
	return nil
}

// Name is the profile's name.
func (t *Tracker) Name() string { return t.name }

// Acquire records its caller's stack as holding one resource until the
// returned Handle is released.
//
// Not inlined: pprof's skip counts physical frames, and an inlined Acquire
// would put its own frame atop the caller's stack.
//
//go:noinline
func (t *Tracker) Acquire() Handle {
	h := &handle{tracker: t}
	// Add's skip=0 begins the stack at Add itself (runtime.Callers(1)),
	// despite its doc; 2 begins it at Acquire's caller. The tests check it.
	t.profile.Add(h, 2)
	return Handle{h}
}

// Release ends the acquisition.
func (h Handle) Release() {
	if h.h != nil {
		h.h.tracker.profile.Remove(h.h)
	}
}

// Count is the number of acquisitions not yet released.
func (t *Tracker) Count() int { return t.profile.Count() }

// trackerCounts lists the trackers and their counts, for the index.
func trackerCounts() []trackedProfile {
	trackers.Lock()
	list := make([]trackedProfile, 0, len(trackers.byName))
	for name, t := range trackers.byName {
		list = append(list, trackedProfile{Name: name, Path: "/debug/pprof/" + name, Held: t.Count()})
	}
	trackers.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list
}
