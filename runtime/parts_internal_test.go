package runtime

import (
	goruntime "runtime"
	"sync"
	"testing"
)

// Every index of [0, n) is in exactly one part; there are never more
// parts than processors, nor a part of fewer than share items (but one).
func TestInParts(t *testing.T) {
	for n := 0; n <= 100; n++ {
		var mu sync.Mutex
		seen := make([]int, n)
		parts := 0
		inParts(n, 16, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			parts++
			if parts > 1 && hi-lo < 16 {
				t.Errorf("n %d: a part [%d, %d) of fewer than 16", n, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n %d: index %d in %d parts", n, i, c)
			}
		}
		if parts != partsFor(n, 16) || parts > max(1, goruntime.GOMAXPROCS(0)) {
			t.Fatalf("n %d: %d parts, partsFor %d", n, parts, partsFor(n, 16))
		}
	}
}
