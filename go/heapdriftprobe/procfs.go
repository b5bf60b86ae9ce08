package heapdriftprobe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unsafe"
)

// The kernel's files are read through an fs.FS rooted at "/" so that tests
// can substitute the files of other machines (cgroup v1, v2, none).

// RSS is the process's resident memory as /proc/self/status reports it. A
// field the kernel does not print (RssAnon and friends arrived in Linux 4.5)
// is nil.
type RSS struct {
	VmRSSBytes    *uint64 `json:"vm_rss_bytes"`
	RssAnonBytes  *uint64 `json:"rss_anon_bytes"`
	RssFileBytes  *uint64 `json:"rss_file_bytes"`
	RssShmemBytes *uint64 `json:"rss_shmem_bytes"`
	// VmHWMBytes is the peak RSS since the process started.
	VmHWMBytes *uint64 `json:"vm_hwm_bytes"`
}

// SmapsRollup is /proc/self/smaps_rollup (Linux 4.14+): the proportional set
// size splits pages shared with other processes, which RSS counts in full.
type SmapsRollup struct {
	RssBytes          *uint64 `json:"rss_bytes"`
	PssBytes          *uint64 `json:"pss_bytes"`
	PssAnonBytes      *uint64 `json:"pss_anon_bytes"`
	PssFileBytes      *uint64 `json:"pss_file_bytes"`
	PssShmemBytes     *uint64 `json:"pss_shmem_bytes"`
	SharedCleanBytes  *uint64 `json:"shared_clean_bytes"`
	SharedDirtyBytes  *uint64 `json:"shared_dirty_bytes"`
	PrivateCleanBytes *uint64 `json:"private_clean_bytes"`
	PrivateDirtyBytes *uint64 `json:"private_dirty_bytes"`
	AnonymousBytes    *uint64 `json:"anonymous_bytes"`
	SwapBytes         *uint64 `json:"swap_bytes"`
}

// Cgroup is the memory controller of the process's cgroup.
type Cgroup struct {
	// Version is 1 or 2.
	Version int `json:"version"`
	// Dir is the cgroup's directory whose usage is reported.
	Dir string `json:"dir"`
	// LimitBytes is the smallest limit set on the cgroup or any ancestor
	// visible to the process (the kernel enforces each of them); nil when
	// none is set.
	LimitBytes *uint64 `json:"limit_bytes"`
	// LimitDir is the directory whose limit is LimitBytes.
	LimitDir *string `json:"limit_dir"`
	// UsageBytes is memory.current (v2) or memory.usage_in_bytes (v1): it
	// includes the page cache, which the kernel reclaims before it kills.
	UsageBytes *uint64 `json:"usage_bytes"`
}

// kB lines ("VmRSS:	    1700 kB") into bytes, by key. Only the keys in
// want are kept, so that nothing else is allocated.
func parseKBLines(data []byte, want map[string]**uint64) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		dst, ok := want[string(line[:colon])]
		if !ok {
			continue
		}
		fields := bytes.Fields(line[colon+1:])
		if len(fields) != 2 || string(fields[1]) != "kB" {
			continue
		}
		n, err := strconv.ParseUint(string(fields[0]), 10, 64)
		if err != nil {
			continue
		}
		bytes := n * 1024
		*dst = &bytes
	}
}

func parseStatus(data []byte) *RSS {
	var r RSS
	parseKBLines(data, map[string]**uint64{
		"VmRSS":    &r.VmRSSBytes,
		"RssAnon":  &r.RssAnonBytes,
		"RssFile":  &r.RssFileBytes,
		"RssShmem": &r.RssShmemBytes,
		"VmHWM":    &r.VmHWMBytes,
	})
	if r == (RSS{}) {
		return nil
	}
	return &r
}

func parseSmapsRollup(data []byte) *SmapsRollup {
	var s SmapsRollup
	parseKBLines(data, map[string]**uint64{
		"Rss":           &s.RssBytes,
		"Pss":           &s.PssBytes,
		"Pss_Anon":      &s.PssAnonBytes,
		"Pss_File":      &s.PssFileBytes,
		"Pss_Shmem":     &s.PssShmemBytes,
		"Shared_Clean":  &s.SharedCleanBytes,
		"Shared_Dirty":  &s.SharedDirtyBytes,
		"Private_Clean": &s.PrivateCleanBytes,
		"Private_Dirty": &s.PrivateDirtyBytes,
		"Anonymous":     &s.AnonymousBytes,
		"Swap":          &s.SwapBytes,
	})
	if s == (SmapsRollup{}) {
		return nil
	}
	return &s
}

// vmRSSBytes finds VmRSS in /proc/self/status without allocating: Guard's
// poll runs it every interval for the life of the process.
func vmRSSBytes(status []byte) (uint64, bool) {
	i := bytes.Index(status, []byte("\nVmRSS:"))
	if i < 0 {
		return 0, false
	}
	rest := status[i+len("\nVmRSS:"):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	rest = bytes.TrimSpace(rest)
	digits, ok := bytes.CutSuffix(rest, []byte(" kB"))
	if !ok {
		return 0, false
	}
	var n uint64
	for _, c := range bytes.TrimSpace(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n * 1024, true
}

// Where the kernel's cgroup hierarchies are conventionally mounted (systemd,
// Docker, Kubernetes). A process that sees another mount is reported without
// a cgroup rather than with a guessed one.
const (
	cgroup2Root = "sys/fs/cgroup"
	cgroup1Root = "sys/fs/cgroup/memory"
)

// cgroup v1 reports "no limit" as the largest page-aligned int64
// (9223372036854771712); anything this large is no limit.
const cgroup1Unlimited = 1 << 62

// cgroupFiles are the files of the process's memory cgroup, found once:
// a process stays in its cgroup unless something moves it, while the limits
// and usage are read at every use, since they change.
type cgroupFiles struct {
	version int
	dir     string
	usage   string
	// limits are the limit files of dir and of its ancestors, nearest
	// first: the kernel enforces every one of them.
	limits []string
}

// findCgroup finds the process's memory cgroup: v2 when /sys/fs/cgroup is
// a cgroup2 mount with the memory controller, else v1; nil when neither is
// visible.
func findCgroup(fsys fs.FS) *cgroupFiles {
	self, err := readSmallFile(fsys, "proc/self/cgroup")
	if err != nil {
		return nil
	}
	v2Path, v1Path := cgroupPaths(self)
	if v2Path != "" {
		if cg := findCgroupDir(fsys, 2, cgroup2Root, v2Path, "memory.max", "memory.current"); cg != nil {
			return cg
		}
	}
	if v1Path != "" {
		return findCgroupDir(fsys, 1, cgroup1Root, v1Path, "memory.limit_in_bytes", "memory.usage_in_bytes")
	}
	return nil
}

// cgroupPaths reads /proc/self/cgroup: "0::/path" is the v2 hierarchy,
// "N:memory[,...]:/path" the v1 memory controller.
func cgroupPaths(data []byte) (v2, v1 string) {
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
			continue
		}
		for _, controller := range strings.Split(parts[1], ",") {
			if controller == "memory" {
				v1 = parts[2]
			}
		}
	}
	return v2, v1
}

// findCgroupDir finds the cgroup directory under the mount root. Inside a
// container without a cgroup namespace, the path in /proc/self/cgroup is
// the host's and does not exist under the mount; the mount's root is then
// the container's cgroup.
func findCgroupDir(fsys fs.FS, version int, root, cgPath, limitFile, usageFile string) *cgroupFiles {
	dir := path.Join(root, strings.TrimPrefix(path.Clean("/"+cgPath), "/"))
	if _, err := fs.Stat(fsys, path.Join(dir, limitFile)); err != nil {
		dir = root
		if _, err := fs.Stat(fsys, path.Join(dir, limitFile)); err != nil {
			return nil
		}
	}
	cg := &cgroupFiles{version: version, dir: dir, usage: path.Join(dir, usageFile)}
	for d := dir; ; d = path.Dir(d) {
		if _, err := fs.Stat(fsys, path.Join(d, limitFile)); err == nil {
			cg.limits = append(cg.limits, path.Join(d, limitFile))
		}
		if d == root || !strings.HasPrefix(d, root+"/") {
			break
		}
	}
	return cg
}

// limit is the smallest limit set, and the directory that sets it.
// readNumber reads a file of one number, such as readUintFile.
func (cg *cgroupFiles) limit(readNumber func(name string) (uint64, error)) (limit uint64, dir string, ok bool) {
	for _, name := range cg.limits {
		v, err := readNumber(name)
		if err != nil || (cg.version == 1 && v >= cgroup1Unlimited) {
			continue
		}
		if !ok || v < limit {
			limit, dir, ok = v, path.Dir(name), true
		}
	}
	return limit, dir, ok
}

func (cg *cgroupFiles) read(fsys fs.FS) *Cgroup {
	c := &Cgroup{Version: cg.version, Dir: "/" + cg.dir}
	if usage, err := readUintFile(fsys, cg.usage); err == nil {
		c.UsageBytes = &usage
	}
	readNumber := func(name string) (uint64, error) { return readUintFile(fsys, name) }
	if limit, dir, ok := cg.limit(readNumber); ok {
		dir = "/" + dir
		c.LimitBytes, c.LimitDir = &limit, &dir
	}
	return c
}

var errNoLimit = errors.New("no limit")

// readUintFile reads a cgroup file holding one number, or "max" (v2's no
// limit, returned as errNoLimit).
func readUintFile(fsys fs.FS, name string) (uint64, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf [32]byte // any 64-bit number, on the stack
	n, err := f.Read(buf[:])
	if err != nil && err != io.EOF {
		return 0, err
	}
	return parseCgroupNumber(buf[:n])
}

func parseCgroupNumber(data []byte) (uint64, error) {
	s := bytes.TrimSpace(data)
	if string(s) == "max" {
		return 0, errNoLimit
	}
	return strconv.ParseUint(string(s), 10, 64)
}

// keptFile is a kernel file kept open and read with pread at offset 0,
// which makes the kernel generate it afresh: one system call a read instead
// of three (open, read, close), for Guard's polls.
type keptFile struct {
	name string
	f    fs.File
}

// readAt0 reads the file from its start into buf. A failed read closes the
// file, so that the next one opens it again.
func (k *keptFile) readAt0(fsys fs.FS, buf []byte) (int, error) {
	if k.f == nil {
		f, err := fsys.Open(k.name)
		if err != nil {
			return 0, err
		}
		k.f = f
	}
	var n int
	var err error
	if ra, ok := k.f.(io.ReaderAt); ok {
		n, err = ra.ReadAt(buf, 0)
	} else {
		// Without ReadAt, read once and reopen next time.
		n, err = io.ReadFull(k.f, buf)
		k.close()
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	if err != nil {
		k.close()
	}
	return n, err
}

func (k *keptFile) close() {
	if k.f != nil {
		k.f.Close()
		k.f = nil
	}
}

// readSmallFile reads a kernel file. Unlike fs.ReadFile it does not stat the
// file first: /proc and cgroup files report a size of 0 or 4096, and the
// stat is a system call as dear as the read.
func readSmallFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 0, 4096)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// The auxiliary vector's key for the clock tick (sysconf(_SC_CLK_TCK)),
// the unit of /proc/self/stat's start time.
const atClkTck = 17

// processStartUnixNanos is the process's start time from the kernel:
// /proc/self/stat's starttime (clock ticks since boot), the boot time from
// /proc/stat, and the tick rate from the auxiliary vector, so that none of
// the three is assumed.
func processStartUnixNanos(fsys fs.FS) (int64, bool) {
	stat, err := readSmallFile(fsys, "proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after it start past the last ')'.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[end+1:]))
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, false
	}
	startTicks, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, false
	}
	procStat, err := readSmallFile(fsys, "proc/stat")
	if err != nil {
		return 0, false
	}
	var bootSeconds int64 = -1
	for _, line := range strings.Split(string(procStat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			bootSeconds, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, false
			}
		}
	}
	if bootSeconds < 0 {
		return 0, false
	}
	auxv, err := readSmallFile(fsys, "proc/self/auxv")
	if err != nil {
		return 0, false
	}
	ticksPerSecond, ok := auxvValue(auxv, atClkTck)
	if !ok || ticksPerSecond == 0 {
		return 0, false
	}
	return bootSeconds*1e9 + int64(startTicks*1e9/ticksPerSecond), true
}

// auxvValue looks a key up in the auxiliary vector: pairs of native words.
func auxvValue(auxv []byte, key uint64) (uint64, bool) {
	word := int(unsafe.Sizeof(uintptr(0)))
	read := func(b []byte) uint64 {
		if word == 8 {
			return binary.NativeEndian.Uint64(b)
		}
		return uint64(binary.NativeEndian.Uint32(b))
	}
	for i := 0; i+2*word <= len(auxv); i += 2 * word {
		k := read(auxv[i:])
		if k == 0 { // AT_NULL ends the vector
			break
		}
		if k == key {
			return read(auxv[i+word:]), true
		}
	}
	return 0, false
}
