package parts

import (
	"runtime"
	"sync"
	"testing"
)

// Every index of [0, n) is in exactly one part, each part's number is its
// own; there are never more parts than processors, nor a part of fewer
// than share items (but one).
func TestRun(t *testing.T) {
	// Four processors, whatever the machine has: on one, nothing splits.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for n := 0; n <= 100; n++ {
		var mu sync.Mutex
		seen := make([]int, n)
		ids := map[int]bool{}
		Run(n, 16, func(i, lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			if ids[i] {
				t.Errorf("n %d: part %d twice", n, i)
			}
			ids[i] = true
			if len(ids) > 1 && hi-lo < 16 {
				t.Errorf("n %d: a part [%d, %d) of fewer than 16", n, lo, hi)
			}
			for j := lo; j < hi; j++ {
				seen[j]++
			}
		})
		for j, c := range seen {
			if c != 1 {
				t.Fatalf("n %d: index %d in %d parts", n, j, c)
			}
		}
		if len(ids) != Count(n, 16) || len(ids) > max(1, runtime.GOMAXPROCS(0)) {
			t.Fatalf("n %d: %d parts, Count %d", n, len(ids), Count(n, 16))
		}
	}
}
