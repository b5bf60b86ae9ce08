// A small cgo-free program for the objfile differential tests: loops, maps,
// closures, inlining, interfaces, generics, defer and goroutines, so that
// the user package has the instruction mix the Go compiler usually emits.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

type shape interface {
	area() float64
}

type rect struct{ w, h float64 }

func (r rect) area() float64 { return r.w * r.h }

type circle struct{ r float64 }

func (c circle) area() float64 { return 3.14159 * c.r * c.r }

//go:noinline
func sumAreas(shapes []shape) float64 {
	total := 0.0
	for _, s := range shapes {
		total += s.area()
	}
	return total
}

// inlined into its callers
func square(x int) int { return x * x }

//go:noinline
func wordCounts(text string) map[string]int {
	counts := make(map[string]int)
	for _, w := range strings.Fields(text) {
		counts[strings.ToLower(w)]++
	}
	return counts
}

//go:noinline
func makeCounter() func() int {
	n := 0
	return func() int {
		n += square(2)
		return n
	}
}

func maxOf[T int | float64 | string](xs []T) T {
	var m T
	for i, x := range xs {
		if i == 0 || x > m {
			m = x
		}
	}
	return m
}

//go:noinline
func divide(a, b int64) (q int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered: %v", r)
		}
	}()
	return a / b, nil
}

//go:noinline
func parallelSum(xs []uint32) uint64 {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total uint64
	for chunk := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s uint64
			for i := chunk; i < len(xs); i += 4 {
				s += uint64(xs[i]) >> 1 << 1
			}
			mu.Lock()
			total += s
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

//go:noinline
func bits(x uint64, y int8, z int16) (uint64, int32) {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x | uint64(uint8(y)) & 0xf0, int32(z) * -3
}

func main() {
	shapes := []shape{rect{2, 3}, circle{1}, rect{4, 5}}
	fmt.Println(sumAreas(shapes))
	counts := wordCounts("the quick brown fox jumps over the lazy dog The End")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(k, counts[k])
	}
	c := makeCounter()
	c()
	fmt.Println(c(), square(len(os.Args)))
	fmt.Println(maxOf([]int{3, 9, 2}), maxOf([]float64{1.5, -2}), maxOf([]string{"a", "c", "b"}))
	q, err := divide(7, int64(len(os.Args)-1))
	fmt.Println(q, err)
	xs := make([]uint32, 1000)
	for i := range xs {
		xs[i] = uint32(i * 7)
	}
	fmt.Println(parallelSum(xs))
	fmt.Println(bits(uint64(len(os.Args)), -5, 300))
}
