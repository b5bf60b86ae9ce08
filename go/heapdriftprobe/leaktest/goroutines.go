package leaktest

import (
	"bytes"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// goroutine is one goroutine of a runtime.Stack dump.
type goroutine struct {
	id    uint64
	state string
	// stack is the dump's text without the header line, for grouping
	// and for the failure message.
	stack string
}

// dumpGoroutines parses runtime.Stack(all): blocks of "goroutine N [state]:"
// and frames, separated by blank lines. The runtime leaves its own system
// goroutines out of it.
func dumpGoroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		header, rest, _ := strings.Cut(string(block), "\n")
		fields, ok := strings.CutPrefix(header, "goroutine ")
		if !ok {
			continue
		}
		idText, state, _ := strings.Cut(fields, " ")
		id, err := strconv.ParseUint(idText, 10, 64)
		if err != nil {
			continue
		}
		state = strings.TrimSuffix(strings.TrimPrefix(state, "["), "]:")
		gs = append(gs, goroutine{id: id, state: state, stack: rest})
	}
	return gs
}

func goroutineIDs() map[uint64]bool {
	ids := map[uint64]bool{}
	for _, g := range dumpGoroutines() {
		ids[g.id] = true
	}
	return ids
}

// Goroutines that are not the operation's: the testing framework's
// runners, and the runtime's helpers that run as user goroutines.
var ignoredByDefault = []string{
	"testing.tRunner",
	"testing.runTests",
	"testing.(*T).Run",
	"testing.(*B).run1",
	"testing.(*F).Fuzz",
	"runtime.ReadTrace",
	"runtime.ensureSigM",
	"os/signal.signal_recv",
	"os/signal.loop",
}

// ignored says whether one of names is a function in the stack: a line that
// starts with it followed by "(" (arguments) or "[" (generics).
func (g goroutine) ignored(names []string) bool {
	for _, line := range strings.Split(g.stack, "\n") {
		if strings.HasPrefix(line, "\t") {
			continue // file:line
		}
		line = strings.TrimPrefix(line, "created by ")
		for _, name := range names {
			if rest, ok := strings.CutPrefix(line, name); ok && (rest == "" || rest[0] == '(' || rest[0] == '[' || rest[0] == ' ') {
				return true
			}
		}
	}
	return false
}

// waitForGoroutines returns the goroutines not in before, other than the
// caller and the ignored, still there after the grace period. It looks
// again and again, from 1 ms apart doubling up to 100 ms (as goleak does),
// so that goroutines about to end do not count.
func waitForGoroutines(before map[uint64]bool, opts Options) []goroutine {
	ignore := append(append([]string{}, ignoredByDefault...), opts.IgnoreGoroutines...)
	deadline := time.Now().Add(opts.GoroutineGrace)
	wait := time.Millisecond
	for {
		var leaked []goroutine
		gs := dumpGoroutines()
		for i, g := range gs {
			// The first goroutine of the dump is the caller's.
			if i == 0 || before[g.id] || g.ignored(ignore) {
				continue
			}
			leaked = append(leaked, g)
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// describeGoroutines groups the leaked goroutines by stack (arguments and
// goroutine numbers left out), largest group first.
func describeGoroutines(leaked []goroutine, opts Options) string {
	type group struct {
		state, stack string
		count        int
	}
	groups := map[string]*group{}
	for _, g := range leaked {
		stack := normalizeStack(g.stack)
		state, _, _ := strings.Cut(g.state, ",") // "chan receive, 2 minutes"
		key := state + "\n" + stack
		if groups[key] == nil {
			groups[key] = &group{state: state, stack: stack}
		}
		groups[key].count++
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].count > list[j].count })
	var b strings.Builder
	calls := opts.Rounds * opts.CallsPerRound
	fmt.Fprintf(&b, "leaktest: %d goroutines started during the %d measured rounds (%d calls) are still running %v after them",
		len(leaked), opts.Rounds, calls, opts.GoroutineGrace)
	if len(leaked) >= calls {
		fmt.Fprintf(&b, " (%.1f per call)", float64(len(leaked))/float64(calls))
	}
	b.WriteString(":\n")
	for _, g := range list {
		fmt.Fprintf(&b, "%d goroutines [%s]:\n%s\n", g.count, g.state, g.stack)
	}
	return b.String()
}

// normalizeStack drops what differs between goroutines of one stack:
// argument values, frame offsets and the creating goroutine's number.
func normalizeStack(stack string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(stack, "\n"), "\n") {
		if strings.HasPrefix(line, "\t") {
			if i := strings.LastIndex(line, " +0x"); i >= 0 {
				line = line[:i]
			}
		} else if rest, ok := strings.CutPrefix(line, "created by "); ok {
			if i := strings.Index(rest, " in goroutine "); i >= 0 {
				rest = rest[:i]
			}
			line = "created by " + rest
		} else if i := strings.LastIndex(line, "("); i >= 0 && strings.HasSuffix(line, ")") {
			line = line[:i] + "(...)"
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
