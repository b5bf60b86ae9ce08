// The oracle for objfile's DWARF fallback: cmd/pprof's dwarfSourceLine
// (src/cmd/pprof/pprof.go), which cannot be called from outside cmd, run
// over addresses read from stdin. Prints "func\nfile:line" per address, or
// "-" where pprof has no DWARF answer.
package main

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	d, _ := f.DWARF()
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		addr, _ := strconv.ParseUint(strings.TrimPrefix(in.Text(), "0x"), 16, 64)
		fn, file, line, ok := sourceLine(d, addr)
		if !ok {
			fmt.Fprintln(out, "-")
			continue
		}
		fmt.Fprintf(out, "%s\n%s:%d\n", fn, file, line)
	}
}

// sourceLine follows pprof's dwarfSourceLine and dwarfSourceLineEntry.
func sourceLine(d *dwarf.Data, addr uint64) (string, string, int, bool) {
	if d == nil {
		return "", "", 0, false
	}
	r := d.Reader()
	unit, err := r.SeekPC(addr)
	if err != nil {
		return "", "", 0, false
	}
	lines, err := d.LineReader(unit)
	if err != nil || lines == nil {
		return "", "", 0, false
	}
	var entry dwarf.LineEntry
	if err := lines.SeekPC(addr, &entry); err != nil {
		return "", "", 0, false
	}
	name := ""
FindName:
	for e, err := r.Next(); e != nil && err == nil; e, err = r.Next() {
		if e.Tag == dwarf.TagSubprogram {
			ranges, err := d.Ranges(e)
			if err != nil {
				return "", "", 0, false
			}
			for _, pcs := range ranges {
				if pcs[0] <= addr && addr < pcs[1] {
					var ok bool
					name, ok = e.Val(dwarf.AttrName).(string)
					if ok {
						break FindName
					}
				}
			}
		}
	}
	return name, entry.File.Name, entry.Line, true
}
