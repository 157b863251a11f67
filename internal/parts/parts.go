// Package parts splits local work (file reads, stats) between the
// processors: a goroutine per item costs more than the item, but a few
// hundred items in as many parts as there are processors take about
// 1/GOMAXPROCS of the time where the processors are free. berth's status
// and stop plans (inspections), its walks of /proc and its build-context
// scans split this way.
package parts

import (
	"runtime"
	"sync"
)

// Count is how many parts n items are split into: one per processor, each
// of at least share items (and at least one part).
func Count(n, share int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/share))
}

// Run calls part(i, lo, hi) for each part i of [0, n) split in
// Count(n, share) contiguous ranges, part 0 on the calling goroutine, and
// returns when every part has returned.
func Run(n, share int, part func(i, lo, hi int)) {
	k := Count(n, share)
	var wg sync.WaitGroup
	for i := 1; i < k; i++ {
		lo, hi := i*n/k, (i+1)*n/k
		wg.Go(func() { part(i, lo, hi) })
	}
	part(0, 0, n/k)
	wg.Wait()
}
