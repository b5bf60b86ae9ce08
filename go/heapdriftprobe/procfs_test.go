package heapdriftprobe

import (
	"encoding/binary"
	"os"
	"runtime"
	"strconv"
	"testing"
	"testing/fstest"
	"time"
	"unsafe"
)

const statusText = `Name:	server
Umask:	0022
State:	S (sleeping)
VmPeak:	 1261500 kB
VmHWM:	  524288 kB
VmRSS:	  409600 kB
RssAnon:	  307200 kB
RssFile:	  100352 kB
RssShmem:	    2048 kB
VmData:	  800000 kB
`

func TestParseStatus(t *testing.T) {
	r := parseStatus([]byte(statusText))
	if r == nil {
		t.Fatal("parseStatus returned nil")
	}
	for name, c := range map[string]struct {
		got  *uint64
		want uint64
	}{
		"VmRSS":    {r.VmRSSBytes, 409600 << 10},
		"RssAnon":  {r.RssAnonBytes, 307200 << 10},
		"RssFile":  {r.RssFileBytes, 100352 << 10},
		"RssShmem": {r.RssShmemBytes, 2048 << 10},
		"VmHWM":    {r.VmHWMBytes, 524288 << 10},
	} {
		if c.got == nil || *c.got != c.want {
			t.Errorf("%s = %v, want %d", name, c.got, c.want)
		}
	}
	if rss, ok := vmRSSBytes([]byte(statusText)); !ok || rss != 409600<<10 {
		t.Errorf("vmRSSBytes = %d, %v; want %d", rss, ok, 409600<<10)
	}
}

func TestParseStatusOldKernelLeavesMissingFieldsNil(t *testing.T) {
	// Before Linux 4.5 there is no RssAnon, RssFile or RssShmem.
	r := parseStatus([]byte("Name:\tx\nVmHWM:\t10 kB\nVmRSS:\t8 kB\n"))
	if r == nil || r.VmRSSBytes == nil || *r.VmRSSBytes != 8<<10 {
		t.Fatalf("VmRSS not read: %+v", r)
	}
	if r.RssAnonBytes != nil || r.RssFileBytes != nil || r.RssShmemBytes != nil {
		t.Errorf("fields the kernel did not print are set: %+v", r)
	}
	if parseStatus([]byte("Name:\tx\n")) != nil {
		t.Error("a status without memory lines gives an RSS")
	}
}

func TestParseSmapsRollup(t *testing.T) {
	s := parseSmapsRollup([]byte(`559f1903b000-7ffdb5b39000 ---p 00000000 00:00 0                          [rollup]
Rss:                1620 kB
Pss:                 318 kB
Pss_Anon:            112 kB
Pss_File:            206 kB
Pss_Shmem:             0 kB
Shared_Clean:       1476 kB
Private_Dirty:       112 kB
Swap:                  4 kB
`))
	if s == nil || *s.RssBytes != 1620<<10 || *s.PssBytes != 318<<10 || *s.PssShmemBytes != 0 || *s.SwapBytes != 4<<10 {
		t.Fatalf("parseSmapsRollup = %+v", s)
	}
	if s.PrivateCleanBytes != nil || s.AnonymousBytes != nil {
		t.Errorf("absent fields are set: %+v", s)
	}
}

func u64(v uint64) *uint64 { return &v }

func TestReadCgroup(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name string
		fs   fstest.MapFS
		want *Cgroup
	}{{
		name: "v2 with the smallest limit on an ancestor",
		fs: fstest.MapFS{
			"proc/self/cgroup":                               file("0::/kubepods/pod1/ctr\n"),
			"sys/fs/cgroup/kubepods/pod1/ctr/memory.max":     file("max\n"),
			"sys/fs/cgroup/kubepods/pod1/ctr/memory.current": file("123456\n"),
			"sys/fs/cgroup/kubepods/pod1/memory.max":         file("268435456\n"),
			"sys/fs/cgroup/kubepods/memory.max":              file("1073741824\n"),
		},
		want: &Cgroup{Version: 2, Dir: "/sys/fs/cgroup/kubepods/pod1/ctr", LimitBytes: u64(268435456), UsageBytes: u64(123456)},
	}, {
		name: "v2 in a container with a cgroup namespace",
		fs: fstest.MapFS{
			"proc/self/cgroup":             file("0::/\n"),
			"sys/fs/cgroup/memory.max":     file("536870912\n"),
			"sys/fs/cgroup/memory.current": file("1000\n"),
		},
		want: &Cgroup{Version: 2, Dir: "/sys/fs/cgroup", LimitBytes: u64(536870912), UsageBytes: u64(1000)},
	}, {
		name: "v2 without a limit",
		fs: fstest.MapFS{
			"proc/self/cgroup":                        file("0::/user.slice\n"),
			"sys/fs/cgroup/user.slice/memory.max":     file("max\n"),
			"sys/fs/cgroup/user.slice/memory.current": file("42\n"),
		},
		want: &Cgroup{Version: 2, Dir: "/sys/fs/cgroup/user.slice", UsageBytes: u64(42)},
	}, {
		name: "v1 (hybrid host: the unified hierarchy has no memory controller)",
		fs: fstest.MapFS{
			"proc/self/cgroup":                                      file("5:devices:/\n4:memory:/docker/abc\n0::/\n"),
			"sys/fs/cgroup/unified/cgroup.controllers":              file(""),
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": file("104857600\n"),
			"sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": file("2048\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            file("9223372036854771712\n"),
		},
		want: &Cgroup{Version: 1, Dir: "/sys/fs/cgroup/memory/docker/abc", LimitBytes: u64(104857600), UsageBytes: u64(2048)},
	}, {
		name: "v1 unlimited, host path not visible inside the container",
		fs: fstest.MapFS{
			"proc/self/cgroup":                           file("4:memory,hugetlb:/docker/abc\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n"),
			"sys/fs/cgroup/memory/memory.usage_in_bytes": file("777\n"),
		},
		want: &Cgroup{Version: 1, Dir: "/sys/fs/cgroup/memory", UsageBytes: u64(777)},
	}, {
		name: "no cgroup files",
		fs:   fstest.MapFS{"proc/self/cgroup": file("0::/\n")},
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Cgroup
			if files := findCgroup(tt.fs); files != nil {
				got = files.read(tt.fs)
			}
			if (got == nil) != (tt.want == nil) {
				t.Fatalf("readCgroup = %+v, want %+v", got, tt.want)
			}
			if got == nil {
				return
			}
			if got.Version != tt.want.Version || got.Dir != tt.want.Dir ||
				!sameUint(got.LimitBytes, tt.want.LimitBytes) || !sameUint(got.UsageBytes, tt.want.UsageBytes) {
				t.Errorf("readCgroup = {v%d %s limit %s usage %s}, want {v%d %s limit %s usage %s}",
					got.Version, got.Dir, show(got.LimitBytes), show(got.UsageBytes),
					tt.want.Version, tt.want.Dir, show(tt.want.LimitBytes), show(tt.want.UsageBytes))
			}
		})
	}
}

func sameUint(a, b *uint64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func show(p *uint64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatUint(*p, 10)
}

func auxv(pairs ...uint64) []byte {
	word := int(unsafe.Sizeof(uintptr(0)))
	b := make([]byte, len(pairs)*word)
	for i, v := range pairs {
		if word == 8 {
			binary.NativeEndian.PutUint64(b[i*8:], v)
		} else {
			binary.NativeEndian.PutUint32(b[i*4:], uint32(v))
		}
	}
	return b
}

func TestProcessStartFromKernelFiles(t *testing.T) {
	fsys := fstest.MapFS{
		// A command name with a space and a parenthesis, as the kernel
		// prints it; starttime (field 22) is 12345 ticks after boot.
		"proc/self/stat": {Data: []byte("42 (my (odd) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 8 0 12345 1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n")},
		"proc/stat":      {Data: []byte("cpu  1 2 3 4\nbtime 1700000000\nprocesses 10\n")},
		"proc/self/auxv": {Data: auxv(6, 4096, atClkTck, 100, 0, 0)},
	}
	got, ok := processStartUnixNanos(fsys)
	want := int64(1700000000)*1e9 + 12345*1e7
	if !ok || got != want {
		t.Errorf("processStartUnixNanos = %d, %v; want %d", got, ok, want)
	}
	delete(fsys, "proc/self/auxv")
	if _, ok := processStartUnixNanos(fsys); ok {
		t.Error("a start time without the clock tick rate")
	}
}

func TestProcessStartOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux's /proc")
	}
	start, ok := processStartUnixNanos(os.DirFS("/"))
	if !ok {
		t.Fatal("no start time from /proc")
	}
	age := time.Since(time.Unix(0, start))
	// The clock tick (10 ms) and btime's rounding to seconds make the
	// start time a second early at most.
	if age < 0 || age > 10*time.Minute {
		t.Errorf("process started %v ago, by /proc", age)
	}
}

func TestKeptFileReadsAfresh(t *testing.T) {
	limit := &fstest.MapFile{Data: []byte("100\n")}
	fsys := fstest.MapFS{"memory.max": limit}
	k := keptFile{name: "memory.max"}
	defer k.close()
	var buf [32]byte
	for _, want := range []string{"100\n", "max\n"} {
		limit.Data = []byte(want)
		n, err := k.readAt0(fsys, buf[:])
		if err != nil || string(buf[:n]) != want {
			t.Errorf("readAt0 = %q, %v; want %q", buf[:n], err, want)
		}
	}
	delete(fsys, "memory.max")
	k.close()
	if _, err := k.readAt0(fsys, buf[:]); err == nil {
		t.Error("no error reading a file that is gone")
	}
}

func TestKeptProcStatusFollowsRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux's /proc")
	}
	fsys := os.DirFS("/")
	k := keptFile{name: "proc/self/status"}
	defer k.close()
	buf := make([]byte, 8<<10)
	rss := func() uint64 {
		n, err := k.readAt0(fsys, buf[1:])
		buf[0] = '\n'
		v, ok := vmRSSBytes(buf[:1+n])
		if err != nil || !ok {
			t.Fatalf("VmRSS from the kept /proc/self/status: %v, found %v", err, ok)
		}
		return v
	}
	before := rss()
	touched := make([]byte, 64<<20)
	for i := 0; i < len(touched); i += 4096 {
		touched[i] = 1
	}
	after := rss()
	runtime.KeepAlive(touched)
	if after < before+48<<20 {
		t.Errorf("VmRSS %d MiB after touching 64 MiB, was %d MiB: the kept file is not read afresh", after>>20, before>>20)
	}
}
