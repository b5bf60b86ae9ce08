// A cgo program: its C functions have no pclntab entries, so their source
// lines come from DWARF (pprof's dwarfSourceLine).
package main

/*
static int triple(int x) {
	int y = x * 3;
	return y + 1;
}

int collatz_steps(int n) {
	int steps = 0;
	while (n != 1) {
		if (n % 2 == 0)
			n /= 2;
		else
			n = triple(n);
		steps++;
	}
	return steps;
}
*/
import "C"

import "fmt"

func main() {
	fmt.Println(C.collatz_steps(27))
}
