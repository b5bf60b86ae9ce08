// Command gen turns a profile spec (see ../README.md) into a .pb.gz with
// pprof's own profile package, so that `go tool pprof` can produce goldens.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

func main() {
	in, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	p := &profile.Profile{}
	funcs := map[string]*profile.Function{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "//") {
			continue
		}
		switch f[0] {
		case "st":
			p.SampleType = append(p.SampleType, &profile.ValueType{Type: f[1], Unit: f[2]})
		case "period":
			p.PeriodType = &profile.ValueType{Type: f[1], Unit: f[2]}
			p.Period, _ = strconv.ParseInt(f[3], 10, 64)
		case "time":
			p.TimeNanos, _ = strconv.ParseInt(f[1], 10, 64)
		case "duration":
			p.DurationNanos, _ = strconv.ParseInt(f[1], 10, 64)
		case "comment":
			p.Comments = append(p.Comments, strings.Join(f[1:], " "))
		case "mapping":
			m := &profile.Mapping{ID: uint64(len(p.Mapping) + 1), Start: 0x1000, Limit: 0xffffff, File: f[1], HasFunctions: true, HasFilenames: true, HasLineNumbers: true, HasInlineFrames: true}
			if len(f) > 2 {
				m.BuildID = f[2]
			}
			p.Mapping = append(p.Mapping, m)
		case "loc":
			addr, _ := strconv.ParseUint(f[1], 0, 64)
			l := &profile.Location{ID: uint64(len(p.Location) + 1), Address: addr}
			if len(p.Mapping) > 0 {
				l.Mapping = p.Mapping[0]
			}
			for _, fr := range f[2:] {
				name, rest, _ := strings.Cut(fr, "@")
				file, line, _ := strings.Cut(rest, ":")
				ln, _ := strconv.ParseInt(line, 10, 64)
				fn := funcs[name+"@"+file]
				if fn == nil {
					fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: name, Filename: file}
					funcs[name+"@"+file] = fn
					p.Function = append(p.Function, fn)
				}
				l.Line = append(l.Line, profile.Line{Function: fn, Line: ln})
			}
			p.Location = append(p.Location, l)
		case "sample":
			s := &profile.Sample{}
			for _, v := range strings.Split(f[1], ",") {
				n, _ := strconv.ParseInt(v, 10, 64)
				s.Value = append(s.Value, n)
			}
			for _, x := range f[2:] {
				switch {
				case strings.HasPrefix(x, "#"):
					k, v, _ := strings.Cut(x[1:], "=")
					n, _ := strconv.ParseInt(v, 10, 64)
					if s.NumLabel == nil {
						s.NumLabel = map[string][]int64{}
					}
					s.NumLabel[k] = append(s.NumLabel[k], n)
				case strings.Contains(x, "="):
					k, v, _ := strings.Cut(x, "=")
					if s.Label == nil {
						s.Label = map[string][]string{}
					}
					s.Label[k] = append(s.Label[k], v)
				default:
					id, _ := strconv.Atoi(x)
					s.Location = append(s.Location, p.Location[id-1])
				}
			}
			p.Sample = append(p.Sample, s)
		default:
			panic(fmt.Sprintf("bad line %q", sc.Text()))
		}
	}
	out, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := p.Write(out); err != nil {
		panic(err)
	}
	out.Close()
}
